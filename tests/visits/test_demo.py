"""`seed_demo` adds the visits of 2023 (the published year) and of the clock's year, from
1 January to now: the published totals exactly for 2023, a realistic spread
(compliance, half days, activities, leaders), review work waiting for
`township_zhangqiao` and `cadre_peizhuang`, problems some of which are overdue, room for
`cadre_peizhuang` to log a visit today, and a second run that writes nothing.

The clock is pinned to Monday 7 December 2026, 20:00 in Beijing, for the whole module
(tests/visits/test_demo_present.py seeds on another day). `seed_demo` (villages and
visits) runs once for the module on a fresh database (it takes a while: some 700,000
visits); the data lives in an outer transaction rolled back when the module is done. No
test times anything: the speed check reads the command's own report.
"""

import datetime
import re
import uuid
from collections import Counter, defaultdict
from io import StringIO

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connection
from django.db.models import Count, Exists, F, Max, OuterRef, Q, Sum
from django.test.utils import CaptureQueriesContext

from tests.helpers import module_data
from tests.visits.demo_checks import (
    BEIJING,
    assert_2023_as_published,
    assert_peizhuang_can_log_today,
    assert_present_review_work,
    assert_present_year_up_to_now,
)
from villages.models import Assignment, ProgrammeYear
from visits import selectors
from visits.demo import NAMESPACE
from visits.models import Problem, Visit, VisitEvent

pytestmark = pytest.mark.django_db

NOW = datetime.datetime(2026, 12, 7, 20, 0, tzinfo=BEIJING)
TODAY = NOW.date()


@pytest.fixture(scope="module")
def seeded(django_db_setup, django_db_blocker):
    """Run `seed_demo` (villages and visits) once on the empty test database, on the
    pinned day; returns its output. The clock stays pinned for the module."""
    with time_machine.travel(NOW, tick=False), module_data(django_db_blocker):
        assert not Visit.objects.exists()
        out = StringIO()
        call_command("seed_demo", "--apps", "villages", "visits", stdout=out)
        connection.check_constraints()
        yield out.getvalue()


def _user(username):
    return get_user_model().objects.get(username=username)


def test_2023_adds_up_to_the_published_totals(seeded):
    assert_2023_as_published()
    assert set(Visit.objects.dates("date", "year").values_list("date__year", flat=True)) == {
        2023,
        2026,
    }


def test_problems_of_2023(seeded):
    problems = Problem.objects.filter(visit__date__year=2023)
    rate = selectors.problem_resolution_rate(problems)["rate"]
    assert 0.8 <= rate <= 0.9
    # every problem came from a visit to its own village, and a resolved one has its date
    assert not Problem.objects.filter(visit__isnull=True).exists()
    assert not Problem.objects.exclude(visit__village=F("village")).exists()
    assert not Problem.objects.filter(status="resolved", resolved_on__isnull=True).exists()
    assert not Problem.objects.filter(status="explained", explanation="").exists()


def test_township_zhangqiao_had_a_queue_at_the_end_of_2023(seeded):
    official = _user("township_zhangqiao")

    queue = selectors.visit_list_for_user(user=official).filter(
        state=Visit.State.SUBMITTED, date__year=2023
    )

    assert 50 <= queue.count() <= 500
    assert set(queue.values_list("village__township__name", flat=True)) == {"张桥镇"}
    assert queue.earliest("date").date >= datetime.date(2023, 12, 1)
    assert selectors.visit_can_review(user=_user("township_zhangqiao"), visit=queue.first())
    # nowhere else is anything of 2023 waiting
    elsewhere = Visit.objects.filter(state="submitted", date__year=2023).exclude(
        village__township__code="411024107"
    )
    assert not elsewhere.exists()


