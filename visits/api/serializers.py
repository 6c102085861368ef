"""Shapes only: what the visits API reads and writes. The rules (whose 联系点, which dates,
photo checks, review, status flow) live in visits.services and are applied there."""

import copy
from decimal import ROUND_HALF_UP

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from villages.selectors import village_list_for_user
from visits.models import (
    HOUSEHOLDS_VISITED,
    MEETINGS,
    PEOPLE_REACHED,
    Problem,
    Visit,
    VisitEvent,
)
from visits.selectors import visit_can_edit, visit_list_for_user
from visits.services import MAX_PHOTOS, MAX_VISIT_PROBLEMS

# ----- visits -----


class ShallowFieldCopies:
    """DRF gives every serializer instance a deep copy of each declared field, and a deep
    copy of a field re-runs its __init__: a tenth of the CPU of a visit creation (see
    bench/visits.py). Plain fields keep no per-request state until `bind()`, which sets it
    on the copy, so a shallow copy is enough for them; fields that hold other fields
    (lists, nested serializers) still get their own deep copy."""

    def get_fields(self):
        return {name: _field_copy(field) for name, field in self._declared_fields.items()}


def _field_copy(field):
    if isinstance(field, serializers.ListField) and not isinstance(
        field.child, serializers.BaseSerializer
    ):
        # a list of plain values: the list and its child field, each copied shallowly
        copied = copy.copy(field)
        copied.child = copy.copy(field.child)
        copied.child.parent = copied  # already bound as "" by the original list field
        return copied
    if isinstance(
        field, (serializers.ListField, serializers.DictField, serializers.BaseSerializer)
    ):
        return copy.deepcopy(field)
    return copy.copy(field)


class CoordinateField(serializers.DecimalField):
    """Degrees, kept to 6 decimals (about 0.1 m). Phones report more digits than that, so
    extra digits are rounded rather than refused; only the range is checked."""

    def __init__(self, *, limit: int, label: str, **kwargs):
        self.limit = limit
        super().__init__(
            max_digits=9,
            decimal_places=6,
            rounding=ROUND_HALF_UP,
            required=False,
            allow_null=True,
            label=label,
            error_messages={
                "invalid": f"{label}必须是数字。",
                "range": f"{label}必须在 -{limit} 到 {limit} 之间。",
            },
            **kwargs,
        )

    def validate_precision(self, value):
        if not -self.limit <= value <= self.limit:
            self.fail("range")
        return value


class FlatListField(serializers.ListField):
    """A list whose item errors come back as one flat list of messages ({field: ["…"]}),
    not keyed by position."""

    def run_child_validation(self, data):
        try:
            return super().run_child_validation(data)
        except serializers.ValidationError as exc:
            detail = exc.detail
            messages = detail.values() if isinstance(detail, dict) else [detail]
            raise serializers.ValidationError([str(m) for ms in messages for m in ms]) from None


@extend_schema_field(OpenApiTypes.INT)
class ScopedVillageField(serializers.PrimaryKeyRelatedField):
    """A village id among the villages the requesting user may see."""

    default_error_messages = {
        "does_not_exist": "村(社区) {pk_value} 不存在，或不在您的联系点/辖区内。",
        "incorrect_type": "村(社区)编号必须是整数。",
    }

    def get_queryset(self):
        request = self.context.get("request")
        return village_list_for_user(user=request.user if request else None)


@extend_schema_field(OpenApiTypes.INT)
class ScopedVisitField(serializers.PrimaryKeyRelatedField):
    """A visit id among the visits the requesting user may see."""

    default_error_messages = {
        "does_not_exist": "走访记录 {pk_value} 不存在，或不在您的管辖范围内。",
        "incorrect_type": "走访记录编号必须是整数。",
    }

    def get_queryset(self):
        request = self.context.get("request")
        return visit_list_for_user(user=request.user if request else None)


