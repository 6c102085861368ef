"""Export kinds of 三零创建, registered with the villages export registry (from
DisputesConfig.ready()). They read through the scoping selectors with the export job's own
user, refuse bad filters instead of widening the export, and mask ID and phone numbers for
users who may not see them (selectors.can_see_personal)."""

from __future__ import annotations

from collections.abc import Sequence
from types import SimpleNamespace

from django.core.exceptions import ValidationError

from core.exports import ExportKind, register
from disputes.forms import FILTERS, UnitFilter
from disputes.ledgers import DISPUTES, HAZARDS, INCIDENTS, LEDGERS, PETITIONS, LedgerSpec
from disputes.selectors import (
    can_see_personal,
    ledger_list_for_user,
    personal_field,
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


YES = {True: "是", False: "否"}

# The ledgers' headers, named for the callers that read them.
DISPUTE_HEADERS, PETITION_HEADERS = DISPUTES.headers, PETITIONS.headers
INCIDENT_HEADERS, HAZARD_HEADERS = INCIDENTS.headers, HAZARDS.headers


def cell(record, value, *, reveal: bool):
    """What a ledger's Column shows for `record` (ledgers.Column)."""
    if callable(value):
        return value(record)
    shown = getattr(record, value)
    if isinstance(shown, bool):
        return YES[shown]
    if isinstance(shown, list):
        return "、".join(shown)
    if shown and hasattr(record, f"get_{value}_display"):
        return getattr(record, f"get_{value}_display")()
    return personal_field(value, shown, reveal=reveal)


def _ledger_kind(ledger: LedgerSpec) -> ExportKind:
    def rows(*, user, params):
        visible = ledger_list_for_user(user=user, ledger=ledger)
        order = (ledger.date_field, "id")
        qs = _filtered(FILTERS[ledger.key], visible.order_by(*order), user=user, params=params)
        return Masked(qs, reveal=can_see_personal(user=user))

    def row(pair) -> Sequence:
        record, reveal = pair
        return tuple(cell(record, c.value, reveal=reveal) for c in ledger.columns)

    return ExportKind(ledger.key, ledger.export_title, ledger.headers, ledger.widths, rows, row)


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


def _statuses(rows, year: int, kind: str, code) -> RowList:
    """One row a village or unit (`kind`): where it is, `code(subject)`, its status."""
    return RowList(
        (
            year,
            r[kind].township.county.name,
            r[kind].township.name,
            r[kind].name,
            code(r[kind]),
            *_status_cells(r["status"]),
        )
        for r in rows
    )


def _village_statuses(*, user, params):
    year = _year(params)
    rows = village_statuses_for_user(user=user, year=year)
    return _statuses(rows, year, "village", lambda village: village.code)


def _unit_statuses(*, user, params):
    year = _year(params)
    rows = unit_statuses_for_user(user=user, year=year)
    return _statuses(rows, year, "unit", lambda unit: unit.get_unit_type_display())


def _identity(row):
    return row


W = 14
for kind in (
    *(_ledger_kind(ledger) for ledger in LEDGERS.values()),
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
