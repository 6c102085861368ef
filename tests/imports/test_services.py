"""The import workflow's services and selectors: upload → validate (a Celery task) →
preview → confirm → commit (a Celery task) → result, recorded as an ImportJob.

Celery runs eagerly in tests, but the tasks are queued with `transaction.on_commit`, so
every call that queues one runs inside `django_capture_on_commit_callbacks(execute=True)`.

The world is the `area` fixture (tests/conftest.py): county A 甲县 (townships A1 甲一镇,
A2 甲二街道; villages a1v1…a2v3, households 300, population 1000) and county B 乙县
(township B1 乙一乡; villages b1v1, b1v2).
"""

import datetime
import io
from pathlib import Path

import pytest
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import Http404
from django.utils import timezone
from openpyxl import load_workbook

from core.jobs import import_job_commit, import_progress_set
from core.models import ImportJob
from core.selectors import import_progress
from tests.imports.area_sheets import HEADERS, HEADERS_WITH_OLD_CODE
from tests.imports.area_sheets import free_code as _free_code
from tests.imports.area_sheets import free_codes as _free_codes
from tests.imports.area_sheets import roster_xlsx as _xlsx
from tests.imports.area_sheets import village_row as _row
from villages.models import Village
from villages.selectors import import_job_get_for_user, import_job_list_for_user
from villages.services import (
    import_job_cancel,
    import_job_confirm,
    import_job_create,
    import_job_run_now,
    import_preview,
    import_scope_county,
)

pytestmark = pytest.mark.django_db

RED = "FFC7CE"


# ----- building files (private helpers) -----


def _new_row(township, name, code) -> list:
    return [township.county.name, township.name, name, code, "行政村", 120, 400]


def _upload(data: bytes, name: str = "村名册.xlsx") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data)


def _mixed_file(area) -> tuple[bytes, dict]:
    """Rows 2–6: changed, unchanged, new, moved, and a bad code (row 6).

    The file lists only 甲一镇, so the move of a2v1 (甲二街道) into it is declared in the
    原区划代码 column: a file that does not speak for 甲二街道 never infers one."""
    new_code, moved_code = _free_codes(area.townships["A1"], 2)
    a2v1 = area.villages["a2v1"]
    data = _xlsx(
        [
            _row(area.villages["a1v1"], households=350),
            _row(area.villages["a1v2"]),
            _new_row(area.townships["A1"], "新建村", new_code),
            [*_row(a2v1, township=area.townships["A1"].name, code=moved_code), a2v1.code],
            _row(area.villages["a1v3"], code="12345"),
        ],
        headers=HEADERS_WITH_OLD_CODE,
    )
    return data, {"new_code": new_code, "moved_code": moved_code, "moved_from": a2v1.code}


def _create(capture, actor, data, *, kind="villages", name="村名册.xlsx", **kwargs) -> ImportJob:
    """Upload and run the queued validation task, as a worker would after the commit."""
    with capture(execute=True):
        job = import_job_create(actor=actor, kind=kind, upload=_upload(data, name), **kwargs)
    job.refresh_from_db()
    return job


def _confirm(capture, actor, job, **kwargs) -> ImportJob:
    with capture(execute=True):
        import_job_confirm(actor=actor, job=job, **kwargs)
    job.refresh_from_db()
    return job


def _annotated(job: ImportJob):
    """The annotated workbook the job's own background step stored."""
    job.refresh_from_db()
    assert job.annotated_state == ImportJob.Annotation.DONE
    with job.annotated.open("rb") as fh:
        return load_workbook(io.BytesIO(fh.read()))


def _stored_import_files() -> set[str]:
    root = Path(settings.MEDIA_ROOT) / "imports"
    return {str(p) for p in root.rglob("*") if p.is_file()} if root.exists() else set()


# ----- upload and validation -----


