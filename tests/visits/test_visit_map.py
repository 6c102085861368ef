"""The officials' visits map (走访地图) through the Django test client: who may open it,
whose points it carries, the day and month it shows, the flagged visits, and a fixed
number of queries.

The world is the `area` fixture (tests/conftest.py): county A (甲县) with townships A1
(甲一镇: a1v1, a1v2, a1v3) and A2 (甲二街道: a2v1, a2v2, a2v3); county B (乙县) with B1
(乙一乡: b1v1, b1v2). The map's points are read from the page's json_script block, as
its script reads them.
"""

import datetime
import json
import re
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.visits.helpers import VisitFactory
from visits.models import Visit

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.filterwarnings("ignore:No directory at:UserWarning"),
]

D = datetime.date
URL = "/visits/map/"
# Noon in Xuchang on a Monday of May 2024, inside the `area` fixture's assignments.
NOON = datetime.datetime(2024, 5, 20, 12, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
DATA = re.compile(r'<script id="visit-map-data" type="application/json">(.*?)</script>', re.S)


def map_data(response) -> dict:
    assert response.status_code == 200
    return json.loads(DATA.search(response.content.decode()).group(1))


def point_ids(response) -> set[int]:
    return {p["id"] for p in map_data(response)["points"]}


def visit(area, label, day, *, lat="34.10", lng="114.17", flag=False, **fields):
    """A visit at village `label` on `day`, with a GPS fix unless lat/lng are None."""
    cadre_of = {"A1": "a1v1", "A2": "lx_a2", "B1": "b1v1"}
    village = area.villages[label]
    return VisitFactory(
        cadre=area.cadres[cadre_of[next(k for k in cadre_of if label.startswith(k.lower()))]],
        village=village,
        date=day,
        latitude=None if lat is None else Decimal(lat),
        longitude=None if lng is None else Decimal(lng),
        location_flag=flag,
        distance_km=Decimal("7.50") if flag else Decimal("0.40"),
        **fields,
    )


@pytest.fixture
def client_as(users, client):
    def _as(who):
        if who != "anonymous":
            client.force_login(users[who])
        return client

    return _as


@pytest.fixture
def spread(area, users):
    """One located visit on 2024-05-14 in each township: a1v1, a2v1 (county A), b1v1 (B)."""
    day = D(2024, 5, 14)
    return {
        "a1": visit(area, "a1v1", day),
        "a2": visit(area, "a2v1", day),
        "b1": visit(area, "b1v1", day),
    }


# ----- who may open it -----


@pytest.mark.parametrize(
    "who, status",
    [
        ("township_official", 200),
        ("county_official", 200),
        ("city_admin", 200),
        ("city_viewer", 200),
        ("cadre_user", 403),
        ("township_cadre_user", 403),
        ("no_role_user", 403),
    ],
)
def test_officials_open_the_map_and_cadres_are_refused(client_as, who, status):
    response = client_as(who).get(URL)

    assert response.status_code == status
    if status == 403:
        assert "visit-map-data" not in response.content.decode()


def test_anonymous_is_sent_to_sign_in(client_as):
    response = client_as("anonymous").get(URL)

    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_the_navigation_links_the_map_for_officials_only(client_as, users, client):
    assert 'href="/visits/map/"' in client_as("township_official").get("/").content.decode()
    client.force_login(users["cadre_user"])
    assert 'href="/visits/map/"' not in client.get("/").content.decode()


# ----- scoping -----


def test_township_official_sees_only_their_townships_points(client_as, area, spread):
    response = client_as("township_official").get(URL, {"day": "2024-05-14"})

    assert point_ids(response) == {spread["a1"].pk}
    page = response.content.decode()
    assert f"/visits/{spread['b1'].pk}/" not in page


def test_county_official_sees_their_county_and_never_another(client_as, area, spread):
    response = client_as("county_official").get(URL, {"day": "2024-05-14"})

    assert point_ids(response) == {spread["a1"].pk, spread["a2"].pk}


def test_county_official_narrows_to_one_of_their_townships(client_as, area, spread):
    response = client_as("county_official").get(
        URL, {"day": "2024-05-14", "township": area.townships["A2"].pk}
    )

    assert point_ids(response) == {spread["a2"].pk}


def test_city_admin_narrows_to_a_county(client_as, area, spread):
    everything = client_as("city_admin").get(URL, {"day": "2024-05-14"})
    county_b = client_as("city_admin").get(URL, {"day": "2024-05-14", "county": area.county_b.pk})

    assert point_ids(everything) == {v.pk for v in spread.values()}
    assert point_ids(county_b) == {spread["b1"].pk}


@pytest.mark.parametrize(
    "who, param, target",
    [
        ("county_official", "county", "county_b"),
        ("county_official", "township", "B1"),
        ("township_official", "township", "A2"),
        ("township_official", "county", "county_b"),
        ("other_county_official", "township", "A1"),
        ("other_county_official", "county", "county_a"),
    ],
)
def test_another_area_by_query_parameter_is_404(client_as, area, spread, who, param, target):
    pk = area.townships[target].pk if param == "township" else getattr(area, target).pk

    response = client_as(who).get(URL, {"day": "2024-05-14", param: pk})

    assert response.status_code == 404
    assert "visit-map-data" not in response.content.decode()


@pytest.mark.parametrize("value", ["abc", "-1", "0", "99999999999999999999"])
def test_an_area_that_is_no_id_is_404(client_as, area, value):
    assert client_as("county_official").get(URL, {"township": value}).status_code == 404
    assert client_as("city_admin").get(URL, {"county": value}).status_code == 404


def test_village_points_are_the_areas_own(client_as, area):
    for label, (lat, lng) in {"a1v1": ("34.11", "114.18"), "b1v1": ("34.20", "113.80")}.items():
        village = area.villages[label]
        village.latitude, village.longitude = Decimal(lat), Decimal(lng)
        village.save(update_fields=["latitude", "longitude"])

    data = map_data(client_as("township_official").get(URL))

    assert data["villages"] == [
        {"id": area.villages["a1v1"].pk, "name": "a1v1村", "lng": 114.18, "lat": 34.11}
    ]


# ----- day and month -----


@time_machine.travel(NOON, tick=False)
def test_the_map_opens_on_today_when_there_are_visits_today(client_as, area):
    today = visit(area, "a1v1", D(2024, 5, 20))
    visit(area, "a1v2", D(2024, 5, 14))

    response = client_as("township_official").get(URL)

    assert point_ids(response) == {today.pk}
    assert response.context["day"] == D(2024, 5, 20)
    assert "2024年5月20日" in response.content.decode()


@time_machine.travel(NOON, tick=False)
def test_the_map_opens_on_the_latest_day_with_visits_otherwise(client_as, area):
    latest = visit(area, "a1v1", D(2024, 5, 14))
    visit(area, "a1v2", D(2024, 4, 30))
    visit(area, "a1v2", D(2024, 5, 25))  # after today: not the day to open on
    visit(area, "b1v1", D(2024, 5, 17))  # another county's day never counts

    response = client_as("township_official").get(URL)

    assert response.context["day"] == D(2024, 5, 14)
    assert point_ids(response) == {latest.pk}


@time_machine.travel(NOON, tick=False)
def test_by_month_defaults_to_this_month_and_takes_another(client_as, area):
    may = [visit(area, "a1v1", D(2024, 5, 2)), visit(area, "a1v2", D(2024, 5, 20))]
    april = visit(area, "a1v1", D(2024, 4, 30))
    visit(area, "a1v1", D(2024, 6, 1))

    this_month = client_as("township_official").get(URL, {"mode": "month"})
    other_month = client_as("township_official").get(URL, {"mode": "month", "month": "2024-04"})

    assert point_ids(this_month) == {v.pk for v in may}
    assert "2024年5月" in this_month.content.decode()
    assert point_ids(other_month) == {april.pk}


@time_machine.travel(NOON, tick=False)
def test_by_day_takes_the_day_asked_for(client_as, area):
    wanted = visit(area, "a1v1", D(2024, 5, 3))
    visit(area, "a1v1", D(2024, 5, 4))

    response = client_as("township_official").get(URL, {"mode": "day", "day": "2024-05-03"})

    assert point_ids(response) == {wanted.pk}


@time_machine.travel(NOON, tick=False)
@pytest.mark.parametrize(
    "params, message",
    [
        ({"mode": "day", "day": "2024-13-40"}, "日期格式应为"),
        ({"mode": "month", "month": "9999-12"}, "月份须在"),
        ({"mode": "month", "month": "2024-5"}, "月份格式应为"),
        ({"mode": "week"}, "选择一个有效的选项"),
    ],
)
def test_a_bad_period_is_named_in_chinese_and_the_default_shown(client_as, area, params, message):
    today = visit(area, "a1v1", D(2024, 5, 20))

    response = client_as("township_official").get(URL, params)

    assert message in response.content.decode()
    assert today.pk in point_ids(response)


# ----- flagged visits and the counts -----


def test_flagged_visits_are_marked_counted_and_listed(client_as, area):
    day = D(2024, 5, 14)
    flagged = visit(area, "a1v1", day, flag=True, lat="34.60", lng="114.90")
    plain = visit(area, "a1v2", day)
    visit(area, "a1v3", day, lat=None, lng=None)
    visit(area, "b1v1", day, flag=True)  # another county's, never counted

    response = client_as("township_official").get(URL, {"day": "2024-05-14"})
    points = {p["id"]: p for p in map_data(response)["points"]}

    assert points[flagged.pk]["flag"] is True
    assert points[flagged.pk]["km"] == 7.5
    assert (points[flagged.pk]["lng"], points[flagged.pk]["lat"]) == (114.9, 34.6)
    assert points[plain.pk]["flag"] is False
    assert response.context["result"]["counts"] == {
        "total": 3,
        "located": 2,
        "unlocated": 1,
        "flagged": 1,
    }
    assert [v["id"] for v in response.context["result"]["flagged"]] == [flagged.pk]
    assert f'href="/visits/{flagged.pk}/"' in response.content.decode()


def test_points_carry_their_state(client_as, area):
    day = D(2024, 5, 14)
    approved = visit(area, "a1v1", day, state=Visit.State.APPROVED)
    returned = visit(area, "a1v2", day, state=Visit.State.RETURNED)

    data = map_data(client_as("township_official").get(URL, {"day": "2024-05-14"}))

    assert {p["id"]: p["state"] for p in data["points"]} == {
        approved.pk: "approved",
        returned.pk: "returned",
    }
    assert data["states"]["approved"] == "已通过"
    assert data["detail"] == "/visits/0/"


def test_the_points_are_capped_with_a_note(client_as, area, monkeypatch):
    monkeypatch.setattr("visits.selectors.MAP_POINT_CAP", 3)
    for _ in range(5):
        visit(area, "a1v1", D(2024, 5, 14))

    response = client_as("township_official").get(URL, {"day": "2024-05-14"})

    assert len(map_data(response)["points"]) == 3
    assert "地图只显示最近的 3 条" in response.content.decode()


# ----- queries -----


@pytest.mark.parametrize("who", ["township_official", "county_official", "city_admin"])
def test_the_number_of_queries_does_not_grow_with_the_visits(
    client_as, area, who, django_assert_max_num_queries
):
    visit(area, "a1v1", D(2024, 5, 14), flag=True)
    client = client_as(who)
    params = {"mode": "month", "month": "2024-05", "township": area.townships["A1"].pk}
    with CaptureQueriesContext(connection) as few:
        assert client.get(URL, params).status_code == 200
    for n in range(30):
        visit(area, "a1v1" if n % 2 else "a1v2", D(2024, 5, 1 + n), flag=n % 3 == 0)

    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(URL, params)

    assert len(map_data(response)["points"]) == 31
    assert len(few.captured_queries) <= 15, [q["sql"] for q in few.captured_queries]
