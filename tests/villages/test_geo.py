"""villages.geo (datums, distances, polygons) and villages.outlines (the vendored county
outlines read on the server)."""

import pytest

from villages import geo
from villages.outlines import county_outline, parse_outlines

# Published pairs (WGS-84 -> GCJ-02) from two independent implementations' test suites:
# googollee/eviltransform and wandergis/coordtransform.
PUBLISHED = [
    ((31.1774276, 121.5272106), (31.17530398364597, 121.531541859215)),  # Shanghai
    ((22.543847, 113.912316), (22.540796131694766, 113.9171764808363)),  # Shenzhen
    ((39.911954, 116.377817), (39.91334545536069, 116.38404722455657)),  # Beijing
    ((39.915, 116.404), (39.91640428150164, 116.41024449916938)),
]
# Points in Xuchang (WGS-84): the city centre, 鄢陵县城, 禹州市城, 长葛市城.
XUCHANG = [(34.0357, 113.8522), (34.1023, 114.1772), (34.1405, 113.4882), (34.2172, 113.7685)]


@pytest.mark.parametrize(("wgs", "gcj"), PUBLISHED)
def test_forward_transform_matches_published_pairs(wgs, gcj):
    lat, lon = geo.wgs84_to_gcj02(*wgs)
    assert geo.haversine_km(lat, lon, *gcj) * 1000 < 0.01


@pytest.mark.parametrize(("wgs", "gcj"), PUBLISHED)
def test_inverse_recovers_published_wgs84_within_a_metre(wgs, gcj):
    lat, lon = geo.gcj02_to_wgs84(*gcj)
    assert geo.haversine_km(lat, lon, *wgs) * 1000 < 1


@pytest.mark.parametrize("wgs", XUCHANG)
def test_xuchang_points_round_trip_within_a_metre_and_move_hundreds(wgs):
    gcj = geo.wgs84_to_gcj02(*wgs)
    back = geo.gcj02_to_wgs84(*gcj)
    assert geo.haversine_km(*back, *wgs) * 1000 < 1
    # the offset itself is real: a file in the wrong datum is hundreds of metres off
    assert 0.2 < geo.haversine_km(*gcj, *wgs) < 1.0


def test_points_outside_china_are_left_alone():
    assert geo.out_of_china(51.5, -0.12)
    assert geo.wgs84_to_gcj02(51.5, -0.12) == (51.5, -0.12)
    assert geo.gcj02_to_wgs84(51.5, -0.12) == (51.5, -0.12)
    assert not geo.out_of_china(34.03, 113.85)


def test_haversine_known_distances():
    # one degree of latitude is 111.2 km on the mean sphere
    assert geo.haversine_km(34, 113, 35, 113) == pytest.approx(111.19, abs=0.01)
    assert geo.haversine_km(34, 113, 34, 113) == 0
    # Beijing to Shanghai, about 1,067 km
    assert geo.haversine_km(39.9042, 116.4074, 31.2304, 121.4737) == pytest.approx(1067, abs=3)


SQUARE = [[(113.0, 34.0), (114.0, 34.0), (114.0, 35.0), (113.0, 35.0)]]
WITH_HOLE = [SQUARE[0], [(113.4, 34.4), (113.6, 34.4), (113.6, 34.6), (113.4, 34.6)]]


def test_point_in_polygon_and_holes():
    assert geo.in_polygon(34.5, 113.5, SQUARE)
    assert not geo.in_polygon(35.5, 113.5, SQUARE)
    assert not geo.in_polygon(34.5, 113.5, WITH_HOLE)
    assert geo.in_polygon(34.2, 113.2, WITH_HOLE)


def test_distance_outside_a_polygon():
    assert geo.km_outside(34.5, 113.5, [SQUARE]) == 0
    # 0.1° north of the top edge
    assert geo.km_outside(35.1, 113.5, [SQUARE]) == pytest.approx(11.12, abs=0.05)


def test_median():
    assert geo.median([3, 1, 2]) == 2
    assert geo.median([4, 1, 3, 2]) == 2.5


def test_the_six_outlines_are_read_from_the_vendored_file():
    for name in ("魏都区", "建安区", "鄢陵县", "襄城县", "禹州市", "长葛市"):
        assert county_outline(name) is not None, name
    assert county_outline("许昌经济技术开发区") is None
    assert county_outline("甲县") is None


@pytest.mark.parametrize(
    ("name", "point"),
    [
        ("魏都区", XUCHANG[0]),
        ("鄢陵县", XUCHANG[1]),
        ("禹州市", XUCHANG[2]),
        ("长葛市", XUCHANG[3]),
    ],
)
def test_county_seats_lie_in_their_own_county_only(name, point):
    outline = county_outline(name)
    assert outline.contains(*point)
    others = [n for n in ("魏都区", "鄢陵县", "禹州市", "长葛市") if n != name]
    assert not any(county_outline(n).contains(*point) for n in others)


def test_distance_outside_a_county():
    yanling = county_outline("鄢陵县")
    assert yanling.km_outside(*XUCHANG[1]) == 0
    # 禹州市 lies some 50–70 km west of 鄢陵县's western edge
    assert 30 < yanling.km_outside(*XUCHANG[2]) < 80


def test_parse_decodes_echarts_packed_rings():
    # one square ring, packed the way ECharts packs it: zig-zag deltas + 64, scale 1024
    def enc(v):
        return chr(((v << 1) ^ (v >> 31)) + 64)

    deltas = [(0, 0), (1024, 0), (0, 1024), (-1024, 0)]
    text = "".join(enc(dx) + enc(dy) for dx, dy in deltas)
    source = (
        '{type:"Feature",id:"411099",properties:{name:"测试县",cp:[1,2],childNum:1},'
        'geometry:{type:"Polygon",coordinates:["' + text + '"],'
        "encodeOffsets:[[141312,35840]]}}"
    )
    outline = parse_outlines(source)["测试县"]
    assert outline.gcj_polygons[0][0] == [
        (138.0, 35.0),
        (139.0, 35.0),
        (139.0, 36.0),
        (138.0, 36.0),
    ]
    # outside China: no datum shift, so the WGS-84 rings are the same
    assert outline.contains(35.5, 138.5)
