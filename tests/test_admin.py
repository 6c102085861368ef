"""The Django admin is scoped like the rest of the portal: changelists, change and history
pages, foreign-key choices and saves all stay inside the signed-in official's area.

The world is the `area` fixture (tests/conftest.py): county A (甲县: townships A1 甲一镇 and
A2 甲二街道, villages a1v1…a2v3) and county B (乙县: township B1 乙一乡, villages b1v1, b1v2);
cadres a1v1, lx_a2 (city unit, 联乡 A2), b1v1 and cross (county-A unit, 帮村 b1v2).
Model permissions come from the real role groups in villages/demo.py.
"""

import pytest

from villages.demo import role_groups
from villages.models import UserRole, Village

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.filterwarnings("ignore:No directory at:UserWarning"),
]

A_VILLAGES = {"a1v1", "a1v2", "a1v3", "a2v1", "a2v2", "a2v3"}
ALL_VILLAGES = A_VILLAGES | {"b1v1", "b1v2"}


def make_staff(user, role):
    """Give `user` the admin flag and the model permissions of `role`'s group."""
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    user.groups.add(role_groups()[role])
    return user


@pytest.fixture
def county_admin_client(client, county_official):
    make_staff(county_official, UserRole.Role.COUNTY_OFFICIAL)
    client.force_login(county_official)
    return client


@pytest.fixture
def city_admin_client(client, city_admin):
    make_staff(city_admin, UserRole.Role.CITY_ADMIN)
    client.force_login(city_admin)
    return client


def shown(response, objects: dict) -> set[str]:
    """Labels of the objects on a changelist page."""
    by_pk = {obj.pk: label for label, obj in objects.items()}
    return {by_pk.get(obj.pk, f"<pk {obj.pk}>") for obj in response.context["cl"].result_list}


def village_form_data(village: Village, **changes) -> dict:
    data = {
        "code": village.code,
        "name": village.name,
        "official_name": village.official_name,
        "kind": village.kind,
        "township": village.township_id,
        "households": village.households or "",
        "population": village.population or "",
        "secretary_name": village.secretary_name,
        "secretary_phone": village.secretary_phone,
        "_save": "保存",
    }
    if village.in_statistical_roster:
        data["in_statistical_roster"] = "on"
    data.update(changes)
    return data


# ----- changelists -----


def test_county_official_sees_only_their_villages(county_admin_client, area):
    response = county_admin_client.get("/admin/villages/village/")

    assert response.status_code == 200
    assert shown(response, area.villages) == A_VILLAGES
    html = response.content.decode()
    assert "a1v1村" in html
    assert "b1v1村" not in html


def test_county_official_sees_only_their_cadres(county_admin_client, area):
    response = county_admin_client.get("/admin/villages/cadre/")

    # linked to county A (a1v1, lx_a2) or sent by a county-A unit (a1v1, cross)
    assert shown(response, area.cadres) == {"a1v1", "lx_a2", "cross"}
    assert "乙一干部" not in response.content.decode()


def test_county_official_sees_only_their_assignments(county_admin_client, area):
    response = county_admin_client.get("/admin/villages/assignment/")

    assert shown(response, area.assignments) == {"a1v1", "lx_a2"}


def test_county_official_sees_only_their_townships(county_admin_client, area):
    response = county_admin_client.get("/admin/villages/township/")

    assert shown(response, area.townships) == {"A1", "A2"}


def test_city_admin_sees_everything(city_admin_client, area):
    villages = city_admin_client.get("/admin/villages/village/")
    cadres = city_admin_client.get("/admin/villages/cadre/")
    assignments = city_admin_client.get("/admin/villages/assignment/")
    other_county = city_admin_client.get(
        f"/admin/villages/village/{area.villages['b1v1'].pk}/change/"
    )

    assert shown(villages, area.villages) == ALL_VILLAGES
    assert shown(cadres, area.cadres) == {"a1v1", "lx_a2", "b1v1", "cross"}
    assert shown(assignments, area.assignments) == {"a1v1", "lx_a2", "b1v1", "cross"}
    assert other_county.status_code == 200


