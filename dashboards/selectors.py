"""Reads for the dashboards: which area a user may open, and everything a dashboard
shows, from the snapshots only (a handful of queries, whatever the size of the city)."""

from __future__ import annotations

import datetime
import time
from dataclasses import dataclass, field

from django.conf import settings
from django.core.cache import cache
from django.db.models import Q, QuerySet, Subquery
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils import timezone

from core.history import scoped_history
from dashboards.indicators import RANK_CODES, SPECS, TARGET_CODES, VOLUME_CODES, share_of, year_end
from dashboards.models import IndicatorSnapshot, SnapshotHistory, Target, VillageSnapshot
from dashboards.status import Figure, evaluate
from disputes.models import Dispute
from villages.models import UserRole
from villages.selectors import (
    county_list_for_user,
    open_programme_years,
    own_area_of,
    programme_year_get,
    roster_years,
    scope_for_user,
    township_list_for_user,
    village_list_for_user,
    year_holding,
)

Role = UserRole.Role
CHILD = {"city": "county", "county": "township", "township": "village"}
LEVEL_NAMES = {
    "city": "市",
    "county": "县(市、区)",
    "township": "乡镇(街道)",
    "village": "村(社区)",
}


@dataclass
class Area:
    level: str
    pk: int | None
    name: str
    code: str = ""
    crumbs: list[tuple[str, int | None, str]] = field(default_factory=list)

    @property
    def child_level(self) -> str | None:
        return CHILD.get(self.level)

    @property
    def key(self) -> tuple[str, int]:
        return self.level, self.pk or 0


def can_see_dashboards(*, user) -> bool:
    scope = scope_for_user(user)
    return scope.is_city or scope.is_official


def can_manage_dashboards(*, user) -> bool:
    """Only city admins change targets and start a recomputation."""
    return scope_for_user(user).role == Role.CITY_ADMIN


def target_list() -> list[Target]:
    """Every year's targets, for the targets page (targets are city-wide, not scoped)."""
    return list(Target.objects.order_by("-year", "indicator", "area_level"))


def target_list_for_user(*, user) -> QuerySet[Target]:
    """Targets are city-wide: whoever sees the dashboards sees every one; nobody else any."""
    return Target.objects.all() if can_see_dashboards(user=user) else Target.objects.none()


def target_get_for_user(*, user, target_id) -> Target:
    return get_object_or_404(target_list_for_user(user=user), pk=target_id)


def target_history(*, user, target: Target) -> list[dict]:
    """The target's history (core.history), newest first."""
    return scoped_history(target_list_for_user(user=user), [target.pk])


def home_area_for_user(*, user) -> tuple[str, int | None] | None:
    """The dashboard a user lands on: their own area (a cadre: their first village)."""
    scope = scope_for_user(user)
    if scope.is_city:
        return "city", None
    if scope.role == Role.COUNTY_OFFICIAL:
        return "county", scope.county_id
    if scope.role == Role.TOWNSHIP_OFFICIAL:
        return "township", scope.township_id
    if scope.is_cadre:
        first = village_list_for_user(user=user).order_by("code").values_list("pk", flat=True)
        pk = first.first()
        return ("village", pk) if pk else None
    return None


