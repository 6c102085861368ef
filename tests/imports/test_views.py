"""The import pages: upload form and history, the preview, confirm and cancel, the htmx
progress partial, the annotated workbook, the blank templates, and who may see which.

Tasks are queued with `transaction.on_commit` and run eagerly, so requests that queue one
run inside `django_capture_on_commit_callbacks(execute=True)`. The world is the `area`
fixture (tests/conftest.py): county A 甲县 (townships A1 甲一镇, A2 甲二街道) and county B
乙县 (township B1 乙一乡); every village has households 300 and population 1000.
"""

import io
import re
from urllib.parse import quote

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import load_workbook

from core.jobs import import_progress_set
from core.models import ImportJob
from tests.imports.area_sheets import HEADERS
from tests.imports.area_sheets import free_code as _free_code
from tests.imports.area_sheets import roster_xlsx as _xlsx
from tests.imports.area_sheets import village_row as _row
from villages.models import Village
from villages.services import import_job_create

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.filterwarnings("ignore:No directory at:UserWarning"),
]

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
RED = "FFC7CE"


# ----- private helpers -----


def _file_with_one_error(area) -> tuple[bytes, str]:
    """Row 2 changes a1v1's households 300 → 350, row 3 is new, row 4 has a bad code."""
    new_code = _free_code(area.townships["A1"])
    data = _xlsx(
        [
            _row(area.villages["a1v1"], households=350),
            [area.county_a.name, "甲一镇", "新村", new_code, "行政村", 10, 20],
            _row(area.villages["a1v2"], code="12345"),
        ]
    )
    return data, new_code


def _upload_job(capture, actor, data, name="村名册.xlsx") -> ImportJob:
    with capture(execute=True):
        job = import_job_create(actor=actor, kind="villages", upload=SimpleUploadedFile(name, data))
    job.refresh_from_db()
    return job


def _running_job(capture, actor, area) -> ImportJob:
    """A job whose validation task has not run yet."""
    with capture():
        return import_job_create(
            actor=actor,
            kind="villages",
            upload=SimpleUploadedFile("x.xlsx", _xlsx([_row(area.villages["a1v1"])])),
        )


def _count(html: str, key: str) -> str:
    match = re.search(rf'data-count="{key}">([^<]*)<', html)
    assert match, f"no data-count={key} on the page"
    return match.group(1)


# ----- the upload page -----


@pytest.mark.parametrize(
    "who, expected_status",
    [
        ("city_admin", 200),
        ("county_official", 200),
        ("superuser", 200),
        ("township_official", 403),
        ("cadre_user", 403),
        ("city_viewer", 403),
        ("no_role_user", 403),
    ],
)
def test_import_page_is_for_import_roles_only(client, login, users, who, expected_status):
    # given
    login(client, users[who])

    # when
    response = client.get("/imports/")

    # then
    assert response.status_code == expected_status


def test_import_page_sends_anonymous_visitors_to_the_login(client):
    response = client.get("/imports/")

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_import_page_shows_the_form_template_links_and_history(
    client, login, city_admin, area, django_capture_on_commit_callbacks
):
    # given: one earlier import
    job = _upload_job(
        django_capture_on_commit_callbacks,
        city_admin,
        _xlsx([_row(area.villages["a1v1"])]),
        name="上月名册.xlsx",
    )
    login(client, city_admin)

    # when
    response = client.get("/imports/")

    # then
    html = response.content.decode()
    assert 'enctype="multipart/form-data"' in html
    assert 'name="file"' in html
    assert '<option value="villages"' in html and '<option value="cadres"' in html
    assert 'href="/imports/templates/villages/"' in html
    assert 'href="/imports/templates/cadres/"' in html
    assert f'href="/imports/{job.pk}/"' in html
    assert "上月名册.xlsx" in html
    assert "待确认" in html


def test_import_history_of_a_county_official_lists_their_county_only(
    client, login, county_official, other_county_official, area, django_capture_on_commit_callbacks
):
    # given
    capture = django_capture_on_commit_callbacks
    _upload_job(capture, county_official, _xlsx([_row(area.villages["a1v1"])]), name="甲县.xlsx")
    _upload_job(
        capture, other_county_official, _xlsx([_row(area.villages["b1v1"])]), name="乙县.xlsx"
    )
    login(client, county_official)

    # when
    html = client.get("/imports/").content.decode()

    # then
    assert "甲县.xlsx" in html
    assert "乙县.xlsx" not in html


def test_posting_a_file_validates_it_and_redirects_to_the_preview(
    client, login, city_admin, area, django_capture_on_commit_callbacks
):
    # given
    login(client, city_admin)
    data, new_code = _file_with_one_error(area)

    # when
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/imports/", {"kind": "villages", "file": SimpleUploadedFile("村名册.xlsx", data)}
        )

    # then
    job = ImportJob.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/imports/{job.pk}/"
    assert job.state == ImportJob.State.PREVIEWED
    assert job.user == city_admin
    assert job.original_name == "村名册.xlsx"
    assert not Village.objects.filter(code=new_code).exists()


