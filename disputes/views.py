"""The 三零 pages. Thin: shape in, selector or service, template out.

The four ledgers share one set of views driven by their declarations (disputes.ledgers);
the unit roster, 零报告 and the yearly status pages have their own.
"""

from __future__ import annotations

import datetime

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views import View

from core.forms import add_service_errors
from core.paging import querystring_without_page
from disputes import selectors, services
from disputes.forms import (
    FILTERS,
    FORMS,
    HANDLE_FORMS,
    OverrideForm,
    UnitFilter,
    UnitForm,
    ZeroReportForm,
)
from disputes.ledgers import LEDGERS, LedgerSpec
from disputes.models import ThreeZeroUnit
from disputes.sanling import rule_for
from villages.selectors import scope_for_user, township_list_for_user, village_get_for_user

PAGE_SIZE = 50


def _roles_only(request) -> None:
    if scope_for_user(request.user).role is None:
        raise PermissionDenied("您的账号尚未分配角色，不能查看三零台账。")


def _writers_only(request) -> None:
    if not selectors.ledger_writer(user=request.user):
        raise PermissionDenied("您的账号只能查看，不能登记或修改记录。")


def _place_options(user) -> dict:
    return {
        "village_options": selectors.village_choices_for_user(user=user),
        "unit_options": selectors.unit_list_for_user(user=user).order_by("township__code", "name"),
    }


def _ledger(key: str) -> LedgerSpec:
    try:
        return LEDGERS[key]
    except KeyError:
        raise Http404("没有这个台账。") from None


def _paginate(request, qs):
    from django.core.paginator import Paginator

    paginator = Paginator(qs, PAGE_SIZE)
    return paginator.get_page(request.GET.get("page"))


def _village_filter_options(request, filterset, valid):
    """Villages to pick from in a list's filter: a cadre's own, or those of the chosen
    township (a city or county list would be thousands long)."""
    villages = selectors.village_choices_for_user(user=request.user)
    township = filterset.form.cleaned_data.get("township") if filterset.is_bound and valid else None
    if township is not None:
        return villages.filter(township=township)
    return villages if scope_for_user(request.user).is_cadre else villages.none()


class LedgerListView(LoginRequiredMixin, View):
    def get(self, request, ledger):
        _roles_only(request)
        config = _ledger(ledger)
        visible = selectors.ledger_list_for_user(user=request.user, ledger=config)
        filterset = FILTERS[config.key](request.GET or None, queryset=visible, request=request)
        valid = not filterset.is_bound or filterset.is_valid()
        rows = filterset.qs if valid else visible.none()
        page = _paginate(request, rows.order_by(*config.model._meta.ordering))
        context = {
            "ledger": config,
            "filter": filterset,
            "filter_errors": filterset.errors if filterset.is_bound and not valid else {},
            "page_obj": page,
            "rows": page.object_list,
            "querystring": querystring_without_page(request),
            "can_write": selectors.ledger_writer(user=request.user),
            "townships": township_list_for_user(user=request.user).order_by("county__code", "code"),
            "years": selectors.sanling_years(),
            "reveal": selectors.can_see_personal(user=request.user),
            "village_options": _village_filter_options(request, filterset, valid),
        }
        if config.key == "disputes":
            area = rows
            if valid and filterset.is_bound:
                data = request.GET.copy()
                for name in ("status", "page"):
                    data.pop(name, None)
                area = FILTERS[config.key](data, queryset=visible, request=request).qs
            context["stats"] = selectors.dispute_stats(area)
            by_month = selectors.dispute_rate_by_month(area)
            context["by_type"] = selectors.dispute_rate_by_type(area)
            context["by_month"] = by_month
            context["by_township"] = (
                selectors.dispute_rate_by_township(area)
                if not scope_for_user(request.user).is_cadre
                else []
            )
            context["chart"] = {
                "labels": [m["label"] for m in by_month],
                "unit": "件",
                "series": [
                    {
                        "name": "已化解",
                        "data": [m["resolved"] for m in by_month],
                        "color": "#2e7d32",
                    },
                    {
                        "name": "未化解",
                        "data": [m["total"] - m["resolved"] for m in by_month],
                        "color": "#b71c1c",
                    },
                ],
                "rate": {"name": "化解率", "data": [m["percent"] for m in by_month]},
            }
        if config.key in ("disputes", "petitions"):
            year = filterset.form.cleaned_data.get("year") if filterset.is_bound and valid else None
            context["sanling_rule"] = selectors.sanling_rule_shown(year=year)
        if config.key == "petitions":
            context["overdue_count"] = rows.filter(selectors.petitions_overdue_q()).count()
        return render(request, f"disputes/{config.key}_list.html", context)


