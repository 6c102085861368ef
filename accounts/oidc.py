"""Single sign-on through an OpenID Connect provider (mozilla-django-oidc), when a
deployment turns it on (OIDC_ENABLED; README "单点登录（OIDC，可选）").

The provider says who signed in; the rosters say who that is here. The phone number the
provider vouches for (the claim OIDC_PHONE_CLAIM, "phone_number" by default) is matched to
a login: first an account's phone (accounts.Account.phone), else a roster cadre's phone
(villages.Cadre.phone) and that cadre's login. Nobody is ever created from the provider: a
phone on no roster, a cadre without a login and a deactivated login are refused, with the
reason on the sign-in page and in the account log (a failed sign-in). The sign-in itself
is Django's, so it is logged and its session recorded like any other (accounts.receivers);
local passwords keep working beside it.

The addresses (/oidc/authenticate/, /oidc/callback/) always exist and answer 404 while
single sign-on is off, so turning it on or off is a setting, not a different URLconf."""

from __future__ import annotations

import logging
import re
import unicodedata
from dataclasses import dataclass

import jwt
import requests
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import SuspiciousOperation
from django.http import Http404, HttpResponseRedirect
from django.shortcuts import resolve_url
from mozilla_django_oidc.auth import OIDCAuthenticationBackend
from mozilla_django_oidc.views import OIDCAuthenticationCallbackView, OIDCAuthenticationRequestView

from accounts import services
from accounts.models import Account
from villages.auth import PortalModelBackend
from villages.models import Cadre

logger = logging.getLogger(__name__)

NOT_ON_ROSTER = "该手机号未在花名册中登记，请联系管理员"
NO_LOGIN = "该手机号对应的干部尚未开通账号，请联系管理员"
INACTIVE = "该账号已停用，请联系管理员"
NO_PHONE = "单点登录未提供手机号，无法对应花名册中的人员，请联系管理员"
UNVERIFIED = "单点登录服务未验证该手机号，请联系管理员"
PROVIDER_FAILED = "单点登录服务暂时无法完成验证，请稍后重试，或使用账号密码登录"
NOT_COMPLETED = "单点登录未完成，请重试，或使用账号密码登录"

_SEPARATORS = re.compile(r"[\s\-().\u3000]+")


def normalise_phone(value) -> str:
    """The 11-digit mobile number in a claim such as "+86 139-0000-0000", "0086
    13900000000" or "(139) 0000 0000"; "" when it is none."""
    if not isinstance(value, str | int) or isinstance(value, bool):
        return ""
    raw = _SEPARATORS.sub("", unicodedata.normalize("NFKC", str(value)))
    for prefix in ("+86", "0086"):
        if raw.startswith(prefix):
            raw = raw[len(prefix) :]
            break
    else:
        if len(raw) == 13 and raw.startswith("86"):
            raw = raw[2:]
    return raw if re.fullmatch(r"1[0-9]{10}", raw) else ""


@dataclass(frozen=True)
class Refusal:
    """Why the provider's user may not sign in: `message` is shown on the sign-in page,
    and logged (with `username`: the phone or the login it led to) as a failed sign-in."""

    message: str
    username: str = ""
    detail: str = ""

    @property
    def reason(self) -> str:
        return f"单点登录：{self.message}" + (f"（{self.detail}）" if self.detail else "")


class Refused(Exception):
    def __init__(self, refusal: Refusal):
        super().__init__(refusal.message)
        self.refusal = refusal


