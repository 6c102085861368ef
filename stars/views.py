"""五星支部 pages. Thin: shape in, selector or service, template out. Every object is
fetched through the scoped selectors (another area's object is a 404)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views import View

from core.paging import querystring_without_page
from stars import forms, selectors, services
from stars.exports import board_filters
from stars.models import Scheme, StarAward, StarAwardEvent, WeakBranchCase
from villages.selectors import (
    branch_list_for_user,
    county_list_for_user,
    scope_for_user,
    township_list_for_user,
)

Step = StarAwardEvent.Step
BOARD_PAGE_SIZE = 100
STEP_SERVICES = {
    Step.TOWNSHIP_REVIEW: services.award_township_review,
    Step.COUNTY_RATE: services.award_county_rate,
    Step.AWARD: services.award_grant,
}
STEP_DONE = {
    Step.APPLY: "已申报",
    Step.TOWNSHIP_REVIEW: "乡镇初审已通过",
    Step.COUNTY_RATE: "县级评定已通过",
    Step.PUBLICIZE: "已公示",
    Step.AWARD: "已授星",
    Step.REJECT: "已作不予通过处理",
    Step.WITHDRAW: "已摘星",
}


def _error_text(exc) -> str:
    return "；".join(getattr(exc, "messages", [str(exc)]))


def _form_error_text(form) -> str:
    """A form's errors as one Chinese line, each naming its field."""
    parts = []
    for field, errors in form.errors.items():
        label = form.fields[field].label if field in form.fields else ""
        parts += [f"{label}：{e}" if label else str(e) for e in errors]
    return "；".join(parts)


def _safe_next(request, default: str) -> str:
    target = request.POST.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default


def _year(request) -> int:
    years = selectors.roster_year_list()
    raw = request.GET.get("year", "")
    if raw.isdigit() and int(raw) in years:
        return int(raw)
    return selectors.default_star_year()


def _signed_in_with_role(request):
    scope = scope_for_user(request.user)
    if scope.role is None:
        raise PermissionDenied("您的账号尚未分配角色，看不到五星支部数据。")
    return scope


# ----- distribution of levels -----


class LevelOverviewView(LoginRequiredMixin, View):
    template_name = "stars/levels.html"

    def get(self, request):
        scope = _signed_in_with_role(request)
        year = _year(request)
        county = None
        raw = request.GET.get("county", "")
        if raw:
            if not raw.isdigit():
                raise Http404("没有这个县(市、区)。")
            county = get_object_or_404(county_list_for_user(user=request.user), pk=raw)
        overview = selectors.level_overview_for_user(
            user=request.user, year=year, county_id=county.pk if county and scope.is_city else None
        )
        rows = overview["rows"]
        ctx = {
            "year": year,
            "years": selectors.roster_year_list(),
            "county": county,
            "overview": overview,
            "levels": selectors.LEVELS,
            "chart": {
                "labels": [r["name"] for r in rows],
                "unit": "个",
                "series": [
                    {
                        "name": f"{lv}星" if lv else "未获星",
                        "data": [r["counts"][lv] for r in rows],
                        "color": color,
                    }
                    for lv, color in zip(
                        selectors.LEVELS,
                        ("#bdbdbd", "#90caf9", "#4fc3f7", "#ffb74d", "#ef6c00", "#b71c1c"),
                        strict=True,
                    )
                ],
                "rate": {
                    "name": "三星及以上占比",
                    "data": [r["three_plus_percent"] or 0 for r in rows],
                },
            },
            "locked": selectors.year_locked(year),
            "pending": sum(selectors.pending_counts(user=request.user, year=year).values())
            if scope.is_official
            else 0,
        }
        return render(request, self.template_name, ctx)


# ----- the rating board -----