def test_posting_without_a_file_shows_the_form_again(client, login, city_admin):
    # given
    login(client, city_admin)

    # when
    response = client.post("/imports/", {"kind": "villages"})

    # then
    assert response.status_code == 200
    assert "is-invalid" in response.content.decode()
    assert ImportJob.objects.count() == 0


def test_posting_while_an_import_of_the_same_kind_runs_shows_why(
    client, login, city_admin, area, django_capture_on_commit_callbacks
):
    # given
    _running_job(django_capture_on_commit_callbacks, city_admin, area)
    login(client, city_admin)

    # when
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/imports/",
            {"kind": "villages", "file": SimpleUploadedFile("b.xlsx", _xlsx([]))},
        )

    # then
    assert response.status_code == 200
    assert "已有一个同类导入正在进行" in response.content.decode()
    assert ImportJob.objects.count() == 1


# ----- the preview -----


def test_preview_shows_counts_errors_changes_and_the_confirm_form(
    client, login, city_admin, area, django_capture_on_commit_callbacks
):
    # given
    data, _ = _file_with_one_error(area)
    job = _upload_job(django_capture_on_commit_callbacks, city_admin, data)
    login(client, city_admin)

    # when
    response = client.get(f"/imports/{job.pk}/")

    # then: the counts
    html = response.content.decode()
    assert response.status_code == 200
    assert {k: _count(html, k) for k in ("new", "changed", "moved", "unchanged", "errors")} == {
        "new": "1",
        "changed": "1",
        "moved": "0",
        "unchanged": "0",
        "errors": "1",
    }
    # and: the error row, naming the row and the column
    assert re.search(r"<td>第4行</td><td>统计用区划代码</td><td>[^<]*12 位数字", html)
    # and: the changed row, old → new
    assert "户数：<del>300</del> → <ins>350</ins>" in html
    # and: the new row
    assert "第3行" in html and "新村" in html
    # and: the confirm form, with the valid-rows-only box, and the download link
    assert f'action="/imports/{job.pk}/confirm/"' in html
    assert 'name="valid_only"' in html
    assert "只导入无误的行" in html
    assert f'href="/imports/{job.pk}/annotated/"' in html
    assert f'action="/imports/{job.pk}/cancel/"' in html


def test_preview_of_a_clean_file_has_no_error_table_and_no_valid_only_box(
    client, login, city_admin, area, django_capture_on_commit_callbacks
):
    # given
    job = _upload_job(
        django_capture_on_commit_callbacks,
        city_admin,
        _xlsx([_row(area.villages["a1v1"]), _row(area.villages["a1v2"], population=5)]),
    )
    login(client, city_admin)

    # when
    html = client.get(f"/imports/{job.pk}/").content.decode()

    # then
    assert _count(html, "unchanged") == "1"
    assert _count(html, "changed") == "1"
    assert _count(html, "errors") == "0"
    assert "import-errors" not in html
    assert 'name="valid_only"' not in html
    assert "下载错误标注的工作簿" not in html
    assert f'action="/imports/{job.pk}/confirm/"' in html


# ----- progress (htmx) -----


def test_progress_partial_of_a_running_job_shows_the_progress_bar(
    client, login, city_admin, area, django_capture_on_commit_callbacks
):
    # given
    job = _running_job(django_capture_on_commit_callbacks, city_admin, area)
    import_progress_set(job.pk, 40)
    login(client, city_admin)

    # when
    response = client.get(f"/imports/{job.pk}/?poll=1", headers={"HX-Request": "true"})

    # then: only the partial, which keeps polling
    html = response.content.decode()
    assert response.status_code == 200
    assert [t.name for t in response.templates] == ["villages/partials/import_progress.html"]
    assert "<html" not in html
    assert re.search(r'<progress[^>]*value="40"[^>]*max="100"', html)
    assert "40%" in html
    assert f'hx-get="/imports/{job.pk}/?poll=1"' in html
    assert "HX-Refresh" not in response.headers


def test_detail_page_of_a_running_job_embeds_the_progress_bar(
    client, login, city_admin, area, django_capture_on_commit_callbacks
):
    # given
    job = _running_job(django_capture_on_commit_callbacks, city_admin, area)
    import_progress_set(job.pk, 15)
    login(client, city_admin)

    # when
    html = client.get(f"/imports/{job.pk}/").content.decode()

    # then
    assert "<html" in html
    assert re.search(r'<progress[^>]*value="15"', html)
    assert "正在读取并校验文件" in html
    assert 'hx-trigger="every 1s"' in html


