"""The signed-in user kept in the shared cache (villages.auth): read without a query, and
dropped whenever what decides who the login is and what it sees changes. The copy is plain
values without the password hash, e-mail or phone number, and is keyed by the database's
identity, so a recreated database never meets it."""

import datetime
import os
import pickle
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from tests.factories import CadreFactory, UserFactory, UserRoleFactory
from villages.auth import (
    PortalModelBackend,
    forget_database_identity,
    forget_logins,
    login_cache_key,
)
from villages.models import Installation

pytestmark = pytest.mark.django_db
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def login_cache(settings):
    """The production setting (a shared cache holds logins) on the test cache."""
    settings.LOGIN_CACHE_SECONDS = 120
    cache.clear()
    yield
    cache.clear()
    forget_database_identity()


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
    copy = cache.get(login_cache_key(county_official.pk))
    assert copy["role"]["county_id"] == area.county_a.pk


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


def _reads_user(user_id) -> int:
    """How many user queries one `get_user` of the backend makes (0: from the cache)."""
    with CaptureQueriesContext(connection) as captured:
        assert PortalModelBackend().get_user(user_id) is not None
    return sum(1 for q in captured if 'FROM "auth_user"' in q["sql"])


def test_bulk_writes_retire_the_logins_they_name(login_cache, area, cadre_user):
    assert (_reads_user(cadre_user.pk), _reads_user(cadre_user.pk)) == (1, 0)
    forget_logins([cadre_user.pk, None])
    assert _reads_user(cadre_user.pk) == 1


