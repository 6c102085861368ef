"""Issue 15, item 3: locks scoped to the area, and jobs an admin can end.

- One running import per kind *and area*: a county's import never waits for another
  county's; a city-wide import conflicts with every county's import of its kind, and a
  county's with a city-wide one.
- A job stuck 校验中 or 导入中 can be cancelled by its uploader or a city admin (a button
  on its page, asked in Chinese first), and stops blocking at once, not after 30 minutes.
  Another county's official gets 404.
- A worker that reaches a cancelled job later (a late or redelivered task, or one that
  started just before the cancel) leaves the cancellation as it is and writes nothing.

The world is the `area` fixture (tests/conftest.py): county A 甲县 (its official is
`county_official`) and county B 乙县 (`other_county_official`). Tasks are queued with
`transaction.on_commit` and run eagerly inside `django_capture_on_commit_callbacks`.
"""

import threading

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, connection, transaction

from core import jobs as services
from core.jobs import IMPORT_BUSY, IMPORT_WRITING, import_job_commit, import_job_validate
from core.models import ImportJob
from tests.factories import UserFactory, UserRoleFactory
from tests.imports.area_sheets import roster_xlsx as _xlsx
from tests.imports.area_sheets import village_row as _row
from villages.models import Village
from villages.services import import_job_cancel, import_job_confirm, import_job_create

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.filterwarnings("ignore:No directory at:UserWarning"),
]

CONFIRM_TEXT = "确定取消这次导入吗？取消后不会写入任何数据，同类导入可以立即重新上传。"


# ----- private helpers -----


def _upload(data: bytes, name: str = "村名册.xlsx") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data)


def _county_file(area, village: str, households: int = 321) -> bytes:
    """One row changing `village`'s households: valid for its own county's official."""
    return _xlsx([_row(area.villages[village], households=households)])


def _stuck(capture, actor, data, kind="villages") -> ImportJob:
    """A job left 校验中: its validation task was queued but never ran (a lost task)."""
    with capture():
        job = import_job_create(actor=actor, kind=kind, upload=_upload(data))
    job.refresh_from_db()
    assert job.state == ImportJob.State.VALIDATING
    return job


def _validated(capture, actor, data) -> ImportJob:
    with capture(execute=True):
        job = import_job_create(actor=actor, kind="villages", upload=_upload(data))
    job.refresh_from_db()
    return job


def _stuck_committing(capture, actor, data) -> ImportJob:
    """A job left 导入中: confirmed, its commit task never ran."""
    job = _validated(capture, actor, data)
    assert job.state == ImportJob.State.PREVIEWED, job.error
    with capture():
        import_job_confirm(actor=actor, job=job)
    job.refresh_from_db()
    assert job.state == ImportJob.State.COMMITTING
    return job


# ----- locks scoped to the area -----


def test_a_county_import_stuck_validating_does_not_block_another_countys_import_of_that_kind(
    county_official, other_county_official, area, django_capture_on_commit_callbacks
):
    # given: county A's villages import is stuck 校验中
    capture = django_capture_on_commit_callbacks
    stuck = _stuck(capture, county_official, _county_file(area, "a1v1"))

    # when: county B imports villages, start to finish
    job = _validated(capture, other_county_official, _county_file(area, "b1v1", 77))
    with capture(execute=True):
        import_job_confirm(actor=other_county_official, job=job)

    # then: B's import went through; A's job is still where it was
    job.refresh_from_db()
    assert job.state == ImportJob.State.DONE, job.error
    assert Village.objects.get(pk=area.villages["b1v1"].pk).households == 77
    stuck.refresh_from_db()
    assert stuck.state == ImportJob.State.VALIDATING