class BoardView(LoginRequiredMixin, View):
    """Villages × stars for the user's area in one year, filtered, paginated."""

    template_name = "stars/board.html"

    def get(self, request):
        scope = _signed_in_with_role(request)
        params = request.GET.copy()
        params.setdefault("scheme", Scheme.RURAL)
        try:
            filters = board_filters(params)
        except ValidationError as exc:
            messages.error(request, _error_text(exc))
            filters = board_filters(
                {"scheme": params["scheme"] if params["scheme"] in Scheme.values else Scheme.RURAL}
            )
        selectors.board_areas_visible_or_404(
            user=request.user, county_id=filters["county_id"], township_id=filters["township_id"]
        )
        year, scheme = filters["year"], filters["scheme"]
        entries = selectors.board_entries_for_user(user=request.user, **filters)
        page = Paginator(entries, BOARD_PAGE_SIZE).get_page(request.GET.get("page"))
        rows = list(page.object_list)
        stars = selectors.star_types_by_scheme().get(scheme, [])
        awards = selectors.awards_by_branch(branch_ids={e.branch_id for e in rows}, year=year)
        table = [
            {
                "entry": e,
                "cells": [awards.get(e.branch_id, {}).get(s.pk) for s in stars],
            }
            for e in rows
        ]
        townships = township_list_for_user(user=request.user).order_by("code")
        if filters["county_id"] is not None:
            townships = townships.filter(county_id=filters["county_id"])
        export_params = {k: v for k, v in filters.items() if v is not None}
        for key, name in (("county_id", "county"), ("township_id", "township")):
            if key in export_params:
                export_params[name] = export_params.pop(key)
        ctx = {
            "year": year,
            "years": selectors.roster_year_list(),
            "filters": filters,
            "scheme_choices": Scheme.choices,
            "stars": stars,
            "table": table,
            "page": page,
            "total": page.paginator.count,
            "counties": county_list_for_user(user=request.user).order_by("code")
            if scope.is_city
            else [],
            "townships": townships if not scope.is_cadre else [],
            "levels": selectors.LEVELS,
            "querystring": querystring_without_page(request),
            "export_params": export_params,
            "State": StarAward.State,
        }
        return render(request, self.template_name, ctx)


# ----- 待我审核 -----


class ReviewListView(LoginRequiredMixin, View):
    template_name = "stars/review.html"

    def get(self, request):
        scope = scope_for_user(request.user)
        if not (scope.is_official or scope.is_city):
            raise PermissionDenied("只有乡镇(街道)、县(市、区)和市级干部有待审核的星级申报。")
        year = _year(request)
        pending = selectors.pending_for_user(user=request.user, year=year).order_by(
            "state", "branch__township__code", "branch__code", "star_type__order"
        )
        state = request.GET.get("state", "")
        if state in StarAward.State.values:
            pending = pending.filter(state=state)
        page = Paginator(pending, 100).get_page(request.GET.get("page"))
        items = [
            {
                "award": a,
                "actions": selectors.award_actions(user=request.user, award=a, locked=False),
            }
            for a in page.object_list
        ]
        ctx = {
            "year": year,
            "years": selectors.roster_year_list(),
            "items": items,
            "page": page,
            "counts": selectors.pending_counts(user=request.user, year=year),
            "state": state,
            "states": [(s, StarAward.State(s).label) for s in StarAward.IN_PROGRESS],
            "querystring": querystring_without_page(request),
            "bulk_steps": [
                (Step.TOWNSHIP_REVIEW, "乡镇初审通过"),
                (Step.COUNTY_RATE, "县级评定通过"),
                (Step.PUBLICIZE, "公示"),
                (Step.AWARD, "授星"),
            ],
            "today": timezone.localdate(),
            "locked": selectors.year_locked(year),
        }
        return render(request, self.template_name, ctx)


