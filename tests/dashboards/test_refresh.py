"""The debounced recomputation: the beat task reads the history rows written since its
last look (any app's saves, deletes, bulk writes and imports leave one), recomputes the
years they touch once, and does nothing when nothing changed."""

import datetime

from dashboards.models import ChangeCursor, IndicatorSnapshot
from dashboards.services import changed_years, compute_snapshots
from dashboards.tasks import compute_live_years, refresh_changed
from tests.dashboards.conftest import YEAR
from tests.visits.helpers import VisitFactory


def visits_count(level="city", pk=0):
    return IndicatorSnapshot.objects.get(
        indicator="visits", year=YEAR, area_level=level, area_id=pk
    ).numerator


def test_first_look_only_sets_the_cursors(world):
    assert changed_years() == set()
    assert ChangeCursor.objects.filter(label="visits.Visit").exists()
    assert changed_years() == set()


def test_a_new_visit_recomputes_its_year_once(world, django_assert_max_num_queries):
    changed_years()
    compute_snapshots(year=YEAR)
    before = visits_count()
    for day in (20, 21, 22):
        VisitFactory(
            cadre=world.cadres["a1v1"],
            village=world.villages["a1v1"],
            date=datetime.date(YEAR, 5, day),
        )
    assert refresh_changed.delay().get() == [YEAR]
    assert visits_count() == before + 3
    assert visits_count("county", world.county_a.pk) == before - 1 + 3
    # nothing new: one cheap look per watched table, no recomputation
    with django_assert_max_num_queries(25):
        assert refresh_changed.delay().get() == []


def test_a_star_award_and_a_dispute_mark_their_years(world):
    from tests.disputes.factories import DisputeFactory
    from tests.stars.factories import hold

    changed_years()
    hold(world.branches["b1v2"], "branch", year=YEAR)
    DisputeFactory(village=world.villages["b1v2"], registered_on=datetime.date(YEAR - 1, 8, 1))
    assert changed_years() == {YEAR, YEAR - 1}


def test_a_roster_change_marks_every_live_year(world):
    from tests.factories import RosterEntryFactory, VillageFactory

    changed_years()
    RosterEntryFactory(roster=world.roster, village=VillageFactory(township=world.townships["B1"]))
    assert {YEAR - 1, YEAR, datetime.date.today().year} <= changed_years()


def test_nightly_task_computes_every_live_year(world):
    years = compute_live_years.delay().get()
    assert YEAR in years and YEAR - 1 in years
    assert IndicatorSnapshot.objects.filter(year=YEAR - 1).exists()


def test_beat_runs_the_nightly_and_the_change_tasks():
    from django.conf import settings

    from xuchang_portal.celery import app

    tasks = {entry["task"]: entry["schedule"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert "dashboards.tasks.compute_live_years" in tasks
    assert tasks["dashboards.tasks.refresh_changed"] <= 60  # "within a minute"
    app.loader.import_default_modules()
    assert {"dashboards.tasks.compute_live_years", "dashboards.tasks.refresh_changed"} <= set(
        app.tasks
    )
