"""The audit trail of every app: what each history row records about the change behind
it, and history read as a person reads it.

Writing. A model declared with `HistoricalRecords(bases=[HistoryRequestMeta])` gets, on
each history row, next to `history_user` and `history_date`: the web or API request that
made the change (an id, method, path and client address; the request is the one
`simple_history.middleware.HistoryRequestMiddleware` keeps for the thread), or, outside a
request, what did: a Celery task (named automatically, see `task_started`), an import job
(`history_origin("import:{job_id}")` on the service), or a management command (from the
command line). `fill_request_meta` fills the fields on every single save or delete
(simple-history's `pre_create_historical_record` signal); the bulk writes pass
`request_meta()` themselves (core.importing.bulk).

Reading. `history_entries()` turns the rows of some objects into the entries a history
panel shows: who, when, where from, and each changed field with its Chinese name and
display value. `scoped_history()` is the door the apps' selectors use: the objects must be
in the user's queryset, or it is a 404.
"""

from __future__ import annotations

import functools
import os
import re
import sys
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from contextvars import ContextVar

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied
from django.db import models
from django.db.models.signals import pre_save
from django.http import Http404
from django.utils.translation import gettext_lazy as _
from simple_history.manager import HistoryManager
from simple_history.models import HistoricalRecords
from simple_history.signals import pre_create_historical_record

from core.client_ip import client_address


class PortalHistoryManager(HistoryManager):
    """simple-history's manager, whose class is built once per queryset class: the
    library builds it anew (`from_queryset`, walking the queryset's methods) each time
    `instance.history` is read, which it does on every save it records. Declared as
    `HistoricalRecords(bases=[HistoryRequestMeta], history_manager=PortalHistoryManager)`."""

    _classes: dict = {}

    @classmethod
    def from_queryset(cls, queryset_class, class_name=None):
        key = (cls, queryset_class, class_name)
        if key not in PortalHistoryManager._classes:
            PortalHistoryManager._classes[key] = super().from_queryset(queryset_class, class_name)
        return PortalHistoryManager._classes[key]


_origin: ContextVar[str] = ContextVar("history_origin", default="")
_task_tokens: dict = {}

# An id handed over by the proxy in front of the portal (X-Request-ID), kept so a history
# row can be matched with its access log; anything else gets an id of our own.
REQUEST_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{7,63}$")


class HistoryRequestMeta(models.Model):
    """Abstract base of the portal's history models: what made each change."""

    history_source = models.CharField(
        _("来源"),
        max_length=200,
        blank=True,
        help_text=_("web / api（网页或接口请求）、task:任务名、import:导入编号、command:命令名。"),
    )
    history_request_id = models.CharField(_("请求编号"), max_length=64, blank=True)
    history_request_method = models.CharField(_("请求方法"), max_length=10, blank=True)
    history_request_path = models.CharField(_("请求地址"), max_length=300, blank=True)
    history_ip = models.GenericIPAddressField(_("IP 地址"), null=True, blank=True)
    history_forwarded_for = models.CharField(_("转发来源地址"), max_length=200, blank=True)
    history_user_name = models.CharField(
        _("操作人账号"), max_length=150, blank=True, help_text=_("账号被删除后仍可知是谁。")
    )

    class Meta:
        abstract = True

    @property
    def history_source_display(self) -> str:
        """Where the change came from, in Chinese."""
        kind, _sep, detail = self.history_source.partition(":")
        request = f"{self.history_request_method} {self.history_request_path}".strip()
        if kind in ("web", "api"):
            return f"{'接口' if kind == 'api' else '网页'} {request}".strip()
        label = {
            "task": "后台任务",
            "import": "数据导入 #",
            "command": "命令",
            "process": "程序",
        }.get(kind)
        if label is None:
            return "未记录"
        text = f"{label}{detail}" if kind == "import" else f"{label} {detail}"
        return f"{text}（请求 {request}）" if request else text


# ----- writing -----


