"""The dashboards keep their promise ("数据变动后一分钟内更新") in both modes.

With beat (a broker), `dashboards.tasks.refresh_changed` looks for changes every 30 s and
a dashboard request never computes. Without beat (the embedded default of `make run`:
no broker, eager tasks), a dashboard page, export or API request whose last look is 30 s
old looks for changes itself and recomputes the touched years (in a background thread,
or in the request inside a transaction, which a thread could not see into); between two
looks a request costs one cache read and no query."""

import datetime
import re
import threading
import uuid
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from dashboards import selectors, services
from dashboards.models import IndicatorSnapshot
from dashboards.services import changed_years, compute_snapshots
from dashboards.tasks import refresh_changed
from tests.dashboards.conftest import YEAR
from tests.visits.helpers import VisitFactory
from visits.models import Visit
from visits.services import visit_create

NOW = datetime.datetime(YEAR, 6, 10, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
A_MINUTE_LATER = 59  # seconds: past the 30 s between two looks, within the promised minute


@pytest.fixture
def clock():
    """The clock at NOW, still (tick=False); `clock.shift(seconds)` moves it. Listed
    before `world`, so the world is built at NOW too."""
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def in_requests(settings):
    settings.DASHBOARDS_REFRESH_IN_REQUESTS = True


@pytest.fixture
def with_beat(settings):
    settings.DASHBOARDS_REFRESH_IN_REQUESTS = False


def county_page(world) -> str:
    return f"/dashboards/county/{world.county_a.pk}/?year={YEAR}"


def visits_shown(html: str) -> int:
    """The 下沉走访 figure on a dashboard page."""
    found = re.search(
        r'data-indicator="visits".*?<div class="dash-value-sm">([\d,]+)</div>', html, re.S
    )
    assert found, html[:2000]
    return int(found.group(1).replace(",", ""))


def snapshot_visits(world) -> int:
    return IndicatorSnapshot.objects.get(
        indicator="visits", year=YEAR, area_level="county", area_id=world.county_a.pk
    ).numerator


def log_visit(cadre_user, world, day: int) -> Visit:
    """A visit logged by the cadre of a1v1 through the service, as the form does."""
    visit, created = visit_create(
        actor=cadre_user,
        client_uuid=uuid.uuid4(),
        village=world.villages["a1v1"],
        date=datetime.date(YEAR, 6, day),
        day_part=Visit.DayPart.FULL,
        activities=[Visit.Activity.HOUSEHOLD],
        meetings=1,
        people_reached=10,
        households_visited=4,
    )
    assert created
    return visit


def test_without_a_broker_the_requests_refresh():
    """No broker means no beat (`make run`, eager tasks): the requests refresh."""
    import os

    from xuchang_portal.settings import base

    if "DASHBOARDS_REFRESH_IN_REQUESTS" not in os.environ:
        assert base.DASHBOARDS_REFRESH_IN_REQUESTS == base.CELERY_TASK_ALWAYS_EAGER


def test_without_beat_a_visit_logged_now_shows_on_the_county_dashboard_within_a_minute(
    clock, world, in_requests, cadre_user, county_official, client, login
):
    compute_snapshots(year=YEAR)
    login(client, county_official)
    page = county_page(world)
    before = visits_shown(client.get(page).content.decode())
    log_visit(cadre_user, world, day=10)

    # a moment later the last look is recent: the page is served as it was
    clock.shift(5)
    assert visits_shown(client.get(page).content.decode()) == before

    # within the minute: the page looks, recomputes the visit's year, and counts it
    clock.shift(A_MINUTE_LATER - 5)
    html = client.get(page).content.decode()
    assert visits_shown(html) == before + 1
    assert "数据更新中" not in html


def test_without_beat_the_api_and_the_export_bring_the_figures_up_to_date(
    clock, world, in_requests, cadre_user, county_official, client, login
):
    compute_snapshots(year=YEAR)
    login(client, county_official)
    api = "/api/indicators/"
    query = {"year": YEAR, "area": f"county:{world.county_a.pk}"}

    def api_visits():
        data = client.get(api, query).json()
        assert data["refreshing"] is False
        return {f["indicator"]: f["numerator"] for f in data["indicators"]}["visits"]

    before = api_visits()
    log_visit(cadre_user, world, day=10)
    clock.shift(A_MINUTE_LATER)
    assert api_visits() == before + 1

    log_visit(cadre_user, world, day=7)
    clock.shift(A_MINUTE_LATER)
    export = client.get(f"/dashboards/county/{world.county_a.pk}/export/?year={YEAR}")
    assert export.status_code == 200
    assert snapshot_visits(world) == before + 2


def test_with_beat_a_dashboard_request_never_computes(
    clock, world, with_beat, cadre_user, county_official, client, login
):
    compute_snapshots(year=YEAR)
    changed_years()  # beat's first run has set the cursors
    computed_at = IndicatorSnapshot.objects.filter(year=YEAR).values_list("computed_at").first()
    login(client, county_official)
    page = county_page(world)
    before = visits_shown(client.get(page).content.decode())
    log_visit(cadre_user, world, day=10)
    clock.shift(A_MINUTE_LATER)

    with CaptureQueriesContext(connection) as queries:
        assert visits_shown(client.get(page).content.decode()) == before
    sql = " ".join(q["sql"] for q in queries.captured_queries)
    assert "dashboards_changecursor" not in sql and "visits_historicalvisit" not in sql
    assert "INSERT" not in sql and "DELETE" not in sql
    assert (
        IndicatorSnapshot.objects.filter(year=YEAR).values_list("computed_at").first()
        == computed_at
    )

    # beat's run counts it, and the page shows it
    assert refresh_changed.delay().get() == [YEAR]
    assert visits_shown(client.get(page).content.decode()) == before + 1


def test_a_fresh_page_costs_no_query_for_the_refresh(
    clock, world, settings, county_official, client, login
):
    """Between two looks: one cache read. After the interval with nothing pending: one
    look (a query per watched table), and nothing computed."""
    compute_snapshots(year=YEAR)
    login(client, county_official)
    page = county_page(world)

    def page_queries() -> list[str]:
        with CaptureQueriesContext(connection) as queries:
            assert client.get(page).status_code == 200
        return [q["sql"] for q in queries.captured_queries]

    settings.DASHBOARDS_REFRESH_IN_REQUESTS = True
    page_queries()  # the first look, and the body rendered and cached
    fresh = page_queries()
    settings.DASHBOARDS_REFRESH_IN_REQUESTS = False
    assert len(page_queries()) == len(fresh)

    settings.DASHBOARDS_REFRESH_IN_REQUESTS = True
    clock.shift(A_MINUTE_LATER)
    looked = page_queries()
    assert len(looked) <= len(fresh) + len(services.WATCHED) + 3
    assert not [q for q in looked if q.startswith(("INSERT", "DELETE", "UPDATE"))]
    assert len(page_queries()) == len(fresh)  # the next look is 30 s away


def test_the_first_look_counts_a_change_made_after_the_last_computation(world):
    """`make run`: the demo computes the snapshots, a cadre logs a visit, and only then
    does anything look for changes. That visit is not skipped."""
    compute_snapshots(year=YEAR)
    VisitFactory(
        cadre=world.cadres["a1v1"], village=world.villages["a1v1"], date=datetime.date(YEAR, 6, 3)
    )
    assert changed_years() == {YEAR}
    assert changed_years() == set()


def test_an_empty_year_states_the_promise_of_each_mode(
    world, settings, county_official, client, login
):
    login(client, county_official)
    empty = f"/dashboards/county/{world.county_a.pk}/?year=2090"
    settings.DASHBOARDS_REFRESH_IN_REQUESTS = True
    assert "打开看板时自动检查数据变动，变动后一分钟内更新" in client.get(empty).content.decode()
    # the mode is fixed for a running site: the rendered body may be cached (Redis)
    cache.clear()
    settings.DASHBOARDS_REFRESH_IN_REQUESTS = False
    assert "数据每晚自动计算，也会在数据变动后一分钟内更新" in client.get(empty).content.decode()


def _refresh_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "dashboards-refresh"]


