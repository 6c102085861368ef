"""The session policy, on every request of a signed-in session:

- a session idle longer than SESSION_IDLE_MINUTES (default 30; 0: off) is signed out;
- a first, reset or expired password is changed before anything else: every page but the
  password change and sign-out leads there, and the API answers 403;
- the session's last activity is refreshed at most once a minute (one UPDATE), so a busy
  session costs nothing more.

It reads only the session (already loaded by the authentication middleware), never the
database, except for that refresh."""

import time

from django.conf import settings
from django.contrib import messages
from django.http import JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode

from accounts import services

TOUCH_SECONDS = 60


class AccountPolicyMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        session = getattr(request, "session", None)
        if session is None or session.session_key is None or not session.get("_auth_user_id"):
            return self.get_response(request)
        now = time.time()
        seen = session.get(services.LAST_SEEN)
        idle = settings.SESSION_IDLE_MINUTES * 60
        if idle and seen is not None and now - seen > idle and request.user.is_authenticated:
            services.session_idle_out(request=request)
            return self._answer(
                request,
                f"超过 {settings.SESSION_IDLE_MINUTES} 分钟未操作，已自动退出，请重新登录。",
                status=401,
                to=f"{reverse('login')}?{urlencode({'next': request.get_full_path()})}",
            )
        if seen is None or now - seen > TOUCH_SECONDS:
            session[services.LAST_SEEN] = now
            if request.user.is_authenticated:
                services.session_seen(request=request)
        reason = session.get(services.MUST_CHANGE)
        if reason and not self._allowed(request.path):
            return self._answer(
                request,
                {
                    "first": "首次登录，请先修改密码。",
                    "reset": "密码已被重置，请先修改密码。",
                    "expired": "密码已过期，请先修改密码。",
                }.get(reason, "请先修改密码。"),
                status=403,
                to=reverse("accounts:password_change"),
            )
        return self.get_response(request)

    @staticmethod
    def _allowed(path: str) -> bool:
        # the app's service worker and manifest are no pages: a worker refused one would stop
        # updating while a password waits to be changed
        return path in (
            reverse("accounts:password_change"),
            reverse("logout"),
            reverse("visits:pwa_sw"),
            reverse("visits:pwa_manifest"),
        ) or path.startswith((settings.STATIC_URL, "/healthz/"))

    @staticmethod
    def _answer(request, message: str, *, status: int, to: str):
        if request.path.startswith("/api/"):
            return JsonResponse({"detail": message}, status=status)
        if request.headers.get("HX-Request"):
            response = JsonResponse({"detail": message}, status=status)
            response["HX-Redirect"] = to
            return response
        messages.warning(request, message)
        return redirect(to)
