"""Reads for 双十工作日, all scoped through villages.selectors.

- visits: officials see the visits in their area; a cadre sees only their own;
- problems: everyone sees the problems of the villages they may see;
- workday compliance: per cadre and period, distinct days at the cadre's own 联系点.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from dataclasses import dataclass

from django.db.models import Count, Exists, Max, OuterRef, Q, QuerySet, Sum
from django.db.models.functions import TruncMonth
from django.shortcuts import get_object_or_404
from django.utils import timezone

from core.history import choice_labels, scoped_history
from villages.models import Assignment, Cadre, County, Township, UserRole, Village
from villages.selectors import (
    area_keys_of,
    cadre_list_for_user,
    county_list_for_user,
    roll_up_by_area,
    scope_for_user,
    township_list_for_user,
    village_list_for_user,
)
from visits.models import Problem, Visit, WorkdayRule

DEFAULT_RULE = WorkdayRule(required_days=10, period=WorkdayRule.Period.MONTH)
EDIT_WINDOW = datetime.timedelta(days=7)


def visit_list_for_user(*, user) -> QuerySet[Visit]:
    scope = scope_for_user(user)
    visits = Visit.objects.select_related("cadre__work_unit", "village__township__county")
    if scope.is_cadre:
        return visits.filter(cadre_id=scope.cadre_id) if scope.cadre_id else visits.none()
    return visits.filter(village__in=village_list_for_user(user=user).values("pk"))


def visit_get_for_user(*, user, visit_id) -> Visit:
    return get_object_or_404(visit_list_for_user(user=user), pk=visit_id)


def problem_list_for_user(*, user) -> QuerySet[Problem]:
    return Problem.objects.select_related("village__township__county", "visit").filter(
        village__in=village_list_for_user(user=user).values("pk")
    )


def problems_with_source_visit(problems: QuerySet[Problem], *, user) -> QuerySet[Problem]:
    """`problems` with the visit each came from (its date and village loaded) and
    `visit_visible`: whether `user` may open that visit (a cadre sees a colleague's problem
    but not the colleague's visit). In the same query, whatever the number of rows."""
    return problems.select_related("visit__village").annotate(
        visit_visible=Exists(visit_list_for_user(user=user).filter(pk=OuterRef("visit_id")))
    )


def problem_get_for_user(*, user, problem_id) -> Problem:
    return get_object_or_404(problem_list_for_user(user=user), pk=problem_id)


def problems_overdue_q(today: datetime.date | None = None) -> Q:
    today = today or timezone.localdate()
    return Q(deadline__lt=today) & Q(
        status__in=[Problem.Status.PENDING, Problem.Status.IN_PROGRESS]
    )


def problem_resolution_rate(problems: QuerySet[Problem]) -> dict:
    """办结率 = 已办结 ÷ all (the explained-but-unresolved count separately)."""
    agg = problems.aggregate(
        total=Count("id"),
        resolved=Count("id", filter=Q(status=Problem.Status.RESOLVED)),
        explained=Count("id", filter=Q(status=Problem.Status.EXPLAINED)),
        overdue=Count("id", filter=problems_overdue_q()),
    )
    agg["rate"] = agg["resolved"] / agg["total"] if agg["total"] else None
    return agg


def problem_resolution_by_township(problems: QuerySet[Problem]) -> list[dict]:
    """`problem_resolution_rate` per township of `problems` (one query), in code order."""
    rows = list(
        problems.order_by()
        .values(
            "village__township_id", "village__township__name", "village__township__county__name"
        )
        .annotate(
            total=Count("id"),
            resolved=Count("id", filter=Q(status=Problem.Status.RESOLVED)),
            explained=Count("id", filter=Q(status=Problem.Status.EXPLAINED)),
            overdue=Count("id", filter=problems_overdue_q()),
        )
        .order_by("village__township__county__code", "village__township__code")
    )
    return [
        {
            "township_id": r["village__township_id"],
            "township": r["village__township__name"],
            "county": r["village__township__county__name"],
            "total": r["total"],
            "resolved": r["resolved"],
            "explained": r["explained"],
            "overdue": r["overdue"],
            "rate": r["resolved"] / r["total"] if r["total"] else None,
        }
        for r in rows
    ]


def problem_can_write(*, user) -> bool:
    """Everyone with a role except city viewers raises and handles problems (of the
    villages they may see)."""
    return scope_for_user(user).role not in (None, UserRole.Role.CITY_VIEWER)


def visit_history(*, user, visit: Visit) -> list[dict]:
    """The visit's history (core.history), newest first; 404 outside the user's scope."""
    return scoped_history(
        visit_list_for_user(user=user),
        [visit.pk],
        formatters={"activities": choice_labels(Visit.Activity.choices)},
    )


def problem_history(*, user, problem: Problem) -> list[dict]:
    """The problem's history, newest first; 404 outside the user's scope."""
    return scoped_history(problem_list_for_user(user=user), [problem.pk])


def workday_rule_list() -> QuerySet[WorkdayRule]:
    """Every workday rule ever set (not area-bound), newest effective date first."""
    return WorkdayRule.objects.order_by("-effective_from")


# ----- what a cadre may log -----


def visit_edit_refusal(visit: Visit, *, now: datetime.datetime | None = None) -> str | None:
    """Why the cadre may not change `visit` now (a sentence to show them), or None when
    they may. The one place this is decided; pages, the API and visit_update all ask here.

    - approved: never again;
    - returned (退回): at any age, until the cadre resubmits it (the reviewer asked for
      the fix, however long ago the visit was logged);
    - awaiting review: within 7 days of being logged (填报), so a first edit cannot
      quietly rewrite an old record; after that only a reviewer's return reopens it."""
    if visit.state == Visit.State.APPROVED:
        return "已审核通过的记录不能再修改。"
    if visit.state == Visit.State.RETURNED:
        return None
    now = now or timezone.now()
    if now - visit.created_at <= EDIT_WINDOW:
        return None
    logged = timezone.localtime(visit.created_at)
    return (
        f"这条记录填报于 {logged.year}年{logged.month}月{logged.day}日，"
        f"已超过 {EDIT_WINDOW.days} 天，待审核期间不能再修改；"
        "如需更正，请联系审核人退回后再修改。"
    )


def visit_editable(visit: Visit, *, now: datetime.datetime | None = None) -> bool:
    return visit_edit_refusal(visit, now=now) is None


def visit_can_edit(*, user, visit: Visit) -> bool:
    """Whether `user` may change `visit` now: it is their own (a cadre's) and
    `visit_edit_refusal` has nothing against it."""
    scope = scope_for_user(user)
    return (
        scope.is_cadre
        and bool(scope.cadre_id)
        and scope.cadre_id == visit.cadre_id
        and visit_editable(visit)
    )


# ----- the workday rule -----


def rule_for(day: datetime.date) -> WorkdayRule:
    """The rule that judges the period containing `day`: the newest one in force on the
    first day of that period (month or quarter of the rule in force on `day`)."""
    rules = list(WorkdayRule.objects.filter(effective_from__lte=day).order_by("-effective_from"))
    if not rules:
        return DEFAULT_RULE
    start = period_start(rules[0], day)
    for rule in rules:
        if rule.effective_from <= start:
            return rule
    return DEFAULT_RULE  # no stored rule was in force when that period began


def period_start(rule: WorkdayRule, day: datetime.date) -> datetime.date:
    if rule.period == WorkdayRule.Period.QUARTER:
        return datetime.date(day.year, (day.month - 1) // 3 * 3 + 1, 1)
    return day.replace(day=1)


def period_end(rule: WorkdayRule, day: datetime.date) -> datetime.date:
    start = period_start(rule, day)
    months = 3 if rule.period == WorkdayRule.Period.QUARTER else 1
    year, month = divmod(start.month - 1 + months, 12)
    return datetime.date(start.year + year, month + 1, 1) - datetime.timedelta(days=1)


def period_label(rule: WorkdayRule, day: datetime.date) -> str:
    start = period_start(rule, day)
    if rule.period == WorkdayRule.Period.QUARTER:
        return f"{start.year}年第{(start.month - 1) // 3 + 1}季度"
    return f"{start.year}年{start.month}月"


COUNTED_STATES = (Visit.State.SUBMITTED, Visit.State.APPROVED)


def distinct_days(visits: QuerySet[Visit]) -> int:
    """Two half days (or any number of visits) on one date count as one day."""
    return visits.filter(state__in=COUNTED_STATES).values("date").distinct().count()


@dataclass
class Progress:
    rule: WorkdayRule
    label: str
    days: int
    start: datetime.date
    end: datetime.date

    @property
    def required(self) -> int:
        return self.rule.required_days

    @property
    def met(self) -> bool:
        return self.days >= self.required

    @property
    def percent(self) -> int:
        return min(100, round(self.days * 100 / self.required)) if self.required else 100


def cadre_progress(*, cadre_id: int, day: datetime.date | None = None) -> Progress:
    day = day or timezone.localdate()
    rule = rule_for(day)
    start, end = period_start(rule, day), period_end(rule, day)
    days = distinct_days(Visit.objects.filter(cadre_id=cadre_id, date__range=(start, end)))
    return Progress(rule=rule, label=period_label(rule, day), days=days, start=start, end=end)


def cadre_year_totals(*, cadre_id: int, year: int) -> dict:
    visits = Visit.objects.filter(cadre_id=cadre_id, date__year=year, state__in=COUNTED_STATES)
    totals = visits.aggregate(
        visits=Count("id"),
        meetings=Sum("meetings"),
        people=Sum("people_reached"),
        households=Sum("households_visited"),
    )
    totals["days"] = visits.values("date").distinct().count()
    totals["problems"] = Problem.objects.filter(
        visit__cadre_id=cadre_id, visit__date__year=year
    ).count()
    return {k: v or 0 for k, v in totals.items()}


@dataclass
class ComplianceRow:
    cadre: Cadre
    township_name: str
    days: int
    required: int
    township_id: int | None = None
    county_name: str = ""

    @property
    def met(self) -> bool:
        return self.days >= self.required


def compliance_for_user(*, user, day: datetime.date) -> dict:
    """Workday compliance of the cadres linked to the user's area, for the period that
    contains `day`. A cadre counts when one of their assignments covers any day of the
    period; their days are the distinct dates of their visits in the period (at their own
    联系点: visits are only accepted there). Three queries, whatever the number of cadres."""
    rule = rule_for(day)
    start, end = period_start(rule, day), period_end(rule, day)
    active = Assignment.objects.filter(start_date__lte=end, end_date__gte=start).filter(
        cadre__in=cadre_list_for_user(user=user).values("pk")
    )
    visible_villages = village_list_for_user(user=user).values("pk")
    scope = scope_for_user(user)
    if not scope.is_city:
        active = active.filter(
            Q(village__in=visible_villages)
            | Q(township__in=village_list_for_user(user=user).values("township_id"))
        )
    assignment_rows = list(
        active.select_related(
            "cadre__work_unit", "village__township__county", "township__county"
        ).order_by("cadre_id", "id")
    )
    cadres: dict[int, tuple[Cadre, Township]] = {}
    for a in assignment_rows:
        township = a.village.township if a.village_id else a.township
        cadres.setdefault(a.cadre_id, (a.cadre, township))
    days = dict(
        Visit.objects.filter(
            cadre_id__in=list(cadres), date__range=(start, end), state__in=COUNTED_STATES
        )
        .values("cadre_id")
        .annotate(n=Count("date", distinct=True))
        .values_list("cadre_id", "n")
    )
    rows = [
        ComplianceRow(
            cadre=c,
            township_name=t.name,
            days=days.get(pk, 0),
            required=rule.required_days,
            township_id=t.pk,
            county_name=t.county.name,
        )
        for pk, (c, t) in cadres.items()
    ]
    rows.sort(key=lambda r: (r.met, r.township_name, r.cadre.work_unit.name, r.cadre.name))
    met = sum(1 for r in rows if r.met)
    return {
        "rule": rule,
        "label": period_label(rule, day),
        "start": start,
        "end": end,
        "rows": rows,
        "below": [r for r in rows if not r.met],
        "met": met,
        "total": len(rows),
        "rate": met / len(rows) if rows else None,
    }


def recent_periods(*, count: int = 6, today: datetime.date | None = None) -> list[datetime.date]:
    """A representative day of the current period and of the `count - 1` before it."""
    day = today or timezone.localdate()
    days = []
    for _ in range(count):
        rule = rule_for(day)
        start = period_start(rule, day)
        days.append(start)
        day = start - datetime.timedelta(days=1)
    return days


REVIEWER_ROLES = (
    UserRole.Role.CITY_ADMIN,
    UserRole.Role.COUNTY_OFFICIAL,
    UserRole.Role.TOWNSHIP_OFFICIAL,
)


def user_reviews_visits(*, user) -> bool:
    """Township and county officials and city admins review visits (in their area)."""
    return scope_for_user(user).role in REVIEWER_ROLES


def visit_can_review(*, user, visit: Visit) -> bool:
    """Officials (and city admins) whose area holds the visit's village review it."""
    if not user_reviews_visits(user=user):
        return False
    return village_list_for_user(user=user).filter(pk=visit.village_id).exists()


def reference_day(*, cadre_id: int | None = None) -> datetime.date:
    """The day the pages open on: today while an assignment (the cadre's, or anyone's)
    covers it; after the work year has ended, the last day of the newest assignment, so
    officials and cadres land on the last period that was actually worked."""
    today = timezone.localdate()
    assignments = Assignment.objects.all()
    if cadre_id is not None:
        assignments = assignments.filter(cadre_id=cadre_id)
    if assignments.filter(start_date__lte=today, end_date__gte=today).exists():
        return today
    last = (
        assignments.filter(end_date__lt=today)
        .order_by("-end_date")
        .values_list("end_date", flat=True)
        .first()
    )
    return last or today


# ----- per-area indicators for the dashboards -----
#
# Keyed like the other apps' `*_by_area` functions: ("city", None), ("county", id),
# ("township", id), ("village", id). A visit and a problem belong to the area of their
# village. Each function runs a fixed number of grouped queries, whatever the size.

AreaKey = tuple[str, "int | None"]


def _village_areas() -> dict[int, tuple[int, int]]:
    """{village_id: (township_id, county_id)} in one query."""

    return {
        v: (t, c)
        for v, t, c in Village.objects.order_by().values_list(
            "pk", "township_id", "township__county_id"
        )
    }


def _rule_from(rules: list[WorkdayRule], day: datetime.date) -> WorkdayRule:
    """`rule_for(day)` over rules already read (newest effective date first)."""
    in_force = [r for r in rules if r.effective_from <= day]
    if not in_force:
        return DEFAULT_RULE
    start = period_start(in_force[0], day)
    for rule in in_force:
        if rule.effective_from <= start:
            return rule
    return DEFAULT_RULE


def year_periods(*, year: int) -> list[tuple[WorkdayRule, datetime.date, datetime.date]]:
    """The workday periods (rule, start, end) that begin in `year`, in order. One query."""
    rules = list(WorkdayRule.objects.order_by("-effective_from"))
    periods = []
    day = datetime.date(year, 1, 1)
    while day.year == year:
        rule = _rule_from(rules, day)
        start, end = period_start(rule, day), period_end(rule, day)
        periods.append((rule, start, end))
        day = end + datetime.timedelta(days=1)
    return periods


def workday_compliance_by_period_by_area(
    *, year: int
) -> dict[AreaKey, dict[datetime.date, tuple[int, int]]]:
    """Per area and per workday period starting in `year` (keyed by its first day):
    (cadre-periods that met the rule, cadre-periods), judged as `compliance_for_user`
    judges them: a cadre counts in a period when one of their assignments covers a day of
    it, in the area of their first such assignment; their days are the distinct dates of
    their submitted or approved visits in the period. Three queries."""
    periods = year_periods(year=year)
    first, last = periods[0][1], periods[-1][2]
    assignments = list(
        Assignment.objects.filter(start_date__lte=last, end_date__gte=first)
        .order_by("cadre_id", "id")
        .values_list(
            "cadre_id",
            "start_date",
            "end_date",
            "village_id",
            "village__township_id",
            "village__township__county_id",
            "township_id",
            "township__county_id",
        )
    )
    month_days: dict[tuple[int, datetime.date], int] = {}
    rows = (
        Visit.objects.filter(date__range=(first, last), state__in=COUNTED_STATES)
        .annotate(month=TruncMonth("date"))
        .order_by()
        .values("cadre_id", "month")
        .annotate(n=Count("date", distinct=True))
        .values_list("cadre_id", "month", "n")
    )
    for cadre_id, month, n in rows:
        if isinstance(month, datetime.datetime):
            month = month.date()
        month_days[(cadre_id, month)] = n
    result: dict[AreaKey, dict[datetime.date, list[int]]] = defaultdict(dict)
    result[("city", None)]
    for rule, start, end in periods:
        months = []
        m = start
        while m <= end:
            months.append(m)
            m = (m.replace(day=28) + datetime.timedelta(days=4)).replace(day=1)
        placed: dict[int, tuple] = {}
        for cadre_id, a_start, a_end, v, vt, vc, t, tc in assignments:
            if a_start <= end and a_end >= start and cadre_id not in placed:
                placed[cadre_id] = (v, vt, vc) if v is not None else (None, t, tc)
        for cadre_id, (v, t, c) in placed.items():
            days = sum(month_days.get((cadre_id, m), 0) for m in months)
            met = 1 if days >= rule.required_days else 0
            for key in area_keys_of(v, t, c):
                pair = result[key].setdefault(start, [0, 0])
                pair[0] += met
                pair[1] += 1
    return {
        key: {start: (p[0], p[1]) for start, p in by_period.items()}
        for key, by_period in result.items()
    }


def workday_compliance_rate_by_area(
    *, year: int, as_of: datetime.date | None = None
) -> dict[AreaKey, tuple[int, int]]:
    """双十工作日达标率: (cadre-periods that met the rule, cadre-periods) over the periods
    of `year` that have ended by `as_of` (default today; a period still running is not
    judged yet). Three queries."""
    return compliance_rate_of(
        workday_compliance_by_period_by_area(year=year),
        year=year,
        as_of=as_of or timezone.localdate(),
    )


def compliance_rate_of(
    by_period: dict[AreaKey, dict[datetime.date, tuple[int, int]]],
    *,
    year: int,
    as_of: datetime.date,
) -> dict[AreaKey, tuple[int, int]]:
    """The 达标率 pairs from `workday_compliance_by_period_by_area`'s result, over the
    periods of `year` that have ended by `as_of`. One query (the rules)."""
    ended = {start for _rule, start, end in year_periods(year=year) if end <= as_of}
    out: dict[AreaKey, tuple[int, int]] = {("city", None): (0, 0)}
    for key, periods in by_period.items():
        met = sum(p[0] for s, p in periods.items() if s in ended)
        total = sum(p[1] for s, p in periods.items() if s in ended)
        out[key] = (met, total)
    return out


def _problem_counts(year: int) -> list[tuple]:
    return list(
        Problem.objects.filter(created_at__year=year)
        .order_by()
        .values("village_id", "village__township_id", "village__township__county_id")
        .annotate(
            total=Count("id"),
            resolved=Count("id", filter=Q(status=Problem.Status.RESOLVED)),
        )
        .values_list(
            "village_id",
            "village__township_id",
            "village__township__county_id",
            "resolved",
            "total",
        )
    )


def problem_resolution_rate_by_area(*, year: int) -> dict[AreaKey, tuple[int, int]]:
    """办结率 = 已办结 ÷ all, over the problems registered in `year` (the rule of
    `problem_resolution_rate`). One query."""
    return roll_up_by_area(_problem_counts(year))


def problems_solved_by_area(*, year: int) -> dict[AreaKey, tuple[int, int]]:
    """(problems 已办结, problems registered) in `year`: the same pair as 办结率. One query."""
    return problem_resolution_rate_by_area(year=year)


def visit_volumes_by_area(*, year: int) -> dict[AreaKey, dict[str, int]]:
    """Per area: visits, 座谈会 held, people reached and households visited in `year`
    (submitted or approved visits, as on the cadre's own totals). Two queries."""
    areas = _village_areas()
    totals: dict[AreaKey, dict[str, int]] = defaultdict(
        lambda: {"visits": 0, "meetings": 0, "people": 0, "households": 0}
    )
    totals[("city", None)]
    rows = (
        Visit.objects.filter(date__year=year, state__in=COUNTED_STATES)
        .order_by()
        .values("village_id")
        .annotate(
            visits=Count("id"),
            meetings=Sum("meetings"),
            people=Sum("people_reached"),
            households=Sum("households_visited"),
        )
    )
    for r in rows:
        t, c = areas.get(r["village_id"], (None, None))
        for key in area_keys_of(r["village_id"], t, c):
            item = totals[key]
            for field in ("visits", "meetings", "people", "households"):
                item[field] += r[field] or 0
    return dict(totals)


def meetings_by_area(*, year: int) -> dict[AreaKey, tuple[int, int]]:
    """(座谈会 held, visits) in `year`."""
    return {k: (v["meetings"], v["visits"]) for k, v in visit_volumes_by_area(year=year).items()}


def people_visited_by_area(*, year: int) -> dict[AreaKey, tuple[int, int]]:
    """(people reached, visits) in `year`."""
    return {k: (v["people"], v["visits"]) for k, v in visit_volumes_by_area(year=year).items()}


def visits_monthly_by_area(*, year: int) -> dict[AreaKey, dict[int, dict[str, int]]]:
    """Per area and month (1–12) of `year`: visits, and village-days (the distinct dates
    on which each village had a visit, summed over the area's villages; two visits to a
    village on one date count once). Two queries."""
    areas = _village_areas()
    out: dict[AreaKey, dict[int, dict[str, int]]] = defaultdict(dict)
    out[("city", None)]
    rows = (
        Visit.objects.filter(date__year=year, state__in=COUNTED_STATES)
        .annotate(month=TruncMonth("date"))
        .order_by()
        .values("village_id", "month")
        .annotate(visits=Count("*"), days=Count("date", distinct=True))
        .values_list("village_id", "month", "visits", "days")
    )
    for village_id, month, visits, days in rows:
        t, c = areas.get(village_id, (None, None))
        for key in area_keys_of(village_id, t, c):
            item = out[key].setdefault(month.month, {"visits": 0, "days": 0})
            item["visits"] += visits
            item["days"] += days
    return dict(out)


# ----- the visits map (走访地图) -----
#
# Points of the visits with a GPS fix in one period of the user's area, with their
# villages' own points; a fixed number of queries whatever the number of visits.

MAP_POINT_CAP = 5000
MAP_VILLAGE_CAP = 5000
MAP_FLAGGED_CAP = 200


def user_sees_visit_map(*, user) -> bool:
    """City users and county and township officials; cadres keep to their own list."""
    scope = scope_for_user(user)
    return scope.is_city or scope.is_official


@dataclass(frozen=True)
class MapArea:
    """What a map request narrows to, inside the user's area."""

    county: County | None  # the county asked for (city users)
    township: Township | None  # the township asked for
    outline: County | None  # the county whose outline is drawn; None: the whole city
    township_level: bool  # one township only: the map opens zoomed on the points


def visit_map_area(
    *, user, county_id: int | None = None, township_id: int | None = None
) -> MapArea:
    """The area a map request names. A county or township outside the user's area is a 404,
    like any object out of scope."""
    scope = scope_for_user(user)
    township = county = None
    if township_id is not None:
        township = get_object_or_404(township_list_for_user(user=user), pk=township_id)
    if county_id is not None:
        county = get_object_or_404(county_list_for_user(user=user), pk=county_id)
    outline = township.county if township is not None else county
    if outline is None and scope.county_id:
        outline = county_list_for_user(user=user).filter(pk=scope.county_id).first()
    return MapArea(
        county=county,
        township=township,
        outline=outline,
        township_level=township is not None or scope.role == UserRole.Role.TOWNSHIP_OFFICIAL,
    )


def _map_visits(*, user, area: MapArea) -> QuerySet[Visit]:
    visits = visit_list_for_user(user=user)
    if area.township is not None:
        visits = visits.filter(village__township_id=area.township.pk)
    if area.county is not None:
        visits = visits.filter(village__township__county_id=area.county.pk)
    return visits


def visit_map_latest_day(*, user, area: MapArea, today: datetime.date) -> datetime.date:
    """Today, or the latest day before it with a visit in the area (today without any)."""
    latest = (
        _map_visits(user=user, area=area)
        .filter(date__lte=today)
        .order_by()
        .aggregate(latest=Max("date"))["latest"]
    )
    return latest or today


def _number(value) -> float | None:
    return None if value is None else float(value)


def visit_map_for_user(*, user, area: MapArea, start: datetime.date, end: datetime.date) -> dict:
    """The visits map of `start`–`end` (both included) for `user`'s area narrowed to `area`:

    - points: the visits with a GPS fix, newest first, at most MAP_POINT_CAP (`capped`);
    - villages: the area's villages that have a coordinate;
    - counts: visits with a fix, without one, and flagged (位置存疑);
    - flagged: the flagged visits, newest first, at most MAP_FLAGGED_CAP.

    Four queries (plus the scope, once per request)."""
    visits = _map_visits(user=user, area=area).filter(date__gte=start, date__lte=end)
    has_fix = Q(latitude__isnull=False, longitude__isnull=False)
    counts = visits.order_by().aggregate(
        total=Count("id"),
        located=Count("id", filter=has_fix),
        flagged=Count("id", filter=Q(location_flag=True)),
    )
    counts["unlocated"] = counts["total"] - counts["located"]
    rows = list(
        visits.filter(has_fix)
        .order_by("-date", "-id")
        .values(
            "id",
            "date",
            "state",
            "location_flag",
            "latitude",
            "longitude",
            "distance_km",
            "village__name",
            "cadre__name",
        )[: MAP_POINT_CAP + 1]
    )
    flagged = list(
        visits.filter(location_flag=True)
        .order_by("-date", "-id")
        .values(
            "id",
            "date",
            "state",
            "distance_km",
            "village__name",
            "village__township__name",
            "cadre__name",
        )[: MAP_FLAGGED_CAP + 1]
    )
    villages = village_list_for_user(user=user).filter(
        latitude__isnull=False, longitude__isnull=False
    )
    if area.township is not None:
        villages = villages.filter(township_id=area.township.pk)
    if area.county is not None:
        villages = villages.filter(township__county_id=area.county.pk)
    village_rows = list(
        villages.order_by("code").values_list("id", "name", "latitude", "longitude")[
            :MAP_VILLAGE_CAP
        ]
    )
    states = dict(Visit.State.choices)
    return {
        "counts": counts,
        "capped": len(rows) > MAP_POINT_CAP,
        "cap": MAP_POINT_CAP,
        "points": [
            {
                "id": r["id"],
                "lng": _number(r["longitude"]),
                "lat": _number(r["latitude"]),
                "state": r["state"],
                "flag": r["location_flag"],
                "date": r["date"].isoformat(),
                "village": r["village__name"],
                "cadre": r["cadre__name"],
                "km": _number(r["distance_km"]),
            }
            for r in rows[:MAP_POINT_CAP]
        ],
        "villages": [
            {"id": pk, "name": name, "lng": _number(lng), "lat": _number(lat)}
            for pk, name, lat, lng in village_rows
        ],
        "flagged": [
            {
                "id": r["id"],
                "date": r["date"],
                "state": str(states.get(r["state"], r["state"])),
                "km": r["distance_km"],
                "village": r["village__name"],
                "township": r["village__township__name"],
                "cadre": r["cadre__name"],
            }
            for r in flagged[:MAP_FLAGGED_CAP]
        ],
        "flagged_capped": len(flagged) > MAP_FLAGGED_CAP,
        "flagged_cap": MAP_FLAGGED_CAP,
    }


# ----- the fixes a village's location is learned from -----


def approved_fixes_by_village(*, village_ids=None) -> dict[int, list[tuple[float, float]]]:
    """{village id: [(lat, lon), …]}: the GPS fixes of the approved visits of the villages
    that have no coordinate yet (of `village_ids` only, when given). The system's read for
    the nightly learning, no user involved."""
    visits = Visit.objects.filter(
        state=Visit.State.APPROVED,
        latitude__isnull=False,
        longitude__isnull=False,
        village__latitude__isnull=True,
    )
    if village_ids is not None:
        visits = visits.filter(village_id__in=list(village_ids))
    fixes: dict[int, list[tuple[float, float]]] = defaultdict(list)
    rows = visits.order_by().values_list("village_id", "latitude", "longitude")
    for village_id, lat, lon in rows.iterator(chunk_size=5000):
        fixes[village_id].append((float(lat), float(lon)))
    return dict(fixes)


def village_fixes_for_user(*, user, village: Village) -> list[Visit]:
    """The located, approved visits of `village` that `user` may see: the points a
    learned location is the median of."""
    return list(
        visit_list_for_user(user=user)
        .filter(
            village=village,
            state=Visit.State.APPROVED,
            latitude__isnull=False,
            longitude__isnull=False,
        )
        .order_by("-date", "-pk")[:500]
    )
