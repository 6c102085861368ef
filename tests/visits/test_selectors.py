"""Reads for 双十工作日: who sees which visits and problems, the workday rule and its
periods, workday compliance, a cadre's progress and year totals, and the 办结率.

The world is the `area` fixture (tests/conftest.py): county A (townships A1, A2), county B
(township B1); cadres a1v1 (帮村 a1v1), lx_a2 (联乡 A2), b1v1 (帮村 b1v1) and cross
(county A unit, 帮村 b1v2), all for 2024. Visits and problems are written straight to the
tables with factories; the services are tested in test_services.py.
"""

import datetime

import pytest
from django.contrib.auth import get_user_model
from django.http import Http404
from django.utils import timezone

from tests.factories import AssignmentFactory, CadreFactory
from tests.visits.helpers import (
    ProblemFactory,
    VisitFactory,
    WorkdayRuleFactory,
    days_of,
)
from visits.models import Problem, Visit, WorkdayRule
from visits.selectors import (
    DEFAULT_RULE,
    cadre_progress,
    cadre_year_totals,
    compliance_for_user,
    period_end,
    period_label,
    period_start,
    problem_get_for_user,
    problem_list_for_user,
    problem_resolution_rate,
    problems_overdue_q,
    recent_periods,
    rule_for,
    visit_get_for_user,
    visit_list_for_user,
)
from visits.services import workday_rule_set

pytestmark = pytest.mark.django_db

D = datetime.date
MARCH_DAY = D(2024, 3, 20)

WHO = [
    "city_admin",
    "city_viewer",
    "superuser",
    "county_official",
    "other_county_official",
    "township_official",
    "cadre_user",
    "township_cadre_user",
    "no_role_user",
    "anonymous",
]


def _visits(cadre, village, dates, **fields):
    return [VisitFactory(cadre=cadre, village=village, date=d, **fields) for d in dates]


def _fresh(user):
    """The same login without its memoised scope (so query counts include resolving it)."""
    return get_user_model().objects.get(pk=user.pk)


# ----- scoping: visits -----


@pytest.fixture
def visits(area):
    """One visit per 联系点, plus one by a second 帮村 cadre of a1v1."""
    cadres, villages = area.cadres, area.villages
    second = CadreFactory(name="甲一第二干部", work_unit=area.units["A"])
    AssignmentFactory(cadre=second, village=villages["a1v1"])
    return {
        "a1v1": VisitFactory(cadre=cadres["a1v1"], village=villages["a1v1"]),
        "a1v1_second": VisitFactory(cadre=second, village=villages["a1v1"]),
        "a2v1": VisitFactory(cadre=cadres["lx_a2"], village=villages["a2v1"]),
        "a2v3": VisitFactory(cadre=cadres["lx_a2"], village=villages["a2v3"]),
        "b1v1": VisitFactory(cadre=cadres["b1v1"], village=villages["b1v1"]),
        "b1v2": VisitFactory(cadre=cadres["cross"], village=villages["b1v2"]),
    }


ALL_VISITS = {"a1v1", "a1v1_second", "a2v1", "a2v3", "b1v1", "b1v2"}
VISIBLE_VISITS = {
    "city_admin": ALL_VISITS,
    "city_viewer": ALL_VISITS,
    "superuser": ALL_VISITS,
    "county_official": {"a1v1", "a1v1_second", "a2v1", "a2v3"},
    "other_county_official": {"b1v1", "b1v2"},
    "township_official": {"a1v1", "a1v1_second"},
    "cadre_user": {"a1v1"},  # only their own, not the other cadre's at the same village
    "township_cadre_user": {"a2v1", "a2v3"},
    "no_role_user": set(),
    "anonymous": set(),
}


@pytest.mark.parametrize("who", WHO)
def test_visit_list_for_user(users, visits, who):
    # when
    seen = set(visit_list_for_user(user=users[who]).values_list("pk", flat=True))

    # then
    assert seen == {visits[label].pk for label in VISIBLE_VISITS[who]}


