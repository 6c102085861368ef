"""The Django admin, scoped: every list, object, history page and choice list comes from the
scoping selectors, and every save or delete goes through the services."""

from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect
from import_export.admin import ImportMixin
from import_export.forms import ImportForm
from rest_framework.authtoken.models import TokenProxy
from simple_history.admin import SimpleHistoryAdmin

from core.jobs import import_upload_check
from core.models import ExportJob
from villages import selectors
from villages.models import (
    Assignment,
    Branch,
    Cadre,
    County,
    Roster,
    RosterEntry,
    Township,
    UserRole,
    Village,
    WorkUnit,
)
from villages.resources import IMPORT_FORMATS, CadreRosterResource, VillageRosterResource
from villages.services import record_delete, record_save, roster_freeze, user_role_set

# Which selector supplies the choices for a foreign key to each model.
CHOICES = {
    County: selectors.county_list_for_user,
    Township: selectors.township_list_for_user,
    Village: selectors.village_list_for_user,
    Branch: selectors.branch_list_for_user,
    Cadre: selectors.cadre_list_for_user,
    WorkUnit: selectors.work_unit_list_for_user,
}


class ReadOnlyHistoryAdmin(SimpleHistoryAdmin):
    """Base for every admin with a history page: the history is looked at, never
    rewritten. No old version is restored (a revert would save it past the services'
    rules; SIMPLE_HISTORY_REVERT_DISABLED only hides the button), and no admin deletes
    history rows (the historical models have no admin of their own)."""

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        if request.method != "GET":
            raise PermissionDenied("历史版本只能查看，不能恢复。")
        return super().history_form_view(request, object_id, version_id, extra_context)


