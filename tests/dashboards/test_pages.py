"""Dashboard pages, export, refresh, targets and the API: scoped (404 outside the user's
area), served from snapshots in a bounded number of queries."""

import datetime
import io

import pytest
from openpyxl import load_workbook

from dashboards.models import IndicatorSnapshot, Target
from dashboards.services import compute_snapshots
from tests.dashboards.conftest import YEAR
from tests.helpers import api_schema

TODAY = datetime.date(2025, 6, 1)


@pytest.fixture
def computed(world):
    compute_snapshots(year=YEAR, today=TODAY)
    compute_snapshots(year=YEAR - 1, today=TODAY)
    return world


def pages(world):
    a, b = world.county_a, world.county_b
    t, v = world.townships, world.villages
    return {
        "city": "/dashboards/city/",
        "county_a": f"/dashboards/county/{a.pk}/",
        "county_b": f"/dashboards/county/{b.pk}/",
        "township_a1": f"/dashboards/township/{t['A1'].pk}/",
        "township_b1": f"/dashboards/township/{t['B1'].pk}/",
        "village_a1v1": f"/dashboards/village/{v['a1v1'].pk}/",
        "village_b1v1": f"/dashboards/village/{v['b1v1'].pk}/",
        "export_city": "/dashboards/city/export/",
        "export_county_a": f"/dashboards/county/{a.pk}/export/",
        "export_county_b": f"/dashboards/county/{b.pk}/export/",
        "export_township_b1": f"/dashboards/township/{t['B1'].pk}/export/",
        "export_village_b1v1": f"/dashboards/village/{v['b1v1'].pk}/export/",
        "api_city": "/api/indicators/?area=city",
        "api_county_a": f"/api/indicators/?area=county:{a.pk}",
        "api_county_b": f"/api/indicators/?area=county:{b.pk}",
        "api_township_b1": f"/api/indicators/?area=township:{t['B1'].pk}",
        "api_village_b1v1": f"/api/indicators/?area=village:{v['b1v1'].pk}",
    }


VISIBLE = {
    "city_admin": "all",
    "city_viewer": "all",
    "superuser": "all",
    "county_official": {
        "county_a",
        "township_a1",
        "village_a1v1",
        "export_county_a",
        "api_county_a",
    },
    "township_official": {"township_a1", "village_a1v1"},
    "cadre_user": {"village_a1v1"},
    "no_role_user": set(),
}


@pytest.mark.parametrize("who", list(VISIBLE))
def test_every_page_export_and_api_is_scoped(computed, users, client, login, who):
    login(client, users[who])
    for name, url in pages(computed).items():
        sep = "&" if "?" in url else "?"
        response = client.get(f"{url}{sep}year={YEAR}")
        allowed = VISIBLE[who] == "all" or name in VISIBLE[who]
        assert response.status_code == (200 if allowed else 404), (who, name, response.status_code)