@pytest.mark.parametrize("who", WHO)
def test_visit_get_for_user_is_404_outside_the_scope(users, visits, who):
    for label, visit in visits.items():
        # when / then
        if label in VISIBLE_VISITS[who]:
            assert visit_get_for_user(user=users[who], visit_id=visit.pk) == visit
        else:
            with pytest.raises(Http404):
                visit_get_for_user(user=users[who], visit_id=visit.pk)


def test_visit_get_for_user_is_404_for_a_missing_visit(city_admin):
    # when / then
    with pytest.raises(Http404):
        visit_get_for_user(user=city_admin, visit_id=999_999)


def test_a_cadre_keeps_seeing_their_own_visit_to_a_former_contact_point(area, cadre_user):
    # given: a visit of the cadre whose assignment has since gone
    visit = VisitFactory(cadre=area.cadres["a1v1"], village=area.villages["a1v1"])
    area.assignments["a1v1"].delete()

    # when / then
    assert list(visit_list_for_user(user=cadre_user)) == [visit]


# ----- scoping: problems -----


@pytest.fixture
def problems(area):
    return {
        label: ProblemFactory(village=area.villages[label])
        for label in ("a1v1", "a1v2", "a2v3", "b1v1", "b1v2")
    }


ALL_PROBLEMS = {"a1v1", "a1v2", "a2v3", "b1v1", "b1v2"}
VISIBLE_PROBLEMS = {
    "city_admin": ALL_PROBLEMS,
    "city_viewer": ALL_PROBLEMS,
    "superuser": ALL_PROBLEMS,
    "county_official": {"a1v1", "a1v2", "a2v3"},
    "other_county_official": {"b1v1", "b1v2"},
    "township_official": {"a1v1", "a1v2"},
    "cadre_user": {"a1v1"},
    "township_cadre_user": {"a2v3"},
    "no_role_user": set(),
    "anonymous": set(),
}


@pytest.mark.parametrize("who", WHO)
def test_problem_list_for_user(users, problems, who):
    # when
    seen = set(problem_list_for_user(user=users[who]).values_list("pk", flat=True))

    # then
    assert seen == {problems[label].pk for label in VISIBLE_PROBLEMS[who]}


@pytest.mark.parametrize("who", WHO)
def test_problem_get_for_user_is_404_outside_the_scope(users, problems, who):
    for label, problem in problems.items():
        # when / then
        if label in VISIBLE_PROBLEMS[who]:
            assert problem_get_for_user(user=users[who], problem_id=problem.pk) == problem
        else:
            with pytest.raises(Http404):
                problem_get_for_user(user=users[who], problem_id=problem.pk)


# ----- the workday rule and its periods -----


MONTH = WorkdayRule(required_days=10, period=WorkdayRule.Period.MONTH)
QUARTER = WorkdayRule(required_days=20, period=WorkdayRule.Period.QUARTER)


@pytest.mark.parametrize(
    "rule, day, start, end, label",
    [
        (MONTH, D(2024, 3, 15), D(2024, 3, 1), D(2024, 3, 31), "2024年3月"),
        (MONTH, D(2024, 4, 1), D(2024, 4, 1), D(2024, 4, 30), "2024年4月"),
        (MONTH, D(2024, 2, 10), D(2024, 2, 1), D(2024, 2, 29), "2024年2月"),
        (MONTH, D(2023, 2, 28), D(2023, 2, 1), D(2023, 2, 28), "2023年2月"),
        (MONTH, D(2024, 12, 31), D(2024, 12, 1), D(2024, 12, 31), "2024年12月"),
        (QUARTER, D(2024, 1, 1), D(2024, 1, 1), D(2024, 3, 31), "2024年第1季度"),
        (QUARTER, D(2024, 6, 30), D(2024, 4, 1), D(2024, 6, 30), "2024年第2季度"),
        (QUARTER, D(2024, 8, 15), D(2024, 7, 1), D(2024, 9, 30), "2024年第3季度"),
        (QUARTER, D(2024, 10, 1), D(2024, 10, 1), D(2024, 12, 31), "2024年第4季度"),
        (QUARTER, D(2024, 12, 31), D(2024, 10, 1), D(2024, 12, 31), "2024年第4季度"),
    ],
)
def test_period_start_end_and_label(rule, day, start, end, label):
    # when / then
    assert period_start(rule, day) == start
    assert period_end(rule, day) == end
    assert period_label(rule, day) == label