class ReviewBulkView(LoginRequiredMixin, View):
    """One step for several selected awards, all or nothing (stars.services.award_step_many).
    An award that does not exist or is outside the user's area makes the whole request a
    404."""

    def post(self, request):
        step = request.POST.get("step", "")
        back = _safe_next(request, reverse("stars:review"))
        ids = {int(v) for v in request.POST.getlist("award") if v.isdigit()}
        awards = list(selectors.award_list_for_user(user=request.user).filter(pk__in=ids))
        if len(awards) != len(ids):
            raise Http404("所选申报不存在，或不在您的辖区。")
        comment = request.POST.get("comment", "")
        try:
            done = services.award_step_many(
                actor=request.user, awards=awards, step=step, comment=comment
            )
        except ValidationError as exc:
            for text in exc.messages[:11]:
                messages.error(request, text)
        else:
            messages.success(request, f"{Step(step).label}：已办理 {done} 项。")
        return redirect(back)


# ----- the star card -----


class StarCardView(LoginRequiredMixin, View):
    template_name = "stars/card.html"

    def get(self, request, pk):
        branch = selectors.branch_get_for_user(user=request.user, branch_id=pk)
        year = _year(request)
        ctx = selectors.star_card(user=request.user, branch=branch, year=year)
        ctx["years"] = selectors.roster_year_list()
        ctx["Step"] = Step
        ctx["today"] = timezone.localdate()
        ctx["can_withdraw"] = selectors.can_withdraw(request.user, branch)
        return render(request, self.template_name, ctx)


def _card_url(award_or_branch, year) -> str:
    branch_id = getattr(award_or_branch, "branch_id", None) or award_or_branch.pk
    return f"{reverse('stars:card', args=[branch_id])}?year={year}"


class ApplyView(LoginRequiredMixin, View):
    def post(self, request, pk):
        branch = selectors.branch_get_for_user(user=request.user, branch_id=pk)
        form = forms.ApplyForm(request.POST)
        if not form.is_valid():
            messages.error(request, _form_error_text(form))
            return redirect(_card_url(branch, selectors.default_star_year()))
        data = form.cleaned_data
        star_type = get_object_or_404(selectors.star_type_list(), pk=data["star_type"])
        try:
            services.award_apply(
                actor=request.user,
                branch=branch,
                year=data["year"],
                star_type=star_type,
                comment=data["comment"],
            )
        except ValidationError as exc:
            messages.error(request, _error_text(exc))
        else:
            messages.success(request, f"{star_type.name}已申报，等待乡镇初审。")
        return redirect(_safe_next(request, _card_url(branch, data["year"])))


class AwardStepView(LoginRequiredMixin, View):
    """One step on one award: 乡镇初审, 县级评定, 公示, 授星, 不予通过, 摘星."""

    def post(self, request, pk, step):
        award = selectors.award_get_for_user(user=request.user, award_id=pk)
        back = _safe_next(request, _card_url(award, award.year))
        comment = request.POST.get("comment", "")
        try:
            if step in STEP_SERVICES:
                STEP_SERVICES[step](actor=request.user, award=award, comment=comment)
            elif step == Step.PUBLICIZE:
                form = forms.PublicizeForm(request.POST)
                if not form.is_valid():
                    raise ValidationError(_form_error_text(form))
                services.award_publicize(
                    actor=request.user,
                    award=award,
                    comment=form.cleaned_data["comment"],
                    start=form.cleaned_data["start"],
                )
            elif step == Step.REJECT:
                services.award_reject(actor=request.user, award=award, comment=comment)
            elif step == Step.WITHDRAW:
                services.award_withdraw(
                    actor=request.user, award=award, reason=request.POST.get("reason", "")
                )
            else:
                raise Http404("没有这个环节。")
        except ValidationError as exc:
            messages.error(request, _error_text(exc))
        else:
            messages.success(request, f"{award.star_type.name}：{STEP_DONE[step]}。")
        return redirect(back)


class TaskCheckView(LoginRequiredMixin, View):
    def post(self, request, pk, task_id):
        branch = selectors.branch_get_for_user(user=request.user, branch_id=pk)
        task = get_object_or_404(selectors.star_task_list(), pk=task_id)
        form = forms.TaskCheckForm(request.POST)
        if not form.is_valid():
            messages.error(request, _form_error_text(form))
            return redirect(_card_url(branch, selectors.default_star_year()))
        data = form.cleaned_data
        try:
            services.task_check_set(
                actor=request.user,
                branch=branch,
                year=data["year"],
                task=task,
                met=data["met"],
                evidence=data["evidence"],
            )
        except ValidationError as exc:
            messages.error(request, _error_text(exc))
        else:
            messages.success(request, f"已保存：{task.title}")
        return redirect(_card_url(branch, data["year"]) + f"#star-{task.star_type_id}")