def test_cadre_peizhuang_had_a_handful_returned_in_2023(seeded):
    mine = selectors.visit_list_for_user(user=_user("cadre_peizhuang"))

    returned = mine.filter(state=Visit.State.RETURNED, date__year=2023)

    assert 1 <= returned.count() <= 10
    assert all(returned.values_list("review_comment", flat=True))
    assert Visit.objects.filter(state="returned").count() == mine.filter(state="returned").count()
    event = VisitEvent.objects.filter(visit__in=returned, action="return").first()
    assert event.comment and event.actor.username == "township_zhangqiao"


def test_the_present_year_runs_from_1_january_to_now(seeded):
    assert ProgrammeYear.objects.get(year=2026).status == "open"
    assert_present_year_up_to_now(NOW, share_of_2023=(0.88, 0.97))
    # most of the year has gone by: every month but this one looks like 2023's
    admin = _user("admin")
    rates = [
        selectors.compliance_for_user(user=admin, day=datetime.date(2026, month, 15))["rate"]
        for month in (1, 6, 11)
    ]
    assert all(0.85 <= r <= 0.95 for r in rates), rates


def test_the_present_year_leaves_review_work(seeded):
    assert_present_review_work(NOW)


def test_cadre_peizhuang_can_log_a_visit_today(seeded):
    assert_peizhuang_can_log_today(NOW)


def test_every_visit_keeps_the_services_rules(seeded):
    # inside an assignment of its cadre that covers its village (帮村) or township (联乡)
    covering = Assignment.objects.filter(
        cadre=OuterRef("cadre"), start_date__lte=OuterRef("date"), end_date__gte=OuterRef("date")
    ).filter(Q(village=OuterRef("village")) | Q(township=OuterRef("village__township")))
    assert not Visit.objects.exclude(Exists(covering)).exists()
    assert not Visit.objects.filter(
        Q(meetings__lt=0) | Q(people_reached__lt=0) | Q(households_visited__lt=0)
    ).exists()
    # a 座谈会 is listed exactly when one was held; everyone visited at home counts
    for meetings, people, households, activities in Visit.objects.values_list(
        "meetings", "people_reached", "households_visited", "activities"
    ).iterator(chunk_size=20_000):
        assert activities and set(activities) <= set(Visit.Activity.values)
        assert (meetings > 0) == ("meeting" in activities)
        assert (households > 0) == ("household" in activities)
        assert people >= households


def test_review_events_match_the_states(seeded):
    visits = Visit.objects.count()
    reviewed = Visit.objects.exclude(state=Visit.State.SUBMITTED).count()
    actions = dict(VisitEvent.objects.values_list("action").annotate(n=Count("id")))

    assert actions == {
        "submit": visits,
        "approve": Visit.objects.filter(state="approved").count(),
        "return": Visit.objects.filter(state="returned").count(),
    }
    assert actions["approve"] + actions["return"] == reviewed
    assert not Visit.objects.filter(state="approved", reviewed_at__isnull=True).exists()
    assert not Visit.objects.filter(reviewed_at__lt=F("created_at")).exists()


def test_2023_looks_like_a_real_year(seeded):
    admin = _user("admin")
    year = Visit.objects.filter(date__year=2023)

    # most cadres keep the 10-days-a-month rule, some fall short in some months
    rates = [
        selectors.compliance_for_user(user=admin, day=datetime.date(2023, month, 15))["rate"]
        for month in (1, 4, 7, 10, 12)
    ]
    assert all(0.85 <= r <= 0.95 for r in rates), rates
    # half days exist; activities vary
    parts = Counter(year.values_list("day_part", flat=True))
    assert 0.05 <= parts["half"] / sum(parts.values()) <= 0.25
    combos = Counter(tuple(a) for a in year.values_list("activities", flat=True))
    assert {a for combo in combos for a in combo} == set(Visit.Activity.values)
    assert len(combos) >= 50
    # the 联乡 leaders visit less than the 帮村 cadres
    leaders = set(
        Assignment.objects.filter(year=2023, kind="township").values_list("cadre_id", flat=True)
    )
    days = defaultdict(set)
    for cadre_id, date in year.values_list("cadre_id", "date").iterator(chunk_size=20_000):
        days[cadre_id].add(date)
    leader_avg = sum(len(days[c]) for c in leaders) / len(leaders)
    others = [len(d) for c, d in days.items() if c not in leaders]
    assert leader_avg < 100 < sum(others) / len(others)
    assert len(days) == 2_654  # every 2023 cadre logged visits