class VisitInputSerializer(ShallowFieldCopies, serializers.Serializer):
    """填报下沉记录：JSON 或 multipart/form-data（表单中 activities、photos 为重复的键）。"""

    client_uuid = serializers.UUIDField(
        label="客户端编号", help_text="客户端生成的 UUID；同一编号重复提交只保存一次。"
    )
    # Only the shape here: whether the village is one of the cadre's 联系点, and whether
    # the date falls in that assignment, is one query in visits.services.
    village = serializers.IntegerField(
        label="村(社区)",
        min_value=1,
        error_messages={"invalid": "村(社区)编号必须是整数。"},
    )
    date = serializers.DateField(label="日期")
    day_part = serializers.ChoiceField(
        choices=Visit.DayPart.choices, default=Visit.DayPart.FULL, label="时长"
    )
    activities = FlatListField(
        child=serializers.ChoiceField(choices=Visit.Activity.choices),
        allow_empty=False,
        label="工作内容",
        error_messages={"empty": "请至少选择一项工作内容。"},
    )
    meetings = MEETINGS.api_field(default=0)
    people_reached = PEOPLE_REACHED.api_field(default=0)
    households_visited = HOUSEHOLDS_VISITED.api_field(default=0)
    notes = serializers.CharField(
        allow_blank=True, required=False, default="", max_length=2000, label="工作记录"
    )
    latitude = CoordinateField(limit=90, label="纬度")
    longitude = CoordinateField(limit=180, label="经度")
    photos = FlatListField(
        child=serializers.FileField(allow_empty_file=False, use_url=False),
        required=False,
        max_length=3,
        label="照片",
        help_text="最多 3 张；保存时统一转为 JPEG。",
        error_messages={"max_length": "每条记录最多 {max_length} 张照片。"},
    )
    # 发现问题: row by row, the n-th category with the n-th description (repeated keys in a
    # form, two lists in JSON). Each row is checked by the problem ledger's own rules.
    problem_category = FlatListField(
        child=serializers.CharField(allow_blank=True, max_length=20),
        required=False,
        max_length=MAX_VISIT_PROBLEMS,
        label="发现问题类别",
        help_text=(
            "发现问题：每行一个类别（Problem.Category 的值），与 problem_description 按顺序"
            "一一对应；最多 5 行，类别和描述都为空的行不计。"
        ),
        error_messages={"max_length": "每条记录最多 {max_length} 个发现问题。"},
    )
    problem_description = FlatListField(
        child=serializers.CharField(allow_blank=True, max_length=2000, trim_whitespace=True),
        required=False,
        max_length=MAX_VISIT_PROBLEMS,
        label="发现问题描述",
        help_text="发现问题：每行一段描述，与 problem_category 按顺序一一对应。",
        error_messages={"max_length": "每条记录最多 {max_length} 个发现问题。"},
    )

    def validate(self, attrs):
        categories = attrs.pop("problem_category", [])
        descriptions = attrs.pop("problem_description", [])
        if len(categories) != len(descriptions):
            raise serializers.ValidationError(
                {"problems": "发现问题的类别和描述行数不一致，请逐行填写。"}
            )
        if categories:
            attrs["problems"] = [
                {"category": c, "description": d}
                for c, d in zip(categories, descriptions, strict=True)
            ]
        return attrs

    # Read from each photo's EXIF in the browser, one per photo in the order of `photos`
    # (empty when unknown). Any text is taken: visits.services drops a broken value and
    # keeps the photo.
    photo_taken_at = FlatListField(
        child=serializers.CharField(allow_blank=True),
        required=False,
        max_length=MAX_PHOTOS,
        error_messages={"max_length": "每张照片一项，最多 {max_length} 项。"},
        label="照片拍摄时间",
        help_text="每张照片一项（与 photos 顺序相同）：EXIF 拍摄时间，ISO 8601 本地时间；未知留空。",
    )
    photo_latitude = FlatListField(
        child=serializers.CharField(allow_blank=True),
        required=False,
        max_length=MAX_PHOTOS,
        error_messages={"max_length": "每张照片一项，最多 {max_length} 项。"},
        label="照片拍摄纬度",
        help_text="每张照片一项：EXIF GPS 纬度（WGS-84 十进制度）；未知留空。",
    )
    photo_longitude = FlatListField(
        child=serializers.CharField(allow_blank=True),
        required=False,
        max_length=MAX_PHOTOS,
        error_messages={"max_length": "每张照片一项，最多 {max_length} 项。"},
        label="照片拍摄经度",
        help_text="每张照片一项：EXIF GPS 经度（WGS-84 十进制度）；未知留空。",
    )


