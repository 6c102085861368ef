"""Writes. Keyword-only, `actor=` first, atomic, and audited (django-simple-history rows
carry the actor as `history_user`)."""

from __future__ import annotations

import datetime
import hashlib
import json
import logging
import os
import tempfile
import time
from dataclasses import dataclass
from dataclasses import field as dc_field

from celery import current_app
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files import File
from django.core.files.base import ContentFile
from django.db import IntegrityError, OperationalError, connection, models, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

import villages.import_kinds as _import_kinds  # noqa: F401  (registers the sheets)
from core.excel import write_workbook
from core.exports import EXPORT_KINDS
from core.history import recorded_as
from core.importing.bulk import create_with_history, update_with_history
from core.importing.engine import Context as ImportContext
from core.importing.engine import annotated_sheet_rows, annotated_workbook, plan_preview
from core.importing.engine import build_plan as build_import_plan
from core.importing.engine import get_kind as get_import_kind
from core.importing.reader import size_refusal, upload_refusal
from core.models import ExportJob, ImportJob, PendingTask
from villages.models import (
    Assignment,
    AssignmentProposal,
    Cadre,
    County,
    ProgrammeYear,
    Roster,
    RosterEntry,
    Township,
    UserRole,
    Village,
)
from villages.selectors import (
    closed_year_refusal,
    county_id_of,
    import_annotated_progress_key,
    import_progress_key,
    scope_for_user,
    user_can_write_area,
)
from villages.tasks import export_job_run as export_job_run_task
from villages.tasks import import_job_annotate as import_job_annotate_task
from villages.tasks import import_job_commit as import_job_commit_task
from villages.tasks import import_job_validate as import_job_validate_task
from villages.years import steps as year_steps

logger = logging.getLogger(__name__)

CONFLICT = "保存失败：数据与已有记录冲突（可能有人同时提交了相同内容），请刷新页面核对后再试。"


def save_or_refuse(*, instance: models.Model, **save_kwargs) -> models.Model:
    """Save `instance` in a savepoint. When a unique constraint refuses the row (two
    requests passed the same pre-check at once and the other one committed first), the
    caller gets the model's own Chinese message as a ValidationError, as if the pre-check
    had caught it, instead of an IntegrityError (a 500)."""
    try:
        with transaction.atomic():
            instance.save(**save_kwargs)
    except IntegrityError as exc:
        logger.info("%s refused by a constraint: %s", type(instance).__name__, exc)
        raise conflict_error(instance) from exc
    return instance


def conflict_error(instance: models.Model) -> ValidationError:
    """What to tell the user when the database refused `instance`: the messages of the
    unique fields and the named constraints it now violates (the winner's row is visible
    after the failed statement), else a general one. Never a constraint's internal name."""
    messages: list[str] = []
    try:
        instance.validate_unique()
    except ValidationError as exc:
        messages += exc.messages
    for constraint in instance._meta.constraints:
        custom = getattr(constraint, "violation_error_message", None)
        if not custom or custom == constraint.default_violation_error_message:
            continue
        try:
            constraint.validate(type(instance), instance)
        except ValidationError as exc:
            messages += exc.messages
        except Exception:  # a check that cannot run on this object: the general message
            logger.debug("constraint re-check failed", exc_info=True)
    return ValidationError(messages or [CONFLICT])


# ----- queuing background work -----
#
# Work for the workers is queued once the writing transaction has committed. When the
# broker cannot be reached (Redis stopped, unreachable or hanging) the request pays one
# short connection attempt (the timeouts are in settings), the failure is logged, and the
# call is kept in PendingTask; the beat job `pending_tasks_send` queues it once the broker
# answers again. Nothing of this raises to the user: the record is already saved.


# After a failed attempt, calls in the next few seconds go straight to PendingTask: a
# burst of requests during an outage does not pay the connection timeout each.
BROKER_DOWN_SECONDS = 5.0
_broker = {"down_until": 0.0}


class BrokerDown(Exception):
    pass


def _publish(task, args: tuple, kwargs: dict, queue: str | None) -> None:
    if time.monotonic() < _broker["down_until"]:
        raise BrokerDown("消息代理刚刚连接失败，暂不重试")
    try:
        with task.app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=0)  # one attempt, no back-off
            task.apply_async(args=args, kwargs=kwargs, queue=queue, retry=False, connection=conn)
    except Exception:
        _broker["down_until"] = time.monotonic() + BROKER_DOWN_SECONDS
        raise
    _broker["down_until"] = 0.0


def task_send(task, *, args=(), kwargs=None, queue: str | None = None) -> bool:
    """Queue `task` now. Returns whether it was queued; a failure is logged and kept for
    `pending_tasks_send`. Eager mode (no broker) runs the task inline instead."""
    args, kwargs = tuple(args), dict(kwargs or {})
    if task.app.conf.task_always_eager:
        if queue:
            task.apply_async(args=args, kwargs=kwargs, queue=queue)
        else:
            task.delay(*args, **kwargs)
        return True
    try:
        _publish(task, args, kwargs, queue)
    except Exception as exc:  # the broker, the network, a timeout
        logger.error(
            "后台任务未能排队（消息代理不可用），已记录待重发：%s args=%s kwargs=%s：%s",
            task.name,
            list(args),
            kwargs,
            exc,
        )
        pending_task_keep(task=task.name, args=args, kwargs=kwargs, queue=queue, error=exc)
        return False
    return True


def task_enqueue(task, *, args=(), kwargs=None, queue: str | None = None) -> None:
    """Queue `task` once the current transaction commits (see `task_send`)."""
    transaction.on_commit(lambda: task_send(task, args=args, kwargs=kwargs, queue=queue))


def _pending_key(task: str, args, kwargs, queue) -> str:
    raw = json.dumps([task, list(args), kwargs, queue or ""], sort_keys=True, default=str)
    return hashlib.sha256(raw.encode()).hexdigest()


def pending_task_keep(*, task: str, args=(), kwargs=None, queue=None, error=None) -> None:
    """Remember a call that could not be queued (one row per distinct call)."""
    kwargs = dict(kwargs or {})
    key = _pending_key(task, args, kwargs, queue)
    text = str(error or "")[:2000]
    try:
        with transaction.atomic():
            row, created = PendingTask.objects.get_or_create(
                key=key,
                defaults={
                    "task": task,
                    "args": list(args),
                    "kwargs": kwargs,
                    "queue": queue or "",
                    "last_error": text,
                },
            )
    except IntegrityError:  # the same call kept by another process just now
        return
    if not created:
        PendingTask.objects.filter(pk=row.pk).update(
            attempts=F("attempts") + 1, last_error=text, updated_at=timezone.now()
        )


