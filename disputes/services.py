"""Writes for 三零创建: keyword-only, `actor=` first, atomic, audited (history rows).

Every write of a record the 三零 rule reads (信访, 事故和案件) schedules a recomputation
of the yearly status of the villages and units it touches, old place and year as well as
new, once the transaction has committed (`transaction.on_commit`). The recomputation runs
in a Celery task; if the broker cannot be reached the record is still saved, the failure
is logged and the call kept (villages' PendingTask), and beat queues it once the broker
is back (besides any later change there, the 重新计算 button, or
`manage.py sanling_recompute`).
"""

from __future__ import annotations

import datetime
import logging
from collections import defaultdict
from functools import partial

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from core.importing.bulk import create_with_history, update_with_history
from core.jobs import task_send
from core.services import save_or_refuse
from disputes import sanling
from disputes.ledgers import BY_MODEL, DISPUTES, HAZARDS, INCIDENTS, PETITIONS, LedgerSpec
from disputes.models import (
    Dispute,
    HazardCheck,
    Incident,
    Petition,
    SanlingRule,
    SanlingStatus,
    ThreeZeroUnit,
    ZeroReport,
)
from disputes.selectors import (
    PERSONAL_FIELDS,
    can_see_personal,
    ledger_can_delete,
    ledger_can_write,
    ledger_writer,
    personal,
    sanling_can_override,
    sanling_can_recompute,
    sanling_rule_closed_year,
    sanling_rule_reach,
    sanling_years,
    units_can_manage,
    units_of_year,
    zero_report_exists,
)
from villages.models import RosterEntry, UserRole
from villages.selectors import (
    closed_year_refusal,
    closed_years,
    scope_for_user,
    village_list_for_user,
)

logger = logging.getLogger(__name__)
NOT_IN_SCOPE = "不存在，或不在您的管辖范围内。"

# ----- the yearly status: scheduling and recomputing -----


def _queue_name() -> str | None:
    return getattr(settings, "SANLING_TASK_QUEUE", None) or None


def enqueue_sanling_recompute(*, year: int, village_ids=None, unit_ids=None) -> bool:
    """Send one recomputation to the workers (both None: the whole year). Never raises: a
    broker that is down is logged and the call kept for beat to queue later (the caller's
    record is already saved). Returns whether it was sent."""
    kwargs: dict = {"year": year}
    if village_ids is not None or unit_ids is not None:
        kwargs["village_ids"] = sorted(village_ids or ())
        kwargs["unit_ids"] = sorted(unit_ids or ())
    where = (year, kwargs.get("village_ids", "全部"), kwargs.get("unit_ids", "全部"))
    try:
        sent = task_send("disputes.tasks.sanling_recompute", kwargs=kwargs, queue=_queue_name())
    except Exception:  # eager mode: the task itself failed
        logger.exception("三零状态重新计算未能排队：year=%s villages=%s units=%s", *where)
        return False
    if not sent:
        logger.error(
            "三零状态重新计算未能排队（已记录，消息代理恢复后自动重发）：year=%s villages=%s units=%s",
            *where,
        )
    return sent


def _schedule(targets: set[tuple[int, str, int]]) -> None:
    """After commit, recompute (year, "village"|"unit", id) targets, one task per year."""
    by_year: dict[int, tuple[set, set]] = defaultdict(lambda: (set(), set()))
    for year, kind, pk in targets:
        if pk is None:
            continue
        by_year[year][0 if kind == "village" else 1].add(pk)
    for year, (villages, units) in by_year.items():
        transaction.on_commit(
            lambda y=year, v=frozenset(villages), u=frozenset(units): enqueue_sanling_recompute(
                year=y, village_ids=v, unit_ids=u
            )
        )


def _targets(record, year: int) -> set[tuple[int, str, int]]:
    out = set()
    if record.village_id:
        out.add((year, "village", record.village_id))
    if record.unit_id:
        out.add((year, "unit", record.unit_id))
    return out


