"""Village pages and exports. Thin: shape in, selector or service, template out."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import content_disposition_header, url_has_allowed_host_and_scheme
from django.views import View
from django.views.generic import DetailView, ListView

from core.importing.engine import KINDS
from core.importing.workbook import template_workbook
from core.jobs import import_jobs_reap
from core.models import ImportJob
from core.paging import querystring_without_page
from core.selectors import import_annotated_progress, import_progress
from villages.filters import VillageFilter
from villages.forms import (
    ImportConfirmForm,
    ImportUploadForm,
    ProposalChangeForm,
    ProposalChoiceForm,
    ReopenForm,
    YearForm,
)
from villages.models import Assignment, AssignmentProposal, UserRole
from villages.selectors import (
    assignment_get_for_user,
    assignment_history,
    county_list_for_user,
    current_programme_year,
    export_job_get_for_user,
    import_job_get_for_user,
    import_job_list_for_user,
    programme_year_history,
    programme_year_overview,
    proposal_counts,
    proposal_get_for_user,
    proposal_list_for_user,
    proposal_targets,
    roster_years,
    scope_for_user,
    village_assignments,
    village_get_for_user,
    village_list_for_user,
    village_roster_entries,
)
from villages.services import (
    export_job_create,
    import_job_cancel,
    import_job_confirm,
    import_job_create,
    import_job_retry,
    programme_year_close,
    programme_year_close_preview,
    programme_year_open,
    programme_year_open_preview,
    programme_year_reopen,
    proposal_change,
    proposals_confirm,
    proposals_end,
)


class VillageListView(LoginRequiredMixin, ListView):
    template_name = "villages/village_list.html"
    context_object_name = "villages"
    paginate_by = 50

    def get_queryset(self):
        self.filterset = VillageFilter(
            self.request.GET or None,
            queryset=village_list_for_user(user=self.request.user).order_by("code"),
            request=self.request,
        )
        if self.filterset.is_bound and not self.filterset.is_valid():
            # Unknown or out-of-area filter values: an empty result and a message, never a 500.
            return self.filterset.queryset.none()
        return self.filterset.qs

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        ctx["filter"] = self.filterset
        ctx["filter_errors"] = self.filterset.errors if self.filterset.is_bound else {}
        ctx["querystring"] = querystring_without_page(self.request)
        return ctx

    def get_template_names(self):
        if self.request.headers.get("HX-Request") and not self.request.headers.get("HX-Boosted"):
            return ["villages/partials/village_table.html"]
        return [self.template_name]


class VillageDetailView(LoginRequiredMixin, DetailView):
    template_name = "villages/village_detail.html"
    context_object_name = "village"

    def get_object(self, queryset=None):
        return village_get_for_user(user=self.request.user, village_id=self.kwargs["pk"])

    def get_context_data(self, **kwargs):
        ctx = super().get_context_data(**kwargs)
        ctx["assignments"] = village_assignments(user=self.request.user, village=self.object)
        ctx["roster_entries"] = village_roster_entries(village=self.object)
        ctx["roster_years"] = roster_years()
        return ctx


class AssignmentDetailView(LoginRequiredMixin, View):
    """One 联系点安排 with its cadre, and the history of both."""

    def get(self, request, pk):
        assignment = assignment_get_for_user(user=request.user, assignment_id=pk)
        context = {
            "assignment": assignment,
            "history": assignment_history(user=request.user, assignment=assignment),
        }
        return render(request, "villages/assignment_detail.html", context)


class ExportCreateView(LoginRequiredMixin, View):
    """POST: queue an Excel export of one kind (the current filters travel as fields)."""

    def post(self, request, kind="villages"):
        params = {k: v for k, v in request.POST.items() if k != "csrfmiddlewaretoken"}
        try:
            job = export_job_create(actor=request.user, kind=kind, params=params)
        except (ValidationError, PermissionDenied) as exc:
            messages.error(request, "；".join(getattr(exc, "messages", [str(exc)])))
            back = request.headers.get("Referer", "")
            if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
                back = "villages:village_list"
            return redirect(back)
        return redirect("villages:export_detail", pk=job.pk)


class ExportDetailView(LoginRequiredMixin, DetailView):
    template_name = "villages/export_detail.html"
    context_object_name = "job"

    def get_object(self, queryset=None):
        return export_job_get_for_user(user=self.request.user, job_id=self.kwargs["pk"])

    def get_context_data(self, **kwargs):
        return super().get_context_data(keep_days=settings.EXPORT_KEEP_DAYS, **kwargs)

    def get_template_names(self):
        if self.request.headers.get("HX-Request"):
            return ["villages/partials/export_progress.html"]
        return [self.template_name]


class ExportDownloadView(LoginRequiredMixin, View):
    def get(self, request, pk):
        job = export_job_get_for_user(user=request.user, job_id=pk)
        if not job.file:
            raise Http404("导出文件尚未生成，或已超过保留期限被清理。")
        return FileResponse(
            job.file.open("rb"), as_attachment=True, filename=job.file.name.rsplit("/", 1)[-1]
        )


# ----- imports -----

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _import_roles_only(request) -> None:
    if not scope_for_user(request.user).can_import:
        raise PermissionDenied("只有市级管理员和县级干部可以导入数据。")


class ImportListView(LoginRequiredMixin, View):
    """Upload form, templates and the import history of the user's area."""

    template_name = "villages/import_list.html"

    def get(self, request, form=None):
        _import_roles_only(request)
        jobs = import_job_list_for_user(user=request.user)[:50]
        context = {"form": form or ImportUploadForm(), "jobs": jobs, "kinds": KINDS}
        return render(request, self.template_name, context)

    def post(self, request):
        _import_roles_only(request)
        # A body far beyond any workbook never gets here: core.middleware answers
        # it with 413. A file over the 10 MB import limit is refused by the service, by name.
        form = ImportUploadForm(request.POST, request.FILES)
        if not form.is_valid():
            return self.get(request, form=form)
        try:
            job = import_job_create(
                actor=request.user,
                kind=form.cleaned_data["kind"],
                upload=form.cleaned_data["file"],
                valid_only=form.cleaned_data["valid_only"],
            )
        except (ValidationError, PermissionDenied) as exc:
            form.add_error(None, "；".join(getattr(exc, "messages", [str(exc)])))
            return self.get(request, form=form)
        return redirect("villages:import_detail", pk=job.pk)


