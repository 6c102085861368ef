"""The problem ledger (问题台账) pages. Thin: shape in, selector or service, template out."""

import uuid

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.views import View
from django.views.generic import ListView

from core.forms import add_service_errors
from core.paging import querystring_without_page
from villages.selectors import scope_for_user
from visits.models import Problem
from visits.problem_forms import ProblemCreateForm, ProblemFilter, ProblemUpdateForm
from visits.selectors import (
    problem_can_write,
    problem_get_for_user,
    problem_history,
    problem_list_for_user,
    problem_resolution_by_township,
    problem_resolution_rate,
    problems_with_source_visit,
    visit_get_for_user,
    visit_list_for_user,
)
from visits.services import problem_submit, problem_update
from visits.views import queue_context

PROBLEM_PAGE_SIZE = 50
# The per-area statistics follow the area, month and category filters; status and
# "overdue" pick rows inside the area, so they would make the rate meaningless.
RATE_IGNORES = ("status", "overdue", "page")

STATUS_COLOURS = {
    Problem.Status.PENDING: "#b71c1c",
    Problem.Status.IN_PROGRESS: "#f9a825",
    Problem.Status.RESOLVED: "#2e7d32",
    Problem.Status.EXPLAINED: "#607d8b",
}


def _roles_only(request) -> None:
    if scope_for_user(request.user).role is None:
        raise PermissionDenied("您的账号尚未分配角色，不能查看问题台账。")


def _writers_only(request) -> None:
    if not problem_can_write(user=request.user):
        raise PermissionDenied("您的账号只能查看，不能登记或办理问题。")


def _percent(rate: float | None) -> float | None:
    return None if rate is None else round(rate * 100, 1)


class ProblemListView(LoginRequiredMixin, ListView):
    template_name = "visits/problem_list.html"
    context_object_name = "problems"
    paginate_by = PROBLEM_PAGE_SIZE

    def get_queryset(self):
        _roles_only(self.request)
        self.visible = problem_list_for_user(user=self.request.user)
        self.filterset = ProblemFilter(
            self.request.GET or None,
            queryset=self.visible.order_by("-created_at", "-id"),
            request=self.request,
        )
        if self.filterset.is_bound and not self.filterset.is_valid():
            return self.filterset.queryset.none()
        return problems_with_source_visit(self.filterset.qs, user=self.request.user)

    def _area(self):
        """The visible problems under the area, month and category filters only."""
        if self.filterset.is_bound and not self.filterset.is_valid():
            return self.visible.none()
        data = self.request.GET.copy()
        for name in RATE_IGNORES:
            data.pop(name, None)
        return ProblemFilter(data, queryset=self.visible, request=self.request).qs

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        scope = scope_for_user(self.request.user)
        f = self.filterset
        ctx["filter"] = f
        ctx["filter_errors"] = f.errors if f.is_bound else {}
        ctx["can_write"] = problem_can_write(user=self.request.user)
        ctx["querystring"] = querystring_without_page(self.request)
        area = self._area()
        stats = problem_resolution_rate(area)
        stats["open"] = stats["total"] - stats["resolved"] - stats["explained"]
        stats["percent"] = _percent(stats["rate"])
        ctx["stats"] = stats
        township = f.form.cleaned_data.get("township") if f.is_bound and f.is_valid() else None
        ctx["village_options"] = (
            f.form.fields["village"].queryset.filter(township=township).order_by("code")
            if township
            else (f.form.fields["village"].queryset.order_by("code") if scope.is_cadre else ())
        )
        if not scope.is_cadre:
            townships = problem_resolution_by_township(area)
            for t in townships:
                t["percent"] = _percent(t["rate"])
            ctx["townships"] = townships
            ctx["show_county"] = scope.is_city
            ctx["chart"] = {
                "labels": [
                    f"{t['county']} {t['township']}" if scope.is_city else t["township"]
                    for t in townships
                ],
                "unit": "件",
                "series": [
                    {
                        "name": "已办结",
                        "data": [t["resolved"] for t in townships],
                        "color": STATUS_COLOURS[Problem.Status.RESOLVED],
                    },
                    {
                        "name": "无法办结已解释",
                        "data": [t["explained"] for t in townships],
                        "color": STATUS_COLOURS[Problem.Status.EXPLAINED],
                    },
                    {
                        "name": "未办结",
                        "data": [t["total"] - t["resolved"] - t["explained"] for t in townships],
                        "color": STATUS_COLOURS[Problem.Status.PENDING],
                    },
                ],
                "rate": {
                    "name": "办结率",
                    "data": [t["percent"] for t in townships],
                },
            }
        return ctx


