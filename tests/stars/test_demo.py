"""`seed_demo` adds the 2022 ratings that reproduce the published figures through the
selectors (38 five-star, 281 four-star, 1,171 of 2,526 = 46.36 %), a 2023 partway through
the year (every step of the chain, 65 weak cases of which some 销号), the clock's year
from 1 January to today (a star cycle in progress from the stars held in 2023, 公示
running now, awards whose dates follow the live chain's rules, weak cases some 销号), and
a second run writes nothing.

The clock is pinned to 2026-12-07 10:00 (Beijing time) for the whole module. The command
runs once for the module (villages and stars only); the data lives in an outer
transaction rolled back when the module is done. One test moves on to 2027-03-15 and
runs the demo again, as an office would in the next year.
"""

import datetime
from collections import defaultdict
from decimal import Decimal
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import call_command
from django.db import connection
from django.db.models import Count, Q
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from dashboards.models import Target
from dashboards.status import AT_RISK, evaluate
from stars import selectors
from stars.models import (
    RatingYear,
    StarAward,
    StarAwardEvent,
    StarTaskCheck,
    StarType,
    WeakBranchCase,
)
from tests.helpers import module_data
from villages.models import County, Township

pytestmark = pytest.mark.django_db
CITY = ("city", None)
SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime.datetime(2026, 12, 7, 10, 0, tzinfo=SHANGHAI)
TODAY = NOW.date()
NEXT_YEAR = datetime.datetime(2027, 3, 15, 9, 30, tzinfo=SHANGHAI)
PERIOD = 5  # the default 公示 period (no rules row is saved by the demo)
S = StarAward.State


@pytest.fixture(scope="module")
def seeded(django_db_setup, django_db_blocker):
    with time_machine.travel(NOW, tick=False), module_data(django_db_blocker):
        out = StringIO()
        call_command("seed_demo", apps=["villages", "stars"], stdout=out)
        connection.check_constraints()
        yield out.getvalue()


def test_a_fresh_database_has_the_two_schemes(seeded):
    names = {
        scheme: list(StarType.objects.filter(scheme=scheme).values_list("name", flat=True))
        for scheme in ("rural", "urban")
    }
    assert names == {
        "rural": ["支部过硬星", "产业兴旺星", "生态宜居星", "平安法治星", "文明幸福星"],
        "urban": ["支部过硬星", "宜业兴业星", "共建共享星", "平安法治星", "幸福和谐星"],
    }
    assert all(s.tasks.exists() for s in StarType.objects.all())


def test_2022_reproduces_the_published_figures(seeded):
    five = selectors.five_star_count_by_area(year=2022)[CITY]
    plus3 = selectors.three_star_plus_rate_by_area(year=2022)[CITY]
    dist = selectors.level_distribution_by_area(year=2022)[CITY]
    assert five == (38, 2526)
    assert dist[4] == 281
    assert plus3 == (1171, 2526)
    assert round(plus3[0] * 100 / plus3[1], 2) == 46.36
    rural = selectors.level_distribution_by_area(year=2022, scheme="rural")[CITY]
    urban = selectors.level_distribution_by_area(year=2022, scheme="urban")[CITY]
    assert (rural[5], rural[4], sum(rural.values())) == (34, 246, 2349)
    assert (urban[5], urban[4], sum(urban.values())) == (4, 35, 177)
    assert all(dist[lv] > 100 for lv in (0, 1, 2, 3))  # a realistic spread below three stars


def test_2022_holds_the_foundation_rule_and_is_locked(seeded):
    without_foundation = (
        StarAward.objects.filter(year=2022, state="awarded")
        .values("branch_id")
        .annotate(n=Count("id"), f=Count("id", filter=Q(star_type__is_foundation=True)))
        .filter(f=0)
    )
    assert not without_foundation.exists()
    assert RatingYear.objects.get(year=2022).locked


def test_2023_is_partway_through_the_year(seeded):
    states = dict(StarAward.objects.filter(year=2023).values_list("state").annotate(n=Count("id")))
    assert set(states) == set(StarAward.State.values)
    rated = selectors.branches_rated_by_area(year=2023)[CITY]
    assert rated[1] == 2462 and 0 < rated[0] < 2462
    weak = selectors.weak_branch_open_by_area(year=2023)[CITY]
    assert weak[1] == 65 and 0 < weak[0] < 65
    assert (
        WeakBranchCase.objects.filter(year=2023, status="accepted")
        .exclude(accepted_on=None)
        .count()
        == 65 - weak[0]
    )
    # every held non-foundation star rests on a held 支部过硬星
    for award in StarAward.objects.filter(
        year=2023, state="awarded", star_type__is_foundation=False
    )[:200]:
        assert StarAward.objects.filter(
            branch_id=award.branch_id, year=2023, state="awarded", star_type__is_foundation=True
        ).exists()


