from celery import shared_task
from django.db import OperationalError


@shared_task(acks_late=True, autoretry_for=(OperationalError,), retry_backoff=True, max_retries=3)
def export_job_run(job_id: int) -> int:
    # Imported here: services import this module at load time.
    from villages.services import export_job_run as run

    return run(job_id=job_id).row_count