class ScopedAdmin(ReadOnlyHistoryAdmin):
    """Base for every portal model admin."""

    selector = None
    list_per_page = 50

    def get_queryset(self, request):
        return type(self).selector(user=request.user)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        choices = CHOICES.get(db_field.related_model)
        if choices is not None:
            kwargs["queryset"] = choices(user=request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def _may_write(self, request, obj) -> bool:
        if obj is None:
            return selectors.scope_for_user(request.user).can_import
        return selectors.user_can_write_area(request.user, county_id=selectors.county_id_of(obj))

    def has_add_permission(self, request):
        return super().has_add_permission(request) and self._may_write(request, None)

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and self._may_write(request, obj)

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and self._may_write(request, obj)

    def save_model(self, request, obj, form, change):
        record_save(actor=request.user, instance=obj)

    def delete_model(self, request, obj):
        record_delete(actor=request.user, instance=obj)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            record_delete(actor=request.user, instance=obj)

    def _visible_or_404(self, request, object_id):
        if (
            not str(object_id).isdigit()
            or not self.get_queryset(request).filter(pk=object_id).exists()
        ):
            raise Http404("不存在，或不在您的管辖范围内。")

    def _get_obj_does_not_exist_redirect(self, request, opts, object_id):
        # Same answer as pages and the API: out of scope and missing are both a 404.
        raise Http404("不存在，或不在您的管辖范围内。")

    def history_view(self, request, object_id, extra_context=None):
        self._visible_or_404(request, object_id)
        return super().history_view(request, object_id, extra_context)

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        self._visible_or_404(request, object_id)
        return super().history_form_view(request, object_id, version_id, extra_context)

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except PermissionDenied as exc:
            if str(exc):
                messages.error(request, str(exc))
            raise


class PipelineImportForm(ImportForm):
    """The upload is checked (size, type) before django-import-export stores it."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["import_file"].allow_empty_file = True  # refused below, by name

    def clean_import_file(self):
        upload = self.cleaned_data["import_file"]
        import_upload_check(upload=upload)
        return upload


class PipelineImportMixin(ImportMixin):
    """The admin's 导入 button, running on the portal's import pipeline (villages.resources)."""

    import_formats = IMPORT_FORMATS
    import_form_class = PipelineImportForm
    skip_admin_log = True  # ImportJob and django-simple-history already record every row

    def has_import_permission(self, request):
        return selectors.scope_for_user(request.user).can_import

    def process_result(self, result, request):
        # The confirm step re-checks the file; if the data changed since the preview, or
        # another import of the same kind is running, say so instead of "导入成功".
        if result.has_errors() or result.has_validation_errors():
            problems = [str(e.error) for e in result.base_errors]
            problems += [f"第{row.number}行" for row in result.invalid_rows[:20]]
            messages.error(request, "导入未完成，未写入任何数据：" + "；".join(problems))
            info = self.get_model_info()
            return redirect(f"admin:{info[0]}_{info[1]}_import")
        return super().process_result(result, request)


@admin.register(County)
class CountyAdmin(ScopedAdmin):
    selector = staticmethod(selectors.county_list_for_user)
    list_display = ("code", "name", "kind")
    search_fields = ("code", "name")


@admin.register(Township)
class TownshipAdmin(ScopedAdmin):
    selector = staticmethod(selectors.township_list_for_user)
    list_display = ("code", "name", "kind", "county")
    list_filter = ("kind", ("county", admin.RelatedOnlyFieldListFilter))
    search_fields = ("code", "name")


@admin.register(Village)
class VillageAdmin(PipelineImportMixin, ScopedAdmin):
    resource_classes = [VillageRosterResource]
    selector = staticmethod(selectors.village_list_for_user)
    list_display = ("code", "name", "kind", "township", "in_statistical_roster")
    list_filter = (
        "kind",
        "in_statistical_roster",
        ("township__county", admin.RelatedOnlyFieldListFilter),
    )
    search_fields = ("code", "name", "official_name")
    list_select_related = ("township__county",)
    autocomplete_fields = ("township",)


@admin.register(Branch)
class BranchAdmin(ScopedAdmin):
    selector = staticmethod(selectors.branch_list_for_user)
    list_display = ("code", "name", "kind", "township")
    list_filter = ("kind",)
    search_fields = ("code", "name")
    autocomplete_fields = ("township",)


@admin.register(Roster)
class RosterAdmin(ReadOnlyHistoryAdmin):
    list_display = ("year", "is_frozen", "frozen_at", "note")
    readonly_fields = ("is_frozen", "frozen_at")
    actions = ["freeze"]

    def has_change_permission(self, request, obj=None):
        frozen = obj is not None and obj.is_frozen
        return super().has_change_permission(request, obj) and not frozen

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        record_save(actor=request.user, instance=obj)

    @admin.action(description="冻结所选年度名册")
    def freeze(self, request, queryset):
        try:
            for roster in queryset:
                roster_freeze(actor=request.user, roster=roster)
        except (PermissionDenied, ValidationError) as exc:
            self.message_user(request, str(exc), level=messages.ERROR)
            return
        self.message_user(request, "已冻结所选年度名册。")


@admin.register(RosterEntry)
class RosterEntryAdmin(ScopedAdmin):
    selector = staticmethod(selectors.roster_entry_list_for_user)
    list_display = ("roster", "village", "branch")
    list_filter = ("roster",)
    search_fields = ("village__code", "village__name", "branch__name")
    autocomplete_fields = ("village", "branch")


@admin.register(WorkUnit)
class WorkUnitAdmin(ScopedAdmin):
    selector = staticmethod(selectors.work_unit_list_for_user)
    list_display = ("name", "level", "county")
    list_filter = ("level", ("county", admin.RelatedOnlyFieldListFilter))
    list_select_related = ("county",)
    search_fields = ("name",)


@admin.register(Cadre)
class CadreAdmin(PipelineImportMixin, ScopedAdmin):
    resource_classes = [CadreRosterResource]
    list_select_related = ("work_unit", "user")

    def get_readonly_fields(self, request, obj=None):
        # Which login belongs to which person is decided by city admins only.
        if selectors.scope_for_user(request.user).role != UserRole.Role.CITY_ADMIN:
            return ("user",)
        return ()

    selector = staticmethod(selectors.cadre_list_for_user)
    list_display = ("name", "phone", "work_unit", "position", "level", "user")
    list_filter = ("level",)
    search_fields = ("name", "phone", "work_unit__name")
    autocomplete_fields = ("work_unit",)
    raw_id_fields = ("user",)


@admin.register(Assignment)
class AssignmentAdmin(ScopedAdmin):
    selector = staticmethod(selectors.assignment_list_for_user)
    list_display = ("year", "cadre", "kind", "township", "village", "start_date", "end_date")
    list_filter = ("year", "kind")
    search_fields = ("cadre__name", "cadre__phone", "village__name", "township__name")
    autocomplete_fields = ("cadre", "township", "village")


@admin.register(UserRole)
class UserRoleAdmin(ScopedAdmin):
    selector = staticmethod(selectors.user_role_list_for_user)
    list_display = ("user", "role", "county", "township")
    list_filter = ("role",)
    search_fields = ("user__username", "user__first_name")
    raw_id_fields = ("user",)

    def _may_write(self, request, obj) -> bool:
        return selectors.scope_for_user(request.user).role == UserRole.Role.CITY_ADMIN

    def save_model(self, request, obj, form, change):
        user_role_set(
            actor=request.user,
            user=obj.user,
            role=obj.role,
            county=obj.county,
            township=obj.township,
        )


@admin.register(ExportJob)
class ExportJobAdmin(admin.ModelAdmin):
    list_display = ("id", "kind_label", "user", "state", "progress", "row_count", "created_at")
    list_select_related = ("user",)
    list_filter = ("kind", "state")
    readonly_fields = [f.name for f in ExportJob._meta.fields]

    def get_queryset(self, request):
        return selectors.export_job_list_for_user(user=request.user)

    def _get_obj_does_not_exist_redirect(self, request, opts, object_id):
        # Someone else's export and a missing one: the same 404, as for every other record.
        raise Http404("不存在，或不在您的管辖范围内。")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


# ----- the libraries' admins: logins, groups, API tokens, sign-in records -----


class PermissionFirstHistory:
    """Django's history page looks the object up before it checks the permission, so staff
    without the permission could tell an existing id (403) from a missing one (a redirect
    to the index). Checking the permission first answers both alike."""

    def history_view(self, request, object_id, extra_context=None):
        if not self.has_view_or_change_permission(request):
            raise PermissionDenied
        return super().history_view(request, object_id, extra_context)


for _model in (get_user_model(), Group, TokenProxy, AccessAttempt, AccessLog, AccessFailureLog):
    if admin.site.is_registered(_model):
        _current = type(admin.site.get_model_admin(_model))
        admin.site.unregister(_model)
        admin.site.register(_model, type(_current.__name__, (PermissionFirstHistory, _current), {}))