class ImportDetailView(LoginRequiredMixin, View):
    """Progress while validating or committing, the preview, then the result; the annotated
    workbook's own progress while it is built."""

    def get(self, request, pk):
        htmx = request.headers.get("HX-Request")
        job = import_job_get_for_user(user=request.user, job_id=pk, with_preview=not htmx)
        annotating = job.annotated_state == ImportJob.Annotation.PENDING
        if job.state in ImportJob.RUNNING_STATES or annotating:
            if import_jobs_reap(job_id=job.pk) or annotating:
                # A worker died: 失败 and the reason, not 导入中; or the workbook moved on.
                fields = ["state", "error", "finished_at", "annotated", "annotated_state"]
                job.refresh_from_db(fields=fields)
                annotating = job.annotated_state == ImportJob.Annotation.PENDING
        context = {
            "job": job,
            "kind": KINDS.get(job.kind),
            "progress": import_progress(job),
            "annotated_progress": import_annotated_progress(job),
            "can_cancel": job.user_id == request.user.pk
            or scope_for_user(request.user).role == UserRole.Role.CITY_ADMIN,
            "confirm_form": ImportConfirmForm(initial={"valid_only": job.valid_only}),
        }
        if htmx and request.GET.get("poll") == "annotated":
            if annotating:
                return render(request, "villages/partials/import_annotated_progress.html", context)
            response = HttpResponse("")
            response["HX-Refresh"] = "true"  # built (or given up): reload to show the link
            return response
        if htmx:
            running = job.state in ImportJob.RUNNING_STATES
            if not running and request.GET.get("poll"):
                # The job just finished: reload the whole page to show the preview/result.
                response = HttpResponse("")
                response["HX-Refresh"] = "true"
                return response
            return render(request, "villages/partials/import_progress.html", context)
        return render(request, "villages/import_detail.html", context)


class ImportConfirmView(LoginRequiredMixin, View):
    def post(self, request, pk):
        job = import_job_get_for_user(user=request.user, job_id=pk)
        form = ImportConfirmForm(request.POST)
        form.is_valid()
        try:
            import_job_confirm(
                actor=request.user, job=job, valid_only=form.cleaned_data.get("valid_only", False)
            )
        except (ValidationError, PermissionDenied) as exc:
            messages.error(request, "；".join(getattr(exc, "messages", [str(exc)])))
        return redirect("villages:import_detail", pk=job.pk)


class ImportRetryView(LoginRequiredMixin, View):
    """POST: import a failed job's file again (validated afresh, then confirmed)."""

    def post(self, request, pk):
        job = import_job_get_for_user(user=request.user, job_id=pk)
        try:
            retry = import_job_retry(actor=request.user, job=job)
        except (ValidationError, PermissionDenied) as exc:
            messages.error(request, "；".join(getattr(exc, "messages", [str(exc)])))
            return redirect("villages:import_detail", pk=job.pk)
        messages.info(request, f"已用同一文件重新开始导入（原导入 #{job.pk}）。")
        return redirect("villages:import_detail", pk=retry.pk)