def test_default_rule_is_ten_days_a_month(area):
    # given: no rule stored

    # when
    rule = rule_for(MARCH_DAY)

    # then
    assert rule is DEFAULT_RULE
    assert (rule.required_days, rule.period) == (10, WorkdayRule.Period.MONTH)
    progress = cadre_progress(cadre_id=area.cadres["a1v1"].pk, day=MARCH_DAY)
    assert (progress.required, progress.label) == (10, "2024年3月")


def test_rule_for_picks_the_newest_rule_in_force():
    # given
    older = WorkdayRuleFactory(effective_from=D(2024, 1, 1), required_days=10)
    newer = WorkdayRuleFactory(effective_from=D(2024, 4, 1), required_days=12)

    # when / then
    assert rule_for(D(2023, 12, 31)) is DEFAULT_RULE
    assert rule_for(D(2024, 1, 1)) == older
    assert rule_for(D(2024, 3, 31)) == older
    assert rule_for(D(2024, 4, 1)) == newer
    assert rule_for(D(2024, 11, 30)) == newer


@pytest.mark.parametrize("day", [D(2024, 3, 1), D(2024, 3, 14), D(2024, 3, 15), D(2024, 3, 31)])
def test_a_rule_taking_effect_mid_month_leaves_that_month_to_the_rule_before(day):
    # given
    before = WorkdayRuleFactory(effective_from=D(2024, 1, 1), required_days=10)
    WorkdayRuleFactory(effective_from=D(2024, 3, 15), required_days=12)

    # when / then: the whole of March is judged by the rule in force on 1 March
    assert rule_for(day) == before


def test_a_rule_taking_effect_mid_month_judges_the_next_month():
    # given
    WorkdayRuleFactory(effective_from=D(2024, 1, 1), required_days=10)
    later = WorkdayRuleFactory(effective_from=D(2024, 3, 15), required_days=12)

    # when / then
    assert rule_for(D(2024, 4, 1)) == later


@pytest.mark.parametrize("day", [D(2024, 3, 15), D(2024, 3, 31)])
def test_the_first_rule_ever_taking_effect_mid_month_leaves_that_month_to_the_default(day):
    # given: no rule before this one
    WorkdayRuleFactory(effective_from=D(2024, 3, 15), required_days=12)

    # when / then
    assert rule_for(D(2024, 3, 1)) is DEFAULT_RULE
    assert rule_for(day) is DEFAULT_RULE


def test_a_rule_effective_next_month_does_not_change_this_months_judgement(area, city_admin):
    # given: 10 days this month would meet today's rule
    today = timezone.localdate()
    next_month = period_end(DEFAULT_RULE, today) + datetime.timedelta(days=1)
    workday_rule_set(
        actor=city_admin,
        required_days=15,
        period=WorkdayRule.Period.MONTH,
        effective_from=next_month,
    )

    # when
    this_month = cadre_progress(cadre_id=area.cadres["a1v1"].pk, day=today)
    report = compliance_for_user(user=city_admin, day=today)

    # then
    assert rule_for(today) is DEFAULT_RULE
    assert this_month.required == 10
    assert report["rule"].required_days == 10
    assert rule_for(next_month).required_days == 15


def test_a_rule_effective_next_month_keeps_the_current_stored_rule(area, city_admin):
    # given
    today = timezone.localdate()
    current = WorkdayRuleFactory(effective_from=D(2024, 1, 1), required_days=8)
    next_month = period_end(current, today) + datetime.timedelta(days=1)
    workday_rule_set(
        actor=city_admin,
        required_days=15,
        period=WorkdayRule.Period.MONTH,
        effective_from=next_month,
    )

    # when / then
    assert rule_for(today) == current
    assert cadre_progress(cadre_id=area.cadres["a1v1"].pk, day=today).required == 8
    assert rule_for(next_month).required_days == 15


