"""`seed_demo` adds the 2022 ratings that reproduce the published figures through the
selectors (38 five-star, 281 four-star, 1,171 of 2,526 = 46.36 %), a 2023 partway through
the year (every step of the chain, 65 weak cases of which some 销号), and a second run
writes nothing.

The command runs once for the module (villages and stars only); the data lives in an
outer transaction rolled back when the module is done.
"""

from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.models import Count, Q

from stars import selectors
from stars.models import RatingYear, StarAward, StarType, WeakBranchCase
from tests.helpers import module_data

pytestmark = pytest.mark.django_db
CITY = ("city", None)


@pytest.fixture(scope="module")
def seeded(django_db_setup, django_db_blocker):
    with module_data(django_db_blocker):
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


def test_a_second_run_writes_nothing(seeded):
    before = StarAward.objects.count(), WeakBranchCase.objects.count()
    out = StringIO()
    call_command("seed_demo", apps=["villages", "stars"], stdout=out)
    assert "演示数据已是最新" in out.getvalue()
    assert (StarAward.objects.count(), WeakBranchCase.objects.count()) == before
