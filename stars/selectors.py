"""Reads for 五星支部, all scoped through villages.selectors.

A branch's village (so its scheme, township and county) comes from the year's roster;
star level = the number of stars a branch holds (state 已授星) in that year.

The `*_by_area(*, year)` functions feed the dashboards: keyed by ("city", None),
("county", id), ("township", id) and ("village", id), each a fixed number of grouped
queries. Area rows count branches (a 联合党支部 once); a village row describes the
branch that covered it that year. Denominators are the year's roster branches.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from dataclasses import dataclass

from django.db.models import Count, IntegerField, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce
from django.shortcuts import get_object_or_404
from django.utils import timezone

from core.history import choice_labels, newest_first, scoped_history
from stars.models import (
    RatingYear,
    Scheme,
    StarAward,
    StarAwardEvent,
    StarSettings,
    StarTask,
    StarTaskCheck,
    StarType,
    WeakBranchCase,
    WeakReason,
    scheme_of_kind,
)
from villages.models import Branch, Roster, RosterEntry, UserRole
from villages.selectors import (
    branch_list_for_user,
    county_list_for_user,
    scope_for_user,
    township_list_for_user,
    village_list_for_user,
)

Role = UserRole.Role
LEVELS = (0, 1, 2, 3, 4, 5)
AreaKey = tuple[str, int | None]

# ----- settings, years, star types -----


def star_settings() -> StarSettings:
    return StarSettings.current()


def year_locked(year: int) -> bool:
    return RatingYear.objects.filter(year=year, locked=True).exists()


def locked_year_set() -> set[int]:
    return set(RatingYear.objects.filter(locked=True).values_list("year", flat=True))


def rating_year_list() -> list[dict]:
    """Every roster year with its lock state, newest first."""
    locks = {r.year: r for r in RatingYear.objects.select_related("locked_by")}
    return [{"year": y, "record": locks.get(y)} for y in roster_year_list()]


def roster_year_list() -> list[int]:
    return list(Roster.objects.order_by("-year").values_list("year", flat=True))


def default_star_year() -> int:
    """The year pages open on: the newest roster year (else this year)."""
    years = roster_year_list()
    return years[0] if years else timezone.localdate().year


def star_type_list() -> QuerySet[StarType]:
    """Star types are not area-bound: everyone signed in may read them."""
    return StarType.objects.prefetch_related("tasks").order_by("scheme", "order", "id")


def star_task_list() -> QuerySet[StarTask]:
    """Key tasks, like star types, are not area-bound."""
    return StarTask.objects.select_related("star_type")


def star_types_by_scheme() -> dict[str, list[StarType]]:
    grouped: dict[str, list[StarType]] = {Scheme.RURAL: [], Scheme.URBAN: []}
    for star in StarType.objects.order_by("scheme", "order", "id"):
        grouped.setdefault(star.scheme, []).append(star)
    return grouped


# ----- scoped lists -----


def award_list_for_user(*, user) -> QuerySet[StarAward]:
    return StarAward.objects.select_related("branch__township__county", "star_type").filter(
        branch__in=branch_list_for_user(user=user).values("pk")
    )


def award_get_for_user(*, user, award_id) -> StarAward:
    return get_object_or_404(award_list_for_user(user=user), pk=award_id)


def branch_get_for_user(*, user, branch_id) -> Branch:
    return get_object_or_404(branch_list_for_user(user=user), pk=branch_id)


def weak_case_list_for_user(*, user) -> QuerySet[WeakBranchCase]:
    return WeakBranchCase.objects.select_related("branch__township__county").filter(
        branch__in=branch_list_for_user(user=user).values("pk")
    )


def weak_case_get_for_user(*, user, case_id) -> WeakBranchCase:
    return get_object_or_404(weak_case_list_for_user(user=user), pk=case_id)


# ----- the services' pre-checks (two requests at the same moment: the constraint decides) -----


def award_find(*, branch: Branch, year: int, star_type: StarType, lock: bool = False):
    """The branch's award of this star and year, or None (locked for update if asked)."""
    awards = StarAward.objects.select_for_update() if lock else StarAward.objects
    return awards.filter(branch=branch, year=year, star_type=star_type).first()


def weak_case_exists(*, branch: Branch, year: int) -> bool:
    return WeakBranchCase.objects.filter(branch=branch, year=year).exists()


# ----- who may do what -----


