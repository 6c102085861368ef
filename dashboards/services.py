"""Writes of the dashboards app: snapshot computation, targets, and the change watcher.

`compute_snapshots(year=)` is idempotent: it replaces the year's snapshots in one
transaction (readers see the old set until it commits) and records the day's values for
the year-on-year comparison.
"""

from __future__ import annotations

import datetime
import logging
import threading
from dataclasses import dataclass, field

from django.apps import apps
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connections, transaction
from django.db.models import Max, Min
from django.utils import timezone

from core.services import save_or_refuse
from dashboards.indicators import SPECS, as_of_for, gather, value_of
from dashboards.models import (
    AreaLevel,
    ChangeCursor,
    IndicatorSnapshot,
    SnapshotHistory,
    Target,
    VillageSnapshot,
)
from dashboards.selectors import (
    LOOKED_KEY,
    REFRESH_LOCK,
    RUNNING_KEY,
    YEARS_KEY,
    can_manage_dashboards,
    forget_pages,
    refresh_due,
    refresh_in_requests,
    refresh_running,
)
from villages.models import County, Roster, RosterEntry, Township, Village
from villages.selectors import closed_year_refusal, closed_years, year_is_closed

logger = logging.getLogger(__name__)


@dataclass
class ComputeResult:
    year: int
    as_of: datetime.date
    snapshots: int
    villages: int
    city: dict[str, tuple[int, int]] = field(default_factory=dict)


def compute_snapshots(
    *, year: int, today: datetime.date | None = None, final: bool = False
) -> ComputeResult:
    """Compute every indicator of `year` for the city, each county and each township
    (and each roster village), and store them. A constant number of grouped queries.

    A closed programme year keeps the snapshots taken when it was closed (`final=True`
    is the closing itself): asked again, it computes nothing."""
    today = today or timezone.localdate()
    as_of = as_of_for(year, today)
    if not final and year_is_closed(year):
        logger.info("%s 年度已结账，看板数据不再重新计算", year)
        return ComputeResult(year=year, as_of=as_of, snapshots=0, villages=0)
    now = timezone.now()
    figures, details = gather(year=year, as_of=as_of)
    counties = list(County.objects.order_by("code").values_list("pk", "name", "code"))
    townships = list(
        Township.objects.order_by("code").values_list("pk", "name", "code", "county_id")
    )
    areas = [(AreaLevel.CITY, None, 0, "许昌市", "411000")]
    areas += [(AreaLevel.COUNTY, pk, 0, name, code) for pk, name, code in counties]
    areas += [(AreaLevel.TOWNSHIP, pk, c, name, code) for pk, name, code, c in townships]
    snapshots, history = [], []
    for code, spec in SPECS.items():
        values = figures[code]
        for level, pk, parent, name, area_code in areas:
            key = (str(level), pk)
            num, den = values.get(key, (0, 0))
            value = value_of(spec, num, den)
            snapshots.append(
                IndicatorSnapshot(
                    indicator=code,
                    year=year,
                    area_level=level,
                    area_id=pk or 0,
                    parent_id=parent,
                    area_name=name,
                    area_code=area_code,
                    numerator=num,
                    denominator=den,
                    value=value,
                    detail=details.get(code, {}).get(key, {}),
                    as_of=as_of,
                    computed_at=now,
                )
            )
            history.append(
                SnapshotHistory(
                    indicator=code,
                    year=year,
                    area_level=level,
                    area_id=pk or 0,
                    day=as_of,
                    numerator=num,
                    denominator=den,
                    value=value,
                )
            )
    village_ids = list(
        RosterEntry.objects.filter(roster__year=year).values_list(
            "village_id", "village__township_id"
        )
    )
    if not village_ids and not Roster.objects.filter(year=year).exists():
        village_ids = list(Village.objects.values_list("pk", "township_id"))
    village_rows = []
    for vid, tid in village_ids:
        key = ("village", vid)
        values = {code: list(figures[code].get(key, (0, 0))) for code in SPECS}
        dist = details.get("three_star_plus_rate", {}).get(key)
        if dist:
            values["level"] = max((int(lv) for lv, n in dist.items() if n), default=0)
        village_rows.append(
            VillageSnapshot(
                year=year, village_id=vid, township_id_copy=tid, values=values, computed_at=now
            )
        )
    with transaction.atomic():
        IndicatorSnapshot.objects.filter(year=year).delete()
        IndicatorSnapshot.objects.bulk_create(snapshots, batch_size=1000)
        VillageSnapshot.objects.filter(year=year).delete()
        VillageSnapshot.objects.bulk_create(village_rows, batch_size=2000)
        SnapshotHistory.objects.filter(year=year, day=as_of).delete()
        SnapshotHistory.objects.bulk_create(history, batch_size=1000)
        _snapshots_changed()  # now, and again once committed (a reader may re-cache between)
        transaction.on_commit(_snapshots_changed)
    city = {code: figures[code].get(("city", None), (0, 0)) for code in SPECS}
    return ComputeResult(
        year=year, as_of=as_of, snapshots=len(snapshots), villages=len(village_rows), city=city
    )