def test_upload_is_recorded_and_validation_waits_for_the_commit(
    city_admin, area, django_capture_on_commit_callbacks
):
    # given
    data, _ = _mixed_file(area)

    # when
    with django_capture_on_commit_callbacks() as callbacks:
        job = import_job_create(actor=city_admin, kind="villages", upload=_upload(data))

    # then: recorded with the file, queued, not yet validated
    job.refresh_from_db()
    assert job.state == ImportJob.State.VALIDATING
    assert job.user == city_admin
    assert job.county is None
    assert job.original_name == "村名册.xlsx"
    assert job.created_at is not None
    with job.file.open("rb") as fh:
        assert fh.read() == data
    assert len(callbacks) == 1
    assert job.summary == {}
    assert import_progress(job) == 0


def test_validation_builds_the_preview_and_writes_no_roster_data(
    city_admin, area, django_capture_on_commit_callbacks
):
    # given
    data, codes = _mixed_file(area)
    villages_before = Village.objects.count()

    # when
    job = _create(django_capture_on_commit_callbacks, city_admin, data)

    # then: counts
    assert job.state == ImportJob.State.PREVIEWED
    summary = job.summary
    assert (summary["new"], summary["changed"], summary["unchanged"], summary["moved"]) == (
        1,
        1,
        1,
        1,
    )
    assert (summary["errors"], summary["error_rows"], summary["rows"]) == (1, 1, 5)
    # and: the lists, old → new per field
    groups = job.preview["groups"]
    assert [r["row"] for r in groups["changed"]] == [2]
    changes = groups["changed"][0]["changes"]
    assert {field: [str(v) for v in pair] for field, pair in changes.items()} == {
        "户数": ["300", "350"]
    }
    assert [r["row"] for r in groups["unchanged"]] == [3]
    assert [r["row"] for r in groups["new"]] == [4]
    assert "新建村" in groups["new"][0]["label"]
    assert [r["row"] for r in groups["moved"]] == [5]
    assert groups["moved"][0]["changes"]["统计用区划代码"] == [
        codes["moved_from"],
        codes["moved_code"],
    ]
    # and: the error names the row and the column, in Chinese
    assert job.preview["issues"] == [
        {
            "row": 6,
            "column": "统计用区划代码",
            "message": "统计用区划代码“12345”应为 12 位数字，实际 5 位",
        }
    ]
    assert import_progress(job) == 100
    # and: nothing written
    assert Village.objects.count() == villages_before
    assert Village.objects.get(pk=area.villages["a1v1"].pk).households == 300
    assert Village.objects.filter(code=codes["moved_from"]).exists()


def test_unreadable_file_fails_the_job_with_a_chinese_reason(
    city_admin, area, django_capture_on_commit_callbacks
):
    # given: a sheet with no roster header at all
    data = _xlsx([["张三", "13900000000"]], headers=("姓名", "电话"))

    # when
    job = _create(django_capture_on_commit_callbacks, city_admin, data)

    # then
    assert job.state == ImportJob.State.FAILED
    assert "没有找到表头" in job.error
    assert job.finished_at is not None


def test_upload_over_ten_megabytes_is_refused(city_admin):
    # given
    too_big = _upload(b"x" * (10 * 1024 * 1024 + 1), "big.csv")

    # when / then
    with pytest.raises(ValidationError, match="10 MB"):
        import_job_create(actor=city_admin, kind="villages", upload=too_big)
    assert ImportJob.objects.count() == 0


# ----- all-or-nothing, confirm and commit -----


def test_confirming_a_preview_with_errors_is_refused_and_writes_nothing(
    city_admin, area, django_capture_on_commit_callbacks
):
    # given
    data, codes = _mixed_file(area)
    job = _create(django_capture_on_commit_callbacks, city_admin, data)

    # when
    with pytest.raises(ValidationError) as exc:
        _confirm(django_capture_on_commit_callbacks, city_admin, job)

    # then
    assert "只导入无误的行" in exc.value.messages[0]
    assert "1 处错误" in exc.value.messages[0]
    job.refresh_from_db()
    assert job.state == ImportJob.State.PREVIEWED
    assert not Village.objects.filter(code=codes["new_code"]).exists()
    assert Village.objects.get(pk=area.villages["a1v1"].pk).households == 300