def current_request():
    """The request being answered in this thread, if any (HistoryRequestMiddleware)."""
    return getattr(HistoricalRecords.context, "request", None)


def request_id(request) -> str:
    """One id per request, shared by every history row it writes."""
    rid = getattr(request, "_history_request_id", None)
    if rid is None:
        given = request.META.get("HTTP_X_REQUEST_ID", "")
        rid = given if REQUEST_ID.match(given) else uuid.uuid4().hex
        request._history_request_id = rid
    return rid


def _process() -> str:
    """What runs this process, for changes made outside a request, task or import:
    `manage.py <command>` is named as that command."""
    argv = sys.argv or [""]
    program = os.path.basename(argv[0] or "python")
    if program == "__main__.py":  # python -m <package>
        program = os.path.basename(os.path.dirname(argv[0]))
    if program in ("manage.py", "django-admin") and len(argv) > 1:
        return f"command:{argv[1]}"[:200]
    return f"process:{program}"[:200]


def request_meta(*, user=None) -> dict:
    """The values of `HistoryRequestMeta`'s fields for a change made now by `user`."""
    origin = _origin.get()
    meta = {
        "history_source": origin or _process(),
        "history_user_name": getattr(user, "username", "") or "",
    }
    request = current_request()
    if request is not None:
        # the client as the trusted proxies vouch for it, and the proxy (never the raw
        # X-Forwarded-For, which the client writes)
        address = client_address(request)
        api = request.path_info.startswith("/api/")
        meta.update(
            history_source=origin or ("api" if api else "web"),
            history_request_id=request_id(request),
            history_request_method=request.method[:10],
            history_request_path=request.path[:300],
            history_ip=address.ip,
            history_forwarded_for=address.via,
        )
    return meta


def fill_request_meta(sender, history_instance, history_user=None, **kwargs) -> None:
    """pre_create_historical_record: stamp the row with what made the change."""
    if isinstance(history_instance, HistoryRequestMeta):
        for name, value in request_meta(user=history_user).items():
            setattr(history_instance, name, value)


@contextmanager
def history_origin(label: str):
    """Name what makes the changes inside the block (e.g. "import:12") on their rows."""
    token = _origin.set(label[:200])
    try:
        yield
    finally:
        _origin.reset(token)


def recorded_as(template: str):
    """Decorator: the history rows written by the function name `template`, filled in
    with its keyword arguments (e.g. `@recorded_as("import:{job_id}")`)."""

    def decorate(func):
        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            with history_origin(template.format(**kwargs)):
                return func(*args, **kwargs)

        return wrapper

    return decorate


def task_started(sender=None, task_id=None, task=None, **kwargs) -> None:
    """Celery task_prerun: changes made by the task are the task's."""
    _task_tokens[task_id] = _origin.set(f"task:{getattr(task, 'name', sender)}"[:200])


def task_finished(sender=None, task_id=None, **kwargs) -> None:
    token = _task_tokens.pop(task_id, None)
    if token is not None:
        try:
            _origin.reset(token)
        except ValueError:  # finished in another context than it started
            _origin.set("")


# ----- logins (auth.User) -----


class UserHistoryMeta(HistoryRequestMeta):
    """Abstract base of the logins' history: the password hash is never copied into a
    history row, only that the change set a new one."""

    password_changed = models.BooleanField(
        _("修改了密码"), default=False, help_text=_("只记录密码被修改，不保存密码或其哈希。")
    )

    class Meta:
        abstract = True


PASSWORD_SET = "修改密码"
PASSWORD_HASH_REPLACED = "更新密码哈希"


