"""五星支部 in the Django admin, scoped like the rest of the portal (villages.admin).

Awards and 软弱涣散 cases are looked at here, not written: their changelists, change and
history pages come from the stars selectors (another area's record is a 404); the chain
is worked on the portal's pages and API, through the services. City admins edit the
rules (through `star_settings_update`, audited) and the star types and key tasks (data,
through `star_type_save` / `star_task_save` / `star_task_delete`).
"""

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect

from stars import selectors
from stars.models import (
    RatingYear,
    StarAward,
    StarAwardEvent,
    StarSettings,
    StarTask,
    StarType,
    WeakBranchCase,
)
from stars.services import (
    star_settings_update,
    star_task_delete,
    star_task_save,
    star_type_save,
)
from villages.admin import ReadOnlyHistoryAdmin, ScopedAdmin


def _city_admin(request) -> bool:
    return selectors.can_lock_years(request.user)


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ViewOnlyScopedAdmin(ScopedAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class StarAwardEventInline(ReadOnlyInline):
    model = StarAwardEvent
    fields = ("step", "actor", "comment", "at")
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("actor")


@admin.register(StarAward)
class StarAwardAdmin(ViewOnlyScopedAdmin):
    selector = staticmethod(selectors.award_list_for_user)
    list_display = ("year", "branch", "star_type", "state", "publicity_end", "awarded_on")
    list_filter = ("year", "state", "star_type__scheme", "star_type__name")
    list_select_related = ("branch", "star_type")
    search_fields = ("branch__name", "branch__code")
    inlines = [StarAwardEventInline]
    readonly_fields = [f.name for f in StarAward._meta.fields]


@admin.register(WeakBranchCase)
class WeakBranchCaseAdmin(ViewOnlyScopedAdmin):
    selector = staticmethod(selectors.weak_case_list_for_user)
    list_display = ("year", "branch", "identified_on", "status", "accepted_on")
    list_filter = ("year", "status")
    list_select_related = ("branch",)
    search_fields = ("branch__name", "branch__code", "responsible_leader")
    # the 认定情形 in words, not their stored codes
    exclude = ("reasons",)
    readonly_fields = [
        "reason_list" if f.name == "reasons" else f.name for f in WeakBranchCase._meta.fields
    ]

    @admin.display(description="认定情形")
    def reason_list(self, obj) -> str:
        return "；".join(obj.reason_labels)


class CityAdminEdits(ReadOnlyHistoryAdmin):
    """Everyone signed in to the admin may look; only city admins change."""

    def has_add_permission(self, request):
        return super().has_add_permission(request) and _city_admin(request)

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and _city_admin(request)

    def has_delete_permission(self, request, obj=None):
        return False


class StarTaskInline(admin.TabularInline):
    model = StarTask
    extra = 1
    fields = ("order", "title")

    def has_add_permission(self, request, obj=None):
        return _city_admin(request)

    def has_change_permission(self, request, obj=None):
        return _city_admin(request)

    def has_delete_permission(self, request, obj=None):
        return _city_admin(request)


@admin.register(StarType)
class StarTypeAdmin(CityAdminEdits):
    list_display = ("name", "scheme", "order", "is_foundation")
    list_filter = ("scheme",)
    fields = ("scheme", "code", "name", "order", "is_foundation", "description")
    inlines = [StarTaskInline]

    def get_readonly_fields(self, request, obj=None):
        # The scheme and code identify a star for imports and awards already given.
        return ("scheme",) if obj is not None else ()

    def get_fields(self, request, obj=None):
        # the code (a letters-only key) is typed once, when a star is added; after that
        # nobody needs to see it
        fields = super().get_fields(request, obj)
        return [f for f in fields if f != "code"] if obj is not None else fields

    def save_model(self, request, obj, form, change):
        star_type_save(actor=request.user, star_type=obj)

    def save_formset(self, request, form, formset, change):
        tasks = formset.save(commit=False)
        for task in formset.deleted_objects:
            star_task_delete(actor=request.user, task=task)
        for task in tasks:
            star_task_save(actor=request.user, task=task)

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        # The admin saves the star and its tasks in one transaction: a refusal by the
        # services rolls all of it back and comes back as a message.
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except ValidationError as exc:
            messages.error(request, "未保存：" + "；".join(exc.messages))
            return redirect(request.get_full_path())


@admin.register(StarSettings)
class StarSettingsAdmin(CityAdminEdits):
    """One row of rules (added once by a city admin while the defaults apply); saved
    through `star_settings_update` (audited)."""

    list_display = ("__str__", "publicity_days", "foundation_required", "updated_at")
    fields = ("foundation_required", "publicity_days")

    def has_add_permission(self, request):
        return super().has_add_permission(request) and not StarSettings.objects.exists()

    def save_model(self, request, obj, form, change):
        saved = star_settings_update(
            actor=request.user,
            foundation_required=obj.foundation_required,
            publicity_days=obj.publicity_days,
        )
        obj.pk = saved.pk


@admin.register(RatingYear)
class RatingYearAdmin(ReadOnlyHistoryAdmin):
    """Locks are set and lifted on the portal's 年度与规则 page (stars:years)."""

    list_display = ("year", "locked", "locked_at", "locked_by", "note")
    readonly_fields = ("year", "locked", "locked_at", "locked_by", "note")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