class ProblemCreateView(LoginRequiredMixin, View):
    """Raise a problem for one of the user's villages, or at a visit the user can see
    (`?visit=<id>`: the village is then the visit's)."""

    template_name = "visits/problem_form.html"

    def _visit(self, request):
        visit_id = request.GET.get("visit", "")
        if not visit_id:
            return None
        if not visit_id.isdigit():
            raise Http404("没有这条下沉记录。")
        return visit_get_for_user(user=request.user, visit_id=int(visit_id))

    def _render(self, request, form, visit, client_uuid=None):
        # A cadre's form queues offline (static/js/visit-queue.js, as the visit form does)
        offline = scope_for_user(request.user).is_cadre
        context = {
            "form": form,
            "visit": visit,
            "offline": offline,
            "client_uuid": client_uuid or uuid.uuid4(),
            **(queue_context() if offline else {}),
        }
        return render(request, self.template_name, context)

    def get(self, request):
        _writers_only(request)
        visit = self._visit(request)
        form = ProblemCreateForm(user=request.user, fixed_village=visit.village if visit else None)
        return self._render(request, form, visit)

    def post(self, request):
        _writers_only(request)
        visit = self._visit(request)
        form = ProblemCreateForm(
            request.POST, user=request.user, fixed_village=visit.village if visit else None
        )
        try:
            client_uuid = uuid.UUID(request.POST.get("client_uuid", ""))
        except ValueError:
            client_uuid = None  # an older page without the id: stored as a new problem
        if form.is_valid():
            data = dict(form.cleaned_data)
            village = visit.village if visit else data.pop("village")
            try:
                problem, created = problem_submit(
                    actor=request.user,
                    client_uuid=client_uuid,
                    village=village,
                    visit=visit,
                    **data,
                )
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(
                    request, "问题已登记。" if created else "这个问题之前已经登记过，未重复提交。"
                )
                return redirect("problems:problem_detail", pk=problem.pk)
        return self._render(request, form, visit, client_uuid)


class ProblemDetailView(LoginRequiredMixin, View):
    """The problem, its status form (for those who handle problems) and its history."""

    template_name = "visits/problem_detail.html"

    def _render(self, request, problem, form=None):
        can_write = problem_can_write(user=request.user)
        visit_visible = (
            problem.visit_id is not None
            and visit_list_for_user(user=request.user).filter(pk=problem.visit_id).exists()
        )
        context = {
            "problem": problem,
            "form": (form or ProblemUpdateForm(problem=problem)) if can_write else None,
            "history": problem_history(user=request.user, problem=problem),
            "visit_visible": visit_visible,
            "overdue": problem.is_overdue,
        }
        return render(request, self.template_name, context)

    def get(self, request, pk):
        problem = problem_get_for_user(user=request.user, problem_id=pk)
        return self._render(request, problem)

    def post(self, request, pk):
        problem = problem_get_for_user(user=request.user, problem_id=pk)
        _writers_only(request)
        form = ProblemUpdateForm(request.POST, problem=problem)
        if form.is_valid():
            try:
                problem_update(actor=request.user, problem=problem, **form.cleaned_data)
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, "已保存办理情况。")
                return redirect("problems:problem_detail", pk=problem.pk)
        return self._render(request, problem, form)