def test_valid_only_imports_the_valid_rows_and_skips_the_bad_one(
    city_admin, area, django_capture_on_commit_callbacks
):
    # given
    data, codes = _mixed_file(area)
    job = _create(django_capture_on_commit_callbacks, city_admin, data)

    # when
    job = _confirm(django_capture_on_commit_callbacks, city_admin, job, valid_only=True)

    # then: the job
    assert job.state == ImportJob.State.DONE
    assert job.valid_only is True
    assert job.finished_at is not None
    assert job.summary["new"] == 1
    assert job.summary["changed"] == 1
    assert job.summary["moved"] == 1
    assert job.summary["skipped_error_rows"] == 1
    assert import_progress(job) == 100
    # and: the data
    assert Village.objects.get(pk=area.villages["a1v1"].pk).households == 350
    created = Village.objects.get(code=codes["new_code"])
    assert created.name == "新建村"
    assert created.township == area.townships["A1"]
    moved = Village.objects.get(pk=area.villages["a2v1"].pk)
    assert (moved.code, moved.township) == (codes["moved_code"], area.townships["A1"])
    assert Village.objects.get(pk=area.villages["a1v3"].pk).code == area.villages["a1v3"].code
    # and: audited with the actor
    assert created.history.first().history_user == city_admin


def test_clean_file_is_committed_whole(city_admin, area, django_capture_on_commit_callbacks):
    # given
    new_code = _free_code(area.townships["A2"])
    data = _xlsx(
        [
            _row(area.villages["a2v2"], population=1500),
            _new_row(area.townships["A2"], "干净村", new_code),
        ]
    )
    job = _create(django_capture_on_commit_callbacks, city_admin, data)
    assert job.summary["errors"] == 0

    # when
    job = _confirm(django_capture_on_commit_callbacks, city_admin, job)

    # then
    assert job.state == ImportJob.State.DONE
    assert job.summary["skipped_error_rows"] == 0
    assert Village.objects.get(pk=area.villages["a2v2"].pk).population == 1500
    assert Village.objects.filter(code=new_code, name="干净村").exists()


def test_commit_rechecks_the_file_against_the_database_and_writes_nothing_on_new_errors(
    city_admin, area, django_capture_on_commit_callbacks
):
    # given: a clean preview
    township = area.townships["A1"]
    new_code = _free_code(township)
    data = _xlsx(
        [_new_row(township, "复核村", new_code), _row(area.villages["a1v1"], households=5)]
    )
    job = _create(django_capture_on_commit_callbacks, city_admin, data)
    assert (job.state, job.summary["errors"]) == (ImportJob.State.PREVIEWED, 0)
    # and: the township is renamed after the preview, so the file no longer matches
    type(township).objects.filter(pk=township.pk).update(name="甲一镇改名")

    # when
    job = _confirm(django_capture_on_commit_callbacks, city_admin, job)

    # then
    assert job.state == ImportJob.State.FAILED
    assert "未写入任何数据" in job.error
    assert not Village.objects.filter(code=new_code).exists()
    assert Village.objects.get(pk=area.villages["a1v1"].pk).households == 300


def test_commit_counts_what_the_database_holds_at_commit_time(
    city_admin, area, django_capture_on_commit_callbacks
):
    # given: a preview that changes a1v1's households
    village = area.villages["a1v1"]
    job = _create(
        django_capture_on_commit_callbacks, city_admin, _xlsx([_row(village, households=77)])
    )
    assert job.summary["changed"] == 1
    # and: someone makes the same change before the commit
    Village.objects.filter(pk=village.pk).update(households=77)

    # when
    job = _confirm(django_capture_on_commit_callbacks, city_admin, job)

    # then: the result is re-computed, not copied from the preview
    assert job.state == ImportJob.State.DONE
    assert (job.summary["changed"], job.summary["unchanged"]) == (0, 1)


