"""双十工作日 in the Django admin, scoped like the rest of the portal (villages.admin).

Visits and problems are looked at here, not written: their changelists, change pages and
history pages come from the visits selectors (another area's record is a 404), and the
review and the problem ledger are worked on the portal's own pages and API, through the
services. The workday rule is edited here by city admins, through `workday_rule_set`.
"""

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.http import HttpResponseRedirect
from django.utils import timezone

from villages.admin import ReadOnlyHistoryAdmin, ScopedAdmin
from villages.models import UserRole
from villages.selectors import scope_for_user
from visits import selectors
from visits.models import Problem, Visit, VisitEvent, VisitPhoto, WorkdayRule
from visits.services import workday_rule_set


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class VisitEventInline(ReadOnlyInline):
    model = VisitEvent
    fields = ("action", "actor", "comment", "at")
    readonly_fields = fields


class VisitPhotoInline(ReadOnlyInline):
    model = VisitPhoto
    fields = (
        "image",
        "taken_at",
        "latitude",
        "longitude",
        "distance_km",
        "time_flag",
        "place_flag",
        "created_at",
    )
    readonly_fields = fields


class ViewOnlyScopedAdmin(ScopedAdmin):
    """View and history only: writes belong to the services behind the portal's pages."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(Visit)
class VisitAdmin(ViewOnlyScopedAdmin):
    selector = staticmethod(selectors.visit_list_for_user)
    list_display = ("date", "cadre", "village", "day_part", "state", "location_flag")
    list_filter = ("state", "day_part", "location_flag")
    list_select_related = ("cadre__work_unit", "village")
    search_fields = ("cadre__name", "village__name", "village__code")
    date_hierarchy = "date"
    inlines = [VisitPhotoInline, VisitEventInline]
    readonly_fields = [f.name for f in Visit._meta.fields]


@admin.register(Problem)
class ProblemAdmin(ViewOnlyScopedAdmin):
    selector = staticmethod(selectors.problem_list_for_user)
    list_display = ("created_at", "village", "category", "status", "deadline", "resolved_on")
    list_filter = ("status", "category", "satisfaction")
    list_select_related = ("village",)
    search_fields = ("description", "village__name", "village__code", "handler")
    readonly_fields = [f.name for f in Problem._meta.fields]


@admin.register(WorkdayRule)
class WorkdayRuleAdmin(ReadOnlyHistoryAdmin):
    """City admins add rules; a rule already in force is never changed (that would re-judge
    past periods), and none is deleted. Saves go through `workday_rule_set`."""

    list_display = ("effective_from", "period", "required_days", "note")
    fields = ("effective_from", "period", "required_days", "note")

    def get_queryset(self, request):
        return selectors.workday_rule_list()

    def _city_admin(self, request) -> bool:
        return scope_for_user(request.user).role == UserRole.Role.CITY_ADMIN

    def has_add_permission(self, request):
        return super().has_add_permission(request) and self._city_admin(request)

    def has_change_permission(self, request, obj=None):
        if obj is not None and obj.effective_from <= timezone.localdate():
            return False
        return super().has_change_permission(request, obj) and self._city_admin(request)

    def has_delete_permission(self, request, obj=None):
        return False

    def get_readonly_fields(self, request, obj=None):
        # The date is the rule's key: a different date is a new rule.
        return ("effective_from",) if obj is not None else ()

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        # The service has the last word on dates (e.g. not from today or earlier): its
        # refusal rolls the save back and comes back as a message on the same page.
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except ValidationError as exc:
            for message in exc.messages:
                messages.error(request, message)
            return HttpResponseRedirect(request.get_full_path())

    def save_model(self, request, obj, form, change):
        rule = workday_rule_set(
            actor=request.user,
            required_days=obj.required_days,
            period=obj.period,
            effective_from=obj.effective_from,
            note=obj.note,
        )
        obj.pk = rule.pk