def test_2023_weak_cases_have_the_history_of_their_steps(seeded):
    expected = {
        "identified": ["identified"],
        "rectifying": ["identified", "rectifying"],
        "accepted": ["identified", "rectifying", "accepted"],
        "reopened": ["identified", "rectifying", "accepted", "reopened"],
    }
    seen = set()
    for case in WeakBranchCase.objects.filter(year=2023):
        steps = list(case.history.order_by("history_date").values_list("status", "history_date"))
        assert [s for s, _ in steps] == expected[case.status], case
        assert steps[0][1].date() == case.identified_on
        assert all(at.year == 2023 for _, at in steps)
        seen.add(case.status)
    assert seen == set(expected)


def test_2022_and_2023_are_kept_as_published(seeded):
    """The clock's year is added after them: their rows are what they always were."""
    counts = {
        year: (
            StarAward.objects.filter(year=year).count(),
            StarAwardEvent.objects.filter(award__year=year).count(),
            StarTaskCheck.objects.filter(year=year).count(),
            WeakBranchCase.objects.filter(year=year).count(),
        )
        for year in (2022, 2023)
    }
    assert counts == {2022: (5580, 5580, 0, 0), 2023: (5567, 16129, 24506, 65)}
    assert not StarAward.objects.filter(year=2023, created_at__year__gt=2023).exists()


def test_a_second_run_writes_nothing(seeded):
    before = StarAward.objects.count(), WeakBranchCase.objects.count()
    out = StringIO()
    with CaptureQueriesContext(connection) as ctx:
        call_command("seed_demo", apps=["stars"], stdout=out)
    assert "演示数据已是最新" in out.getvalue()
    assert (StarAward.objects.count(), WeakBranchCase.objects.count()) == before
    writes = [
        q["sql"][:80]
        for q in ctx.captured_queries
        if q["sql"].lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))
    ]
    assert writes == []


# ----- the clock's year -----


def _running(year: int, today: datetime.date):
    return StarAward.objects.filter(
        year=year, state=S.PUBLICIZED, publicity_start__lte=today, publicity_end__gt=today
    )


def test_the_clocks_year_has_a_cycle_in_progress(seeded):
    states = dict(StarAward.objects.filter(year=2026).values_list("state").annotate(n=Count("id")))
    assert set(states) == set(S.values)  # every step of the chain, refusals and 摘星
    assert all(states[s] >= 10 for s in (S.APPLIED, S.TOWNSHIP_APPROVED, S.COUNTY_RATED))
    assert states[S.AWARDED] > 1000
    rated = selectors.branches_rated_by_area(year=2026)[CITY]
    assert rated[1] == 2462 and 1000 < rated[0] < 2462


def test_some_publicity_is_running_today(seeded):
    running = _running(2026, TODAY)
    assert running.count() >= 14  # two in each of the seven counties at least
    # started in the last few days (today's were recorded this morning), ends after today
    assert not running.filter(publicity_start__lte=TODAY - datetime.timedelta(days=PERIOD))
    assert not running.filter(publicity_end__lte=TODAY)
    assert not running.filter(publicity_start=TODAY, events__at__gt=NOW).exists()
    for county in County.objects.all():
        assert running.filter(branch__township__county=county).count() >= 2, county.name
    zhangqiao = Township.objects.get(code="411024107")  # the demo township official's
    assert running.filter(branch__township=zhangqiao).exists()


def _chains(year: int):
    awards = StarAward.objects.filter(year=year).select_related("star_type")
    events = defaultdict(list)
    for e in StarAwardEvent.objects.filter(award__year=year).order_by("at", "id"):
        events[e.award_id].append(e)
    return [(a, events[a.pk]) for a in awards]


def _assert_the_chain_rules(year: int, now: datetime.datetime) -> None:
    """Every award's steps in order, none after now; 评定 ≤ 公示 start; 公示 end < 授星 ≤
    today; no star granted before the branch's 支部过硬星."""
    today = timezone.localdate(now)
    foundation_on = {
        a.branch_id: a.awarded_on
        for a in StarAward.objects.filter(
            year=year, star_type__is_foundation=True, awarded_on__isnull=False
        )
    }
    order = [s.value for s in StarAwardEvent.Step]
    for award, events in _chains(year):
        steps = [e.step for e in events]
        assert steps[0] == StarAwardEvent.Step.APPLY, award
        assert all(e.at <= now for e in events), award
        chain = [s for s in steps if s not in ("reject", "withdraw")]
        assert chain == sorted(chain, key=order.index), (award, steps)
        assert timezone.localdate(award.created_at) == timezone.localdate(events[0].at)
        day = {e.step: timezone.localdate(e.at) for e in events}
        if award.publicity_start:
            assert day["publicize"] == award.publicity_start
            assert day["county_rate"] <= award.publicity_start <= today
            assert award.publicity_end == award.publicity_start + datetime.timedelta(days=PERIOD)
        if award.state in (S.AWARDED, S.WITHDRAWN):
            assert award.publicity_end < award.awarded_on <= today, award
            assert day["award"] == award.awarded_on
            assert selectors.publicity_over(award, today=award.awarded_on)
            if not award.star_type.is_foundation:
                assert foundation_on[award.branch_id] <= award.awarded_on, award
        else:
            assert award.awarded_on is None, award
        if award.state == S.PUBLICIZED:
            assert award.publicity_start <= today
        if award.state == S.WITHDRAWN:
            assert award.awarded_on < award.withdrawn_on <= today and award.withdrawn_reason