def test_commit_task_writes_nothing_when_errors_remain_and_valid_only_is_off(
    city_admin, area, django_capture_on_commit_callbacks
):
    # given: a preview with an error whose job reaches the commit step anyway
    data, codes = _mixed_file(area)
    job = _create(django_capture_on_commit_callbacks, city_admin, data)
    ImportJob.objects.filter(pk=job.pk).update(state=ImportJob.State.COMMITTING)

    # when
    job = import_job_commit(job_id=job.pk)

    # then
    assert job.state == ImportJob.State.FAILED
    assert "未写入任何数据" in job.error
    assert not Village.objects.filter(code=codes["new_code"]).exists()
    assert Village.objects.get(pk=area.villages["a1v1"].pk).households == 300


def test_confirm_of_a_finished_job_is_refused(city_admin, area, django_capture_on_commit_callbacks):
    # given
    job = _create(
        django_capture_on_commit_callbacks, city_admin, _xlsx([_row(area.villages["a1v1"])])
    )
    job = _confirm(django_capture_on_commit_callbacks, city_admin, job)
    assert job.state == ImportJob.State.DONE

    # when / then
    with pytest.raises(ValidationError, match="不能确认"):
        import_job_confirm(actor=city_admin, job=job)


def test_only_the_uploader_or_a_city_admin_may_confirm_or_cancel(
    county_official, other_county_official, city_admin, area, django_capture_on_commit_callbacks
):
    # given: county A's official uploaded a clean file
    job = _create(
        django_capture_on_commit_callbacks, county_official, _xlsx([_row(area.villages["a1v1"])])
    )

    # when / then: another official may do neither
    with pytest.raises(PermissionDenied):
        import_job_confirm(actor=other_county_official, job=job)
    with pytest.raises(PermissionDenied):
        import_job_cancel(actor=other_county_official, job=job)
    job.refresh_from_db()
    assert job.state == ImportJob.State.PREVIEWED

    # and: a city admin may
    import_job_cancel(actor=city_admin, job=job)
    job.refresh_from_db()
    assert job.state == ImportJob.State.CANCELLED


def test_cancel_ends_a_preview_and_writes_nothing(
    city_admin, area, django_capture_on_commit_callbacks
):
    # given
    data, codes = _mixed_file(area)
    job = _create(django_capture_on_commit_callbacks, city_admin, data)

    # when
    import_job_cancel(actor=city_admin, job=job)

    # then
    job.refresh_from_db()
    assert job.state == ImportJob.State.CANCELLED
    assert job.finished_at is not None
    assert not Village.objects.filter(code=codes["new_code"]).exists()
    with pytest.raises(ValidationError, match="该导入当前为“已取消”，不能取消"):
        import_job_cancel(actor=city_admin, job=job)
    with pytest.raises(ValidationError):
        import_job_confirm(actor=city_admin, job=job, valid_only=True)


# ----- one running import per kind -----


def test_second_import_of_the_same_kind_is_refused_while_one_validates(
    city_admin, area, django_capture_on_commit_callbacks
):
    # given: a job still validating (its task has not run)
    data = _xlsx([_row(area.villages["a1v1"])])
    with django_capture_on_commit_callbacks():
        first = import_job_create(actor=city_admin, kind="villages", upload=_upload(data))
    files_before = _stored_import_files()

    # when / then
    with pytest.raises(ValidationError) as exc:
        import_job_create(actor=city_admin, kind="villages", upload=_upload(data, "第二次.xlsx"))
    assert exc.value.messages == ["已有一个同类导入正在进行，请等它完成后再试。"]
    assert list(ImportJob.objects.values_list("pk", flat=True)) == [first.pk]
    assert _stored_import_files() == files_before  # the refused upload left no file behind


def test_an_import_of_another_kind_may_run_alongside(
    city_admin, area, django_capture_on_commit_callbacks
):
    # given
    with django_capture_on_commit_callbacks():
        import_job_create(
            actor=city_admin, kind="villages", upload=_upload(_xlsx([_row(area.villages["a1v1"])]))
        )

    # when
    with django_capture_on_commit_callbacks():
        other = import_job_create(
            actor=city_admin, kind="cadres", upload=_upload(b"x", "cadres.csv")
        )

    # then
    assert other.state == ImportJob.State.VALIDATING
    assert ImportJob.objects.filter(state=ImportJob.State.VALIDATING).count() == 2