@pytest.mark.parametrize(
    "url", ["/admin/villages/village/", "/admin/villages/township/", "/admin/villages/workunit/"]
)
def test_changelist_filters_do_not_list_other_counties(
    client, area, county_official, city_admin, url
):
    # given
    make_staff(county_official, UserRole.Role.COUNTY_OFFICIAL)
    make_staff(city_admin, UserRole.Role.CITY_ADMIN)

    # when
    client.force_login(city_admin)
    for_city = client.get(url)
    client.force_login(county_official)
    for_county = client.get(url)

    # then: the city sees 乙县 (in the county filter), county A's official does not
    assert "乙县" in for_city.content.decode()
    assert for_county.status_code == 200
    assert "乙县" not in for_county.content.decode()


# ----- single objects: change and history pages -----


@pytest.mark.parametrize("view", ["change", "history"])
def test_out_of_scope_village_pages_are_404(county_admin_client, area, view):
    # given
    inside = area.villages["a2v2"]
    outside = area.villages["b1v1"]

    # when
    own = county_admin_client.get(f"/admin/villages/village/{inside.pk}/{view}/")
    other = county_admin_client.get(f"/admin/villages/village/{outside.pk}/{view}/")

    # then
    assert own.status_code == 200
    assert other.status_code == 404
    assert "b1v1村" not in other.content.decode()


def test_out_of_scope_history_version_is_404(county_admin_client, area):
    village = area.villages["b1v2"]
    version = village.history.first()

    response = county_admin_client.get(
        f"/admin/villages/village/{village.pk}/history/{version.history_id}/"
    )

    assert response.status_code == 404


def test_out_of_scope_cadre_change_page_is_404(county_admin_client, area):
    own = county_admin_client.get(f"/admin/villages/cadre/{area.cadres['cross'].pk}/change/")
    other = county_admin_client.get(f"/admin/villages/cadre/{area.cadres['b1v1'].pk}/change/")

    assert own.status_code == 200
    assert other.status_code == 404


# ----- saving -----


def test_county_official_saves_a_village_and_history_names_them(
    county_admin_client, county_official, area
):
    # given
    village = area.villages["a1v2"]

    # when
    response = county_admin_client.post(
        f"/admin/villages/village/{village.pk}/change/",
        village_form_data(village, secretary_name="李书记", households=456),
    )

    # then
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert response["Location"] == "/admin/villages/village/"
    village.refresh_from_db()
    assert village.secretary_name == "李书记"
    assert village.households == 456
    latest = village.history.order_by("-history_id").first()
    assert latest.history_type == "~"
    assert latest.history_user == county_official
    assert latest.secretary_name == "李书记"


def test_moving_a_village_into_another_county_is_refused(county_admin_client, area):
    # given: a code that would fit township B1, so only the scope can refuse it
    village = area.villages["a1v2"]
    b1 = area.townships["B1"]
    history_before = village.history.count()

    # when
    response = county_admin_client.post(
        f"/admin/villages/village/{village.pk}/change/",
        village_form_data(village, township=b1.pk, code=f"{b1.code}777"),
    )

    # then
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "township" in errors
    assert "选择一个有效的选项" in errors["township"][0]
    village.refresh_from_db()
    assert village.township == area.townships["A1"]
    assert village.history.count() == history_before


def test_county_official_cannot_post_to_an_out_of_scope_village(county_admin_client, area):
    village = area.villages["b1v1"]

    response = county_admin_client.post(
        f"/admin/villages/village/{village.pk}/change/",
        village_form_data(village, name="改掉"),
    )

    assert response.status_code == 404
    village.refresh_from_db()
    assert village.name == "b1v1村"