class LedgerCreateView(LoginRequiredMixin, View):
    def _render(self, request, config, form):
        return render(
            request,
            "disputes/ledger_form.html",
            {"ledger": config, "form": form, "creating": True, **_place_options(request.user)},
        )

    def get(self, request, ledger):
        _writers_only(request)
        config = _ledger(ledger)
        today = timezone.localdate()
        initial = {config.date_field: today}
        if request.GET.get("village", "").isdigit():
            initial["village"] = request.GET["village"]
        else:
            own = list(
                selectors.village_choices_for_user(user=request.user).values_list("pk", flat=True)[
                    :2
                ]
            )
            if len(own) == 1:  # a cadre with one 联系点: nothing to pick
                initial["village"] = own[0]
        form = FORMS[config.key](user=request.user, initial=initial)
        return self._render(request, config, form)

    def post(self, request, ledger):
        _writers_only(request)
        config = _ledger(ledger)
        form = FORMS[config.key](request.POST, user=request.user)
        if form.is_valid():
            try:
                obj = services.ledger_create(actor=request.user, ledger=config, **form.cleaned_data)
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, f"{config.noun}已登记。")
                return redirect("disputes:ledger_detail", ledger=config.key, pk=obj.pk)
        return self._render(request, config, form)


def _initial(obj, form_class, reveal=True) -> dict:
    initial = {}
    for name in form_class.base_fields:
        if hasattr(obj, name + "_id"):
            initial[name] = getattr(obj, name + "_id")
        elif hasattr(obj, name):
            initial[name] = getattr(obj, name)
    return initial


class LedgerDetailView(LoginRequiredMixin, View):
    """The record, its 办理 form for those who may write it, and its history."""

    def _render(self, request, config, obj, handle=None):
        user = request.user
        can_write = selectors.ledger_can_write(
            user=user, township=obj.township, village=obj.village
        )
        reveal = selectors.can_see_personal(user=user)
        handle_form = HANDLE_FORMS.get(config.key)
        if can_write and handle_form is not None and handle is None:
            handle = handle_form(initial=_initial(obj, handle_form), user=user, current=obj)
        context = {
            "ledger": config,
            "obj": obj,
            "can_write": can_write,
            "can_delete": selectors.ledger_can_delete(user=user, record=obj),
            "handle": handle if can_write else None,
            "history": selectors.record_history(user=user, obj=obj),
            "reveal": reveal,
            "masked": {
                name: selectors.personal(getattr(obj, name), kind=kind, reveal=reveal)
                for name, kind in selectors.PERSONAL_FIELDS.items()
                if hasattr(obj, name)
            },
        }
        return render(request, f"disputes/{config.key}_detail.html", context)

    def get(self, request, ledger, pk):
        config = _ledger(ledger)
        obj = selectors.ledger_get_for_user(user=request.user, ledger=config, pk=pk)
        return self._render(request, config, obj)

    def post(self, request, ledger, pk):
        config = _ledger(ledger)
        obj = selectors.ledger_get_for_user(user=request.user, ledger=config, pk=pk)
        _writers_only(request)
        if config.key not in HANDLE_FORMS:
            raise Http404("该台账没有办理表单。")
        form = HANDLE_FORMS[config.key](request.POST, user=request.user, current=obj)
        if form.is_valid():
            try:
                services.ledger_update(
                    actor=request.user, record=obj, **form.posted_fields(request.POST)
                )
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, "已保存。")
                return redirect("disputes:ledger_detail", ledger=config.key, pk=obj.pk)
        return self._render(request, config, obj, handle=form)


class LedgerEditView(LoginRequiredMixin, View):
    def _render(self, request, config, obj, form):
        return render(
            request,
            "disputes/ledger_form.html",
            {"ledger": config, "form": form, "obj": obj, **_place_options(request.user)},
        )

    def _form_kwargs(self, request):
        return {"user": request.user, "reveal": selectors.can_see_personal(user=request.user)}

    def get(self, request, ledger, pk):
        config = _ledger(ledger)
        obj = selectors.ledger_get_for_user(user=request.user, ledger=config, pk=pk)
        _writers_only(request)
        form = FORMS[config.key](
            initial=_initial(obj, FORMS[config.key]), **self._form_kwargs(request)
        )
        return self._render(request, config, obj, form)

    def post(self, request, ledger, pk):
        config = _ledger(ledger)
        obj = selectors.ledger_get_for_user(user=request.user, ledger=config, pk=pk)
        _writers_only(request)
        form = FORMS[config.key](request.POST, **self._form_kwargs(request))
        if form.is_valid():
            try:
                services.ledger_update(actor=request.user, record=obj, **form.cleaned_data)
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, "已保存修改。")
                return redirect("disputes:ledger_detail", ledger=config.key, pk=obj.pk)
        return self._render(request, config, obj, form)