def test_a_committing_import_blocks_uploads_and_confirms_of_the_same_kind(
    city_admin, area, django_capture_on_commit_callbacks
):
    # given: two previews; the first is confirmed and its commit has not run yet
    data = _xlsx([_row(area.villages["a1v1"], households=9)])
    first = _create(django_capture_on_commit_callbacks, city_admin, data)
    second = _create(django_capture_on_commit_callbacks, city_admin, data)
    with django_capture_on_commit_callbacks():
        import_job_confirm(actor=city_admin, job=first)
    assert ImportJob.objects.get(pk=first.pk).state == ImportJob.State.COMMITTING

    # when / then
    with pytest.raises(ValidationError, match="已有一个同类导入正在进行"):
        import_job_create(actor=city_admin, kind="villages", upload=_upload(data))
    with pytest.raises(ValidationError, match="已有一个同类导入正在进行"):
        import_job_confirm(actor=city_admin, job=ImportJob.objects.get(pk=second.pk))
    assert ImportJob.objects.get(pk=second.pk).state == ImportJob.State.PREVIEWED


def test_a_commit_stuck_for_over_30_minutes_no_longer_blocks_a_confirm(
    city_admin, area, django_capture_on_commit_callbacks
):
    # given: the first job's commit worker died 31 minutes ago
    data = _xlsx([_row(area.villages["a1v1"], households=9)])
    first = _create(django_capture_on_commit_callbacks, city_admin, data)
    second = _create(django_capture_on_commit_callbacks, city_admin, data)
    with django_capture_on_commit_callbacks():
        import_job_confirm(actor=city_admin, job=first)
    ImportJob.objects.filter(pk=first.pk).update(
        updated_at=timezone.now() - datetime.timedelta(minutes=31)
    )

    # when
    second = _confirm(django_capture_on_commit_callbacks, city_admin, second)

    # then
    assert second.state == ImportJob.State.DONE
    first.refresh_from_db()
    assert first.state == ImportJob.State.FAILED
    assert "处理超时" in first.error


@pytest.mark.parametrize(
    "minutes_ago, blocks",
    [(29, True), (31, False)],
    ids=["29-minutes-still-blocks", "31-minutes-stale"],
)
def test_a_job_stuck_running_for_over_30_minutes_stops_blocking(
    city_admin, area, django_capture_on_commit_callbacks, minutes_ago, blocks
):
    # given: a job whose worker died while validating
    data = _xlsx([_row(area.villages["a1v1"])])
    with django_capture_on_commit_callbacks():
        stuck = import_job_create(actor=city_admin, kind="villages", upload=_upload(data))
    ImportJob.objects.filter(pk=stuck.pk).update(
        updated_at=timezone.now() - datetime.timedelta(minutes=minutes_ago)
    )

    # when
    if blocks:
        with pytest.raises(ValidationError, match="已有一个同类导入正在进行"):
            import_job_create(actor=city_admin, kind="villages", upload=_upload(data))
    else:
        job = _create(django_capture_on_commit_callbacks, city_admin, data)

    # then
    stuck.refresh_from_db()
    if blocks:
        assert stuck.state == ImportJob.State.VALIDATING
    else:
        assert stuck.state == ImportJob.State.FAILED
        assert "处理超时" in stuck.error
        assert job.state == ImportJob.State.PREVIEWED


# ----- who may import -----


@pytest.mark.parametrize("who", ["township_official", "cadre_user", "city_viewer", "no_role_user"])
def test_only_city_admins_and_county_officials_may_import(users, area, who):
    # given
    data = _xlsx([_row(area.villages["a1v1"])])

    # when / then
    with pytest.raises(PermissionDenied):
        import_job_create(actor=users[who], kind="villages", upload=_upload(data))
    with pytest.raises(PermissionDenied):
        import_preview(actor=users[who], kind="villages", data=data, filename="x.xlsx")
    with pytest.raises(PermissionDenied):
        import_job_run_now(actor=users[who], kind="villages", upload=_upload(data))
    assert ImportJob.objects.count() == 0


