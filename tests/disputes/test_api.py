"""The 三零 API: scoped lists, 404 outside the area on every endpoint, 201 on create, 400
with Chinese field messages on bad input, masking per role, and the override action."""

import datetime

import pytest
from rest_framework.test import APIClient

from disputes.models import Dispute, Incident, Petition, SanlingStatus
from disputes.services import sanling_recompute
from tests.disputes.factories import (
    DisputeFactory,
    HazardFactory,
    IncidentFactory,
    PetitionFactory,
    UnitFactory,
)
from tests.helpers import api_schema

pytestmark = pytest.mark.django_db
D = datetime.date


@pytest.fixture
def api(users):
    def _as(who):
        client = APIClient()
        client.force_authenticate(users[who])
        return client

    return _as


@pytest.fixture
def world(area):
    rows = {}
    for label in ("a1v1", "b1v1"):
        village = area.villages[label]
        unit = UnitFactory(village=village)
        rows[label] = {
            "disputes": DisputeFactory(village=village),
            "petitions": PetitionFactory(
                village=village, level_reached="county", is_skip_level=True
            ),
            "incidents": IncidentFactory(village=village),
            "hazards": HazardFactory(village=village),
            "three-zero-units": unit,
        }
    sanling_recompute(year=2024)
    for label in ("a1v1", "b1v1"):
        rows[label]["sanling-statuses"] = SanlingStatus.objects.get(
            year=2024, village=area.villages[label]
        )
    return rows


ENDPOINTS = (
    "disputes",
    "petitions",
    "incidents",
    "hazards",
    "three-zero-units",
    "sanling-statuses",
)


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize(
    ("who", "sees_a", "sees_b"),
    [
        ("city_admin", True, True),
        ("city_viewer", True, True),
        ("county_official", True, False),
        ("other_county_official", False, True),
        ("township_official", True, False),
        ("cadre_user", True, False),
        ("no_role_user", False, False),
    ],
)
def test_every_endpoint_is_scoped(api, world, endpoint, who, sees_a, sees_b):
    client = api(who)
    ids = {r["id"] for r in client.get(f"/api/{endpoint}/").json()["results"]}
    for label, sees in (("a1v1", sees_a), ("b1v1", sees_b)):
        pk = world[label][endpoint].pk
        assert (pk in ids) is sees
        response = client.get(f"/api/{endpoint}/{pk}/")
        assert response.status_code == (200 if sees else 404)
        if not sees:
            assert response.json()["detail"] == "不存在，或不在您的管辖范围内。"
            writable = endpoint != "sanling-statuses"
            deletable = endpoint not in ("sanling-statuses", "three-zero-units")
            patched = client.patch(f"/api/{endpoint}/{pk}/", {}, format="json")
            assert patched.status_code == (404 if writable else 405)
            deleted = client.delete(f"/api/{endpoint}/{pk}/")
            assert deleted.status_code == (404 if deletable else 405)


def test_anonymous_is_refused(client, world):
    assert client.get("/api/disputes/").status_code in (401, 403)


def test_create_and_resolve_a_dispute(api, area):
    client = api("cadre_user")
    payload = {
        "village": area.villages["a1v1"].pk,
        "dispute_type": "neighbour",
        "source": "grid",
        "registered_on": "2024-05-06",
        "summary": "排水沟纠纷",
        "parties": "张三、李四",
        "party_phones": "13812345678",
        "people_involved": 6,
        "risk_level": "red",
        "responsible": "村调委会",
    }
    created = client.post("/api/disputes/", payload, format="json")
    assert created.status_code == 201, created.json()
    body = created.json()
    assert body["status"] == "registered" and body["is_collective"] is True
    assert body["party_phones"] == "138****5678"  # a cadre sees it masked
    assert body["dispute_type_display"] == "邻里纠纷"
    outside = client.post(
        "/api/disputes/", payload | {"village": area.villages["b1v1"].pk}, format="json"
    )
    assert outside.status_code == 404
    county = api("county_official")
    detail = county.get(f"/api/disputes/{body['id']}/").json()
    assert detail["party_phones"] == "13812345678"
    bad = county.patch(
        f"/api/disputes/{body['id']}/",
        {"status": "resolved", "resolved_on": "2024-05-01"},
        format="json",
    )
    assert bad.status_code == 400
    assert bad.json()["resolved_on"] == ["化解日期不能早于排查日期。"]
    ok = county.patch(
        f"/api/disputes/{body['id']}/",
        {"status": "resolved", "resolved_on": "2024-05-08"},
        format="json",
    )
    assert ok.status_code == 200 and ok.json()["status_display"] == "已化解"
    assert Dispute.objects.get().status == "resolved"


