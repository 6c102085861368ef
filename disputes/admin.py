"""三零创建 in the Django admin, scoped like the rest of the portal (villages.admin).

The ledgers, units, 零报告 and statuses are looked at here (list, change page read-only,
history), not written: writes go through the portal's pages and API, whose services
check scope, dates and the status flow and schedule the 三零 recomputation.
"""

from django.contrib import admin
from simple_history.template_utils import HistoricalRecordContextHelper

from disputes import selectors
from disputes.models import (
    Dispute,
    HazardCheck,
    Incident,
    Petition,
    SanlingStatus,
    ThreeZeroUnit,
    ZeroReport,
)
from villages.admin import ScopedAdmin

PERSONAL_FIELDS = tuple(selectors.PERSONAL_FIELDS)


class MaskedHistoryHelper(HistoricalRecordContextHelper):
    """The history page's changes, with ID and phone numbers masked unless `reveal`."""

    def __init__(self, *args, reveal: bool, **kwargs):
        super().__init__(*args, **kwargs)
        self.reveal = reveal

    def prepare_delta_change_value(self, change, value):
        value = super().prepare_delta_change_value(change, value)
        return selectors.personal_field(change.field, value, reveal=self.reveal)


class ViewOnlyScopedAdmin(ScopedAdmin):
    """View and history only; ID and phone numbers are left out for roles that may not
    see them."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    # Model fields shown through an admin method instead (JSON lists read in Chinese).
    shown_as: dict[str, str] = {}

    def get_fields(self, request, obj=None):
        fields = [f.name for f in self.model._meta.fields if f.name != "id"]
        if not selectors.can_see_personal(user=request.user):
            fields = [f for f in fields if f not in PERSONAL_FIELDS]
        return [self.shown_as.get(f, f) for f in fields]

    def get_readonly_fields(self, request, obj=None):
        return self.get_fields(request, obj)

    def get_historical_record_context_helper(self, request, historical_record):
        return MaskedHistoryHelper(
            self.model,
            historical_record,
            reveal=selectors.can_see_personal(user=request.user),
        )


@admin.register(Dispute)
class DisputeAdmin(ViewOnlyScopedAdmin):
    selector = staticmethod(selectors.dispute_list_for_user)
    list_display = ("registered_on", "township", "village", "dispute_type", "risk_level", "status")
    list_filter = ("status", "risk_level", "dispute_type", "source")
    list_select_related = ("township", "village")
    search_fields = ("summary", "parties", "village__name", "village__code")
    date_hierarchy = "registered_on"


@admin.register(Petition)
class PetitionAdmin(ViewOnlyScopedAdmin):
    selector = staticmethod(selectors.petition_list_for_user)
    list_display = ("received_on", "township", "village", "channel", "level_reached", "status")
    list_filter = ("status", "channel", "level_reached", "is_skip_level", "is_collective")
    list_select_related = ("township", "village")
    search_fields = ("subject", "village__name", "village__code")
    date_hierarchy = "received_on"


@admin.register(Incident)
class IncidentAdmin(ViewOnlyScopedAdmin):
    selector = staticmethod(selectors.incident_list_for_user)
    list_display = ("occurred_on", "township", "village", "kind", "deaths", "injuries")
    list_filter = ("kind", "source")
    list_select_related = ("township", "village")
    search_fields = ("summary", "place", "village__name")
    date_hierarchy = "occurred_on"


@admin.register(HazardCheck)
class HazardCheckAdmin(ViewOnlyScopedAdmin):
    selector = staticmethod(selectors.hazard_list_for_user)
    list_display = ("checked_on", "township", "site_name", "site_type", "deadline", "status")
    list_filter = ("status", "site_type")
    list_select_related = ("township",)
    search_fields = ("site_name", "hazard")
    shown_as = {"regulated_items": "regulated_items_display"}

    @admin.display(description="涉及管控物品")
    def regulated_items_display(self, obj) -> str:
        return "、".join(obj.regulated_labels) or "无"


@admin.register(ThreeZeroUnit)
class ThreeZeroUnitAdmin(ViewOnlyScopedAdmin):
    selector = staticmethod(selectors.unit_list_for_user)
    list_display = ("name", "unit_type", "township", "village", "year_from", "year_to")
    list_filter = ("unit_type", "year_from")
    list_select_related = ("township", "village")
    search_fields = ("name", "credit_code")


@admin.register(ZeroReport)
class ZeroReportAdmin(ViewOnlyScopedAdmin):
    selector = staticmethod(selectors.zero_report_list_for_user)
    list_display = ("month", "village", "reported_by", "reported_at")
    list_select_related = ("village", "reported_by")


@admin.register(SanlingStatus)
class SanlingStatusAdmin(ViewOnlyScopedAdmin):
    selector = staticmethod(selectors.status_list_for_user)
    list_display = ("year", "village", "unit", "derived_met", "override", "computed_at")
    list_filter = ("year", "derived_met", "override")
    list_select_related = ("village", "unit")
    shown_as = {"derived_reasons": "derived_reasons_display"}

    @admin.display(description="不达标原因")
    def derived_reasons_display(self, obj) -> str:
        return "；".join(f"{r['date']} {r['text']}" for r in obj.derived_reasons) or "无"