def pending_tasks_send(*, limit: int = 500) -> int:
    """Queue the kept calls, oldest first, and stop at the first that still fails (the
    broker is still down). At least once: a row is deleted only after its call was
    queued (two runs at once may queue a call twice; every task is idempotent). Returns
    how many were queued."""
    current_app.loader.import_default_modules()
    sent = 0
    for row in list(PendingTask.objects.order_by("pk")[:limit]):
        task = current_app.tasks.get(row.task)
        if task is None:
            logger.error("待重发的后台任务已不存在，丢弃：%s %s", row.task, row.kwargs)
            PendingTask.objects.filter(pk=row.pk).delete()
            continue
        args, queue = tuple(row.args), row.queue or None
        try:
            if task.app.conf.task_always_eager:
                task.apply_async(args=args, kwargs=row.kwargs, queue=queue)
            else:
                _publish(task, args, row.kwargs, queue)
        except Exception as exc:
            PendingTask.objects.filter(pk=row.pk).update(
                attempts=F("attempts") + 1, last_error=str(exc)[:2000], updated_at=timezone.now()
            )
            logger.warning("待重发的后台任务仍未能排队：%s：%s", row.task, exc)
            break
        PendingTask.objects.filter(pk=row.pk).delete()
        sent += 1
    if sent:
        logger.info("已重新排队 %s 个后台任务", sent)
    return sent


def _check_write(actor, instance: models.Model) -> None:
    county_id = county_id_of(instance)
    if not user_can_write_area(actor, county_id=county_id):
        raise PermissionDenied(_("您无权修改该辖区的数据。"))


def _check_roster_open(instance: models.Model) -> None:
    roster = getattr(instance, "roster", None)
    if isinstance(instance, RosterEntry) and roster is not None and roster.is_frozen:
        raise ValidationError(_("%(year)s年度名册已冻结，不能修改。") % {"year": roster.year})


def _check_login_link(actor, instance: models.Model) -> None:
    """Only city admins decide which login belongs to which cadre."""
    if not isinstance(instance, Cadre):
        return
    before = Cadre.objects.filter(pk=instance.pk).values_list("user_id", flat=True).first()
    if instance.user_id != before and scope_for_user(actor).role != UserRole.Role.CITY_ADMIN:
        raise PermissionDenied(_("只有市级管理员可以为干部关联登录账号。"))


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
    _check_login_link(actor, instance)
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
        roster._history_user = actor
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


def _storable(text: str) -> bool:
    """Text a database can keep: PostgreSQL refuses NUL in text and JSON, and a lone
    surrogate has no UTF-8 form."""
    return "\x00" not in text and not any("\ud800" <= ch <= "\udfff" for ch in text)


@transaction.atomic
def export_job_create(*, actor, kind: str, params: dict | None = None) -> ExportJob:
    """Queue an Excel export of what `actor` may see; the file is built by a worker."""
    if kind not in EXPORT_KINDS:
        raise ValidationError({"kind": _("未知的导出类型：%(kind)s") % {"kind": kind}})
    if scope_for_user(actor).role is None:
        raise PermissionDenied(_("您的账号尚未分配角色，不能导出。"))
    clean_params = {k: v for k, v in (params or {}).items() if k != "page" and v not in ("", None)}
    if not all(_storable(str(k)) and _storable(str(v)) for k, v in clean_params.items()):
        raise ValidationError({"params": _("筛选条件中含有无法保存的字符（如空字符）。")})
    EXPORT_KINDS[kind].queryset(user=actor, params=clean_params)  # refuses bad filters now
    job = ExportJob.objects.create(kind=kind, user=actor, params=clean_params)
    task_enqueue(export_job_run_task, args=(job.pk,))
    return job


def _export_progress(job_id: int, done: int, total: int) -> None:
    percent = 99 if total == 0 else min(99, int(done * 100 / total))
    ExportJob.objects.filter(pk=job_id, progress__lt=percent).update(progress=percent)


EXPORT_STALE_AFTER = datetime.timedelta(minutes=20)


def export_job_run(*, job_id: int) -> ExportJob:
    """Build the workbook for one job. Runs once: a second delivery of the task finds the
    job already claimed (unless its worker died long ago) or finished, and leaves it."""
    stale = timezone.now() - EXPORT_STALE_AFTER
    claimed = ExportJob.objects.filter(
        Q(state=ExportJob.State.PENDING) | Q(state=ExportJob.State.RUNNING, created_at__lt=stale),
        pk=job_id,
    ).update(state=ExportJob.State.RUNNING, progress=1)
    job = ExportJob.objects.select_related("user").get(pk=job_id)
    if not claimed:
        return job
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
        job.error = ""  # a workbook built late still counts, even if the tidy gave up on it
        job.save(update_fields=["file", "row_count", "state", "progress", "finished_at", "error"])
    except OperationalError:
        ExportJob.objects.filter(pk=job.pk).update(state=ExportJob.State.PENDING)
        raise  # the task retries
    except Exception:
        logger.exception("export job %s failed", job.pk)
        export_job_fail(job_id=job.pk, reason=_("生成文件时出错，请稍后重试。"))
        raise
    return job


def export_job_fail(*, job_id: int, reason: str) -> None:
    ExportJob.objects.filter(
        pk=job_id, state__in=[ExportJob.State.PENDING, ExportJob.State.RUNNING]
    ).update(state=ExportJob.State.FAILED, error=str(reason)[:2000], finished_at=timezone.now())


# An export still queued or running this long after it was asked for lost its task (the
# worker that ran it died and the broker forgot it): it is failed, so its page stops
# polling. A finished workbook is kept for EXPORT_KEEP_DAYS; then its file is deleted (the
# row stays, and its page says so).
EXPORT_LOST_AFTER = datetime.timedelta(hours=1)
EXPORT_LOST = "导出超时（后台任务可能已中断），未生成文件。请重新导出。"


