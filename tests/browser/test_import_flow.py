"""A city admin imports a roster in a real browser (Playwright driving Debian's Chromium):
upload → preview with the error row and the counts → 只导入无误的行 → 确认导入 → the
progress bar at 100 % and 导入完成 → the annotated workbook, bad cell in red.

Celery is eager in tests and the live server runs in autocommit, so the validation task
runs inside the upload request. The commit task is held back instead and run by the test
once the page is polling, so the htmx progress bar and its HX-Refresh reload are real. Screenshots go to the
`screenshot_dir` fixture (tests/conftest.py).
"""

import io
import re
from unittest import mock

import pytest
from celery import current_app
from openpyxl import Workbook, load_workbook
from playwright.sync_api import expect

from core.jobs import import_job_commit, import_progress_set
from core.models import ImportJob
from tests.factories import (
    CountyFactory,
    TownshipFactory,
    UserFactory,
    UserRoleFactory,
    VillageFactory,
)
from villages.models import County, Village

pytestmark = [
    pytest.mark.browser,
    pytest.mark.filterwarnings("ignore:No directory at:UserWarning"),
]

PASSWORD = "demo12345"
HEADERS = ("县(市、区)", "乡镇(街道)", "村(社区)名称", "统计用区划代码", "类型", "户数", "人口")
RED = "FFC7CE"


def _roster_xlsx() -> bytes:
    """Row 2 changes 裴庄村's households 300 → 320, row 3 is a new village, row 4 has an
    8-digit code."""
    wb = Workbook()
    ws = wb.active
    ws.title = "花名册"
    ws.append(list(HEADERS))
    ws.append(["鄢陵县", "张桥镇", "裴庄村", "411024107225", "行政村", 320, 1000])
    ws.append(["鄢陵县", "张桥镇", "新庄村", "411024107230", "行政村", 150, 520])
    ws.append(["鄢陵县", "张桥镇", "坏代码村", "41102410", "行政村", 10, 20])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


@pytest.fixture
def world(transactional_db):
    """鄢陵县 张桥镇 with 裴庄村 (300 households), and the city admin `admin`."""
    county = CountyFactory(code="411024", name="鄢陵县", kind=County.Kind.COUNTY)
    township = TownshipFactory(county=county, code="411024107", name="张桥镇")
    village = VillageFactory(
        township=township, code="411024107225", name="裴庄村", households=300, population=1000
    )
    user = UserFactory(username="admin", first_name="市管理员")
    user.set_password(PASSWORD)
    user.save()
    UserRoleFactory(user=user, role="city_admin")
    return {"village": village, "user": user}


def test_city_admin_imports_a_roster_with_one_bad_row(live_server, page, world, screenshot_dir):
    base = live_server.url

    # given: signed in through the real form
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("用户名").fill("admin")
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page).to_have_url(f"{base}/")

    # when: uploading from 数据导入
    page.get_by_role("navigation").get_by_role("link", name="数据导入").click()
    expect(page).to_have_url(f"{base}/imports/")
    page.get_by_label("名册类型").select_option(label="村(社区)花名册")
    page.get_by_label("Excel 或 CSV 文件").set_input_files(
        {
            "name": "鄢陵县花名册.xlsx",
            "mimeType": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "buffer": _roster_xlsx(),
        }
    )
    page.get_by_role("button", name="上传并校验").click()

    # then: the preview, with the counts and the error naming row and column
    expect(page).to_have_url(re.compile(rf"{re.escape(base)}/imports/\d+/$"))
    expect(page.locator('[data-count="new"]')).to_have_text("1")
    expect(page.locator('[data-count="changed"]')).to_have_text("1")
    expect(page.locator('[data-count="errors"]')).to_have_text("1")
    error_row = page.locator("table.import-errors tbody tr")
    expect(error_row).to_have_count(1)
    expect(error_row.locator("td").nth(0)).to_have_text("第4行")
    expect(error_row.locator("td").nth(1)).to_have_text("统计用区划代码")
    expect(error_row.locator("td").nth(2)).to_contain_text("应为 12 位数字")
    expect(page.locator("table.preview-changes del")).to_have_text("300")
    expect(page.locator("table.preview-changes ins")).to_have_text("320")
    page.screenshot(path=str(screenshot_dir / "import_preview.png"), full_page=True)
    assert not Village.objects.filter(code="411024107230").exists()

    # when: importing the valid rows only; the commit task is held back so that the page
    # shows the running import and polls it with htmx
    commit_task = mock.MagicMock()  # eager in tests: the outbox calls its delay()
    with mock.patch.dict(current_app.tasks, {"core.tasks.import_job_commit": commit_task}):
        page.get_by_label(re.compile("只导入无误的行")).check()
        page.get_by_role("button", name="确认导入").click()
        expect(page.get_by_text("正在写入数据…")).to_be_visible()
    job = ImportJob.objects.get()
    commit_task.delay.assert_called_once_with(job.pk)
    assert job.state == ImportJob.State.COMMITTING
    progress = page.get_by_role("progressbar", name="进度")
    expect(progress).to_have_attribute("value", "0")

    # then: the bar follows the worker's progress
    import_progress_set(job.pk, 60)
    expect(progress).to_have_attribute("value", "60")
    expect(page.locator(".progress-text")).to_have_text("60%")

    # when: the worker finishes, the next poll reloads the page
    with page.expect_response(
        lambda r: "poll=1" in r.url and r.headers.get("hx-refresh") == "true"
    ):
        import_job_commit(job_id=job.pk)

    # then: the progress bar at 100 % and the result
    expect(page.get_by_text(re.compile(r"导入完成：新增 1 行，修改 1 行"))).to_be_visible()
    expect(page.get_by_text("跳过有错误的 1 行", exact=False)).to_be_visible()
    expect(progress).to_have_attribute("value", "100")
    expect(page.locator(".progress-text")).to_have_text("100%")
    expect(page.locator(".progress-text")).to_be_visible()
    page.screenshot(path=str(screenshot_dir / "import_result.png"), full_page=True)
    job.refresh_from_db()
    assert (job.state, job.user, job.valid_only) == (ImportJob.State.DONE, world["user"], True)
    assert Village.objects.get(pk=world["village"].pk).households == 320
    assert Village.objects.filter(code="411024107230", name="新庄村").exists()
    assert not Village.objects.filter(name="坏代码村").exists()

    # when: downloading the workbook back
    with page.expect_download() as download_info:
        page.get_by_role("link", name="下载错误标注的工作簿").click()
    download = download_info.value

    # then: the bad cell is red and the error column closes the header row
    assert download.suggested_filename == "鄢陵县花名册-错误标注.xlsx"
    ws = load_workbook(io.BytesIO(download.path().read_bytes()))["花名册"]
    error_col = len(HEADERS) + 1
    assert ws.cell(row=1, column=error_col).value == "错误说明"
    bad = ws.cell(row=4, column=HEADERS.index("统计用区划代码") + 1)
    assert bad.value == "41102410"
    assert bad.fill.fgColor.rgb.endswith(RED)
    assert "应为 12 位数字" in ws.cell(row=4, column=error_col).value
    assert not str(ws.cell(row=2, column=4).fill.fgColor.rgb).endswith(RED)
