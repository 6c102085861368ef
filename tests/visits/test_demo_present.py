"""The visits demo seeded on another day: Monday 15 March 2027, 18:30 in Beijing, on a
fresh database, as `make run` would seed it on a fresh clone that day. 2023 is as
published; 2027 runs from 1 January to now, with half a month under way; the years in
between stay empty. Seeded once for the module (villages and visits), rolled back
after it; the clock stays pinned for the module."""

import datetime
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command
from django.db import connection
from django.db.models import Count
from django.test.utils import CaptureQueriesContext

from tests.helpers import module_data
from tests.visits.demo_checks import (
    BEIJING,
    assert_2023_as_published,
    assert_peizhuang_can_log_today,
    assert_present_review_work,
    assert_present_year_up_to_now,
)
from villages.models import ProgrammeYear
from visits.models import Problem, Visit, VisitEvent

pytestmark = [pytest.mark.django_db, pytest.mark.embedded_pass]

NOW = datetime.datetime(2027, 3, 15, 18, 30, tzinfo=BEIJING)


@pytest.fixture(scope="module")
def seeded(django_db_setup, django_db_blocker):
    with time_machine.travel(NOW, tick=False), module_data(django_db_blocker):
        assert not Visit.objects.exists()
        call_command("seed_demo", "--apps", "villages", "visits", stdout=StringIO())
        connection.check_constraints()
        yield


def test_2023_is_as_published_and_the_years_between_are_empty(seeded):
    assert_2023_as_published()
    years = Visit.objects.dates("date", "year").values_list("date__year", flat=True)
    assert set(years) == {2023, 2027}
    assert ProgrammeYear.objects.get(year=2027).status == "open"


def test_2027_runs_from_1_january_to_now(seeded):
    # 74 of 365 days have gone by
    assert_present_year_up_to_now(NOW, share_of_2023=(0.17, 0.23))


def test_2027_leaves_review_work(seeded):
    assert_present_review_work(NOW)


def test_cadre_peizhuang_can_log_a_visit_today(seeded):
    assert_peizhuang_can_log_today(NOW)


def test_second_run_writes_nothing(seeded):
    before = [model.objects.aggregate(n=Count("id")) for model in (Visit, VisitEvent, Problem)]

    out = StringIO()
    with CaptureQueriesContext(connection) as ctx:
        call_command("seed_demo", "--apps", "visits", stdout=out)

    assert "已是最新" in out.getvalue()
    writes = [
        q["sql"]
        for q in ctx.captured_queries
        if q["sql"].lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))
    ]
    assert writes == []
    assert [model.objects.aggregate(n=Count("id")) for model in (Visit, VisitEvent, Problem)] == (
        before
    )