def _is_township_of(user, branch: Branch) -> bool:
    scope = scope_for_user(user)
    return scope.role == Role.TOWNSHIP_OFFICIAL and branch.township_id == scope.township_id


def _is_county_of(user, branch: Branch) -> bool:
    scope = scope_for_user(user)
    return scope.role == Role.COUNTY_OFFICIAL and branch.township.county_id == scope.county_id


def can_apply(user, branch: Branch) -> bool:
    """申报 and 乡镇初审: the township official of the branch's township."""
    return _is_township_of(user, branch)


def can_county_act(user, branch: Branch) -> bool:
    """县级评定, 公示, 授星: the county official of the branch's county."""
    return _is_county_of(user, branch)


def can_withdraw(user, branch: Branch) -> bool:
    """摘星: the county official of the branch's county, or a city admin."""
    return _is_county_of(user, branch) or scope_for_user(user).role == Role.CITY_ADMIN


def can_tick_tasks(user, branch: Branch) -> bool:
    return _is_township_of(user, branch) or _is_county_of(user, branch)


def can_lock_years(user) -> bool:
    return scope_for_user(user).role == Role.CITY_ADMIN


def can_identify_weak(user, branch: Branch) -> bool:
    """认定 and 整顿: the branch's township or county official, or a city admin."""
    return (
        _is_township_of(user, branch)
        or _is_county_of(user, branch)
        or scope_for_user(user).role == Role.CITY_ADMIN
    )


def can_accept_weak(user, branch: Branch) -> bool:
    """验收销号 and 重新整顿: the county official of the branch's county, or a city admin."""
    return _is_county_of(user, branch) or scope_for_user(user).role == Role.CITY_ADMIN


def weak_case_actions(*, user, case: WeakBranchCase) -> list[str]:
    """What `user` may do on `case` now: "rectify" (制定/修改整顿方案) while it is not 销号,
    "accept" (验收销号) once 整顿 is under way, "reopen" (重新整顿) once 销号."""
    W = WeakBranchCase.Status
    actions = []
    if case.status != W.ACCEPTED and can_identify_weak(user, case.branch):
        actions.append("rectify")
    if case.status in (W.RECTIFYING, W.REOPENED) and can_accept_weak(user, case.branch):
        actions.append("accept")
    if case.status == W.ACCEPTED and can_accept_weak(user, case.branch):
        actions.append("reopen")
    return actions


def user_works_weak_cases(*, user) -> bool:
    scope = scope_for_user(user)
    return scope.is_official or scope.role == Role.CITY_ADMIN


def user_reviews_stars(*, user) -> bool:
    return scope_for_user(user).is_official


def publicity_over(award: StarAward, *, today: datetime.date | None = None) -> bool:
    """The 公示 has run its course: `publicity_end` (its start plus the period in force when
    it was published) is today or past. The start itself is never before the day the 公示
    was recorded (award_publicize), so the period cannot be shortened by backdating it."""
    today = today or timezone.localdate()
    return bool(award.publicity_end and today >= award.publicity_end)


def award_rated_on(award: StarAward) -> datetime.date | None:
    """The day of the award's latest 县级评定 (None when its chain has none, e.g. rows
    written before the chain was recorded)."""
    at = (
        StarAwardEvent.objects.filter(award=award, step=StarAwardEvent.Step.COUNTY_RATE)
        .order_by("-at", "-id")
        .values_list("at", flat=True)
        .first()
    )
    return timezone.localdate(at) if at else None


def award_actions(*, user, award: StarAward, locked: bool | None = None) -> list[str]:
    """The steps `user` may take on `award` now (StarAwardEvent.Step values)."""
    if locked is None:
        locked = year_locked(award.year)
    if locked:
        return []
    S, Step = StarAward.State, StarAwardEvent.Step
    branch, state = award.branch, award.state
    actions = []
    if can_apply(user, branch):
        if state == S.APPLIED:
            actions += [Step.TOWNSHIP_REVIEW, Step.REJECT]
        if state == S.REJECTED:
            actions.append(Step.APPLY)
    if can_county_act(user, branch):
        if state == S.TOWNSHIP_APPROVED:
            actions += [Step.COUNTY_RATE, Step.REJECT]
        elif state == S.COUNTY_RATED:
            actions += [Step.PUBLICIZE, Step.REJECT]
        elif state == S.PUBLICIZED:
            if publicity_over(award):
                actions.append(Step.AWARD)
            actions.append(Step.REJECT)
    if state == S.AWARDED and can_withdraw(user, branch):
        actions.append(Step.WITHDRAW)
    return actions


