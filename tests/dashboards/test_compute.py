"""compute_snapshots: the snapshots equal what the apps' selectors (and pages) compute,
in a constant number of queries, idempotently; the compute_targets command; statuses."""

import datetime
import json
from decimal import Decimal

import pytest
from django.core.management import call_command

from dashboards.indicators import SPECS
from dashboards.models import IndicatorSnapshot, Target, VillageSnapshot
from dashboards.services import compute_snapshots
from dashboards.status import AT_RISK, MET, MISSED, ON_TRACK, evaluate
from disputes import selectors as disputes
from stars import selectors as stars
from tests.dashboards.conftest import YEAR
from visits import selectors as visits
from visits.models import Problem

TODAY = datetime.date(2025, 6, 1)

SOURCES = {
    "sanling_village_rate": disputes.sanling_village_rate_by_area,
    "sanling_unit_rate": disputes.sanling_unit_rate_by_area,
    "dispute_resolution_rate": disputes.dispute_resolution_rate_by_area,
    "three_star_plus_rate": stars.three_star_plus_rate_by_area,
    "five_star_count": stars.five_star_count_by_area,
    "branches_rated": stars.branches_rated_by_area,
    "weak_branch_open": stars.weak_branch_open_by_area,
    "problem_resolution_rate": visits.problem_resolution_rate_by_area,
    "problems_solved": visits.problems_solved_by_area,
    "meetings": visits.meetings_by_area,
    "people_visited": visits.people_visited_by_area,
}


def snap(code, level, pk, year=YEAR):
    s = IndicatorSnapshot.objects.get(indicator=code, year=year, area_level=level, area_id=pk or 0)
    return s.numerator, s.denominator


def test_snapshots_equal_the_app_selectors_for_several_areas(world):
    compute_snapshots(year=YEAR, today=TODAY)
    areas = [
        ("city", None),
        ("county", world.county_a.pk),
        ("county", world.county_b.pk),
        ("township", world.townships["A1"].pk),
        ("township", world.townships["A2"].pk),
        ("township", world.townships["B1"].pk),
    ]
    for code, source in SOURCES.items():
        expected = source(year=YEAR)
        for level, pk in areas:
            assert snap(code, level, pk) == expected.get((level, pk), (0, 0)), (code, level, pk)
    compliance = visits.workday_compliance_rate_by_area(year=YEAR, as_of=TODAY)
    for level, pk in areas:
        assert snap("workday_compliance_rate", level, pk) == compliance.get((level, pk), (0, 0))
    # and with the figures the pages of the apps show
    assert snap("three_star_plus_rate", "city", None) == (2, 8)
    assert snap("five_star_count", "county", world.county_a.pk) == (1, 6)
    assert snap("dispute_resolution_rate", "county", world.county_a.pk) == (1, 2)
    assert snap("weak_branch_open", "township", world.townships["A2"].pk) == (1, 1)
    assert snap("sanling_village_rate", "township", world.townships["A2"].pk) == (2, 3)
    assert snap("meetings", "city", None) == (10, 11)
    assert snap("problem_resolution_rate", "county", world.county_a.pk) == (
        1,
        2,
    )  # the returned visit does not count


def test_workday_compliance_agrees_with_the_compliance_page(world, county_official, city_admin):
    compute_snapshots(year=YEAR, today=TODAY)
    row = IndicatorSnapshot.objects.get(
        indicator="workday_compliance_rate",
        year=YEAR,
        area_level="county",
        area_id=world.county_a.pk,
    )
    for user, key in (
        (county_official, ("county", world.county_a.pk)),
        (city_admin, ("city", None)),
    ):
        page = visits.compliance_for_user(user=user, day=datetime.date(YEAR, 3, 15))
        detail = IndicatorSnapshot.objects.get(
            indicator="workday_compliance_rate", year=YEAR, area_level=key[0], area_id=key[1] or 0
        ).detail
        assert detail[f"{YEAR}-03-01"] == [page["met"], page["total"]]
    # March: the a1v1 cadre met 10 days; the cross-county cadre is placed in county B
    assert row.detail[f"{YEAR}-03-01"] == [1, 2]


def test_problem_resolution_agrees_with_the_problem_list(world, county_official):
    compute_snapshots(year=YEAR, today=TODAY)
    listed = visits.problem_resolution_rate(
        visits.problem_list_for_user(user=county_official).filter(created_at__year=YEAR)
    )
    assert snap("problem_resolution_rate", "county", world.county_a.pk) == (
        listed["resolved"],
        listed["total"],
    )


