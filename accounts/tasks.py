"""Thin Celery tasks: a service call out. Acknowledged late, retried with back-off when the
database went away (wiping is idempotent), with time limits (core.tasks)."""

from celery import shared_task

from accounts.services import credential_sheets_wipe
from core.tasks import HOUSEKEEPING  # a lost run is redone by the next one


@shared_task(**HOUSEKEEPING)
def credential_sheets_wipe_due() -> int:
    """Beat, every minute: wipe the first passwords of the sheets whose time is up."""
    return credential_sheets_wipe()