# ----- years: lock, unlock, rules -----


class RatingYearView(LoginRequiredMixin, View):
    template_name = "stars/years.html"

    def _context(self, request, **extra):
        current = selectors.star_settings()
        return {
            "years": selectors.rating_year_list(),
            "settings": current,
            "settings_form": extra.get("settings_form")
            or forms.SettingsForm(
                initial={
                    "foundation_required": current.foundation_required,
                    "publicity_days": current.publicity_days,
                }
            ),
            "can_manage": selectors.can_lock_years(request.user),
            "history": list(current.history.select_related("history_user")[:10]),
        }

    def get(self, request):
        _signed_in_with_role(request)
        return render(request, self.template_name, self._context(request))

    def post(self, request):
        if not selectors.can_lock_years(request.user):
            raise PermissionDenied("只有市级管理员可以锁定、解锁年度评定或修改规则。")
        action = request.POST.get("action", "")
        try:
            if action == "lock":
                form = forms.LockForm(request.POST)
                if not form.is_valid():
                    raise ValidationError(_form_error_text(form))
                services.rating_year_lock(actor=request.user, **form.cleaned_data)
                messages.success(request, f"{form.cleaned_data['year']}年度评定已锁定。")
            elif action == "unlock":
                form = forms.UnlockForm(request.POST)
                if not form.is_valid():
                    raise ValidationError(_form_error_text(form))
                services.rating_year_unlock(actor=request.user, **form.cleaned_data)
                messages.success(request, f"{form.cleaned_data['year']}年度评定已解锁。")
            elif action == "settings":
                form = forms.SettingsForm(request.POST)
                if not form.is_valid():
                    return render(
                        request, self.template_name, self._context(request, settings_form=form)
                    )
                services.star_settings_update(actor=request.user, **form.cleaned_data)
                messages.success(request, "五星支部规则已保存。")
            else:
                raise ValidationError("未知的操作。")
        except ValidationError as exc:
            messages.error(request, _error_text(exc))
        return redirect("stars:years")


# ----- 软弱涣散 cases -----


def _weak_workers_only(request):
    if not selectors.user_works_weak_cases(user=request.user):
        raise PermissionDenied("只有市级管理员和县、乡干部可以办理软弱涣散村党组织整顿。")


class WeakCaseListView(LoginRequiredMixin, View):
    template_name = "stars/weak_list.html"

    def get(self, request):
        _signed_in_with_role(request)
        year = _year(request)
        cases = selectors.weak_case_list_for_user(user=request.user).filter(year=year)
        status = request.GET.get("status", "open")
        if status == "open":
            cases = cases.filter(selectors.weak_cases_open_q())
        elif status in WeakBranchCase.Status.values:
            cases = cases.filter(status=status)
        else:
            status = ""
        cases = cases.order_by("identified_on", "branch__code")
        today = timezone.localdate()
        items = [{"case": c, "days": selectors.weak_case_days_open(c, today=today)} for c in cases]
        every = selectors.weak_case_list_for_user(user=request.user).filter(year=year)
        ctx = {
            "year": year,
            "years": selectors.roster_year_list(),
            "items": items,
            "status": status,
            "statuses": WeakBranchCase.Status.choices,
            "open_count": every.filter(selectors.weak_cases_open_q()).count(),
            "total_count": every.count(),
            "accepted_count": every.filter(status=WeakBranchCase.Status.ACCEPTED).count(),
            "can_identify": selectors.user_works_weak_cases(user=request.user),
        }
        return render(request, self.template_name, ctx)


