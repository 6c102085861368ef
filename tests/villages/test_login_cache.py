"""The signed-in user kept in the shared cache (villages.auth): read without a query, and
dropped whenever what decides who the login is and what it sees changes."""

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.factories import CadreFactory, UserFactory, UserRoleFactory
from villages.auth import forget_logins, login_cache_key

pytestmark = pytest.mark.django_db


@pytest.fixture
def login_cache(settings):
    """The production setting (a shared cache holds logins) on the test cache."""
    settings.LOGIN_CACHE_SECONDS = 120
    cache.clear()
    yield
    cache.clear()


def _user_queries(client, url) -> tuple[int, list[str]]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    user_table = get_user_model()._meta.db_table
    user_reads = [
        q["sql"]
        for q in captured
        if q["sql"].lstrip().upper().startswith("SELECT") and f'FROM "{user_table}"' in q["sql"]
    ]
    return response.status_code, user_reads


def test_the_second_request_reads_the_login_from_the_cache(
    login_cache, client, area, county_official
):
    client.force_login(county_official)
    url = reverse("villages:village_detail", args=[area.villages["a1v1"].pk])
    status, reads = _user_queries(client, url)
    assert status == 200 and len(reads) == 1  # loaded once, with role and cadre
    status, reads = _user_queries(client, url)
    assert status == 200 and reads == []
    assert cache.get(login_cache_key(county_official.pk)).portal_role.county_id == (
        area.county_a.pk
    )


def test_without_a_shared_cache_nothing_is_kept(settings, client, area, county_official):
    settings.LOGIN_CACHE_SECONDS = 0
    cache.clear()
    client.force_login(county_official)
    url = reverse("villages:village_detail", args=[area.villages["a1v1"].pk])
    for _ in range(2):
        status, reads = _user_queries(client, url)
        assert status == 200 and len(reads) == 1
    assert cache.get(login_cache_key(county_official.pk)) is None


def test_a_moved_role_takes_effect_on_the_next_request(login_cache, client, area, county_official):
    client.force_login(county_official)
    own = reverse("villages:village_detail", args=[area.villages["a1v1"].pk])
    other = reverse("villages:village_detail", args=[area.villages["b1v1"].pk])
    assert client.get(own).status_code == 200
    assert client.get(other).status_code == 404
    role = county_official.portal_role
    role.county = area.county_b
    role.save()
    assert client.get(own).status_code == 404
    assert client.get(other).status_code == 200


def test_a_deactivated_login_is_signed_out_at_once(login_cache, client, area, county_official):
    client.force_login(county_official)
    url = reverse("villages:village_detail", args=[area.villages["a1v1"].pk])
    assert client.get(url).status_code == 200
    county_official.is_active = False
    county_official.save(update_fields=["is_active"])
    response = client.get(url)
    assert response.status_code == 302 and reverse("login") in response["Location"]


def test_a_changed_password_ends_the_other_sessions(login_cache, client, area, county_official):
    client.force_login(county_official)
    url = reverse("villages:village_detail", args=[area.villages["a1v1"].pk])
    assert client.get(url).status_code == 200
    user = get_user_model().objects.get(pk=county_official.pk)
    user.set_password("a-new-password-4821")
    user.save()
    response = client.get(url)
    assert response.status_code == 302 and reverse("login") in response["Location"]


def test_a_cadre_record_moved_to_another_login_leaves_the_first(login_cache, client, area):
    first = UserFactory(username="first_cadre")
    UserRoleFactory(user=first, role="cadre")
    second = UserFactory(username="second_cadre")
    UserRoleFactory(user=second, role="cadre")
    cadre = area.cadres["a1v1"]
    cadre.user = first
    cadre.save(update_fields=["user"])
    client.force_login(first)
    url = reverse("villages:village_detail", args=[area.villages["a1v1"].pk])
    assert client.get(url).status_code == 200
    cadre.user = second
    cadre.save(update_fields=["user"])
    assert client.get(url).status_code == 404  # the first login has no 联系点 any more


def test_a_deleted_role_is_dropped(login_cache, client, area, county_official):
    client.force_login(county_official)
    url = reverse("villages:village_detail", args=[area.villages["a1v1"].pk])
    assert client.get(url).status_code == 200
    county_official.portal_role.delete()
    assert client.get(url).status_code == 404


def test_bulk_writes_drop_the_logins_they_name(login_cache, client, area, cadre_user):
    client.force_login(cadre_user)
    client.get(reverse("villages:village_detail", args=[area.villages["a1v1"].pk]))
    assert cache.get(login_cache_key(cadre_user.pk)) is not None
    forget_logins([cadre_user.pk, None])
    assert cache.get(login_cache_key(cadre_user.pk)) is None


def test_a_login_cached_during_a_transaction_is_dropped_again_at_commit(
    login_cache, area, county_official, django_capture_on_commit_callbacks
):
    key = login_cache_key(county_official.pk)
    with django_capture_on_commit_callbacks(execute=True):
        forget_logins([county_official.pk])
        # another request loads the rows about to change and caches them meanwhile
        cache.set(key, county_official, 120)
    assert cache.get(key) is None


def test_a_renamed_cadre_drops_the_login(login_cache, client, area):
    user = UserFactory(username="renamed_cadre")
    UserRoleFactory(user=user, role="cadre")
    cadre = CadreFactory(name="旧名字", work_unit=area.units["A"], user=user)
    client.force_login(user)
    client.get(reverse("home"))
    assert cache.get(login_cache_key(user.pk)).cadre.name == "旧名字"
    cadre.name = "新名字"
    cadre.save(update_fields=["name"])
    assert cache.get(login_cache_key(user.pk)) is None