def test_a_county_import_stuck_committing_does_not_block_another_countys_confirm(
    county_official, other_county_official, area, django_capture_on_commit_callbacks
):
    # given: B's preview is ready, then A's import gets stuck 导入中
    capture = django_capture_on_commit_callbacks
    b_job = _validated(capture, other_county_official, _county_file(area, "b1v1", 78))
    _stuck_committing(capture, county_official, _county_file(area, "a1v1"))

    # when
    with capture(execute=True):
        import_job_confirm(actor=other_county_official, job=b_job)

    # then
    b_job.refresh_from_db()
    assert b_job.state == ImportJob.State.DONE, b_job.error


def test_a_second_import_of_the_same_kind_in_the_same_county_is_refused(
    county_official, area, django_capture_on_commit_callbacks
):
    # given
    _stuck(django_capture_on_commit_callbacks, county_official, _county_file(area, "a1v1"))

    # when / then
    with pytest.raises(ValidationError) as exc:
        import_job_create(
            actor=county_official, kind="villages", upload=_upload(_county_file(area, "a1v2"))
        )
    assert exc.value.messages == [IMPORT_BUSY]
    assert ImportJob.objects.count() == 1


def test_a_city_wide_import_conflicts_with_every_countys_import_of_its_kind(
    city_admin, county_official, other_county_official, area, django_capture_on_commit_callbacks
):
    # given: the city admin's villages import is stuck 校验中
    capture = django_capture_on_commit_callbacks
    _stuck(capture, city_admin, _county_file(area, "a1v1"))

    # when / then: neither county may start one of that kind
    for official, village in ((county_official, "a1v2"), (other_county_official, "b1v1")):
        with pytest.raises(ValidationError) as exc:
            import_job_create(
                actor=official, kind="villages", upload=_upload(_county_file(area, village))
            )
        assert exc.value.messages == [
            "全市范围的同类导入正在进行（它可能修改各县的数据），请等它完成后再试。"
        ]
    # and: an import of another kind is not held up
    with capture():
        other = import_job_create(
            actor=county_official, kind="cadres", upload=_upload(b"x", "cadres.csv")
        )
    assert other.state == ImportJob.State.VALIDATING


def test_a_county_import_blocks_a_city_wide_upload_and_confirm_naming_the_county(
    city_admin, county_official, area, django_capture_on_commit_callbacks
):
    # given: a city-wide preview is ready; then county A's import gets stuck 校验中
    capture = django_capture_on_commit_callbacks
    city_job = _validated(capture, city_admin, _county_file(area, "b1v2", 55))
    assert city_job.state == ImportJob.State.PREVIEWED
    _stuck(capture, county_official, _county_file(area, "a1v1"))
    expected = ["甲县的同类导入正在进行，全市范围的导入请等它完成后再试。"]

    # when / then: the city admin can neither upload nor confirm villages now
    with pytest.raises(ValidationError) as upload_exc:
        import_job_create(
            actor=city_admin, kind="villages", upload=_upload(_county_file(area, "a2v1"))
        )
    with pytest.raises(ValidationError) as confirm_exc:
        import_job_confirm(actor=city_admin, job=city_job)

    # then
    assert upload_exc.value.messages == expected
    assert confirm_exc.value.messages == expected
    city_job.refresh_from_db()
    assert city_job.state == ImportJob.State.PREVIEWED


def test_the_database_allows_one_running_import_per_kind_and_county_and_one_city_wide(area):
    # given
    running = {"kind": "villages", "state": ImportJob.State.VALIDATING, "file": "x.xlsx"}
    ImportJob.objects.create(county=area.county_a, **running)
    ImportJob.objects.create(county=area.county_b, **running)  # another county: allowed
    ImportJob.objects.create(county=None, **running)  # the backstop leaves city vs county
    # to the services (they check it under the counties' row locks)

    # when / then: a second running job of the same area is refused by the database
    for county in (area.county_a, None):
        with pytest.raises(IntegrityError), transaction.atomic():
            ImportJob.objects.create(county=county, **running)
    ImportJob.objects.create(county=area.county_a, **{**running, "state": "previewed"})


# ----- ending a stuck job -----


