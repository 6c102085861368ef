"""Writes for 五星支部: keyword-only, `actor=` first, atomic, audited (history rows, and each
award's chain of steps in StarAwardEvent).

The chain: 申报 and 乡镇初审 by the branch's township official; 县级评定, 公示 and 授星
by its county official (授星 once the 公示 period has passed); 摘星 by that county
official or a city admin. A step out of order is a ValidationError; a step by the wrong
role or area is PermissionDenied. Nothing of a locked year changes.
"""

from __future__ import annotations

import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from core.services import save_or_refuse
from stars.models import (
    RatingYear,
    StarAward,
    StarAwardEvent,
    StarSettings,
    StarTask,
    StarTaskCheck,
    StarType,
    WeakBranchCase,
    WeakReason,
)
from stars.selectors import (
    award_find,
    award_rated_on,
    branch_scheme,
    can_accept_weak,
    can_apply,
    can_county_act,
    can_identify_weak,
    can_lock_years,
    can_tick_tasks,
    can_withdraw,
    holds_foundation,
    publicity_over,
    weak_case_exists,
    year_locked,
)
from villages.models import Branch, Roster

S = StarAward.State
Step = StarAwardEvent.Step


def _check_unlocked(year: int) -> None:
    if year_locked(year):
        raise ValidationError(
            _("%(year)s年度评定已锁定，如需修改请市级管理员先解锁。") % {"year": year}
        )


def _event(award: StarAward, *, step: str, actor, comment: str = "", at=None) -> None:
    event = StarAwardEvent(
        award=award, step=step, actor=actor, comment=(comment or "")[:500], at=at or timezone.now()
    )
    event._history_user = actor
    event.save()


def _save(award: StarAward, actor, fields: list[str]) -> None:
    award._history_user = actor
    award.save(update_fields=[*fields, "updated_at"])


def _locked_award(award: StarAward) -> StarAward:
    return (
        StarAward.objects.select_for_update(of=("self",))
        .select_related("branch__township", "star_type")
        .get(pk=award.pk)
    )


def _out_of_order(award: StarAward, step: str) -> ValidationError:
    return ValidationError(
        _("该申报当前为“%(state)s”，不能进行“%(step)s”。")
        % {"state": award.get_state_display(), "step": Step(step).label}
    )


# ----- settings and the yearly lock -----


@transaction.atomic
def star_settings_update(*, actor, foundation_required: bool, publicity_days: int) -> StarSettings:
    if not can_lock_years(actor):
        raise PermissionDenied(_("只有市级管理员可以修改五星支部规则。"))
    obj = StarSettings.objects.select_for_update().filter(pk=1).first() or StarSettings(pk=1)
    obj.foundation_required = bool(foundation_required)
    obj.publicity_days = publicity_days
    obj.full_clean()
    obj._history_user = actor
    obj.save()
    return obj


def _city_admin_only(actor, what: str) -> None:
    if not can_lock_years(actor):
        raise PermissionDenied(_("只有市级管理员可以修改%(what)s。") % {"what": what})


@transaction.atomic
def star_type_save(*, actor, star_type: StarType) -> StarType:
    """Create or change a star type (data, edited by city admins). A scheme has at most
    one foundation star (支部过硬星)."""
    _city_admin_only(actor, _("星级类型"))
    star_type.full_clean()
    if (
        star_type.is_foundation
        and StarType.objects.filter(scheme=star_type.scheme, is_foundation=True)
        .exclude(pk=star_type.pk)
        .exists()
    ):
        raise ValidationError(
            {"is_foundation": _("同一方案只能有一颗基础星，请先取消原来的基础星。")}
        )
    star_type._history_user = actor
    star_type.save()
    return star_type


@transaction.atomic
def star_task_save(*, actor, task: StarTask) -> StarTask:
    _city_admin_only(actor, _("重点任务"))
    task.full_clean()
    task._history_user = actor
    task.save()
    return task


@transaction.atomic
def star_task_delete(*, actor, task: StarTask) -> None:
    """A key task that branches have already filled in stays (its evidence would go with
    it); rename it instead."""
    _city_admin_only(actor, _("重点任务"))
    if StarTaskCheck.objects.filter(task=task).exists():
        raise ValidationError(
            _("重点任务“%(t)s”已有党组织填报，不能删除，可修改其名称。") % {"t": task.title}
        )
    task._history_user = actor
    task.delete()