class VisitUpdateSerializer(VisitInputSerializer):
    """修改下沉记录：只传要改的字段；上传的照片追加到已有照片之后。"""

    client_uuid = None
    problem_category = None
    problem_description = None

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("partial", True)
        super().__init__(*args, **kwargs)


# What a JSON body may carry (the schema's application/json): all but the photos, which only
# a multipart form can carry.


class VisitJsonInputSerializer(VisitInputSerializer):
    """填报下沉记录（JSON）：照片只能以 multipart/form-data 上传。"""

    photos = None
    photo_taken_at = photo_latitude = photo_longitude = None


class VisitJsonUpdateSerializer(VisitUpdateSerializer):
    """修改下沉记录（JSON）：只传要改的字段；照片只能以 multipart/form-data 上传。"""

    photos = None
    photo_taken_at = photo_latitude = photo_longitude = None


# The output serializers declare their fields instead of deriving them from the models:
# ModelSerializer rebuilds its fields from the model on every request, which was a tenth of
# the time of a visit creation (see bench/visits.py).


class VisitEventSerializer(ShallowFieldCopies, serializers.Serializer):
    action = serializers.ChoiceField(choices=VisitEvent.Action.choices, read_only=True)
    action_display = serializers.CharField(source="get_action_display", read_only=True)
    actor_name = serializers.SerializerMethodField()
    comment = serializers.CharField(read_only=True)
    at = serializers.DateTimeField(read_only=True)

    @extend_schema_field(serializers.CharField())
    def get_actor_name(self, obj) -> str:
        actor = obj.actor
        if actor is None:
            return ""
        return actor.get_full_name() or actor.first_name or actor.get_username()


def _coordinate(label: str):
    return serializers.DecimalField(
        max_digits=9, decimal_places=6, allow_null=True, read_only=True, label=label
    )


class VisitPhotoSerializer(ShallowFieldCopies, serializers.Serializer):
    """One photo of a visit: where to get it (the scoped views) and what its EXIF said."""

    url = serializers.SerializerMethodField()
    thumbnail = serializers.SerializerMethodField()
    taken_at = serializers.DateTimeField(read_only=True, allow_null=True, label="拍摄时间")
    latitude = _coordinate("拍摄纬度")
    longitude = _coordinate("拍摄经度")
    distance_km = serializers.DecimalField(
        max_digits=7, decimal_places=2, allow_null=True, read_only=True, label="拍摄点距村(公里)"
    )
    time_flag = serializers.BooleanField(
        read_only=True, label="拍摄时间存疑", help_text="拍摄时间早于走访日期 24 小时以上"
    )
    place_flag = serializers.BooleanField(
        read_only=True, label="拍摄地点存疑", help_text="拍摄地点距村 5 公里以上"
    )

    def _absolute(self, url: str) -> str:
        request = self.context.get("request")
        return request.build_absolute_uri(url) if request else url

    @extend_schema_field(serializers.URLField())
    def get_url(self, obj) -> str:
        return self._absolute(obj.scoped_url)

    @extend_schema_field(serializers.URLField())
    def get_thumbnail(self, obj) -> str:
        return self._absolute(obj.thumbnail_url)