def test_negative_casualties_are_400(api, area):
    response = api("county_official").post(
        "/api/incidents/",
        {"village": area.villages["a1v1"].pk, "kind": "fire", "occurred_on": "2024-05-06",
         "place": "村东", "summary": "起火", "deaths": -1, "source": "emergency"},
        format="json",
    )  # fmt: skip
    assert response.status_code == 400
    assert response.json()["deaths"] == ["死亡人数不能为负数。"]
    assert not Incident.objects.exists()


def test_petition_create_delete_and_status(api, area, django_capture_on_commit_callbacks):
    client = api("county_official")
    with django_capture_on_commit_callbacks(execute=True):
        created = client.post(
            "/api/petitions/",
            {"village": area.villages["a1v2"].pk, "channel": "hotline", "received_on": "2024-06-01",
             "petitioner_name": "王五", "subject": "诉求", "level_reached": "province", "is_skip_level": True},
            format="json",
        )  # fmt: skip
    assert created.status_code == 201, created.json()
    status = client.get("/api/sanling-statuses/", {"village": area.villages["a1v2"].pk}).json()[
        "results"
    ]
    assert status[0]["met"] is False and status[0]["derived_met"] is False
    with django_capture_on_commit_callbacks(execute=True):
        assert client.delete(f"/api/petitions/{created.json()['id']}/").status_code == 204
    assert not Petition.objects.exists()
    assert client.get(f"/api/sanling-statuses/{status[0]['id']}/").json()["met"] is True
    assert api("cadre_user").delete("/api/petitions/999999/").status_code == 404


def test_override_action(api, world):
    status = world["a1v1"]["sanling-statuses"]
    url = f"/api/sanling-statuses/{status.pk}/override/"
    no_reason = api("county_official").post(url, {"override": "met", "reason": ""}, format="json")
    assert no_reason.status_code == 400 and "理由" in str(no_reason.json())
    assert (
        api("township_official")
        .post(url, {"override": "met", "reason": "核查"}, format="json")
        .status_code
        == 403
    )
    assert (
        api("other_county_official")
        .post(url, {"override": "met", "reason": "核查"}, format="json")
        .status_code
        == 404
    )
    ok = api("county_official").post(url, {"override": "met", "reason": "核查"}, format="json")
    assert ok.status_code == 200
    assert (ok.json()["derived_met"], ok.json()["override"], ok.json()["met"]) == (
        False,
        "met",
        True,
    )


def test_zero_reports_api(api, area):
    client = api("cadre_user")
    created = client.post(
        "/api/zero-reports/",
        {"village": area.villages["a1v1"].pk, "month": "2024-04-01"},
        format="json",
    )
    assert created.status_code == 201
    assert (
        client.post(
            "/api/zero-reports/",
            {"village": area.villages["a1v2"].pk, "month": "2024-04-01"},
            format="json",
        ).status_code
        == 404
    )
    assert (
        api("other_county_official").get(f"/api/zero-reports/{created.json()['id']}/").status_code
        == 404
    )


def test_set_override_for_a_village_without_a_status_row(api, area):
    client = api("county_official")
    village = area.villages["a1v3"]
    payload = {
        "year": 2024,
        "village": village.pk,
        "override": "not_met",
        "reason": "发生群体性事件",
    }
    response = client.post("/api/sanling-statuses/set-override/", payload, format="json")
    assert response.status_code == 200, response.json()
    assert (response.json()["derived_met"], response.json()["met"]) == (True, False)
    outside = payload | {"village": area.villages["b1v1"].pk}
    assert (
        client.post("/api/sanling-statuses/set-override/", outside, format="json").status_code
        == 404
    )
    none = client.post(
        "/api/sanling-statuses/set-override/",
        {"year": 2024, "override": "met", "reason": "x"},
        format="json",
    )
    assert none.status_code == 400


def test_recompute_command(area):
    from io import StringIO

    from django.core.management import call_command

    PetitionFactory(village=area.villages["a1v1"], level_reached="city", is_skip_level=True)
    out = StringIO()
    call_command("sanling_recompute", "2024", stdout=out)
    assert "2024 年度：新建 8 条" in out.getvalue()
    assert SanlingStatus.objects.get(year=2024, village=area.villages["a1v1"]).met is False