def export_jobs_tidy() -> dict[str, int]:
    """Housekeeping, run by beat every hour: fail the exports whose task was lost (not
    those whose task still waits in the outbox for the broker to return), and
    delete the files of finished exports older than settings.EXPORT_KEEP_DAYS. A file is
    removed from storage only after its row no longer names it. Returns the counts."""
    now = timezone.now()
    waiting = PendingTask.objects.filter(task=export_job_run_task.name).values_list(
        "args", flat=True
    )
    queued = {args[0] for args in waiting if args}  # kept while the broker was down
    lost = (
        ExportJob.objects.filter(
            state__in=[ExportJob.State.PENDING, ExportJob.State.RUNNING],
            created_at__lt=now - EXPORT_LOST_AFTER,
        )
        .exclude(pk__in=queued)
        .update(state=ExportJob.State.FAILED, error=EXPORT_LOST, finished_at=now)
    )
    expired = 0
    old = ExportJob.objects.filter(
        state=ExportJob.State.DONE,
        finished_at__lt=now - datetime.timedelta(days=settings.EXPORT_KEEP_DAYS),
    ).exclude(file="")
    for job_id, name in old.values_list("pk", "file").iterator():
        if ExportJob.objects.filter(pk=job_id, file=name).update(file=""):
            storage = ExportJob._meta.get_field("file").storage
            try:
                storage.delete(name)
            except OSError:
                logger.warning("could not delete expired export file %s", name, exc_info=True)
            expired += 1
    if lost or expired:
        logger.info("exports tidied: %s lost, %s expired files deleted", lost, expired)
    return {"lost": lost, "expired": expired}


def _write(kind, qs, path, on_row) -> int:
    return write_workbook(
        path,
        title=kind.label,
        headers=kind.headers,
        rows=kind.rows(qs),
        widths=kind.widths,
        on_row=on_row,
    )


# ----- imports -----

IMPORT_STALE_AFTER = datetime.timedelta(minutes=30)
# Between a worker marking its start and locking the job row there is a moment where the
# row is unlocked; the reaper leaves jobs started less than this long ago alone.
IMPORT_START_GRACE = datetime.timedelta(seconds=30)
# A delivery per attempt: the first and the task's 3 retries (database gone) stay under it;
# deliveries beyond it are redeliveries of a task whose worker keeps dying.
IMPORT_MAX_ATTEMPTS = 4
IMPORT_INTERRUPTED = (
    "导入过程中后台进程意外退出（任务被中断），数据库已回滚，未写入任何数据。请点击“重新导入”再试。"
)
IMPORT_STALE = "处理超时（可能是后台任务中断），未写入任何数据。请点击“重新导入”再试。"
IMPORT_TOO_MANY = (
    "导入已尝试 %(n)s 次仍未完成（后台进程多次中断，文件可能过大），未写入任何数据。"
    "请拆分文件后重新上传，或联系管理员。"
)
IMPORT_TIMEOUT = "导入超过时间上限，已停止，未写入任何数据。请拆分文件后重新上传。"
IMPORT_BUSY = "已有一个同类导入正在进行，请等它完成后再试。"
IMPORT_BUSY_CITY = "全市范围的同类导入正在进行（它可能修改各县的数据），请等它完成后再试。"
IMPORT_BUSY_COUNTY = "%(county)s的同类导入正在进行，全市范围的导入请等它完成后再试。"
IMPORT_WRITING = "该导入正在写入数据库，不能中途取消；请等它完成（全部写入或全部不写）。"


def import_progress_set(job_id: int, percent: int) -> None:
    """Progress lives in the cache: a commit runs inside one transaction, so a progress
    column on the job row would stay invisible to the polling page until the end."""
    cache.set(import_progress_key(job_id), int(percent), timeout=3600)


def import_annotated_progress_set(job_id: int, percent: int) -> None:
    cache.set(import_annotated_progress_key(job_id), int(percent), timeout=3600)


def import_scope_county(actor) -> County | None:
    """City admins import city-wide (None); county officials for their own county only."""
    scope = scope_for_user(actor)
    if scope.role == UserRole.Role.CITY_ADMIN:
        return None
    if scope.role == UserRole.Role.COUNTY_OFFICIAL:
        return County.objects.get(pk=scope.county_id)
    raise PermissionDenied(_("只有市级管理员和县级干部可以导入数据。"))


def _fail_jobs(ids, reason: str) -> int:
    now = timezone.now()
    return ImportJob.objects.filter(pk__in=ids, state__in=ImportJob.RUNNING_STATES).update(
        state=ImportJob.State.FAILED, error=str(reason), finished_at=now, updated_at=now
    )


def import_jobs_reap(*, kind: str | None = None, job_id: int | None = None) -> int:
    """Mark failed, with the reason in Chinese, the running imports nobody works on any
    more, so they stop showing 导入中 and stop blocking their kind:

    - a commit whose worker started it and no longer holds its row lock: the worker was
      killed, and its transaction rolled back with it (PostgreSQL; SQLite has no row locks);
    - any running job that has not moved for IMPORT_STALE_AFTER (its task was lost);
    - likewise an annotated workbook still pending after that long (生成失败; not counted).

    A job still held by a live worker is skipped, never waited for. Run by beat every
    minute, and for its own job whenever the import page is viewed. Returns how many."""
    now = timezone.now()
    running = ImportJob.objects.filter(state__in=ImportJob.RUNNING_STATES)
    if kind is not None:
        running = running.filter(kind=kind)
    if job_id is not None:
        running = running.filter(pk=job_id)
    row_locks = connection.features.has_select_for_update_skip_locked
    reaped = 0
    try:
        with transaction.atomic():
            if row_locks:
                dead = running.filter(
                    state=ImportJob.State.COMMITTING, started_at__lt=now - IMPORT_START_GRACE
                ).select_for_update(skip_locked=True)
                reaped += _fail_jobs(list(dead.values_list("pk", flat=True)), IMPORT_INTERRUPTED)
            stale = running.filter(updated_at__lt=now - IMPORT_STALE_AFTER)
            if row_locks:
                stale = stale.select_for_update(skip_locked=True)
            reaped += _fail_jobs(list(stale.values_list("pk", flat=True)), IMPORT_STALE)
        # An annotated workbook whose task was lost: its page stops waiting for it.
        lost = ImportJob.objects.filter(
            annotated_state=ImportJob.Annotation.PENDING, updated_at__lt=now - IMPORT_STALE_AFTER
        )
        if kind is not None:
            lost = lost.filter(kind=kind)
        if job_id is not None:
            lost = lost.filter(pk=job_id)
        lost.update(annotated_state=ImportJob.Annotation.FAILED)
    except OperationalError:
        # SQLite: an inline import holds the database; the next look will do.
        logger.warning("import reaper could not run now", exc_info=True)
        return 0
    if reaped:
        logger.warning("marked %s interrupted import job(s) failed", reaped)
    return reaped