def test_import_scope_is_city_wide_for_admins_and_the_county_for_officials(
    city_admin, superuser, county_official, area
):
    assert import_scope_county(city_admin) is None
    assert import_scope_county(superuser) is None
    assert import_scope_county(county_official) == area.county_a


def test_county_official_imports_for_their_own_county_only(
    county_official, area, django_capture_on_commit_callbacks
):
    # given: one row of county A and one of county B
    data = _xlsx(
        [_row(area.villages["a1v1"], households=11), _row(area.villages["b1v1"], households=22)]
    )

    # when
    job = _create(django_capture_on_commit_callbacks, county_official, data)

    # then: the county B row is an error that names the jurisdiction
    assert job.county == area.county_a
    assert job.summary["changed"] == 1
    [issue] = job.preview["issues"]
    assert (issue["row"], issue["column"]) == (3, "统计用区划代码")
    assert "不在您的辖区（甲县）内" in issue["message"]

    # when: importing the valid rows
    job = _confirm(django_capture_on_commit_callbacks, county_official, job, valid_only=True)

    # then
    assert job.state == ImportJob.State.DONE
    assert Village.objects.get(pk=area.villages["a1v1"].pk).households == 11
    assert Village.objects.get(pk=area.villages["b1v1"].pk).households == 300


# ----- in-process runs (management command, Django admin) -----


def test_run_now_as_the_system_validates_and_commits_and_records_the_job(area):
    # given
    new_code = _free_code(area.townships["B1"])
    data = _xlsx([_new_row(area.townships["B1"], "系统村", new_code)])

    # when
    job = import_job_run_now(actor=None, kind="villages", upload=_upload(data))

    # then
    assert job.state == ImportJob.State.DONE
    assert job.user is None
    assert job.summary["new"] == 1
    assert Village.objects.filter(code=new_code).exists()


def test_run_now_dry_run_records_a_cancelled_job_and_writes_nothing(city_admin, area):
    # given
    new_code = _free_code(area.townships["B1"])
    data = _xlsx([_new_row(area.townships["B1"], "试运行村", new_code)])

    # when
    job = import_job_run_now(actor=city_admin, kind="villages", upload=_upload(data), dry_run=True)

    # then
    assert job.state == ImportJob.State.CANCELLED
    assert job.summary["new"] == 1
    assert not Village.objects.filter(code=new_code).exists()


@pytest.mark.parametrize("valid_only, state", [(False, "failed"), (True, "done")])
def test_run_now_with_errors_is_all_or_nothing_unless_valid_only(
    city_admin, area, valid_only, state
):
    # given
    data, codes = _mixed_file(area)

    # when
    job = import_job_run_now(
        actor=city_admin, kind="villages", upload=_upload(data), valid_only=valid_only
    )

    # then
    assert job.state == state
    assert Village.objects.filter(code=codes["new_code"]).exists() is valid_only


def test_preview_records_nothing_and_writes_nothing(city_admin, area):
    # given
    data, codes = _mixed_file(area)

    # when
    plan = import_preview(actor=city_admin, kind="villages", data=data, filename="x.xlsx")

    # then
    assert (plan.counts()["new"], plan.counts()["moved"]) == (1, 1)
    assert [str(i) for i in plan.issues] == [
        "第6行 统计用区划代码: 统计用区划代码“12345”应为 12 位数字，实际 5 位"
    ]
    assert ImportJob.objects.count() == 0
    assert not Village.objects.filter(code=codes["new_code"]).exists()


# ----- the annotated workbook -----