@pytest.mark.django_db(transaction=True)
def test_without_beat_a_long_recomputation_runs_once_in_the_background_and_the_page_says_so(
    world, in_requests, county_official, client, login, monkeypatch
):
    compute_snapshots(year=YEAR)
    changed_years()
    login(client, county_official)
    page = county_page(world)
    VisitFactory(
        cadre=world.cadres["a1v1"], village=world.villages["a1v1"], date=datetime.date(YEAR, 6, 3)
    )
    before = snapshot_visits(world)

    # a recomputation that takes longer than the request waits for it
    release = threading.Event()
    compute = services.compute_snapshots

    def slow_compute(**kwargs):
        assert release.wait(30)
        return compute(**kwargs)

    monkeypatch.setattr(services, "compute_snapshots", slow_compute)
    monkeypatch.setattr(services, "REFRESH_WAIT_SECONDS", 0.05)

    html = client.get(page).content.decode()
    assert "数据更新中" in html and 'hx-get="/dashboards/refresh/status/"' in html
    assert len(_refresh_threads()) == 1
    # another request meanwhile, even one due to look (the lock): no second computation
    from django.core.cache import cache

    cache.delete(selectors.LOOKED_KEY)
    assert "数据更新中" in client.get(page).content.decode()
    assert len(_refresh_threads()) == 1
    poll = client.get("/dashboards/refresh/status/")
    assert "数据更新中" in poll.content.decode() and "HX-Refresh" not in poll

    release.set()
    for thread in _refresh_threads():
        thread.join(30)
    assert not _refresh_threads()
    poll = client.get("/dashboards/refresh/status/")
    assert poll["HX-Refresh"] == "true"
    assert snapshot_visits(world) == before + 1
    html = client.get(page).content.decode()
    assert "数据更新中" not in html
    assert visits_shown(html) == before + 1