def test_anonymous_is_sent_to_the_login(computed, client):
    response = client.get(f"/dashboards/county/{computed.county_a.pk}/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert client.get("/api/indicators/?area=city").status_code in (401, 403)


@pytest.mark.parametrize(
    ("who", "landing"),
    [
        ("city_admin", "/dashboards/city/"),
        ("county_official", "county"),
        ("township_official", "township"),
        ("cadre_user", "village"),
    ],
)
def test_home_opens_the_users_own_area(computed, users, client, login, who, landing):
    login(client, users[who])
    response = client.get("/dashboards/")
    assert response.status_code == 302 and landing in response["Location"]


def test_county_dashboard_shows_cards_charts_league_and_drill_down(
    computed, county_official, client, login
):
    login(client, county_official)
    response = client.get(f"/dashboards/county/{computed.county_a.pk}/?year={YEAR}")
    html = response.content.decode()
    assert "甲县 · 2024年度目标看板" in html
    assert 'data-indicator="three_star_plus_rate"' in html and "33.33%" in html  # 2 of 6
    assert "数据更新于" in html and "刷新数据" not in html
    for chart in ("chart-bars", "chart-levels", "chart-trend", "chart-types"):
        assert f'id="{chart}"' in html
    assert "chart-map" not in html  # the map is on the city dashboard
    a1 = computed.townships["A1"].pk
    assert f'href="/dashboards/township/{a1}/?year={YEAR}"' in html
    assert "乡镇(街道)排行榜" in html and "较上年" in html
    assert "推算方法" in html


def test_city_dashboard_has_the_map_and_a_refresh_button_for_admins(
    computed, city_admin, client, login
):
    login(client, city_admin)
    html = client.get(f"/dashboards/city/?year={YEAR}").content.decode()
    assert 'id="chart-map"' in html and "vendor/echarts-cities/xuchang.js" in html
    assert "刷新数据" in html
    assert 'id="dash-map"' in html and "甲县" in html


def test_village_page_shows_its_own_status(computed, county_official, client, login):
    login(client, county_official)
    village = computed.villages["a1v1"]
    html = client.get(f"/dashboards/village/{village.pk}/?year={YEAR}").content.decode()
    assert "本村(社区)党组织 2024 年度星级：<strong>5 星</strong>" in html
    assert 'data-indicator="sanling_village_rate"' in html
    assert "甲县" in html and "甲一镇" in html  # breadcrumbs up the tree


@pytest.mark.parametrize(
    "who", ["city_admin", "county_official", "township_official", "cadre_user"]
)
def test_dashboard_queries_do_not_grow_with_the_city(
    computed, users, client, login, who, django_assert_max_num_queries
):
    from tests.factories import RosterEntryFactory, TownshipFactory, VillageFactory

    login(client, users[who])
    target = client.get("/dashboards/")["Location"] + f"?year={YEAR}"
    client.get(target)  # fill the per-process caches
    with django_assert_max_num_queries(10):
        assert client.get(target).status_code == 200
    for i in range(6):
        township = TownshipFactory(county=computed.county_a, name=f"新镇{i}")
        for _ in range(3):
            RosterEntryFactory(roster=computed.roster, village=VillageFactory(township=township))
    compute_snapshots(year=YEAR, today=TODAY)
    client.get(target)
    with django_assert_max_num_queries(10):
        assert client.get(target).status_code == 200


def test_excel_export_has_one_formatted_sheet_per_indicator(
    computed, county_official, client, login
):
    login(client, county_official)
    response = client.get(f"/dashboards/county/{computed.county_a.pk}/export/?year={YEAR}")
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert "attachment" in response["Content-Disposition"]
    wb = load_workbook(io.BytesIO(response.content))
    assert wb.sheetnames[0] == "目标完成情况"
    assert "三星及以上党组织占比" in wb.sheetnames and "五星党组织" in wb.sheetnames
    assert len(wb.sheetnames) == 14
    ws = wb["三星及以上党组织占比"]
    assert ws["A2"].value == "地区（乡镇(街道)）" and ws["B2"].value == "三星及以上"
    assert ws["A3"].value == "甲县" and ws["B3"].value == 2 and ws["C3"].value == 6
    assert ws["A2"].font.bold and ws["D3"].number_format == "0.00"
    names = {ws.cell(row=r, column=1).value for r in range(4, ws.max_row + 1)}
    assert names == {"甲一镇", "甲二街道"}


def test_refresh_is_for_city_admins(computed, users, client, login):
    IndicatorSnapshot.objects.filter(year=YEAR).delete()
    login(client, users["county_official"])
    assert client.post("/dashboards/refresh/", {"year": YEAR}).status_code == 403
    assert not IndicatorSnapshot.objects.filter(year=YEAR).exists()
    login(client, users["city_admin"])
    response = client.post("/dashboards/refresh/", {"year": YEAR, "next": "/dashboards/city/"})
    assert response.status_code == 302
    assert IndicatorSnapshot.objects.filter(year=YEAR).exists()  # eager Celery in tests


def test_city_admin_edits_a_target_and_the_card_follows(computed, users, client, login):
    target = Target.objects.create(
        year=YEAR, indicator="three_star_plus_rate", comparison="gte", threshold=20
    )
    login(client, users["county_official"])
    assert client.get(f"/dashboards/targets/{target.pk}/").status_code == 404
    assert client.get("/dashboards/targets/").status_code == 200
    login(client, users["city_admin"])
    page = f"/dashboards/city/?year={YEAR}"
    assert (
        'data-indicator="three_star_plus_rate" data-status="met"'
        in client.get(page).content.decode()
    )
    response = client.post(
        f"/dashboards/targets/{target.pk}/",
        {
            "year": YEAR,
            "indicator": "three_star_plus_rate",
            "comparison": "gte",
            "threshold": "50",
            "area_level": "",
            "note": "提高",
        },
    )
    assert response.status_code == 302
    assert target.history.count() == 2
    assert (
        'data-indicator="three_star_plus_rate" data-status="missed"'
        in client.get(page).content.decode()
    )


def test_api_returns_snapshots_with_statuses(computed, county_official, client, login):
    Target.objects.create(
        year=YEAR, indicator="three_star_plus_rate", comparison="gte", threshold=30
    )
    login(client, county_official)
    data = client.get(f"/api/indicators/?year={YEAR}").json()  # default: own county
    assert data["area"] == {
        "level": "county",
        "id": computed.county_a.pk,
        "name": "甲县",
        "code": computed.county_a.code,
    }
    figures = {f["indicator"]: f for f in data["indicators"]}
    three = figures["three_star_plus_rate"]
    assert (three["numerator"], three["denominator"], three["status"]) == (2, 6, "met")
    assert three["target"]["threshold"] == "30.00"
    assert {c["name"] for c in data["children"]} == {"甲一镇", "甲二街道"}
    assert client.get("/api/indicators/?area=county:x").status_code == 400
    assert client.get("/api/indicators/?year=abc").status_code == 400


def test_api_schema_documents_one_object_and_the_404():
    # the `list` action was documented as an array of figures; it answers one object
    responses = api_schema()["paths"]["/api/indicators/"]["get"]["responses"]

    body = responses["200"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/IndicatorResponse"}
    assert {"400", "403", "404"} <= set(responses)


def test_refresh_refuses_a_bad_year(computed, city_admin, client, login):
    login(client, city_admin)
    response = client.post("/dashboards/refresh/", {"year": "20x4"}, follow=True)
    assert "请选择有效的年度。" in response.content.decode()


def test_a_recomputation_shows_on_the_cached_page(computed, county_official, client, login):
    from tests.visits.helpers import VisitFactory

    login(client, county_official)
    page = f"/dashboards/county/{computed.county_a.pk}/?year={YEAR}"
    assert 'data-indicator="visits"' in client.get(page).content.decode()
    before = client.get(page).content.decode()
    assert '<div class="dash-value-sm">10</div>' in before
    for day in (1, 2):
        VisitFactory(
            cadre=computed.cadres["a1v1"],
            village=computed.villages["a1v2"],
            date=datetime.date(YEAR, 6, day),
        )
    # served from the snapshots until they are recomputed
    assert '<div class="dash-value-sm">10</div>' in client.get(page).content.decode()
    compute_snapshots(year=YEAR, today=TODAY)
    assert '<div class="dash-value-sm">12</div>' in client.get(page).content.decode()


def test_only_city_admins_change_targets_through_the_service(area, users):
    from django.core.exceptions import PermissionDenied

    from dashboards.services import target_delete, target_save

    target = Target(year=YEAR, indicator="five_star_count", comparison="gte", threshold=5)
    for who in ("city_viewer", "county_official", "township_official", "cadre_user"):
        with pytest.raises(PermissionDenied):
            target_save(actor=users[who], target=target)
    target_save(actor=users["city_admin"], target=target)
    assert target.history.first().history_user == users["city_admin"]
    with pytest.raises(PermissionDenied):
        target_delete(actor=users["county_official"], target=target)
    target_delete(actor=users["city_admin"], target=target)
    assert not Target.objects.filter(year=YEAR, indicator="five_star_count").exists()