# ----- one branch -----


def branch_entries(*, branch: Branch, year: int) -> list[RosterEntry]:
    return list(
        RosterEntry.objects.filter(branch=branch, roster__year=year)
        .select_related("village")
        .order_by("village__code")
    )


def branch_scheme(*, branch: Branch, year: int) -> str | None:
    """The branch's scheme that year (from its villages), or None when it is not on the
    year's roster."""
    kinds = list(
        RosterEntry.objects.filter(branch=branch, roster__year=year).values_list(
            "village__kind", flat=True
        )
    )
    if not kinds:
        return None
    return Scheme.URBAN if all(scheme_of_kind(k) == Scheme.URBAN for k in kinds) else Scheme.RURAL


def branch_level(*, branch_id: int, year: int) -> int:
    return StarAward.objects.filter(
        branch_id=branch_id, year=year, state=StarAward.State.AWARDED
    ).count()


def holds_foundation(*, branch_id: int, year: int) -> bool:
    return StarAward.objects.filter(
        branch_id=branch_id,
        year=year,
        state=StarAward.State.AWARDED,
        star_type__is_foundation=True,
    ).exists()


@dataclass
class StarSlot:
    star: StarType
    award: StarAward | None
    actions: list[str]
    tasks: list[tuple[StarTask, StarTaskCheck | None]]

    @property
    def held(self) -> bool:
        return bool(self.award and self.award.state == StarAward.State.AWARDED)


def star_card(*, user, branch: Branch, year: int) -> dict:
    """Everything the star card shows for one visible branch and year."""
    scheme = branch_scheme(branch=branch, year=year)
    locked = year_locked(year)
    stars = list(
        StarType.objects.filter(scheme=scheme or Scheme.RURAL)
        .prefetch_related("tasks")
        .order_by("order", "id")
    )
    awards = {
        a.star_type_id: a
        for a in StarAward.objects.filter(branch=branch, year=year).select_related(
            "star_type", "branch__township"
        )
    }
    checks_list = list(
        StarTaskCheck.objects.filter(branch=branch, year=year).select_related("updated_by", "task")
    )
    checks = {c.task_id: c for c in checks_list}
    slots = []
    may_apply = scheme is not None and not locked and can_apply(user, branch)
    for star in stars:
        award = awards.get(star.pk)
        if award is not None:
            actions = award_actions(user=user, award=award, locked=locked)
        else:
            actions = [StarAwardEvent.Step.APPLY] if may_apply else []
        tasks = [(t, checks.get(t.pk)) for t in star.tasks.all()]
        slots.append(StarSlot(star=star, award=award, actions=actions, tasks=tasks))
    events = list(
        StarAwardEvent.objects.filter(award__branch=branch, award__year=year)
        .select_related("award__star_type", "actor")
        .order_by("-at", "-id")
    )
    yearly = (
        StarAward.objects.filter(branch=branch, state=StarAward.State.AWARDED)
        .values("year")
        .annotate(level=Count("id"))
        .order_by("-year")
    )
    return {
        "branch": branch,
        "year": year,
        "scheme": scheme,
        "scheme_label": dict(Scheme.choices).get(scheme, ""),
        "entries": branch_entries(branch=branch, year=year),
        "slots": slots,
        "level": sum(1 for s in slots if s.held),
        "events": events,
        "history": card_history(user=user, awards=list(awards.values()), checks=checks_list),
        "locked": locked,
        "settings": star_settings(),
        "can_tick": not locked and scheme is not None and can_tick_tasks(user, branch),
        "yearly": list(yearly),
        "weak_case": WeakBranchCase.objects.filter(branch=branch, year=year).first(),
    }


# ----- 待我审核 -----


def pending_for_user(*, user, year: int | None = None) -> QuerySet[StarAward]:
    """Awards waiting for `user`'s step: a township official's 申报 to review; a county
    official's 初审-passed, 评定-done and 公示 awards."""
    scope = scope_for_user(user)
    S = StarAward.State
    awards = award_list_for_user(user=user)
    if year is not None:
        awards = awards.filter(year=year)
    if scope.role == Role.TOWNSHIP_OFFICIAL:
        states = [S.APPLIED]
    elif scope.role == Role.COUNTY_OFFICIAL:
        states = [S.TOWNSHIP_APPROVED, S.COUNTY_RATED, S.PUBLICIZED]
    elif scope.is_city:
        states = list(StarAward.IN_PROGRESS)
    else:
        return awards.none()
    locked_years = RatingYear.objects.filter(locked=True).values("year")
    return awards.filter(state__in=states).exclude(year__in=locked_years)