@pytest.mark.django_db(transaction=True)
def test_a_failed_background_recomputation_is_retried_at_the_next_look(
    world, in_requests, county_official, client, login, monkeypatch, caplog
):
    compute_snapshots(year=YEAR)
    changed_years()
    login(client, county_official)
    VisitFactory(
        cadre=world.cadres["a1v1"], village=world.villages["a1v1"], date=datetime.date(YEAR, 6, 3)
    )
    before = snapshot_visits(world)

    def fails(**kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(services, "compute_snapshots", fails)
    client.get(county_page(world))
    for thread in _refresh_threads():
        thread.join(30)
    assert "看板数据后台更新失败" in caplog.text
    assert snapshot_visits(world) == before
    monkeypatch.undo()

    from django.core.cache import cache

    assert cache.get(selectors.REFRESH_LOCK) is None  # released
    cache.delete(selectors.LOOKED_KEY)  # the next look is due
    client.get(county_page(world))
    for thread in _refresh_threads():
        thread.join(30)
    assert snapshot_visits(world) == before + 1


def test_a_look_is_due_after_the_interval_or_when_the_clock_was_set_back():
    from django.core.cache import cache

    with time_machine.travel(NOW, tick=False) as traveller:
        assert selectors.refresh_due()  # never looked
        cache.set(selectors.LOOKED_KEY, NOW.timestamp(), None)
        traveller.shift(selectors.REFRESH_EVERY - 1)
        assert not selectors.refresh_due()
        traveller.shift(1)
        assert selectors.refresh_due()
        traveller.shift(-3600)  # the clock set back an hour: the look lies ahead
        assert selectors.refresh_due()
