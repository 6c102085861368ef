"""The officials' side of 双十工作日: reviewing visits and workday compliance. Thin: shape
in, selector or service, template out."""

import datetime
from collections import defaultdict

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Prefetch
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views import View
from django.views.generic import ListView

from core.paging import querystring_without_page
from villages.models import UserRole
from villages.selectors import scope_for_user
from visits.exports import parse_period_day
from visits.models import Visit, VisitPhoto
from visits.review_forms import VisitReviewFilter, WorkdayRuleForm
from visits.selectors import (
    compliance_for_user,
    period_label,
    period_start,
    recent_periods,
    reference_day,
    rule_for,
    user_reviews_visits,
    visit_get_for_user,
    visit_list_for_user,
    workday_rule_list,
)
from visits.services import visit_approve, visit_return, workday_rule_set

REVIEW_PAGE_SIZE = 50
REVIEW_PAGE_SIZES = (50, 100, 200)
# What a queue row shows of a photo: its thumbnail (by id) and its flags.
REVIEW_PHOTOS = Prefetch(
    "photos", queryset=VisitPhoto.objects.only("id", "visit_id", "time_flag", "place_flag")
)


def _error_text(exc) -> str:
    return "；".join(getattr(exc, "messages", [str(exc)]))


def _reviewers_only(request) -> None:
    if not user_reviews_visits(user=request.user):
        raise PermissionDenied("只有乡镇(街道)、县(市、区)干部和市级管理员可以审核下沉记录。")


def _safe_next(request, default: str) -> str:
    target = request.POST.get("next") or ""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default


def _htmx(request) -> bool:
    return bool(request.headers.get("HX-Request")) and not request.headers.get("HX-Boosted")


class ReviewListView(LoginRequiredMixin, ListView):
    """Visits of the user's area, 待审核 first by default: each with its photos' thumbnails
    and flags, approved or returned inline, or many at once."""

    template_name = "visits/review_list.html"
    context_object_name = "visits"
    paginate_by = REVIEW_PAGE_SIZE

    def get_queryset(self):
        _reviewers_only(self.request)
        data = self.request.GET.copy()
        if "state" not in data:
            data["state"] = Visit.State.SUBMITTED
        self.filterset = VisitReviewFilter(
            data,
            queryset=visit_list_for_user(user=self.request.user).order_by("-date", "-id"),
            request=self.request,
        )
        if not self.filterset.is_valid():
            return self.filterset.queryset.none()
        # the photos of the whole page in one query (their thumbnails are files made once)
        return self.filterset.qs.prefetch_related(REVIEW_PHOTOS)

    def get_paginate_by(self, queryset):
        size = self.request.GET.get("size", "")
        return int(size) if size in {str(n) for n in REVIEW_PAGE_SIZES} else REVIEW_PAGE_SIZE

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        ctx["filter"] = self.filterset
        ctx["filter_errors"] = self.filterset.errors
        ctx["states"] = Visit.State.choices
        ctx["querystring"] = querystring_without_page(self.request)
        ctx["can_bulk_approve"] = self.filterset.data.get("state") == Visit.State.SUBMITTED
        ctx["page_sizes"] = REVIEW_PAGE_SIZES
        ctx["page_size"] = self.get_paginate_by(None)
        return ctx

    def get_template_names(self):
        if _htmx(self.request):
            return ["visits/review_table.html"]
        return [self.template_name]


def _bulk_review(request, *, review, verb: str, done: str):
    """`review(visit)` (a service call) for each chosen 待审核 visit of the user's area;
    one message for those done, one for those that could not be, with the reasons."""
    _reviewers_only(request)
    ids = {int(v) for v in request.POST.getlist("visit") if v.isascii() and v.isdigit()}
    back = _safe_next(request, reverse("review:visit_list"))
    if not ids:
        messages.warning(request, f"请先勾选要{verb}的记录。")
        return redirect(back)
    visible = list(
        visit_list_for_user(user=request.user).filter(pk__in=ids, state=Visit.State.SUBMITTED)
    )
    reviewed, reasons = 0, []
    for visit in visible:
        try:
            review(visit)
        except (ValidationError, PermissionDenied) as exc:
            reasons.append(_error_text(exc))
            continue
        reviewed += 1
    if len(visible) < len(ids):
        reasons.append("已被他人审核、已退回或不在您的辖区")
    if reviewed:
        messages.success(request, done % reviewed)
    if failed := len(ids) - reviewed:
        reason = "；".join(dict.fromkeys(reasons))
        messages.warning(request, f"{failed} 条记录未能{verb}（{reason}）。")
    return redirect(back)


