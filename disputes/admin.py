"""三零创建 in the Django admin, scoped like the rest of the portal (villages.admin).

The ledgers, units, 零报告 and statuses are looked at here (list, change page read-only,
history), not written: writes go through the portal's pages and API, whose services
check scope, dates and the status flow and schedule the 三零 recomputation. The 三零
rules are set here by city admins, through `sanling_rule_save` / `sanling_rule_delete`.
"""

from django.contrib import admin, messages
from django.contrib.admin.utils import flatten_fieldsets
from django.core.exceptions import ValidationError
from django.http import HttpResponseRedirect
from simple_history.template_utils import HistoricalRecordContextHelper

from disputes import selectors
from disputes.forms import SanlingRuleForm
from disputes.models import (
    Dispute,
    HazardCheck,
    Incident,
    Petition,
    SanlingRule,
    SanlingStatus,
    ThreeZeroUnit,
    ZeroReport,
)
from disputes.services import sanling_rule_delete, sanling_rule_save
from villages.admin import ReadOnlyHistoryAdmin, ScopedAdmin
from villages.models import UserRole
from villages.selectors import scope_for_user

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


RULE_FIELDSETS = (
    (None, {"fields": ("effective_from", "note")}),
    ("零上访", {"fields": ("petition_min_level", "petition_skip_level_only")}),
    ("零事故", {"fields": ("accident_kinds", "accident_min_casualties")}),
    ("零案件", {"fields": ("case_kinds",)}),
    ("企事业单位", {"fields": ("unit_records_break_village",)}),
    (
        "信访期限",
        {
            "fields": (
                "petition_accept_days",
                "petition_handle_days",
                "petition_extension_days",
                "petition_due_soon_days",
            )
        },
    ),
    ("矛盾纠纷", {"fields": ("dispute_collective_threshold", "dispute_high_risk_levels")}),
)


def _labels(rule: SanlingRule, name: str) -> str:
    labels = dict(SanlingRule.LIST_CHOICES[name])
    return "、".join(str(labels.get(v, v)) for v in getattr(rule, name)) or "无"


@admin.register(SanlingRule)
class SanlingRuleAdmin(ReadOnlyHistoryAdmin):
    """City admins add a rule from a date on, and change or delete one, unless that would
    re-judge a closed programme year (then the rule is read-only here). Everyone with
    access to the admin may look at the rules."""

    form = SanlingRuleForm
    list_display = (
        "effective_from",
        "petition_min_level",
        "petition_skip_level_only",
        "accident_min_casualties",
        "petition_accept_days",
        "petition_handle_days",
        "dispute_collective_threshold",
        "note",
    )
    shown_as = {
        "accident_kinds": "accident_kinds_display",
        "case_kinds": "case_kinds_display",
        "dispute_high_risk_levels": "dispute_high_risk_levels_display",
    }

    def get_queryset(self, request):
        return selectors.sanling_rule_list()

    def _city_admin(self, request) -> bool:
        return scope_for_user(request.user).role == UserRole.Role.CITY_ADMIN

    def _reaches_closed_year(self, obj) -> bool:
        closed = selectors.sanling_rule_closed_year(day=obj.effective_from, exclude_pk=obj.pk)
        return closed is not None

    def has_add_permission(self, request):
        return super().has_add_permission(request) and self._city_admin(request)

    def has_change_permission(self, request, obj=None):
        if obj is not None and self._reaches_closed_year(obj):
            return False
        return super().has_change_permission(request, obj) and self._city_admin(request)

    def has_delete_permission(self, request, obj=None):
        if obj is not None and self._reaches_closed_year(obj):
            return False
        return super().has_delete_permission(request, obj) and self._city_admin(request)

    def get_actions(self, request):
        # Deleting goes one rule at a time, through the service.
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions

    def get_fieldsets(self, request, obj=None):
        if obj is not None and not self.has_change_permission(request, obj):
            return [
                (title, {"fields": tuple(self.shown_as.get(f, f) for f in options["fields"])})
                for title, options in RULE_FIELDSETS
            ]
        return RULE_FIELDSETS

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ()
        if not self.has_change_permission(request, obj):
            return flatten_fieldsets(self.get_fieldsets(request, obj))
        # The date is the rule's key: a different date is a new rule.
        return ("effective_from",)

    @admin.display(description="零事故：计入的事故类别")
    def accident_kinds_display(self, obj) -> str:
        return _labels(obj, "accident_kinds")

    @admin.display(description="零案件：计入的案件类别")
    def case_kinds_display(self, obj) -> str:
        return _labels(obj, "case_kinds")

    @admin.display(description="高风险纠纷的风险等级")
    def dispute_high_risk_levels_display(self, obj) -> str:
        return _labels(obj, "dispute_high_risk_levels")

    def _refused(self, request, exc: ValidationError):
        for message in exc.messages:
            messages.error(request, message)
        return HttpResponseRedirect(request.get_full_path())

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        # The service has the last word (closed years): its refusal rolls the save back
        # and comes back as a message on the same page.
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except ValidationError as exc:
            return self._refused(request, exc)

    def delete_view(self, request, object_id, extra_context=None):
        try:
            return super().delete_view(request, object_id, extra_context)
        except ValidationError as exc:
            return self._refused(request, exc)

    def save_model(self, request, obj, form, change):
        sanling_rule_save(actor=request.user, rule=obj)

    def delete_model(self, request, obj):
        sanling_rule_delete(actor=request.user, rule=obj)