def test_poll_of_a_finished_job_asks_htmx_to_reload_the_page(
    client, login, city_admin, area, django_capture_on_commit_callbacks
):
    # given
    job = _upload_job(
        django_capture_on_commit_callbacks, city_admin, _xlsx([_row(area.villages["a1v1"])])
    )
    assert job.state == ImportJob.State.PREVIEWED
    login(client, city_admin)

    # when
    response = client.get(f"/imports/{job.pk}/?poll=1", headers={"HX-Request": "true"})

    # then
    assert response.status_code == 200
    assert response.headers["HX-Refresh"] == "true"
    assert response.content == b""


# ----- confirm and cancel -----


def test_confirm_without_valid_only_is_refused_when_the_preview_has_errors(
    client, login, city_admin, area, django_capture_on_commit_callbacks
):
    # given
    data, new_code = _file_with_one_error(area)
    job = _upload_job(django_capture_on_commit_callbacks, city_admin, data)
    login(client, city_admin)

    # when
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/imports/{job.pk}/confirm/", follow=True)

    # then
    assert response.redirect_chain == [(f"/imports/{job.pk}/", 302)]
    assert "只导入无误的行" in response.content.decode()
    job.refresh_from_db()
    assert job.state == ImportJob.State.PREVIEWED
    assert not Village.objects.filter(code=new_code).exists()
    assert Village.objects.get(pk=area.villages["a1v1"].pk).households == 300


def test_confirm_with_valid_only_commits_and_shows_the_result(
    client, login, city_admin, area, django_capture_on_commit_callbacks
):
    # given
    data, new_code = _file_with_one_error(area)
    job = _upload_job(django_capture_on_commit_callbacks, city_admin, data)
    login(client, city_admin)

    # when
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/imports/{job.pk}/confirm/", {"valid_only": "on"})
    page = client.get(response["Location"])

    # then
    job.refresh_from_db()
    assert job.state == ImportJob.State.DONE
    assert Village.objects.filter(code=new_code).exists()
    html = page.content.decode()
    assert "导入完成：新增 1 行，修改 1 行" in html
    assert "跳过有错误的 1 行" in html
    assert re.search(r'<progress[^>]*value="100"', html)
    assert f'action="/imports/{job.pk}/confirm/"' not in html


def test_cancel_ends_the_preview(
    client, login, city_admin, area, django_capture_on_commit_callbacks
):
    # given
    data, new_code = _file_with_one_error(area)
    job = _upload_job(django_capture_on_commit_callbacks, city_admin, data)
    login(client, city_admin)

    # when
    response = client.post(f"/imports/{job.pk}/cancel/", follow=True)

    # then
    assert response.redirect_chain == [("/imports/", 302)]
    assert "已取消，未写入任何数据。" in response.content.decode()
    job.refresh_from_db()
    assert job.state == ImportJob.State.CANCELLED
    assert not Village.objects.filter(code=new_code).exists()


# ----- the annotated workbook -----


def test_annotated_workbook_download_marks_the_bad_cell(
    client, login, city_admin, area, django_capture_on_commit_callbacks
):
    # given
    data, _ = _file_with_one_error(area)
    job = _upload_job(django_capture_on_commit_callbacks, city_admin, data)
    login(client, city_admin)

    # when
    response = client.get(f"/imports/{job.pk}/annotated/")

    # then
    assert response.status_code == 200
    assert response["Content-Type"] == XLSX
    assert quote("村名册-错误标注.xlsx") in response["Content-Disposition"]
    ws = load_workbook(io.BytesIO(b"".join(response.streaming_content)))["村名册"]
    error_col = len(HEADERS) + 1
    assert ws.cell(row=1, column=error_col).value == "错误说明"
    bad = ws.cell(row=4, column=HEADERS.index("统计用区划代码") + 1)
    assert bad.fill.fgColor.rgb.endswith(RED)
    assert "统计用区划代码" in ws.cell(row=4, column=error_col).value
    assert ws.cell(row=2, column=error_col).value is None


def test_annotated_workbook_of_a_job_still_validating_is_404(
    client, login, city_admin, area, django_capture_on_commit_callbacks
):
    # given
    job = _running_job(django_capture_on_commit_callbacks, city_admin, area)
    login(client, city_admin)

    # when / then
    assert client.get(f"/imports/{job.pk}/annotated/").status_code == 404


def test_a_file_level_failure_offers_no_annotated_workbook(
    client, login, city_admin, area, django_capture_on_commit_callbacks
):
    # given: the 统计用区划代码 column is missing, so the whole file fails (regression: the
    # page offered the workbook and the download raised KeyError, a 500)
    row = _row(area.villages["a1v1"])
    data = _xlsx([row[:3] + row[4:5]], headers=HEADERS[:3] + HEADERS[4:5])
    job = _upload_job(django_capture_on_commit_callbacks, city_admin, data)
    assert job.state == ImportJob.State.FAILED
    login(client, city_admin)

    # when
    html = client.get(f"/imports/{job.pk}/").content.decode()

    # then: the reason, and no workbook to download
    assert "缺少必填列：“统计用区划代码”" in html
    assert "下载错误标注的工作簿" not in html
    assert client.get(f"/imports/{job.pk}/annotated/").status_code == 404