def _start_attempt(job_id: int, state: str) -> ImportJob | None:
    """A worker begins `state`'s step: record it (committed at once, before any lock, so
    the reaper can tell a started job whose worker died from one still queued). Returns
    the job, or None when it is no longer in that state (a redelivered, finished task).
    A step started too often (a file that kills its worker each time) is failed."""
    now = timezone.now()
    if not ImportJob.objects.filter(pk=job_id, state=state).update(
        started_at=now, attempts=F("attempts") + 1, updated_at=now
    ):
        return None
    job = ImportJob.objects.get(pk=job_id)
    if job.attempts > IMPORT_MAX_ATTEMPTS:
        import_job_fail(job_id=job_id, reason=IMPORT_TOO_MANY % {"n": IMPORT_MAX_ATTEMPTS})
        return None
    return job


def _save_running(job: ImportJob) -> None:
    try:
        with transaction.atomic():
            job.save()
    except IntegrityError:
        raise ValidationError(_(IMPORT_BUSY)) from None


def _import_area_lock(*, kind: str, county_id: int | None, job_id: int | None = None) -> None:
    """Inside the caller's transaction, before a job of `kind` starts running in its area:
    refuse when a running import of that kind overlaps the area. A county's import
    overlaps its own county's and a city-wide one; a city-wide import overlaps all of them;
    another county's never does. The area's county rows are locked first (all of them for a
    city-wide import), so two overlapping starts take turns and the second sees the first
    (PostgreSQL; SQLite runs one write transaction at a time). FOR NO KEY UPDATE: rows that
    merely point at a county are not held up. `job_id`, the job about to run, is no rival."""
    counties = County.objects.order_by("pk").select_for_update(no_key=True)
    if county_id is not None:
        counties = counties.filter(pk=county_id)
    list(counties.values_list("pk", flat=True))
    running = ImportJob.objects.filter(kind=kind, state__in=ImportJob.RUNNING_STATES)
    if job_id is not None:
        running = running.exclude(pk=job_id)
    if county_id is not None:
        running = running.filter(Q(county_id=county_id) | Q(county__isnull=True))
    other = running.select_related("county").order_by("pk").first()
    if other is None:
        return
    if other.county_id == county_id:
        raise ValidationError(_(IMPORT_BUSY))
    if other.county_id is None:
        raise ValidationError(_(IMPORT_BUSY_CITY))
    raise ValidationError(_(IMPORT_BUSY_COUNTY) % {"county": other.county.name})


def import_job_create(*, actor, kind: str, upload, valid_only: bool = False) -> ImportJob:
    """Store the upload and queue its validation. Nothing is imported yet; a file that is
    too large or no .xlsx / CSV table is refused first, and nothing of it is stored."""
    get_import_kind(kind)
    import_upload_check(upload=upload)
    job = _import_job_open(
        actor=actor,
        county=import_scope_county(actor),
        kind=kind,
        upload=upload,
        valid_only=valid_only,
    )
    task_enqueue(import_job_validate_task, args=(job.pk,))
    return job


def import_upload_check(*, upload) -> None:
    """Refuse, naming the file, an upload that is too large, empty or not an .xlsx or CSV
    table, before anything of it is stored (数据导入, the admin's 导入 button). The command
    line reads a local file and records a failed job for it instead."""
    name = os.path.basename(upload.name or "")
    if problem := size_refusal(upload.size):
        raise ValidationError(f"“{name}”：{problem}")
    upload.seek(0)
    data = upload.read()
    upload.seek(0)
    if problem := upload_refusal(data, name):
        raise ValidationError(problem)


@transaction.atomic
def _import_job_open(*, actor, county, kind: str, upload, valid_only: bool) -> ImportJob:
    get_import_kind(kind)
    if problem := size_refusal(upload.size):
        raise ValidationError(f"“{os.path.basename(upload.name)}”：{problem}")
    import_jobs_reap(kind=kind)
    _import_area_lock(kind=kind, county_id=county.pk if county else None)
    job = ImportJob(
        kind=kind,
        user=actor,
        county=county,
        original_name=os.path.basename(upload.name)[:200],
        state=ImportJob.State.VALIDATING,
        valid_only=valid_only,
    )
    suffix = os.path.splitext(upload.name)[1].lower()[:10] or ".bin"
    job.file.save(f"{kind}{suffix}", upload, save=False)
    try:
        _save_running(job)
    except ValidationError:
        job.file.delete(save=False)
        raise
    import_progress_set(job.pk, 0)
    return job


def _import_plan(job: ImportJob):
    with job.file.open("rb") as fh:
        data = fh.read()
    ctx = ImportContext(actor=job.user, county=job.county)
    kind = get_import_kind(job.kind)
    plan = build_import_plan(
        kind, data, job.original_name, ctx, lambda p: import_progress_set(job.pk, p)
    )
    return kind, ctx, plan


def import_job_validate(*, job_id: int) -> ImportJob:
    """Read, check and diff the file; store the preview. Writes no roster data. Rows with
    errors get their annotated workbook from a step of its own, queued here, so the preview
    never waits for it. A job cancelled meanwhile stays cancelled."""
    job = _start_attempt(job_id, ImportJob.State.VALIDATING)
    if job is None:
        return ImportJob.objects.get(pk=job_id)
    try:
        plan = _import_plan(job)[2]
    except OperationalError:
        raise  # the task retries
    except SoftTimeLimitExceeded:
        import_job_fail(job_id=job.pk, reason=IMPORT_TIMEOUT)
        raise
    except Exception:
        logger.exception("import job %s failed while validating", job.pk)
        import_job_fail(job_id=job.pk, reason=_("读取文件时出错，请检查文件后重新上传。"))
        raise
    changes = {"preview": plan_preview(plan), "summary": plan.counts()}
    if plan.file_error:
        changes.update(
            state=ImportJob.State.FAILED,
            error="；".join(str(i) for i in plan.issues if not i.row),
            finished_at=timezone.now(),
        )
    else:
        changes["state"] = ImportJob.State.PREVIEWED
        if _needs_annotation(changes["preview"]):
            changes.update(annotated_state=ImportJob.Annotation.PENDING, annotated="")
    if not _claim(job, from_state=ImportJob.State.VALIDATING, **changes):
        job.refresh_from_db()  # cancelled while it was being read: that stands
        return job
    if changes.get("annotated_state"):
        _annotation_queue(job)
    import_progress_set(job.pk, 100)
    return job


