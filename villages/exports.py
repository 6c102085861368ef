"""villages' export kinds (the village list and the 联乡/帮村 links), registered with
core.exports. Each kind turns (user, params) into a sheet, reading through the scoping
selectors, so an export never holds a row the user could not open on a page."""

from collections.abc import Sequence
from types import SimpleNamespace

from django.core.exceptions import ValidationError
from django.db.models import QuerySet

from core.exports import ExportKind, register
from villages.filters import VillageFilter
from villages.selectors import assignment_list_for_user, village_list_for_user


def _villages(*, user, params: dict) -> QuerySet:
    request = SimpleNamespace(user=user)
    visible = village_list_for_user(user=user).order_by("code")
    filterset = VillageFilter(params or {}, queryset=visible, request=request)
    if not filterset.is_valid():
        # Never widen an export silently: a bad filter is refused, not ignored.
        raise ValidationError(
            {field: [str(e) for e in errors] for field, errors in filterset.errors.items()}
        )
    return filterset.qs


VILLAGE_HEADERS = (
    "县(市、区)",
    "乡镇(街道)",
    "村(社区)名称",
    "统计用区划代码",
    "类型",
    "户数",
    "人口",
    "党组织书记",
    "联系电话",
    "原区划代码",
    "经度",
    "纬度",
    "坐标系",
)


def village_row(v) -> Sequence:
    return (
        v.township.county.name,
        v.township.name,
        v.name,
        v.code,
        v.get_kind_display(),
        v.households,
        v.population,
        v.secretary_name,
        v.secretary_phone,
        "",  # 原区划代码: filled in only when a village changes township
        v.longitude,
        v.latitude,
        "WGS-84" if v.latitude is not None else "",
    )


register(
    ExportKind(
        key="villages",
        label="村(社区)花名册",
        headers=VILLAGE_HEADERS,
        widths=(14, 16, 22, 18, 10, 8, 8, 12, 14, 18),
        queryset=_villages,
        row=village_row,
    )
)


CADRE_HEADERS = (
    "姓名",
    "手机号",
    "派出单位",
    "职务",
    "干部层级",
    "联系类型",
    "联系点区划代码",
    "年度",
    "开始日期",
    "结束日期",
)


def _assignments(*, user, params: dict) -> QuerySet:
    qs = assignment_list_for_user(user=user).order_by("year", "cadre__phone", "id")
    year = str((params or {}).get("year", "")).strip()
    return qs.filter(year=int(year)) if year.isdigit() else qs


def assignment_row(a) -> Sequence:
    return (
        a.cadre.name,
        a.cadre.phone,
        a.cadre.work_unit.name,
        a.cadre.position,
        a.cadre.get_level_display(),
        a.get_kind_display(),
        a.village.code if a.village_id else a.township.code,
        a.year,
        a.start_date,
        a.end_date,
    )


register(
    ExportKind(
        key="cadres",
        label="帮扶干部及联系点",
        headers=CADRE_HEADERS,
        widths=(10, 14, 22, 14, 10, 10, 18, 8, 12, 12),
        queryset=_assignments,
        row=assignment_row,
    )
)
