"""The 三零企事业单位 roster import (kind `units`) through the portal's import pipeline:
new and changed units, errors that name the row and the column in Chinese, nothing half
written, county officials limited to their county, the template and the upload page."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import Workbook, load_workbook

from core.importing.engine import KINDS
from core.models import ImportJob
from disputes.models import ThreeZeroUnit
from tests.disputes.factories import UnitFactory
from villages.services import import_job_run_now

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.filterwarnings("ignore:No directory at:UserWarning"),
]
HEADERS = (
    "单位名称",
    "单位类型",
    "所在区划代码",
    "统一社会信用代码",
    "负责人",
    "联系电话",
    "纳入年度",
    "退出年度",
)


def workbook(rows, title_rows=1) -> SimpleUploadedFile:
    wb = Workbook()
    ws = wb.active
    for _ in range(title_rows):
        ws.append(["2024年三零创建企事业单位名册"])
    ws.append(HEADERS)
    for row in rows:
        ws.append(list(row))
    out = io.BytesIO()
    wb.save(out)
    return SimpleUploadedFile("三零单位.xlsx", out.getvalue())


def test_kind_is_registered():
    assert KINDS["units"].label == "三零企事业单位名册"


def test_import_creates_and_updates_units(area, city_admin):
    existing = UnitFactory(village=area.villages["a1v1"], name="甲一小学", year_from=2022)
    a1v1, a2 = area.villages["a1v1"].code, area.townships["A2"].code
    job = import_job_run_now(
        actor=city_admin,
        kind="units",
        upload=workbook(
            [
                ("甲一小学", "学校", a1v1, "", "张校长", "0374-1234567", 2022, None),
                ("甲二农贸市场", "市场", a2, "91411024MA44XXXX1X", "", "", 2024, None),
                ("甲一幼儿园", "幼儿园", a1v1, "", "", "", "2023", "2024"),
            ]
        ),
    )
    assert job.state == ImportJob.State.DONE, job.error
    assert job.summary["created"] == 2 and job.summary["updated"] == 1
    existing.refresh_from_db()
    assert existing.contact_name == "张校长"
    market = ThreeZeroUnit.objects.get(name="甲二农贸市场")
    assert market.village is None and market.township == area.townships["A2"]
    assert market.history.first().history_change_reason == "导入三零单位名册"


def test_errors_name_row_and_column_and_nothing_is_written(area, city_admin):
    a1v1 = area.villages["a1v1"].code
    job = import_job_run_now(
        actor=city_admin,
        kind="units",
        upload=workbook(
            [
                ("甲一小学", "学校", a1v1, "", "", "", 2024, None),
                ("", "工厂", "4110", "", "", "", "明年", None),
                ("甲一中学", "学校", "999999999999", "", "", "", 2024, 2020),
            ]
        ),
    )
    assert job.state == ImportJob.State.FAILED
    issues = {(i["row"], i["column"]) for i in job.preview["issues"]}
    assert {(4, "单位名称"), (4, "单位类型"), (4, "所在区划代码"), (4, "纳入年度")} <= issues
    assert (5, "退出年度") in issues
    messages = " ".join(i["message"] for i in job.preview["issues"])
    assert "单位名称不能为空" in messages
    assert not ThreeZeroUnit.objects.exists()


def test_county_official_only_imports_own_county(area, county_official):
    job = import_job_run_now(
        actor=county_official,
        kind="units",
        upload=workbook([("乙一小学", "学校", area.villages["b1v1"].code, "", "", "", 2024, None)]),
    )
    assert job.state == ImportJob.State.FAILED
    assert "不在您管辖的" in job.preview["issues"][0]["message"]
    assert not ThreeZeroUnit.objects.exists()


def test_template_and_upload_page(client_as, area):
    client = client_as("county_official")
    template = client.get("/imports/templates/units/")
    assert template.status_code == 200
    sheet = load_workbook(io.BytesIO(template.content)).active
    values = [c.value for row in sheet.iter_rows(max_row=5) for c in row]
    assert "所在区划代码" in values and "单位名称" in values
    page = client.get("/imports/").content.decode()
    assert "三零企事业单位名册" in page


def test_same_unit_by_village_and_township_code_is_an_error_on_its_row(area, city_admin):
    a1v1 = area.villages["a1v1"].code
    job = import_job_run_now(
        actor=city_admin,
        kind="units",
        upload=workbook(
            [
                ("甲一小学", "学校", a1v1, "", "", "", 2024, None),
                ("甲一小学", "学校", a1v1[:9], "", "", "", 2023, None),
            ]
        ),
    )
    assert job.state == ImportJob.State.FAILED
    assert [(i["row"], i["column"]) for i in job.preview["issues"]] == [(4, "单位名称")]
    assert "与第3行重复" in job.preview["issues"][0]["message"]
    assert not ThreeZeroUnit.objects.exists()