def _needs_annotation(preview: dict) -> bool:
    return "layout" in preview and any(issue["row"] for issue in preview.get("issues", ()))


def _annotation_queue(job: ImportJob) -> None:
    import_annotated_progress_set(job.pk, 0)
    task_enqueue(import_job_annotate_task, args=(job.pk,))


def _claim(job: ImportJob, *, from_state: str, **changes) -> bool:
    """Move `job` out of `from_state` only if it is still there (a double click, a second
    tab or a redelivered task finds it gone). Returns whether this caller won."""
    try:
        with transaction.atomic():
            won = ImportJob.objects.filter(pk=job.pk, state=from_state).update(
                updated_at=timezone.now(), **changes
            )
    except IntegrityError:
        raise ValidationError(_("已有一个同类导入正在进行，请等它完成后再试。")) from None
    if won:
        for field, value in changes.items():
            setattr(job, field, value)
    return bool(won)


def _check_owner(actor, job: ImportJob) -> None:
    if job.user_id != actor.pk and scope_for_user(actor).role != UserRole.Role.CITY_ADMIN:
        raise PermissionDenied(_("只能处理自己上传的导入。"))


def import_job_confirm(*, actor, job: ImportJob, valid_only: bool = False) -> ImportJob:
    """The admin confirmed the preview: queue the commit (once, however often clicked)."""
    _check_owner(actor, job)
    errors = job.summary.get("errors", 0)
    if errors and not valid_only:
        raise ValidationError(
            _("文件中有 %(n)s 处错误。请修正后重新上传，或选择“只导入无误的行”。") % {"n": errors}
        )
    import_jobs_reap(kind=job.kind)
    with transaction.atomic():
        _import_area_lock(kind=job.kind, county_id=job.county_id, job_id=job.pk)
        won = _claim(
            job,
            from_state=ImportJob.State.PREVIEWED,
            state=ImportJob.State.COMMITTING,
            valid_only=valid_only,
            started_at=None,
            attempts=0,
        )
    if not won:
        job.refresh_from_db()
        raise ValidationError(
            _("该导入当前为“%(state)s”，不能确认。") % {"state": job.get_state_display()}
        )
    import_progress_set(job.pk, 0)
    task_enqueue(import_job_commit_task, args=(job.pk,))
    return job


def import_job_cancel(*, actor, job: ImportJob) -> ImportJob:
    """End, by its uploader or a city admin, an import that has written nothing: a preview
    nobody will confirm, or a job stuck 校验中 or 导入中 (its worker died, its task was
    lost). It is ended at once and stops blocking its area; a worker that reaches it later
    finds it cancelled and writes nothing. A commit whose worker is writing right now holds
    the job row: it is not interrupted (its transaction writes all or nothing), and the
    cancel is refused with the reason."""
    _check_owner(actor, job)
    row_locks = connection.features.has_select_for_update_skip_locked
    try:
        with transaction.atomic():
            rows = ImportJob.objects.filter(pk=job.pk)
            if row_locks:
                rows = rows.select_for_update(skip_locked=True)
            state = rows.values_list("state", flat=True).first()
            if state is None:  # locked: a live worker is committing it
                raise ValidationError(_(IMPORT_WRITING))
            if state not in ImportJob.CANCELLABLE_STATES:
                raise ValidationError(
                    _("该导入当前为“%(state)s”，不能取消。")
                    % {"state": ImportJob.State(state).label}
                )
            now = timezone.now()
            changes = {
                "state": ImportJob.State.CANCELLED,
                "finished_at": now,
                "updated_at": now,
                "cancelled_by": actor,
            }
            ImportJob.objects.filter(pk=job.pk).update(**changes)
    except OperationalError:  # SQLite: a commit holds the whole database
        raise ValidationError(_(IMPORT_WRITING)) from None
    for name, value in changes.items():
        setattr(job, name, value)
    if state != ImportJob.State.PREVIEWED:
        logger.warning("import job %s (%s) cancelled by user %s", job.pk, state, actor.pk)
    return job


def import_job_retry(*, actor, job: ImportJob) -> ImportJob:
    """Start a failed import again from its stored file: a new job that is validated
    afresh (the database may have changed since) and then confirmed like any other. The
    failed job stays in the list as it was."""
    _check_owner(actor, job)
    if job.state != ImportJob.State.FAILED or not job.file:
        raise ValidationError(_("只有失败的导入可以重新导入。"))
    with job.file.open("rb") as fh:
        upload = ContentFile(fh.read(), name=job.original_name or os.path.basename(job.file.name))
    return import_job_create(actor=actor, kind=job.kind, upload=upload, valid_only=job.valid_only)


def import_job_fail(*, job_id: int, reason: str) -> None:
    """Mark a job failed (a task gave up on it). A finished job is left alone."""
    ImportJob.objects.filter(pk=job_id, state__in=ImportJob.RUNNING_STATES).update(
        state=ImportJob.State.FAILED,
        error=str(reason)[:4000],
        finished_at=timezone.now(),
        updated_at=timezone.now(),
    )