def sanling_recompute(*, year: int, village_ids=None, unit_ids=None) -> dict:
    """Derive the 三零 status of `year` for the given villages and units (both None: every
    roster village, every village with a record and every unit of the year) and store it.
    Idempotent; overrides are never touched. Returns {"changed": n, "created": n}."""
    try:
        return _recompute(year=year, village_ids=village_ids, unit_ids=unit_ids)
    except IntegrityError:
        # A concurrent recomputation created some of the same rows first: redo with them.
        return _recompute(year=year, village_ids=village_ids, unit_ids=unit_ids)


@transaction.atomic
def _recompute(*, year: int, village_ids, unit_ids) -> dict:
    full = village_ids is None and unit_ids is None
    if full:
        village_ids = set(
            RosterEntry.objects.filter(roster__year=year).values_list("village_id", flat=True)
        )
        village_ids |= set(
            Petition.objects.filter(received_on__year=year, village__isnull=False).values_list(
                "village_id", flat=True
            )
        )
        village_ids |= set(
            Incident.objects.filter(occurred_on__year=year, village__isnull=False).values_list(
                "village_id", flat=True
            )
        )
        unit_ids = set(units_of_year(year).values_list("pk", flat=True))
    village_ids, unit_ids = set(village_ids or ()), set(unit_ids or ())
    broken_villages, broken_units = sanling.derive(
        year=year, village_ids=village_ids, unit_ids=unit_ids
    )
    rows = SanlingStatus.objects.select_for_update().filter(year=year)
    if not full:
        rows = rows.filter(Q(village_id__in=village_ids) | Q(unit_id__in=unit_ids))
    existing = {("village", s.village_id) if s.village_id else ("unit", s.unit_id): s for s in rows}
    now = timezone.now()
    to_create, to_update = [], []
    wanted = [("village", pk, broken_villages.get(pk, [])) for pk in village_ids]
    wanted += [("unit", pk, broken_units.get(pk, [])) for pk in unit_ids]
    for kind, pk, reasons in wanted:
        met = not reasons
        status = existing.get((kind, pk))
        if status is None:
            to_create.append(
                SanlingStatus(
                    year=year,
                    village_id=pk if kind == "village" else None,
                    unit_id=pk if kind == "unit" else None,
                    derived_met=met,
                    derived_reasons=reasons,
                    computed_at=now,
                )
            )
        elif status.derived_met != met or status.derived_reasons != reasons:
            status.derived_met, status.derived_reasons, status.computed_at = met, reasons, now
            to_update.append(status)
    create_with_history(SanlingStatus, to_create, actor=None, reason="按记录计算")
    update_with_history(
        SanlingStatus,
        to_update,
        ["derived_met", "derived_reasons", "computed_at"],
        actor=None,
        reason="按记录重新计算",
    )
    return {"created": len(to_create), "changed": len(to_update)}


def sanling_recompute_for_user(*, actor, year: int) -> dict:
    """Recompute now (synchronously) the statuses of `year` the actor may see: the
    officials' button for when a recomputation could not be queued."""
    if not sanling_can_recompute(user=actor):
        raise PermissionDenied(_("只有市级管理员和县、乡干部可以重新计算。"))
    from disputes.selectors import unit_list_for_user

    villages = set(village_list_for_user(user=actor).values_list("pk", flat=True))
    units = set(
        unit_list_for_user(user=actor)
        .filter(pk__in=units_of_year(year).values("pk"))
        .values_list("pk", flat=True)
    )
    return sanling_recompute(year=year, village_ids=villages, unit_ids=units)


