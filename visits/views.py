"""The cadre side of 双十工作日: log a visit, my visits, one visit, edit it. Thin: shape in,
selector or service, template out.

New visits are normally sent by static/js/visit-queue.js to the API (offline queue, one
client-made UUID per visit); the plain POST here is the same thing for a browser without
JavaScript.
"""

import uuid

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import prefetch_related_objects
from django.http import FileResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views import View
from django.views.generic import ListView

from villages.selectors import scope_for_user
from visits.forms import VisitForm, VisitNewForm
from visits.models import Visit
from visits.selectors import (
    cadre_progress,
    cadre_year_totals,
    reference_day,
    visit_can_edit,
    visit_can_review,
    visit_edit_refusal,
    visit_get_for_user,
    visit_history,
    visit_list_for_user,
)
from visits.services import MAX_PHOTOS, visit_create, visit_update


def _cadre_only(request) -> None:
    scope = scope_for_user(request.user)
    if not scope.is_cadre or not scope.cadre_id:
        raise PermissionDenied("只有帮扶干部可以填报下沉记录。")


def photo_exif_fields(request) -> dict:
    """The EXIF time and GPS the browser read from each uploaded photo (one value per photo,
    in their order), as posted; visits.services checks them."""
    return {
        name: request.POST.getlist(name)[:MAX_PHOTOS]
        for name in ("photo_taken_at", "photo_latitude", "photo_longitude")
    }


def queue_context() -> dict:
    """What the pending-upload badge (templates/visits/partials/queue_status.html) needs:
    where each kind of queued entry is sent, and the form that corrects it."""
    return {
        "visits_api": reverse("visit-list"),
        "visit_new_url": reverse("visits:visit_new"),
        "problems_api": reverse("problem-list"),
        "problem_new_url": reverse("problems:problem_new"),
    }


class VisitNewView(LoginRequiredMixin, View):
    template_name = "visits/visit_form.html"

    def get(self, request, form=None, client_uuid=None):
        _cadre_only(request)
        # Today, while an assignment covers it; once the cadre's assignments have ended,
        # the form opens on their last day, for 补记 (catching up) inside them.
        day = reference_day(cadre_id=scope_for_user(request.user).cadre_id)
        if form is None:
            form = VisitNewForm(user=request.user, initial={"date": day})
        first_two = list(form.fields["village"].queryset[:2])
        if len(first_two) == 1 and not form.is_bound:
            form.initial["village"] = first_two[0].pk
        context = {
            "form": form,
            "has_villages": bool(first_two),
            "catch_up_until": day if day < timezone.localdate() else None,
            "client_uuid": client_uuid or uuid.uuid4(),
            "max_photos": MAX_PHOTOS,
            **queue_context(),
        }
        return render(request, self.template_name, context)

    def post(self, request):
        """The same submission as the API's, for a browser without JavaScript."""
        _cadre_only(request)
        form = VisitNewForm(request.POST, user=request.user)
        client_uuid = request.POST.get("client_uuid", "")
        try:
            client_uuid = uuid.UUID(client_uuid)
        except ValueError:
            form.add_error(None, "表单已失效，请重新填写。")
            return self.get(request, form=form)
        if not form.is_valid():
            return self.get(request, form=form, client_uuid=client_uuid)
        try:
            visit, created = visit_create(
                actor=request.user,
                client_uuid=client_uuid,
                photos=request.FILES.getlist("photos"),
                **photo_exif_fields(request),
                **form.cleaned_data,
            )
        except ValidationError as exc:
            form.add_service_errors(exc)
            return self.get(request, form=form, client_uuid=client_uuid)
        messages.success(
            request, "已保存这次下沉记录。" if created else "这条记录之前已经保存过，未重复提交。"
        )
        return redirect("visits:visit_detail", pk=visit.pk)


class VisitListView(LoginRequiredMixin, ListView):
    """A cadre's own visits, newest first. Officials review on their own list."""

    template_name = "visits/visit_list.html"
    context_object_name = "visits"
    paginate_by = 20

    def get(self, request, *args, **kwargs):
        if not scope_for_user(request.user).is_cadre:
            return redirect("review:visit_list")
        return super().get(request, *args, **kwargs)

    def get_queryset(self):
        return visit_list_for_user(user=self.request.user).order_by("-date", "-id")

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), **queue_context()}