@recorded_as("import:{job_id}")
def import_job_commit(*, job_id: int) -> ImportJob:
    """Re-check the file against the database as it is now, then write it, in one
    transaction that holds the job row: everything, or (when the admin chose so) every
    valid row. Nothing is written when errors remain and valid rows only was not chosen.
    A second delivery of the task finds the job no longer committing and does nothing.
    A worker killed half-way leaves nothing: the transaction dies with its connection, and
    the job is marked failed by `import_jobs_reap` (or re-run by a redelivered task)."""
    if _start_attempt(job_id, ImportJob.State.COMMITTING) is None:
        return ImportJob.objects.get(pk=job_id)
    try:
        with transaction.atomic():
            job = (
                ImportJob.objects.select_for_update(of=("self",))
                .select_related("user", "county")
                .get(pk=job_id)
            )
            if job.state != ImportJob.State.COMMITTING:
                return job  # cancelled (or finished) before this worker got the row
            kind, ctx, plan = _import_plan(job)
            counts = plan.counts()
            fields = ["summary", "preview", "state", "error", "finished_at", "updated_at"]
            if plan.file_error or (plan.issues and not job.valid_only):
                job.state = ImportJob.State.FAILED
                job.error = _("校验发现 %(n)s 处错误，未写入任何数据。") % {"n": len(plan.issues)}
                job.summary = {**job.summary, **counts}
                job.preview = plan_preview(plan)
                if _needs_annotation(job.preview):  # the errors found now, marked afresh
                    job.annotated, job.annotated_state = "", ImportJob.Annotation.PENDING
                    fields += ["annotated", "annotated_state"]
                    _annotation_queue(job)
            else:
                import_progress_set(job.pk, 92)
                written = kind.commit(plan.valid_items(), ctx)
                job.summary = {**counts, **written, "skipped_error_rows": counts["error_rows"]}
                job.state = ImportJob.State.DONE
            job.finished_at = timezone.now()
            job.save(update_fields=fields)
    except OperationalError:
        raise  # the database went away: the task retries; nothing was written
    except SoftTimeLimitExceeded:
        import_job_fail(job_id=job_id, reason=IMPORT_TIMEOUT)
        raise
    except IntegrityError as exc:
        logger.warning("import job %s hit a constraint: %s", job_id, exc)
        import_job_fail(
            job_id=job_id, reason=_("数据在校验之后被他人修改，未写入任何数据。请重新上传。")
        )
        raise
    except Exception:
        logger.exception("import job %s failed while committing", job_id)
        import_job_fail(
            job_id=job_id, reason=_("导入时出错，未写入任何数据。请稍后重试或联系管理员。")
        )
        raise
    import_progress_set(job.pk, 100)
    return job


def import_preview(*, actor, kind: str, data: bytes, filename: str):
    """Check and diff a file without recording or writing anything (the Django admin's
    first step). Returns the engine's plan."""
    county = import_scope_county(actor)
    ctx = ImportContext(actor=actor, county=county)
    return build_import_plan(get_import_kind(kind), data, filename, ctx)


def import_job_run_now(
    *, actor, kind: str, upload, dry_run: bool = False, valid_only: bool = False
) -> ImportJob:
    """Validate and commit in this process, recording the job like any other import (the
    management command and the Django admin). `actor=None` means the system, city-wide."""
    county = None if actor is None else import_scope_county(actor)
    job = _import_job_open(
        actor=actor, county=county, kind=kind, upload=upload, valid_only=valid_only
    )
    job = import_job_validate(job_id=job.pk)
    if job.state != ImportJob.State.PREVIEWED:
        return job
    if dry_run:
        _claim(
            job, from_state=job.state, state=ImportJob.State.CANCELLED, finished_at=timezone.now()
        )
    elif job.summary.get("errors") and not valid_only:
        _claim(
            job,
            from_state=job.state,
            state=ImportJob.State.FAILED,
            error=_("存在错误，未写入任何数据。"),
            finished_at=timezone.now(),
        )
    else:
        with transaction.atomic():
            _import_area_lock(kind=kind, county_id=job.county_id, job_id=job.pk)
            won = _claim(
                job,
                from_state=job.state,
                state=ImportJob.State.COMMITTING,
                started_at=None,
                attempts=0,
            )
        if won:
            job = import_job_commit(job_id=job.pk)
    return job