@transaction.atomic
def sanling_override_set(
    *, actor, year: int, value: str, reason: str, village=None, unit=None
) -> SanlingStatus:
    """Set (达标/不达标) or clear ("") the override of one village's or unit's year. A
    reason is required either way; the derived value is kept and shown beside it."""
    reason = (reason or "").strip()
    if not 1900 <= year <= 2099:
        raise ValidationError({"year": _("年度应为 1900 到 2099 之间的年份。")})
    subject = village or unit
    if subject is None or (village is not None and unit is not None):
        raise ValidationError(_("请指定一个村(社区)或一个单位。"))
    township = subject.township
    if not sanling_can_override(user=actor, township=township):
        raise PermissionDenied(_("只有市级管理员和本县(市、区)干部可以人工认定三零状态。"))
    if value not in ("", *SanlingStatus.Override.values):
        raise ValidationError({"value": _("认定结果只能是“达标”或“不达标”。")})
    if not reason:
        raise ValidationError({"reason": _("人工认定（或撤销认定）必须填写理由。")})
    lookup = {"year": year, "village": village} if village else {"year": year, "unit": unit}
    status = SanlingStatus.objects.select_for_update().filter(**lookup).first()
    if status is None:
        broken_v, broken_u = sanling.derive(
            year=year,
            village_ids=[village.pk] if village else [],
            unit_ids=[unit.pk] if unit else [],
        )
        reasons = (broken_v if village else broken_u).get(subject.pk, [])
        status = SanlingStatus(
            **lookup, derived_met=not reasons, derived_reasons=reasons, computed_at=timezone.now()
        )
    status.override = value
    status.override_reason = reason
    status.override_by = actor if value else None
    status.override_at = timezone.now() if value else None
    if not value:
        # The reason for lifting the override lives in the history row.
        status.override_reason = ""
        status._change_reason = reason
    else:
        status._change_reason = reason
    status._history_user = actor
    status.full_clean(exclude=["village", "unit", "override_by"])
    try:
        with transaction.atomic():
            status.save()
    except IntegrityError:
        # A recomputation created the row after our look: set the override on that row.
        row = SanlingStatus.objects.select_for_update().get(**lookup)
        for name in ("override", "override_reason", "override_by", "override_at"):
            setattr(row, name, getattr(status, name))
        row._change_reason, row._history_user = status._change_reason, actor
        row.save()
        status = row
    return status


# ----- the 三零 rule -----


def _check_rule_writer(actor) -> None:
    if scope_for_user(actor).role != UserRole.Role.CITY_ADMIN:
        raise PermissionDenied(_("只有市级管理员可以修改三零规则。"))


def _refuse_closed_years(day: datetime.date, *, exclude_pk=None) -> None:
    """A rule dated `day` (added, changed or removed) must not re-judge a closed year:
    neither the year it is dated in nor a later one it decides."""
    refusal = closed_year_refusal(day.year, what="三零规则")
    if refusal is None:
        year = sanling_rule_closed_year(day=day, exclude_pk=exclude_pk)
        if year is not None:
            refusal = (
                f"{day.year}年{day.month}月{day.day}日起的三零规则适用到{year}年度："
                + closed_year_refusal(year, what="三零规则")
            )
    if refusal:
        raise ValidationError({"effective_from": refusal})


def _rule_years(days, *, exclude_pk=None) -> list[int]:
    """The years whose 三零 status rules dated `days` decide and that can still change:
    from the first day's year on, up to where a later rule takes over, open years that
    have a roster or statuses (or are this year)."""
    wanted = set()
    known = set(sanling_years()) | {timezone.localdate().year}
    known |= set(SanlingStatus.objects.values_list("year", flat=True).distinct())
    for day in days:
        first, last = sanling_rule_reach(day=day, exclude_pk=exclude_pk)
        wanted |= {y for y in known if y >= first and (last is None or y <= last)}
    return sorted(wanted - closed_years())


def _schedule_years(years) -> None:
    for year in years:
        transaction.on_commit(lambda y=year: enqueue_sanling_recompute(year=y))


@transaction.atomic
def sanling_rule_save(*, actor, rule: SanlingRule) -> SanlingRule:
    """Add a 三零 rule from a date on, or change one (city admins only). Refused when it
    would re-judge a closed programme year; once committed, the 三零 status of the open
    years it decides is recomputed."""
    _check_rule_writer(actor)
    rule.full_clean()
    days = [rule.effective_from]
    if rule.pk is not None:
        before = (
            SanlingRule.objects.select_for_update()
            .filter(pk=rule.pk)
            .values_list("effective_from", flat=True)
            .first()
        )
        if before is None:
            raise ValidationError(_("该三零规则已被删除。"))
        if before != rule.effective_from:
            days.append(before)
    for day in days:
        _refuse_closed_years(day, exclude_pk=rule.pk)
    rule._history_user = actor
    rule.save()
    _schedule_years(_rule_years(days))
    return rule


