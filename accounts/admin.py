"""The Django admin of the accounts: looked at by city admins, never written (resets,
deactivation and first passwords go through 账号管理 and its services, with a reason)."""

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import Http404

from accounts import selectors
from accounts.models import Account, AccountEvent
from villages.admin import ReadOnlyHistoryAdmin


class CityAdminReadOnly:
    """Open to city admins only, and read-only for them too. Out of reach and missing are
    the same 404, as everywhere in the admin."""

    def _city_admin(self, request) -> bool:
        return selectors.can_read_event_log(user=request.user)

    def has_module_permission(self, request):
        return self._city_admin(request)

    def has_view_permission(self, request, obj=None):
        return self._city_admin(request)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def _get_obj_does_not_exist_redirect(self, request, opts, object_id):
        raise Http404("不存在，或不在您的管辖范围内。")

    # The permission first: staff without it get the same 403 for any id, existing or not.
    def history_view(self, request, object_id, extra_context=None):
        if not self._city_admin(request):
            raise PermissionDenied
        return super().history_view(request, object_id, extra_context)


@admin.register(Account)
class AccountAdmin(CityAdminReadOnly, ReadOnlyHistoryAdmin):
    list_display = (
        "user",
        "phone",
        "source",
        "must_change_password",
        "first_password_issued_at",
        "password_changed_at",
    )
    list_select_related = ("user",)
    list_filter = ("source", "must_change_password")
    search_fields = ("user__username", "user__first_name", "phone", "staff_no")
    list_per_page = 50

    def get_queryset(self, request):
        return selectors.account_admin_list_for_user(user=request.user)

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        if not self._city_admin(request):
            raise PermissionDenied
        return super().history_form_view(request, object_id, version_id, extra_context)


@admin.register(AccountEvent)
class AccountEventAdmin(CityAdminReadOnly, admin.ModelAdmin):
    list_display = ("at", "kind", "username", "actor", "reason", "ip")
    list_select_related = ("actor",)
    list_filter = ("kind",)
    date_hierarchy = "at"
    search_fields = ("username", "reason", "ip")
    list_per_page = 50

    def get_queryset(self, request):
        return selectors.event_list_for_user(user=request.user)
