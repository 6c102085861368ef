"""Reads of the jobs that need no scoping: an import's progress, kept in the cache while
it runs (the scoped reads of the jobs themselves are villages.selectors')."""

from django.core.cache import cache

from core.models import ImportJob


def import_progress_key(job_id: int) -> str:
    return f"import-job:{job_id}:progress"


def import_progress(job: ImportJob) -> int:
    """Percent done of a running import (kept in the cache by the services)."""
    if job.state in (ImportJob.State.DONE, ImportJob.State.PREVIEWED):
        return 100
    return int(cache.get(import_progress_key(job.pk)) or 0)


def import_annotated_progress_key(job_id: int) -> str:
    return f"import-job:{job_id}:annotated-progress"


def import_annotated_progress(job: ImportJob) -> int:
    """Percent done of the annotated workbook being built (kept in the cache)."""
    if job.annotated_state != ImportJob.Annotation.PENDING:
        return 100
    return int(cache.get(import_annotated_progress_key(job.pk)) or 0)