def test_duplicate_unit_name_is_400_in_chinese(api, area):
    client = api("county_official")
    payload = {"township": area.townships["A1"].pk, "name": "甲一小学", "unit_type": "school",
               "year_from": 2024}  # fmt: skip
    assert client.post("/api/three-zero-units/", payload, format="json").status_code == 201
    again = client.post("/api/three-zero-units/", payload, format="json")
    assert again.status_code == 400
    assert "本乡镇(街道)已有同名单位。" in str(again.json())


def test_masked_numbers_sent_back_by_a_cadre_keep_the_stored_ones(api, area):
    dispute = DisputeFactory(village=area.villages["a1v1"])
    petition = PetitionFactory(village=area.villages["a1v1"])
    client = api("cadre_user")
    for endpoint, obj in (("disputes", dispute), ("petitions", petition)):
        shown = client.get(f"/api/{endpoint}/{obj.pk}/").json()
        fields = {k: v for k, v in shown.items() if k in s_fields(endpoint)}
        fields["summary" if endpoint == "disputes" else "subject"] = "补充情况"
        assert client.put(f"/api/{endpoint}/{obj.pk}/", fields, format="json").status_code == 200
    dispute.refresh_from_db()
    petition.refresh_from_db()
    assert dispute.summary == "补充情况" and petition.subject == "补充情况"
    assert (dispute.party_id_numbers, dispute.party_phones) == ("411024199001011234", "13812345678")
    assert (petition.petitioner_id_number, petition.petitioner_phone) == (
        "411024198502023456",
        "13900001111",
    )
    # A new number from the cadre is still taken.
    client.patch(f"/api/disputes/{dispute.pk}/", {"party_phones": "13700001111"}, format="json")
    dispute.refresh_from_db()
    assert dispute.party_phones == "13700001111"


def s_fields(endpoint):
    from disputes.api import serializers

    serializer = {
        "disputes": serializers.DisputeInputSerializer,
        "petitions": serializers.PetitionInputSerializer,
    }[endpoint]
    return set(serializer().fields)


def test_hazard_put_with_its_description_field(api, area):
    hazard = HazardFactory(village=area.villages["a1v1"])
    client = api("county_official")
    shown = client.get(f"/api/hazards/{hazard.pk}/").json()
    fields = {k: shown[k] for k in ("village", "site_type", "site_name", "checked_on",
                                   "responsible", "deadline")}  # fmt: skip
    response = client.put(
        f"/api/hazards/{hazard.pk}/", fields | {"hazard": "消防通道堵塞"}, format="json"
    )
    assert response.status_code == 200, response.content
    hazard.refresh_from_db()
    assert hazard.hazard == "消防通道堵塞"


def test_another_countys_place_is_404_on_every_api_write(api, area):
    from disputes.models import HazardCheck, ThreeZeroUnit, ZeroReport

    client = api("county_official")
    own, other = area.villages["a1v1"], area.villages["b1v1"]
    other_unit = UnitFactory(village=other)
    hazard = {"site_type": "school", "site_name": "村小学", "checked_on": "2024-05-06",
              "hazard": "灭火器过期", "responsible": "赵六", "deadline": "2024-05-20"}  # fmt: skip
    for place in ({"village": other.pk}, {"unit": other_unit.pk}):
        assert client.post("/api/hazards/", hazard | place, format="json").status_code == 404
    assert not HazardCheck.objects.exists()
    created = client.post("/api/hazards/", hazard | {"village": own.pk}, format="json")
    assert created.status_code == 201
    pk = created.json()["id"]
    moved = client.patch(f"/api/hazards/{pk}/", {"village": other.pk}, format="json")
    assert moved.status_code == 404
    assert HazardCheck.objects.get().village == own
    unit = {"name": "乙小学", "unit_type": "school", "year_from": 2024}
    for place in ({"township": area.townships["B1"].pk}, {"village": other.pk}):
        assert client.post("/api/three-zero-units/", unit | place, format="json").status_code == 404
    own_unit = UnitFactory(village=own)
    moved = client.patch(
        f"/api/three-zero-units/{own_unit.pk}/", {"village": other.pk}, format="json"
    )
    assert moved.status_code == 404
    own_unit.refresh_from_db()
    assert own_unit.village == own and ThreeZeroUnit.objects.count() == 2
    report = api("other_county_official").post(
        "/api/zero-reports/", {"village": other.pk, "month": "2024-04-01"}, format="json"
    )
    assert report.status_code == 201
    assert client.delete(f"/api/zero-reports/{report.json()['id']}/").status_code == 404
    assert ZeroReport.objects.count() == 1


