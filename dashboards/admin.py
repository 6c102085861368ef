"""Targets in the Django admin (city admins edit them; everyone with a role reads them).
Snapshots are computed, never edited: they are not in the admin."""

from django.contrib import admin

from dashboards.models import Target
from dashboards.selectors import can_manage_dashboards
from dashboards.services import target_delete, target_save
from villages.admin import ReadOnlyHistoryAdmin


@admin.register(Target)
class TargetAdmin(ReadOnlyHistoryAdmin):
    list_display = ("year", "indicator", "comparison", "threshold", "area_level", "is_reference")
    list_filter = ("year", "indicator")

    def _is_city_admin(self, request) -> bool:
        return can_manage_dashboards(user=request.user)

    def has_view_permission(self, request, obj=None):
        return self._is_city_admin(request)

    def has_module_permission(self, request):
        return self._is_city_admin(request)

    def has_add_permission(self, request):
        return self._is_city_admin(request)

    def has_change_permission(self, request, obj=None):
        return self._is_city_admin(request)

    def has_delete_permission(self, request, obj=None):
        return self._is_city_admin(request)

    def save_model(self, request, obj, form, change):
        target_save(actor=request.user, target=obj)

    def delete_model(self, request, obj):
        target_delete(actor=request.user, target=obj)

    def delete_queryset(self, request, queryset):
        for obj in queryset:
            target_delete(actor=request.user, target=obj)
