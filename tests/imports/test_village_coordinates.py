"""The 村(社区)花名册's optional 经度/纬度/坐标系 columns: WGS-84 stored as given, GCJ-02
converted, and each bad cell refused with a row error naming its column."""

from decimal import Decimal

import pytest

from core.importing.engine import CHANGED, NEW, UNCHANGED
from core.importing.workbook import template_workbook
from tests.factories import CountyFactory, TownshipFactory, VillageFactory
from tests.imports.builders import (
    VILLAGE_HEADERS,
    build_world,
    city_admin_user,
    commit_plan,
    issue_strings,
    plan_of,
    shown,
    village_values,
    villages_xlsx,
)
from villages import geo
from villages.import_kinds import VillageSheet
from villages.models import LocationSource, Village
from villages.outlines import county_outline

pytestmark = pytest.mark.django_db
HEADERS = (*VILLAGE_HEADERS, "经度", "纬度", "坐标系")
# 裴庄村's neighbourhood in 鄢陵县 (WGS-84)
LAT, LON = 34.102345, 114.177211


@pytest.fixture
def world():
    return build_world(villages_per_township=1)


@pytest.fixture
def yanling():
    """A county named like one of the vendored outlines, with one village."""
    county = CountyFactory(code="411024", name="鄢陵县")
    township = TownshipFactory(county=county, code="411024107", name="张桥镇")
    return VillageFactory(township=township, code="411024107225", name="裴庄村")


def _plan(rows, **kwargs):
    return plan_of("villages", villages_xlsx(rows, headers=HEADERS), **kwargs)


def _row(village, **coords):
    return village_values(village, **{"经度": "", "纬度": "", "坐标系": "", **coords})


def test_wgs84_coordinates_are_stored_as_given_with_source_roster(yanling):
    plan, ctx = _plan([_row(yanling, 经度=LON, 纬度=LAT, 坐标系="WGS-84")])

    assert plan.issues == []
    [item] = plan.items
    assert item.status == CHANGED
    assert shown(item.changes) == {"纬度": ["", str(LAT)], "经度": ["", str(LON)]}
    commit_plan(plan, ctx)
    yanling.refresh_from_db()
    assert (yanling.latitude, yanling.longitude) == (Decimal(str(LAT)), Decimal(str(LON)))
    assert yanling.location_source == LocationSource.ROSTER
    assert yanling.history.first().latitude == Decimal(str(LAT))


@pytest.mark.parametrize("datum", ["GCJ-02", "gcj02", "火星坐标", "高德", "腾讯"])
def test_gcj02_coordinates_are_converted_to_wgs84(yanling, datum):
    g_lat, g_lon = geo.wgs84_to_gcj02(LAT, LON)
    plan, ctx = _plan([_row(yanling, 经度=round(g_lon, 6), 纬度=round(g_lat, 6), 坐标系=datum)])

    assert plan.issues == []
    commit_plan(plan, ctx)
    yanling.refresh_from_db()
    assert geo.haversine_km(yanling.latitude, yanling.longitude, LAT, LON) * 1000 < 1


@pytest.mark.parametrize("datum", ["", "WGS84", "GPS", "wgs-84"])
def test_blank_and_other_wgs84_spellings_are_wgs84(yanling, datum):
    plan, ctx = _plan([_row(yanling, 经度=str(LON), 纬度=str(LAT), 坐标系=datum)])

    assert plan.issues == []
    commit_plan(plan, ctx)
    yanling.refresh_from_db()
    assert yanling.latitude == Decimal(str(LAT))


def test_blank_coordinates_leave_a_stored_point_alone(yanling):
    yanling.latitude, yanling.longitude = Decimal("34.1"), Decimal("114.17")
    yanling.location_source = LocationSource.CONFIRMED
    yanling.save()

    plan, _ = _plan([_row(yanling)])

    assert plan.issues == []
    assert plan.items[0].status == UNCHANGED


def test_the_same_point_again_keeps_its_source(yanling):
    yanling.latitude, yanling.longitude = Decimal(str(LAT)), Decimal(str(LON))
    yanling.location_source = LocationSource.CONFIRMED
    yanling.save()

    plan, ctx = _plan([_row(yanling, 经度=LON, 纬度=LAT, 户数=321)])
    commit_plan(plan, ctx)

    yanling.refresh_from_db()
    assert yanling.households == 321
    assert yanling.location_source == LocationSource.CONFIRMED