class VisitDetailView(LoginRequiredMixin, View):
    template_name = "visits/visit_detail.html"

    def get(self, request, pk):
        user = request.user
        visit = visit_get_for_user(user=user, visit_id=pk)
        prefetch_related_objects([visit], "photos")  # the page and its photo flags: one query
        scope = scope_for_user(user)
        own = scope.is_cadre and visit.cadre_id == scope.cadre_id
        context = {
            "visit": visit,
            "own": own,
            "can_edit": visit_can_edit(user=user, visit=visit),
            "edit_refusal": visit_edit_refusal(visit) if own else None,
            "photos": list(visit.photos.all()),
            "events": list(visit.events.select_related("actor")),
            "can_review": visit_can_review(user=user, visit=visit),
            "history": visit_history(user=user, visit=visit),
        }
        return render(request, self.template_name, context)


class VisitEditView(LoginRequiredMixin, View):
    """A normal form (not the offline queue): editing needs the server anyway."""

    template_name = "visits/visit_form.html"

    def _visit(self, request, pk) -> Visit:
        visit = visit_get_for_user(user=request.user, visit_id=pk)
        scope = scope_for_user(request.user)
        if not (scope.is_cadre and visit.cadre_id == scope.cadre_id):
            raise PermissionDenied("只能修改自己的下沉记录。")
        return visit

    def _locked(self, request, visit, refusal: str):
        messages.error(request, refusal)
        return redirect("visits:visit_detail", pk=visit.pk)

    def _render(self, request, visit, form):
        context = {
            "visit": visit,
            "form": form,
            "photos": list(visit.photos.all()),
            "max_photos": MAX_PHOTOS,
        }
        return render(request, self.template_name, context)

    def get(self, request, pk):
        visit = self._visit(request, pk)
        if refusal := visit_edit_refusal(visit):
            return self._locked(request, visit, refusal)
        initial = {
            name: getattr(visit, name)
            for name in (
                "date",
                "day_part",
                "activities",
                "meetings",
                "people_reached",
                "households_visited",
                "notes",
                "latitude",
                "longitude",
            )
        }
        initial["village"] = visit.village_id
        return self._render(request, visit, VisitForm(user=request.user, initial=initial))

    def post(self, request, pk):
        visit = self._visit(request, pk)
        if refusal := visit_edit_refusal(visit):
            return self._locked(request, visit, refusal)
        form = VisitForm(request.POST, user=request.user)
        if not form.is_valid():
            return self._render(request, visit, form)
        was_returned = visit.state == Visit.State.RETURNED
        try:
            visit_update(
                actor=request.user,
                visit=visit,
                photos=request.FILES.getlist("photos"),
                **photo_exif_fields(request),
                **form.cleaned_data,
            )
        except ValidationError as exc:
            form.add_service_errors(exc)
            return self._render(request, visit, form)
        messages.success(request, "已修改并重新提交审核。" if was_returned else "已保存修改。")
        return redirect("visits:visit_detail", pk=visit.pk)


def cadre_home_context(*, user, cadre_id: int) -> dict:
    """The cadre's part of the home page: this period's workday progress, this year's
    totals and the visits waiting for review or returned. A fixed number of queries,
    whatever the number of visits."""
    today = reference_day(cadre_id=cadre_id)
    progress = cadre_progress(cadre_id=cadre_id, day=today)
    mine = visit_list_for_user(user=user).order_by("-date", "-id")
    waiting = mine.filter(state=Visit.State.SUBMITTED)
    return {
        "progress": progress,
        "days_left": max(0, progress.required - progress.days),
        "totals_year": today.year,
        "year_totals": cadre_year_totals(cadre_id=cadre_id, year=today.year),
        "waiting_visits": list(waiting[:5]),
        "waiting_count": waiting.count(),
        "returned_visits": list(mine.filter(state=Visit.State.RETURNED)[:20]),
        **queue_context(),
    }


class VisitPhotoView(LoginRequiredMixin, View):
    """A visit's photo, served only to those who may see the visit (media files are not
    public: the photos show people's homes)."""

    def get(self, request, pk, photo_id):
        visit = visit_get_for_user(user=request.user, visit_id=pk)
        photo = get_object_or_404(visit.photos, pk=photo_id)
        response = FileResponse(photo.image.open("rb"), content_type="image/jpeg")
        response["Cache-Control"] = "private, max-age=3600"
        return response


class VisitPhotoThumbnailView(LoginRequiredMixin, View):
    """A photo's thumbnail (made once when it was stored), under the same scope check as
    the photo; a photo stored before thumbnails existed is served whole."""

    def get(self, request, pk, photo_id):
        visit = visit_get_for_user(user=request.user, visit_id=pk)
        photo = get_object_or_404(visit.photos, pk=photo_id)
        image = photo.thumbnail or photo.image
        response = FileResponse(image.open("rb"), content_type="image/jpeg")
        response["Cache-Control"] = "private, max-age=86400"
        return response