def area_for_user(*, user, level: str, pk: int | None) -> Area:
    """The area `user` may open at `level`/`pk`, or 404: officials open their own area
    and what lies below it, city users everything, cadres their villages."""
    scope = scope_for_user(user)
    city = ("city", None, "许昌市")
    if level == "city":
        if not scope.is_city:
            raise Http404
        return Area("city", None, "许昌市", "411000", [])
    if level == "county":
        allowed = scope.is_city or scope.role == Role.COUNTY_OFFICIAL
        own = own_area_of(user) if scope.role == Role.COUNTY_OFFICIAL else None
        if own is not None and own.pk == pk:
            county = own  # the official's own county, loaded with the login
        else:
            county = county_list_for_user(user=user).filter(pk=pk).first() if allowed else None
        if county is None:
            raise Http404
        crumbs = [city] if scope.is_city else []
        return Area("county", county.pk, county.name, county.code, crumbs)
    if level == "township":
        allowed = scope.is_city or scope.is_official
        own = own_area_of(user) if scope.role == Role.TOWNSHIP_OFFICIAL else None
        if own is not None and own.pk == pk:
            township = own  # the official's own township, loaded with the login
        else:
            township = township_list_for_user(user=user).filter(pk=pk).first() if allowed else None
        if township is None:
            raise Http404
        crumbs = [city] if scope.is_city else []
        if scope.is_city or scope.role == Role.COUNTY_OFFICIAL:
            crumbs.append(("county", township.county_id, township.county.name))
        return Area("township", township.pk, township.name, township.code, crumbs)
    if level == "village":
        village = village_list_for_user(user=user).filter(pk=pk).first()
        if village is None:
            raise Http404
        crumbs = [city] if scope.is_city else []
        township = village.township
        if scope.is_city or scope.role == Role.COUNTY_OFFICIAL:
            crumbs.append(("county", township.county_id, township.county.name))
        if scope.is_city or scope.is_official:
            crumbs.append(("township", township.pk, township.name))
        return Area("village", village.pk, village.name, village.code, crumbs)
    raise Http404


YEARS_KEY = "dashboards:years"
YEARS_SECONDS = 300  # another process's new year shows within 5 minutes with a local cache


def _year_facts() -> dict:
    """The roster years and the open programme years (cached: a snapshot computation, a
    programme year opened, closed or reopened, clears it)."""
    facts = cache.get(YEARS_KEY)
    if facts is None:
        facts = {"rosters": roster_years(), "open": open_programme_years()}
        cache.set(YEARS_KEY, facts, YEARS_SECONDS)
    return facts


def forget_years() -> None:
    cache.delete(YEARS_KEY)


def dashboard_years(today: datetime.date | None = None) -> list[int]:
    """The years a dashboard offers: those with a roster (newest first), else this year."""
    today = today or timezone.localdate()
    return sorted(set(_year_facts()["rosters"]) or {today.year}, reverse=True)


def default_dashboard_year(today: datetime.date | None = None) -> int:
    """The open programme year that holds today (else the newest open one before it);
    else the newest roster year; else this year."""
    today = today or timezone.localdate()
    facts = _year_facts()
    current = year_holding(today, facts["open"])
    if current is not None:
        return current
    return facts["rosters"][0] if facts["rosters"] else today.year


def city_figures(*, year: int) -> dict[str, tuple[int, int]]:
    """The city's stored (numerator, denominator) of every indicator of `year`."""
    rows = IndicatorSnapshot.objects.filter(year=year, area_level="city").values_list(
        "indicator", "numerator", "denominator"
    )
    return {code: (num, den) for code, num, den in rows}


def year_settled(year: int) -> dict | None:
    """When `year` was closed (已结账), or None while it is open or was never opened.
    Plain values: it is cached with the page body (a close or reopen recomputes the
    snapshots, which renews the page's key)."""
    py = programme_year_get(year)
    if py is None or not py.is_closed:
        return None
    return {"closed_at": py.closed_at}


def year_targets(year: int) -> list[Target]:
    """The targets of `year`. One query, made only when a page body is (re)rendered: the
    rendered body is cached under the targets' version (see `page_version`)."""
    return list(Target.objects.filter(year=year).order_by("area_level"))


def _targets(year: int, level: str) -> dict[str, Target]:
    """The target of each indicator at `level`: one set for that level, else for every
    level."""
    out: dict[str, Target] = {}
    for t in year_targets(year):
        if t.area_level == level or (t.area_level == "" and t.indicator not in out):
            out[t.indicator] = t
    return out


def _previous_same_day(area: Area, year: int, as_of: datetime.date) -> dict[str, tuple]:
    """Last year's values on (or just before) the same date, from the daily values."""
    try:
        day = as_of.replace(year=as_of.year - 1)
    except ValueError:  # 29 February
        day = as_of.replace(year=as_of.year - 1, day=28)
    rows = (
        SnapshotHistory.objects.filter(
            year=year - 1, area_level=area.level, area_id=area.pk or 0, day__lte=day
        )
        .order_by("indicator", "-day")
        .values_list("indicator", "numerator", "denominator", "day")
    )
    out: dict[str, tuple] = {}
    for code, num, den, on in rows:
        out.setdefault(code, (num, den, on))
    return out