class VisitSerializer(ShallowFieldCopies, serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    client_uuid = serializers.UUIDField(read_only=True, label="客户端编号")
    cadre = serializers.IntegerField(source="cadre_id", read_only=True, label="干部")
    cadre_name = serializers.CharField(source="cadre.name", read_only=True)
    village = serializers.IntegerField(source="village_id", read_only=True, label="村(社区)")
    village_name = serializers.CharField(source="village.name", read_only=True)
    date = serializers.DateField(read_only=True, label="日期")
    day_part = serializers.ChoiceField(choices=Visit.DayPart.choices, read_only=True, label="时长")
    activities = serializers.ListField(
        child=serializers.ChoiceField(choices=Visit.Activity.choices),
        read_only=True,
        label="工作内容",
    )
    activity_labels = serializers.ListField(child=serializers.CharField(), read_only=True)
    meetings = serializers.IntegerField(read_only=True, label="召开座谈会(场)")
    people_reached = serializers.IntegerField(read_only=True, label="走访群众(人次)")
    households_visited = serializers.IntegerField(read_only=True, label="入户(户)")
    notes = serializers.CharField(read_only=True, label="工作记录")
    latitude = _coordinate("纬度")
    longitude = _coordinate("经度")
    distance_km = serializers.DecimalField(
        max_digits=7, decimal_places=2, allow_null=True, read_only=True, label="距村距离(公里)"
    )
    location_flag = serializers.BooleanField(read_only=True, label="位置存疑")
    state = serializers.ChoiceField(choices=Visit.State.choices, read_only=True, label="审核状态")
    state_display = serializers.CharField(source="get_state_display", read_only=True)
    review_comment = serializers.CharField(read_only=True, label="审核意见")
    photos = serializers.SerializerMethodField()
    photo_details = VisitPhotoSerializer(source="photos", many=True, read_only=True)
    events = VisitEventSerializer(many=True, read_only=True)
    created_at = serializers.DateTimeField(read_only=True, label="填报时间")
    editable = serializers.SerializerMethodField()

    @extend_schema_field(serializers.ListField(child=serializers.URLField()))
    def get_photos(self, obj) -> list[str]:
        # The portal's scoped photo view, not the media file: photos are not public.
        request = self.context.get("request")
        urls = [photo.scoped_url for photo in obj.photos.all()]
        return [request.build_absolute_uri(u) for u in urls] if request else urls

    @extend_schema_field(serializers.BooleanField())
    def get_editable(self, obj) -> bool:
        # Whether the requesting user may still change it (visits.selectors decides: their
        # own; returned at any age, awaiting review within the edit window, never approved).
        request = self.context.get("request")
        if request is None:
            return False
        return visit_can_edit(user=request.user, visit=obj)


class ReviewSerializer(serializers.Serializer):
    comment = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=500, label="审核意见"
    )


# ----- problems -----


class ProblemSerializer(serializers.ModelSerializer):
    village_name = serializers.CharField(source="village.name", read_only=True)
    category_display = serializers.CharField(source="get_category_display", read_only=True)
    status_display = serializers.CharField(source="get_status_display", read_only=True)
    satisfaction_display = serializers.CharField(source="get_satisfaction_display", read_only=True)
    overdue = serializers.BooleanField(source="is_overdue", read_only=True)

    class Meta:
        model = Problem
        fields = [
            "id",
            "client_uuid",
            "village",
            "village_name",
            "visit",
            "category",
            "category_display",
            "description",
            "raised_by",
            "handler",
            "deadline",
            "status",
            "status_display",
            "explanation",
            "resolved_on",
            "satisfaction",
            "satisfaction_display",
            "overdue",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class ProblemCreateSerializer(serializers.Serializer):
    client_uuid = serializers.UUIDField(
        required=False,
        label="客户端编号",
        help_text="客户端生成的 UUID；同一编号重复提交只登记一次（不传则每次都登记为新问题）。",
    )
    village = ScopedVillageField(label="村(社区)")
    category = serializers.ChoiceField(choices=Problem.Category.choices, label="类别")
    description = serializers.CharField(max_length=2000, label="问题描述")
    raised_by = serializers.CharField(
        max_length=50, required=False, allow_blank=True, default="", label="反映人"
    )
    handler = serializers.CharField(
        max_length=100, required=False, allow_blank=True, default="", label="责任人/单位"
    )
    deadline = serializers.DateField(required=False, allow_null=True, label="办理时限")
    visit = ScopedVisitField(required=False, allow_null=True, label="来源走访")


class ProblemUpdateSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=Problem.Status.choices, required=False, label="状态")
    explanation = serializers.CharField(
        max_length=2000, required=False, allow_blank=True, label="办理情况/解释说明"
    )
    resolved_on = serializers.DateField(required=False, label="办结日期")
    satisfaction = serializers.ChoiceField(
        choices=Problem.Satisfaction.choices, required=False, allow_blank=True, label="群众满意度"
    )
    handler = serializers.CharField(
        max_length=100, required=False, allow_blank=True, label="责任人/单位"
    )
    deadline = serializers.DateField(required=False, label="办理时限")