def test_a_quarterly_rule_taking_effect_mid_quarter_starts_with_the_next_quarter():
    # given
    monthly = WorkdayRuleFactory(effective_from=D(2024, 1, 1), required_days=10)
    quarterly = WorkdayRuleFactory(
        effective_from=D(2024, 5, 1), period=WorkdayRule.Period.QUARTER, required_days=30
    )

    # when / then: Q2 began on 1 April under the monthly rule
    assert rule_for(D(2024, 5, 20)) == monthly
    assert rule_for(D(2024, 6, 30)) == monthly
    assert rule_for(D(2024, 7, 1)) == quarterly


def test_recent_periods_follow_the_rule_of_each_period():
    # given: quarters from 2024 on, the default (months) before
    WorkdayRuleFactory(
        effective_from=D(2024, 1, 1), period=WorkdayRule.Period.QUARTER, required_days=30
    )

    # when
    days = recent_periods(count=4, today=D(2024, 5, 14))

    # then
    assert days == [D(2024, 4, 1), D(2024, 1, 1), D(2023, 12, 1), D(2023, 11, 1)]


# ----- a cadre's progress and year totals -----


def test_cadre_progress_counts_distinct_days_of_the_month(area):
    # given
    cadre, village = area.cadres["a1v1"], area.villages["a1v1"]
    _visits(cadre, village, [D(2024, 3, 1)])
    _visits(cadre, village, [D(2024, 3, 1)], day_part=Visit.DayPart.HALF)  # same day again
    _visits(cadre, village, [D(2024, 3, 5)], state=Visit.State.APPROVED)
    _visits(cadre, village, [D(2024, 3, 6)], state=Visit.State.RETURNED)  # not counted
    _visits(cadre, village, [D(2024, 2, 29), D(2024, 4, 1)])  # other months
    _visits(area.cadres["lx_a2"], area.villages["a2v1"], days_of(2024, 3, 12))  # someone else

    # when
    progress = cadre_progress(cadre_id=cadre.pk, day=MARCH_DAY)

    # then
    assert (progress.days, progress.required, progress.met) == (2, 10, False)
    assert progress.percent == 20
    assert (progress.start, progress.end, progress.label) == (
        D(2024, 3, 1),
        D(2024, 3, 31),
        "2024年3月",
    )


def test_cadre_progress_percent_stops_at_100(area):
    # given
    _visits(area.cadres["a1v1"], area.villages["a1v1"], days_of(2024, 3, 12))

    # when
    progress = cadre_progress(cadre_id=area.cadres["a1v1"].pk, day=MARCH_DAY)

    # then
    assert (progress.days, progress.met, progress.percent) == (12, True, 100)


def test_a_quarterly_rule_judges_per_quarter(area, city_admin):
    # given: 20 days a quarter; 5 in January, 10 in February, 5 in March, 3 in April
    WorkdayRuleFactory(
        effective_from=D(2024, 1, 1), period=WorkdayRule.Period.QUARTER, required_days=20
    )
    cadre, village = area.cadres["a1v1"], area.villages["a1v1"]
    for month, count in ((1, 5), (2, 10), (3, 5), (4, 3)):
        _visits(cadre, village, days_of(2024, month, count))

    # when
    q1 = cadre_progress(cadre_id=cadre.pk, day=D(2024, 2, 15))
    q2 = cadre_progress(cadre_id=cadre.pk, day=D(2024, 4, 15))
    report = compliance_for_user(user=city_admin, day=D(2024, 1, 31))

    # then
    assert (q1.label, q1.start, q1.end) == ("2024年第1季度", D(2024, 1, 1), D(2024, 3, 31))
    assert (q1.days, q1.required, q1.met) == (20, 20, True)
    assert (q2.label, q2.days, q2.met) == ("2024年第2季度", 3, False)
    row = next(r for r in report["rows"] if r.cadre == cadre)
    assert (report["label"], row.days, row.required, row.met) == ("2024年第1季度", 20, 20, True)


