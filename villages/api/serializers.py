from django.urls import reverse
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.exports import EXPORT_KINDS
from core.models import ExportJob
from villages.models import Assignment, Branch, Cadre, County, Township, Village


class CountySerializer(serializers.ModelSerializer):
    kind_display = serializers.CharField(source="get_kind_display", read_only=True)

    class Meta:
        model = County
        fields = ["id", "code", "name", "kind", "kind_display"]


class TownshipSerializer(serializers.ModelSerializer):
    kind_display = serializers.CharField(source="get_kind_display", read_only=True)
    county_name = serializers.CharField(source="county.name", read_only=True)

    class Meta:
        model = Township
        fields = ["id", "code", "name", "kind", "kind_display", "county", "county_name"]


class VillageSerializer(serializers.ModelSerializer):
    kind_display = serializers.CharField(source="get_kind_display", read_only=True)
    township_name = serializers.CharField(source="township.name", read_only=True)
    county = serializers.IntegerField(source="township.county_id", read_only=True)
    county_name = serializers.CharField(source="township.county.name", read_only=True)

    class Meta:
        model = Village
        fields = [
            "id",
            "code",
            "name",
            "official_name",
            "kind",
            "kind_display",
            "township",
            "township_name",
            "county",
            "county_name",
            "in_statistical_roster",
            "households",
            "population",
            "secretary_name",
            "secretary_phone",
        ]


class BranchSerializer(serializers.ModelSerializer):
    kind_display = serializers.CharField(source="get_kind_display", read_only=True)

    class Meta:
        model = Branch
        fields = ["id", "code", "name", "kind", "kind_display", "township"]


class CadreSerializer(serializers.ModelSerializer):
    work_unit_name = serializers.CharField(source="work_unit.name", read_only=True)
    level_display = serializers.CharField(source="get_level_display", read_only=True)

    class Meta:
        model = Cadre
        fields = [
            "id",
            "name",
            "phone",
            "work_unit",
            "work_unit_name",
            "position",
            "level",
            "level_display",
        ]


class AssignmentSerializer(serializers.ModelSerializer):
    kind_display = serializers.CharField(source="get_kind_display", read_only=True)
    cadre_name = serializers.CharField(source="cadre.name", read_only=True)
    target_name = serializers.SerializerMethodField()

    class Meta:
        model = Assignment
        fields = [
            "id",
            "cadre",
            "cadre_name",
            "kind",
            "kind_display",
            "township",
            "village",
            "target_name",
            "year",
            "start_date",
            "end_date",
        ]

    @extend_schema_field(serializers.CharField())
    def get_target_name(self, obj) -> str:
        return str(obj.target)


class ExportJobSerializer(serializers.ModelSerializer):
    state_display = serializers.CharField(source="get_state_display", read_only=True)
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = ExportJob
        fields = [
            "id",
            "kind",
            "params",
            "state",
            "state_display",
            "progress",
            "row_count",
            "download_url",
            "error",
            "created_at",
            "finished_at",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.URLField(allow_null=True))
    def get_download_url(self, obj) -> str | None:
        if obj.state != ExportJob.State.DONE or not obj.file:
            return None
        url = reverse("export-download", args=[obj.pk])
        request = self.context.get("request")
        return request.build_absolute_uri(url) if request else url


class StrictCharField(serializers.CharField):
    """Text, and only text: DRF's CharField takes a number and turns it into text."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


class ExportJobCreateSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=[])
    params = serializers.DictField(child=StrictCharField(allow_blank=True), required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = [(k, v.label) for k, v in EXPORT_KINDS.items()]
