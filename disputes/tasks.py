"""Thin Celery tasks: ids in, a service call out."""

from celery import shared_task
from django.db import OperationalError


@shared_task(
    acks_late=True,
    ignore_result=True,  # nobody waits on it; and no result-store round trip when queuing
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=3,
)
def sanling_recompute(year: int, village_ids=None, unit_ids=None) -> dict:
    """Recompute the yearly 三零 status of these villages and units (both None: all)."""
    # Imported here: services import this module at load time.
    from disputes.services import sanling_recompute as recompute

    return recompute(year=year, village_ids=village_ids, unit_ids=unit_ids)


@shared_task(
    acks_late=True,
    ignore_result=True,
    autoretry_for=(OperationalError,),
    retry_backoff=True,
    max_retries=3,
)
def sanling_recompute_this_year() -> dict:
    """Nightly (beat): the whole current year, which also catches any change whose own
    recomputation could not be queued while Redis was down."""
    from django.utils import timezone

    from disputes.services import sanling_recompute as recompute

    return recompute(year=timezone.localdate().year)