def test_compute_runs_a_constant_number_of_queries(world, django_assert_max_num_queries):
    with django_assert_max_num_queries(40):
        compute_snapshots(year=YEAR, today=TODAY)
    from tests.factories import RosterEntryFactory, VillageFactory
    from tests.visits.helpers import ProblemFactory, VisitFactory

    for i in range(15):
        village = VillageFactory(township=world.townships["B1"])
        RosterEntryFactory(roster=world.roster, village=village)
        VisitFactory(
            cadre=world.cadres["b1v1"], village=village, date=datetime.date(YEAR, 4, i + 1)
        )
        ProblemFactory(village=village, status=Problem.Status.PENDING)
    with django_assert_max_num_queries(40):
        compute_snapshots(year=YEAR, today=TODAY)
    assert snap("sanling_village_rate", "city", None)[1] == 23


def test_compute_is_idempotent(world):
    compute_snapshots(year=YEAR, today=TODAY)
    first = list(
        IndicatorSnapshot.objects.order_by("indicator", "area_level", "area_id").values_list(
            "indicator", "area_level", "area_id", "numerator", "denominator", "value"
        )
    )
    villages = VillageSnapshot.objects.filter(year=YEAR).count()
    compute_snapshots(year=YEAR, today=TODAY)
    again = list(
        IndicatorSnapshot.objects.order_by("indicator", "area_level", "area_id").values_list(
            "indicator", "area_level", "area_id", "numerator", "denominator", "value"
        )
    )
    assert first == again
    # one row per indicator and area: the city, 2 counties, 3 townships
    assert len(again) == len(SPECS) * 6
    assert VillageSnapshot.objects.filter(year=YEAR).count() == villages == 8


def test_compute_targets_command_prints_city_figures_as_json(world, capsys):
    call_command("compute_targets", "--year", str(YEAR), "--json")
    figures = json.loads(capsys.readouterr().out)
    assert set(figures) == set(SPECS)
    assert figures["three_star_plus_rate"] == 25.0
    assert figures["five_star_count"] == 1
    assert figures["dispute_resolution_rate"] == pytest.approx(66.7)
    assert IndicatorSnapshot.objects.filter(year=YEAR).exists()
    call_command("compute_targets", "--year", str(YEAR))
    assert "三星及以上党组织占比" in capsys.readouterr().out


def test_the_2023_plan_targets_are_seeded(db):
    targets = {
        t.indicator: t for t in Target.objects.filter(year=2023, area_level__in=["", "city"])
    }
    assert targets["three_star_plus_rate"].threshold == Decimal("50")
    assert targets["five_star_count"].comparison == "about"
    assert targets["branches_rated"].threshold == Decimal("2462")
    assert targets["weak_branch_open"].threshold == 0
    assert targets["dispute_resolution_rate"].is_reference


def _target(code, comparison, threshold, year=YEAR):
    return Target(year=year, indicator=code, comparison=comparison, threshold=threshold)


def test_status_met_or_missed_after_the_year():
    after = datetime.date(YEAR + 1, 1, 5)
    end = datetime.date(YEAR, 12, 31)
    t = _target("three_star_plus_rate", "gte", 50)
    args = {"year": YEAR, "as_of": end, "today": after}
    assert evaluate(code=t.indicator, num=50, den=100, target=t, **args).status == MET
    assert evaluate(code=t.indicator, num=49, den=100, target=t, **args).status == MISSED
    about = _target("five_star_count", "about", 60)
    assert evaluate(code="five_star_count", num=57, den=2462, target=about, **args).status == MET
    assert evaluate(code="five_star_count", num=56, den=2462, target=about, **args).status == MISSED


def test_status_during_the_year_comes_from_the_projection():
    mid = datetime.date(YEAR, 7, 1)  # about half the year
    args = {"year": YEAR, "as_of": mid, "today": mid}
    stars_target = _target("three_star_plus_rate", "gte", 50)
    on = evaluate(code="three_star_plus_rate", num=30, den=100, target=stars_target, **args)
    assert on.status == ON_TRACK and on.projected > 50
    risk = evaluate(code="three_star_plus_rate", num=20, den=100, target=stars_target, **args)
    assert risk.status == AT_RISK
    sanling = _target("sanling_village_rate", "gte", 80)
    # 12 of 100 broken by mid-year: about 24 at year end, so 76 % projected
    falling = evaluate(code="sanling_village_rate", num=88, den=100, target=sanling, **args)
    assert falling.status == AT_RISK and Decimal("75") <= falling.projected <= Decimal("77")
    weak = _target("weak_branch_open", "eq", 0)
    closing = evaluate(code="weak_branch_open", num=30, den=65, target=weak, **args)
    assert closing.status == ON_TRACK and closing.projected == 0


def test_year_on_year_change_in_points():
    end = datetime.date(YEAR, 12, 31)
    f = evaluate(
        code="three_star_plus_rate",
        num=60,
        den=100,
        year=YEAR,
        as_of=end,
        today=end + datetime.timedelta(days=1),
        target=None,
        previous=(45, 100),
        previous_label="上年全年",
    )
    assert f.change == Decimal("15") and f.change_text == "+15.00个百分点"
