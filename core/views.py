"""Project-level pages: sign-in, the per-role home page, the health check and the answers
to requests too large, malformed, forbidden, missing or failed (400, 403, 404, 413, 500):
a page in Chinese, or under /api/ the API's JSON `{"detail": 中文说明}`."""

from django.contrib.auth import views as auth_views
from django.contrib.auth.mixins import LoginRequiredMixin
from django.db import connection
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.views import defaults
from django.views.generic import TemplateView

from villages.importing.reader import MAX_BYTES as IMPORT_MAX_BYTES
from villages.selectors import (
    area_overview_for_user,
    cadre_contact_points,
    county_list_for_user,
    default_year,
    scope_for_user,
)
from visits.services import MAX_PHOTO_BYTES, MAX_PHOTOS, MB
from visits.views import cadre_home_context
from xuchang_portal.api.exceptions import NOT_FOUND

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
    """413 for a body over the limit (xuchang_portal.middleware), before it is read."""
    message = (
        f"提交的内容共 {size / MB:.1f} MB，超过 {limit / MB:g} MB 上限，未保存任何内容。"
        f"每个导入文件不超过 {IMPORT_MAX_BYTES / MB:g} MB，"
        f"每张照片不超过 {MAX_PHOTO_BYTES / MB:g} MB（每条记录最多 {MAX_PHOTOS} 张）；"
        "请压缩或拆分后重新提交。"
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
    template_name = "home.html"

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        user = self.request.user
        scope = scope_for_user(user)
        year = default_year()
        ctx["year"] = year
        if scope.is_cadre:
            ctx["contact_points"] = cadre_contact_points(user=user)
            if scope.cadre_id:
                ctx.update(cadre_home_context(user=user, cadre_id=scope.cadre_id))
            return ctx
        if scope.role is None:
            return ctx
        county = None
        county_id = self.request.GET.get("county", "")
        if county_id:
            if not county_id.isdigit():
                raise Http404("没有这个县(市、区)。")
            county = get_object_or_404(county_list_for_user(user=user), pk=county_id)
        ctx["county"] = county
        ctx.update(
            area_overview_for_user(user=user, year=year, county_id=county.pk if county else None)
        )
        rows = ctx["rows"]
        chart_rows = ctx.get("county_rows") or rows
        ctx["chart"] = {
            "labels": [
                (r["county"].name if "county" in r else r["township"].name) for r in chart_rows
            ],
            "villages": [r["villages"] for r in chart_rows],
            "communities": [r["communities"] for r in chart_rows],
            "uncovered": [r["uncovered"] for r in chart_rows],
        }
        return ctx
