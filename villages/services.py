"""Writes. Keyword-only, `actor=` first, atomic, and audited (django-simple-history rows
carry the actor as `history_user`)."""

from __future__ import annotations

import datetime
import logging
from dataclasses import dataclass
from dataclasses import field as dc_field
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

import villages.import_kinds as _import_kinds  # noqa: F401  (registers the sheets)
from core import jobs
from core.exports import EXPORT_KINDS
from core.importing.bulk import create_with_history, update_with_history
from core.models import ExportJob, ImportJob
from villages.models import (
    Assignment,
    AssignmentProposal,
    Cadre,
    County,
    LocationProposal,
    LocationSource,
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
    location_can_decide,
    scope_for_user,
    user_can_write_area,
)
from villages.years import steps as year_steps

logger = logging.getLogger(__name__)


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


# ----- imports and exports: who may run them (core.jobs runs them) -----


def import_scope_county(actor) -> County | None:
    """City admins import city-wide (None); county officials for their own county only."""
    scope = scope_for_user(actor)
    if scope.role == UserRole.Role.CITY_ADMIN:
        return None
    if scope.role == UserRole.Role.COUNTY_OFFICIAL:
        return County.objects.get(pk=scope.county_id)
    raise PermissionDenied(_("只有市级管理员和县级干部可以导入数据。"))


def _check_owner(actor, job: ImportJob) -> None:
    if job.user_id != actor.pk and scope_for_user(actor).role != UserRole.Role.CITY_ADMIN:
        raise PermissionDenied(_("只能处理自己上传的导入。"))


def export_job_create(*, actor, kind: str, params: dict | None = None) -> ExportJob:
    """Queue an Excel export of what `actor` may see (any role; none, no export)."""
    if kind in EXPORT_KINDS and scope_for_user(actor).role is None:
        raise PermissionDenied(_("您的账号尚未分配角色，不能导出。"))
    return jobs.export_job_create(actor=actor, kind=kind, params=params)


def import_job_create(*, actor, kind: str, upload, valid_only: bool = False) -> ImportJob:
    """Store the upload and queue its validation, in the actor's area."""
    return jobs.import_job_create(
        actor=actor,
        county=import_scope_county(actor),
        kind=kind,
        upload=upload,
        valid_only=valid_only,
    )


def import_job_confirm(*, actor, job: ImportJob, valid_only: bool = False) -> ImportJob:
    _check_owner(actor, job)
    return jobs.import_job_confirm(actor=actor, job=job, valid_only=valid_only)


def import_job_cancel(*, actor, job: ImportJob) -> ImportJob:
    _check_owner(actor, job)
    return jobs.import_job_cancel(actor=actor, job=job)


def import_job_retry(*, actor, job: ImportJob) -> ImportJob:
    _check_owner(actor, job)
    return jobs.import_job_retry(actor=actor, county=import_scope_county(actor), job=job)


def import_preview(*, actor, kind: str, data: bytes, filename: str):
    """Check and diff a file in the actor's area, recording and writing nothing."""
    county = import_scope_county(actor)
    return jobs.import_preview(actor=actor, county=county, kind=kind, data=data, filename=filename)


def import_job_run_now(
    *, actor, kind: str, upload, dry_run: bool = False, valid_only: bool = False
) -> ImportJob:
    """Validate and commit in this process (the management command, the Django admin);
    `actor=None` means the system, city-wide."""
    return jobs.import_job_run_now(
        actor=actor,
        county=None if actor is None else import_scope_county(actor),
        kind=kind,
        upload=upload,
        dry_run=dry_run,
        valid_only=valid_only,
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


# ----- village locations -----


def location_min_fixes() -> int:
    return max(1, int(getattr(settings, "VILLAGE_LOCATION_MIN_FIXES", 5)))


@transaction.atomic
def location_proposal_store(
    *, village_id: int, latitude: float, longitude: float, fixes: int
) -> LocationProposal | None:
    """Keep the coordinate learned for a village without one (the system's write: the
    nightly task and the 重新推算 button call it through visits). A pending proposal is
    brought up to date; a rejected one is proposed again only once at least
    VILLAGE_LOCATION_MIN_FIXES more fixes have come in since. None when nothing is kept."""
    village = Village.objects.select_for_update().filter(pk=village_id).first()
    if village is None or village.latitude is not None or fixes < location_min_fixes():
        return None
    q = Decimal("0.000001")
    lat, lon = Decimal(f"{latitude:.6f}").quantize(q), Decimal(f"{longitude:.6f}").quantize(q)
    proposal = LocationProposal.objects.filter(village=village).first()
    if proposal is None:
        proposal = LocationProposal(village=village)
    elif proposal.decision == LocationProposal.Decision.REJECTED:
        if fixes < proposal.fixes + location_min_fixes():
            return None
    elif (proposal.latitude, proposal.longitude, proposal.fixes) == (lat, lon, fixes):
        return proposal
    proposal.latitude, proposal.longitude, proposal.fixes = lat, lon, fixes
    proposal.computed_at = timezone.now()
    proposal.decision = LocationProposal.Decision.PENDING
    proposal.decided_by, proposal.decided_at = None, None
    proposal.full_clean(exclude=["village"])
    proposal.save()
    return proposal


def _check_location_decider(actor, village: Village) -> None:
    if not location_can_decide(actor, village):
        raise PermissionDenied(_("只有本乡镇、本县或市级管理员可以确认村庄位置。"))


def _pending(proposal: LocationProposal | None) -> LocationProposal:
    if proposal is None or proposal.decision != LocationProposal.Decision.PENDING:
        raise ValidationError(_("该村(社区)没有待确认的推算位置。"))
    if proposal.village.latitude is not None:
        raise ValidationError(_("该村(社区)已有坐标，推算位置不再适用。"))
    return proposal


@transaction.atomic
def location_proposal_confirm(*, actor, village: Village) -> Village:
    """Write the learned coordinate onto the village (source 人工确认), audited in the
    village's history with the actor."""
    _check_location_decider(actor, village)
    village = Village.objects.select_for_update().select_related("township").get(pk=village.pk)
    proposal = _pending(LocationProposal.objects.filter(village=village).first())
    proposal.village = village
    village.latitude, village.longitude = proposal.latitude, proposal.longitude
    village.location_source = LocationSource.CONFIRMED
    village._history_user = actor
    village._change_reason = f"确认走访推算位置（{proposal.fixes} 次定位的中位数）"
    village.save(update_fields=["latitude", "longitude", "location_source"])
    proposal.decision = LocationProposal.Decision.CONFIRMED
    proposal.decided_by, proposal.decided_at = actor, timezone.now()
    proposal.save(update_fields=["decision", "decided_by", "decided_at"])
    return village


@transaction.atomic
def location_proposal_reject(*, actor, village: Village) -> LocationProposal:
    """Set the learned coordinate aside; it comes back only with more fixes."""
    _check_location_decider(actor, village)
    # the village first, as confirm and the learning do: a proposal stored meanwhile
    # cannot overwrite this decision
    Village.objects.select_for_update().filter(pk=village.pk).first()
    proposal = _pending(
        LocationProposal.objects.select_for_update()
        .select_related("village")
        .filter(village_id=village.pk)
        .first()
    )
    proposal.decision = LocationProposal.Decision.REJECTED
    proposal.decided_by, proposal.decided_at = actor, timezone.now()
    proposal.save(update_fields=["decision", "decided_by", "decided_at"])
    return proposal
