"""Shapes only: what the 三零 API reads and writes. The rules (scope, dates, status flow,
the 三零 recomputation) live in disputes.services."""

from rest_framework import serializers

from disputes.models import (
    DEATHS,
    INJURIES,
    Dispute,
    HazardCheck,
    Incident,
    Petition,
    SanlingStatus,
    ThreeZeroUnit,
    ZeroReport,
)
from disputes.selectors import can_see_personal, personal
from disputes.services import (
    DISPUTE_FIELDS,
    HAZARD_FIELDS,
    INCIDENT_FIELDS,
    PETITION_FIELDS,
    UNIT_FIELDS,
)
from villages.bounds import RangeMessages
from villages.models import Township, Village

PERSONAL = {
    "party_id_numbers": "id",
    "party_phones": "phone",
    "petitioner_id_number": "id",
    "petitioner_phone": "phone",
}


def _status_field(choices, **kwargs):
    """A status choice field. Several apps have a `status` with its own choice set; the
    schema names each set's enum (ENUM_NAME_OVERRIDES), so their names do not collide
    (drf-spectacular W001 fails `check --deploy`)."""
    return serializers.ChoiceField(choices=choices, label="状态", **kwargs)


def _place_fields():
    return {
        "village": serializers.PrimaryKeyRelatedField(
            queryset=Village.objects.all(), required=False, allow_null=True, label="村(社区)"
        ),
        "unit": serializers.PrimaryKeyRelatedField(
            queryset=ThreeZeroUnit.objects.all(),
            required=False,
            allow_null=True,
            label="企事业单位",
        ),
    }


def _input(model, names, **extra):
    meta = type("Meta", (), {"model": model, "fields": ["village", "unit", *names]})
    attrs = {"Meta": meta, **_place_fields(), **extra}
    return type(
        f"{model.__name__}InputSerializer", (RangeMessages, serializers.ModelSerializer), attrs
    )


class RecordSerializer(serializers.ModelSerializer):
    """Output of a ledger row: every field, choice labels, place names; ID and phone
    numbers masked for users who may not see them."""

    township_name = serializers.CharField(source="township.name", read_only=True)
    county_name = serializers.CharField(source="township.county.name", read_only=True)
    village_name = serializers.CharField(source="village.name", read_only=True, default="")
    unit_name = serializers.CharField(source="unit.name", read_only=True, default="")

    def to_representation(self, instance):
        data = super().to_representation(instance)
        request = self.context.get("request")
        reveal = can_see_personal(user=request.user) if request else False
        for name, kind in PERSONAL.items():
            if name in data:
                data[name] = personal(data[name] or "", kind=kind, reveal=reveal)
        for field in instance._meta.fields:
            if field.choices and field.name in data:
                data[f"{field.name}_display"] = str(
                    dict(field.choices).get(data[field.name], data[field.name] or "")
                )
        return data


def _output(model, *extra_fields, **extra):
    names = [
        "id",
        "county_name",
        "township",
        "township_name",
        "village",
        "village_name",
        "unit",
        "unit_name",
        *extra_fields,
        "created_at",
        "updated_at",
    ]
    meta = type("Meta", (), {"model": model, "fields": names, "read_only_fields": names})
    return type(f"{model.__name__}Serializer", (RecordSerializer,), {"Meta": meta, **extra})


DisputeSerializer = _output(
    Dispute,
    "number",
    *DISPUTE_FIELDS,
    status=_status_field(Dispute.Status.choices, read_only=True),
    number=serializers.CharField(read_only=True, label="编号"),
    is_collective=serializers.BooleanField(read_only=True, label="群体性"),
)
DisputeSerializer.Meta.fields.append("is_collective")
DisputeInputSerializer = _input(
    Dispute, DISPUTE_FIELDS, status=_status_field(Dispute.Status.choices, required=False)
)