def test_annotated_workbook_marks_bad_cells_red_and_adds_an_error_column(
    city_admin, area, django_capture_on_commit_callbacks
):
    # given: a title row above the header; row 4 has a bad code, row 5 a bad type
    data = _xlsx(
        [
            _row(area.villages["a1v1"]),
            _row(area.villages["a1v2"], code="12345"),
            _row(area.villages["a1v3"], kind="乡村"),
        ],
        title="许昌市村(社区)花名册",
    )
    job = _create(django_capture_on_commit_callbacks, city_admin, data)

    # when
    ws = _annotated(job)["村名册"]

    # then: the error column closes the header row (row 2)
    error_col = len(HEADERS) + 1
    assert ws.cell(row=2, column=error_col).value == "错误说明"
    assert ws.cell(row=1, column=error_col).value is None
    # and: each bad cell is red, with its message at the end of the row
    code_col, kind_col = HEADERS.index("统计用区划代码") + 1, HEADERS.index("类型") + 1
    assert ws.cell(row=4, column=code_col).fill.fgColor.rgb.endswith(RED)
    assert "统计用区划代码“12345”应为 12 位数字" in ws.cell(row=4, column=error_col).value
    assert ws.cell(row=5, column=kind_col).fill.fgColor.rgb.endswith(RED)
    assert "类型“乡村”不在可选范围内" in ws.cell(row=5, column=error_col).value
    # and: good cells are left alone
    assert not str(ws.cell(row=3, column=code_col).fill.fgColor.rgb).endswith(RED)
    assert not str(ws.cell(row=4, column=kind_col).fill.fgColor.rgb).endswith(RED)
    assert ws.cell(row=3, column=error_col).value is None
    assert ws.cell(row=4, column=code_col).value == "12345"


def test_annotated_workbook_of_a_gbk_csv_comes_back_as_xlsx(
    city_admin, area, django_capture_on_commit_callbacks
):
    # given
    lines = [",".join(HEADERS), ",".join(str(v) for v in _row(area.villages["a1v1"], code="9"))]
    data = ("\r\n".join(lines) + "\r\n").encode("gbk")
    job = _create(django_capture_on_commit_callbacks, city_admin, data, name="名册.csv")
    assert job.summary["errors"] == 1

    # when
    ws = _annotated(job).active

    # then
    assert ws.cell(row=1, column=1).value == "县(市、区)"
    assert ws.cell(row=1, column=len(HEADERS) + 1).value == "错误说明"
    assert ws.cell(row=2, column=HEADERS.index("统计用区划代码") + 1).fill.fgColor.rgb.endswith(RED)


# ----- reads: history and progress -----


def test_import_history_is_scoped_like_everything_else(
    city_admin,
    county_official,
    other_county_official,
    township_official,
    area,
    django_capture_on_commit_callbacks,
):
    # given: one job each by the city admin and the two county officials
    capture = django_capture_on_commit_callbacks
    jobs = {
        "city": _create(capture, city_admin, _xlsx([_row(area.villages["a1v1"])])),
        "A": _create(capture, county_official, _xlsx([_row(area.villages["a1v2"])])),
        "B": _create(capture, other_county_official, _xlsx([_row(area.villages["b1v1"])])),
    }

    def seen(user):
        pks = set(import_job_list_for_user(user=user).values_list("pk", flat=True))
        return {label for label, job in jobs.items() if job.pk in pks}

    # then
    assert seen(city_admin) == {"city", "A", "B"}
    assert seen(county_official) == {"A"}
    assert seen(other_county_official) == {"B"}
    assert seen(township_official) == set()
    assert import_job_get_for_user(user=county_official, job_id=jobs["A"].pk) == jobs["A"]
    with pytest.raises(Http404):
        import_job_get_for_user(user=county_official, job_id=jobs["B"].pk)


def test_progress_of_a_running_job_comes_from_the_cache(
    city_admin, area, django_capture_on_commit_callbacks
):
    # given
    with django_capture_on_commit_callbacks():
        job = import_job_create(
            actor=city_admin, kind="villages", upload=_upload(_xlsx([_row(area.villages["a1v1"])]))
        )

    # when
    import_progress_set(job.pk, 42)

    # then
    assert import_progress(job) == 42
