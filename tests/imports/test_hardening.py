"""Import hardening found in review: job state claims (no double commit, no double run),
tasks that give up mark their job, county officials and other counties' cadres, sheets
with absurd extents, cells no parser foresaw, and CSV text that must not become formulas.
"""

import io

import pytest
from django.core.exceptions import ValidationError
from django.db import OperationalError
from openpyxl import Workbook, load_workbook

from core.importing.reader import FileProblem, read_bytes
from core.jobs import export_job_run, import_job_commit
from core.models import ExportJob, ImportJob
from core.tasks import export_job_run as export_task
from core.tasks import import_job_commit as commit_task
from tests.imports.area_sheets import free_code, roster_xlsx, village_row
from tests.imports.builders import (
    assignment_values,
    build_world,
    cadres_xlsx,
    county_official_user,
    csv_bytes,
    plan_of,
)
from villages.models import Cadre, Village
from villages.services import export_job_create, import_job_confirm, import_job_create

pytestmark = pytest.mark.django_db


def _upload(data: bytes, name="村名册.xlsx"):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, data)


def _previewed(capture, actor, data) -> ImportJob:
    with capture(execute=True):
        job = import_job_create(actor=actor, kind="villages", upload=_upload(data))
    job.refresh_from_db()
    assert job.state == ImportJob.State.PREVIEWED
    return job


# ----- state claims -----


def test_a_second_confirm_from_a_stale_page_is_refused_and_commits_nothing_twice(
    area, city_admin, django_capture_on_commit_callbacks
):
    # given: one preview, opened in two tabs (two stale copies of the job)
    village = area.villages["a1v1"]
    job = _previewed(
        django_capture_on_commit_callbacks,
        city_admin,
        roster_xlsx([village_row(village, households=350)]),
    )
    tab_one, tab_two = ImportJob.objects.get(pk=job.pk), ImportJob.objects.get(pk=job.pk)

    # when: both tabs confirm
    with django_capture_on_commit_callbacks(execute=True):
        import_job_confirm(actor=city_admin, job=tab_one)
    history_after_first = Village.history.filter(id=village.pk).count()
    with pytest.raises(ValidationError) as exc, django_capture_on_commit_callbacks(execute=True):
        import_job_confirm(actor=city_admin, job=tab_two)

    # then: the second is told the job's state; the data was written once
    assert "已完成" in exc.value.messages[0]
    assert Village.history.filter(id=village.pk).count() == history_after_first
    job.refresh_from_db()
    assert job.state == ImportJob.State.DONE
    assert job.summary["changed"] == 1


def test_a_redelivered_commit_task_does_nothing(
    area, city_admin, django_capture_on_commit_callbacks
):
    # given: a committed import
    village = area.villages["a1v1"]
    job = _previewed(
        django_capture_on_commit_callbacks,
        city_admin,
        roster_xlsx([village_row(village, households=351)]),
    )
    with django_capture_on_commit_callbacks(execute=True):
        import_job_confirm(actor=city_admin, job=job)
    history = Village.history.count()

    # when: the broker delivers the commit task again (acks_late after a worker restart)
    again = import_job_commit(job_id=job.pk)

    # then
    assert again.state == ImportJob.State.DONE
    assert again.summary["changed"] == 1
    assert Village.history.count() == history


def test_a_commit_task_that_gives_up_marks_the_job_failed(
    area, city_admin, django_capture_on_commit_callbacks, monkeypatch
):
    # given: a confirmed job whose database keeps going away
    job = _previewed(
        django_capture_on_commit_callbacks,
        city_admin,
        roster_xlsx([village_row(area.villages["a1v1"], households=352)]),
    )
    job.state = ImportJob.State.COMMITTING
    job.save(update_fields=["state"])

    def down(**kwargs):
        raise OperationalError("server closed the connection")

    monkeypatch.setattr("core.jobs.import_job_commit", down)

    # when: the task runs out of retries (eager: retries are raised, not scheduled)
    result = commit_task.apply(args=[job.pk], retries=commit_task.max_retries, throw=False)

    # then: the job says so in Chinese instead of staying "导入中" forever
    assert result.failed()
    job.refresh_from_db()
    assert job.state == ImportJob.State.FAILED
    assert "未写入任何数据" in job.error


def test_an_export_task_delivered_twice_builds_one_file(area, city_admin, settings, monkeypatch):
    # given: a queued export (its task not yet run)
    monkeypatch.setattr(export_task, "delay", lambda *a, **k: None)
    job = export_job_create(actor=city_admin, kind="villages")

    # when: two workers get the same task
    first = export_job_run(job_id=job.pk)
    second = export_job_run(job_id=job.pk)

    # then
    assert first.state == second.state == ExportJob.State.DONE
    assert second.file.name == first.file.name


# ----- scope inside the cadre sheet -----