class UserHistoricalRecords(HistoricalRecords):
    """History of auth.User (registered in villages.models), declared with
    `bases=[UserHistoryMeta]` and `excluded_fields=["password", "last_login"]`.

    A row is written for each change of the account (is_active, is_staff, is_superuser,
    names) and of its groups or permissions (`m2m_fields`); a password set through
    `set_password()` is a row with `password_changed` and the reason 修改密码 (a hash
    replaced otherwise, e.g. upgraded at sign-in: 更新密码哈希). A sign-in, which saves
    last_login alone, writes no row (axes keeps the sign-ins)."""

    def finalize(self, sender, **kwargs):
        super().finalize(sender, **kwargs)
        pre_save.connect(self.note_password, sender=sender, weak=False)
        history_model = getattr(sender, self.manager_name).model
        pre_create_historical_record.connect(self.mark_password, sender=history_model, weak=False)

    @staticmethod
    def note_password(sender, instance, raw=False, update_fields=None, **kwargs) -> None:
        """pre_save: whether this save stores a new password hash (one query, only when a
        stored hash may have been replaced other than by set_password)."""
        if raw:
            return
        if instance._password is not None:  # set_password() since the last save
            changed = PASSWORD_SET
        elif instance._state.adding or instance.pk is None:
            changed = PASSWORD_SET if instance.has_usable_password() else ""
        elif update_fields is not None and "password" not in update_fields:
            changed = ""
        elif "password" in instance.get_deferred_fields():
            changed = ""
        else:
            stored = (
                sender._base_manager.filter(pk=instance.pk)
                .values_list("password", flat=True)
                .first()
            )
            changed = PASSWORD_HASH_REPLACED if stored != instance.password else ""
        instance._history_password_change = changed

    @staticmethod
    def mark_password(sender, instance, history_instance, **kwargs) -> None:
        history_instance.password_changed = bool(getattr(instance, "_history_password_change", ""))

    def get_change_reason_for_object(self, instance, history_type, using):
        reason = super().get_change_reason_for_object(instance, history_type, using)
        if reason or history_type != "~":
            return reason
        return getattr(instance, "_history_password_change", "") or None

    def post_save(self, instance, created, using=None, **kwargs):
        update_fields = kwargs.get("update_fields")
        try:
            if update_fields is not None and set(update_fields) <= {"last_login"}:
                return  # a sign-in, not a change of the account
            super().post_save(instance, created, using=using, **kwargs)
        finally:
            # a later group change (m2m_changed, no save) must not repeat it
            instance.__dict__.pop("_history_password_change", None)


# ----- keeping the audit trail -----


# The audit trail: the history of every model is kept for good (never deleted, not by the
# tidy commands nor by any other delete through the ORM, `refuse_history_delete`), but for
# the few models settings.HISTORY_TIDY_MODELS names. A model given history later is thus
# protected unless it is added there.
def history_protected(model) -> bool:
    """Whether the history of `model` (the tracked model) is kept for good."""
    return model._meta.label not in settings.HISTORY_TIDY_MODELS


def protected_history_models() -> list:
    """The history tables whose rows may not be deleted: each protected model's history
    model and its many-to-many history models (a login's groups and permissions)."""
    from django.apps import apps

    tables = []
    for model in apps.get_models():
        manager_name = getattr(model._meta, "simple_history_manager_attribute", None)
        if manager_name and history_protected(model):
            tables.append(getattr(model, manager_name).model)
    tables += [
        m2m_history
        for field, m2m_history in HistoricalRecords.m2m_models.items()
        if history_protected(field.model)
    ]
    return tables


def refuse_history_delete(sender, instance, **kwargs) -> None:
    """pre_delete on the protected history tables: an audit row is never deleted."""
    model = getattr(sender, "instance_type", sender)
    raise PermissionDenied(
        _("“%(model)s”的历史记录是审计记录，不能删除。") % {"model": model._meta.verbose_name}
    )


# ----- reading -----


def _user_label(user) -> str:
    return user.first_name or user.username


def _who(record) -> str:
    if record.history_user is not None:
        return _user_label(record.history_user)
    name = getattr(record, "history_user_name", "")
    return f"{name}（账号已删除）" if name else "系统"


def _related_labels(wanted: dict) -> dict:
    """{(model, pk): label} for the foreign keys a set of changes names: one query per
    related model."""
    labels = {}
    user_model = get_user_model()
    for model, pks in wanted.items():
        for pk, obj in model._base_manager.in_bulk(pks).items():
            labels[(model, pk)] = _user_label(obj) if model is user_model else str(obj)
    return labels


