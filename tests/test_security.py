"""Security settings that must hold in every environment: CSP with nonces, account lockout
(django-axes), the production settings module and the password validators."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError

from tests.factories import UserFactory

pytestmark = pytest.mark.filterwarnings("ignore:No directory at:UserWarning")

REPO_ROOT = Path(__file__).resolve().parents[1]


def csp_directives(response) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]
    directives = {}
    for part in header.split(";"):
        words = part.split()
        if words:
            directives[words[0]] = words[1:]
    return directives


# ----- Content Security Policy -----


@pytest.mark.django_db
def test_csp_header_has_self_default_and_a_script_nonce(client):
    # when
    response = client.get("/accounts/login/")

    # then
    directives = csp_directives(response)
    assert directives["default-src"] == ["'self'"]
    script_src = directives["script-src"]
    assert "'self'" in script_src
    assert "'unsafe-inline'" not in script_src
    assert "'unsafe-eval'" not in script_src
    nonces = [s for s in script_src if s.startswith("'nonce-")]
    assert len(nonces) == 1
    assert directives["frame-ancestors"] == ["'none'"]
    assert directives["object-src"] == ["'none'"]
    # every script on the page carries that nonce
    nonce = nonces[0].removeprefix("'nonce-").removesuffix("'")
    scripts = re.findall(r"<script\b[^>]*>", response.content.decode())
    assert scripts
    for tag in scripts:
        assert f'nonce="{nonce}"' in tag, tag


@pytest.mark.django_db
def test_csp_nonce_changes_per_request(client):
    first = csp_directives(client.get("/accounts/login/"))["script-src"]
    second = csp_directives(client.get("/accounts/login/"))["script-src"]

    assert first != second


@pytest.mark.django_db
def test_signed_in_pages_have_the_csp_and_no_inline_styles_allowed(client, county_official):
    client.force_login(county_official)

    response = client.get("/")

    directives = csp_directives(response)
    assert "'unsafe-inline'" not in directives["style-src"]
    assert "'unsafe-inline'" not in directives["script-src"]
    for tag in re.findall(r"<script\b[^>]*>", response.content.decode()):
        # the chart data is a json_script block: not executable, no nonce needed
        if 'type="application/json"' not in tag:
            assert "nonce=" in tag, tag


@pytest.mark.django_db
def test_other_security_headers(client):
    response = client.get("/accounts/login/")

    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"


# ----- django-axes: lock an account after 5 failed logins -----


@pytest.fixture
def official(db):
    user = UserFactory(username="locked_official")
    user.set_password("correct-horse-42")
    user.save()
    return user


def _login(client, password):
    return client.post("/accounts/login/", {"username": "locked_official", "password": password})


@pytest.mark.django_db
def test_five_failed_logins_lock_the_account(axes_on, client, official):
    # given
    failures = [_login(client, f"wrong-{i}") for i in range(5)]

    # when
    response = _login(client, "correct-horse-42")

    # then
    assert [r.status_code for r in failures[:4]] == [200] * 4
    assert response.status_code == 429
    html = response.content.decode()
    assert "登录失败次数过多" in html
    assert "账号已被临时锁定" in html
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_four_failed_logins_do_not_lock_the_account(axes_on, client, official):
    # given
    for i in range(4):
        _login(client, f"wrong-{i}")

    # when
    response = _login(client, "correct-horse-42")

    # then
    assert response.status_code == 302
    assert int(client.session["_auth_user_id"]) == official.pk


@pytest.mark.django_db
def test_lockout_is_per_account_not_per_address(axes_on, client, official):
    # given: one colleague behind the same NAT address locks their own account
    colleague = UserFactory(username="colleague")
    colleague.set_password("another-pass-77")
    colleague.save()
    for i in range(5):
        _login(client, f"wrong-{i}")

    # when
    response = client.post(
        "/accounts/login/", {"username": "colleague", "password": "another-pass-77"}
    )

    # then
    assert response.status_code == 302


# ----- production settings -----


def _run_production(code: str, **env_overrides) -> subprocess.CompletedProcess:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": os.environ.get("HOME", "/root"),
        "LANG": "C.UTF-8",
        "DJANGO_SETTINGS_MODULE": "xuchang_portal.settings.production",
        # a developer's .env (if any) must not supply the values under test
        "DJANGO_READ_DOT_ENV_FILE": "false",
        **env_overrides,
    }
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


PRINT_SETTINGS = """
import json, django
django.setup()
from django.conf import settings as s
print(json.dumps({name: getattr(s, name) for name in (
    "DEBUG", "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE", "SESSION_COOKIE_HTTPONLY",
    "SECURE_HSTS_SECONDS", "SECURE_HSTS_INCLUDE_SUBDOMAINS", "SECURE_SSL_REDIRECT",
    "SECURE_PROXY_SSL_HEADER", "SECRET_KEY",
)}))
"""


def test_production_settings_are_https_only():
    # when
    result = _run_production(PRINT_SETTINGS, SECRET_KEY="prod-like-secret-" + "x" * 40)

    # then
    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout.strip().splitlines()[-1])
    assert values["DEBUG"] is False
    assert values["SECRET_KEY"] == "prod-like-secret-" + "x" * 40
    assert values["SESSION_COOKIE_SECURE"] is True
    assert values["CSRF_COOKIE_SECURE"] is True
    assert values["SESSION_COOKIE_HTTPONLY"] is True
    assert values["SECURE_HSTS_SECONDS"] >= 31536000
    assert values["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is True
    assert values["SECURE_SSL_REDIRECT"] is True
    assert values["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]


def test_production_settings_refuse_to_start_without_secret_key():
    result = _run_production("import django; django.setup()")

    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "SECRET_KEY" in result.stderr


# ----- passwords -----


def test_password_validators_are_on():
    names = {v["NAME"].rsplit(".", 1)[-1] for v in django_settings.AUTH_PASSWORD_VALIDATORS}
    assert names == {
        "UserAttributeSimilarityValidator",
        "CommonPasswordValidator",
        # length, three of four character classes, no login name or phone (accounts)
        "PolicyValidator",
    }


def test_weak_passwords_are_rejected_in_chinese():
    with pytest.raises(ValidationError) as caught:
        validate_password("123")

    messages = " ".join(caught.value.messages)
    assert "密码" in messages
    assert len(caught.value.messages) >= 3  # too short, too common, all digits
    with pytest.raises(ValidationError):
        validate_password("password")
    assert validate_password("Xu-chang-2024-bangcun") is None
