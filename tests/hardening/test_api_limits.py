"""Issue 15, point 5: the API throttles writes per user (reads never), with a Chinese 429,
and API tokens expire after API_TOKEN_TTL; the token login then issues a fresh one."""

import datetime

import pytest
import time_machine
from django.core.cache import cache
from django.utils import timezone
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from core.api.authentication import TOKEN_EXPIRED
from tests.factories import UserFactory

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.filterwarnings("ignore:No directory at:UserWarning"),
]
PASSWORD = "token-pass-5521"


@pytest.fixture
def write_rate(settings):
    settings.API_WRITE_RATE = "3/min"
    cache.clear()
    yield
    cache.clear()


def _client(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


# ----- writes are throttled per user -----


def test_writes_above_the_rate_get_a_chinese_429_and_reads_go_on(write_rate, area, cadre_user):
    client = _client(cadre_user)
    answers = [client.post("/api/visits/", {}, format="json").status_code for _ in range(3)]
    assert answers == [400, 400, 400]  # refused by validation, but counted

    throttled = client.post("/api/visits/", {}, format="json")
    assert throttled.status_code == 429
    detail = throttled.json()["detail"]
    assert detail.startswith("提交过于频繁") and "秒后再试" in detail
    assert 1 <= int(throttled["Retry-After"]) <= 60
    for method in ("put", "patch", "delete"):
        assert getattr(client, method)("/api/visits/1/", {}, format="json").status_code == 429

    # reads are never throttled
    assert all(client.get("/api/villages/").status_code == 200 for _ in range(5))


def test_the_count_is_per_user_and_runs_out(write_rate, area, cadre_user, county_official):
    client = _client(cadre_user)
    for _ in range(3):
        client.post("/api/visits/", {}, format="json")
    assert client.post("/api/visits/", {}, format="json").status_code == 429
    # another user is not held back by the first one's writes
    assert _client(county_official).post("/api/visits/", {}, format="json").status_code != 429
    # a minute later the user may write again
    with time_machine.travel(timezone.now() + datetime.timedelta(seconds=61)):
        assert client.post("/api/visits/", {}, format="json").status_code == 400


def test_the_token_login_is_counted_by_client_address(write_rate, db):
    UserFactory(username="api_client").set_password(PASSWORD)
    attempts = [
        APIClient().post(
            "/api/auth/token/", {"username": "nobody", "password": "x"}, REMOTE_ADDR="203.0.113.9"
        )
        for _ in range(4)
    ]
    assert [a.status_code for a in attempts] == [400, 400, 400, 429]
    # the same header from elsewhere names another address only through a trusted proxy
    other = APIClient().post(
        "/api/auth/token/",
        {"username": "nobody", "password": "x"},
        REMOTE_ADDR="203.0.113.10",
        HTTP_X_FORWARDED_FOR="203.0.113.9",
    )
    assert other.status_code == 400


# ----- tokens expire -----


@pytest.fixture
def api_user(db):
    user = UserFactory(username="api_client")
    user.set_password(PASSWORD)
    user.save()
    return user


def _token_login() -> str:
    response = APIClient().post(
        "/api/auth/token/", {"username": "api_client", "password": PASSWORD}
    )
    assert response.status_code == 200
    return response.json()["token"]


def _get_with(key):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client.get("/api/counties/")


def test_a_token_works_until_its_ttl_and_then_is_refused_in_chinese(settings, area, api_user):
    settings.API_TOKEN_TTL = datetime.timedelta(hours=24)
    issued = timezone.now()
    key = _token_login()
    assert _token_login() == key  # the valid token is handed out again
    with time_machine.travel(issued + datetime.timedelta(hours=23, minutes=59)):
        assert _get_with(key).status_code == 200
    with time_machine.travel(issued + datetime.timedelta(hours=24, seconds=1)):
        expired = _get_with(key)
        # 403, as for any failed authentication here (session authentication comes first)
        assert expired.status_code == 403
        assert expired.json() == {"detail": TOKEN_EXPIRED}


def test_the_token_login_issues_a_fresh_token_once_the_old_one_expired(settings, area, api_user):
    settings.API_TOKEN_TTL = datetime.timedelta(hours=24)
    old = _token_login()
    with time_machine.travel(timezone.now() + datetime.timedelta(days=2)):
        new = _token_login()
        assert new != old
        assert list(Token.objects.filter(user=api_user).values_list("key", flat=True)) == [new]
        assert _get_with(new).status_code == 200
        assert _get_with(old).status_code == 403
