"""The Django admin's 导入 (django-import-export) runs on the portal's own pipeline
(villages.resources): the same Chinese row errors, one ImportJob per import, the same scope.

The world is the `area` fixture (tests/conftest.py): county A 甲县 (townships A1 甲一镇,
A2 甲二街道) and county B 乙县 (township B1 乙一乡); every village has households 300.
Model permissions come from the real role groups in villages/demo.py.
"""

from html.parser import HTMLParser

import pytest
from django.contrib.messages import get_messages
from django.core.files.uploadedfile import SimpleUploadedFile

from core.models import ImportJob
from tests.imports.area_sheets import HEADERS
from tests.imports.area_sheets import free_code as _free_code
from tests.imports.area_sheets import roster_xlsx as _xlsx
from tests.imports.area_sheets import village_row as _row
from villages.demo import role_groups
from villages.models import Township, UserRole, Village
from villages.services import import_job_create

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.filterwarnings("ignore:No directory at:UserWarning"),
]

IMPORT_URL = "/admin/villages/village/import/"
PROCESS_URL = "/admin/villages/village/process_import/"
CHANGELIST_URL = "/admin/villages/village/"
XLSX_FORMAT, CSV_FORMAT = "0", "1"
CONFIRM_FIELDS = {"import_file_name", "original_file_name", "format", "resource"}


# ----- private helpers -----


class _HiddenInputs(HTMLParser):
    """The hidden inputs of the form that posts to process_import."""

    def __init__(self):
        super().__init__()
        self.in_confirm_form = False
        self.fields: dict[str, str] = {}

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.in_confirm_form = "process_import" in (attrs.get("action") or "")
        elif tag == "input" and self.in_confirm_form and attrs.get("type") == "hidden":
            self.fields[attrs["name"]] = attrs.get("value") or ""

    def handle_endtag(self, tag):
        if tag == "form":
            self.in_confirm_form = False


def _confirm_fields(html: str) -> dict[str, str]:
    parser = _HiddenInputs()
    parser.feed(html)
    return parser.fields


def _upload(client, data: bytes, name: str = "村名册.xlsx", fmt: str = XLSX_FORMAT):
    return client.post(
        IMPORT_URL,
        {"format": fmt, "resource": "0", "import_file": SimpleUploadedFile(name, data)},
    )


def _staff(user, role):
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    user.groups.add(role_groups()[role])
    return user


@pytest.fixture
def admin_client(client, city_admin):
    client.force_login(_staff(city_admin, UserRole.Role.CITY_ADMIN))
    return client


# ----- the import page -----


def test_import_page_offers_xlsx_and_csv_and_lists_the_columns(admin_client):
    # when
    response = admin_client.get(IMPORT_URL)

    # then
    html = response.content.decode()
    assert response.status_code == 200
    assert [label for _, label in response.context["form"].fields["format"].choices[1:]] == [
        "xlsx",
        "csv",
    ]
    assert 'name="import_file"' in html
    assert "县(市、区), 乡镇(街道), 村(社区)名称, 统计用区划代码, 类型" in html


def test_rows_with_errors_show_chinese_messages_and_no_confirm_form(admin_client, area):
    # given: row 3 has a 5-digit code, row 4 an unknown type
    data = _xlsx(
        [
            _row(area.villages["a1v1"], households=555),
            _row(area.villages["a1v2"], code="12345"),
            _row(area.villages["a1v3"], kind="乡村"),
        ]
    )

    # when
    response = _upload(admin_client, data)

    # then
    html = response.content.decode()
    assert response.status_code == 200
    assert "confirm_form" not in response.context
    assert "process_import" not in html
    assert [row.number for row in response.context["result"].invalid_rows] == [3, 4]
    assert "统计用区划代码“12345”应为 12 位数字，实际 5 位" in html
    assert "类型“乡村”不在可选范围内" in html
    # and: nothing written, nothing recorded
    assert Village.objects.get(pk=area.villages["a1v1"].pk).households == 300
    assert ImportJob.objects.count() == 0


def test_clean_file_is_previewed_then_imported_and_recorded(admin_client, city_admin, area):
    # given
    new_code = _free_code(area.townships["A2"])
    data = _xlsx(
        [
            _row(area.villages["a1v1"], households=555),
            [area.county_a.name, "甲二街道", "后台新村", new_code, "行政村", 50, 150],
        ]
    )

    # when: the first step
    preview = _upload(admin_client, data)

    # then: a preview with a confirm form, nothing written yet
    html = preview.content.decode()
    assert "confirm_form" in preview.context
    assert "户数：300 → 555" in html
    assert "后台新村" in html
    assert not Village.objects.filter(code=new_code).exists()
    fields = _confirm_fields(html)
    assert CONFIRM_FIELDS <= set(fields)
    assert fields["original_file_name"] == "村名册.xlsx"

    # when: confirming
    response = admin_client.post(PROCESS_URL, fields)

    # then
    assert response.status_code == 302
    assert response["Location"] == CHANGELIST_URL
    assert Village.objects.get(pk=area.villages["a1v1"].pk).households == 555
    created = Village.objects.get(code=new_code)
    assert (created.name, created.township) == ("后台新村", area.townships["A2"])
    job = ImportJob.objects.get()
    assert (job.state, job.user, job.kind) == (ImportJob.State.DONE, city_admin, "villages")
    assert job.original_name == "村名册.xlsx"
    assert (job.summary["new"], job.summary["changed"]) == (1, 1)
    assert created.history.first().history_user == city_admin