@transaction.atomic
def rating_year_lock(*, actor, year: int, note: str = "") -> RatingYear:
    if not can_lock_years(actor):
        raise PermissionDenied(_("只有市级管理员可以锁定年度评定。"))
    if not Roster.objects.filter(year=year).exists():
        raise ValidationError({"year": _("%(year)s年度没有名册。") % {"year": year}})
    record = RatingYear.objects.select_for_update().filter(year=year).first() or RatingYear(
        year=year
    )
    if record.locked:
        raise ValidationError(_("%(year)s年度评定已经锁定。") % {"year": year})
    record.locked, record.locked_at, record.locked_by = True, timezone.now(), actor
    record.note = (note or "").strip()[:200]
    record._history_user = actor
    record.save()
    return record


@transaction.atomic
def rating_year_unlock(*, actor, year: int, reason: str) -> RatingYear:
    if not can_lock_years(actor):
        raise PermissionDenied(_("只有市级管理员可以解锁年度评定。"))
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": _("解锁时请写明原因。")})
    record = RatingYear.objects.select_for_update().filter(year=year, locked=True).first()
    if record is None:
        raise ValidationError(_("%(year)s年度评定没有锁定。") % {"year": year})
    record.locked, record.locked_at, record.locked_by = False, None, None
    record.note = _("解锁：%(reason)s") % {"reason": reason[:190]}
    record._history_user = actor
    record.save()
    return record


# ----- the award chain -----


@transaction.atomic
def award_apply(
    *, actor, branch: Branch, year: int, star_type: StarType, comment: str = ""
) -> StarAward:
    """申报 (by the township official on the branch's behalf); a 未通过 star may be
    declared again."""
    if not can_apply(actor, branch):
        raise PermissionDenied(_("只有党组织所在乡镇(街道)的干部可以申报。"))
    _check_unlocked(year)
    scheme = branch_scheme(branch=branch, year=year)
    if scheme is None:
        raise ValidationError(
            _("%(branch)s不在%(year)s年度名册中，不能申报。") % {"branch": branch, "year": year}
        )
    if star_type.scheme != scheme:
        raise ValidationError(
            {
                "star_type": _("“%(star)s”不适用于%(branch)s（%(scheme)s）。")
                % {
                    "star": star_type,
                    "branch": branch,
                    "scheme": "城市社区" if scheme == "urban" else "农村",
                }
            }
        )
    award = award_find(branch=branch, year=year, star_type=star_type, lock=True)
    if award is not None and award.state != S.REJECTED:
        raise ValidationError(
            _("%(star)s本年度已申报（当前：%(state)s）。")
            % {"star": star_type.name, "state": award.get_state_display()}
        )
    if award is None:
        award = StarAward(branch=branch, year=year, star_type=star_type, state=S.APPLIED)
        award._history_user = actor
        save_or_refuse(instance=award)
    else:
        award.state = S.APPLIED
        award.publicity_start = award.publicity_end = None
        _save(award, actor, ["state", "publicity_start", "publicity_end"])
    _event(award, step=Step.APPLY, actor=actor, comment=comment)
    return award


def _advance(*, actor, award: StarAward, step: str, allowed, from_state, to_state):
    award = _locked_award(award)
    if not allowed(actor, award.branch):
        raise PermissionDenied(
            _("您不能对该党组织进行“%(step)s”：不是您的角色或辖区。") % {"step": Step(step).label}
        )
    _check_unlocked(award.year)
    if award.state != from_state:
        raise _out_of_order(award, step)
    award.state = to_state
    return award


@transaction.atomic
def award_township_review(*, actor, award: StarAward, comment: str = "") -> StarAward:
    """乡镇初审 passed: on to the county."""
    award = _advance(
        actor=actor,
        award=award,
        step=Step.TOWNSHIP_REVIEW,
        allowed=can_apply,
        from_state=S.APPLIED,
        to_state=S.TOWNSHIP_APPROVED,
    )
    _save(award, actor, ["state"])
    _event(award, step=Step.TOWNSHIP_REVIEW, actor=actor, comment=comment)
    return award


@transaction.atomic
def award_county_rate(*, actor, award: StarAward, comment: str = "") -> StarAward:
    """县级评定 passed: ready to be published."""
    award = _advance(
        actor=actor,
        award=award,
        step=Step.COUNTY_RATE,
        allowed=can_county_act,
        from_state=S.TOWNSHIP_APPROVED,
        to_state=S.COUNTY_RATED,
    )
    _save(award, actor, ["state"])
    _event(award, step=Step.COUNTY_RATE, actor=actor, comment=comment)
    return award