@transaction.atomic
def sanling_rule_delete(*, actor, rule: SanlingRule) -> None:
    """Remove a rule (city admins only): the days it covered fall to the rule before it.
    Refused when that would re-judge a closed programme year."""
    _check_rule_writer(actor)
    _refuse_closed_years(rule.effective_from, exclude_pk=rule.pk)
    years = _rule_years([rule.effective_from], exclude_pk=rule.pk)
    rule._history_user = actor
    rule.delete()
    _schedule_years(years)


# ----- places -----


def _place(*, actor, village=None, unit=None, township=None):
    """The township of a record placed in `village` and/or `unit` (or directly in
    `township`), after checking the actor may write there. Out of scope: 404."""
    if village is None and unit is None and township is None:
        raise ValidationError({"village": _("请选择村(社区)或企事业单位。")})
    if unit is not None:
        from disputes.selectors import unit_list_for_user

        if not unit_list_for_user(user=actor).filter(pk=unit.pk).exists():
            raise Http404(NOT_IN_SCOPE)
        if village is not None and unit.village_id and unit.village_id != village.pk:
            raise ValidationError({"unit": _("该单位不在所选村(社区)。")})
        if village is not None and unit.township_id != village.township_id:
            raise ValidationError({"unit": _("该单位不在所选村(社区)所在乡镇(街道)。")})
        township = unit.township
        village = village or unit.village
    if village is not None:
        if not village_list_for_user(user=actor).filter(pk=village.pk).exists():
            raise Http404(NOT_IN_SCOPE)
        if township is not None and township.pk != village.township_id:
            raise ValidationError({"village": _("村(社区)不在所选乡镇(街道)。")})
        township = village.township
    if not ledger_can_write(user=actor, township=township, village=village):
        if scope_for_user(actor).role is None:
            raise Http404(NOT_IN_SCOPE)
        raise PermissionDenied(_("您的账号不能在这里登记或修改记录。"))
    return township, village, unit


def _check_writer(actor) -> None:
    if not ledger_writer(user=actor):
        raise PermissionDenied(_("您的账号只能查看，不能登记或修改记录。"))


def _check_deleter(actor, record) -> None:
    if not ledger_can_delete(user=actor, record=record):
        raise PermissionDenied(_("只有市级管理员和本辖区的县、乡干部可以删除记录。"))


def _not_future(errors: dict, field: str, value, label: str) -> None:
    if value and value > timezone.localdate():
        errors.setdefault(field, []).append(_("%s不能晚于今天。") % label)


def _apply(instance, fields: dict, allowed: tuple[str, ...]) -> None:
    unknown = set(fields) - set(allowed)
    if unknown:
        raise TypeError(f"unexpected fields: {sorted(unknown)}")
    for name, value in fields.items():
        if isinstance(value, str):
            value = value.strip()
        setattr(instance, name, value)


def _save(instance, actor, exclude=("township", "village", "unit", "created_by")) -> None:
    instance.full_clean(exclude=list(exclude))
    instance._history_user = actor
    instance.save()


def _located(instance, actor, place: dict) -> None:
    """Place `instance` where `place` says (village/unit/township keys), if it says so."""
    if not place:
        return
    township, village, unit = _place(
        actor=actor,
        village=place.get("village", instance.village if instance.pk else None),
        unit=place.get("unit", instance.unit if instance.pk else None),
        township=place.get("township"),
    )
    instance.township, instance.village, instance.unit = township, village, unit


def _keep_unseen_personal(actor, instance, fields: dict) -> None:
    """An actor who sees ID and phone numbers only masked and sends back what they were
    shown (an API client's read-modify-write) leaves the stored number as it is."""
    if can_see_personal(user=actor):
        return
    for name, kind in PERSONAL_FIELDS.items():
        if name in fields and hasattr(instance, name):
            stored = getattr(instance, name)
            if stored and (fields[name] or "").strip() == personal(stored, kind=kind, reveal=False):
                del fields[name]


def _split_place(fields: dict) -> dict:
    return {k: fields.pop(k) for k in ("village", "unit", "township") if k in fields}