PAGES_KEY = "dashboards:pages-generation"


def cache_is_shared() -> bool:
    """Whether every web and worker process sees the same cache (Redis), so a change made in
    one process can announce itself to the others through it."""
    backend = settings.CACHES.get("default", {}).get("BACKEND", "")
    return "redis" in backend.lower() or "memcached" in backend.lower()


def forget_pages() -> None:
    """Announce that snapshots or targets changed: every cached dashboard body is stale.
    The generation is dropped (the next page starts a new one); a delete that could not
    reach Redis is made once it answers again (core.cache)."""
    cache.delete(PAGES_KEY)


# The change watcher's state (dashboards.services.refresh_changed / refresh_if_due).
REFRESH_EVERY = 30  # seconds between two looks for changes: the pages promise a minute
REFRESH_LOCK = "dashboards:refresh-lock"
LOOKED_KEY = "dashboards:refresh-looked"  # when the last look started (epoch seconds)
RUNNING_KEY = "dashboards:refresh-running"  # the years being recomputed, while they are


def refresh_in_requests() -> bool:
    """Whether the dashboard requests look for changes themselves, because no beat process
    does (the embedded default: no broker, eager tasks). settings.DASHBOARDS_REFRESH_IN_REQUESTS."""
    return bool(settings.DASHBOARDS_REFRESH_IN_REQUESTS)


def refresh_due() -> bool:
    """Whether the last look for changes is `REFRESH_EVERY` seconds old (one cache read),
    or lies ahead of the clock (set back since)."""
    looked = cache.get(LOOKED_KEY)
    if looked is None:
        return True
    age = timezone.now().timestamp() - looked
    return age >= REFRESH_EVERY or age < 0


def refresh_running() -> bool:
    """Whether changed years are being recomputed right now (the page says 数据更新中)."""
    return cache.get(RUNNING_KEY) is not None


def page_version(*, area: Area, year: int) -> tuple | None:
    """What a dashboard page's content depends on.

    With a shared cache: the generation `forget_pages` sets whenever snapshots are computed or
    a target changes (no query). With a per-process cache a change in the Celery worker
    cannot reach the web processes that way, so the database is asked, in one small query:
    when the area's snapshots of `year` were computed, and the newest change to any target
    (None: no snapshot yet)."""
    if cache_is_shared():
        generation = cache.get(PAGES_KEY)
        if generation is None:
            # evicted or a fresh cache: start a new generation (`add` keeps a concurrent one)
            cache.add(PAGES_KEY, time.time_ns(), None)
            generation = cache.get(PAGES_KEY)
        if generation is not None:
            return ("g", generation)
    target_version = Subquery(
        Target.history.model.objects.order_by("-history_id").values("history_id")[:1]
    )
    if area.level == "village":
        rows = VillageSnapshot.objects.filter(village_id=area.pk, year=year)
    else:
        rows = IndicatorSnapshot.objects.filter(
            year=year, area_level=area.level, area_id=area.pk or 0, indicator="visits"
        )
    row = rows.annotate(tv=target_version).values_list("computed_at", "tv").first()
    if row is None:
        return None
    return row[0].timestamp(), row[1] or 0