def _snapshots_changed() -> None:
    cache.delete(YEARS_KEY)
    forget_pages()


def live_years(today: datetime.date | None = None) -> list[int]:
    """The years kept up to date: every roster year and the current year, except the
    closed ones."""
    today = today or timezone.localdate()
    years = set(Roster.objects.values_list("year", flat=True)) | {today.year}
    return sorted(years - closed_years())


# ----- targets -----


def _refuse_closed(target: Target) -> None:
    """A target of a closed year (before or after the edit) is never changed."""
    before = Target.objects.filter(pk=target.pk).values_list("year", flat=True).first()
    for year in {target.year, before} - {None}:
        refusal = closed_year_refusal(year, what="年度目标")
        if refusal:
            raise ValidationError(refusal)


@transaction.atomic
def target_save(*, actor, target: Target) -> Target:
    """Create or change a target (city admins only), validated and audited."""
    if not can_manage_dashboards(user=actor):
        raise PermissionDenied("只有市级管理员可以修改年度目标。")
    _refuse_closed(target)
    target.full_clean()
    target._history_user = actor
    save_or_refuse(instance=target)
    forget_pages()
    transaction.on_commit(forget_pages)
    return target


@transaction.atomic
def target_delete(*, actor, target: Target) -> None:
    if not can_manage_dashboards(user=actor):
        raise PermissionDenied("只有市级管理员可以删除年度目标。")
    _refuse_closed(target)
    target._history_user = actor
    target.delete()
    forget_pages()
    transaction.on_commit(forget_pages)


# 2023 plan (DESIGN.md §1): (indicator, comparison, threshold, level, reference, note)
PLAN_2023 = [
    (
        "sanling_village_rate",
        "gte",
        80,
        "",
        False,
        "全市 2,529 个村(社区)的 80% 以上达到“三零”标准",
    ),
    ("sanling_unit_rate", "gte", 90, "", False, "省定目标：企事业单位 90% 以上达到“三零”标准"),
    ("three_star_plus_rate", "gte", 50, "", False, "三星及以上党组织占比达到 50% 以上"),
    ("five_star_count", "about", 60, "city", False, "创成五星支部 60 个左右"),
    ("weak_branch_open", "eq", 0, "", False, "65 个软弱涣散村党组织年底前全部销号"),
    ("branches_rated", "gte", 2462, "city", False, "2,462 个村(社区)党组织全部完成一至五星创建"),
    ("dispute_resolution_rate", "gte", 97, "", True, "参考 2022 年化解率 97%"),
    ("workday_compliance_rate", "gte", 100, "", False, "帮扶干部每月到联系点工作不少于规定天数"),
]


def seed_plan_targets(*, year: int = 2023) -> int:
    """Create the plan's targets for `year` where missing (never overwrites an edit)."""
    created = 0
    for code, comparison, threshold, level, reference, note in PLAN_2023:
        _obj, made = Target.objects.get_or_create(
            year=year,
            indicator=code,
            area_level=level,
            defaults={
                "comparison": comparison,
                "threshold": threshold,
                "is_reference": reference,
                "note": note,
            },
        )
        created += made
    if created:
        forget_pages()
        transaction.on_commit(forget_pages)
    return created


