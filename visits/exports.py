"""Export kinds of 双十工作日, registered with the villages export registry (from
VisitsConfig.ready()). Like every kind they read through the scoping selectors with the
export job's own user, and refuse bad parameters instead of widening the export."""

import datetime
from collections.abc import Sequence
from types import SimpleNamespace

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.utils import timezone

from core.exports import ExportKind, register
from visits.problem_forms import ProblemFilter
from visits.selectors import compliance_for_user, problem_list_for_user


class RowList:
    """Rows computed in Python, shaped like the part of a QuerySet an export job uses
    (`count()` for progress, `iterator()` for the rows)."""

    def __init__(self, rows: Sequence):
        self._rows = list(rows)

    def count(self) -> int:
        return len(self._rows)

    def iterator(self, chunk_size: int | None = None):
        return iter(self._rows)


def parse_period_day(value) -> datetime.date:
    """A day of the period to judge: "YYYY-MM-DD" or "YYYY-MM", not after today."""
    text = str(value or "").strip()
    try:
        if len(text) == 7:
            day = datetime.date.fromisoformat(f"{text}-01")
        else:
            day = datetime.date.fromisoformat(text)
    except ValueError:
        raise ValidationError({"day": "请选择有效的考核周期（日期格式如 2024-05-01）。"}) from None
    if day > timezone.localdate():
        raise ValidationError({"day": "考核周期还没有开始。"})
    return day


COMPLIANCE_HEADERS = (
    "县(市、区)",
    "乡镇(街道)",
    "姓名",
    "派出单位",
    "职务",
    "手机号",
    "考核周期",
    "规则",
    "已下沉天数",
    "要求天数",
    "差额天数",
)


def _compliance_below(*, user, params: dict) -> RowList:
    day = parse_period_day((params or {}).get("day"))
    result = compliance_for_user(user=user, day=day)
    rule = result["rule"]
    rule_text = f"{rule.get_period_display()}{rule.required_days}天"
    return RowList(
        (
            r.county_name,
            r.township_name,
            r.cadre.name,
            r.cadre.work_unit.name,
            r.cadre.position,
            r.cadre.phone,
            result["label"],
            rule_text,
            r.days,
            r.required,
            r.required - r.days,
        )
        for r in result["below"]
    )


register(
    ExportKind(
        key="compliance",
        label="双十工作日未达标干部",
        headers=COMPLIANCE_HEADERS,
        widths=(14, 16, 10, 22, 14, 14, 14, 12, 10, 10, 10),
        queryset=_compliance_below,
        row=lambda row: row,
    )
)


PROBLEM_HEADERS = (
    "县(市、区)",
    "乡镇(街道)",
    "村(社区)",
    "类别",
    "问题描述",
    "反映人",
    "责任人/单位",
    "登记日期",
    "办理时限",
    "状态",
    "是否逾期",
    "办结日期",
    "办理情况/解释说明",
    "群众满意度",
    "来源走访日期",
    "来源走访村(社区)",
)


def _problems(*, user, params: dict) -> QuerySet:
    visible = (
        problem_list_for_user(user=user)
        .select_related("visit__village")
        .order_by("created_at", "id")
    )
    filterset = ProblemFilter(params or {}, queryset=visible, request=SimpleNamespace(user=user))
    if not filterset.is_valid():
        # Never widen an export silently: a bad filter is refused, not ignored.
        raise ValidationError(
            {field: [str(e) for e in errors] for field, errors in filterset.errors.items()}
        )
    return filterset.qs


def problem_row(p) -> Sequence:
    today = timezone.localdate()
    overdue = bool(p.deadline and p.deadline < today and not p.is_closed)
    return (
        p.village.township.county.name,
        p.village.township.name,
        p.village.name,
        p.get_category_display(),
        p.description,
        p.raised_by,
        p.handler,
        timezone.localtime(p.created_at).date(),
        p.deadline,
        p.get_status_display(),
        "逾期" if overdue else "",
        p.resolved_on,
        p.explanation,
        p.get_satisfaction_display() if p.satisfaction else "",
        p.visit.date if p.visit_id else None,
        p.visit.village.name if p.visit_id else "",
    )


register(
    ExportKind(
        key="problems",
        label="问题台账",
        headers=PROBLEM_HEADERS,
        widths=(14, 16, 16, 12, 40, 10, 16, 12, 12, 14, 8, 12, 30, 10, 12, 16),
        queryset=_problems,
        row=problem_row,
    )
)