def test_gbk_csv_imports_through_the_admin(admin_client, area):
    # given
    new_code = _free_code(area.townships["B1"])
    lines = [
        ",".join(HEADERS),
        ",".join(str(v) for v in _row(area.villages["b1v1"], name="乙一新名村")),
        f"{area.county_b.name},乙一乡,国标村,{new_code},农村社区,8,9",
    ]
    data = ("\r\n".join(lines) + "\r\n").encode("gbk")
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")

    # when
    preview = _upload(admin_client, data, name="名册.csv", fmt=CSV_FORMAT)

    # then
    html = preview.content.decode()
    assert "confirm_form" in preview.context
    assert "名称：b1v1村 → 乙一新名村" in html

    # when
    response = admin_client.post(PROCESS_URL, _confirm_fields(html))

    # then
    assert response.status_code == 302
    assert Village.objects.get(pk=area.villages["b1v1"].pk).name == "乙一新名村"
    created = Village.objects.get(code=new_code)
    assert (created.name, created.kind) == ("国标村", Village.Kind.RURAL_COMMUNITY)
    assert ImportJob.objects.get().state == ImportJob.State.DONE


def test_county_official_sees_rows_outside_their_county_as_errors(client, county_official, area):
    # given
    client.force_login(_staff(county_official, UserRole.Role.COUNTY_OFFICIAL))
    data = _xlsx([_row(area.villages["a1v1"]), _row(area.villages["b1v1"], households=1)])

    # when
    response = _upload(client, data)

    # then
    html = response.content.decode()
    assert response.status_code == 200
    assert "confirm_form" not in response.context
    assert "不在您的辖区（甲县）内" in html
    assert Village.objects.get(pk=area.villages["b1v1"].pk).households == 300


def test_import_button_is_hidden_and_forbidden_for_a_township_official(
    client, township_official, area
):
    # given
    client.force_login(_staff(township_official, UserRole.Role.TOWNSHIP_OFFICIAL))
    data = _xlsx([_row(area.villages["a1v1"], households=1)])

    # when
    changelist = client.get(CHANGELIST_URL)

    # then
    assert changelist.status_code == 200
    assert changelist.context["has_import_permission"] is False
    assert IMPORT_URL not in changelist.content.decode()
    assert client.get(IMPORT_URL).status_code == 403
    assert _upload(client, data).status_code == 403
    assert client.post(PROCESS_URL, {"format": "0", "resource": "0"}).status_code == 403
    assert Village.objects.get(pk=area.villages["a1v1"].pk).households == 300


def test_import_button_is_shown_to_a_city_admin(admin_client):
    changelist = admin_client.get(CHANGELIST_URL)

    assert changelist.context["has_import_permission"] is True
    assert IMPORT_URL in changelist.content.decode()


def test_confirm_that_finds_new_errors_reports_them_instead_of_success(admin_client, area):
    """Regression: the admin used to say 导入成功 although nothing was imported."""
    # given: a clean preview
    township = area.townships["A1"]
    new_code = _free_code(township)
    data = _xlsx([[area.county_a.name, "甲一镇", "复核村", new_code, "行政村", 1, 2]])
    fields = _confirm_fields(_upload(admin_client, data).content.decode())
    assert CONFIRM_FIELDS <= set(fields)
    # and: the township is renamed before the confirm
    Township.objects.filter(pk=township.pk).update(name="甲一镇改名")

    # when
    response = admin_client.post(PROCESS_URL, fields, follow=True)

    # then: nothing written or recorded as done, and the admin says so
    assert not Village.objects.filter(code=new_code).exists()
    assert not ImportJob.objects.filter(state=ImportJob.State.DONE).exists()
    shown = [str(m) for m in get_messages(response.wsgi_request)] or [
        str(m) for m in response.context["messages"]
    ]
    assert not any("导入成功" in m for m in shown), shown
    assert any("未写入" in m for m in shown), shown


def test_confirm_while_another_import_of_the_kind_runs_is_refused_politely(
    admin_client, city_admin, area, django_capture_on_commit_callbacks
):
    """Regression: the ValidationError escaped process_import as a 500."""
    # given: a clean admin preview
    data = _xlsx([_row(area.villages["a1v1"], households=555)])
    fields = _confirm_fields(_upload(admin_client, data).content.decode())
    # and: a page import of villages still validating
    with django_capture_on_commit_callbacks():
        import_job_create(
            actor=city_admin, kind="villages", upload=SimpleUploadedFile("p.xlsx", data)
        )

    # when
    response = admin_client.post(PROCESS_URL, fields, follow=True)

    # then
    assert response.status_code == 200
    assert "已有一个同类导入正在进行" in response.content.decode()
    assert "导入成功" not in response.content.decode()
    assert Village.objects.get(pk=area.villages["a1v1"].pk).households == 300
    assert not ImportJob.objects.filter(state=ImportJob.State.DONE).exists()
