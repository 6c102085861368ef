"""Issue 15, point 5: the client's address is decided in one place
(core.client_ip), X-Forwarded-For is believed only from the configured proxies and
never stored as sent, and the login lockout is per username AND address, so failures from
one address never lock the same account elsewhere."""

import re
from pathlib import Path

import pytest
from django.test import RequestFactory
from simple_history.models import HistoricalRecords

from core.client_ip import client_address, client_ip
from core.history import request_meta
from tests.factories import UserFactory

ROOT = Path(__file__).resolve().parents[2]
PROXY = "10.0.0.5"
CLIENT = "198.51.100.4"
SPOOFED = "203.0.113.66"


def _request(remote=CLIENT, **meta):
    return RequestFactory().post("/probe/", REMOTE_ADDR=remote, **meta)


@pytest.fixture
def behind_nginx(settings):
    settings.TRUSTED_PROXIES = ["10.0.0.0/24"]
    settings.PROXY_COUNT = 1


# ----- one function decides -----


def test_without_trusted_proxies_the_header_is_never_read(settings):
    settings.TRUSTED_PROXIES = []
    request = _request(
        HTTP_X_FORWARDED_FOR=SPOOFED,
        HTTP_X_REAL_IP=SPOOFED,
        HTTP_CLIENT_IP=SPOOFED,
        HTTP_FORWARDED=f"for={SPOOFED}",
    )
    assert client_address(request).ip == CLIENT and client_address(request).via == ""


def test_a_client_that_is_not_a_trusted_proxy_cannot_name_another_address(behind_nginx):
    request = _request(remote=CLIENT, HTTP_X_FORWARDED_FOR=f"{SPOOFED}, 10.0.0.9")
    assert client_ip(request) == CLIENT


def test_behind_the_proxy_the_address_it_appended_is_the_client(behind_nginx):
    # the client sent its own header; nginx appended the address it was connected from
    request = _request(remote=PROXY, HTTP_X_FORWARDED_FOR=f"{SPOOFED}, junk, {CLIENT}")
    address = client_address(request)
    assert (address.ip, address.via) == (CLIENT, PROXY)


def test_two_proxies_count_from_the_right(settings):
    settings.TRUSTED_PROXIES = [PROXY]
    settings.PROXY_COUNT = 2
    request = _request(remote=PROXY, HTTP_X_FORWARDED_FOR=f"{SPOOFED}, {CLIENT}, 10.1.2.3")
    assert client_ip(request) == CLIENT


@pytest.mark.parametrize(
    "header",
    [None, "", "not-an-address", "999.1.1.1", "0.0.0.0"],
    ids=["absent", "empty", "text", "invalid", "unspecified"],
)
def test_a_proxy_request_without_a_usable_header_has_the_proxy_address(behind_nginx, header):
    meta = {} if header is None else {"HTTP_X_FORWARDED_FOR": header}
    assert client_address(_request(remote=PROXY, **meta)).ip == PROXY


def test_a_chain_shorter_than_the_proxies_is_not_believed(settings):
    settings.TRUSTED_PROXIES = [PROXY]
    settings.PROXY_COUNT = 2
    assert client_ip(_request(remote=PROXY, HTTP_X_FORWARDED_FOR=CLIENT)) == PROXY


def test_ipv6_and_mapped_addresses(behind_nginx):
    assert client_ip(_request(remote="::ffff:10.0.0.5", HTTP_X_FORWARDED_FOR="2001:db8::7")) == (
        "2001:db8::7"
    )
    assert client_ip(_request(remote="2001:db8::1", HTTP_X_FORWARDED_FOR=CLIENT)) == "2001:db8::1"


def test_a_misconfigured_proxy_list_is_refused_in_chinese(settings):
    from django.core.exceptions import ImproperlyConfigured

    settings.TRUSTED_PROXIES = ["nginx.local"]
    with pytest.raises(ImproperlyConfigured, match="TRUSTED_PROXIES"):
        client_ip(_request())


def test_nothing_else_reads_the_address_headers():
    """Every reader of REMOTE_ADDR / X-Forwarded-For goes through core.client_ip:
    the history rows, axes (AXES_CLIENT_IP_CALLABLE) and the API throttles."""
    pattern = re.compile(r"REMOTE_ADDR|X_FORWARDED_FOR|[\"']X-Forwarded-For[\"']", re.IGNORECASE)
    readers = []
    for app in ("core", "villages", "visits", "stars", "disputes", "dashboards", "xuchang_portal"):
        for path in (ROOT / app).rglob("*.py"):
            if "migrations" in path.parts or path.name == "client_ip.py":
                continue
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                code = line.split("#", 1)[0]
                if pattern.search(code):
                    readers.append(f"{path.relative_to(ROOT)}:{number}")
    assert readers == []