class ReviewBulkApproveView(LoginRequiredMixin, View):
    """Approve the selected 待审核 visits of the user's area, one service call each."""

    def post(self, request):
        return _bulk_review(
            request,
            review=lambda visit: visit_approve(actor=request.user, visit=visit),
            verb="审核通过",
            done="已审核通过 %d 条下沉记录。",
        )


class ReviewBulkReturnView(LoginRequiredMixin, View):
    """Return the selected 待审核 visits of the user's area, all with the same comment."""

    def post(self, request):
        comment = request.POST.get("bulk_comment", "")
        return _bulk_review(
            request,
            review=lambda visit: visit_return(actor=request.user, visit=visit, comment=comment),
            verb="退回",
            done="已退回 %d 条下沉记录，干部修改后会重新提交。",
        )


def _reviewed(request, visit: Visit, *, error: str = "", done: str = ""):
    """The answer to an approval or return of one visit: its review-queue row, updated in
    place, to htmx; otherwise a message and a redirect (the queue or the visit's page)."""
    if _htmx(request):
        row = (
            visit_list_for_user(user=request.user).prefetch_related(REVIEW_PHOTOS).get(pk=visit.pk)
        )
        context = {
            "visit": row,
            "can_bulk_approve": request.POST.get("select_col") == "1",
            "row_error": error,
            "row_done": done,
        }
        return render(request, "visits/partials/review_row.html", context)
    if error:
        messages.error(request, error)
    else:
        messages.success(request, done)
    return redirect(_safe_next(request, reverse("visits:visit_detail", args=[visit.pk])))


class VisitApproveView(LoginRequiredMixin, View):
    def post(self, request, pk):
        visit = visit_get_for_user(user=request.user, visit_id=pk)
        try:
            visit_approve(actor=request.user, visit=visit, comment=request.POST.get("comment", ""))
        except ValidationError as exc:
            return _reviewed(request, visit, error=_error_text(exc))
        return _reviewed(request, visit, done="已审核通过。")


class VisitReturnView(LoginRequiredMixin, View):
    def post(self, request, pk):
        visit = visit_get_for_user(user=request.user, visit_id=pk)
        try:
            visit_return(actor=request.user, visit=visit, comment=request.POST.get("comment", ""))
        except ValidationError as exc:
            return _reviewed(request, visit, error=_error_text(exc))
        return _reviewed(request, visit, done="已退回，干部修改后会重新提交。")


# ----- workday compliance -----


def _compliance_viewers_only(request):
    scope = scope_for_user(request.user)
    if not (scope.is_city or scope.is_official):
        raise PermissionDenied("只有市级、县级和乡镇(街道)干部可以查看双十工作日达标情况。")
    return scope


def _grouped(rows, key) -> list[dict]:
    """Rows grouped by `key(row)` = (identity, display name), in the order met."""
    groups: dict = defaultdict(list)
    names = {}
    for row in rows:
        identity, names[identity] = key(row)
        groups[identity].append(row)
    return [{"name": names[identity], "rows": items} for identity, items in groups.items()]


def _township_label(county: str, township: str, scope) -> str:
    """City-wide pages name the county too: township names repeat across counties."""
    return f"{county} {township}" if scope.is_city else township


