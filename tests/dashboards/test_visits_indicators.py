"""The per-area indicators appended to visits/selectors.py: the same judgement as the
compliance page and the problem ledger, in a fixed number of queries."""

import datetime

from tests.dashboards.conftest import YEAR
from tests.factories import AssignmentFactory, CadreFactory, VillageFactory
from tests.visits.helpers import ProblemFactory, VisitFactory, WorkdayRuleFactory
from visits import selectors
from visits.models import Problem, Visit, WorkdayRule

D = datetime.date


def test_compliance_by_area_matches_the_compliance_page(
    area, county_official, township_official, city_admin
):
    cadre = area.cadres["a1v1"]
    for day in range(1, 10):  # 9 days in April: below the rule
        VisitFactory(cadre=cadre, village=area.villages["a1v1"], date=D(YEAR, 4, day))
    VisitFactory(cadre=cadre, village=area.villages["a1v1"], date=D(YEAR, 4, 9), day_part="half")
    for day in range(1, 11):
        VisitFactory(cadre=area.cadres["b1v1"], village=area.villages["b1v1"], date=D(YEAR, 4, day))
    by_period = selectors.workday_compliance_by_period_by_area(year=YEAR)
    april = D(YEAR, 4, 1)
    for user, key in (
        (city_admin, ("city", None)),
        (county_official, ("county", area.county_a.pk)),
        (township_official, ("township", area.townships["A1"].pk)),
    ):
        page = selectors.compliance_for_user(user=user, day=D(YEAR, 4, 15))
        assert by_period[key][april] == (page["met"], page["total"]), key
    assert by_period[("county", area.county_b.pk)][april] == (1, 2)
    assert by_period[("village", area.villages["a1v1"].pk)][april] == (0, 1)


def test_quarterly_rule_and_only_ended_periods_count(area):
    WorkdayRuleFactory(
        required_days=20, period=WorkdayRule.Period.QUARTER, effective_from=D(YEAR, 1, 1)
    )
    cadre = area.cadres["a1v1"]
    for month in (1, 2, 3):
        for day in range(1, 8):  # 21 days in the first quarter
            VisitFactory(cadre=cadre, village=area.villages["a1v1"], date=D(YEAR, month, day))
    periods = selectors.year_periods(year=YEAR)
    assert [p[1] for p in periods] == [D(YEAR, 1, 1), D(YEAR, 4, 1), D(YEAR, 7, 1), D(YEAR, 10, 1)]
    key = ("village", area.villages["a1v1"].pk)
    assert selectors.workday_compliance_rate_by_area(year=YEAR, as_of=D(YEAR, 4, 10))[key] == (1, 1)
    assert selectors.workday_compliance_rate_by_area(year=YEAR, as_of=D(YEAR, 12, 31))[key] == (
        1,
        4,
    )
    assert selectors.workday_compliance_rate_by_area(year=YEAR, as_of=D(YEAR, 3, 30))[
        ("city", None)
    ] == (0, 0)


def test_volumes_problems_and_monthly_figures(area):
    v = area.villages["a1v1"]
    cadre = area.cadres["a1v1"]
    VisitFactory(
        cadre=cadre,
        village=v,
        date=D(YEAR, 2, 1),
        meetings=2,
        people_reached=30,
        households_visited=5,
    )
    VisitFactory(
        cadre=cadre, village=v, date=D(YEAR, 2, 1), day_part="half", meetings=1, people_reached=10
    )
    VisitFactory(
        cadre=cadre, village=v, date=D(YEAR, 3, 1), people_reached=99, state=Visit.State.RETURNED
    )
    ProblemFactory(village=v, status=Problem.Status.RESOLVED, resolved_on=D(YEAR, 2, 2))
    ProblemFactory(village=v, status=Problem.Status.EXPLAINED, explanation="政策不支持")
    ProblemFactory(village=v)  # registered in another year: not counted
    Problem.objects.exclude(status=Problem.Status.PENDING).update(
        created_at=datetime.datetime(YEAR, 2, 1, 10, tzinfo=datetime.UTC)
    )
    county = ("county", area.county_a.pk)
    assert selectors.meetings_by_area(year=YEAR)[county] == (3, 2)
    assert selectors.people_visited_by_area(year=YEAR)[("city", None)] == (40, 2)
    assert selectors.problem_resolution_rate_by_area(year=YEAR)[county] == (1, 2)
    monthly = selectors.visits_monthly_by_area(year=YEAR)[county]
    assert monthly == {2: {"visits": 2, "days": 1}}
    assert selectors.visit_volumes_by_area(year=YEAR)[("village", v.pk)]["households"] == 5


def test_by_area_queries_do_not_grow(area, django_assert_max_num_queries):
    def run():
        selectors.workday_compliance_rate_by_area(year=YEAR)
        selectors.problem_resolution_rate_by_area(year=YEAR)
        selectors.visit_volumes_by_area(year=YEAR)
        selectors.visits_monthly_by_area(year=YEAR)

    with django_assert_max_num_queries(12):
        run()
    for i in range(20):
        village = VillageFactory(township=area.townships["B1"])
        cadre = CadreFactory()
        AssignmentFactory(cadre=cadre, village=village)
        VisitFactory(cadre=cadre, village=village, date=D(YEAR, 5, 1 + i))
        ProblemFactory(village=village)
    with django_assert_max_num_queries(12):
        run()
