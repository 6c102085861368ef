"""Export kinds of 三零创建, registered with the villages export registry (from
DisputesConfig.ready()). They read through the scoping selectors with the export job's own
user, refuse bad filters instead of widening the export, and mask ID and phone numbers for
users who may not see them (selectors.can_see_personal)."""

from __future__ import annotations

from collections.abc import Sequence
from types import SimpleNamespace

from django.core.exceptions import ValidationError

from core.exports import ExportKind, register
from disputes.forms import (
    DisputeFilter,
    HazardFilter,
    IncidentFilter,
    PetitionFilter,
    UnitFilter,
)
from disputes.selectors import (
    can_see_personal,
    dispute_list_for_user,
    hazard_list_for_user,
    incident_list_for_user,
    personal,
    petition_list_for_user,
    unit_list_for_user,
    unit_statuses_for_user,
    village_statuses_for_user,
)


class Masked:
    """A queryset whose rows carry whether personal numbers may be shown, shaped like the
    part of a QuerySet an export job uses (`count()`, `iterator()`)."""

    def __init__(self, qs, *, reveal: bool):
        self.qs, self.reveal = qs, reveal

    def count(self) -> int:
        return self.qs.count()

    def iterator(self, chunk_size: int | None = None):
        for obj in self.qs.iterator(chunk_size=chunk_size or 2000):
            yield obj, self.reveal


class RowList:
    def __init__(self, rows):
        self._rows = list(rows)

    def count(self) -> int:
        return len(self._rows)

    def iterator(self, chunk_size: int | None = None):
        return iter(self._rows)


def _filtered(filter_class, visible, *, user, params):
    filterset = filter_class(params or {}, queryset=visible, request=SimpleNamespace(user=user))
    if not filterset.is_valid():
        # Never widen an export silently: a bad filter is refused, not ignored.
        raise ValidationError(
            {field: [str(e) for e in errors] for field, errors in filterset.errors.items()}
        )
    return filterset.qs


def _area(r) -> tuple:
    return (
        r.township.county.name,
        r.township.name,
        r.village.name if r.village_id else "",
        r.unit.name if r.unit_id else "",
    )


AREA_HEADERS = ("县(市、区)", "乡镇(街道)", "村(社区)", "企事业单位")
YES = {True: "是", False: "否"}

DISPUTE_HEADERS = (
    "编号",
    *AREA_HEADERS,
    "排查日期",
    "纠纷类型",
    "来源",
    "简要情况",
    "诉求",
    "当事人",
    "当事人身份证号",
    "当事人联系电话",
    "涉及人数",
    "群体性",
    "风险等级",
    "化解责任人/单位",
    "化解时限",
    "化解方式",
    "化解措施",
    "化解状态",
    "开始化解日期",
    "化解日期",
    "上报日期",
    "上报/移交单位",
    "协议金额(元)",
    "回访日期",
    "回访情况",
    "群众满意度",
)


def dispute_row(pair) -> Sequence:
    d, reveal = pair
    return (
        d.number,
        *_area(d),
        d.registered_on,
        d.get_dispute_type_display(),
        d.get_source_display(),
        d.summary,
        d.claim,
        d.parties,
        personal(d.party_id_numbers, kind="id", reveal=reveal),
        personal(d.party_phones, kind="phone", reveal=reveal),
        d.people_involved,
        YES[d.is_collective],
        d.get_risk_level_display(),
        d.responsible,
        d.deadline,
        d.get_method_display() if d.method else "",
        d.measures,
        d.get_status_display(),
        d.started_on,
        d.resolved_on,
        d.reported_on,
        d.reported_to,
        d.agreement_amount,
        d.follow_up_on,
        d.follow_up_note,
        d.get_satisfaction_display() if d.satisfaction else "",
    )


def _disputes(*, user, params):
    qs = _filtered(
        DisputeFilter,
        dispute_list_for_user(user=user).order_by("registered_on", "id"),
        user=user,
        params=params,
    )
    return Masked(qs, reveal=can_see_personal(user=user))


PETITION_HEADERS = (
    *AREA_HEADERS,
    "登记日期",
    "信访渠道",
    "信访人",
    "信访人身份证号",
    "信访人联系电话",
    "涉及人数",
    "事由及诉求",
    "信访层级",
    "越级访",
    "集体访",
    "重复访",
    "承办人/单位",
    "办理状态",
    "受理日期",
    "已延期",
    "办理期限",
    "期限状态",
    "办结日期",
    "处理意见/结果",
    "满意度",
)


def petition_row(pair) -> Sequence:
    p, reveal = pair
    return (
        *_area(p),
        p.received_on,
        p.get_channel_display(),
        "匿名" if p.is_anonymous and not p.petitioner_name else p.petitioner_name,
        personal(p.petitioner_id_number, kind="id", reveal=reveal),
        personal(p.petitioner_phone, kind="phone", reveal=reveal),
        p.people_involved,
        p.subject,
        p.get_level_reached_display(),
        YES[p.is_skip_level],
        YES[p.is_collective],
        YES[p.is_repeat],
        p.handler,
        p.get_status_display(),
        p.accepted_on,
        YES[p.extended],
        p.due_on,
        p.clock_label,
        p.concluded_on,
        p.result,
        p.get_satisfaction_display() if p.satisfaction else "",
    )