def dashboard_for(*, area: Area, year: int, today: datetime.date | None = None) -> dict:
    """Everything an area's dashboard shows for `year`, from the snapshots."""
    today = today or timezone.localdate()
    if area.level == "village":
        return _village_dashboard(area=area, year=year, today=today)
    child = area.child_level
    own = Q(area_level=area.level, area_id=area.pk or 0)
    rows = list(IndicatorSnapshot.objects.filter(own, year__in=[year, year - 1]))
    if child == "village":
        children_rows = list(
            VillageSnapshot.objects.filter(year__in=[year, year - 1], township_id_copy=area.pk)
            .select_related("village")
            .order_by("village__code")
        )
    else:
        # sub-areas: plain tuples, without the chart details
        children_rows = list(
            IndicatorSnapshot.objects.filter(
                area_level=child, parent_id=area.pk or 0, year__in=[year, year - 1]
            )
            .order_by("area_code")
            .values_list(
                "area_id", "area_name", "area_code", "year", "indicator", "numerator", "denominator"
            )
        )
    current = {r.indicator: r for r in rows if r.year == year}
    last = {r.indicator: r for r in rows if r.year == year - 1}
    if not current:
        return {"empty": True, "year": year}
    sample = next(iter(current.values()))
    as_of = sample.as_of
    closed = today > year_end(year)
    targets = _targets(year, area.level)
    if closed:
        previous = {code: (r.numerator, r.denominator) for code, r in last.items()}
        previous_label = f"{year - 1}年全年"
        prev_labels = dict.fromkeys(previous, previous_label)
    else:
        same_day = _previous_same_day(area, year, as_of)
        previous, prev_labels = {}, {}
        for code in SPECS:
            if code in same_day:
                num, den, on = same_day[code]
                previous[code] = (num, den)
                prev_labels[code] = f"{on:%Y年%-m月%-d日}"
            elif code in last:
                previous[code] = (last[code].numerator, last[code].denominator)
                prev_labels[code] = f"{year - 1}年全年"
    figures: dict[str, Figure] = {}
    for code in SPECS:
        snap = current.get(code)
        num, den = (snap.numerator, snap.denominator) if snap else (0, 0)
        figures[code] = evaluate(
            code=code,
            num=num,
            den=den,
            year=year,
            as_of=as_of,
            today=today,
            target=targets.get(code),
            previous=previous.get(code),
            previous_label=prev_labels.get(code, ""),
        )
    if child == "village":
        children = _village_children(children_rows, year)
    else:
        children = _area_children(children_rows, year)
    return {
        "empty": False,
        "year": year,
        "as_of": as_of,
        "closed": closed,
        "computed_at": max(r.computed_at for r in current.values()),
        "cards": [figures[c] for c in TARGET_CODES],
        "volumes": [figures[c] for c in VOLUME_CODES],
        "figures": figures,
        "children": children,
        "child_level": child,
        "details": {code: snap.detail for code, snap in current.items()},
    }


def _area_children(rows: list[tuple], year: int) -> list[dict]:
    by_area: dict[int, dict] = {}
    for pk, name, code, row_year, indicator, num, den in rows:
        item = by_area.setdefault(pk, {"pk": pk, "name": name, "code": code, "now": {}, "last": {}})
        item["now" if row_year == year else "last"][indicator] = (num, den)
    return _league(list(by_area.values()))


def _village_children(rows: list[VillageSnapshot], year: int) -> list[dict]:
    by_area: dict[int, dict] = {}
    for r in rows:
        item = by_area.setdefault(
            r.village_id,
            {
                "pk": r.village_id,
                "name": r.village.name,
                "code": r.village.code,
                "now": {},
                "last": {},
            },
        )
        values = {k: tuple(v) for k, v in r.values.items() if isinstance(v, list)}
        item["now" if r.year == year else "last"] = values
    return _league([item for item in by_area.values() if item["now"]])


def _league(items: list[dict]) -> list[dict]:
    """Per sub-area: each rank indicator normalised by size (a rate, or a count as a
    share of its denominator), with its rank this year and last year."""
    for item in items:
        item["shares"] = {}
        item["last_shares"] = {}
        for code in RANK_CODES:
            spec = SPECS[code]
            item["shares"][code] = share_of(spec, *item["now"].get(code, (0, 0)))
            item["last_shares"][code] = share_of(spec, *item["last"].get(code, (0, 0)))
        item["weak_open"] = item["now"].get("weak_branch_open", (0, 0))[0]
        item["values"] = {code: item["now"].get(code, (0, 0)) for code in SPECS}
    for code in RANK_CODES:
        for key, out in (("shares", "ranks"), ("last_shares", "last_ranks")):
            ranked = sorted(
                (i for i in items if i[key][code] is not None), key=lambda i: -i[key][code]
            )
            position, previous = 0, None
            for n, item in enumerate(ranked, start=1):
                if item[key][code] != previous:
                    position, previous = n, item[key][code]
                item.setdefault(out, {})[code] = position
    for item in items:
        item.setdefault("ranks", {})
        item.setdefault("last_ranks", {})
        item["rank_change"] = {
            code: (item["last_ranks"][code] - item["ranks"][code])
            if code in item["ranks"] and code in item["last_ranks"]
            else None
            for code in RANK_CODES
        }
    return items