PetitionSerializer = _output(
    Petition,
    *PETITION_FIELDS,
    status=_status_field(Petition.Status.choices, read_only=True),
    due_on=serializers.DateField(read_only=True, allow_null=True, label="当前期限（已结束的为空）"),
    clock=serializers.CharField(read_only=True, label="期限状态"),
    clock_label=serializers.CharField(read_only=True, label="期限状态（中文）"),
)
PetitionSerializer.Meta.fields += ["due_on", "clock", "clock_label"]
PetitionInputSerializer = _input(
    Petition, PETITION_FIELDS, status=_status_field(Petition.Status.choices, required=False)
)

IncidentSerializer = _output(Incident, *INCIDENT_FIELDS)
IncidentInputSerializer = _input(
    Incident,
    INCIDENT_FIELDS,
    deaths=DEATHS.api_field(default=0),
    injuries=INJURIES.api_field(default=0),
)

HazardSerializer = _output(
    HazardCheck, *HAZARD_FIELDS, status=_status_field(HazardCheck.Status.choices, read_only=True)
)
HazardInputSerializer = _input(
    HazardCheck,
    HAZARD_FIELDS,
    status=_status_field(HazardCheck.Status.choices, required=False),
    regulated_items=serializers.ListField(
        child=serializers.ChoiceField(choices=HazardCheck.Regulated.choices),
        required=False,
        label="涉及管控物品",
    ),
)


class UnitSerializer(serializers.ModelSerializer):
    township_name = serializers.CharField(source="township.name", read_only=True)
    village_name = serializers.CharField(source="village.name", read_only=True, default="")
    unit_type_display = serializers.CharField(source="get_unit_type_display", read_only=True)

    class Meta:
        model = ThreeZeroUnit
        fields = [
            "id",
            "township",
            "township_name",
            "village",
            "village_name",
            "unit_type_display",
            *UNIT_FIELDS,
        ]
        read_only_fields = fields


class UnitInputSerializer(RangeMessages, serializers.ModelSerializer):
    township = serializers.PrimaryKeyRelatedField(
        queryset=Township.objects.all(), required=False, allow_null=True, label="所在乡镇(街道)"
    )
    village = serializers.PrimaryKeyRelatedField(
        queryset=Village.objects.all(), required=False, allow_null=True, label="所在村(社区)"
    )

    class Meta:
        model = ThreeZeroUnit
        fields = ["township", "village", *UNIT_FIELDS]
        validators = []  # uniqueness is the service's to check (with a Chinese message)


class ZeroReportSerializer(serializers.ModelSerializer):
    village = serializers.PrimaryKeyRelatedField(queryset=Village.objects.all(), label="村(社区)")
    village_name = serializers.CharField(source="village.name", read_only=True)

    class Meta:
        model = ZeroReport
        fields = ["id", "village", "village_name", "month", "note", "reported_at"]
        read_only_fields = ["reported_at"]
        validators = []


class StatusSerializer(serializers.ModelSerializer):
    met = serializers.BooleanField(read_only=True, label="三零状态（计入统计）")
    subject_name = serializers.SerializerMethodField()
    override_by_name = serializers.SerializerMethodField()

    class Meta:
        model = SanlingStatus
        fields = [
            "id",
            "year",
            "village",
            "unit",
            "subject_name",
            "met",
            "derived_met",
            "derived_reasons",
            "override",
            "override_reason",
            "override_by_name",
            "override_at",
            "computed_at",
        ]
        read_only_fields = fields

    def get_subject_name(self, obj) -> str:
        return obj.subject.name

    def get_override_by_name(self, obj) -> str:
        user = obj.override_by
        return (user.first_name or user.username) if user else ""


class OverrideSerializer(serializers.Serializer):
    override = serializers.ChoiceField(
        choices=[("met", "达标"), ("not_met", "不达标"), ("", "撤销")],
        allow_blank=True,
        label="人工认定",
    )
    reason = serializers.CharField(allow_blank=True, max_length=500, label="理由")


class SubjectOverrideSerializer(OverrideSerializer):
    year = serializers.IntegerField(min_value=2000, max_value=2100, label="年度")
    village = serializers.PrimaryKeyRelatedField(
        queryset=Village.objects.all(), required=False, allow_null=True, label="村(社区)"
    )
    unit = serializers.PrimaryKeyRelatedField(
        queryset=ThreeZeroUnit.objects.all(), required=False, allow_null=True, label="企事业单位"
    )