def pending_counts(*, user, year: int | None = None) -> dict[str, int]:
    rows = pending_for_user(user=user, year=year).order_by().values("state").annotate(n=Count("id"))
    return {r["state"]: r["n"] for r in rows}


# ----- the rating board -----


def _level_subquery(year: int):
    held = (
        StarAward.objects.filter(
            branch_id=OuterRef("branch_id"), year=year, state=StarAward.State.AWARDED
        )
        .order_by()
        .values("branch_id")
        .annotate(n=Count("id"))
        .values("n")
    )
    return Coalesce(Subquery(held, output_field=IntegerField()), Value(0))


def board_entries_for_user(
    *,
    user,
    year: int,
    scheme: str | None = None,
    county_id: int | None = None,
    township_id: int | None = None,
    level: int | None = None,
) -> QuerySet[RosterEntry]:
    """The year's roster entries the user may see, with `level` annotated, filtered."""
    entries = (
        RosterEntry.objects.filter(
            roster__year=year, village__in=village_list_for_user(user=user).values("pk")
        )
        .select_related("village__township__county", "branch")
        .annotate(level=_level_subquery(year))
        .order_by("village__code")
    )
    if scheme == Scheme.URBAN:
        entries = entries.filter(village__kind="urban_community")
    elif scheme == Scheme.RURAL:
        entries = entries.exclude(village__kind="urban_community")
    if county_id is not None:
        entries = entries.filter(village__township__county_id=county_id)
    if township_id is not None:
        entries = entries.filter(village__township_id=township_id)
    if level is not None:
        entries = entries.filter(level=level)
    return entries


def board_areas_visible_or_404(
    *, user, county_id: int | None = None, township_id: int | None = None
) -> None:
    """A board (page or export) narrowed to a county or township outside the user's
    area is a 404, never an empty sheet."""
    if county_id is not None:
        get_object_or_404(county_list_for_user(user=user), pk=county_id)
    if township_id is not None:
        get_object_or_404(township_list_for_user(user=user), pk=township_id)


def awards_by_branch(*, branch_ids, year: int) -> dict[int, dict[int, StarAward]]:
    """{branch_id: {star_type_id: award}} for these branches in one query."""
    result: dict[int, dict[int, StarAward]] = defaultdict(dict)
    for award in StarAward.objects.filter(branch_id__in=list(branch_ids), year=year):
        result[award.branch_id][award.star_type_id] = award
    return result


# ----- per-area indicators (dashboards) -----


@dataclass(frozen=True)
class _Entry:
    village_id: int
    urban: bool
    branch_id: int
    township_id: int
    county_id: int


def _entries(year: int, scheme: str | None = None) -> list[_Entry]:
    qs = RosterEntry.objects.filter(roster__year=year)
    if scheme == Scheme.URBAN:
        qs = qs.filter(village__kind="urban_community")
    elif scheme == Scheme.RURAL:
        qs = qs.exclude(village__kind="urban_community")
    return [
        _Entry(v, kind == "urban_community", b, t, c)
        for v, kind, b, t, c in qs.values_list(
            "village_id",
            "village__kind",
            "branch_id",
            "branch__township_id",
            "branch__township__county_id",
        )
    ]


def _levels(year: int) -> dict[int, int]:
    rows = (
        StarAward.objects.filter(year=year, state=StarAward.State.AWARDED)
        .order_by()
        .values("branch_id")
        .annotate(n=Count("id"))
    )
    return {r["branch_id"]: r["n"] for r in rows}


def _area_keys(entry: _Entry) -> tuple[AreaKey, AreaKey, AreaKey]:
    return ("city", None), ("county", entry.county_id), ("township", entry.township_id)