def _village_dashboard(*, area: Area, year: int, today: datetime.date) -> dict:
    rows = {
        r.year: r
        for r in VillageSnapshot.objects.filter(village_id=area.pk, year__in=[year, year - 1])
    }
    snap = rows.get(year)
    if snap is None:
        return {"empty": True, "year": year}
    last = rows.get(year - 1)
    closed = today > year_end(year)
    as_of = min(today, year_end(year))
    targets = _targets(year, "village")
    figures = {}
    for code in SPECS:
        num, den = snap.values.get(code, [0, 0])
        prev = last.values.get(code) if last else None
        figures[code] = evaluate(
            code=code,
            num=num,
            den=den,
            year=year,
            as_of=as_of,
            today=today,
            target=targets.get(code),
            previous=tuple(prev) if prev else None,
            previous_label=f"{year - 1}年全年" if prev else "",
        )
    return {
        "empty": False,
        "year": year,
        "as_of": as_of,
        "closed": closed,
        "computed_at": snap.computed_at,
        "cards": [figures[c] for c in TARGET_CODES],
        "volumes": [figures[c] for c in VOLUME_CODES],
        "figures": figures,
        "children": [],
        "child_level": None,
        "details": {},
        "level": snap.values.get("level"),
    }


def chart_data(*, area: Area, board: dict, rank_code: str) -> dict:
    """The JSON the page's charts draw."""
    spec = SPECS[rank_code]
    children = board.get("children", [])
    details = board.get("details", {})
    dist = details.get("three_star_plus_rate") or {}
    monthly = details.get("visits") or {}
    workday = details.get("workday_compliance_rate") or {}
    types = details.get("dispute_resolution_rate") or {}
    type_labels = dict(Dispute.Type.choices)
    months = list(range(1, 13))
    return {
        "bars": {
            "title": f"{spec.label}（按{LEVEL_NAMES.get(board.get('child_level') or '', '')}）",
            "unit": "%",
            "labels": [c["name"] for c in children],
            "ids": [c["pk"] for c in children],
            "level": board.get("child_level"),
            "values": [c["shares"].get(rank_code) for c in children],
        },
        "levels": {
            "labels": ["未评星", "一星", "二星", "三星", "四星", "五星"],
            "values": [dist.get(str(lv), 0) for lv in range(6)],
        },
        "trend": {
            "labels": [f"{m}月" for m in months],
            "visits": [monthly.get(str(m), [0, 0])[0] for m in months],
            "days": [monthly.get(str(m), [0, 0])[1] for m in months],
            "workday_labels": [
                f"{datetime.date.fromisoformat(s).month}月" for s in sorted(workday)
            ],
            "workday": [
                round(v[0] * 100 / v[1], 1) if v[1] else None for _s, v in sorted(workday.items())
            ],
        },
        "types": [
            {"name": str(type_labels.get(k, k)), "value": v[1], "resolved": v[0]}
            for k, v in sorted(types.items(), key=lambda kv: -kv[1][1])
        ],
    }


def map_data(*, board: dict, rank_code: str) -> dict:
    """County values of the chosen indicator for the city map; counties the map has no
    outline for (经开区) are listed beside it."""
    return {
        "indicator": SPECS[rank_code].label,
        "counties": [
            {"name": c["name"], "id": c["pk"], "value": c["shares"].get(rank_code)}
            for c in board.get("children", [])
        ],
    }
