"""Pages that belong to no app: sign-in, the home page (the panels the apps register,
core.panels), the health check and the answers to requests too large, malformed, forbidden,
missing or failed (400, 403, 404, 413, 500): a page in Chinese, or under /api/ the API's
JSON `{"detail": 中文说明}`."""

from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.mixins import LoginRequiredMixin
from django.db import connection
from django.http import JsonResponse
from django.shortcuts import render
from django.views import defaults
from django.views.generic import TemplateView

from core.api.exceptions import NOT_FOUND
from core.limits import MB, upload_limits
from core.panels import home_panels_for, panel_scripts

API_FORBIDDEN = "您没有执行该操作的权限。"
API_SERVER_ERROR = "系统暂时出现问题，未保存任何内容。请稍后重试；如问题持续，请联系市级管理员。"


def _wants_json(request) -> bool:
    return request.path.startswith("/api/")


def api_error(detail: str, status: int) -> JsonResponse:
    """The API's answer for an error no DRF view handled: `{"detail": 中文说明}`."""
    return JsonResponse(
        {"detail": detail}, status=status, json_dumps_params={"ensure_ascii": False}
    )


def request_too_large(request, *, size: int, limit: int):
    """413 for a body over the limit (core.middleware), before it is read. It names the
    limits the apps registered (core.limits): the import workbook's, the photos'."""
    limits = "，".join(upload_limits())
    message = (
        f"提交的内容共 {size / MB:.1f} MB，超过 {limit / MB:g} MB 上限，未保存任何内容。"
        + (f"{limits}；" if limits else "")
        + "请压缩或拆分后重新提交。"
    )
    if _wants_json(request):
        return api_error(message, 413)
    return render(request, "413.html", {"message": message}, status=413)


def bad_request(request, exception):
    """handler400: a malformed or oversized request (too many form fields, a body over the
    limit that arrived without a length, a forged host) gets a Chinese answer, not a 500."""
    message = "请求无法处理：提交的内容格式不正确、字段过多或内容过大，未保存任何内容。"
    if _wants_json(request):
        return api_error(message, 400)
    return render(request, "400.html", {"message": message}, status=400)


def permission_denied(request, exception):
    """handler403: a PermissionDenied raised outside DRF (DRF answers its own)."""
    if _wants_json(request):
        return api_error(API_FORBIDDEN, 403)
    return defaults.permission_denied(request, exception)


def page_not_found(request, exception):
    """handler404: an unknown address, or a missing object outside DRF."""
    if _wants_json(request):
        return api_error(NOT_FOUND, 404)
    return defaults.page_not_found(request, exception)


def server_error(request):
    """handler500: the traceback is logged (django.request); the user gets Chinese."""
    if _wants_json(request):
        return api_error(API_SERVER_ERROR, 500)
    return defaults.server_error(request)


class PortalLoginView(auth_views.LoginView):
    template_name = "registration/login.html"
    redirect_authenticated_user = True

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        # the single sign-on button, when the deployment configured a provider (OIDC_*)
        ctx["sso_provider"] = settings.OIDC_PROVIDER_NAME if settings.OIDC_ENABLED else ""
        return ctx


class PortalLogoutView(auth_views.LogoutView):
    """POST signs out (with its CSRF token). GET, from a typed or bookmarked address, signs
    nobody out: it shows a page whose button sends that POST, instead of a bare 405."""

    http_method_names = ["get", "post", "options"]
    template_name = "registration/logout_confirm.html"

    def get(self, request, *args, **kwargs):
        return render(request, self.template_name)


def healthz(request):
    """Liveness for load balancers and compose health checks; reveals no data."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})


class HomeView(LoginRequiredMixin, TemplateView):
    """The home page: the panels the apps registered that apply to the user (core.panels)."""

    template_name = "home.html"

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        panels = home_panels_for(self.request)
        ctx["panels"] = panels
        ctx["panel_scripts"] = panel_scripts(panels)
        return ctx