def _rate_by_area(entries: list[_Entry], hit) -> dict[AreaKey, tuple[int, int]]:
    """(branches where hit(branch_id), roster branches) per area; villages count their
    own branch."""
    num: dict[AreaKey, int] = defaultdict(int)
    den: dict[AreaKey, int] = defaultdict(int)
    seen: set[int] = set()
    for e in entries:
        value = 1 if hit(e.branch_id) else 0
        num[("village", e.village_id)] += value
        den[("village", e.village_id)] += 1
        if e.branch_id in seen:
            continue
        seen.add(e.branch_id)
        for key in _area_keys(e):
            num[key] += value
            den[key] += 1
    den.setdefault(("city", None), 0)
    return {key: (num[key], den[key]) for key in den}


def three_star_plus_rate_by_area(
    *, year: int, scheme: str | None = None
) -> dict[AreaKey, tuple[int, int]]:
    """三星及以上: (branches with ≥ 3 stars, roster branches)."""
    levels = _levels(year)
    return _rate_by_area(_entries(year, scheme), lambda b: levels.get(b, 0) >= 3)


def five_star_count_by_area(
    *, year: int, scheme: str | None = None
) -> dict[AreaKey, tuple[int, int]]:
    """五星: (five-star branches, roster branches)."""
    levels = _levels(year)
    return _rate_by_area(_entries(year, scheme), lambda b: levels.get(b, 0) >= 5)


def branches_rated_by_area(
    *, year: int, scheme: str | None = None
) -> dict[AreaKey, tuple[int, int]]:
    """完成创建 (一星至五星): (branches holding at least one star, roster branches)."""
    levels = _levels(year)
    return _rate_by_area(_entries(year, scheme), lambda b: levels.get(b, 0) >= 1)


def level_distribution_by_area(
    *, year: int, scheme: str | None = None
) -> dict[AreaKey, dict[int, int]]:
    """{area: {level 0..5: branches}}; level 0 = on the roster with no star."""
    levels = _levels(year)
    result: dict[AreaKey, dict[int, int]] = defaultdict(lambda: dict.fromkeys(LEVELS, 0))
    result[("city", None)]
    seen: set[int] = set()
    for e in _entries(year, scheme):
        level = min(levels.get(e.branch_id, 0), 5)
        result[("village", e.village_id)][level] += 1
        if e.branch_id in seen:
            continue
        seen.add(e.branch_id)
        for key in _area_keys(e):
            result[key][level] += 1
    return dict(result)


def weak_branch_open_by_area(*, year: int) -> dict[AreaKey, tuple[int, int]]:
    """软弱涣散: (open cases, cases identified in the year); the target is 0 open at
    year end. A village row counts the case of its branch."""
    branch_area = {}
    branch_villages: dict[int, list[int]] = defaultdict(list)
    for e in _entries(year):
        branch_area[e.branch_id] = e
        branch_villages[e.branch_id].append(e.village_id)
    num: dict[AreaKey, int] = defaultdict(int)
    den: dict[AreaKey, int] = defaultdict(int)
    den[("city", None)] = 0
    rows = WeakBranchCase.objects.filter(year=year).values_list(
        "branch_id", "status", "branch__township_id", "branch__township__county_id"
    )
    for branch_id, status, township_id, county_id in rows:
        value = 1 if status in WeakBranchCase.OPEN else 0
        keys = [("city", None), ("county", county_id), ("township", township_id)]
        keys += [("village", v) for v in branch_villages.get(branch_id, [])]
        for key in keys:
            num[key] += value
            den[key] += 1
    return {key: (num[key], den[key]) for key in den}


# ----- the same, for the user's own pages -----


def _child_areas(user, county_id: int | None = None) -> tuple[str, list[tuple[int, str]]]:
    """The areas one level below the user's scope (or below a chosen visible county)."""
    scope = scope_for_user(user)
    if scope.is_city and county_id is None:
        return "county", [(c.pk, c.name) for c in county_list_for_user(user=user).order_by("code")]
    if scope.is_city or scope.role == Role.COUNTY_OFFICIAL:
        townships = township_list_for_user(user=user)
        if county_id is not None:
            townships = townships.filter(county_id=county_id)
        return "township", [(t.pk, t.name) for t in townships.order_by("code")]
    villages = village_list_for_user(user=user).order_by("code")
    return "village", [(v.pk, v.name) for v in villages]


def _scope_key(user, county_id: int | None = None) -> AreaKey | None:
    scope = scope_for_user(user)
    if scope.is_city:
        return ("county", county_id) if county_id else ("city", None)
    if scope.role == Role.COUNTY_OFFICIAL:
        return ("county", scope.county_id)
    if scope.role == Role.TOWNSHIP_OFFICIAL:
        return ("township", scope.township_id)
    return None


