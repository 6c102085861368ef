"""Small things a person meets: exports in Beijing time, the sign-out page, the admin's
login-lockout section in Chinese, one log line per refused request, `make run PORT=…`, and a
README that stands alone."""

import datetime
import logging
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from openpyxl import load_workbook

from core.excel import safe_cell, write_workbook

ROOT = Path(__file__).resolve().parents[1]

# ----- exports: a moment is written in Beijing time -----


def test_an_aware_datetime_is_written_in_beijing_time(tmp_path):
    at = datetime.datetime(2025, 6, 1, 11, 25, tzinfo=datetime.UTC)
    assert safe_cell(at) == datetime.datetime(2025, 6, 1, 19, 25)
    assert safe_cell(datetime.date(2025, 6, 1)) == datetime.date(2025, 6, 1)
    assert safe_cell("=1+1") == "'=1+1"
    path = tmp_path / "t.xlsx"
    write_workbook(path, title="表", headers=["时间"], rows=[[at]])
    assert load_workbook(path).active["A2"].value == datetime.datetime(2025, 6, 1, 19, 25)


# ----- /accounts/logout/ opened directly -----


@pytest.mark.django_db
def test_logout_by_get_shows_a_chinese_page_with_a_sign_out_button(client, city_admin):
    client.force_login(city_admin)
    response = client.get("/accounts/logout/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "退出登录" in html
    form = re.search(r'<form method="post" action="/accounts/logout/">(.*?)</form>', html, re.S)
    assert form and 'name="csrfmiddlewaretoken"' in form.group(1) and "确认退出" in form.group(1)
    assert "_auth_user_id" in client.session  # a GET signs nobody out
    response = client.post("/accounts/logout/")
    assert response.status_code == 302 and response["Location"] == "/accounts/login/"
    assert "_auth_user_id" not in client.session


@pytest.mark.django_db
def test_logout_by_get_when_signed_out_offers_the_login(client):
    response = client.get("/accounts/logout/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "您尚未登录" in html and 'href="/accounts/login/"' in html
    assert "确认退出" not in html


# ----- the admin's django-axes section in Chinese -----


@pytest.fixture
def admin_client_zh(client, db):
    user = get_user_model().objects.create_superuser("root_zh", "", "x")
    client.force_login(user)
    return client


@pytest.fixture
def lockout_rows(db):
    """One row of each lockout table: an empty changelist shows no column headings."""
    from axes.models import AccessAttempt, AccessFailureLog, AccessLog

    request = {"user_agent": "ua", "ip_address": "10.0.0.1", "http_accept": "*/*"}
    request.update(username="u", path_info="/accounts/login/")
    return {
        "attempt": AccessAttempt.objects.create(
            **request, get_data="", post_data="", failures_since_start=5
        ),
        "failure": AccessFailureLog.objects.create(**request, locked_out=True),
        "log": AccessLog.objects.create(**request),
    }


def test_admin_index_names_the_lockout_section_in_chinese(admin_client_zh):
    html = admin_client_zh.get("/admin/").content.decode()
    for name in ("登录锁定", "登录尝试", "登录失败", "登录日志"):
        assert name in html
    for english in ("Axes", "Access attempts", "Access failures", "Access logs"):
        assert english not in html


@pytest.mark.parametrize(
    ("url", "chinese"),
    [
        (
            "/admin/axes/accessattempt/",
            (
                "尝试时间",
                "IP 地址",
                "失败次数",
                "是否锁定",
                "状态",
                "已锁定",
                "清理已到期的登录尝试",
            ),
        ),
        ("/admin/axes/accessfailurelog/", ("尝试时间", "用户名", "已锁定")),
        ("/admin/axes/accesslog/", ("尝试时间", "退出时间", "访问路径")),
    ],
)
def test_admin_lockout_pages_are_in_chinese(admin_client_zh, lockout_rows, url, chinese):
    response = admin_client_zh.get(url)
    assert response.status_code == 200
    html = response.content.decode()
    for text in chinese:
        assert text in html, text
    for english in ("Attempt Time", "IP Address", "Failed Logins", "Locked Out", "Path"):
        assert f">{english}<" not in html and f"{english}</a>" not in html, english
    assert "Clean up expired attempts" not in html


def test_admin_lockout_detail_headings_are_in_chinese(admin_client_zh, lockout_rows):
    attempt = lockout_rows["attempt"]
    html = admin_client_zh.get(f"/admin/axes/accessattempt/{attempt.pk}/change/").content.decode()
    assert "表单数据" in html and "请求信息" in html and "失败次数" in html
    assert "Form Data" not in html and "Meta Data" not in html


# ----- a refused request is one log line; a 500 keeps its traceback -----


@pytest.mark.django_db
def test_a_refused_request_is_one_log_line(client, county_official, caplog):
    client.force_login(county_official)
    with caplog.at_level(logging.WARNING, logger="django.request"):
        assert client.post("/dashboards/refresh/", {"year": 2024}).status_code == 403
    records = [r for r in caplog.records if r.name == "django.request"]
    assert len(records) == 1
    assert records[0].exc_info is None
    line = records[0].getMessage()
    assert line.startswith("Forbidden (Permission denied): /dashboards/refresh/")
    assert "\n" not in line
    assert "Traceback" not in caplog.text


def test_a_service_refusal_keeps_its_reason_on_the_line():
    from core.log_filters import ClientErrorOneLine

    try:
        raise PermissionDenied("只有市级管理员可以修改年度目标。")
    except PermissionDenied as exc:
        record = logging.LogRecord(
            "django.request",
            logging.WARNING,
            __file__,
            1,
            "Forbidden (Permission denied): %s",
            ("/x/",),
            (type(exc), exc, exc.__traceback__),
        )
    record.status_code = 403
    assert ClientErrorOneLine().filter(record)
    assert record.exc_info is None
    assert record.getMessage() == (
        "Forbidden (Permission denied): /x/ [PermissionDenied: 只有市级管理员可以修改年度目标。]"
    )


@pytest.mark.django_db
def test_a_server_error_keeps_its_traceback(client, caplog, monkeypatch):
    def broken():
        raise RuntimeError("数据库连接失败")

    monkeypatch.setattr("core.views.connection.cursor", broken)
    client.raise_request_exception = False
    with caplog.at_level(logging.ERROR, logger="django.request"):
        assert client.get("/healthz/").status_code == 500
    records = [r for r in caplog.records if r.name == "django.request"]
    assert len(records) == 1 and records[0].exc_info is not None
    assert "Traceback" in caplog.text and "RuntimeError: 数据库连接失败" in caplog.text


def test_each_record_is_written_once_in_development():
    """Django's own DEBUG console handler on the "django" logger is gone: the root console
    writes every record, so a 403 is not printed twice."""
    from django.utils.log import AdminEmailHandler, ServerFormatter

    django_handlers = logging.getLogger("django").handlers
    assert [type(h) for h in django_handlers] == [AdminEmailHandler]
    server = logging.getLogger("django.server")
    assert not server.propagate
    assert any(isinstance(h.formatter, ServerFormatter) for h in server.handlers)


# ----- make run PORT=… -----


def _make_run(*args) -> str:
    out = subprocess.run(
        ["make", "-n", "--no-print-directory", "run", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return "\n".join(line for line in out.splitlines() if "runserver" in line or "打开" in line)


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_run_serves_on_the_port_given():
    assert "runserver 127.0.0.1:8100" in _make_run("PORT=8100")
    assert "http://127.0.0.1:8100/" in _make_run("PORT=8100")
    default = _make_run()
    assert "runserver 127.0.0.1:8000" in default and "http://127.0.0.1:8000/" in default


# ----- the README stands alone -----


def test_readme_names_no_path_outside_the_repository():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "../" not in text
    for outside in ("DESIGN.md", "domain.md", "STYLE.md", "TESTING.md", "/work/", "shared/"):
        assert outside not in text, outside


def test_review_and_rating_steps_print_their_time_in_beijing_time():
    import datetime

    from stars.models import StarAwardEvent
    from visits.models import VisitEvent

    at = datetime.datetime(2026, 12, 7, 23, 30, tzinfo=datetime.UTC)  # 07:30 on the 8th
    assert str(VisitEvent(action="approve", at=at)) == "审核通过 2026-12-08 07:30"
    assert str(StarAwardEvent(step="award", at=at)) == "授星 2026-12-08 07:30"
