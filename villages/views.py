"""Village pages and exports. Thin: shape in, selector or service, template out."""

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, Http404
from django.shortcuts import redirect
from django.views import View
from django.views.generic import DetailView, ListView

from villages.filters import VillageFilter
from villages.selectors import (
    export_job_get_for_user,
    roster_years,
    village_assignments,
    village_get_for_user,
    village_list_for_user,
    village_roster_entries,
)
from villages.services import export_job_create


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
        query = self.request.GET.copy()
        query.pop("page", None)
        ctx["querystring"] = query.urlencode()
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


class VillageExportView(LoginRequiredMixin, View):
    """POST: queue an Excel export of the villages matching the current filters."""

    def post(self, request):
        params = {k: v for k, v in request.POST.items() if k in VillageFilter.base_filters}
        try:
            job = export_job_create(actor=request.user, kind="villages", params=params)
        except (ValidationError, PermissionDenied) as exc:
            messages.error(request, "；".join(getattr(exc, "messages", [str(exc)])))
            return redirect("villages:village_list")
        return redirect("villages:export_detail", pk=job.pk)


class ExportDetailView(LoginRequiredMixin, DetailView):
    template_name = "villages/export_detail.html"
    context_object_name = "job"

    def get_object(self, queryset=None):
        return export_job_get_for_user(user=self.request.user, job_id=self.kwargs["pk"])

    def get_template_names(self):
        if self.request.headers.get("HX-Request"):
            return ["villages/partials/export_progress.html"]
        return [self.template_name]


class ExportDownloadView(LoginRequiredMixin, View):
    def get(self, request, pk):
        job = export_job_get_for_user(user=request.user, job_id=pk)
        if not job.file:
            raise Http404("导出文件尚未生成。")
        return FileResponse(
            job.file.open("rb"), as_attachment=True, filename=job.file.name.rsplit("/", 1)[-1]
        )