def test_county_official_adds_a_village_in_their_county(county_admin_client, county_official, area):
    # given
    a2 = area.townships["A2"]

    # when
    response = county_admin_client.post(
        "/admin/villages/village/add/",
        {
            "code": f"{a2.code}888",
            "name": "新设社区",
            "kind": Village.Kind.URBAN_COMMUNITY,
            "township": a2.pk,
            "_save": "保存",
        },
    )

    # then
    assert response.status_code == 302
    village = Village.objects.get(code=f"{a2.code}888")
    assert village.township == a2
    assert village.history.get().history_user == county_official


def test_township_official_with_view_rights_cannot_change(client, township_official, area):
    # given
    make_staff(township_official, UserRole.Role.TOWNSHIP_OFFICIAL)
    client.force_login(township_official)
    village = area.villages["a1v1"]

    # when
    listing = client.get("/admin/villages/village/")
    posted = client.post(
        f"/admin/villages/village/{village.pk}/change/", village_form_data(village, name="改掉")
    )

    # then
    assert shown(listing, area.villages) == {"a1v1", "a1v2", "a1v3"}
    assert posted.status_code == 403
    village.refresh_from_db()
    assert village.name == "a1v1村"


# ----- foreign-key choices -----


def test_township_choices_on_the_village_form_are_in_scope_only(county_admin_client, area):
    # when
    add = county_admin_client.get("/admin/villages/village/add/")
    change = county_admin_client.get(f"/admin/villages/village/{area.villages['a1v1'].pk}/change/")

    # then
    expected = {area.townships["A1"].pk, area.townships["A2"].pk}
    for response in (add, change):
        field = response.context["adminform"].form.fields["township"]
        assert {t.pk for t in field.queryset} == expected


def test_township_autocomplete_is_in_scope_only(county_admin_client, area):
    # given: the village form's township widget fetches its choices from here
    params = {"app_label": "villages", "model_name": "village", "field_name": "township"}

    # when
    everything = county_admin_client.get("/admin/autocomplete/", params)
    searched = county_admin_client.get("/admin/autocomplete/", {**params, "term": "乙"})

    # then
    assert everything.status_code == 200
    ids = {int(item["id"]) for item in everything.json()["results"]}
    assert ids == {area.townships["A1"].pk, area.townships["A2"].pk}
    assert searched.json()["results"] == []


# ----- language -----


def test_admin_is_chinese(county_admin_client, area):
    index = county_admin_client.get("/admin/")
    changelist = county_admin_client.get("/admin/villages/village/")
    change = county_admin_client.get(f"/admin/villages/village/{area.villages['a1v1'].pk}/change/")

    index_html = index.content.decode()
    assert '<html lang="zh-hans"' in index_html
    assert "许昌市“联乡帮村”工作平台 · 管理后台" in index_html
    assert "数据管理" in index_html
    assert "最近动作" in index_html
    assert "首页" in changelist.content.decode()
    assert "选择 村(社区) 来修改" in changelist.content.decode()
    assert "修改 村(社区)" in change.content.decode()


def test_only_city_admins_link_a_login_to_a_cadre(county_admin_client, county_official, area):
    # given: a cadre of county A's own unit, and the change page the county official sees
    cadre = area.cadres["a1v1"]
    page = county_admin_client.get(f"/admin/villages/cadre/{cadre.pk}/change/")

    # then: the login field is shown read-only (no input named "user")
    assert page.status_code == 200
    assert 'name="user"' not in page.content.decode()

    # and the service refuses it whatever the interface
    from django.core.exceptions import PermissionDenied

    from villages.services import record_save

    cadre.user = county_official
    with pytest.raises(PermissionDenied):
        record_save(actor=county_official, instance=cadre)


def test_a_non_numeric_history_url_is_404_not_500(county_admin_client):
    response = county_admin_client.get("/admin/villages/village/abc/history/")

    assert response.status_code == 404
