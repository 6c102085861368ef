"""Shapes only: what the 三零 API reads and writes. The rules (scope, dates, status flow,
the 三零 recomputation) live in disputes.services."""

from rest_framework import serializers

from disputes.ledgers import LEDGERS, LedgerSpec
from disputes.models import SanlingStatus, ThreeZeroUnit, ZeroReport
from disputes.selectors import PERSONAL_FIELDS, can_see_personal, personal
from disputes.services import UNIT_FIELDS
from villages.bounds import RangeMessages
from villages.models import Township, Village


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
        for name, kind in PERSONAL_FIELDS.items():
            if name in data:
                data[name] = personal(data[name] or "", kind=kind, reveal=reveal)
        for field in instance._meta.fields:
            if field.choices and field.name in data:
                data[f"{field.name}_display"] = str(
                    dict(field.choices).get(data[field.name], data[field.name] or "")
                )
        return data


def _status(ledger: LedgerSpec, **kwargs) -> dict:
    if "status" not in ledger.fields:
        return {}
    return {"status": _status_field(ledger.model.Status.choices, **kwargs)}


def _input(ledger: LedgerSpec):
    """What a write of the ledger takes: its place and its fields."""
    model = ledger.model
    meta = type("Meta", (), {"model": model, "fields": ["village", "unit", *ledger.fields]})
    attrs = {"Meta": meta, **_place_fields(), **_status(ledger, required=False)}
    return type(
        f"{model.__name__}InputSerializer",
        (RangeMessages, serializers.ModelSerializer),
        attrs | ledger.api_input_extra,
    )


def _output(ledger: LedgerSpec):
    """What the API answers for one row of the ledger."""
    model, extra = ledger.model, ledger.api_output_extra
    names = [
        "id",
        "county_name",
        "township",
        "township_name",
        "village",
        "village_name",
        "unit",
        "unit_name",
        *ledger.api_output_first,
        *ledger.fields,
        "created_at",
        "updated_at",
        *(name for name in extra if name not in ledger.api_output_first),
    ]
    meta = type("Meta", (), {"model": model, "fields": names, "read_only_fields": names})
    attrs = {"Meta": meta, **_status(ledger, read_only=True), **extra}
    return type(f"{model.__name__}Serializer", (RecordSerializer,), attrs)


OUTPUT = {key: _output(ledger) for key, ledger in LEDGERS.items()}
INPUT = {key: _input(ledger) for key, ledger in LEDGERS.items()}
# named for the callers that read them
DisputeInputSerializer, PetitionInputSerializer = INPUT["disputes"], INPUT["petitions"]


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