def test_a_login_cached_while_its_rows_change_is_not_used_after_the_commit(
    login_cache, area, county_official, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        forget_logins([county_official.pk])
        # another request loads the rows about to change, and caches them, meanwhile
        assert _reads_user(county_official.pk) == 1
        assert _reads_user(county_official.pk) == 0
    assert _reads_user(county_official.pk) == 1  # the copy of the old rows is not used


def test_signing_in_keeps_the_cached_login(login_cache, area, county_official):
    _reads_user(county_official.pk)
    county_official.last_login = timezone.now()
    county_official.save(update_fields=["last_login"])
    assert _reads_user(county_official.pk) == 0


def test_a_township_moved_to_another_county_moves_its_officials(
    login_cache, client, area, township_official
):
    client.force_login(township_official)
    url = reverse("villages:village_detail", args=[area.villages["b1v1"].pk])
    assert client.get(url).status_code == 404
    township = area.townships["A1"]
    township.county = area.county_b
    township.save()
    # the official of 甲一镇 now sits in 乙县, and sees it
    assert (
        client.get(reverse("villages:village_detail", args=[area.villages["a1v1"].pk])).status_code
        == 200
    )
    copy = cache.get(login_cache_key(township_official.pk))
    assert copy is None or copy["township_county"]["id"] == area.county_b.pk


def test_a_cache_that_fails_is_read_around(login_cache, area, county_official, monkeypatch):
    from django.core.cache import caches

    def broken(*args, **kwargs):
        raise RuntimeError("unpickling a copy from an older release")

    monkeypatch.setattr(caches["default"], "get_many", broken)
    monkeypatch.setattr(caches["default"], "set", broken)
    assert _reads_user(county_official.pk) == 1


def test_a_renamed_cadre_drops_the_login(login_cache, client, area):
    user = UserFactory(username="renamed_cadre")
    UserRoleFactory(user=user, role="cadre")
    cadre = CadreFactory(name="旧名字", work_unit=area.units["A"], user=user)
    client.force_login(user)
    client.get(reverse("home"))
    assert cache.get(login_cache_key(user.pk))["cadre"]["name"] == "旧名字"
    cadre.name = "新名字"
    cadre.save(update_fields=["name"])
    assert cache.get(login_cache_key(user.pk)) is None
    assert _reads_user(user.pk) == 1


def test_a_retirement_reaches_redis_in_the_quiet_spell_after_an_error(
    login_cache, area, county_official
):
    import time

    from django.core.cache import caches

    from core.cache import FaultTolerantRedisCache

    backend = caches["default"]
    if not isinstance(backend, FaultTolerantRedisCache):
        pytest.skip("needs the Redis cache (CACHE_URL/REDIS_URL, as in CI's PostgreSQL pass)")
    assert (_reads_user(county_official.pk), _reads_user(county_official.pk)) == (1, 0)
    backend._down_until = time.monotonic() + 60  # as for a few seconds after a Redis error
    try:
        forget_logins([county_official.pk])
    finally:
        backend._down_until = 0.0
    # other workers, which reach Redis, no longer use the copy
    assert _reads_user(county_official.pk) == 1


# ----- what the copy holds, and whose database it is (issue 15) -----


def _plain(value) -> bool:
    if isinstance(value, dict):
        return all(isinstance(k, str) and _plain(v) for k, v in value.items())
    return value is None or isinstance(value, (str, int, float, datetime.datetime))


def test_the_cached_login_is_plain_values_without_password_email_or_phone(
    login_cache, client, area
):
    user = UserFactory(username="plain_cadre", email="plain-cadre@example.org")
    UserRoleFactory(user=user, role="cadre")
    CadreFactory(name="张三", phone="13912345678", work_unit=area.units["A"], user=user)
    client.force_login(user)
    assert client.get(reverse("home")).status_code == 200

    copy = cache.get(login_cache_key(user.pk))
    assert isinstance(copy, dict) and _plain(copy)
    stored = pickle.dumps(copy)
    for secret in (user.password, "plain-cadre@example.org", "13912345678"):
        assert secret.encode() not in stored
    assert b"model_unpickle" not in stored and b"villages.models" not in stored

    # the request's user comes from the copy; what it left out is read only when asked for
    with CaptureQueriesContext(connection) as captured:
        loaded = PortalModelBackend().get_user(user.pk)
        assert loaded.cadre.name == "张三" and loaded.portal_role.role == "cadre"
    assert len(captured) == 0
    assert loaded.email == "plain-cadre@example.org"
    assert loaded.cadre.phone == "13912345678"


def test_a_login_read_from_the_copy_saves_only_what_it_holds(login_cache, area, county_official):
    user_model = get_user_model()
    county_official.email = "county-a@example.org"
    county_official.save()
    assert (_reads_user(county_official.pk), _reads_user(county_official.pk)) == (1, 0)
    stored = user_model.objects.get(pk=county_official.pk)

    loaded = PortalModelBackend().get_user(county_official.pk)
    assert loaded.get_session_auth_hash() == stored.get_session_auth_hash()
    loaded.first_name = "改名"
    loaded.save()
    row = user_model.objects.get(pk=county_official.pk)
    assert row.first_name == "改名"
    assert (row.password, row.email) == (stored.password, "county-a@example.org")

    loaded = PortalModelBackend().get_user(county_official.pk)
    loaded.set_password("a-new-password-7310")
    # a password set on the object decides its session hash, not the copy's
    assert loaded.get_session_auth_hash() != stored.get_session_auth_hash()
    loaded.save()
    assert user_model.objects.get(pk=county_official.pk).check_password("a-new-password-7310")


def test_a_recreated_database_never_meets_the_logins_cached_for_the_old_one(
    login_cache, client, area, county_official
):
    url = reverse("home")
    client.force_login(county_official)
    assert client.get(url).status_code == 200
    assert cache.get(login_cache_key(county_official.pk)) is not None  # the cache is warm

    # The database is recreated (or another deployment's is used) under the warm cache: it
    # has its own identity, and its user with the same id is somebody else. The rows are
    # written past the signals, as a new database is.
    Installation.objects.update(install_id=uuid.uuid4())
    forget_database_identity()  # a process started on the new database reads it anew
    get_user_model().objects.filter(pk=county_official.pk).update(
        username="someone_else", first_name="另一人", password=make_password("other-pass-7731")
    )
    other = Client()
    other.force_login(get_user_model().objects.get(pk=county_official.pk))
    for _ in range(3):  # no 302 storm, and never the old database's user
        response = other.get(url)
        assert response.status_code == 200
        assert "另一人" in response.content.decode()
    copy = cache.get(login_cache_key(county_official.pk))
    assert copy["user"]["username"] == "someone_else"


def test_the_database_identity_is_one_row_that_stays():
    drawn = Installation.current_id()  # drawn by migration 0009 (or now, after a flush)
    assert Installation.current_id() == drawn
    assert list(Installation.objects.values_list("pk", "install_id")) == [(1, drawn)]


def test_each_deployment_keys_the_cache_with_its_own_prefix(settings):
    assert cache.make_key("k").startswith(f"{settings.CACHE_KEY_PREFIX}:")
    code = (
        "import django; django.setup(); from django.core.cache import caches; "
        "print(caches['default'].make_key('k'))"
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "xuchang_portal.settings.test",
        "CACHE_KEY_PREFIX": "deployment-b",
    }
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "deployment-b:1:k"