# ----- the change watcher (debounced recomputation) -----
#
# Every write the portal makes to a record the dashboards count goes through
# django-simple-history (saves, deletes, the services' bulk writes and the imports all
# write a history row). The beat task reads, every 30 seconds, the history rows added
# since its last look (one indexed query per table), works out which years they touch,
# and recomputes those years once. Nothing in visits, stars, disputes or villages
# imports dashboards, and dashboards reads only their models.

# model label -> how a history row names its year: a year field, a date field, or None
# (the change may touch every live year: areas, rosters, rules, units).
WATCHED = {
    "visits.Visit": "date",
    "visits.Problem": "created_at",
    "visits.WorkdayRule": None,
    "stars.StarAward": "year",
    "stars.WeakBranchCase": "year",
    "disputes.Dispute": "registered_on",
    "disputes.Petition": "received_on",
    "disputes.Incident": "occurred_on",
    "disputes.HazardCheck": "checked_on",
    "disputes.SanlingStatus": "year",
    "disputes.ThreeZeroUnit": None,
    "villages.Roster": "year",
    "villages.RosterEntry": None,
    "villages.Village": None,
    "villages.Township": None,
    "villages.County": None,
    "villages.Assignment": "year",
    "villages.ProgrammeYear": "year",
}


def _history_model(label: str):
    try:
        model = apps.get_model(label)
    except LookupError:
        return None
    manager = getattr(model, "history", None)
    return getattr(manager, "model", None)


def _year_of(value) -> int | None:
    if value is None:
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, datetime.datetime):
        return timezone.localtime(value).year if timezone.is_aware(value) else value.year
    return value.year


def _computed_since(live: set[int]) -> datetime.datetime | None:
    """When the oldest of the live years' snapshots were computed (None: none are)."""
    return IndicatorSnapshot.objects.filter(
        year__in=live, area_level=AreaLevel.CITY, area_id=0, indicator="visits"
    ).aggregate(m=Min("computed_at"))["m"]


def changed_years_pending(*, today: datetime.date | None = None) -> tuple[set[int], dict]:
    """The years touched by history rows written since the cursors, and the positions the
    cursors may move to once those years are computed (`change_cursors_advance`). Moves
    nothing itself, so a run that dies before computing loses no change. The very first
    look starts each cursor at the table's last row written before the live years'
    snapshots were computed (at its newest row when there are none), so a change made
    between a computation (the demo's, a 刷新数据) and that first look still counts."""
    live = set(live_years(today))
    years: set[int] = set()
    positions: dict[str, int] = {}
    cursors = {c.label: c.last_id for c in ChangeCursor.objects.all()}
    since: list = []  # looked up once, at the first missing cursor
    for label, year_field in WATCHED.items():
        history = _history_model(label)
        if history is None:
            continue
        if label not in cursors:
            if not since:
                since.append(_computed_since(live))
            before = history.objects.all()
            if since[0] is not None:
                before = before.filter(history_date__lte=since[0])
            start = before.aggregate(m=Max("history_id"))["m"] or 0
            cursor, _ = ChangeCursor.objects.get_or_create(label=label, defaults={"last_id": start})
            cursors[label] = cursor.last_id
        fields = ["history_id"] + ([year_field] if year_field else [])
        rows = list(
            history.objects.filter(history_id__gt=cursors[label])
            .order_by("history_id")
            .values_list(*fields)[:50000]
        )
        if not rows:
            continue
        for row in rows:
            year = _year_of(row[1]) if year_field else None
            if year is None:
                years |= live
            else:
                years.add(year)
        positions[label] = rows[-1][0]
    return years, positions


def change_cursors_advance(positions: dict[str, int]) -> None:
    """Move the cursors to `positions` (never backwards: another run may be further)."""
    for label, last_id in positions.items():
        ChangeCursor.objects.filter(label=label, last_id__lt=last_id).update(
            last_id=last_id, updated_at=timezone.now()
        )