def test_cadre_year_totals_against_a_hand_count(area):
    # given
    cadre, village = area.cadres["a1v1"], area.villages["a1v1"]
    approved = VisitFactory(
        cadre=cadre,
        village=village,
        date=D(2024, 3, 1),
        state=Visit.State.APPROVED,
        meetings=1,
        people_reached=10,
        households_visited=3,
    )
    VisitFactory(  # a half day on the same date: a visit, not a day
        cadre=cadre,
        village=village,
        date=D(2024, 3, 1),
        day_part=Visit.DayPart.HALF,
        meetings=2,
        people_reached=5,
        households_visited=0,
    )
    submitted = VisitFactory(
        cadre=cadre,
        village=village,
        date=D(2024, 4, 2),
        meetings=0,
        people_reached=7,
        households_visited=4,
    )
    VisitFactory(  # returned: not counted
        cadre=cadre,
        village=village,
        date=D(2024, 4, 3),
        state=Visit.State.RETURNED,
        meetings=9,
        people_reached=99,
        households_visited=99,
    )
    last_year = VisitFactory(
        cadre=cadre, village=village, date=D(2023, 12, 31), meetings=9, people_reached=99
    )
    others = VisitFactory(
        cadre=area.cadres["lx_a2"], village=area.villages["a2v1"], date=D(2024, 3, 1), meetings=9
    )
    ProblemFactory.create_batch(2, village=village, visit=approved)
    ProblemFactory(village=village, visit=submitted)
    ProblemFactory(village=village)  # not from a visit
    ProblemFactory(village=village, visit=last_year)
    ProblemFactory(village=area.villages["a2v1"], visit=others)

    # when
    totals = cadre_year_totals(cadre_id=cadre.pk, year=2024)

    # then
    assert totals == {
        "visits": 3,
        "meetings": 3,
        "people": 22,
        "households": 7,
        "days": 2,
        "problems": 3,
    }


def test_cadre_year_totals_are_zero_without_visits(area):
    # when
    totals = cadre_year_totals(cadre_id=area.cadres["b1v1"].pk, year=2024)

    # then
    assert totals == dict.fromkeys(
        ("visits", "meetings", "people", "households", "days", "problems"), 0
    )


# ----- workday compliance -----


def _row(report, cadre):
    return next(r for r in report["rows"] if r.cadre.pk == cadre.pk)


@pytest.mark.parametrize("days, met", [(9, False), (10, True)])
def test_ten_distinct_days_in_the_month_meet_the_default_rule(area, city_admin, days, met):
    # given
    cadre = area.cadres["a1v1"]
    _visits(cadre, area.villages["a1v1"], days_of(2024, 3, days))

    # when
    progress = cadre_progress(cadre_id=cadre.pk, day=MARCH_DAY)
    row = _row(compliance_for_user(user=city_admin, day=MARCH_DAY), cadre)

    # then
    assert (progress.days, progress.met) == (days, met)
    assert (row.days, row.required, row.met) == (days, 10, met)


def test_two_half_days_on_one_date_count_as_one_day(area, city_admin):
    # given: 8 full days and two half days on a 9th date
    cadre, village = area.cadres["a1v1"], area.villages["a1v1"]
    _visits(cadre, village, days_of(2024, 3, 8))
    _visits(cadre, village, [D(2024, 3, 9)] * 2, day_part=Visit.DayPart.HALF)

    # when
    progress = cadre_progress(cadre_id=cadre.pk, day=MARCH_DAY)
    row = _row(compliance_for_user(user=city_admin, day=MARCH_DAY), cadre)

    # then
    assert (progress.days, progress.met) == (9, False)
    assert (row.days, row.met) == (9, False)