def test_axes_and_the_throttles_ask_the_one_function(settings):
    from axes.helpers import get_client_ip_address
    from rest_framework.throttling import BaseThrottle

    from core.api.throttling import UserWriteThrottle

    settings.TRUSTED_PROXIES = []
    request = _request(HTTP_X_FORWARDED_FOR=SPOOFED)
    assert settings.AXES_CLIENT_IP_CALLABLE == "core.client_ip.client_ip"
    assert get_client_ip_address(request) == CLIENT
    assert UserWriteThrottle().get_ident(request) == CLIENT
    assert BaseThrottle().get_ident(request) == SPOOFED  # what DRF alone would have believed


# ----- the history keeps the decided address, never the header as sent -----


def _history_meta(request):
    HistoricalRecords.context.request = request
    try:
        return request_meta(user=None)
    finally:
        del HistoricalRecords.context.request


def test_history_keeps_the_connecting_address_when_the_header_is_spoofed(settings):
    settings.TRUSTED_PROXIES = []
    meta = _history_meta(_request(HTTP_X_FORWARDED_FOR=f"<script>{'x' * 300}, {SPOOFED}"))
    assert (meta["history_ip"], meta["history_forwarded_for"]) == (CLIENT, "")


def test_history_keeps_the_client_and_the_proxy_behind_a_trusted_proxy(behind_nginx):
    meta = _history_meta(_request(remote=PROXY, HTTP_X_FORWARDED_FOR=f"{SPOOFED}, {CLIENT}"))
    assert (meta["history_ip"], meta["history_forwarded_for"]) == (CLIENT, PROXY)


# ----- the lockout: per username and address -----

PASSWORD = "correct-horse-42"
ADDRESS_A = "203.0.113.10"
ADDRESS_B = "203.0.113.20"


@pytest.fixture
def admin_account(db):
    user = UserFactory(username="admin", is_staff=True, is_superuser=True)
    user.set_password(PASSWORD)
    user.save()
    return user


def _portal_login(client, password, remote, **meta):
    return client.post(
        "/accounts/login/",
        {"username": "admin", "password": password},
        REMOTE_ADDR=remote,
        **meta,
    )


def _token_login(client, password, remote):
    return client.post(
        "/api/auth/token/", {"username": "admin", "password": password}, REMOTE_ADDR=remote
    )


@pytest.mark.django_db
def test_failures_from_one_address_do_not_lock_the_account_from_another(
    axes_on, client, admin_account
):
    from django.test import Client

    # given: someone at address A fails five times on `admin`
    for i in range(5):
        _portal_login(client, f"wrong-{i}", ADDRESS_A)

    # then: `admin` is locked from A, even with the right password, on every way in
    assert _portal_login(Client(), PASSWORD, ADDRESS_A).status_code == 429
    assert _token_login(Client(), PASSWORD, ADDRESS_A).status_code == 429
    # and signs in from B
    elsewhere = Client()
    assert _portal_login(elsewhere, PASSWORD, ADDRESS_B).status_code == 302
    assert int(elsewhere.session["_auth_user_id"]) == admin_account.pk
    assert _token_login(Client(), PASSWORD, ADDRESS_B).status_code == 200


@pytest.mark.django_db
def test_a_spoofed_header_neither_spreads_nor_escapes_the_lock(axes_on, client, admin_account):
    from axes.models import AccessAttempt
    from django.test import Client

    # given: five failures from A, each naming another address in X-Forwarded-For
    for i in range(5):
        _portal_login(client, f"wrong-{i}", ADDRESS_A, HTTP_X_FORWARDED_FOR=f"192.0.2.{i}")

    # then: all five were counted for A, and a new spoofed address does not get A out
    assert set(AccessAttempt.objects.values_list("ip_address", flat=True)) == {ADDRESS_A}
    locked = _portal_login(Client(), PASSWORD, ADDRESS_A, HTTP_X_FORWARDED_FOR=ADDRESS_B)
    assert locked.status_code == 429
    assert _portal_login(Client(), PASSWORD, ADDRESS_B).status_code == 302


@pytest.mark.django_db
def test_behind_the_proxy_each_client_address_has_its_own_count(
    axes_on, settings, client, admin_account
):
    from django.test import Client

    settings.TRUSTED_PROXIES = [PROXY]
    settings.PROXY_COUNT = 1
    for i in range(5):
        _portal_login(client, f"wrong-{i}", PROXY, HTTP_X_FORWARDED_FOR=ADDRESS_A)

    through_a = _portal_login(Client(), PASSWORD, PROXY, HTTP_X_FORWARDED_FOR=ADDRESS_A)
    through_b = _portal_login(Client(), PASSWORD, PROXY, HTTP_X_FORWARDED_FOR=ADDRESS_B)
    assert (through_a.status_code, through_b.status_code) == (429, 302)