class ImportCancelView(LoginRequiredMixin, View):
    def post(self, request, pk):
        job = import_job_get_for_user(user=request.user, job_id=pk)
        try:
            import_job_cancel(actor=request.user, job=job)
        except (ValidationError, PermissionDenied) as exc:
            messages.error(request, "；".join(getattr(exc, "messages", [str(exc)])))
        else:
            messages.info(request, "已取消，未写入任何数据。")
        return redirect("villages:import_list")


class ImportAnnotatedView(LoginRequiredMixin, View):
    """Streams the annotated workbook the job built (import_job_annotate); builds nothing."""

    def get(self, request, pk):
        job = import_job_get_for_user(user=request.user, job_id=pk, with_preview=False)
        if job.annotated_state == ImportJob.Annotation.PENDING:
            messages.info(request, "错误标注的工作簿正在生成，请稍候再下载。")
            return redirect("villages:import_detail", pk=job.pk)
        if not job.annotated:
            raise Http404("该导入没有可标注的工作簿。")
        stem = job.original_name.rsplit(".", 1)[0] or job.kind_label
        return FileResponse(
            job.annotated.open("rb"),
            as_attachment=True,
            filename=f"{stem}-错误标注.xlsx",
            content_type=XLSX,
        )


class ImportTemplateView(LoginRequiredMixin, View):
    def get(self, request, kind):
        _import_roles_only(request)
        sheet = KINDS.get(kind)
        if sheet is None:
            raise Http404("没有这种模板。")
        return _xlsx_response(template_workbook(sheet), f"{sheet.label}-模板.xlsx")