def _check_publicity_start(award: StarAward, start: datetime.date, today: datetime.date) -> None:
    """A 公示 starts the day it is recorded: not later (it is recorded when it begins), not
    earlier (a backdated start would shorten the period before 授星), and never before the
    县级评定 it publishes."""
    errors = []
    if start < today:
        errors.append(
            _(
                "公示开始日期 %(start)s 早于今天（%(today)s）：公示期从办理公示的当天算起，"
                "不能补记为过去的日期。"
            )
            % {"start": start.isoformat(), "today": today.isoformat()}
        )
    if start > today:
        errors.append(
            _("公示开始日期 %(start)s 晚于今天（%(today)s）：请在公示开始当天办理。")
            % {"start": start.isoformat(), "today": today.isoformat()}
        )
    rated_on = award_rated_on(award)
    if rated_on is not None and start < rated_on:
        errors.append(
            _("公示开始日期 %(start)s 早于县级评定日期 %(rated)s：须先评定、后公示。")
            % {"start": start.isoformat(), "rated": rated_on.isoformat()}
        )
    if errors:
        raise ValidationError({"start": errors})


@transaction.atomic
def award_publicize(
    *, actor, award: StarAward, comment: str = "", start: datetime.date | None = None
) -> StarAward:
    """公示 from today (`start`, when given, must be today and not before the 县级评定)
    for the configured number of days."""
    award = _advance(
        actor=actor,
        award=award,
        step=Step.PUBLICIZE,
        allowed=can_county_act,
        from_state=S.COUNTY_RATED,
        to_state=S.PUBLICIZED,
    )
    today = timezone.localdate()
    start = start or today
    _check_publicity_start(award, start, today)
    days = StarSettings.current().publicity_days
    award.publicity_start = start
    award.publicity_end = start + datetime.timedelta(days=days)
    _save(award, actor, ["state", "publicity_start", "publicity_end"])
    text = comment or _("公示期 %(days)s 天，至 %(end)s") % {
        "days": days,
        "end": award.publicity_end.isoformat(),
    }
    _event(award, step=Step.PUBLICIZE, actor=actor, comment=text)
    return award


@transaction.atomic
def award_grant(*, actor, award: StarAward, comment: str = "") -> StarAward:
    """授星, once the 公示 period has passed; with the foundation switch on, a branch
    must already hold 支部过硬星 for any other star."""
    award = _advance(
        actor=actor,
        award=award,
        step=Step.AWARD,
        allowed=can_county_act,
        from_state=S.PUBLICIZED,
        to_state=S.AWARDED,
    )
    if not publicity_over(award):
        today = timezone.localdate()
        if award.publicity_end is None:
            raise ValidationError(_("该申报没有公示日期，须先公示、期满后才能授星。"))
        raise ValidationError(
            _(
                "公示期自 %(start)s 起，至 %(end)s 截止，期满后才能授星"
                "（今天是 %(today)s，%(end)s 起可以授星）。"
            )
            % {
                "start": award.publicity_start.isoformat() if award.publicity_start else "—",
                "end": award.publicity_end.isoformat(),
                "today": today.isoformat(),
            }
        )
    settings = StarSettings.current()
    if (
        settings.foundation_required
        and not award.star_type.is_foundation
        and not holds_foundation(branch_id=award.branch_id, year=award.year)
    ):
        raise ValidationError(
            _("%(branch)s本年度尚未获得支部过硬星（基础星），不能授予%(star)s。")
            % {"branch": award.branch, "star": award.star_type.name}
        )
    award.awarded_on = timezone.localdate()
    _save(award, actor, ["state", "awarded_on"])
    _event(award, step=Step.AWARD, actor=actor, comment=comment)
    return award


@transaction.atomic
def award_reject(*, actor, award: StarAward, comment: str) -> StarAward:
    """不予通过 at 乡镇初审 (township) or at 县级评定 / 公示 (county); a reason is required."""
    comment = (comment or "").strip()
    award = _locked_award(award)
    if award.state == S.APPLIED:
        allowed = can_apply(actor, award.branch)
    elif award.state in (S.TOWNSHIP_APPROVED, S.COUNTY_RATED, S.PUBLICIZED):
        allowed = can_county_act(actor, award.branch)
    else:
        raise _out_of_order(award, Step.REJECT)
    if not allowed:
        raise PermissionDenied(_("您不能在这一环节对该申报作出决定：不是您的角色或辖区。"))
    _check_unlocked(award.year)
    if not comment:
        raise ValidationError({"comment": _("不予通过时请写明原因。")})
    award.state = S.REJECTED
    _save(award, actor, ["state"])
    _event(award, step=Step.REJECT, actor=actor, comment=comment)
    return award