def test_new_village_with_coordinates(yanling):
    row = _row(yanling, 经度=LON, 纬度=LAT)
    row.update({"统计用区划代码": "411024107901", "村(社区)名称": "新庄村"})

    plan, ctx = _plan([row])

    assert plan.issues == []
    assert plan.items[0].status == NEW
    commit_plan(plan, ctx)
    new = Village.objects.get(code="411024107901")
    assert new.location_source == LocationSource.ROSTER
    assert new.longitude == Decimal(str(LON))


@pytest.mark.parametrize(
    ("coords", "expected"),
    [
        ({"经度": LON, "纬度": 95}, "第2行 纬度: 纬度“95”超出范围（-90 到 90）"),
        ({"经度": 181.5, "纬度": LAT}, "第2行 经度: 经度“181.5”超出范围（-180 到 180）"),
        ({"经度": LON}, "第2行 纬度: 填了经度就须同时填纬度"),
        ({"纬度": LAT}, "第2行 经度: 填了纬度就须同时填经度"),
        (
            {"经度": "东经114度", "纬度": LAT},
            "第2行 经度: 经度“东经114度”必须是数字（十进制度数，如 113.852311）",
        ),
        (
            {"经度": LON, "纬度": LAT, "坐标系": "BD-09"},
            "第2行 坐标系: 坐标系“BD-09”无法识别：请填 WGS-84 或 GCJ-02（百度坐标须先转换）",
        ),
    ],
)
def test_bad_coordinate_cells_are_row_errors(yanling, coords, expected):
    plan, ctx = _plan([_row(yanling, **coords)])

    assert issue_strings(plan) == [expected]
    assert plan.valid_items() == []
    commit_plan(plan, ctx)
    yanling.refresh_from_db()
    assert yanling.latitude is None


def test_a_point_far_outside_the_county_is_refused(yanling):
    # 禹州市's town centre: some 60 km west of 鄢陵县
    plan, _ = _plan([_row(yanling, 经度=113.4882, 纬度=34.1405)])

    [message] = issue_strings(plan)
    assert message.startswith("第2行 经度: 坐标（纬度 34.140500，经度 113.488200）在鄢陵县边界外约")
    assert "超过 20 公里" in message


def test_swapped_latitude_and_longitude_are_refused(yanling):
    plan, _ = _plan([_row(yanling, 经度=LAT, 纬度=LON)])

    assert issue_strings(plan) == ["第2行 纬度: 纬度“114.177211”超出范围（-90 到 90）"]


def test_a_point_just_over_the_county_edge_is_accepted(yanling):
    # 10 km north of 鄢陵县's northernmost point: within the 20 km tolerance
    outline = county_outline("鄢陵县")
    north = max((p for poly in outline.polygons for p in poly[0]), key=lambda p: p[1])
    lat = north[1] + 10 / 111.19
    assert 9 < outline.km_outside(lat, north[0]) <= 10.01

    plan, _ = _plan([_row(yanling, 经度=round(north[0], 6), 纬度=round(lat, 6))])

    assert plan.issues == []


def test_counties_without_an_outline_are_only_range_checked(world):
    village = world.villages["a1v1"]  # 甲县: not in the vendored outlines
    plan, ctx = _plan([_row(village, 经度=100.5, 纬度=30.25)])

    assert plan.issues == []
    commit_plan(plan, ctx)
    village.refresh_from_db()
    assert village.longitude == Decimal("100.5")


def test_the_template_says_which_datum_the_columns_use():
    import io

    from openpyxl import load_workbook

    wb = load_workbook(io.BytesIO(template_workbook(VillageSheet())))
    headers = [c.value for c in wb.worksheets[0][1]]
    assert headers[-3:] == ["经度", "纬度", "坐标系"]
    guide = {row[0]: row[1] for row in wb["填表说明"].iter_rows(values_only=True)}
    assert "WGS-84" in guide["坐标系"] and "GCJ-02" in guide["坐标系"]
    assert "高德" in guide["坐标系"]


def test_export_round_trips_through_the_import(yanling):
    from villages.exports import VILLAGE_HEADERS as EXPORTED
    from villages.exports import village_row

    yanling.latitude, yanling.longitude = Decimal(str(LAT)), Decimal(str(LON))
    yanling.location_source = LocationSource.DEMO
    yanling.save()
    row = dict(zip(EXPORTED, village_row(yanling), strict=True))

    plan, _ = plan_of(
        "villages",
        villages_xlsx([row], headers=EXPORTED),
        actor=city_admin_user(),
    )

    assert plan.issues == []
    assert plan.items[0].status == UNCHANGED