def _display(field, value, labels: dict, formatters: dict):
    if value is None or value == "" or value == []:
        return ""
    if field.name in formatters:
        return formatters[field.name](value)
    if field.many_to_one or field.one_to_one:
        return labels.get((field.related_model, value)) or f"（已删除，编号 {value}）"
    if isinstance(value, bool):
        return "是" if value else "否"
    if field.choices:
        return str(dict(field.flatchoices).get(value, value))
    if isinstance(value, list):
        return "、".join(map(str, value))
    return value


def choice_labels(choices) -> Callable[[list], str]:
    """A formatter for `history_entries`: a JSON list of choice codes as their labels."""
    labels = dict(choices)
    return lambda codes: "、".join(str(labels.get(code, code)) for code in codes)


def history_entries(
    model,
    pks: Iterable,
    *,
    formatters: dict[str, Callable] | None = None,
    mask: Callable | None = None,
    subjects: dict | None = None,
    created: str = "",
) -> list[dict]:
    """The history of the `model` objects `pks`, newest first. Each entry: the row
    (`record`), `action` (+ created, ~ changed, - deleted), `who`, `source`, `subject`
    (from `subjects`, by pk), `created` (what creating is called, e.g. 申报) and `changes`
    (label, old, new) in the model's field order.

    `formatters` show a field's value their own way (JSON lists of codes); `mask(name,
    value)` hides what the reader may not see. Two queries, plus one per related model
    whose foreign key changed."""
    formatters = formatters or {}
    history = model.history.model
    pk_name = model._meta.pk.attname
    rows = list(
        history.objects.filter(**{f"{pk_name}__in": list(pks)})
        .select_related("history_user")
        .order_by(pk_name, "history_date", "history_id")
    )
    order = {f.name: i for i, f in enumerate(model._meta.fields)}
    deltas = []
    wanted = defaultdict(set)
    previous = None
    for record in rows:
        same = previous is not None and getattr(previous, pk_name) == getattr(record, pk_name)
        changes = record.diff_against(previous).changes if same else []
        changes = sorted(changes, key=lambda c: order.get(c.field, len(order)))
        for change in changes:
            field = model._meta.get_field(change.field)
            if field.many_to_one or field.one_to_one:
                wanted[field.related_model] |= {v for v in (change.old, change.new) if v}
        deltas.append((record, changes))
        previous = record
    labels = _related_labels(wanted)
    entries = []
    for record, changes in deltas:
        shown = []
        for change in changes:
            field = model._meta.get_field(change.field)
            old, new = change.old, change.new
            if mask is not None:
                old, new = mask(field.name, old), mask(field.name, new)
            shown.append(
                {
                    "label": str(field.verbose_name),
                    "old": _display(field, old, labels, formatters),
                    "new": _display(field, new, labels, formatters),
                }
            )
        entries.append(
            {
                "record": record,
                "action": record.history_type,
                "who": _who(record),
                "source": getattr(record, "history_source_display", ""),
                "subject": (subjects or {}).get(getattr(record, pk_name), ""),
                "created": created,
                "changes": shown,
            }
        )
    return newest_first(entries)


def newest_first(entries: Iterable[dict]) -> list[dict]:
    """Entries of one or several histories, newest first."""
    return sorted(
        entries,
        key=lambda e: (e["record"].history_date, e["record"].history_id),
        reverse=True,
    )


def scoped_history(visible: models.QuerySet, pks: Iterable, **options) -> list[dict]:
    """`history_entries` of the objects `pks`, each of which must be in `visible` (the
    user's scoped queryset): one outside it, or missing, is a 404."""
    pks = set(pks)
    if not pks:
        return []
    if visible.filter(pk__in=pks).count() != len(pks):
        raise Http404("不存在，或不在您的管辖范围内。")
    return history_entries(visible.model, pks, **options)