# ----- scoping: another county's import is missing -----


@pytest.mark.parametrize(
    "method, path",
    [
        ("get", "/imports/{pk}/"),
        ("get", "/imports/{pk}/annotated/"),
        ("post", "/imports/{pk}/confirm/"),
        ("post", "/imports/{pk}/cancel/"),
    ],
)
@pytest.mark.parametrize(
    "who, expected_status",
    [
        ("other_county_official", 404),
        ("township_official", 404),
        ("city_viewer", 404),
        ("county_official", "ok"),
        ("city_admin", "ok"),
    ],
)
def test_an_import_is_visible_to_its_county_and_the_city_admin_only(
    client,
    login,
    users,
    area,
    django_capture_on_commit_callbacks,
    method,
    path,
    who,
    expected_status,
):
    # given: county A's official uploaded a file with one error
    data, new_code = _file_with_one_error(area)
    job = _upload_job(django_capture_on_commit_callbacks, users["county_official"], data)
    login(client, users[who])

    # when
    with django_capture_on_commit_callbacks(execute=True):
        response = getattr(client, method)(path.format(pk=job.pk), {"valid_only": "on"})

    # then
    if expected_status == "ok":
        assert response.status_code == (200 if method == "get" else 302)
    else:
        assert response.status_code == expected_status
        job.refresh_from_db()
        assert job.state == ImportJob.State.PREVIEWED
        assert not Village.objects.filter(code=new_code).exists()


def test_htmx_progress_of_another_countys_import_is_404(
    client, login, county_official, other_county_official, area, django_capture_on_commit_callbacks
):
    # given
    job = _running_job(django_capture_on_commit_callbacks, other_county_official, area)
    login(client, county_official)

    # when
    response = client.get(f"/imports/{job.pk}/?poll=1", headers={"HX-Request": "true"})

    # then
    assert response.status_code == 404


# ----- blank templates -----


@pytest.mark.parametrize("kind, first_header", [("villages", "县(市、区)"), ("cadres", "姓名")])
@pytest.mark.parametrize("who", ["city_admin", "county_official"])
def test_import_roles_download_the_blank_templates(client, login, users, who, kind, first_header):
    # given
    login(client, users[who])

    # when
    response = client.get(f"/imports/templates/{kind}/")

    # then
    assert response.status_code == 200
    assert response["Content-Type"] == XLSX
    assert "attachment" in response["Content-Disposition"]
    ws = load_workbook(io.BytesIO(response.content)).worksheets[0]
    assert ws.cell(row=1, column=1).value == first_header


@pytest.mark.parametrize("who", ["township_official", "cadre_user", "city_viewer", "no_role_user"])
def test_other_roles_may_not_download_the_templates(client, login, users, who):
    login(client, users[who])

    assert client.get("/imports/templates/villages/").status_code == 403


def test_unknown_template_kind_is_404(client, login, city_admin):
    login(client, city_admin)

    assert client.get("/imports/templates/households/").status_code == 404


@pytest.mark.django_db(transaction=True)
def test_import_page_exports_the_current_cadre_roster_in_the_template_layout(
    client, login, area, county_official
):
    # given: the import page offers an export of each kind
    login(client, county_official)
    page = client.get("/imports/").content.decode()
    assert 'action="/exports/new/cadres/"' in page

    # when: the county official exports the cadre roster
    response = client.post("/exports/new/cadres/")

    # then: the job is done and its workbook has the template's headers and only the
    # assignments of the official's county (a1v1, the 联乡 one in A2, and the cross-county
    # cadre sent by county A's unit to b1v2 is not in county A's area)
    assert response.status_code == 302
    download = client.get(response["Location"] + "download/")
    sheet = load_workbook(io.BytesIO(b"".join(download.streaming_content))).active
    rows = list(sheet.iter_rows(values_only=True))
    assert list(rows[0]) == [
        "姓名",
        "手机号",
        "派出单位",
        "职务",
        "干部层级",
        "联系类型",
        "联系点区划代码",
        "年度",
        "开始日期",
        "结束日期",
        "工号",
    ]
    codes = {row[6] for row in rows[1:]}
    assert codes == {area.villages["a1v1"].code, area.townships["A2"].code}


def test_export_of_an_unknown_kind_is_refused_with_a_message(client, login, city_admin):
    login(client, city_admin)

    response = client.post("/exports/new/bogus/", follow=True)

    assert "未知的导出类型" in response.content.decode()