def test_the_uploader_cancels_a_job_stuck_validating_and_can_upload_again_at_once(
    client, login, county_official, area, django_capture_on_commit_callbacks
):
    # given: county A's import has been stuck 校验中 for a minute (not 30)
    capture = django_capture_on_commit_callbacks
    stuck = _stuck(capture, county_official, _county_file(area, "a1v1"))
    login(client, county_official)
    page = client.get(f"/imports/{stuck.pk}/").content.decode()
    assert f'action="/imports/{stuck.pk}/cancel/"' in page
    assert f'data-confirm="{CONFIRM_TEXT}"' in page

    # when
    response = client.post(f"/imports/{stuck.pk}/cancel/", follow=True)

    # then: cancelled, by whom, and no longer blocking
    assert "已取消，未写入任何数据。" in response.content.decode()
    stuck.refresh_from_db()
    assert stuck.state == ImportJob.State.CANCELLED
    assert stuck.cancelled_by == county_official
    assert stuck.finished_at is not None
    assert "已由" in client.get(f"/imports/{stuck.pk}/").content.decode()
    again = _validated(capture, county_official, _county_file(area, "a1v2", 99))
    assert again.state == ImportJob.State.PREVIEWED


def test_a_city_admin_cancels_a_countys_job_stuck_committing_and_its_late_commit_writes_nothing(
    client, login, city_admin, county_official, area, django_capture_on_commit_callbacks
):
    # given: county A's commit was queued and is lost (stuck 导入中)
    capture = django_capture_on_commit_callbacks
    stuck = _stuck_committing(capture, county_official, _county_file(area, "a1v1", 4321))
    login(client, city_admin)
    assert (
        f'action="/imports/{stuck.pk}/cancel/"'
        in client.get(f"/imports/{stuck.pk}/").content.decode()
    )

    # when: the city admin cancels it, and the lost task turns up afterwards
    response = client.post(f"/imports/{stuck.pk}/cancel/")
    late = import_job_commit(job_id=stuck.pk)

    # then
    assert response.status_code == 302
    assert late.state == ImportJob.State.CANCELLED
    stuck.refresh_from_db()
    assert (stuck.state, stuck.cancelled_by) == (ImportJob.State.CANCELLED, city_admin)
    assert Village.objects.get(pk=area.villages["a1v1"].pk).households != 4321


@pytest.mark.parametrize("state", ["validating", "committing"])
def test_another_countys_official_cannot_cancel_and_gets_404(
    client,
    login,
    county_official,
    other_county_official,
    area,
    django_capture_on_commit_callbacks,
    state,
):
    # given
    capture = django_capture_on_commit_callbacks
    data = _county_file(area, "a1v1")
    if state == "validating":
        job = _stuck(capture, county_official, data)
    else:
        job = _stuck_committing(capture, county_official, data)
    login(client, other_county_official)

    # when
    response = client.post(f"/imports/{job.pk}/cancel/")

    # then
    assert response.status_code == 404
    job.refresh_from_db()
    assert job.state == state
    assert job.cancelled_by is None


def test_only_the_uploader_or_a_city_admin_may_cancel_a_running_job(
    county_official, area, django_capture_on_commit_callbacks
):
    # given: a second official of county A, who did not upload the file
    colleague = UserFactory(username="county_a2")
    UserRoleFactory(user=colleague, role="county_official", county=area.county_a)
    job = _stuck(django_capture_on_commit_callbacks, county_official, _county_file(area, "a1v1"))

    # when / then
    with pytest.raises(PermissionDenied):
        import_job_cancel(actor=colleague, job=job)
    job.refresh_from_db()
    assert job.state == ImportJob.State.VALIDATING


@pytest.mark.parametrize("state", ["done", "failed", "cancelled"])
def test_a_finished_job_cannot_be_cancelled(city_admin, area, state):
    # given
    job = ImportJob.objects.create(kind="villages", state=state, file="x.xlsx", user=city_admin)

    # when / then
    with pytest.raises(ValidationError, match="不能取消"):
        import_job_cancel(actor=city_admin, job=job)
    job.refresh_from_db()
    assert job.state == state