def test_the_clocks_year_follows_the_chain_rules(seeded):
    _assert_the_chain_rules(2026, NOW)


def test_levels_start_from_the_stars_held_in_2023(seeded):
    held = set(
        StarAward.objects.filter(year=2023, state=S.AWARDED).values_list(
            "branch_id", "star_type_id"
        )
    )
    now = set(StarAward.objects.filter(year=2026).values_list("branch_id", "star_type_id"))
    assert held and held <= now  # every star held in 2023 is declared again
    before = defaultdict(int)
    for branch_id, _star in held:
        before[branch_id] += 1
    declared = defaultdict(int)
    for branch_id, _star in now:
        declared[branch_id] += 1
    assert all(n <= max(1, before[b]) + 2 for b, n in declared.items())
    assert any(n > before[b] for b, n in declared.items())


def test_the_clocks_year_has_weak_cases_some_accepted(seeded):
    cases = WeakBranchCase.objects.filter(year=2026)
    statuses = dict(cases.values_list("status").annotate(n=Count("id")))
    assert statuses.get("accepted", 0) > 0 and statuses.get("rectifying", 0) > 0
    open_2023 = set(
        WeakBranchCase.objects.filter(year=2023, status__in=WeakBranchCase.OPEN).values_list(
            "branch_id", flat=True
        )
    )
    assert open_2023 <= set(cases.values_list("branch_id", flat=True))  # carried over
    for case in cases:
        assert datetime.date(2026, 1, 1) <= case.identified_on <= TODAY
        steps = list(case.history.order_by("history_date").values_list("status", "history_date"))
        assert steps[0][1].date() == case.identified_on
        assert all(at <= NOW for _, at in steps) and steps[-1][0] == case.status
        if case.status == "accepted":
            assert case.identified_on <= case.accepted_on <= TODAY and case.rectification_plan


def test_the_county_dashboard_projects_the_stars_at_risk(seeded):
    """三星及以上 against the plan's 50 %: the year is partway, the projection misses it."""
    target = Target(year=2026, indicator="three_star_plus_rate", comparison="gte", threshold=50)
    figures = selectors.three_star_plus_rate_by_area(year=2026)
    yanling = County.objects.get(code="411024")
    for key in (CITY, ("county", yanling.pk)):
        num, den = figures[key]
        figure = evaluate(
            code="three_star_plus_rate",
            num=num,
            den=den,
            year=2026,
            as_of=TODAY,
            today=TODAY,
            target=target,
        )
        assert figure.status == AT_RISK and 0 < figure.projected < Decimal(50), key


def test_next_year_runs_from_this_years_stars(seeded):
    """In the next year the demo opens it and starts a new cycle from what was held at
    the end of this one; 2026 is left as it was."""
    before = {
        year: dict(StarAward.objects.filter(year=year).values_list("state").annotate(n=Count("id")))
        for year in (2022, 2023, 2026)
    }
    with time_machine.travel(NEXT_YEAR, tick=False):
        out = StringIO()
        call_command("seed_demo", apps=["villages", "stars"], stdout=out)
        today = timezone.localdate()
        assert "2027年度星级申报（自2026年度已获星级起）" in out.getvalue()
        states = dict(
            StarAward.objects.filter(year=2027).values_list("state").annotate(n=Count("id"))
        )
        assert {S.APPLIED, S.TOWNSHIP_APPROVED, S.COUNTY_RATED, S.PUBLICIZED, S.AWARDED} <= set(
            states
        )
        assert _running(2027, today).count() >= 14
        _assert_the_chain_rules(2027, NEXT_YEAR)
        assert not StarAward.objects.filter(year=2027, created_at__gt=NEXT_YEAR).exists()
        assert WeakBranchCase.objects.filter(year=2027, identified_on__lte=today).exists()
        assert not WeakBranchCase.objects.filter(year=2027, identified_on__gt=today).exists()
    assert before == {
        year: dict(StarAward.objects.filter(year=year).values_list("state").annotate(n=Count("id")))
        for year in (2022, 2023, 2026)
    }