def _xlsx_response(data: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(data, content_type=XLSX)
    response["Content-Disposition"] = content_disposition_header(True, filename)
    return response


# ----- programme years -----


def _city_admin_only(request) -> None:
    if scope_for_user(request.user).role != UserRole.Role.CITY_ADMIN:
        raise PermissionDenied("只有市级管理员可以管理工作年度。")


def _refusal(exc) -> list[str]:
    return list(getattr(exc, "messages", [str(exc)]))


class YearListView(LoginRequiredMixin, View):
    """年度管理: every programme year, and the form that opens the next one."""

    def get(self, request):
        _city_admin_only(request)
        rows = programme_year_overview()
        today = timezone.localdate()
        years = [r["py"].year for r in rows]
        suggested = today.year if today.year not in years else max(years) + 1
        context = {
            "rows": rows,
            "open_form": YearForm(initial={"year": suggested}),
            "current": current_programme_year(),
        }
        return render(request, "villages/year_list.html", context)


class YearOpenView(LoginRequiredMixin, View):
    """GET: what opening the year will do (and what blocks it); POST: do it."""

    def _year(self, data):
        form = YearForm(data)
        if not form.is_valid():
            raise ValidationError([e for errs in form.errors.values() for e in errs])
        return form.cleaned_data["year"]

    def get(self, request):
        _city_admin_only(request)
        try:
            year = self._year(request.GET)
        except ValidationError as exc:
            messages.error(request, "；".join(_refusal(exc)))
            return redirect("villages:year_list")
        plan = programme_year_open_preview(year=year)
        return render(request, "villages/year_action.html", {"plan": plan, "title": "开启新年度"})

    def post(self, request):
        _city_admin_only(request)
        try:
            year = self._year(request.POST)
            plan = programme_year_open(actor=request.user, year=year)
        except ValidationError as exc:
            for line in _refusal(exc):
                messages.error(request, line)
            return redirect("villages:year_list")
        messages.success(request, f"{year}年度已开启。" + " ".join(plan.lines))
        return redirect("villages:year_list")


class YearCloseView(LoginRequiredMixin, View):
    def get(self, request, year):
        _city_admin_only(request)
        plan = programme_year_close_preview(year=year)
        return render(request, "villages/year_action.html", {"plan": plan, "title": "年度结账"})

    def post(self, request, year):
        _city_admin_only(request)
        try:
            plan = programme_year_close(actor=request.user, year=year)
        except ValidationError as exc:
            for line in _refusal(exc):
                messages.error(request, line)
            return redirect("villages:year_close", year=year)
        messages.success(request, " ".join(plan.lines))
        return redirect("villages:year_list")


class YearReopenView(LoginRequiredMixin, View):
    def get(self, request, year, form=None):
        _city_admin_only(request)
        context = {
            "year": year,
            "form": form or ReopenForm(),
            "history": programme_year_history(user=request.user, year=year),
        }
        return render(request, "villages/year_reopen.html", context)

    def post(self, request, year):
        _city_admin_only(request)
        form = ReopenForm(request.POST)
        if not form.is_valid():
            return self.get(request, year, form=form)
        try:
            plan = programme_year_reopen(
                actor=request.user, year=year, reason=form.cleaned_data["reason"]
            )
        except ValidationError as exc:
            for line in _refusal(exc):
                form.add_error("reason", line)
            return self.get(request, year, form=form)
        messages.success(request, " ".join(plan.lines))
        return redirect("villages:year_list")


class ProposalListView(LoginRequiredMixin, View):
    """联系点延续: the links carried into `year` in the user's area, to confirm (one by
    one or all at once), change or end."""

    def get(self, request, year):
        rows = proposal_list_for_user(user=request.user, year=year)
        scope = scope_for_user(request.user)
        if not (scope.is_city or scope.is_official):
            raise Http404("不存在，或不在您的管辖范围内。")
        county = request.GET.get("county", "")
        if county.isdigit():
            rows = rows.filter(county_id=int(county))
        decision = request.GET.get("decision", "pending")
        counts = proposal_counts(rows)
        shown = rows.filter(decision=decision) if decision in counts else rows
        page = Paginator(shown.order_by("county__code", "kind", "cadre__name", "pk"), 100)
        context = {
            "year": year,
            "page": page.get_page(request.GET.get("page")),
            "counts": counts,
            "decision": decision,
            "county": county,
            "counties": county_list_for_user(user=request.user),
            "can_decide": scope.role in (UserRole.Role.CITY_ADMIN, UserRole.Role.COUNTY_OFFICIAL),
            "decisions": AssignmentProposal.Decision.choices,
        }
        return render(request, "villages/proposal_list.html", context)

    def post(self, request, year):
        rows = proposal_list_for_user(user=request.user, year=year).filter(
            decision=AssignmentProposal.Decision.PENDING
        )
        action = request.POST.get("action", "")
        if action == "confirm_all":
            county = request.POST.get("county", "")
            chosen = rows.filter(county_id=int(county)) if county.isdigit() else rows
        else:
            form = ProposalChoiceForm(request.POST, choices=rows.values_list("pk", flat=True))
            if not form.is_valid() or not form.cleaned_data["ids"]:
                messages.error(request, "请先勾选要处理的联系点（只能处理待确认的联系点）。")
                return redirect(request.get_full_path())
            chosen = rows.filter(pk__in=form.cleaned_data["ids"])
        try:
            if action == "end":
                n = proposals_end(actor=request.user, proposals=chosen)
                messages.success(request, f"已结束 {n} 个联系点，不再延续到本年度。")
            else:
                n = proposals_confirm(actor=request.user, proposals=chosen)
                messages.success(request, f"已确认 {n} 个联系点，{year}年度的联系点安排已生成。")
        except (ValidationError, PermissionDenied) as exc:
            for line in _refusal(exc):
                messages.error(request, line)
        return redirect(request.get_full_path())


class ProposalCurrentView(LoginRequiredMixin, View):
    """The navigation's 联系点延续: the links of the open year that holds today."""

    def get(self, request):
        year = current_programme_year() or timezone.localdate().year
        return redirect("villages:proposal_list", year=year)


class ProposalChangeView(LoginRequiredMixin, View):
    def get(self, request, year, pk, form=None):
        proposal = proposal_get_for_user(user=request.user, year=year, proposal_id=pk)
        targets = proposal_targets(user=request.user, proposal=proposal)
        context = {"proposal": proposal, "form": form or ProposalChangeForm(targets=targets)}
        return render(request, "villages/proposal_change.html", context)

    def post(self, request, year, pk):
        proposal = proposal_get_for_user(user=request.user, year=year, proposal_id=pk)
        targets = proposal_targets(user=request.user, proposal=proposal)
        form = ProposalChangeForm(request.POST, targets=targets)
        if not form.is_valid():
            return self.get(request, year, pk, form=form)
        target = form.cleaned_data["target"]
        try:
            proposal_change(
                actor=request.user,
                proposal=proposal,
                village=target if proposal.kind == Assignment.Kind.VILLAGE else None,
                township=target if proposal.kind == Assignment.Kind.TOWNSHIP else None,
            )
        except (ValidationError, PermissionDenied) as exc:
            for line in _refusal(exc):
                form.add_error("target", line)
            return self.get(request, year, pk, form=form)
        messages.success(request, f"已改为“{target}”并确认。")
        return redirect("villages:proposal_list", year=year)