def import_job_annotate(*, job_id: int) -> ImportJob:
    """Build and store a validated job's annotated workbook (engine.annotated_workbook): its
    own background step, after the preview, with its own progress; the download request
    only streams the stored file. Runs once: a redelivered task finds the workbook built."""
    job = ImportJob.objects.get(pk=job_id)
    if job.annotated_state != ImportJob.Annotation.PENDING:
        return job
    preview, kind = job.preview, get_import_kind(job.kind)
    try:
        with job.file.open("rb") as fh:
            data = fh.read()
        rows = annotated_sheet_rows(preview["layout"], data, job.original_name)
        total = max(1, rows[-1][0] if rows else 1)
        step = max(1, total // 50)

        def on_row(n: int) -> None:
            if n % step == 0:
                import_annotated_progress_set(job.pk, min(99, n * 100 // total))

        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "annotated.xlsx")
            annotated_workbook(kind, preview["layout"], preview["issues"], rows, path, on_row)
            with open(path, "rb") as fh:
                job.annotated.save(f"{job.kind}-{job.pk}-errors.xlsx", File(fh), save=False)
    except OperationalError:
        raise  # the task retries
    except Exception:
        logger.exception("import job %s: the annotated workbook failed", job.pk)
        import_job_annotate_fail(job_id=job.pk)
        raise
    done = ImportJob.objects.filter(pk=job.pk, annotated_state=ImportJob.Annotation.PENDING)
    if not done.update(annotated=job.annotated.name, annotated_state=ImportJob.Annotation.DONE):
        job.annotated.delete(save=False)  # given up on meanwhile (the reaper)
        job.refresh_from_db()
        return job
    job.annotated_state = ImportJob.Annotation.DONE
    import_annotated_progress_set(job.pk, 100)
    return job


def import_job_annotate_fail(*, job_id: int) -> None:
    """The annotated workbook could not be built: its page stops waiting for it (the errors
    stay listed on the page)."""
    ImportJob.objects.filter(pk=job_id, annotated_state=ImportJob.Annotation.PENDING).update(
        annotated_state=ImportJob.Annotation.FAILED
    )


# ----- programme years -----
#
# Opening year N freezes its roster, carries the 联乡/帮村 links of the year before
# forward as proposals that each county confirms, ends or changes, and runs the steps
# other apps registered (villages.years: targets copied, rules named). Closing takes the
# final snapshots; a closed year changes again only after a city admin reopens it with a
# written reason. Each step is previewed first, refused with every blocker named, and
# idempotent (doing it again changes nothing).


@dataclass
class YearPlan:
    year: int
    action: str
    lines: list[str] = dc_field(default_factory=list)
    blockers: list[str] = dc_field(default_factory=list)
    changed: bool = False


def _require_city_admin(actor, what: str) -> None:
    """`actor=None` is the system (a management command run on the server)."""
    if actor is not None and scope_for_user(actor).role != UserRole.Role.CITY_ADMIN:
        raise PermissionDenied(_("只有市级管理员可以%(what)s。") % {"what": what})


def _refuse(plan: YearPlan) -> None:
    if plan.blockers:
        raise ValidationError(plan.blockers)


def _source_roster(year: int) -> Roster | None:
    return Roster.objects.filter(year__lt=year).order_by("-year").first()


def _source_links(year: int):
    """The links to carry into `year`: those of the newest earlier year with links that
    run to that year's last day (a link ended during the year is not carried)."""
    source = (
        Assignment.objects.filter(year__lt=year).order_by("-year").values_list("year", flat=True)
    ).first()
    if source is None:
        return None, Assignment.objects.none()
    links = Assignment.objects.filter(year=source, end_date__gte=datetime.date(source, 12, 31))
    return source, links


def programme_year_open_preview(*, year: int, today: datetime.date | None = None) -> YearPlan:
    today = today or timezone.localdate()
    plan = YearPlan(year=year, action="open")
    existing = ProgrammeYear.objects.filter(year=year).first()
    if existing is not None:
        plan.blockers.append(
            _("%(year)s年度已开启（%(status)s），不能重复开启。")
            % {"year": year, "status": existing.get_status_display()}
        )
    if year > today.year + 1:
        plan.blockers.append(
            _("只能开启本年度或下一年度（今天是 %(today)s），不能开启 %(year)s 年度。")
            % {"today": f"{today:%Y-%m-%d}", "year": year}
        )
    own = Roster.objects.filter(year=year).first()
    own_count = own.entries.count() if own else 0
    if own_count:
        plan.lines.append(
            _("名册：使用已建立的%(year)s年度名册（%(n)s 个村(社区)），开启后冻结。")
            % {"year": year, "n": own_count}
        )
    else:
        source = _source_roster(year)
        if source is None or not source.entries.exists():
            plan.blockers.append(
                _("没有可沿用的名册：请先导入或建立%(year)s年度名册。") % {"year": year}
            )
        else:
            entries = source.entries.all()
            plan.lines.append(
                _("名册：沿用%(src)s年度名册（%(n)s 个村(社区)、%(b)s 个党组织），开启后冻结。")
                % {
                    "src": source.year,
                    "n": entries.count(),
                    "b": entries.values("branch_id").distinct().count(),
                }
            )
    source_year, links = _source_links(year)
    if source_year is None:
        plan.lines.append(_("联系点：此前没有联乡帮村安排，开启后请另行导入或录入。"))
    else:
        counts = {k: 0 for k in Assignment.Kind.values}
        for kind in links.values_list("kind", flat=True):
            counts[kind] += 1
        plan.lines.append(
            _(
                "联系点：%(src)s年度的 %(t)s 个联乡、%(v)s 个帮村安排列为延续建议，"
                "由各县(市、区)逐条确认、调整或结束。"
            )
            % {
                "src": source_year,
                "t": counts[Assignment.Kind.TOWNSHIP],
                "v": counts[Assignment.Kind.VILLAGE],
            }
        )
    for step in year_steps():
        if step.describe:
            plan.lines += step.describe(year)
    return plan


@transaction.atomic
def programme_year_open(*, actor, year: int, today: datetime.date | None = None) -> YearPlan:
    """Open `year` (see the section comment). Refused, writing nothing, while anything
    blocks it; a year already open is refused too, so a second run changes nothing."""
    _require_city_admin(actor, _("开启新年度"))
    plan = programme_year_open_preview(year=year, today=today)
    _refuse(plan)
    reason = f"开启{year}年度"
    roster, created = Roster.objects.get_or_create(year=year)
    if created:
        roster._history_user = actor
    if not roster.entries.exists():
        source = _source_roster(year)
        entries = [
            RosterEntry(roster=roster, village_id=v, branch_id=b)
            for v, b in source.entries.values_list("village_id", "branch_id")
        ]
        create_with_history(RosterEntry, entries, actor=actor, reason=reason)
    if not roster.is_frozen:
        roster.is_frozen, roster.frozen_at = True, timezone.now()
        roster._history_user = actor
        roster.save()
    _source, links = _source_links(year)
    proposals = [
        AssignmentProposal(
            year=year,
            source_id=a.pk,
            cadre_id=a.cadre_id,
            kind=a.kind,
            county_id=a.village.township.county_id if a.village_id else a.township.county_id,
            township_id=a.township_id,
            village_id=a.village_id,
        )
        for a in links.select_related("village__township", "township")
    ]
    create_with_history(AssignmentProposal, proposals, actor=actor, reason=reason)
    for step in year_steps():
        if step.on_open:
            plan.lines += step.on_open(actor=actor, year=year)
    py = ProgrammeYear(year=year, status=ProgrammeYear.Status.OPEN, opened_at=timezone.now())
    py._history_user = actor
    py._change_reason = reason
    py.save()
    plan.changed = True
    return plan


def programme_year_close_preview(*, year: int) -> YearPlan:
    plan = YearPlan(year=year, action="close")
    py = ProgrammeYear.objects.filter(year=year).first()
    if py is None:
        plan.blockers.append(_("%(year)s年度尚未开启，无法结账。") % {"year": year})
        return plan
    if py.is_closed:
        plan.lines.append(
            _("%(year)s年度已于 %(at)s 结账，无需重复操作。")
            % {"year": year, "at": f"{timezone.localtime(py.closed_at):%Y-%m-%d %H:%M}"}
        )
        return plan
    pending = AssignmentProposal.objects.filter(
        year=year, decision=AssignmentProposal.Decision.PENDING
    )
    if pending.exists():
        by_county = pending.values_list("county__name").annotate(n=models.Count("pk"))
        plan.blockers.append(
            _("还有联系点延续建议待确认：%(list)s。")
            % {
                "list": "、".join(
                    f"{name} {n} 条" for name, n in by_county.order_by("county__code")
                )
            }
        )
    for step in year_steps():
        if step.blockers:
            plan.blockers += step.blockers(year)
    plan.lines.append(
        _(
            "结账后计算%(year)s年度的最终看板数据；此后该年度的数据不再变化，除非市级管理员填写理由重新开启。"
        )
        % {"year": year}
    )
    return plan


@transaction.atomic
def programme_year_close(*, actor, year: int) -> YearPlan:
    _require_city_admin(actor, _("年度结账"))
    py = ProgrammeYear.objects.select_for_update().filter(year=year).first()
    plan = programme_year_close_preview(year=year)
    _refuse(plan)
    if py.is_closed:
        return plan
    for step in year_steps():
        if step.on_close:
            plan.lines += step.on_close(actor=actor, year=year)
    py.status, py.closed_at = ProgrammeYear.Status.CLOSED, timezone.now()
    py._history_user = actor
    py._change_reason = f"{year}年度结账"
    py.save()
    plan.changed = True
    return plan


@transaction.atomic
def programme_year_reopen(*, actor, year: int, reason: str) -> YearPlan:
    """Reopen a closed year; the written reason is kept on the year and in its history."""
    _require_city_admin(actor, _("重新开启已结账年度"))
    plan = YearPlan(year=year, action="reopen")
    reason = (reason or "").strip()
    py = ProgrammeYear.objects.select_for_update().filter(year=year).first()
    if py is None:
        plan.blockers.append(_("%(year)s年度尚未开启。") % {"year": year})
    elif not py.is_closed:
        plan.lines.append(_("%(year)s年度未结账，无需重新开启。") % {"year": year})
        return plan
    if len(reason) < 4:
        plan.blockers.append(_("请填写重新开启的理由（至少 4 个字），理由将记入历史。"))
    if len(reason) > 500:
        plan.blockers.append(_("理由不能超过 500 个字。"))
    _refuse(plan)
    py.status, py.closed_at, py.reason = ProgrammeYear.Status.OPEN, None, reason
    py._history_user = actor
    py._change_reason = f"重新开启：{reason}"[:100]
    py.save()
    plan.lines.append(_("%(year)s年度已重新开启，看板数据将按最新记录重新计算。") % {"year": year})
    plan.changed = True
    return plan


# ----- proposals (links carried into a new year) -----


def _check_proposal_area(actor, proposal: AssignmentProposal) -> None:
    if not user_can_write_area(actor, county_id=proposal.county_id):
        raise PermissionDenied(_("您无权处理该县(市、区)的联系点。"))


@transaction.atomic
def proposals_confirm(*, actor, proposals) -> int:
    """Confirm pending proposals: one Assignment of the new year each, for the whole year
    (an identical link entered by hand meanwhile is reused). All or nothing: any refusal
    names its cadre and nothing is written. A constant number of queries, however many."""
    rows = [p for p in proposals if p.decision == AssignmentProposal.Decision.PENDING]
    for p in rows:
        _check_proposal_area(actor, p)
    if not rows:
        return 0
    errors = []
    years = {p.year for p in rows}
    for year in sorted(years):
        closed = closed_year_refusal(year, what="联系点")
        if closed:
            raise ValidationError(closed)
    in_roster = set(
        RosterEntry.objects.filter(roster__year__in=years).values_list("roster__year", "village_id")
    )
    names = dict(
        Village.objects.filter(pk__in={p.village_id for p in rows if p.village_id}).values_list(
            "pk", "name"
        )
    )
    cadres = dict(Cadre.objects.filter(pk__in={p.cadre_id for p in rows}).values_list("pk", "name"))
    for p in rows:
        if p.village_id and (p.year, p.village_id) not in in_roster:
            errors.append(
                _(
                    "%(cadre)s 的帮村“%(village)s”不在%(year)s年度名册中，"
                    "请先改为名册内的村(社区)或结束该联系点。"
                )
                % {"cadre": cadres[p.cadre_id], "village": names[p.village_id], "year": p.year}
            )
    if errors:
        raise ValidationError(errors)
    existing = {
        (a.cadre_id, a.year, a.village_id, a.township_id): a.pk
        for a in Assignment.objects.filter(
            year__in=years, cadre_id__in={p.cadre_id for p in rows}
        ).only("pk", "cadre_id", "year", "village_id", "township_id")
    }
    key = lambda p: (p.cadre_id, p.year, p.village_id, p.township_id)  # noqa: E731
    new = {}
    for p in rows:
        if key(p) not in existing and key(p) not in new:
            new[key(p)] = Assignment(
                cadre_id=p.cadre_id,
                kind=p.kind,
                year=p.year,
                village_id=p.village_id,
                township_id=p.township_id,
                start_date=datetime.date(p.year, 1, 1),
                end_date=datetime.date(p.year, 12, 31),
            )
    reason = "确认联系点延续"
    create_with_history(Assignment, list(new.values()), actor=actor, reason=reason)
    existing.update({k: a.pk for k, a in new.items()})
    now = timezone.now()
    for p in rows:
        p.decision = AssignmentProposal.Decision.CONFIRMED
        p.assignment_id = existing[key(p)]
        p.decided_at = now
    update_with_history(
        AssignmentProposal,
        rows,
        ["decision", "assignment", "decided_at"],
        actor=actor,
        reason=reason,
    )
    return len(rows)


@transaction.atomic
def proposal_end(*, actor, proposal: AssignmentProposal) -> AssignmentProposal:
    """The link is not carried into the new year."""
    proposals_end(actor=actor, proposals=[proposal])
    return proposal


@transaction.atomic
def proposals_end(*, actor, proposals) -> int:
    """End pending proposals: their links are not carried into the new year. All or
    nothing: a proposal outside the actor's area or in a closed year refuses the lot and
    nothing is written. Returns how many were ended (already decided ones are left alone)."""
    proposals = list(proposals)
    for p in proposals:
        _check_proposal_area(actor, p)
    for year in sorted({p.year for p in proposals}):
        closed = closed_year_refusal(year, what="联系点")
        if closed:
            raise ValidationError(closed)
    ended = 0
    now = timezone.now()
    for p in proposals:
        if p.decision == AssignmentProposal.Decision.PENDING:
            p.decision, p.decided_at = AssignmentProposal.Decision.ENDED, now
            p._history_user = actor
            p.save()
            ended += 1
    return ended


@transaction.atomic
def proposal_change(
    *, actor, proposal: AssignmentProposal, village=None, township=None
) -> AssignmentProposal:
    """Point a pending proposal at another village (帮村) or township (联乡) of the same
    county, then confirm it."""
    _check_proposal_area(actor, proposal)
    if proposal.decision != AssignmentProposal.Decision.PENDING:
        raise ValidationError(
            _("该联系点已处理（%(d)s），不能再修改。") % {"d": proposal.get_decision_display()}
        )
    if proposal.kind == Assignment.Kind.VILLAGE:
        if village is None:
            raise ValidationError(_("请选择新的帮村村(社区)。"))
        county_id = village.township.county_id
        proposal.village = village
    else:
        if township is None:
            raise ValidationError(_("请选择新的联系乡镇。"))
        county_id = township.county_id
        proposal.township = township
    if county_id != proposal.county_id:
        raise ValidationError(_("只能改为本县(市、区)内的村(社区)或乡镇。"))
    proposal._history_user = actor
    proposal.save()
    proposals_confirm(actor=actor, proposals=[proposal])
    proposal.refresh_from_db()
    return proposal