def test_returned_visits_do_not_count_and_approved_ones_do(area, city_admin):
    # given: 5 approved + 4 submitted days, and a returned visit on a 10th date
    cadre, village = area.cadres["a1v1"], area.villages["a1v1"]
    _visits(cadre, village, days_of(2024, 3, 5), state=Visit.State.APPROVED)
    _visits(cadre, village, days_of(2024, 3, 4, first=6))
    _visits(cadre, village, [D(2024, 3, 10)], state=Visit.State.RETURNED)

    # when
    progress = cadre_progress(cadre_id=cadre.pk, day=MARCH_DAY)
    row = _row(compliance_for_user(user=city_admin, day=MARCH_DAY), cadre)

    # then
    assert (progress.days, progress.met) == (9, False)
    assert (row.days, row.met) == (9, False)


@pytest.fixture
def march(area):
    """March 2024: a1v1 with 3 days; a new 帮村 cadre of a1v2 with 10; a cadre of a1v3 whose
    assignment starts in July; the 联乡 cadre of A2 with 10; b1v1 with 12 (county B)."""
    a1v2_cadre = CadreFactory(name="甲一二干部", work_unit=area.units["A"])
    AssignmentFactory(cadre=a1v2_cadre, village=area.villages["a1v2"])
    later = CadreFactory(name="下半年干部", work_unit=area.units["A"])
    AssignmentFactory(cadre=later, village=area.villages["a1v3"], start_date=D(2024, 7, 1))
    _visits(area.cadres["a1v1"], area.villages["a1v1"], days_of(2024, 3, 3))
    _visits(a1v2_cadre, area.villages["a1v2"], days_of(2024, 3, 10))
    _visits(area.cadres["lx_a2"], area.villages["a2v2"], days_of(2024, 3, 10))
    _visits(area.cadres["b1v1"], area.villages["b1v1"], days_of(2024, 3, 12))
    return {"a1v2": a1v2_cadre, "later": later}


def test_township_official_sees_only_the_cadres_of_their_township(area, township_official, march):
    # when
    report = compliance_for_user(user=township_official, day=MARCH_DAY)

    # then
    assert {r.cadre.pk: (r.days, r.met) for r in report["rows"]} == {
        area.cadres["a1v1"].pk: (3, False),
        march["a1v2"].pk: (10, True),
    }
    assert {r.township_name for r in report["rows"]} == {"甲一镇"}
    assert (report["met"], report["total"], report["rate"]) == (1, 2, 0.5)
    assert [r.cadre for r in report["below"]] == [area.cadres["a1v1"]]
    assert (report["start"], report["end"], report["label"]) == (
        D(2024, 3, 1),
        D(2024, 3, 31),
        "2024年3月",
    )


def test_county_official_sees_the_cadres_linked_to_their_county(area, county_official, march):
    # when
    report = compliance_for_user(user=county_official, day=MARCH_DAY)

    # then: not `cross` (a county A unit, but linked to county B's b1v2)
    assert {r.cadre.pk: r.township_name for r in report["rows"]} == {
        area.cadres["a1v1"].pk: "甲一镇",
        march["a1v2"].pk: "甲一镇",
        area.cadres["lx_a2"].pk: "甲二街道",
    }
    assert (report["met"], report["total"]) == (2, 3)
    assert report["rate"] == pytest.approx(2 / 3)


def test_city_compliance_lists_every_cadre_with_an_assignment_in_the_period(
    area, city_admin, march
):
    # when
    report = compliance_for_user(user=city_admin, day=MARCH_DAY)

    # then
    assert {r.cadre.pk for r in report["rows"]} == {
        area.cadres[label].pk for label in ("a1v1", "lx_a2", "b1v1", "cross")
    } | {march["a1v2"].pk}
    assert (report["met"], report["total"], report["rate"]) == (3, 5, 0.6)
    assert march["later"].pk not in {r.cadre.pk for r in report["rows"]}


def test_below_the_requirement_come_first(city_admin, march):
    # when
    rows = compliance_for_user(user=city_admin, day=MARCH_DAY)["rows"]

    # then
    assert [r.met for r in rows] == sorted(r.met for r in rows)


def test_compliance_for_a_login_with_no_role_is_empty(no_role_user, march):
    # when
    report = compliance_for_user(user=no_role_user, day=MARCH_DAY)

    # then
    assert (report["rows"], report["total"], report["rate"]) == ([], 0, None)


