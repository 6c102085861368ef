"""Background jobs, which know no domain: the outbox that queues tasks by name once the
writing transaction commits (and keeps what the broker refused), Excel exports run by a
worker, and the import lifecycle (upload → validate → preview → confirm → commit, with
its annotated workbook, per-area locks, cancel, retry and the reaper).

Who may do what is decided above, by the caller (villages.services: an import's area is
the importing official's county, only the uploader or a city admin may confirm, cancel or
retry it); what runs here trusts those decisions. Every task is queued by name (`enqueue`),
so no service imports a tasks module."""

from __future__ import annotations

import datetime
import hashlib
import importlib
import json
import logging
import os
import tempfile
import time

from celery import current_app
from celery.exceptions import SoftTimeLimitExceeded
from django.apps import apps
from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.files.base import ContentFile
from django.db import IntegrityError, OperationalError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from core.excel import write_workbook
from core.exports import EXPORT_KINDS
from core.history import recorded_as
from core.importing.engine import Context as ImportContext
from core.importing.engine import annotated_sheet_rows, annotated_workbook, plan_preview
from core.importing.engine import build_plan as build_import_plan
from core.importing.engine import get_kind as get_import_kind
from core.importing.reader import size_refusal, upload_refusal
from core.models import ExportJob, ImportJob, PendingTask
from core.selectors import import_annotated_progress_key, import_progress_key

logger = logging.getLogger(__name__)


def _area_model():
    """The model an import job may be limited to (settings.JOBS_AREA_MODEL)."""
    return apps.get_model(settings.JOBS_AREA_MODEL)


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


def _task(name: str):
    """The registered task called `name` (the apps' tasks modules are loaded on first use,
    so that no service imports a tasks module: tasks import services, never the reverse)."""
    if name not in current_app.tasks:
        # The task's module, by its name ("app.tasks.function"). Not the loader's
        # import_default_modules(): Celery's Django fix-up runs django.setup() and the system
        # checks on it, which a request must not pay for (or have its logging reset).
        importlib.import_module(name.rpartition(".")[0])
    return current_app.tasks[name]


def task_send(name: str, *, args=(), kwargs=None, queue: str | None = None) -> bool:
    """Queue the task called `name` now. Returns whether it was queued; a failure is
    logged and kept for `pending_tasks_send`. Eager mode (no broker) runs the task inline."""
    task = _task(name)
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


def enqueue(name: str, *, args=(), kwargs=None, queue: str | None = None) -> None:
    """Queue the task called `name` once the current transaction commits (see
    `task_send`). The one way a service queues background work."""
    transaction.on_commit(lambda: task_send(name, args=args, kwargs=kwargs, queue=queue))


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


def _storable(text: str) -> bool:
    """Text a database can keep: PostgreSQL refuses NUL in text and JSON, and a lone
    surrogate has no UTF-8 form."""
    return "\x00" not in text and not any("\ud800" <= ch <= "\udfff" for ch in text)


@transaction.atomic
def export_job_create(*, actor, kind: str, params: dict | None = None) -> ExportJob:
    """Queue an Excel export of what `actor` may see; the file is built by a worker."""
    if kind not in EXPORT_KINDS:
        raise ValidationError({"kind": _("未知的导出类型：%(kind)s") % {"kind": kind}})
    clean_params = {k: v for k, v in (params or {}).items() if k != "page" and v not in ("", None)}
    if not all(_storable(str(k)) and _storable(str(v)) for k, v in clean_params.items()):
        raise ValidationError({"params": _("筛选条件中含有无法保存的字符（如空字符）。")})
    EXPORT_KINDS[kind].queryset(user=actor, params=clean_params)  # refuses bad filters now
    job = ExportJob.objects.create(kind=kind, user=actor, params=clean_params)
    enqueue("core.tasks.export_job_run", args=(job.pk,))
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
    waiting = PendingTask.objects.filter(task="core.tasks.export_job_run").values_list(
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
    counties = _area_model().objects.order_by("pk").select_for_update(no_key=True)
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
    raise ValidationError(_(IMPORT_BUSY_COUNTY) % {"county": other.county})


def import_job_create(*, actor, county, kind: str, upload, valid_only: bool = False) -> ImportJob:
    """Store the upload and queue its validation. Nothing is imported yet; a file that is
    too large or no .xlsx / CSV table is refused first, and nothing of it is stored."""
    get_import_kind(kind)
    import_upload_check(upload=upload)
    job = _import_job_open(
        actor=actor,
        county=county,
        kind=kind,
        upload=upload,
        valid_only=valid_only,
    )
    enqueue("core.tasks.import_job_validate", args=(job.pk,))
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
    enqueue("core.tasks.import_job_annotate", args=(job.pk,))


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


def import_job_confirm(*, actor, job: ImportJob, valid_only: bool = False) -> ImportJob:
    """The admin confirmed the preview: queue the commit (once, however often clicked)."""
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
    enqueue("core.tasks.import_job_commit", args=(job.pk,))
    return job


def import_job_cancel(*, actor, job: ImportJob) -> ImportJob:
    """End, by its uploader or a city admin, an import that has written nothing: a preview
    nobody will confirm, or a job stuck 校验中 or 导入中 (its worker died, its task was
    lost). It is ended at once and stops blocking its area; a worker that reaches it later
    finds it cancelled and writes nothing. A commit whose worker is writing right now holds
    the job row: it is not interrupted (its transaction writes all or nothing), and the
    cancel is refused with the reason."""
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


def import_job_retry(*, actor, county, job: ImportJob) -> ImportJob:
    """Start a failed import again from its stored file: a new job that is validated
    afresh (the database may have changed since) and then confirmed like any other. The
    failed job stays in the list as it was."""
    if job.state != ImportJob.State.FAILED or not job.file:
        raise ValidationError(_("只有失败的导入可以重新导入。"))
    with job.file.open("rb") as fh:
        upload = ContentFile(fh.read(), name=job.original_name or os.path.basename(job.file.name))
    return import_job_create(
        actor=actor, county=county, kind=job.kind, upload=upload, valid_only=job.valid_only
    )


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


def import_preview(*, actor, county, kind: str, data: bytes, filename: str):
    """Check and diff a file without recording or writing anything (the Django admin's
    first step). Returns the engine's plan."""
    ctx = ImportContext(actor=actor, county=county)
    return build_import_plan(get_import_kind(kind), data, filename, ctx)


def import_job_run_now(
    *, actor, county, kind: str, upload, dry_run: bool = False, valid_only: bool = False
) -> ImportJob:
    """Validate and commit in this process, recording the job like any other import (the
    management command and the Django admin). `actor=None` means the system, city-wide."""
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