@pytest.mark.parametrize("endpoint", [*ENDPOINTS, "zero-reports"])
def test_api_lists_keep_their_query_count(
    api, area, users, endpoint, django_assert_max_num_queries
):
    from disputes.models import ZeroReport
    from disputes.services import sanling_override_set
    from tests.factories import VillageFactory

    client = api("county_official")

    def grow(n):
        for _ in range(n):
            village = VillageFactory(township=area.townships["A1"])
            unit = UnitFactory(village=village)
            DisputeFactory(village=village, unit=unit)
            PetitionFactory(village=village, level_reached="county", is_skip_level=True)
            IncidentFactory(village=village, unit=unit, kind="criminal")
            HazardFactory(village=village)
            ZeroReport.objects.create(village=village, month=D(2024, 4, 1))
            sanling_override_set(actor=users["county_official"], year=2024, village=village,
                                 value="met", reason="复核")  # fmt: skip
        sanling_recompute(year=2024)

    grow(2)
    client.get(f"/api/{endpoint}/")
    with django_assert_max_num_queries(30) as few:
        assert client.get(f"/api/{endpoint}/").status_code == 200
    grow(15)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(f"/api/{endpoint}/")
    assert response.json()["count"] >= 17


def test_no_ordering_by_personal_numbers(api, area):
    first = DisputeFactory(village=area.villages["a1v1"], party_phones="13900000000")
    second = DisputeFactory(village=area.villages["a1v1"], party_phones="13100000000")
    client = api("cadre_user")
    for field in ("party_phones", "party_id_numbers", "-party_phones"):
        ids = [r["id"] for r in client.get(f"/api/disputes/?ordering={field}").json()["results"]]
        assert ids == [second.pk, first.pk]  # the default order (newest first), not by phone
    ids = [r["id"] for r in client.get("/api/disputes/?ordering=id").json()["results"]]
    assert ids == [first.pk, second.pk]


# ----- schema -----

WRITES = {
    "disputes": "DisputeInput",
    "petitions": "PetitionInput",
    "incidents": "IncidentInput",
    "hazards": "HazardCheckInput",
    "three-zero-units": "UnitInput",
}


@pytest.mark.parametrize(("endpoint", "component"), WRITES.items())
def test_schema_documents_what_the_writes_take(endpoint, component):
    # the writes read their own input serializer; the schema showed no request body at all
    paths = api_schema()["paths"]
    ref = "#/components/schemas/{}"

    create = paths[f"/api/{endpoint}/"]["post"]
    replace = paths[f"/api/{endpoint}/{{id}}/"]["put"]
    patch = paths[f"/api/{endpoint}/{{id}}/"]["patch"]

    body = create["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": ref.format(f"{component}Request")}
    assert replace["requestBody"]["content"]["application/json"]["schema"] == body
    patched = patch["requestBody"]["content"]["application/json"]["schema"]
    assert patched == {"$ref": ref.format(f"Patched{component}Request")}


@pytest.mark.parametrize(
    "operation",
    [
        *((f"/api/{endpoint}/", "post") for endpoint in WRITES),
        ("/api/zero-reports/", "post"),
        ("/api/sanling-statuses/set-override/", "post"),
    ],
)
def test_schema_documents_the_404_of_a_place_outside_the_area(operation):
    # test_another_countys_place_is_404_on_every_api_write: the creates answer 404 too
    path, method = operation

    responses = api_schema()["paths"][path][method]["responses"]

    assert "404" in responses


@pytest.mark.parametrize(
    ("component", "field"),
    [("Dispute", "method"), ("Dispute", "satisfaction"), ("Petition", "satisfaction")],
)
def test_schema_allows_the_blank_of_an_unset_choice(component, field):
    properties = api_schema()["components"]["schemas"][component]["properties"]

    assert {"$ref": "#/components/schemas/BlankEnum"} in properties[field]["oneOf"]


def test_an_unset_override_answers_blank_and_the_schema_says_so(api, world):
    status = world["a1v1"]["sanling-statuses"]
    schema = api_schema()["components"]["schemas"]

    answer = api("county_official").get(f"/api/sanling-statuses/{status.pk}/").json()

    assert answer["override"] == ""
    assert "" in schema["BlankEnum"]["enum"]
    assert {"$ref": "#/components/schemas/BlankEnum"} in schema["Status"]["properties"]["override"][
        "oneOf"
    ]