def _add_cadres(area, count, days):
    for _ in range(count):
        cadre = CadreFactory(work_unit=area.units["A"])
        AssignmentFactory(cadre=cadre, village=area.villages["a1v2"])
        _visits(cadre, area.villages["a1v2"], days_of(2024, 3, days))


@pytest.mark.parametrize("who", ["township_official", "county_official", "city_admin"])
def test_compliance_query_count_does_not_grow_with_cadres_or_visits(
    area, users, django_assert_max_num_queries, who
):
    # given: a small world
    _add_cadres(area, count=1, days=2)

    # when
    with django_assert_max_num_queries(5) as small:
        small_report = compliance_for_user(user=_fresh(users[who]), day=MARCH_DAY)

    # given: many more cadres, with many more visits
    _add_cadres(area, count=8, days=12)

    # when / then
    with django_assert_max_num_queries(len(small.captured_queries)):
        big_report = compliance_for_user(user=_fresh(users[who]), day=MARCH_DAY)
        [r.cadre.work_unit.name for r in big_report["rows"]]  # what a page shows
    assert big_report["total"] == small_report["total"] + 8


# ----- problems: 办结率 and overdue -----


def test_problem_resolution_rate_against_a_hand_count(area):
    # given
    today = timezone.localdate()
    yesterday, tomorrow = today - datetime.timedelta(days=1), today + datetime.timedelta(days=1)
    village = area.villages["a1v1"]
    ProblemFactory(village=village, status="resolved", resolved_on=D(2024, 5, 1))
    ProblemFactory(  # resolved late: not overdue any more
        village=village, status="resolved", resolved_on=D(2024, 5, 2), deadline=D(2024, 4, 1)
    )
    ProblemFactory(village=village, status="resolved", resolved_on=D(2024, 5, 3))
    ProblemFactory(  # explained: closed, not resolved, not overdue
        village=village, status="explained", explanation="政策不支持", deadline=yesterday
    )
    ProblemFactory(village=village, status="pending", deadline=yesterday)  # overdue
    ProblemFactory(village=village, status="in_progress", deadline=D(2024, 6, 1))  # overdue
    ProblemFactory(village=village, status="in_progress", deadline=today)  # due today
    ProblemFactory(village=village, status="pending", deadline=tomorrow)
    ProblemFactory(village=village, status="pending")  # no deadline
    ProblemFactory(village=area.villages["b1v1"], status="resolved", resolved_on=D(2024, 5, 1))

    # when
    stats = problem_resolution_rate(Problem.objects.filter(village=village))

    # then
    assert stats == {
        "total": 9,
        "resolved": 3,
        "explained": 1,
        "overdue": 2,
        "rate": pytest.approx(3 / 9),
    }


def test_problem_resolution_rate_follows_the_users_scope(area, township_official, problems):
    # given: of the five problems, a1v2's is resolved
    Problem.objects.filter(pk=problems["a1v2"].pk).update(
        status="resolved", resolved_on=D(2024, 5, 1)
    )

    # when
    stats = problem_resolution_rate(problem_list_for_user(user=township_official))

    # then: A1 holds a1v1 and a1v2
    assert (stats["total"], stats["resolved"], stats["rate"]) == (2, 1, 0.5)


def test_problem_resolution_rate_of_nothing_is_none():
    # when
    stats = problem_resolution_rate(Problem.objects.none())

    # then
    assert stats["total"] == 0
    assert stats["rate"] is None


def test_problems_overdue_on_a_given_day(area):
    # given
    village = area.villages["a1v1"]
    due = ProblemFactory(village=village, deadline=D(2024, 5, 10))
    ProblemFactory(village=village, deadline=D(2024, 5, 14))
    ProblemFactory(
        village=village, deadline=D(2024, 5, 1), status="resolved", resolved_on=D(2024, 5, 9)
    )

    # when
    overdue = Problem.objects.filter(problems_overdue_q(D(2024, 5, 14)))

    # then
    assert list(overdue) == [due]
