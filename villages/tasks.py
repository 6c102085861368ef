from celery import shared_task
from django.db import OperationalError


@shared_task(acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=3)
def export_job_run(job_id: int) -> int:
    # Imported here: services import this module at load time.
    from villages.services import export_job_run as run

    return run(job_id=job_id).row_count


@shared_task(acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=3)
def import_job_validate(job_id: int) -> str:
    from villages.services import import_job_validate as validate

    return validate(job_id=job_id).state


@shared_task(acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=3)
def import_job_commit(job_id: int) -> str:
    from villages.services import import_job_commit as commit

    return commit(job_id=job_id).state