class WeakCaseCreateView(LoginRequiredMixin, View):
    template_name = "stars/weak_form.html"

    def _branches(self, request, year):
        return (
            branch_list_for_user(user=request.user)
            .filter(roster_entries__roster__year=year)
            .distinct()
            .order_by("township__code", "code")
        )

    def get(self, request, form=None):
        _weak_workers_only(request)
        year = _year(request)
        form = form or forms.WeakCaseForm(initial={"year": year})
        ctx = {"form": form, "year": year, "branches": self._branches(request, year)}
        return render(request, self.template_name, ctx)

    def post(self, request):
        _weak_workers_only(request)
        form = forms.WeakCaseForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            branch = branch_list_for_user(user=request.user).filter(pk=data["branch"]).first()
            if branch is None:
                form.add_error("branch", "该党组织不存在，或不在您的辖区。")
            else:
                try:
                    case = services.weak_case_identify(
                        actor=request.user,
                        branch=branch,
                        year=data["year"],
                        identified_on=data["identified_on"],
                        reasons=data["reasons"],
                        situation=data["situation"],
                    )
                except ValidationError as exc:
                    for field, errors in getattr(exc, "message_dict", {None: exc.messages}).items():
                        form.add_error(field if field in form.fields else None, errors)
                else:
                    messages.success(request, f"已认定：{branch.name}")
                    return redirect("stars:weak_detail", pk=case.pk)
        year = form.data.get("year") or selectors.default_star_year()
        year = int(year) if str(year).isdigit() else selectors.default_star_year()
        return render(
            request,
            self.template_name,
            {"form": form, "year": year, "branches": self._branches(request, year)},
        )


class WeakCaseDetailView(LoginRequiredMixin, View):
    template_name = "stars/weak_detail.html"

    def get(self, request, pk, **forms_in):
        case = selectors.weak_case_get_for_user(user=request.user, case_id=pk)
        actions = selectors.weak_case_actions(user=request.user, case=case)
        ctx = {
            "case": case,
            "days": selectors.weak_case_days_open(case),
            "history": selectors.weak_case_history(user=request.user, case=case),
            "can_rectify": "rectify" in actions,
            "can_accept": "accept" in actions,
            "can_reopen": "reopen" in actions,
            "rectify_form": forms_in.get("rectify_form")
            or forms.RectifyForm(
                initial={
                    "plan": case.rectification_plan,
                    "responsible_leader": case.responsible_leader,
                    "first_secretary": case.first_secretary,
                }
            ),
            "accept_form": forms_in.get("accept_form")
            or forms.AcceptForm(initial={"accepted_on": timezone.localdate()}),
            "reopen_form": forms_in.get("reopen_form") or forms.ReopenForm(),
            "today": timezone.localdate(),
        }
        return render(request, self.template_name, ctx)


WEAK_ACTIONS = {
    "rectify": (forms.RectifyForm, services.weak_case_rectify, "rectify_form", "整顿方案已保存。"),
    "accept": (forms.AcceptForm, services.weak_case_accept, "accept_form", "已验收销号。"),
    "reopen": (forms.ReopenForm, services.weak_case_reopen, "reopen_form", "已重新整顿。"),
}


class WeakCaseActionView(LoginRequiredMixin, View):
    def post(self, request, pk, action):
        case = selectors.weak_case_get_for_user(user=request.user, case_id=pk)
        if action not in WEAK_ACTIONS:
            raise Http404("没有这个操作。")
        form_class, service, form_name, done = WEAK_ACTIONS[action]
        form = form_class(request.POST)
        if form.is_valid():
            try:
                service(actor=request.user, case=case, **form.cleaned_data)
            except ValidationError as exc:
                for field, errors in getattr(exc, "message_dict", {None: exc.messages}).items():
                    target = {"rectification_plan": "plan", "reopen_reason": "reason"}.get(
                        field, field
                    )
                    form.add_error(target if target in form.fields else None, errors)
            else:
                messages.success(request, done)
                return redirect("stars:weak_detail", pk=case.pk)
        return WeakCaseDetailView().get(request, pk, **{form_name: form})
