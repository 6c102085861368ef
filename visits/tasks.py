"""Thin Celery tasks: ids in, a service call out (see core.tasks for the retry policy)."""

from celery import shared_task

from core.tasks import RETRY
from visits.services import village_locations_learn as learn


# Nightly (beat) and on demand from 村庄位置: idempotent, so a lost run is simply redone.
@shared_task(**RETRY, reject_on_worker_lost=True, soft_time_limit=10 * 60, time_limit=12 * 60)
def village_locations_learn(village_ids=None) -> int:
    """Propose a coordinate for the villages without one (these, or all) from the GPS
    fixes of their approved visits."""
    return learn(village_ids=village_ids)