class LedgerDeleteView(LoginRequiredMixin, View):
    def post(self, request, ledger, pk):
        config = _ledger(ledger)
        obj = selectors.ledger_get_for_user(user=request.user, ledger=config, pk=pk)
        services.ledger_delete(actor=request.user, record=obj)
        messages.success(request, f"已删除该{config.noun}。")
        return redirect("disputes:ledger_list", ledger=config.key)


# ----- 三零 units -----


class UnitListView(LoginRequiredMixin, View):
    def get(self, request):
        _roles_only(request)
        visible = selectors.unit_list_for_user(user=request.user)
        filterset = UnitFilter(request.GET or None, queryset=visible, request=request)
        valid = not filterset.is_bound or filterset.is_valid()
        page = _paginate(
            request, (filterset.qs if valid else visible.none()).order_by("township__code", "name")
        )
        return render(
            request,
            "disputes/unit_list.html",
            {
                "filter": filterset,
                "filter_errors": filterset.errors if filterset.is_bound and not valid else {},
                "page_obj": page,
                "rows": page.object_list,
                "querystring": querystring_without_page(request),
                "can_manage": selectors.units_can_manage(user=request.user),
                "townships": township_list_for_user(user=request.user).order_by(
                    "county__code", "code"
                ),
                "types": ThreeZeroUnit.Type.choices,
            },
        )


class UnitFormView(LoginRequiredMixin, View):
    def _render(self, request, form, unit=None):
        return render(
            request,
            "disputes/unit_form.html",
            {
                "form": form,
                "unit": unit,
                "township_options": township_list_for_user(user=request.user).order_by(
                    "county__code", "code"
                ),
                "village_options": selectors.village_choices_for_user(user=request.user),
            },
        )

    def _check(self, request):
        if not selectors.units_can_manage(user=request.user):
            raise PermissionDenied("只有市级管理员和县级干部可以维护三零单位名册。")

    def get(self, request, pk=None):
        unit = selectors.unit_get_for_user(user=request.user, pk=pk) if pk else None
        self._check(request)
        initial = {}
        if unit:
            initial = {f: getattr(unit, f) for f in services.UNIT_FIELDS}
            initial |= {"township": unit.township_id, "village": unit.village_id}
        return self._render(request, UnitForm(initial=initial), unit)

    def post(self, request, pk=None):
        unit = selectors.unit_get_for_user(user=request.user, pk=pk) if pk else None
        self._check(request)
        form = UnitForm(request.POST)
        if form.is_valid():
            data = dict(form.cleaned_data)
            try:
                if unit:
                    unit = services.unit_update(actor=request.user, unit=unit, **data)
                else:
                    unit = services.unit_create(actor=request.user, **data)
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, "单位信息已保存。")
                return redirect("disputes:unit_detail", pk=unit.pk)
        return self._render(request, form, unit)


class UnitDetailView(LoginRequiredMixin, View):
    def get(self, request, pk):
        unit = selectors.unit_get_for_user(user=request.user, pk=pk)
        statuses = selectors.unit_statuses_of_unit_for_user(user=request.user, unit=unit)
        return render(
            request,
            "disputes/unit_detail.html",
            {
                "unit": unit,
                "statuses": statuses,
                "can_manage": selectors.units_can_manage(user=request.user),
                "history": selectors.record_history(user=request.user, obj=unit),
            },
        )


# ----- 零报告 -----


def _month_param(value: str) -> datetime.date:
    try:
        year, month = (int(p) for p in value.split("-"))
        return datetime.date(year, month, 1)
    except (ValueError, AttributeError):
        return timezone.localdate().replace(day=1)


ZERO_REPORT_STATES = {"found": "有纠纷", "zero": "零报告", "missing": "未报告"}


class ZeroReportView(LoginRequiredMixin, View):
    """One month: each visible village with disputes found, a 零报告, or neither."""

    def _render(self, request, form=None):
        month = _month_param(request.GET.get("month", ""))
        township_id = request.GET.get("township", "")
        township_id = int(township_id) if township_id.isdigit() else None
        rows = selectors.zero_report_month_for_user(
            user=request.user, month=month, township_id=township_id
        )
        counts = {s: sum(1 for r in rows if r["state"] == s) for s in ZERO_REPORT_STATES}
        state = request.GET.get("state", "")
        state = state if state in ZERO_REPORT_STATES else ""
        page = _paginate(request, [r for r in rows if r["state"] == state] if state else rows)
        return render(
            request,
            "disputes/zero_reports.html",
            {
                "month": month,
                "rows": page.object_list,
                "page_obj": page,
                "querystring": querystring_without_page(request),
                "counts": counts,
                "state": state,
                "states": ZERO_REPORT_STATES,
                "township_id": township_id,
                "townships": township_list_for_user(user=request.user).order_by(
                    "county__code", "code"
                ),
                "can_write": selectors.ledger_writer(user=request.user),
                "form": form or ZeroReportForm(initial={"month": f"{month:%Y-%m}"}),
                "village_options": selectors.village_choices_for_user(user=request.user),
            },
        )

    def get(self, request):
        _roles_only(request)
        return self._render(request)

    def post(self, request):
        _writers_only(request)
        form = ZeroReportForm(request.POST)
        if form.is_valid():
            try:
                services.zero_report_create(actor=request.user, **form.cleaned_data)
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, "零报告已提交。")
                month = form.cleaned_data["month"]
                return redirect(f"{reverse('disputes:zero_reports')}?month={month:%Y-%m}")
        return self._render(request, form)


