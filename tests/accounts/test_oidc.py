"""Single sign-on (accounts.oidc) against a real OpenID Connect provider started inside the
test: a threaded HTTP server on 127.0.0.1 with /authorize, /token (RS256-signed ID tokens
carrying the nonce of the authorization request), /userinfo and /jwks. The portal talks to
it over HTTP exactly as it would to a 政务 gateway; the browser's part (following the
redirects) is played by the test client and `requests`."""

import json
import runpy
import secrets
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import jwt
import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import rsa
from django.contrib.auth import get_user_model
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone

from accounts import oidc
from accounts.models import Account, AccountEvent, UserSession
from accounts.services import MUST_CHANGE

CLIENT_ID = "xuchang-portal"
CLIENT_SECRET = "client-secret-for-tests"
KID = "provider-key-1"
BACKEND = "accounts.oidc.PortalOIDCBackend"


class Provider:
    """A small OpenID Connect provider for the authorization-code flow. `signs_in` is the
    person who "logs in" at /authorize next (their userinfo claims); `id_token_claims`
    and `signing_key` bend the next ID token (for the tokens the portal must refuse)."""

    def __init__(self):
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.signs_in: dict = {}
        self.id_token_claims: dict = {}
        self.signing_key = None
        self.codes: dict = {}
        self.access_tokens: dict = {}
        self.calls: list[str] = []
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def reset(self):
        self.signs_in, self.id_token_claims, self.signing_key = {}, {}, None
        self.codes.clear()
        self.access_tokens.clear()
        self.calls.clear()

    def jwks(self) -> dict:
        jwk = jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key(), as_dict=True)
        return {"keys": [{**jwk, "kid": KID, "alg": "RS256", "use": "sig"}]}

    def authorize(self, query: dict) -> tuple[int, dict, bytes]:
        redirect_uri = query.get("redirect_uri", "")
        if (
            query.get("response_type") != "code"
            or query.get("client_id") != CLIENT_ID
            or "openid" not in query.get("scope", "").split()
            or not redirect_uri
        ):
            return 400, {}, b"invalid_request"
        code = secrets.token_urlsafe(16)
        self.codes[code] = {
            "claims": dict(self.signs_in),
            "nonce": query.get("nonce"),
            "redirect_uri": redirect_uri,
        }
        location = f"{redirect_uri}?{urlencode({'code': code, 'state': query['state']})}"
        return 302, {"Location": location}, b""

    def token(self, form: dict) -> tuple[int, dict, bytes]:
        grant = self.codes.pop(form.get("code", ""), None)  # a code is good once
        if (
            grant is None
            or form.get("grant_type") != "authorization_code"
            or form.get("client_id") != CLIENT_ID
            or form.get("client_secret") != CLIENT_SECRET
            or form.get("redirect_uri") != grant["redirect_uri"]
        ):
            return 400, {"Content-Type": "application/json"}, b'{"error": "invalid_grant"}'
        now = int(time.time())
        claims = {
            "iss": self.url,
            "sub": grant["claims"]["sub"],
            "aud": CLIENT_ID,
            "iat": now,
            "exp": now + 300,
            "nonce": grant["nonce"],
            **self.id_token_claims,
        }
        id_token = jwt.encode(
            claims, self.signing_key or self.key, algorithm="RS256", headers={"kid": KID}
        )
        access_token = secrets.token_urlsafe(16)
        self.access_tokens[access_token] = grant["claims"]
        body = {
            "access_token": access_token,
            "token_type": "Bearer",
            "expires_in": 300,
            "id_token": id_token,
        }
        return 200, {"Content-Type": "application/json"}, json.dumps(body).encode()

    def userinfo(self, authorization: str) -> tuple[int, dict, bytes]:
        claims = self.access_tokens.get(authorization.removeprefix("Bearer "))
        if claims is None:
            return 401, {}, b""
        body = json.dumps(claims, ensure_ascii=False).encode()
        return 200, {"Content-Type": "application/json; charset=utf-8"}, body

    def _handler(self):
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                parts = urlsplit(self.path)
                provider.calls.append(parts.path)
                query = {k: v[0] for k, v in parse_qs(parts.query).items()}
                if parts.path == "/authorize":
                    self._answer(*provider.authorize(query))
                elif parts.path == "/userinfo":
                    self._answer(*provider.userinfo(self.headers.get("Authorization", "")))
                elif parts.path == "/jwks":
                    body = json.dumps(provider.jwks()).encode()
                    self._answer(200, {"Content-Type": "application/json"}, body)
                else:
                    self._answer(404, {}, b"")

            def do_POST(self):
                provider.calls.append(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
                if self.path == "/token":
                    self._answer(*provider.token(form))
                else:
                    self._answer(404, {}, b"")

            def _answer(self, status, headers, body):
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        return Handler


@pytest.fixture(scope="module")
def provider():
    running = Provider()
    running.thread.start()
    yield running
    running.server.shutdown()
    running.server.server_close()


@pytest.fixture
def sso_on(settings, provider):
    """Single sign-on on, pointed at the provider; the settings a deployment's environment
    gives (xuchang_portal.settings.base)."""
    provider.reset()
    settings.OIDC_ENABLED = True
    settings.OIDC_PROVIDER_NAME = "政务钉钉"
    settings.AUTHENTICATION_BACKENDS = [*settings.AUTHENTICATION_BACKENDS, BACKEND]
    settings.OIDC_RP_CLIENT_ID = CLIENT_ID
    settings.OIDC_RP_CLIENT_SECRET = CLIENT_SECRET
    settings.OIDC_OP_AUTHORIZATION_ENDPOINT = f"{provider.url}/authorize"
    settings.OIDC_OP_TOKEN_ENDPOINT = f"{provider.url}/token"
    settings.OIDC_OP_USER_ENDPOINT = f"{provider.url}/userinfo"
    settings.OIDC_OP_JWKS_ENDPOINT = f"{provider.url}/jwks"
    settings.OIDC_OP_ISSUER = provider.url
    settings.OIDC_TIMEOUT = 5
    return provider


def sign_in_through(client, provider, claims: dict, *, next_url: str = ""):
    """The browser's part: the portal's button, the provider's sign-in, back to the
    portal's callback. Returns the callback's answer."""
    provider.signs_in = claims
    start = client.get("/oidc/authenticate/", {"next": next_url} if next_url else {})
    assert start.status_code == 302
    assert start["Location"].startswith(f"{provider.url}/authorize?")
    at_provider = requests.get(start["Location"], allow_redirects=False, timeout=5)
    assert at_provider.status_code == 302, at_provider.text
    back = urlsplit(at_provider.headers["Location"])
    assert (back.netloc, back.path) == ("testserver", "/oidc/callback/")
    return client.get(f"{back.path}?{back.query}")


def claims_for(phone: str, **extra) -> dict:
    return {"sub": f"gov-{phone[-4:]}", "name": "测试人员", "phone_number": phone, **extra}


def signed_in_user_id(client):
    return client.session.get("_auth_user_id")


def refusal_shown(client, response, message: str) -> None:
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/"
    page = client.get(response["Location"]).content.decode()
    assert message in page
    assert signed_in_user_id(client) is None


def failed_events():
    return list(AccountEvent.objects.filter(kind=AccountEvent.Kind.LOGIN_FAILED))


# ----- the roster person the provider names -----


def test_a_cadre_on_the_roster_signs_in_as_their_own_login(client, sso_on, area, cadre_user):
    # given: a cadre whose first password is still to be changed; the provider writes
    # their phone its own way
    Account.objects.create(
        user=cadre_user, must_change_password=True, first_password_issued_at=timezone.now()
    )
    phone = area.cadres["a1v1"].phone
    formatted = f"+86 {phone[:3]}-{phone[3:7]}-{phone[7:]}"

    # when
    response = sign_in_through(client, sso_on, claims_for(formatted))

    # then: signed in as the cadre's own login, through Django's login (logged as 单点登录)
    assert response.status_code == 302 and response["Location"] == "/"
    assert signed_in_user_id(client) == str(cadre_user.pk)
    assert client.session["_auth_user_backend"] == BACKEND
    assert sso_on.calls == ["/authorize", "/token", "/jwks", "/userinfo"]
    event = AccountEvent.objects.get(user=cadre_user)
    assert event.kind == AccountEvent.Kind.SSO_LOGIN
    assert UserSession.objects.filter(user=cadre_user, ended_at__isnull=True).count() == 1
    # a local first password is nothing to an SSO sign-in: no forced change
    assert MUST_CHANGE not in client.session
    # and the scope is the cadre's: their own contact point, nobody else's
    home = client.get("/")
    html = home.content.decode()
    assert home.status_code == 200
    assert "我的联系点" in html and "a1v1村" in html
    assert "b1v1村" not in html and "乙县" not in html


def test_an_official_is_found_by_their_account_phone_and_sent_where_they_asked(
    client, sso_on, county_official
):
    # given
    Account.objects.create(user=county_official, phone="13700000001")

    # when
    response = sign_in_through(client, sso_on, claims_for("13700000001"), next_url="/me/")

    # then
    assert response["Location"] == "/me/"
    assert signed_in_user_id(client) == str(county_official.pk)
    assert client.get("/me/").status_code == 200


def test_the_account_phone_wins_over_a_cadre_with_the_same_phone(
    client, sso_on, area, cadre_user, county_official
):
    # given: the cadre record says one login, an account says another
    phone = area.cadres["a1v1"].phone
    Account.objects.create(user=county_official, phone=phone)

    # when
    sign_in_through(client, sso_on, claims_for(phone))

    # then
    assert signed_in_user_id(client) == str(county_official.pk)


# ----- refused: nobody is created, the reason is shown and logged -----


def test_a_phone_on_no_roster_is_refused_and_no_login_is_created(client, sso_on, area, users):
    # given
    before = get_user_model().objects.count()

    # when
    response = sign_in_through(client, sso_on, claims_for("13811112222"))

    # then
    refusal_shown(client, response, "该手机号未在花名册中登记，请联系管理员")
    assert get_user_model().objects.count() == before
    assert not Account.objects.exists()
    [event] = failed_events()
    assert event.username == "13811112222" and event.user is None
    assert event.reason == "单点登录：该手机号未在花名册中登记，请联系管理员"
    assert not AccountEvent.objects.exclude(kind=AccountEvent.Kind.LOGIN_FAILED).exists()


def test_a_cadre_on_the_roster_without_a_login_is_told_so(client, sso_on, area):
    # given: b1v1's cadre has no login
    before = get_user_model().objects.count()

    # when
    response = sign_in_through(client, sso_on, claims_for(area.cadres["b1v1"].phone))

    # then
    refusal_shown(client, response, "该手机号对应的干部尚未开通账号，请联系管理员")
    assert get_user_model().objects.count() == before


def test_a_deactivated_login_is_refused(client, sso_on, area, cadre_user):
    # given
    cadre_user.is_active = False
    cadre_user.save(update_fields=["is_active"])

    # when
    response = sign_in_through(client, sso_on, claims_for(area.cadres["a1v1"].phone))

    # then
    refusal_shown(client, response, "该账号已停用，请联系管理员")
    [event] = failed_events()
    assert event.user == cadre_user
    assert "已停用" in event.reason


@pytest.mark.parametrize(
    "claims, message",
    [
        ({"sub": "gov-1", "name": "无手机号"}, "单点登录未提供手机号"),
        ({"sub": "gov-2", "phone_number": "12345"}, "单点登录未提供手机号"),
        (claims_for("13900000000", phone_number_verified=False), "未验证该手机号"),
    ],
    ids=["no-phone", "not-a-mobile-number", "unverified"],
)
def test_a_provider_user_without_a_usable_phone_is_refused(
    client, sso_on, area, cadre_user, claims, message
):
    response = sign_in_through(client, sso_on, claims)

    refusal_shown(client, response, message)
    assert len(failed_events()) == 1


@pytest.mark.parametrize(
    "bend",
    [
        {"signing_key": "forged"},
        {"id_token_claims": {"aud": "another-client"}},
        {"id_token_claims": {"iss": "https://impostor.example"}},
        {"id_token_claims": {"nonce": "not-the-one-sent"}},
        {"id_token_claims": {"exp": 1_000_000}},
        {"id_token_claims": {"sub": "someone-else"}},
    ],
    ids=["forged-signature", "audience", "issuer", "nonce", "expired", "subject"],
)
def test_an_id_token_the_portal_must_not_trust_is_refused(client, sso_on, area, cadre_user, bend):
    # given: the cadre's phone, but an ID token with one thing wrong
    if "signing_key" in bend:
        sso_on.signing_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    sso_on.id_token_claims = bend.get("id_token_claims", {})

    # when
    response = sign_in_through(client, sso_on, claims_for(area.cadres["a1v1"].phone))

    # then
    refusal_shown(client, response, "单点登录服务暂时无法完成验证")
    [event] = failed_events()
    assert event.reason.startswith("单点登录：")
    assert not AccountEvent.objects.filter(kind=AccountEvent.Kind.SSO_LOGIN).exists()


def test_a_sign_in_cancelled_at_the_provider_is_logged_and_explained(client, sso_on, db):
    # given: a sign-in under way
    start = client.get("/oidc/authenticate/")
    state = parse_qs(urlsplit(start["Location"]).query)["state"][0]

    # when: the provider sends the browser back with an error
    response = client.get("/oidc/callback/", {"error": "access_denied", "state": state})

    # then
    refusal_shown(client, response, "单点登录未完成")
    [event] = failed_events()
    assert "access_denied" in event.reason
    assert sso_on.calls == []


def test_refused_single_sign_ons_never_lock_anyone_out(client, sso_on, area, cadre_user, axes_on):
    from axes.models import AccessAttempt, AccessFailureLog

    # given: more refusals from one address than the lockout allows
    for n in range(6):
        sign_in_through(client, sso_on, claims_for(f"1381111000{n}"))
    assert len(failed_events()) == 6

    # when
    sign_in_through(client, sso_on, claims_for(area.cadres["a1v1"].phone))

    # then
    assert signed_in_user_id(client) == str(cadre_user.pk)
    assert not AccessAttempt.objects.exists() and not AccessFailureLog.objects.exists()


# ----- local passwords beside it; and with it off -----


def test_local_passwords_keep_working_with_single_sign_on_on(client, sso_on, cadre_user):
    # given
    cadre_user.set_password("Lian-xiang-2024")
    cadre_user.save()

    # when: the sign-in page, a wrong password, then the right one
    page = client.get("/accounts/login/?next=/me/").content.decode()
    wrong = client.post("/accounts/login/", {"username": "cadre_a1v1", "password": "nope"})
    after_wrong = signed_in_user_id(client)
    right = client.post(
        "/accounts/login/", {"username": "cadre_a1v1", "password": "Lian-xiang-2024"}
    )

    # then
    assert "使用政务钉钉登录" in page
    assert 'href="/oidc/authenticate/?next=/me/"' in page
    assert wrong.status_code == 200 and after_wrong is None
    assert right.status_code == 302
    assert signed_in_user_id(client) == str(cadre_user.pk)
    assert client.session["_auth_user_backend"] == "villages.auth.PortalModelBackend"
    assert AccountEvent.objects.filter(kind=AccountEvent.Kind.LOGIN, user=cadre_user).exists()
    assert sso_on.calls == []  # the provider was never asked about a password


def test_with_single_sign_on_off_there_is_no_button_and_oidc_answers_404(client, settings):
    assert settings.OIDC_ENABLED is False
    assert BACKEND not in settings.AUTHENTICATION_BACKENDS

    page = client.get("/accounts/login/").content.decode()

    assert "/oidc/" not in page and "使用政务单点登录登录" not in page
    assert client.get("/oidc/authenticate/").status_code == 404
    assert client.get("/oidc/callback/", {"code": "x", "state": "y"}).status_code == 404


# ----- the settings a deployment's environment gives -----

BASE_SETTINGS = Path(__file__).resolve().parents[2] / "xuchang_portal" / "settings" / "base.py"
PROVIDER_ENV = {
    "OIDC_RP_CLIENT_ID": CLIENT_ID,
    "OIDC_RP_CLIENT_SECRET": CLIENT_SECRET,
    "OIDC_OP_AUTHORIZATION_ENDPOINT": "https://sso.example/authorize",
    "OIDC_OP_TOKEN_ENDPOINT": "https://sso.example/token",
    "OIDC_OP_USER_ENDPOINT": "https://sso.example/userinfo",
    "OIDC_OP_JWKS_ENDPOINT": "https://sso.example/jwks",
}


def test_the_environment_turns_single_sign_on_on_beside_the_local_backends(monkeypatch):
    for name in ("OIDC_ENABLED", *PROVIDER_ENV, "OIDC_PROVIDER_NAME", "OIDC_PHONE_CLAIM"):
        monkeypatch.delenv(name, raising=False)
    off = runpy.run_path(str(BASE_SETTINGS))
    monkeypatch.setenv("OIDC_ENABLED", "true")
    for name, value in PROVIDER_ENV.items():
        monkeypatch.setenv(name, value)
    on = runpy.run_path(str(BASE_SETTINGS))

    assert off["OIDC_ENABLED"] is False
    assert (off["OIDC_PROVIDER_NAME"], off["OIDC_PHONE_CLAIM"]) == ("政务单点登录", "phone_number")
    assert off["OIDC_RP_SIGN_ALGO"] == "RS256" and off["OIDC_CREATE_USER"] is False
    assert on["AUTHENTICATION_BACKENDS"] == [*off["AUTHENTICATION_BACKENDS"], BACKEND]
    assert "villages.auth.PortalModelBackend" in on["AUTHENTICATION_BACKENDS"]
    assert on["OIDC_OP_JWKS_ENDPOINT"] == "https://sso.example/jwks"


def test_single_sign_on_on_without_its_provider_refuses_to_start(monkeypatch):
    monkeypatch.setenv("OIDC_ENABLED", "true")
    for name, value in PROVIDER_ENV.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("OIDC_OP_JWKS_ENDPOINT")

    with pytest.raises(ImproperlyConfigured, match="OIDC_OP_JWKS_ENDPOINT"):
        runpy.run_path(str(BASE_SETTINGS))


@pytest.mark.parametrize(
    "claim, phone",
    [
        ("13900001111", "13900001111"),
        ("+86 139 0000 1111", "13900001111"),
        ("+86-139-0000-1111", "13900001111"),
        ("0086 13900001111", "13900001111"),
        ("8613900001111", "13900001111"),
        ("(139) 0000-1111", "13900001111"),
        ("１３９００００１１１１", "13900001111"),
        (13900001111, "13900001111"),
        ("1390000111", ""),
        ("23900001111", ""),
        ("+1 415 555 0100", ""),
        (None, ""),
        (True, ""),
    ],
)
def test_the_phone_claim_is_read_as_an_11_digit_mobile_number(claim, phone):
    assert oidc.normalise_phone(claim) == phone