def test_a_county_official_cannot_rename_or_repost_another_countys_cadre_by_phone():
    # given: 乙县's cadre, and 甲县's official importing a row with that cadre's phone
    world = build_world(villages_per_township=1)
    official = county_official_user(world.county_a)
    theirs = world.assignments["b1v1"].cadre
    row = assignment_values(
        world.assignments["a1v1"], 手机号=theirs.phone, 姓名="改名", 派出单位="甲县民政局"
    )

    # when
    plan, _ = plan_of("cadres", cadres_xlsx([row]), actor=official, county=world.county_a)

    # then: an error on 手机号 that reveals nothing about the other cadre
    [issue] = plan.issues
    assert issue.column == "手机号"
    assert issue.message == "该手机号已登记为其他辖区的干部，请联系市级管理员处理"
    assert theirs.name not in str(issue) and theirs.work_unit.name not in str(issue)
    assert Cadre.objects.get(pk=theirs.pk).name == theirs.name


def test_missing_and_out_of_area_places_get_the_same_message():
    world = build_world(villages_per_township=1)
    official = county_official_user(world.county_a)
    other = world.villages["b1v1"]
    rows = [
        assignment_values(world.assignments["a1v1"], 联系点区划代码=other.code),
        assignment_values(
            world.assignments["a1v1"],
            联系点区划代码=other.code[:9] + "998",
            年度=2025,
            开始日期="2025-01-01",
            结束日期="2025-12-31",
        ),
    ]

    plan, _ = plan_of("cadres", cadres_xlsx(rows), actor=official, county=world.county_a)

    messages = [
        i.message.replace(other.code[:9] + "998", "X").replace(other.code, "X") for i in plan.issues
    ]
    assert len(messages) == 2 and messages[0] == messages[1]
    assert other.name not in " ".join(messages)


# ----- hostile or odd files -----


def test_a_tiny_sheet_with_one_far_away_value_is_refused_quickly():
    wb = Workbook()
    wb.active["A1"] = "村(社区)名称"
    wb.active["XFD3000"] = "x"
    out = io.BytesIO()
    wb.save(out)

    with pytest.raises(FileProblem) as exc:
        read_bytes(out.getvalue(), "far.xlsx")

    assert "数据范围过大" in str(exc.value)


def test_formatted_empty_cells_far_away_do_not_count_as_extent():
    wb = Workbook()
    ws = wb.active
    ws["A1"] = "a"
    ws["XFD50000"].style = "Accent1"  # formatted, no value
    out = io.BytesIO()
    wb.save(out)

    [sheet] = read_bytes(out.getvalue(), "styled.xlsx")

    assert [v for _, v in sheet.rows] == [("a",)]


def test_an_odd_number_cell_costs_its_row_not_the_import(area):
    village = area.villages["a1v1"]
    data = roster_xlsx([village_row(village, households="--5"), village_row(area.villages["a1v2"])])

    plan, _ = plan_of("villages", data)

    assert [str(i) for i in plan.issues] == ["第2行 户数: 户数“--5”必须是整数"]
    assert len(plan.valid_items()) == 1


def test_annotated_workbook_from_a_csv_keeps_formula_text_as_text(
    area, city_admin, django_capture_on_commit_callbacks
):
    # given: a CSV whose bad row carries text that Excel would run as a formula
    headers = ["县(市、区)", "乡镇(街道)", "村(社区)名称", "统计用区划代码", "类型", "户数", "人口"]
    township = area.townships["A1"]
    data = csv_bytes(
        [
            [
                township.county.name,
                township.name,
                '=HYPERLINK("http://x")',
                free_code(township),
                "村",
                1,
                2,
            ]
        ],
        headers=headers,
    )
    with django_capture_on_commit_callbacks(execute=True):
        job = import_job_create(actor=city_admin, kind="villages", upload=_upload(data, "名册.csv"))
    job.refresh_from_db()

    # when
    with job.annotated.open("rb") as fh:
        sheet = load_workbook(io.BytesIO(fh.read())).active

    # then: the cell is text, not a live formula
    cell = sheet.cell(row=2, column=3)
    assert cell.data_type == "s"
    assert cell.value.startswith("'=")


def test_an_existing_code_with_an_old_code_of_another_existing_village_is_an_error(area):
    # given: a row that keeps a1v1's code but names a1v2's code as the old one
    from tests.imports.area_sheets import HEADERS_WITH_OLD_CODE

    a1v1, a1v2 = area.villages["a1v1"], area.villages["a1v2"]
    data = roster_xlsx([[*village_row(a1v1), a1v2.code]], headers=HEADERS_WITH_OLD_CODE)

    # when
    plan, _ = plan_of("villages", data)

    # then: neither village is renamed or moved silently
    [issue] = plan.issues
    assert issue.column == "原区划代码"
    assert a1v2.code in issue.message
    assert plan.valid_items() == []