@transaction.atomic
def changed_years(*, today: datetime.date | None = None) -> set[int]:
    """The years touched since the last call, moving the cursors past them at once (for
    callers that recompute in the same breath; the beat task moves them afterwards)."""
    years, positions = changed_years_pending(today=today)
    change_cursors_advance(positions)
    return years


# ----- the refresh: beat's task, or the dashboard requests where no beat runs -----
#
# Beat runs `dashboards.tasks.refresh_changed` every 30 seconds. Where no beat runs (the
# embedded default: no broker, eager tasks; `selectors.refresh_in_requests`), a dashboard
# page, export or API request does its part (`refresh_if_due`), so the pages' promise
# (a change shows within a minute) holds in both modes. A look costs one query per
# watched table; between two looks (`selectors.REFRESH_EVERY`) a request costs one cache
# read and no query.

REFRESH_LOCK_SECONDS = 15 * 60  # the task's hard limit: a lost holder blocks no longer
REFRESH_WAIT_SECONDS = 2.0  # a request waits this long for a recomputation it started


def _look() -> tuple[set[int], dict]:
    cache.set(LOOKED_KEY, timezone.now().timestamp(), None)
    return changed_years_pending()


def _recompute(years: set[int], positions: dict[str, int]) -> None:
    """Compute each touched year once, then move the cursors past what was read."""
    if not years:
        return
    cache.set(RUNNING_KEY, sorted(years), REFRESH_LOCK_SECONDS)
    try:
        for year in sorted(years):
            compute_snapshots(year=year)
        change_cursors_advance(positions)
    finally:
        cache.delete(RUNNING_KEY)


def refresh_changed() -> list[int] | None:
    """One run of the change watcher: recompute the years touched since the last look,
    once each, however many records changed, then move the cursors (a run that dies
    half-way leaves them, and the next run does the same years again). None when another
    run holds the lock."""
    if not cache.add(REFRESH_LOCK, "1", timeout=REFRESH_LOCK_SECONDS):
        return None
    try:
        years, positions = _look()
        _recompute(years, positions)
        return sorted(years)
    finally:
        cache.delete(REFRESH_LOCK)


def _recompute_in_background(years: set[int], positions: dict[str, int]) -> None:
    try:
        _recompute(years, positions)
    except Exception:
        logger.exception(
            "看板数据后台更新失败（%s 年度），下次检查时重试", "、".join(map(str, sorted(years)))
        )
    finally:
        cache.delete(REFRESH_LOCK)
        connections.close_all()  # this thread's own connection


def refresh_if_due(*, wait: float | None = None) -> bool:
    """Beat's part, done by a dashboard request where no beat runs: when the last look is
    `REFRESH_EVERY` seconds old, look for changes and recompute the touched years in a
    background thread (one at a time: the cache lock), waiting up to `wait` seconds
    (`REFRESH_WAIT_SECONDS`) for it. Inside a transaction, whose writes a thread could not
    see, the request computes itself. Returns whether a recomputation is still running
    (the page then says 数据更新中 and polls `views.refresh_status`)."""
    if not refresh_in_requests() or not refresh_due():
        return refresh_running()
    if not cache.add(REFRESH_LOCK, "request", timeout=REFRESH_LOCK_SECONDS):
        return refresh_running()
    worker = None
    try:
        years, positions = _look()
        if not years:
            return False
        if transaction.get_connection().in_atomic_block:
            _recompute(years, positions)
            return False
        cache.set(RUNNING_KEY, sorted(years), REFRESH_LOCK_SECONDS)  # this page says so
        thread = threading.Thread(
            target=_recompute_in_background,
            args=(years, positions),
            name="dashboards-refresh",
            daemon=True,
        )
        thread.start()
        worker = thread
    finally:
        if worker is None:  # nothing handed to a thread
            cache.delete(RUNNING_KEY)
            cache.delete(REFRESH_LOCK)
    worker.join(REFRESH_WAIT_SECONDS if wait is None else wait)
    return worker.is_alive()