# ----- a worker that comes late -----


def test_a_validation_task_delivered_after_the_cancel_does_nothing(
    county_official, area, django_capture_on_commit_callbacks
):
    # given
    job = _stuck(django_capture_on_commit_callbacks, county_official, _county_file(area, "a1v1"))
    import_job_cancel(actor=county_official, job=job)

    # when
    with django_capture_on_commit_callbacks(execute=True):
        late = import_job_validate(job_id=job.pk)

    # then
    assert late.state == ImportJob.State.CANCELLED
    job.refresh_from_db()
    assert (job.state, job.preview, job.summary, job.attempts) == ("cancelled", {}, {}, 0)


def test_a_validation_cancelled_while_it_reads_keeps_the_cancellation(
    county_official, area, django_capture_on_commit_callbacks, monkeypatch
):
    # given: the owner cancels while the worker is reading the file (with errors in it)
    job = _stuck(
        django_capture_on_commit_callbacks,
        county_official,
        _xlsx([_row(area.villages["a1v1"], code="12345")]),
    )
    real_plan = services.build_import_plan

    def plan_then_cancel(*args, **kwargs):
        plan = real_plan(*args, **kwargs)
        import_job_cancel(actor=county_official, job=ImportJob.objects.get(pk=job.pk))
        return plan

    monkeypatch.setattr(services, "build_import_plan", plan_then_cancel)

    # when
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        finished = import_job_validate(job_id=job.pk)

    # then: the worker's preview did not overwrite the cancellation, nor queue a workbook
    assert finished.state == ImportJob.State.CANCELLED
    job.refresh_from_db()
    assert (job.state, job.preview, job.annotated_state) == ("cancelled", {}, "")
    assert callbacks == []


def test_a_commit_cancelled_before_its_worker_locks_the_job_writes_nothing(
    county_official, area, django_capture_on_commit_callbacks, monkeypatch
):
    # given: the worker has marked its start; the cancel lands before it locks the row
    job = _stuck_committing(
        django_capture_on_commit_callbacks, county_official, _county_file(area, "a1v1", 4321)
    )
    real_start = services._start_attempt

    def start_then_cancel(job_id, state):
        started = real_start(job_id, state)
        import_job_cancel(actor=county_official, job=ImportJob.objects.get(pk=job_id))
        return started

    monkeypatch.setattr(services, "_start_attempt", start_then_cancel)

    # when
    finished = import_job_commit(job_id=job.pk)

    # then
    assert finished.state == ImportJob.State.CANCELLED
    job.refresh_from_db()
    assert job.state == ImportJob.State.CANCELLED
    assert job.finished_at is not None
    assert Village.objects.get(pk=area.villages["a1v1"].pk).households != 4321


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(
    not connection.features.has_select_for_update_skip_locked,
    reason="row locks: PostgreSQL (SQLite runs one write transaction at a time)",
)
def test_a_commit_whose_worker_holds_the_job_is_not_cancelled(county_official, area):
    # given: a worker is writing the job (it holds the job row, as import_job_commit does)
    job = ImportJob.objects.create(
        kind="villages",
        state=ImportJob.State.COMMITTING,
        user=county_official,
        county=area.county_a,
        file="imports/x.xlsx",
    )
    locked, release = threading.Event(), threading.Event()

    def worker():
        try:
            with transaction.atomic():
                ImportJob.objects.select_for_update().get(pk=job.pk)
                locked.set()
                release.wait(30)
        finally:
            connection.close()

    thread = threading.Thread(target=worker)
    thread.start()
    assert locked.wait(30)

    # when / then: refused at once, not waited for
    try:
        with pytest.raises(ValidationError) as exc:
            import_job_cancel(actor=county_official, job=job)
    finally:
        release.set()
        thread.join(30)
    assert exc.value.messages == [IMPORT_WRITING]
    job.refresh_from_db()
    assert job.state == ImportJob.State.COMMITTING
