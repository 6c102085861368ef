"""Writes. Keyword-only, `actor=` first, atomic, and audited (django-simple-history rows
carry the actor as `history_user`)."""

from __future__ import annotations

import logging
import os
import tempfile

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files import File
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from villages.excel import write_workbook
from villages.exports import EXPORT_KINDS
from villages.models import (
    County,
    ExportJob,
    Roster,
    RosterEntry,
    Township,
    UserRole,
)
from villages.selectors import county_id_of, scope_for_user, user_can_write_area
from villages.tasks import export_job_run as export_job_run_task

logger = logging.getLogger(__name__)


def _check_write(actor, instance: models.Model) -> None:
    county_id = county_id_of(instance)
    if not user_can_write_area(actor, county_id=county_id):
        raise PermissionDenied(_("您无权修改该辖区的数据。"))


def _check_roster_open(instance: models.Model) -> None:
    roster = getattr(instance, "roster", None)
    if isinstance(instance, RosterEntry) and roster is not None and roster.is_frozen:
        raise ValidationError(_("%(year)s年度名册已冻结，不能修改。") % {"year": roster.year})


@transaction.atomic
def record_save(*, actor, instance: models.Model) -> models.Model:
    """Validate and save one hierarchy or people record on behalf of `actor`.

    Used by the admin and by later import paths. The actor must be allowed to write in
    the record's county, both before (for a change) and after the edit.
    """
    if instance.pk:
        previous = type(instance).objects.get(pk=instance.pk)
        _check_write(actor, previous)
        _check_roster_open(previous)
    _check_write(actor, instance)
    _check_roster_open(instance)
    instance.full_clean()
    instance._history_user = actor
    instance.save()
    return instance


@transaction.atomic
def record_delete(*, actor, instance: models.Model) -> None:
    _check_write(actor, instance)
    _check_roster_open(instance)
    instance._history_user = actor
    instance.delete()


@transaction.atomic
def roster_freeze(*, actor, roster: Roster) -> Roster:
    """Freeze a year's roster so its denominators never change again."""
    if scope_for_user(actor).role != UserRole.Role.CITY_ADMIN:
        raise PermissionDenied(_("只有市级管理员可以冻结名册。"))
    if not roster.is_frozen:
        roster.is_frozen = True
        roster.frozen_at = timezone.now()
        roster.save(update_fields=["is_frozen", "frozen_at"])
    return roster


@transaction.atomic
def user_role_set(
    *, actor, user, role: str, county: County | None = None, township: Township | None = None
) -> UserRole:
    """Give `user` a role and area (city admins only)."""
    if scope_for_user(actor).role != UserRole.Role.CITY_ADMIN:
        raise PermissionDenied(_("只有市级管理员可以分配角色。"))
    obj = UserRole.objects.filter(user=user).first() or UserRole(user=user)
    obj.role, obj.county, obj.township = role, county, township
    obj.full_clean()
    obj._history_user = actor
    obj.save()
    user.__dict__.pop("_portal_scope", None)
    return obj


@transaction.atomic
def export_job_create(*, actor, kind: str, params: dict | None = None) -> ExportJob:
    """Queue an Excel export of what `actor` may see; the file is built by a worker."""
    if kind not in EXPORT_KINDS:
        raise ValidationError({"kind": _("未知的导出类型：%(kind)s") % {"kind": kind}})
    if scope_for_user(actor).role is None:
        raise PermissionDenied(_("您的账号尚未分配角色，不能导出。"))
    clean_params = {k: v for k, v in (params or {}).items() if k != "page" and v not in ("", None)}
    job = ExportJob.objects.create(kind=kind, user=actor, params=clean_params)
    transaction.on_commit(lambda: export_job_run_task.delay(job.pk))
    return job


def _export_progress(job_id: int, done: int, total: int) -> None:
    percent = 99 if total == 0 else min(99, int(done * 100 / total))
    ExportJob.objects.filter(pk=job_id, progress__lt=percent).update(progress=percent)


def export_job_run(*, job_id: int) -> ExportJob:
    """Build the workbook for one job. Idempotent: a finished job is left as it is."""
    job = ExportJob.objects.select_related("user").get(pk=job_id)
    if job.state == ExportJob.State.DONE:
        return job
    ExportJob.objects.filter(pk=job.pk).update(state=ExportJob.State.RUNNING, progress=1)
    kind = EXPORT_KINDS[job.kind]
    try:
        qs = kind.queryset(user=job.user, params=job.params)
        total = qs.count()
        step = max(1, total // 50)

        def on_row(n: int) -> None:
            if n % step == 0:
                _export_progress(job.pk, n, total)

        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "export.xlsx")
            count = _write(kind, qs, path, on_row)
            stamp = timezone.localtime().strftime("%Y%m%d-%H%M%S")
            with open(path, "rb") as fh:
                job.file.save(f"{kind.label}-{stamp}.xlsx", File(fh), save=False)
        job.row_count = count
        job.state = ExportJob.State.DONE
        job.progress = 100
        job.finished_at = timezone.now()
        job.save(update_fields=["file", "row_count", "state", "progress", "finished_at"])
    except Exception as exc:  # the job row must say why; the task logs and re-raises
        logger.exception("export job %s failed", job.pk)
        ExportJob.objects.filter(pk=job.pk).update(
            state=ExportJob.State.FAILED, error=str(exc)[:2000], finished_at=timezone.now()
        )
        raise
    return job


def _write(kind, qs, path, on_row) -> int:
    return write_workbook(
        path,
        title=kind.label,
        headers=kind.headers,
        rows=kind.rows(qs),
        widths=kind.widths,
        on_row=on_row,
    )