def level_overview_for_user(*, user, year: int, county_id: int | None = None) -> dict:
    """Per child area of the user's scope: level counts, ≥3 share, five-star count,
    rated branches and open weak cases; plus the total of the user's own area."""
    dist = level_distribution_by_area(year=year)
    weak = weak_branch_open_by_area(year=year)
    kind, areas = _child_areas(user, county_id)

    def row(key, name):
        counts = dist.get(key, dict.fromkeys(LEVELS, 0))
        total = sum(counts.values())
        plus3 = sum(counts[lv] for lv in (3, 4, 5))
        return {
            "key": key,
            "name": name,
            "counts": [counts[lv] for lv in LEVELS],
            "total": total,
            "three_plus": plus3,
            "three_plus_percent": round(plus3 * 100 / total, 2) if total else None,
            "five": counts[5],
            "rated": total - counts[0],
            "weak_open": weak.get(key, (0, 0))[0],
            "weak_total": weak.get(key, (0, 0))[1],
        }

    rows = [row((kind, pk), name) for pk, name in areas]
    rows = [r for r in rows if r["total"] or r["weak_total"]]
    own = _scope_key(user, county_id)
    if own is not None:
        total = row(own, "合计")
    else:  # a cadre: the sum of their villages
        total = row(("none", None), "合计")
        for i in range(len(LEVELS)):
            total["counts"][i] = sum(r["counts"][i] for r in rows)
        for k in ("total", "three_plus", "five", "rated", "weak_open", "weak_total"):
            total[k] = sum(r[k] for r in rows)
        t = total["total"]
        total["three_plus_percent"] = round(total["three_plus"] * 100 / t, 2) if t else None
    return {"kind": kind, "rows": rows, "total": total}


def three_star_plus_rate_for_user(*, user, year: int) -> tuple[int, int]:
    """The user's own area: (branches with ≥ 3 stars, roster branches)."""
    total = level_overview_for_user(user=user, year=year)["total"]
    return total["three_plus"], total["total"]


def five_star_count_for_user(*, user, year: int) -> tuple[int, int]:
    total = level_overview_for_user(user=user, year=year)["total"]
    return total["five"], total["total"]


def branches_rated_for_user(*, user, year: int) -> tuple[int, int]:
    total = level_overview_for_user(user=user, year=year)["total"]
    return total["rated"], total["total"]


def weak_branch_open_for_user(*, user, year: int) -> tuple[int, int]:
    """The user's own area: (open cases, cases identified in the year)."""
    total = level_overview_for_user(user=user, year=year)["total"]
    return total["weak_open"], total["weak_total"]


def level_distribution_for_user(*, user, year: int) -> dict[int, int]:
    counts = level_overview_for_user(user=user, year=year)["total"]["counts"]
    return dict(zip(LEVELS, counts, strict=True))


def weak_case_days_open(case: WeakBranchCase, *, today: datetime.date | None = None) -> int:
    end = case.accepted_on if case.status == WeakBranchCase.Status.ACCEPTED else None
    end = end or today or timezone.localdate()
    return max((end - case.identified_on).days, 0)


def weak_cases_open_q() -> Q:
    return Q(status__in=WeakBranchCase.OPEN)


def weak_case_history(*, user, case: WeakBranchCase) -> list[dict]:
    """The case's history (core.history), newest first; 404 outside the user's scope."""
    return scoped_history(
        weak_case_list_for_user(user=user),
        [case.pk],
        formatters={"reasons": choice_labels(WeakReason.choices)},
    )


def card_history(*, user, awards: list[StarAward], checks: list[StarTaskCheck]) -> list[dict]:
    """The star card's history: every change to its awards (each named by its star) and
    to its key-task ticks, newest first; 404 if any is outside the user's scope."""
    visible_checks = StarTaskCheck.objects.filter(
        branch__in=branch_list_for_user(user=user).values("pk")
    )
    return newest_first(
        scoped_history(
            award_list_for_user(user=user),
            [a.pk for a in awards],
            subjects={a.pk: a.star_type.name for a in awards},
            created="申报",
        )
        + scoped_history(
            visible_checks,
            [c.pk for c in checks],
            subjects={c.pk: f"重点任务：{c.task.title}" for c in checks},
            created="填写",
        )
    )