class PortalOIDCBackend(OIDCAuthenticationBackend):
    """The provider's user, as the roster person with the same phone number."""

    def authenticate(self, request, **kwargs):
        # A password sign-in passes through every backend: this one answers only the
        # callback of the provider (mozilla_django_oidc.views passes the nonce).
        if not settings.OIDC_ENABLED or request is None or "nonce" not in kwargs:
            return None
        failures = (requests.RequestException, SuspiciousOperation, jwt.PyJWTError)
        try:
            user = super().authenticate(request, **kwargs)
        except Refused as exc:
            refusal = exc.refusal
        except (*failures, KeyError, ValueError) as exc:
            logger.warning("单点登录验证失败：%s", exc, exc_info=True)
            refusal = Refusal(PROVIDER_FAILED, detail=type(exc).__name__)
        else:
            if user is not None:
                return user
            refusal = Refusal(PROVIDER_FAILED)
        # read by the callback view (the page's message) and accounts.receivers (the log)
        request.oidc_refusal = refusal
        return None

    def verify_token(self, token, **kwargs):
        """mozilla-django-oidc checks the signature, expiry and nonce; the audience and
        (when OIDC_OP_ISSUER is set) the issuer of the ID token are checked here."""
        payload = super().verify_token(token, **kwargs)
        if "nonce" in kwargs:  # the ID token (a signed userinfo answer has no nonce)
            audience = payload.get("aud")
            audiences = audience if isinstance(audience, list) else [audience]
            if self.OIDC_RP_CLIENT_ID not in audiences:
                raise SuspiciousOperation("ID token audience is not this client")
            issuer = settings.OIDC_OP_ISSUER
            if issuer and payload.get("iss") != issuer:
                raise SuspiciousOperation("ID token issuer is not the configured provider")
        return payload

    def get_or_create_user(self, access_token, id_token, payload):
        claims = self.get_userinfo(access_token, id_token, payload)
        if not isinstance(claims, dict) or claims.get("sub") != payload.get("sub"):
            # (a SuspiciousOperation here would be swallowed by mozilla-django-oidc)
            raise Refused(Refusal(PROVIDER_FAILED, detail="userinfo 与 ID token 不符"))
        claims = {**payload, **claims}
        phone = self.phone_of(claims)
        user = self.filter_users_by_claims(claims).first()
        if user is None:
            on_roster = Cadre.objects.filter(phone=phone).exists()
            raise Refused(Refusal(NO_LOGIN if on_roster else NOT_ON_ROSTER, username=phone))
        if not self.user_can_authenticate(user):
            raise Refused(Refusal(INACTIVE, username=user.get_username()))
        return self.update_user(user, claims)

    def phone_of(self, claims) -> str:
        claim = settings.OIDC_PHONE_CLAIM
        if claims.get(f"{claim}_verified") in (False, "false"):
            raise Refused(Refusal(UNVERIFIED, username=normalise_phone(claims.get(claim))))
        phone = normalise_phone(claims.get(claim))
        if not phone:
            raise Refused(Refusal(NO_PHONE, username=str(claims.get("sub", ""))[:150]))
        return phone

    def filter_users_by_claims(self, claims):
        """The login of the phone number: an account's, else its cadre's (never both: the
        account's phone wins)."""
        phone = normalise_phone(claims.get(settings.OIDC_PHONE_CLAIM))
        users = get_user_model()._default_manager
        if not phone:
            return users.none()
        account = Account.objects.filter(phone=phone).values_list("user_id", flat=True)
        if account.exists():
            return users.filter(pk__in=account)
        return users.filter(pk__in=Cadre.objects.filter(phone=phone).values("user_id"))

    def get_user(self, user_id):
        # the signed-in user of each request, loaded (and cached) as a password sign-in's is
        return PortalModelBackend().get_user(user_id)


def axes_exempt(request, credentials) -> bool:
    """AXES_WHITELIST_CALLABLE: the provider's callback is no password guess (the provider
    checked whatever was typed), so its refusals neither count toward nor wait for a
    lockout, and its one-time code is not written to the lockout log."""
    return "nonce" in (credentials or {})


class _Enabled:
    def dispatch(self, request, *args, **kwargs):
        if not settings.OIDC_ENABLED:
            raise Http404("未启用单点登录")
        return super().dispatch(request, *args, **kwargs)


class PortalOIDCAuthenticateView(_Enabled, OIDCAuthenticationRequestView):
    """The 使用…登录 button: off to the provider, with state and nonce in the session."""


class PortalOIDCCallbackView(_Enabled, OIDCAuthenticationCallbackView):
    """The provider's answer: signed in (Django's login) and on to the page asked for, or
    back to the sign-in page with the reason."""

    def login_failure(self):
        request = self.request
        refusal = getattr(request, "oidc_refusal", None)
        if refusal is None:
            refusal = Refusal(NOT_COMPLETED, detail=request.GET.get("error", "")[:50])
            if not hasattr(self, "user"):
                # the provider answered with an error, or the session had no sign-in
                # under way: nobody was authenticated, so no failed sign-in was logged
                services.login_failed(username="", reason=refusal.reason, request=request)
        messages.error(request, refusal.message + "。")
        return HttpResponseRedirect(resolve_url(settings.LOGIN_URL))
