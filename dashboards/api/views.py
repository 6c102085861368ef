"""GET /api/indicators/?year=&area= : an area's snapshots with their target status, and
its sub-areas' figures. Scoped: an area outside the user's is a 404."""

from __future__ import annotations

import re

from django.http import Http404
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_serializer,
)
from rest_framework import serializers, viewsets
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response

from dashboards import selectors
from dashboards.indicators import SPECS
from dashboards.services import refresh_if_due


class FigureSerializer(serializers.Serializer):
    indicator = serializers.CharField(source="code")
    label = serializers.CharField()
    numerator = serializers.IntegerField(source="num")
    denominator = serializers.IntegerField(source="den")
    value = serializers.DecimalField(max_digits=14, decimal_places=4, allow_null=True)
    unit = serializers.SerializerMethodField()
    target = serializers.SerializerMethodField()
    status = serializers.CharField()
    status_label = serializers.CharField()
    projected = serializers.DecimalField(max_digits=14, decimal_places=4, allow_null=True)
    previous = serializers.DecimalField(max_digits=14, decimal_places=4, allow_null=True)
    previous_label = serializers.CharField()
    change = serializers.DecimalField(max_digits=14, decimal_places=4, allow_null=True)

    def get_unit(self, f) -> str:
        return "%" if f.spec.kind == "rate" else f.spec.unit

    def get_target(self, f) -> dict | None:
        t = f.target
        if t is None:
            return None
        return {
            "comparison": t.comparison,
            "threshold": str(t.threshold),
            "area_level": t.area_level,
            "is_reference": t.is_reference,
            "text": f.target_text,
        }


@extend_schema_serializer(many=False)  # one area's figures, although the action is `list`
class IndicatorResponseSerializer(serializers.Serializer):
    year = serializers.IntegerField()
    area = serializers.DictField()
    as_of = serializers.DateField(allow_null=True)
    computed_at = serializers.DateTimeField(allow_null=True)
    refreshing = serializers.BooleanField(help_text="数据更新中：正在按最新变动重新计算")
    indicators = FigureSerializer(many=True)
    children = serializers.ListField(child=serializers.DictField())


YEAR_MIN, YEAR_MAX = 2000, 2100
AREA_PATTERN = r"^(city|(county|township|village):[0-9]+)$"


def parse_area(raw: str) -> tuple[str, int | None] | None:
    """`city` or `<level>:<id>`, exactly as the schema's pattern says (ASCII digits)."""
    if not re.fullmatch(AREA_PATTERN, raw or ""):
        return None
    if raw == "city":
        return "city", None
    level, _, pk = raw.partition(":")
    return level, int(pk)


class IndicatorViewSet(viewsets.ViewSet):
    """年度指标快照及目标完成情况（按登录用户的管辖范围；范围外的地区返回 404）。"""

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "year",
                {"type": "integer", "minimum": YEAR_MIN, "maximum": YEAR_MAX},
                description="年度，默认最新有数据的年度",
            ),
            OpenApiParameter(
                "area",
                {"type": "string", "pattern": AREA_PATTERN},
                description="city、county:<id>、township:<id> 或 village:<id>；默认本人辖区",
            ),
        ],
        responses={
            200: IndicatorResponseSerializer,
            404: OpenApiResponse(description="地区不在您的管辖范围内，或您没有本人辖区"),
        },
    )
    def list(self, request):
        raw_year = request.query_params.get("year", "")
        if raw_year and not (
            raw_year.isascii() and raw_year.isdigit() and YEAR_MIN <= int(raw_year) <= YEAR_MAX
        ):
            raise ValidationError({"year": [f"年度应为 {YEAR_MIN} 到 {YEAR_MAX} 之间的整数。"]})
        year = int(raw_year) if raw_year else selectors.default_dashboard_year()
        raw_area = request.query_params.get("area", "")
        if raw_area:
            parsed = parse_area(raw_area)
            if parsed is None:
                raise ValidationError(
                    {"area": "地区格式应为 city、county:<id>、township:<id> 或 village:<id>。"}
                )
        else:
            parsed = selectors.home_area_for_user(user=request.user)
            if parsed is None:
                raise NotFound
        try:
            area = selectors.area_for_user(user=request.user, level=parsed[0], pk=parsed[1])
        except Http404 as exc:  # outside the user's area, or missing: the same answer
            raise NotFound from exc
        refreshing = refresh_if_due()
        board = selectors.dashboard_for(area=area, year=year)
        data = {
            "year": year,
            "area": {"level": area.level, "id": area.pk, "name": area.name, "code": area.code},
            "as_of": board.get("as_of"),
            "computed_at": board.get("computed_at"),
            "refreshing": refreshing,
            "indicators": [] if board.get("empty") else list(board["figures"].values()),
            "children": [
                {
                    "level": board["child_level"],
                    "id": c["pk"],
                    "name": c["name"],
                    "code": c["code"],
                    "values": {
                        code: {"numerator": n, "denominator": d, "share": c["shares"].get(code)}
                        for code, (n, d) in c["values"].items()
                        if code in SPECS
                    },
                    "ranks": c["ranks"],
                }
                for c in board.get("children", [])
            ],
        }
        return Response(IndicatorResponseSerializer(data).data)