def _petitions(*, user, params):
    qs = _filtered(
        PetitionFilter,
        petition_list_for_user(user=user).order_by("received_on", "id"),
        user=user,
        params=params,
    )
    return Masked(qs, reveal=can_see_personal(user=user))


INCIDENT_HEADERS = (
    *AREA_HEADERS,
    "发生日期",
    "类别",
    "发生地点",
    "简要情况",
    "死亡人数",
    "受伤人数",
    "信息来源",
    "处置情况",
)


def incident_row(i) -> Sequence:
    return (
        *_area(i),
        i.occurred_on,
        i.get_kind_display(),
        i.place,
        i.summary,
        i.deaths,
        i.injuries,
        i.get_source_display(),
        i.handling,
    )


def _incidents(*, user, params):
    return _filtered(
        IncidentFilter,
        incident_list_for_user(user=user).order_by("occurred_on", "id"),
        user=user,
        params=params,
    )


HAZARD_HEADERS = (
    *AREA_HEADERS,
    "排查日期",
    "场所类型",
    "场所名称",
    "隐患内容",
    "涉及管控物品",
    "整改责任人",
    "整改时限",
    "整改状态",
    "是否逾期",
    "整改完成日期",
    "整改情况",
)


def hazard_row(h) -> Sequence:
    return (
        *_area(h),
        h.checked_on,
        h.get_site_type_display(),
        h.site_name,
        h.hazard,
        "、".join(h.regulated_labels),
        h.responsible,
        h.deadline,
        h.get_status_display(),
        "逾期" if h.is_overdue else "",
        h.rectified_on,
        h.note,
    )


def _hazards(*, user, params):
    return _filtered(
        HazardFilter,
        hazard_list_for_user(user=user).order_by("checked_on", "id"),
        user=user,
        params=params,
    )


UNIT_HEADERS = (
    "单位名称",
    "单位类型",
    "县(市、区)",
    "乡镇(街道)",
    "所在区划代码",
    "所在村(社区)",
    "统一社会信用代码",
    "负责人",
    "联系电话",
    "纳入年度",
    "退出年度",
)


def unit_row(u) -> Sequence:
    return (
        u.name,
        u.get_unit_type_display(),
        u.township.county.name,
        u.township.name,
        u.village.code if u.village_id else u.township.code,
        u.village.name if u.village_id else "",
        u.credit_code,
        u.contact_name,
        u.contact_phone,
        u.year_from,
        u.year_to,
    )


def _units(*, user, params):
    return _filtered(
        UnitFilter,
        unit_list_for_user(user=user).order_by("township__code", "name"),
        user=user,
        params=params,
    )


STATUS_HEADERS = (
    "年度",
    "县(市、区)",
    "乡镇(街道)",
    "名称",
    "区划代码/类型",
    "三零状态",
    "按记录认定",
    "不达标原因",
    "人工认定",
    "认定理由",
    "认定人",
)


def _year(params) -> int:
    text = str((params or {}).get("year", "")).strip()
    if not text.isdigit() or not 2000 <= int(text) <= 2100:
        raise ValidationError({"year": "请选择有效的年度。"})
    return int(text)


def _status_cells(status) -> tuple:
    if status is None:
        return ("达标", "达标", "", "", "", "")
    override_by = status.override_by
    return (
        "达标" if status.met else "不达标",
        "达标" if status.derived_met else "不达标",
        "；".join(f"{r['date']} {r['text']}" for r in status.derived_reasons),
        status.get_override_display() if status.override else "",
        status.override_reason,
        (override_by.first_name or override_by.username) if override_by else "",
    )


def _village_statuses(*, user, params):
    year = _year(params)
    rows = village_statuses_for_user(user=user, year=year)
    return RowList(
        (
            year,
            r["village"].township.county.name,
            r["village"].township.name,
            r["village"].name,
            r["village"].code,
            *_status_cells(r["status"]),
        )
        for r in rows
    )


def _unit_statuses(*, user, params):
    year = _year(params)
    rows = unit_statuses_for_user(user=user, year=year)
    return RowList(
        (
            year,
            r["unit"].township.county.name,
            r["unit"].township.name,
            r["unit"].name,
            r["unit"].get_unit_type_display(),
            *_status_cells(r["status"]),
        )
        for r in rows
    )


def _identity(row):
    return row


W = 14
for kind in (
    ExportKind(
        "disputes",
        "矛盾纠纷排查化解台账",
        DISPUTE_HEADERS,
        (22,) + (W,) * 25,
        _disputes,
        dispute_row,
    ),
    ExportKind("petitions", "信访事项台账", PETITION_HEADERS, (W,) * 24, _petitions, petition_row),
    ExportKind(
        "incidents", "安全事故和案件台账", INCIDENT_HEADERS, (W,) * 12, _incidents, incident_row
    ),
    ExportKind("hazards", "隐患排查整改台账", HAZARD_HEADERS, (W,) * 15, _hazards, hazard_row),
    ExportKind("units", "三零企事业单位名册", UNIT_HEADERS, (28,) + (W,) * 10, _units, unit_row),
    ExportKind(
        "sanling_villages",
        "三零村(社区)年度状态",
        STATUS_HEADERS,
        (W,) * 11,
        _village_statuses,
        _identity,
    ),
    ExportKind(
        "sanling_units",
        "三零企事业单位年度状态",
        STATUS_HEADERS,
        (W,) * 11,
        _unit_statuses,
        _identity,
    ),
):
    register(kind)