def _sanling_targets(record, ledger: LedgerSpec) -> set[tuple[int, str, int]]:
    """What a ledger record counts towards in 三零 (none for ledgers that do not count)."""
    if not ledger.counts_for_sanling:
        return set()
    return _targets(record, getattr(record, ledger.date_field).year)


@transaction.atomic
def ledger_create(*, actor, ledger: LedgerSpec, **fields):
    """Register a record in `ledger`: writer check, place, fields, the ledger's own rules
    (CHECKS), audited save and the 三零 recompute of what it counts towards."""
    _check_writer(actor)
    record = ledger.model(created_by=actor)
    place = _split_place(fields)
    _apply(record, fields, ledger.fields)
    _located(record, actor, place or {"village": None})
    CHECKS[ledger.key](record, None)
    _save(record, actor)
    _schedule(_sanling_targets(record, ledger))
    return record


@transaction.atomic
def ledger_update(*, actor, record, **fields):
    """Edit a ledger record (locked, in the actor's scope), or move it along its status
    flow; the ledger's rules are checked against the status it had."""
    ledger = BY_MODEL[type(record)]
    _check_writer(actor)
    record = type(record).objects.select_for_update(of=("self",)).get(pk=record.pk)
    _place(actor=actor, village=record.village, unit=record.unit, township=record.township)
    before = _sanling_targets(record, ledger)
    old_status = getattr(record, "status", None)
    place = _split_place(fields)
    if PERSONAL_FIELDS.keys() & set(ledger.fields):
        _keep_unseen_personal(actor, record, fields)
    _apply(record, fields, ledger.fields)
    _located(record, actor, place)
    CHECKS[ledger.key](record, old_status)
    _save(record, actor)
    _schedule(before | _sanling_targets(record, ledger))
    return record


@transaction.atomic
def ledger_delete(*, actor, record) -> None:
    ledger = BY_MODEL[type(record)]
    record = type(record).objects.select_for_update(of=("self",)).get(pk=record.pk)
    _check_deleter(actor, record)
    targets = _sanling_targets(record, ledger)
    record._history_user = actor
    record.delete()
    _schedule(targets)


# ----- each ledger's own rules -----

S = Dispute.Status
DISPUTE_TRANSITIONS = {
    S.REGISTERED: {S.IN_PROGRESS, S.RESOLVED, S.REPORTED},
    S.IN_PROGRESS: {S.RESOLVED, S.REPORTED},
    S.REPORTED: {S.IN_PROGRESS, S.RESOLVED},
    S.RESOLVED: set(),
}


def _check_dispute(d: Dispute, old_status: str | None) -> None:
    errors: dict[str, list] = {}
    today = timezone.localdate()
    if old_status is not None and d.status != old_status:
        if d.status not in DISPUTE_TRANSITIONS[S(old_status)]:
            errors.setdefault("status", []).append(
                _("“%(old)s”不能改为“%(new)s”。")
                % {
                    "old": S(old_status).label,
                    "new": dict(S.choices).get(d.status, d.status),
                }
            )
    if d.status == S.IN_PROGRESS and not d.started_on:
        d.started_on = today
    if d.status == S.RESOLVED and not d.resolved_on:
        d.resolved_on = today
    if d.status == S.REPORTED and not d.reported_on:
        d.reported_on = today
    if d.status == S.REPORTED and not d.reported_to:
        errors.setdefault("reported_to", []).append(_("未化解上报时请填写上报/移交单位。"))
    if d.status != S.RESOLVED and d.resolved_on:
        errors.setdefault("resolved_on", []).append(_("尚未化解的纠纷不能填写化解日期。"))
    _not_future(errors, "registered_on", d.registered_on, _("排查日期"))
    for field, label in (
        ("started_on", _("开始化解日期")),
        ("resolved_on", _("化解日期")),
        ("reported_on", _("上报日期")),
        ("follow_up_on", _("回访日期")),
    ):
        value = getattr(d, field)
        _not_future(errors, field, value, label)
        if value and d.registered_on and value < d.registered_on:
            errors.setdefault(field, []).append(_("%s不能早于排查日期。") % label)
    if d.follow_up_on and d.resolved_on and d.follow_up_on < d.resolved_on:
        errors.setdefault("follow_up_on", []).append(_("回访日期不能早于化解日期。"))
    if d.deadline and d.registered_on and d.deadline < d.registered_on:
        errors.setdefault("deadline", []).append(_("化解时限不能早于排查日期。"))
    if d.people_involved is not None and d.people_involved < 1:
        errors.setdefault("people_involved", []).append(_("涉及人数至少为 1。"))
    if errors:
        raise ValidationError(errors)


