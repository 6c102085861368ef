"""Export kinds of 五星支部, registered with the villages export registry (from
StarsConfig.ready()). They read through the scoped selectors with the export job's own
user and refuse bad parameters instead of widening the export; a county or township
outside the user's area is a 404, as on the board page.

`star_ratings` is the rating board as a sheet, in the import template's layout (年度 |
统计用区划代码 | 村(社区) | one column per star), so it can be edited and imported back."""

from collections.abc import Sequence

from django.core.exceptions import ValidationError

from core.exports import ExportKind, register
from stars.importing import star_names
from stars.models import Scheme, StarAward, WeakBranchCase, scheme_of_kind
from stars.selectors import (
    awards_by_branch,
    board_areas_visible_or_404,
    board_entries_for_user,
    default_star_year,
    roster_year_list,
    star_types_by_scheme,
    weak_case_days_open,
    weak_case_list_for_user,
)


class RowList:
    """Rows computed in Python, shaped like what an export job reads from a QuerySet."""

    def __init__(self, rows: Sequence):
        self._rows = list(rows)

    def count(self) -> int:
        return len(self._rows)

    def iterator(self, chunk_size: int | None = None):
        return iter(self._rows)


def _int_param(params: dict, name: str, label: str, *, lo=None, hi=None) -> int | None:
    raw = str((params or {}).get(name, "") or "").strip()
    if not raw:
        return None
    if (
        not raw.isdigit()
        or (lo is not None and int(raw) < lo)
        or (hi is not None and int(raw) > hi)
    ):
        raise ValidationError({name: f"{label}“{raw}”不正确。"})
    return int(raw)


def board_filters(params: dict) -> dict:
    """The board's filters from query/export parameters; ValidationError on bad ones."""
    year = _int_param(params, "year", "年度")
    if year is None:
        year = default_star_year()
    elif year not in roster_year_list():
        raise ValidationError({"year": f"{year}年度没有名册。"})
    scheme = str((params or {}).get("scheme", "") or "").strip() or None
    if scheme is not None and scheme not in Scheme.values:
        raise ValidationError({"scheme": "方案只能是农村或城市社区。"})
    return {
        "year": year,
        "scheme": scheme,
        "county_id": _int_param(params, "county", "县(市、区)"),
        "township_id": _int_param(params, "township", "乡镇(街道)"),
        "level": _int_param(params, "level", "星级", lo=0, hi=5),
    }


def _board_rows(*, user, params: dict) -> RowList:
    filters = board_filters(params)
    board_areas_visible_or_404(
        user=user, county_id=filters["county_id"], township_id=filters["township_id"]
    )
    year = filters["year"]
    entries = list(board_entries_for_user(user=user, **filters))
    awards = awards_by_branch(branch_ids={e.branch_id for e in entries}, year=year)
    names = star_names()
    by_scheme = star_types_by_scheme()
    rows = []
    for e in entries:
        own = {s.name: s.pk for s in by_scheme.get(scheme_of_kind(e.village.kind), [])}
        held = awards.get(e.branch_id, {})
        cells = []
        for name in names:
            if name not in own:
                cells.append("")
                continue
            award = held.get(own[name])
            cells.append("是" if award and award.state == StarAward.State.AWARDED else "否")
        rows.append(
            (
                year,
                e.village.code,
                e.village.name,
                *cells,
                e.level,
                e.village.township.county.name,
                e.village.township.name,
                e.village.get_kind_display(),
                e.branch.name,
            )
        )
    return RowList(rows)


class _Lazy(Sequence):
    """A header or width list read when the export runs: star names are data."""

    def __init__(self, make):
        self._make = make

    def __getitem__(self, index):
        return self._make()[index]

    def __len__(self) -> int:
        return len(self._make())

    def __iter__(self):
        return iter(self._make())


BOARD_HEADERS = _Lazy(
    lambda: (
        "年度",
        "统计用区划代码",
        "村(社区)",
        *star_names(),
        "星级",
        "县(市、区)",
        "乡镇(街道)",
        "类型",
        "党组织",
    )
)
BOARD_WIDTHS = _Lazy(lambda: (8, 18, 18, *([12] * len(star_names())), 8, 14, 16, 12, 24))

register(
    ExportKind(
        key="star_ratings",
        label="星级评定结果",
        headers=BOARD_HEADERS,
        widths=BOARD_WIDTHS,
        queryset=_board_rows,
        row=lambda row: row,
    )
)


WEAK_HEADERS = (
    "年度",
    "县(市、区)",
    "乡镇(街道)",
    "党组织",
    "认定日期",
    "认定情形",
    "状态",
    "整顿方案",
    "包村领导",
    "第一书记/工作队",
    "销号日期",
    "已用天数",
)


def _weak_cases(*, user, params: dict) -> RowList:
    year = _int_param(params, "year", "年度")
    cases = weak_case_list_for_user(user=user).order_by("branch__township__code", "identified_on")
    if year is not None:
        cases = cases.filter(year=year)
    status = str((params or {}).get("status", "") or "").strip()
    if status == "open":
        cases = cases.filter(status__in=WeakBranchCase.OPEN)
    elif status:
        if status not in WeakBranchCase.Status.values:
            raise ValidationError({"status": f"状态“{status}”不正确。"})
        cases = cases.filter(status=status)
    return RowList(
        (
            c.year,
            c.branch.township.county.name,
            c.branch.township.name,
            c.branch.name,
            c.identified_on,
            "、".join(c.reason_labels),
            c.get_status_display(),
            c.rectification_plan,
            c.responsible_leader,
            c.first_secretary,
            c.accepted_on,
            weak_case_days_open(c),
        )
        for c in cases
    )


register(
    ExportKind(
        key="weak_cases",
        label="软弱涣散村党组织整顿台账",
        headers=WEAK_HEADERS,
        widths=(8, 14, 16, 26, 12, 40, 10, 40, 12, 20, 12, 10),
        queryset=_weak_cases,
        row=lambda row: row,
    )
)
