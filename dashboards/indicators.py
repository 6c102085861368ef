"""The indicators the dashboards show: how each is read, shown and projected.

Every figure comes from the owning app's `*_by_area(*, year)` selector (or, for the
dispute-type chart, one grouped query on the dispute ledger); nothing here reads a ledger
row by row.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from dataclasses import dataclass

from dashboards.codes import Indicator
from disputes import selectors as disputes
from stars import selectors as stars
from visits import selectors as visits

AreaKey = tuple[str, "int | None"]


@dataclass(frozen=True)
class Spec:
    code: str
    kind: str  # "rate": value = numerator ÷ denominator in %; "count": value = numerator
    unit: str
    precision: int
    # How the year-end value is projected during the year (see PROJECTION_TEXT):
    # "flow", "erosion", "cumulative", "closing".
    projection: str
    group: str
    numerator_label: str
    denominator_label: str

    @property
    def label(self) -> str:
        return str(Indicator(self.code).label)


SPECS: dict[str, Spec] = {
    s.code: s
    for s in [
        Spec(
            "sanling_village_rate",
            "rate",
            "%",
            1,
            "erosion",
            "三零创建",
            "达标村(社区)",
            "名册村(社区)",
        ),
        Spec("sanling_unit_rate", "rate", "%", 1, "erosion", "三零创建", "达标单位", "参与单位"),
        Spec("dispute_resolution_rate", "rate", "%", 1, "flow", "三零创建", "化解", "排查"),
        Spec(
            "three_star_plus_rate",
            "rate",
            "%",
            2,
            "cumulative",
            "五星支部",
            "三星及以上",
            "名册党组织",
        ),
        Spec(
            "five_star_count",
            "count",
            "个",
            0,
            "cumulative",
            "五星支部",
            "五星党组织",
            "名册党组织",
        ),
        Spec(
            "branches_rated", "count", "个", 0, "cumulative", "五星支部", "一星及以上", "名册党组织"
        ),
        Spec("weak_branch_open", "count", "个", 0, "closing", "五星支部", "未销号", "年内认定"),
        Spec(
            "workday_compliance_rate", "rate", "%", 1, "flow", "双十工作日", "达标人次", "考核人次"
        ),
        Spec("problem_resolution_rate", "rate", "%", 1, "flow", "双十工作日", "已办结", "登记问题"),
        Spec("visits", "count", "次", 0, "cumulative", "工作量", "下沉走访", "—"),
        Spec("meetings", "count", "场", 0, "cumulative", "工作量", "座谈会", "下沉走访"),
        Spec("people_visited", "count", "人次", 0, "cumulative", "工作量", "走访群众", "下沉走访"),
        Spec("problems_solved", "count", "件", 0, "cumulative", "工作量", "已办结", "登记问题"),
    ]
}
TARGET_CODES = [
    "sanling_village_rate",
    "sanling_unit_rate",
    "three_star_plus_rate",
    "five_star_count",
    "weak_branch_open",
    "branches_rated",
    "dispute_resolution_rate",
    "workday_compliance_rate",
    "problem_resolution_rate",
]
VOLUME_CODES = ["visits", "meetings", "people_visited", "problems_solved"]
# Normalised by size, for the league table and the map: rates, and counts as a share.
RANK_CODES = [
    "three_star_plus_rate",
    "sanling_village_rate",
    "dispute_resolution_rate",
    "workday_compliance_rate",
    "problem_resolution_rate",
    "five_star_count",
    "branches_rated",
]

PROJECTION_TEXT = {
    "flow": "按年内至今的比率推算年末值（比率随时间基本稳定）。",
    "erosion": "按年内至今未达标数量的增长速度，线性推算年末未达标数量，再得出年末达标率。",
    "cumulative": "按年内至今的累计进度，线性推算年末累计数（不超过分母）。",
    "closing": "按年内至今的销号速度，线性推算年末仍未销号的数量。",
}


def value_of(spec: Spec, num: int, den: int):
    """The value shown: a percentage for rates (None without a denominator), the
    numerator for counts."""
    from decimal import Decimal

    if spec.kind == "rate":
        if not den:
            return None
        return (Decimal(num) * 100 / Decimal(den)).quantize(Decimal("0.0001"))
    return Decimal(num)


def share_of(spec: Spec, num: int, den: int):
    """Normalised by size for rankings: a rate as is, a count as % of its denominator."""
    if not den:
        return None
    return round(num * 100 / den, 2)


def year_end(year: int) -> datetime.date:
    return datetime.date(year, 12, 31)


def as_of_for(year: int, today: datetime.date) -> datetime.date:
    """A year is counted up to today while it runs, to its last day afterwards."""
    return min(today, year_end(year))


def gather(*, year: int, as_of: datetime.date) -> tuple[dict, dict]:
    """({code: {area: (num, den)}}, {code: {area: detail}}) for `year`. A constant
    number of grouped queries (about 20), whatever the number of villages."""
    figures: dict[str, dict] = {}
    details: dict[str, dict] = defaultdict(dict)

    figures["sanling_village_rate"] = disputes.sanling_village_rate_by_area(year=year)
    figures["sanling_unit_rate"] = disputes.sanling_unit_rate_by_area(year=year)
    figures["dispute_resolution_rate"] = disputes.dispute_resolution_rate_by_area(year=year)
    details["dispute_resolution_rate"] = dispute_types_by_area(year=year)

    distribution = stars.level_distribution_by_area(year=year)
    three, five, rated = {}, {}, {}
    for key, counts in distribution.items():
        total = sum(counts.values())
        three[key] = (sum(counts[lv] for lv in (3, 4, 5)), total)
        five[key] = (counts[5], total)
        rated[key] = (total - counts[0], total)
        details["three_star_plus_rate"][key] = {str(lv): n for lv, n in counts.items()}
    figures["three_star_plus_rate"] = three
    figures["five_star_count"] = five
    figures["branches_rated"] = rated
    figures["weak_branch_open"] = stars.weak_branch_open_by_area(year=year)

    by_period = visits.workday_compliance_by_period_by_area(year=year)
    for key, periods in by_period.items():
        details["workday_compliance_rate"][key] = {
            s.isoformat(): [p[0], p[1]] for s, p in sorted(periods.items()) if s <= as_of
        }
    figures["workday_compliance_rate"] = visits.compliance_rate_of(
        by_period, year=year, as_of=as_of
    )

    problems = visits.problem_resolution_rate_by_area(year=year)
    figures["problem_resolution_rate"] = problems
    figures["problems_solved"] = problems
    volumes = visits.visit_volumes_by_area(year=year)
    figures["visits"] = {k: (v["visits"], v["visits"]) for k, v in volumes.items()}
    figures["meetings"] = {k: (v["meetings"], v["visits"]) for k, v in volumes.items()}
    figures["people_visited"] = {k: (v["people"], v["visits"]) for k, v in volumes.items()}
    for key, months in visits.visits_monthly_by_area(year=year).items():
        details["visits"][key] = {str(m): [v["visits"], v["days"]] for m, v in months.items()}
    return figures, dict(details)


def dispute_types_by_area(*, year: int) -> dict[AreaKey, dict[str, list[int]]]:
    """{area: {dispute type: [resolved, found]}} for the disputes found in `year` (city,
    counties and townships), from the disputes selector. One grouped query."""
    return {
        key: {kind: list(pair) for kind, pair in types.items()}
        for key, types in disputes.dispute_resolution_by_type_by_area(year=year).items()
        if key[0] != "village"
    }
