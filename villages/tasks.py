"""Thin Celery tasks: ids in, a service call out. Retries cover a database that went away;
when a task finally gives up, its job is marked failed so nobody waits on it forever."""

from celery import Task, shared_task
from django.db import OperationalError

GAVE_UP = "后台任务多次重试仍失败（数据库暂时不可用），未写入任何数据。请稍后重试。"
RETRY = {
    "acks_late": True,
    "autoretry_for": (OperationalError,),
    "retry_backoff": True,
    "max_retries": 3,
}


class ExportTask(Task):
    def on_failure(self, exc, task_id, args, kwargs, einfo):
        from villages.services import export_job_fail

        export_job_fail(job_id=kwargs.get("job_id", args[0] if args else None), reason=GAVE_UP)


class ImportTask(Task):
    def on_failure(self, exc, task_id, args, kwargs, einfo):
        from villages.services import import_job_fail

        import_job_fail(job_id=kwargs.get("job_id", args[0] if args else None), reason=GAVE_UP)


@shared_task(base=ExportTask, **RETRY)
def export_job_run(job_id: int) -> int:
    # Imported here: services import this module at load time.
    from villages.services import export_job_run as run

    return run(job_id=job_id).row_count


@shared_task(base=ImportTask, **RETRY)
def import_job_validate(job_id: int) -> str:
    from villages.services import import_job_validate as validate

    return validate(job_id=job_id).state


@shared_task(base=ImportTask, **RETRY)
def import_job_commit(job_id: int) -> str:
    from villages.services import import_job_commit as commit

    return commit(job_id=job_id).state