# ----- yearly 三零 status -----


def _year_param(request) -> int:
    years = selectors.sanling_years()
    value = request.GET.get("year", "")
    return int(value) if value.isdigit() and int(value) in years else years[0]


class SanlingView(LoginRequiredMixin, View):
    """Per year: the user's area's village and unit rates, and every village / unit with
    its derived status, its override and the value that counts."""

    def get(self, request):
        _roles_only(request)
        user = request.user
        year = _year_param(request)
        township_id = request.GET.get("township", "")
        township_id = int(township_id) if township_id.isdigit() else None
        only_not_met = request.GET.get("not_met") == "1"
        tab = "units" if request.GET.get("tab") == "units" else "villages"
        if tab == "villages":
            rows = selectors.village_statuses_for_user(
                user=user, year=year, township_id=township_id, only_not_met=only_not_met
            )
        else:
            rows = selectors.unit_statuses_for_user(
                user=user, year=year, township_id=township_id, only_not_met=only_not_met
            )
        page = _paginate(request, rows)
        summary = selectors.summary_for_user(user=user, year=year)
        return render(
            request,
            "disputes/sanling.html",
            {
                "year": year,
                "years": selectors.sanling_years(),
                "tab": tab,
                "page_obj": page,
                "rows": page.object_list,
                "summary": summary,
                "township_id": township_id,
                "only_not_met": only_not_met,
                "townships": township_list_for_user(user=user).order_by("county__code", "code"),
                "querystring": querystring_without_page(request),
                "rule": rule_for(year).describe(),
                "can_recompute": selectors.sanling_can_recompute(user=user),
            },
        )


class SanlingRecomputeView(LoginRequiredMixin, View):
    def post(self, request):
        text = request.POST.get("year", "")
        year = int(text) if text.isdigit() else None
        if year not in selectors.sanling_years():
            raise Http404("没有这个年度。")
        result = services.sanling_recompute_for_user(actor=request.user, year=year)
        messages.success(
            request,
            f"已按记录重新计算 {year} 年度三零状态（{result['changed'] + result['created']} 条有变化）。",
        )
        return redirect(f"{reverse('disputes:sanling')}?year={year}")


class SanlingSubjectView(LoginRequiredMixin, View):
    """One village's or unit's year: derived value, reasons, override form, history."""

    def _subject(self, request, kind, pk, year):
        if not 1900 <= year <= 2099:
            raise Http404("没有这个年度。")
        if kind == "village":
            return village_get_for_user(user=request.user, village_id=pk)
        if kind == "unit":
            return selectors.unit_get_for_user(user=request.user, pk=pk)
        raise Http404("没有这个对象。")

    def _render(self, request, kind, subject, year, form=None):
        status = selectors.status_of_subject_for_user(
            user=request.user,
            year=year,
            village=subject if kind == "village" else None,
            unit=subject if kind == "unit" else None,
        )
        can_override = selectors.sanling_can_override(user=request.user, township=subject.township)
        return render(
            request,
            "disputes/sanling_subject.html",
            {
                "kind": kind,
                "subject": subject,
                "year": year,
                "status": status,
                "met": status.met if status else True,
                "history": selectors.record_history(user=request.user, obj=status)
                if status
                else [],
                "form": (form or OverrideForm(initial={"value": status.override if status else ""}))
                if can_override
                else None,
                "rule": rule_for(year).describe(),
            },
        )

    def get(self, request, kind, pk, year):
        subject = self._subject(request, kind, pk, year)
        return self._render(request, kind, subject, year)

    def post(self, request, kind, pk, year):
        subject = self._subject(request, kind, pk, year)
        form = OverrideForm(request.POST)
        if form.is_valid():
            try:
                services.sanling_override_set(
                    actor=request.user,
                    year=year,
                    value=form.cleaned_data["value"],
                    reason=form.cleaned_data["reason"],
                    village=subject if kind == "village" else None,
                    unit=subject if kind == "unit" else None,
                )
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, "人工认定已保存。")
                return redirect("disputes:sanling_subject", kind=kind, pk=pk, year=year)
        return self._render(request, kind, subject, year, form)
