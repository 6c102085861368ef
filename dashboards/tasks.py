"""Thin Celery tasks: ids (years) in, a service call out."""

from celery import shared_task
from django.core.cache import cache
from django.db import OperationalError

RETRY = {
    "acks_late": True,
    "autoretry_for": (OperationalError,),
    "retry_backoff": True,
    "max_retries": 3,
}
LOCK = "dashboards:refresh-lock"


@shared_task(**RETRY)
def compute_snapshots(year: int) -> dict:
    """Recompute every snapshot of `year` (idempotent)."""
    from dashboards.services import compute_snapshots as compute

    result = compute(year=int(year))
    return {"year": result.year, "snapshots": result.snapshots, "villages": result.villages}


@shared_task(**RETRY)
def compute_live_years() -> list[int]:
    """Nightly: every roster year and the current year."""
    from dashboards.services import compute_snapshots as compute
    from dashboards.services import live_years

    years = live_years()
    for year in years:
        compute(year=year)
    return years


@shared_task(**RETRY)
def refresh_changed() -> list[int]:
    """Every 30 seconds (beat): recompute the years touched since the last look, once
    each, however many records changed. Skipped while a previous run still works."""
    from dashboards.services import changed_years
    from dashboards.services import compute_snapshots as compute

    if not cache.add(LOCK, "1", timeout=15 * 60):
        return []
    try:
        years = sorted(changed_years())
        for year in years:
            compute(year=year)
        return years
    finally:
        cache.delete(LOCK)