P = Petition.Status


def _check_petition(p: Petition, _old_status: str | None) -> None:
    errors: dict[str, list] = {}
    today = timezone.localdate()
    if p.status in (P.ACCEPTED, P.CONCLUDED) and not p.accepted_on:
        p.accepted_on = today if p.status == P.ACCEPTED else (p.concluded_on or today)
    if p.status in (P.CONCLUDED, P.REJECTED) and not p.concluded_on:
        p.concluded_on = today
    if p.status in (P.REGISTERED, P.ACCEPTED, P.SUSPENDED) and p.concluded_on:
        errors.setdefault("concluded_on", []).append(_("未办结的事项不能填写办结日期。"))
    if p.extended and p.status == P.REGISTERED:
        errors.setdefault("extended", []).append(_("受理后才能延期。"))
    if not p.is_anonymous and not p.petitioner_name:
        errors.setdefault("petitioner_name", []).append(_("请填写信访人姓名，或勾选“匿名”。"))
    if p.is_anonymous:
        p.petitioner_name = p.petitioner_name or ""
    for field, label in (
        ("received_on", _("登记日期")),
        ("accepted_on", _("受理日期")),
        ("concluded_on", _("办结日期")),
    ):
        value = getattr(p, field)
        _not_future(errors, field, value, label)
        if field != "received_on" and value and p.received_on and value < p.received_on:
            errors.setdefault(field, []).append(_("%s不能早于登记日期。") % label)
    if p.accepted_on and p.concluded_on and p.concluded_on < p.accepted_on:
        errors.setdefault("concluded_on", []).append(_("办结日期不能早于受理日期。"))
    if p.people_involved is not None and p.people_involved < 1:
        errors.setdefault("people_involved", []).append(_("涉及人数至少为 1。"))
    if errors:
        raise ValidationError(errors)


def _check_incident(i: Incident, _old_status: str | None) -> None:
    errors: dict[str, list] = {}
    for field, label in (("deaths", _("死亡人数")), ("injuries", _("受伤人数"))):
        value = getattr(i, field)
        if value is None or value < 0:
            errors.setdefault(field, []).append(_("%s不能为负数。") % label)
    _not_future(errors, "occurred_on", i.occurred_on, _("发生日期"))
    if errors:
        raise ValidationError(errors)


def _check_hazard(h: HazardCheck, _old_status: str | None) -> None:
    errors: dict[str, list] = {}
    h.regulated_items = list(dict.fromkeys(h.regulated_items or []))
    unknown = [v for v in h.regulated_items if v not in HazardCheck.Regulated.values]
    if unknown:
        errors.setdefault("regulated_items", []).append(
            _("未知的管控物品：%s") % "、".join(map(str, unknown))
        )
    if h.status == HazardCheck.Status.RECTIFIED and not h.rectified_on:
        h.rectified_on = timezone.localdate()
    if h.status != HazardCheck.Status.RECTIFIED and h.rectified_on:
        errors.setdefault("rectified_on", []).append(_("尚未整改完成的隐患不能填写完成日期。"))
    _not_future(errors, "checked_on", h.checked_on, _("排查日期"))
    _not_future(errors, "rectified_on", h.rectified_on, _("整改完成日期"))
    if h.rectified_on and h.checked_on and h.rectified_on < h.checked_on:
        errors.setdefault("rectified_on", []).append(_("整改完成日期不能早于排查日期。"))
    if h.deadline and h.checked_on and h.deadline < h.checked_on:
        errors.setdefault("deadline", []).append(_("整改时限不能早于排查日期。"))
    if errors:
        raise ValidationError(errors)


CHECKS = {
    "disputes": _check_dispute,
    "petitions": _check_petition,
    "incidents": _check_incident,
    "hazards": _check_hazard,
}

