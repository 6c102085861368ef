"""The answer to a request that fails Django's CSRF check (CSRF_FAILURE_VIEW).

Django's own page is English and carries an inline <style> block, which the portal's CSP
(style-src 'self') blocks. This one is a Chinese page on the portal's own stylesheets (no
inline style or script), and under /api/ the API's JSON 403 `{"detail": 中文说明}`
(`api_csrf_failure`, the hook the API's other error answers rely on too). The reason Django
gives is logged (django.security.csrf), never shown."""

from django.http import JsonResponse
from django.shortcuts import render

API_CSRF_FAILED = (
    "CSRF 校验失败：请求缺少有效的 CSRF 令牌，未执行任何操作。使用会话登录调用接口时，"
    "请在 X-CSRFToken 请求头中提交 csrftoken Cookie 的值；或改用接口令牌（Authorization: Token …）。"
)


def api_csrf_failure(request) -> JsonResponse | None:
    """The API's answer to a CSRF failure under /api/ (None for any other address)."""
    if not request.path.startswith("/api/"):
        return None
    return JsonResponse(
        {"detail": API_CSRF_FAILED}, status=403, json_dumps_params={"ensure_ascii": False}
    )


def csrf_failure(request, reason=""):
    return api_csrf_failure(request) or render(request, "403_csrf.html", status=403)