@transaction.atomic
def award_withdraw(*, actor, award: StarAward, reason: str) -> list[StarAward]:
    """摘星 with a reason. With the foundation switch on, withdrawing 支部过硬星 also
    withdraws the branch's other stars of that year (they rest on it). Returns every
    award withdrawn."""
    reason = (reason or "").strip()
    award = _locked_award(award)
    if not can_withdraw(actor, award.branch):
        raise PermissionDenied(_("只有党组织所在县(市、区)的干部或市级管理员可以摘星。"))
    _check_unlocked(award.year)
    if award.state != S.AWARDED:
        raise _out_of_order(award, Step.WITHDRAW)
    if not reason:
        raise ValidationError({"reason": _("摘星必须写明原因。")})
    targets = [award]
    if award.star_type.is_foundation and StarSettings.current().foundation_required:
        targets += list(
            StarAward.objects.select_for_update(of=("self",))
            .filter(branch_id=award.branch_id, year=award.year, state=S.AWARDED)
            .exclude(pk=award.pk)
        )
    today = timezone.localdate()
    for target in targets:
        target.state, target.withdrawn_reason, target.withdrawn_on = (
            S.WITHDRAWN,
            reason[:500],
            today,
        )
        _save(target, actor, ["state", "withdrawn_reason", "withdrawn_on"])
        note = reason if target is award else _("基础星被摘，随之摘星：%(r)s") % {"r": reason}
        _event(target, step=Step.WITHDRAW, actor=actor, comment=note)
    return targets


BULK_STEPS = {
    Step.TOWNSHIP_REVIEW: award_township_review,
    Step.COUNTY_RATE: award_county_rate,
    Step.PUBLICIZE: award_publicize,
    Step.AWARD: award_grant,
}


@transaction.atomic
def award_step_many(*, actor, awards, step: str, comment: str = "") -> int:
    """One step for several awards, all or nothing: if any of them is refused (wrong
    state, role, area, lock, 公示 not over, no foundation star), none is changed and the
    ValidationError lists every refusal by branch and star. Returns how many were done."""
    if step not in BULK_STEPS:
        raise ValidationError({"step": _("请选择要办理的环节。")})
    awards = list(awards)
    if not awards:
        raise ValidationError({"award": _("请先勾选申报。")})
    failures = []
    for award in awards:
        try:
            BULK_STEPS[step](actor=actor, award=award, comment=comment)
        except (ValidationError, PermissionDenied) as exc:
            text = "；".join(getattr(exc, "messages", None) or [str(exc)])
            failures.append(f"{award.branch.name} {award.star_type.name}：{text}")
    if failures:
        raise ValidationError(
            [_("所选 %(n)s 项均未办理，其中以下各项不能办理：") % {"n": len(awards)}, *failures]
        )
    return len(awards)


# ----- the key-task checklist -----


@transaction.atomic
def task_check_set(
    *, actor, branch: Branch, year: int, task: StarTask, met: bool, evidence: str = ""
) -> StarTaskCheck:
    if not can_tick_tasks(actor, branch):
        raise PermissionDenied(_("只有党组织所在乡镇(街道)、县(市、区)的干部可以填写重点任务。"))
    _check_unlocked(year)
    scheme = branch_scheme(branch=branch, year=year)
    if scheme is None or task.star_type.scheme != scheme:
        raise ValidationError({"task": _("该重点任务不适用于这个党组织。")})
    check = (
        StarTaskCheck.objects.select_for_update()
        .filter(branch=branch, year=year, task=task)
        .first()
    ) or StarTaskCheck(branch=branch, year=year, task=task)
    check.met = bool(met)
    check.evidence = (evidence or "").strip()
    check.updated_by = actor
    check.full_clean(exclude=["branch", "task", "updated_by"])
    check._history_user = actor
    check.save()
    return check


# ----- 软弱涣散 cases -----


def _weak_reasons(reasons) -> list[str]:
    reasons = list(dict.fromkeys(reasons or []))
    if not reasons:
        raise ValidationError({"reasons": _("请至少选择一项认定情形。")})
    unknown = [r for r in reasons if r not in WeakReason.values]
    if unknown:
        raise ValidationError({"reasons": _("未知的认定情形：%s") % "、".join(unknown)})
    return reasons