# Each ledger's entry points, for callers that name the record by its ledger.
dispute_create = partial(ledger_create, ledger=DISPUTES)
petition_create = partial(ledger_create, ledger=PETITIONS)
incident_create = partial(ledger_create, ledger=INCIDENTS)
hazard_create = partial(ledger_create, ledger=HAZARDS)


# ----- 零报告 -----


@transaction.atomic
def zero_report_create(*, actor, village, month: datetime.date, note: str = "") -> ZeroReport:
    """ "本月无矛盾纠纷" for one village and month (refused when disputes were found)."""
    _check_writer(actor)
    _place(actor=actor, village=village)
    month = month.replace(day=1)
    if month > timezone.localdate():
        raise ValidationError({"month": _("不能为尚未开始的月份报告。")})
    following = (month.replace(day=28) + datetime.timedelta(days=4)).replace(day=1)
    found = Dispute.objects.filter(
        village=village, registered_on__gte=month, registered_on__lt=following
    ).count()
    if found:
        raise ValidationError(
            {
                "month": _("%(village)s本月已登记 %(n)d 件矛盾纠纷，不能报告“无矛盾纠纷”。")
                % {"village": village.name, "n": found}
            }
        )
    if zero_report_exists(village=village, month=month):
        raise ValidationError({"month": _("%s本月已经报告过。") % village.name})
    report = ZeroReport(village=village, month=month, note=(note or "").strip(), reported_by=actor)
    report._history_user = actor
    report.full_clean(exclude=["village", "reported_by"])
    save_or_refuse(instance=report)
    return report


@transaction.atomic
def zero_report_delete(*, actor, report: ZeroReport) -> None:
    _check_writer(actor)
    _place(actor=actor, village=report.village)
    report._history_user = actor
    report.delete()


# ----- 三零 units -----

UNIT_FIELDS = (
    "name",
    "unit_type",
    "credit_code",
    "contact_name",
    "contact_phone",
    "year_from",
    "year_to",
)


def _check_unit_writer(actor, township) -> None:
    if not units_can_manage(user=actor):
        raise PermissionDenied(_("只有市级管理员和县级干部可以维护三零单位名册。"))
    if not ledger_can_write(user=actor, township=township):
        raise Http404(NOT_IN_SCOPE)


@transaction.atomic
def unit_create(*, actor, township=None, village=None, **fields) -> ThreeZeroUnit:
    if village is not None:
        if not village_list_for_user(user=actor).filter(pk=village.pk).exists():
            raise Http404(NOT_IN_SCOPE)
        if township is not None and township.pk != village.township_id:
            raise ValidationError({"village": _("村(社区)不在所选乡镇(街道)。")})
        township = village.township
    if township is None:
        raise ValidationError({"township": _("请选择所在乡镇(街道)。")})
    _check_unit_writer(actor, township)
    unit = ThreeZeroUnit(township=township, village=village)
    _apply(unit, fields, UNIT_FIELDS)
    unit.full_clean(exclude=["village"])
    unit._history_user = actor
    save_or_refuse(instance=unit)
    _schedule({(unit.year_from, "unit", unit.pk)})
    return unit


@transaction.atomic
def unit_update(*, actor, unit: ThreeZeroUnit, **fields) -> ThreeZeroUnit:
    unit = ThreeZeroUnit.objects.select_for_update(of=("self",)).get(pk=unit.pk)
    _check_unit_writer(actor, unit.township)
    if "village" in fields or "township" in fields:
        village = fields.pop("village", unit.village)
        township = fields.pop("township", None) or (village.township if village else unit.township)
        if village is not None and village.township_id != township.pk:
            raise ValidationError({"village": _("村(社区)不在所选乡镇(街道)。")})
        if (
            village is not None
            and not village_list_for_user(user=actor).filter(pk=village.pk).exists()
        ):
            raise Http404(NOT_IN_SCOPE)
        _check_unit_writer(actor, township)
        unit.township, unit.village = township, village
    _apply(unit, fields, UNIT_FIELDS)
    unit.full_clean(exclude=["village"])
    unit._history_user = actor
    unit.save()
    return unit
