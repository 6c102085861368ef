"""The cached dashboard body: which version it is cached under, and that a change to the
snapshots or the targets shows on the next request, with a shared cache (the generation)
and with a per-process one (the database is asked)."""

import pytest

from dashboards import selectors
from dashboards.models import Target
from dashboards.services import compute_snapshots, target_save
from tests.dashboards.conftest import YEAR
from tests.dashboards.test_pages import TODAY


@pytest.fixture
def computed(world):
    compute_snapshots(year=YEAR, today=TODAY)
    return world


@pytest.fixture(params=[True, False], ids=["shared-cache", "per-process-cache"])
def shared(request, monkeypatch):
    monkeypatch.setattr(selectors, "cache_is_shared", lambda: request.param)
    return request.param


def _area(world, user):
    return selectors.area_for_user(user=user, level="county", pk=world.county_a.pk)


def test_the_version_changes_when_snapshots_are_computed(computed, county_official, shared):
    area = _area(computed, county_official)
    before = selectors.page_version(area=area, year=YEAR)
    assert before is not None
    assert selectors.page_version(area=area, year=YEAR) == before  # stable between changes
    compute_snapshots(year=YEAR, today=TODAY)
    assert selectors.page_version(area=area, year=YEAR) != before


def test_the_version_changes_when_a_target_changes(computed, county_official, city_admin, shared):
    area = _area(computed, county_official)
    before = selectors.page_version(area=area, year=YEAR)
    target = Target.objects.filter(year=YEAR).first() or Target.objects.first()
    target.threshold = target.threshold + 1
    target_save(actor=city_admin, target=target)
    assert selectors.page_version(area=area, year=YEAR) != before


def test_a_new_target_shows_on_the_cached_page(
    computed, county_official, city_admin, client, login, shared
):
    login(client, county_official)
    page = f"/dashboards/county/{computed.county_a.pk}/?year={YEAR}"
    body = client.get(page).content.decode()
    assert "12,345" not in body
    target = Target.objects.filter(year=YEAR, indicator="five_star_count").first()
    if target is None:
        target = Target(year=YEAR, indicator="five_star_count", comparison="gte")
    target.threshold, target.area_level = 12345, ""
    target_save(actor=city_admin, target=target)
    assert "不低于12,345" in client.get(page).content.decode()


def test_with_a_shared_cache_an_officials_own_dashboard_reads_only_the_login(
    computed, county_official, township_official, client, login, monkeypatch
):
    """The body comes from the cache under the generation, and the official's own county or
    township arrived with the login: no dashboards, county or township query."""
    monkeypatch.setattr(selectors, "cache_is_shared", lambda: True)
    for user, page in (
        (county_official, f"/dashboards/county/{computed.county_a.pk}/?year={YEAR}"),
        (township_official, f"/dashboards/township/{computed.townships['A1'].pk}/?year={YEAR}"),
    ):
        login(client, user)
        assert client.get(page).status_code == 200  # renders and caches the body
        from django.db import connection
        from django.test.utils import CaptureQueriesContext

        with CaptureQueriesContext(connection) as queries:
            assert client.get(page).status_code == 200
        tables = " ".join(q["sql"] for q in queries.captured_queries)
        assert "dashboards_" not in tables
        assert 'FROM "villages_county"' not in tables
        assert 'FROM "villages_township"' not in tables
        # the login (user, role, area) and, without a shared session cache, the session
        assert len(queries.captured_queries) <= 2, tables


def test_own_area_of_needs_the_area_loaded_with_the_login(
    county_official, township_official, cadre_user, django_assert_num_queries
):
    from django.contrib.auth import get_user_model

    from villages.selectors import own_area_of

    assert own_area_of(cadre_user) is None
    plain = get_user_model().objects.get(pk=county_official.pk)  # role not loaded
    with django_assert_num_queries(0):
        assert own_area_of(plain) is None
    from villages.auth import PortalModelBackend

    loaded = PortalModelBackend().get_user(county_official.pk)
    with django_assert_num_queries(0):
        assert own_area_of(loaded) == county_official.portal_role.county
    loaded = PortalModelBackend().get_user(township_official.pk)
    with django_assert_num_queries(0):
        assert own_area_of(loaded) == township_official.portal_role.township
