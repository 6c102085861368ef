"""Export housekeeping (villages.services.export_jobs_tidy, beat every hour): lost exports
are failed, and the files of old finished exports are deleted while their records stay."""

import datetime

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from core.jobs import EXPORT_LOST, export_jobs_tidy
from core.models import ExportJob
from core.tasks import export_jobs_tidy as export_jobs_tidy_task
from villages.services import export_job_create

pytestmark = pytest.mark.django_db


def _export(actor, django_capture_on_commit_callbacks) -> ExportJob:
    with django_capture_on_commit_callbacks(execute=True):
        job = export_job_create(actor=actor, kind="villages")
    job.refresh_from_db()
    assert job.state == ExportJob.State.DONE and job.file
    return job


def _age(job: ExportJob, **delta) -> None:
    then = timezone.now() - datetime.timedelta(**delta)
    ExportJob.objects.filter(pk=job.pk).update(created_at=then, finished_at=then)


def test_an_expired_file_is_deleted_and_its_record_says_so(
    area, county_official, client, django_capture_on_commit_callbacks
):
    # given: one export past the keeping time, one within it
    old = _export(county_official, django_capture_on_commit_callbacks)
    recent = _export(county_official, django_capture_on_commit_callbacks)
    _age(old, days=settings.EXPORT_KEEP_DAYS, minutes=1)
    _age(recent, days=settings.EXPORT_KEEP_DAYS - 1)
    storage = old.file.storage
    old_name, recent_name = old.file.name, recent.file.name

    # when
    assert export_jobs_tidy() == {"lost": 0, "expired": 1}

    # then: the old file is gone from storage, its record stays, finished, without a file
    assert not storage.exists(old_name) and storage.exists(recent_name)
    old.refresh_from_db()
    assert old.state == ExportJob.State.DONE and not old.file and old.row_count == 6
    client.force_login(county_official)
    page = client.get(reverse("villages:export_detail", args=[old.pk]))
    assert "已超过保留期限" in page.content.decode() and "下载 Excel" not in page.content.decode()
    assert client.get(reverse("villages:export_download", args=[old.pk])).status_code == 404
    assert client.get(reverse("villages:export_download", args=[recent.pk])).status_code == 200
    # a second run finds nothing more to do
    assert export_jobs_tidy() == {"lost": 0, "expired": 0}


def test_an_export_whose_task_was_lost_is_failed_with_a_reason(area, county_official):
    # given: exports still queued or running an hour on (their task was lost), and fresh ones
    lost_pending = ExportJob.objects.create(kind="villages", user=county_official)
    lost_running = ExportJob.objects.create(
        kind="villages", user=county_official, state=ExportJob.State.RUNNING, progress=40
    )
    fresh = ExportJob.objects.create(kind="villages", user=county_official)
    for job in (lost_pending, lost_running):
        _age(job, hours=1, minutes=1)

    # when
    assert export_jobs_tidy() == {"lost": 2, "expired": 0}

    # then
    for job in (lost_pending, lost_running):
        job.refresh_from_db()
        assert job.state == ExportJob.State.FAILED and job.error == EXPORT_LOST
        assert job.finished_at is not None
    fresh.refresh_from_db()
    assert fresh.state == ExportJob.State.PENDING


def test_the_tidy_task_runs_hourly_by_beat(area, county_official):
    entry = settings.CELERY_BEAT_SCHEDULE["export-tidy"]
    assert entry["task"] == export_jobs_tidy_task.name == "core.tasks.export_jobs_tidy"
    assert entry["schedule"].minute == {40} and len(entry["schedule"].hour) == 24
    assert export_jobs_tidy_task.delay().get() == {"lost": 0, "expired": 0}


def test_an_export_whose_task_waits_for_the_broker_is_not_failed(area, county_official):
    from core.models import PendingTask

    waiting = ExportJob.objects.create(kind="villages", user=county_official)
    _age(waiting, hours=3)
    PendingTask.objects.create(
        key="k1", task=export_jobs_run_name(), args=[waiting.pk], last_error="broker down"
    )
    assert export_jobs_tidy() == {"lost": 0, "expired": 0}
    waiting.refresh_from_db()
    assert waiting.state == ExportJob.State.PENDING


def test_a_workbook_built_after_the_tidy_gave_up_counts_as_done(area, county_official):
    from core.jobs import export_job_run

    late = ExportJob.objects.create(kind="villages", user=county_official)
    _age(late, hours=2)
    ExportJob.objects.filter(pk=late.pk).update(state=ExportJob.State.RUNNING)
    # its worker is still building it (claimed more than EXPORT_STALE_AFTER ago, so a
    # redelivery may claim it again) when the tidy gives up on it
    assert export_jobs_tidy()["lost"] == 1
    ExportJob.objects.filter(pk=late.pk).update(state=ExportJob.State.RUNNING)
    job = export_job_run(job_id=late.pk)
    assert (job.state, job.error) == (ExportJob.State.DONE, "") and job.file


def export_jobs_run_name() -> str:
    from core.tasks import export_job_run

    return export_job_run.name
