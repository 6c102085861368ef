"""Thin Celery tasks: ids in, a service call out.

Every task is acknowledged late (a worker that dies mid-task leaves the message to be
delivered again), retries with back-off when the database went away (each is idempotent:
a second run finds its job claimed or finished), and has soft and hard time limits
(tests/hardening/test_faults.py checks all of this for every task of the project).
When a task finally gives up, its job is marked failed so nobody waits on it forever."""

from celery import Task, shared_task
from django.db import InterfaceError, OperationalError

from core import jobs

GAVE_UP = "后台任务多次重试仍失败（数据库暂时不可用），未写入任何数据。请稍后重试。"
RETRY = {
    "acks_late": True,
    "autoretry_for": (OperationalError, InterfaceError),
    "retry_backoff": True,
    "retry_backoff_max": 300,
    "retry_jitter": True,
    "max_retries": 3,
    "ignore_result": True,  # the job rows carry the state; nobody waits on a result
}
# Jobs: the message goes back to the queue when the worker process is lost (the job
# records its attempts, so a file that kills its worker every time ends up failed).
JOB = {**RETRY, "reject_on_worker_lost": True, "soft_time_limit": 12 * 60, "time_limit": 15 * 60}
# Housekeeping run by beat every minute: the next run does the work of a lost one.
HOUSEKEEPING = {**RETRY, "reject_on_worker_lost": False, "soft_time_limit": 60, "time_limit": 90}


class ExportTask(Task):
    def on_failure(self, exc, task_id, args, kwargs, einfo):
        jobs.export_job_fail(job_id=kwargs.get("job_id", args[0] if args else None), reason=GAVE_UP)


class ImportTask(Task):
    def on_failure(self, exc, task_id, args, kwargs, einfo):
        jobs.import_job_fail(job_id=kwargs.get("job_id", args[0] if args else None), reason=GAVE_UP)


class AnnotateTask(Task):
    def on_failure(self, exc, task_id, args, kwargs, einfo):
        jobs.import_job_annotate_fail(job_id=kwargs.get("job_id", args[0] if args else None))


@shared_task(base=ExportTask, **JOB)
def export_job_run(job_id: int) -> int:
    return jobs.export_job_run(job_id=job_id).row_count


@shared_task(base=ImportTask, **JOB)
def import_job_validate(job_id: int) -> str:
    return jobs.import_job_validate(job_id=job_id).state


@shared_task(base=ImportTask, **JOB)
def import_job_commit(job_id: int) -> str:
    return jobs.import_job_commit(job_id=job_id).state


@shared_task(base=AnnotateTask, **JOB)
def import_job_annotate(job_id: int) -> str:
    """Build the annotated workbook of a validated import (after its preview)."""
    return jobs.import_job_annotate(job_id=job_id).annotated_state


@shared_task(**HOUSEKEEPING)
def pending_tasks_send() -> int:
    """Beat, every minute: queue the tasks that could not be queued while the broker was
    down (kept in PendingTask)."""
    return jobs.pending_tasks_send()


@shared_task(**HOUSEKEEPING)
def import_jobs_reap() -> int:
    """Beat, every minute: mark failed the imports whose worker died."""
    return jobs.import_jobs_reap()


@shared_task(**HOUSEKEEPING)
def export_jobs_tidy() -> dict:
    """Beat, every hour: fail lost exports and delete expired export files."""
    return jobs.export_jobs_tidy()