def test_client_uuids_are_derived_from_cadre_date_and_part(seeded):
    for visit in (
        Visit.objects.select_related("cadre").filter(date__year=year).order_by("id").first()
        for year in (2023, 2026)
    ):
        names = [f"{visit.cadre.phone}/{visit.date.isoformat()}/{part}" for part in (1, 2)]

        assert visit.client_uuid in {uuid.uuid5(NAMESPACE, name) for name in names}


def test_first_run_reports_what_it_created_and_how_long_it_took(seeded):
    # (how long is reported, not asserted: the suite never times anything)
    assert f"新建 下沉记录: {Visit.objects.count()}" in seeded
    assert f"新建 审核记录: {VisitEvent.objects.count()}" in seeded
    assert f"新建 问题台账: {Problem.objects.count()}" in seeded
    assert re.search(r"演示数据就绪（[\d.]+ 秒）", seeded)


def _snapshot() -> dict:
    return {
        model.__name__: model._default_manager.aggregate(n=Count("id"), last=Max("id"))
        for model in (Visit, VisitEvent, Problem)
    } | Visit.objects.aggregate(Max("updated_at"), Sum("people_reached"))


def test_second_run_changes_nothing(seeded):
    # given
    before = _snapshot()

    # when
    out = StringIO()
    with CaptureQueriesContext(connection) as ctx:
        call_command("seed_demo", "--apps", "villages", "visits", stdout=out)

    # then
    assert "已是最新" in out.getvalue()
    assert "新建" not in out.getvalue() and "更新" not in out.getvalue()
    writes = [
        q["sql"]
        for q in ctx.captured_queries
        if q["sql"].lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))
    ]
    assert writes == []
    assert _snapshot() == before


def test_a_run_on_a_later_day_adds_the_visits_since_and_leaves_the_rest(seeded):
    # given what the first run wrote on the evening of 7 December
    fields = ("client_uuid", "state", "people_reached", "updated_at")
    before = set(Visit.objects.values_list(*fields))
    last = Visit.objects.aggregate(Max("id"))["id__max"]
    later = NOW + datetime.timedelta(days=2)

    # when the demo is seeded again two days later
    with time_machine.travel(later, tick=False):
        call_command("seed_demo", "--apps", "visits", stdout=StringIO())

        # then the stored visits are as they were, and the new ones are those logged since
        after = set(Visit.objects.values_list(*fields))
        assert before <= after
        new = Visit.objects.filter(id__gt=last)
        assert new.filter(date__gt=TODAY).exists()
        assert not new.filter(created_at__lte=NOW).exists()
        assert not new.filter(date__gt=later.date()).exists()
        assert_peizhuang_can_log_today(later)


def test_demo_visits_carry_gps_fixes_and_some_are_flagged_far_away(seeded):
    from visits.services import FLAG_DISTANCE_KM, location_check

    visits = Visit.objects.all()
    total = visits.count()
    located = visits.filter(latitude__isnull=False)
    flagged = located.filter(location_flag=True)
    # most visits are located; a small share is logged more than 5 km away
    assert 0.8 < located.count() / total < 0.95
    assert 0.01 < flagged.count() / located.count() < 0.05
    assert not visits.filter(latitude__isnull=True, location_flag=True).exists()
    # the flag and distance are the services' own rule, against the village's demo point
    for lat, lon, km, flag, v_lat, v_lon in located.values_list(
        "latitude",
        "longitude",
        "distance_km",
        "location_flag",
        "village__latitude",
        "village__longitude",
    )[:20_000].iterator(chunk_size=5_000):
        assert (km, flag) == location_check(lat, lon, v_lat, v_lon)
        assert flag == (km > FLAG_DISTANCE_KM)
