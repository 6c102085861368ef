"""Issue 15, point 5: a failed CSRF check answers a Chinese page that renders under the
CSP (no inline style, unlike Django's own page), and under /api/ the API's JSON 403."""

import re

import pytest
from django.http import HttpResponse
from django.test import Client, RequestFactory
from django.urls import path

from core.csrf import API_CSRF_FAILED, api_csrf_failure
from xuchang_portal.urls import urlpatterns as portal_urlpatterns

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.filterwarnings("ignore:No directory at:UserWarning"),
]


def probe(request):
    """A plain Django view under /api/ (not DRF's, which checks CSRF itself)."""
    return HttpResponse("changed")


# Used by the /api/ test (pytest.mark.urls): the portal's URLs and the probe before them.
urlpatterns = [path("api/probe/", probe), *portal_urlpatterns]


def _csp(response) -> dict:
    header = response["Content-Security-Policy"]
    return {part.split()[0]: part.split()[1:] for part in header.split(";") if part.strip()}


def _assert_inert_chinese_page(response):
    assert response.status_code == 403
    assert response["Content-Type"].startswith("text/html")
    html = response.content.decode()
    assert "安全校验失败" in html and "未保存任何内容" in html
    assert "Forbidden" not in html and "CSRF verification failed" not in html
    # nothing the CSP would block: no inline style, no script without the nonce
    assert not re.search(r"<style|\sstyle=", html, re.IGNORECASE)
    nonce = re.search(r"'nonce-([^']+)'", response["Content-Security-Policy"]).group(1)
    for script in re.findall(r"<script\b[^>]*>", html):
        assert f'nonce="{nonce}"' in script
    directives = _csp(response)
    assert directives["style-src"] == ["'self'"]
    assert "'unsafe-inline'" not in directives["script-src"]


def test_a_login_without_its_token_gets_the_chinese_page():
    client = Client(enforce_csrf_checks=True)
    response = client.post("/accounts/login/", {"username": "x", "password": "y"})
    _assert_inert_chinese_page(response)
    assert "重新登录" in response.content.decode()


def test_a_signed_in_form_post_without_its_token_gets_the_chinese_page(county_official):
    client = Client(enforce_csrf_checks=True)
    client.force_login(county_official)
    response = client.post("/accounts/logout/")
    _assert_inert_chinese_page(response)
    assert "_auth_user_id" in client.session  # nothing was done


@pytest.mark.urls(__name__)
def test_under_api_a_csrf_failure_answers_the_apis_json(county_official):
    client = Client(enforce_csrf_checks=True)
    client.force_login(county_official)
    response = client.delete("/api/probe/")
    assert response.status_code == 403
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": API_CSRF_FAILED}
    assert "CSRF 校验失败" in response.content.decode()  # Chinese as written, not \\u escapes


def test_the_hook_answers_only_under_api():
    assert api_csrf_failure(RequestFactory().post("/villages/")) is None
    assert api_csrf_failure(RequestFactory().post("/api/villages/")).status_code == 403
