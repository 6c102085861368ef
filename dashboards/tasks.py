"""Thin Celery tasks: ids (years) in, a service call out. Acknowledged late, retried with
back-off when the database went away (a computation replaces the year's rows in one
transaction, so a rerun is harmless), with time limits."""

from celery import shared_task

from core.tasks import RETRY  # late acks, back-off when the database went away, no result
from dashboards.services import compute_snapshots as compute
from dashboards.services import live_years
from dashboards.services import refresh_changed as refresh

SOFT_LIMIT, HARD_LIMIT = 12 * 60, 15 * 60


# Asked for by the 刷新数据 button: a lost worker gives the message back.
@shared_task(**RETRY, reject_on_worker_lost=True, soft_time_limit=SOFT_LIMIT, time_limit=HARD_LIMIT)
def compute_snapshots(year: int) -> dict:
    """Recompute every snapshot of `year` (idempotent)."""
    result = compute(year=int(year))
    return {"year": result.year, "snapshots": result.snapshots, "villages": result.villages}


# Periodic (beat): a lost run is redone by the next one, so the message is not given back
# (a computation that kills its worker must not loop).
@shared_task(
    **RETRY, reject_on_worker_lost=False, soft_time_limit=3 * SOFT_LIMIT, time_limit=3 * HARD_LIMIT
)
def compute_live_years() -> list[int]:
    """Nightly: every roster year and the current year."""
    years = live_years()
    for year in years:
        compute(year=year)
    return years


@shared_task(
    **RETRY, reject_on_worker_lost=False, soft_time_limit=SOFT_LIMIT, time_limit=HARD_LIMIT
)
def refresh_changed() -> list[int]:
    """Every 30 seconds (beat): recompute the years touched since the last look, once
    each, however many records changed (dashboards.services.refresh_changed). Skipped
    while a previous run, or a dashboard request's where no beat runs, still works."""
    return refresh() or []