def _by_township(rows) -> list[dict]:
    """Met / all per township, worst rate first."""
    table: dict = {}
    for r in rows:
        entry = table.setdefault(
            r.township_id or r.township_name,
            {"township": r.township_name, "county": r.county_name, "met": 0, "total": 0},
        )
        entry["total"] += 1
        entry["met"] += r.met
    result = list(table.values())
    for entry in result:
        entry["below"] = entry["total"] - entry["met"]
        entry["rate"] = entry["met"] / entry["total"]
        entry["percent"] = round(entry["rate"] * 100, 1)
    result.sort(key=lambda e: (e["rate"], e["county"], e["township"]))
    return result


def compliance_context(request, *, rule_form=None) -> dict:
    scope = _compliance_viewers_only(request)
    today = reference_day()
    day, day_error = today, None
    if request.GET.get("day"):
        try:
            day = parse_period_day(request.GET["day"])
        except ValidationError as exc:
            day_error = _error_text(exc)
    # A period is always judged as of its first day, so the page, its pills and the
    # export agree whichever day of the period was asked for.
    day = period_start(rule_for(day), day)
    result = compliance_for_user(user=request.user, day=day)
    periods = []
    for start in recent_periods(count=6, today=today):
        periods.append(
            {
                "day": start,
                "label": period_label(rule_for(start), start),
                "active": result["start"] <= start <= result["end"],
            }
        )
    townships = _by_township(result["rows"])
    below = result["below"]
    ctx = {
        "result": result,
        "percent": None if result["rate"] is None else round(result["rate"] * 100, 1),
        "rule": result["rule"],
        "day": day,
        "day_error": day_error,
        "periods": periods,
        "townships": townships,
        "below_by_township": _grouped(
            sorted(below, key=lambda r: (r.county_name, r.township_name, r.days)),
            lambda r: (r.township_id, _township_label(r.county_name, r.township_name, scope)),
        ),
        "below_by_unit": _grouped(
            sorted(below, key=lambda r: (r.cadre.work_unit.name, r.days)),
            lambda r: (r.cadre.work_unit_id, r.cadre.work_unit.name),
        ),
        "chart": {
            "labels": [_township_label(t["county"], t["township"], scope) for t in townships],
            "unit": "人",
            "series": [
                {"name": "达标", "data": [t["met"] for t in townships], "color": "#2e7d32"},
                {"name": "未达标", "data": [t["below"] for t in townships], "color": "#b71c1c"},
            ],
            "rate": {
                "name": "达标率",
                "data": [t["percent"] for t in townships],
            },
        },
        "can_set_rule": scope.role == UserRole.Role.CITY_ADMIN,
    }
    if ctx["can_set_rule"]:
        ctx["rule_form"] = rule_form or WorkdayRuleForm(
            initial={
                "required_days": result["rule"].required_days,
                "period": result["rule"].period,
                "effective_from": _next_month_start(today),
            }
        )
        ctx["rules"] = workday_rule_list()
        ctx["today"] = today
        ctx["first_allowed"] = today + datetime.timedelta(days=1)
    return ctx


def _chinese_date(day: datetime.date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


def _next_month_start(day: datetime.date) -> datetime.date:
    return datetime.date(day.year + day.month // 12, day.month % 12 + 1, 1)


class ComplianceView(LoginRequiredMixin, View):
    template_name = "visits/compliance.html"

    def get(self, request):
        return render(request, self.template_name, compliance_context(request))


class WorkdayRuleSetView(LoginRequiredMixin, View):
    """City admins set the rule from a date on (today or later)."""

    def post(self, request):
        if scope_for_user(request.user).role != UserRole.Role.CITY_ADMIN:
            raise PermissionDenied("只有市级管理员可以修改双十工作日规则。")
        form = WorkdayRuleForm(request.POST)
        if form.is_valid():
            try:
                rule = workday_rule_set(actor=request.user, **form.cleaned_data)
            except ValidationError as exc:
                for field, errors in getattr(exc, "message_dict", {None: exc.messages}).items():
                    form.add_error(field if field in form.fields else None, errors)
            else:
                messages.success(
                    request,
                    f"已设置：自 {_chinese_date(rule.effective_from)} 起"
                    f"{rule.get_period_display()} {rule.required_days} 天。",
                )
                return redirect("review:compliance")
        return render(
            request, ComplianceView.template_name, compliance_context(request, rule_form=form)
        )
