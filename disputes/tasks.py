"""Thin Celery tasks: ids in, a service call out. Acknowledged late, retried with back-off
when the database went away (a recomputation is idempotent), with time limits."""

from celery import shared_task
from django.utils import timezone

from core.tasks import RETRY  # late acks, back-off when the database went away, no result
from disputes.services import sanling_recompute as recompute


# A lost worker gives the message back: the recomputation is small and idempotent.
@shared_task(**RETRY, reject_on_worker_lost=True, soft_time_limit=5 * 60, time_limit=6 * 60)
def sanling_recompute(year: int, village_ids=None, unit_ids=None) -> dict:
    """Recompute the yearly 三零 status of these villages and units (both None: all)."""
    return recompute(year=year, village_ids=village_ids, unit_ids=unit_ids)


# Nightly: a lost run is redone the next night (and by the 重新计算 button meanwhile).
@shared_task(**RETRY, reject_on_worker_lost=False, soft_time_limit=20 * 60, time_limit=25 * 60)
def sanling_recompute_this_year() -> dict:
    """Nightly (beat): the whole current year, which also catches any change whose own
    recomputation could not be queued while Redis was down."""
    return recompute(year=timezone.localdate().year)
