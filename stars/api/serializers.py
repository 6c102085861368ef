"""Shapes only: what the stars API reads and writes. The rules (who, which step, the
foundation star, the lock) live in stars.services."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from stars.models import StarAward, StarAwardEvent, StarTask, StarType, WeakBranchCase, WeakReason
from stars.selectors import award_actions, weak_case_days_open
from villages.selectors import branch_list_for_user


@extend_schema_field(OpenApiTypes.INT)
class ScopedBranchField(serializers.PrimaryKeyRelatedField):
    """A branch id among the branches the requesting user may see."""

    default_error_messages = {
        "does_not_exist": "党组织 {pk_value} 不存在，或不在您的管辖范围内。",
        "incorrect_type": "党组织编号必须是整数。",
    }

    def get_queryset(self):
        request = self.context.get("request")
        return branch_list_for_user(user=request.user if request else None)


class StarTaskSerializer(serializers.ModelSerializer):
    class Meta:
        model = StarTask
        fields = ["id", "order", "title"]


class StarTypeSerializer(serializers.ModelSerializer):
    scheme_label = serializers.CharField(source="get_scheme_display", read_only=True)
    tasks = StarTaskSerializer(many=True, read_only=True)

    class Meta:
        model = StarType
        fields = ["id", "scheme", "scheme_label", "code", "name", "order", "is_foundation", "tasks"]


class StarAwardEventSerializer(serializers.ModelSerializer):
    step_label = serializers.CharField(source="get_step_display", read_only=True)
    actor = serializers.SerializerMethodField()

    class Meta:
        model = StarAwardEvent
        fields = ["step", "step_label", "actor", "comment", "at"]

    def get_actor(self, obj) -> str:
        if obj.actor is None:
            return "系统"
        return obj.actor.first_name or obj.actor.username


class StarAwardSerializer(serializers.ModelSerializer):
    branch_name = serializers.CharField(source="branch.name", read_only=True)
    township = serializers.CharField(source="branch.township.name", read_only=True)
    county = serializers.CharField(source="branch.township.county.name", read_only=True)
    star_name = serializers.CharField(source="star_type.name", read_only=True)
    scheme = serializers.CharField(source="star_type.scheme", read_only=True)
    state = serializers.CharField(
        read_only=True,
        help_text="applied|township_ok|county_rated|publicized|awarded|rejected|withdrawn",
    )
    state_label = serializers.CharField(source="get_state_display", read_only=True)
    events = StarAwardEventSerializer(many=True, read_only=True)
    actions = serializers.SerializerMethodField(help_text="当前用户现在可以办理的环节")

    class Meta:
        model = StarAward
        fields = [
            "id",
            "branch",
            "branch_name",
            "township",
            "county",
            "year",
            "star_type",
            "star_name",
            "scheme",
            "state",
            "state_label",
            "publicity_start",
            "publicity_end",
            "awarded_on",
            "withdrawn_reason",
            "withdrawn_on",
            "events",
            "actions",
        ]

    def get_actions(self, obj) -> list[str]:
        request = self.context.get("request")
        if request is None:
            return []
        locked_years = self.context.get("locked_years")
        locked = None if locked_years is None else obj.year in locked_years
        return [str(step) for step in award_actions(user=request.user, award=obj, locked=locked)]


class ApplySerializer(serializers.Serializer):
    branch = ScopedBranchField()
    year = serializers.IntegerField(min_value=2000, max_value=2100)
    star_type = serializers.PrimaryKeyRelatedField(queryset=StarType.objects.all())
    comment = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class StepSerializer(serializers.Serializer):
    comment = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class PublicizeSerializer(StepSerializer):
    start = serializers.DateField(
        required=False,
        allow_null=True,
        default=None,
        help_text="公示开始日期：只能是办理当天（省略即为今天），且不早于县级评定日期。",
    )


class RejectSerializer(serializers.Serializer):
    comment = serializers.CharField(max_length=500, allow_blank=True)


class WithdrawSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=500, allow_blank=True)


class WeakCaseSerializer(serializers.ModelSerializer):
    branch_name = serializers.CharField(source="branch.name", read_only=True)
    township = serializers.CharField(source="branch.township.name", read_only=True)
    county = serializers.CharField(source="branch.township.county.name", read_only=True)
    status = serializers.CharField(
        read_only=True, help_text="identified|rectifying|accepted|reopened"
    )
    status_label = serializers.CharField(source="get_status_display", read_only=True)
    reason_labels = serializers.ListField(child=serializers.CharField(), read_only=True)
    days_open = serializers.SerializerMethodField()

    class Meta:
        model = WeakBranchCase
        fields = [
            "id",
            "branch",
            "branch_name",
            "township",
            "county",
            "year",
            "identified_on",
            "reasons",
            "reason_labels",
            "situation",
            "status",
            "status_label",
            "rectification_plan",
            "responsible_leader",
            "first_secretary",
            "accepted_on",
            "acceptance_note",
            "reopen_reason",
            "days_open",
        ]

    def get_days_open(self, obj) -> int:
        return weak_case_days_open(obj)


class WeakCaseCreateSerializer(serializers.Serializer):
    branch = ScopedBranchField()
    year = serializers.IntegerField(min_value=2000, max_value=2100)
    identified_on = serializers.DateField()
    reasons = serializers.ListField(
        child=serializers.ChoiceField(choices=WeakReason.choices), allow_empty=True
    )
    situation = serializers.CharField(max_length=2000, required=False, allow_blank=True, default="")


class RectifySerializer(serializers.Serializer):
    plan = serializers.CharField(max_length=4000, allow_blank=True)
    responsible_leader = serializers.CharField(max_length=50, allow_blank=True)
    first_secretary = serializers.CharField(max_length=100, allow_blank=True)


class AcceptSerializer(serializers.Serializer):
    accepted_on = serializers.DateField()
    note = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")


class ReopenSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=500, allow_blank=True)