@transaction.atomic
def weak_case_identify(
    *,
    actor,
    branch: Branch,
    year: int,
    identified_on: datetime.date,
    reasons,
    situation: str = "",
) -> WeakBranchCase:
    if not can_identify_weak(actor, branch):
        raise PermissionDenied(_("只有党组织所在乡镇(街道)、县(市、区)的干部可以认定。"))
    if branch_scheme(branch=branch, year=year) is None:
        raise ValidationError(
            {"branch": _("%(branch)s不在%(year)s年度名册中。") % {"branch": branch, "year": year}}
        )
    if identified_on > timezone.localdate():
        raise ValidationError({"identified_on": _("认定日期不能晚于今天。")})
    if identified_on.year != year:
        raise ValidationError({"identified_on": _("认定日期须在所填年度内。")})
    if weak_case_exists(branch=branch, year=year):
        raise ValidationError({"branch": _("该党组织本年度已被认定为软弱涣散，请在原记录上整顿。")})
    case = WeakBranchCase(
        branch=branch,
        year=year,
        identified_on=identified_on,
        reasons=_weak_reasons(reasons),
        situation=(situation or "").strip(),
        created_by=actor,
    )
    case.full_clean(exclude=["branch", "created_by"])
    case._history_user = actor
    save_or_refuse(instance=case)
    return case


def _locked_case(case: WeakBranchCase) -> WeakBranchCase:
    return (
        WeakBranchCase.objects.select_for_update(of=("self",))
        .select_related("branch__township")
        .get(pk=case.pk)
    )


@transaction.atomic
def weak_case_rectify(
    *, actor, case: WeakBranchCase, plan: str, responsible_leader: str, first_secretary: str
) -> WeakBranchCase:
    """Record (or update) the 整顿 plan: the case is then 整顿中."""
    case = _locked_case(case)
    if not can_identify_weak(actor, case.branch):
        raise PermissionDenied(_("只有党组织所在乡镇(街道)、县(市、区)的干部可以制定整顿方案。"))
    if case.status == WeakBranchCase.Status.ACCEPTED:
        raise ValidationError(_("该党组织已销号；如需继续整顿，请先重新整顿。"))
    errors = {}
    plan, leader, secretary = (
        (plan or "").strip(),
        (responsible_leader or "").strip(),
        (first_secretary or "").strip(),
    )
    if not plan:
        errors["rectification_plan"] = [_("请填写整顿方案。")]
    if not leader:
        errors["responsible_leader"] = [_("请填写包村领导。")]
    if not secretary:
        errors["first_secretary"] = [_("请填写第一书记或工作队。")]
    if errors:
        raise ValidationError(errors)
    case.rectification_plan, case.responsible_leader, case.first_secretary = plan, leader, secretary
    case.status = WeakBranchCase.Status.RECTIFYING
    case.full_clean(exclude=["branch", "created_by"])
    case._history_user = actor
    case.save()
    return case


@transaction.atomic
def weak_case_accept(
    *, actor, case: WeakBranchCase, accepted_on: datetime.date, note: str = ""
) -> WeakBranchCase:
    """验收销号 (county official or city admin), once a 整顿 plan is under way."""
    case = _locked_case(case)
    if not can_accept_weak(actor, case.branch):
        raise PermissionDenied(_("只有党组织所在县(市、区)的干部或市级管理员可以验收销号。"))
    if case.status not in (WeakBranchCase.Status.RECTIFYING, WeakBranchCase.Status.REOPENED):
        raise ValidationError(
            _("该记录当前为“%(s)s”，须先制定整顿方案、开始整顿后才能销号。")
            % {"s": case.get_status_display()}
        )
    if not case.rectification_plan:
        raise ValidationError(_("该记录没有整顿方案，不能销号。"))
    if accepted_on > timezone.localdate() or accepted_on < case.identified_on:
        raise ValidationError({"accepted_on": _("销号日期须在认定日期之后、今天之前。")})
    case.status, case.accepted_on = WeakBranchCase.Status.ACCEPTED, accepted_on
    case.acceptance_note = (note or "").strip()[:500]
    case._history_user = actor
    case.save()
    return case


@transaction.atomic
def weak_case_reopen(*, actor, case: WeakBranchCase, reason: str) -> WeakBranchCase:
    """A 销号 case found short of the standard goes back to 整顿."""
    case = _locked_case(case)
    if not can_accept_weak(actor, case.branch):
        raise PermissionDenied(_("只有党组织所在县(市、区)的干部或市级管理员可以重新整顿。"))
    if case.status != WeakBranchCase.Status.ACCEPTED:
        raise ValidationError(_("只有已销号的记录可以重新整顿。"))
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reopen_reason": _("请写明重新整顿的原因。")})
    case.status, case.accepted_on = WeakBranchCase.Status.REOPENED, None
    case.reopen_reason = reason[:500]
    case._history_user = actor
    case.save()
    return case
