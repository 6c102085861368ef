"""The REST API (/api/…): a scoping matrix for every endpoint and every login, plus
pagination, filters, token auth, the OpenAPI schema and docs, exports and query counts.

The world is the `area` fixture (tests/conftest.py):

    county A: township A1 (a1v1, a1v2 行政村; a1v3 农村社区)
              township A2 (a2v1, a2v2 行政村; a2v3 城市社区)
    county B: township B1 (b1v1, b1v2 行政村)

    cadres: a1v1 (county A unit, 帮村 a1v1), lx_a2 (city unit, 联乡 A2),
            b1v1 (county B unit, 帮村 b1v1), cross (county A unit, 帮村 b1v2 in county B)

The expected sets below are spelled out by hand from that layout, never computed with the
selectors under test.
"""

import re
from html.parser import HTMLParser
from urllib.parse import urlsplit

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from core.models import ExportJob
from tests.factories import UserFactory, UserRoleFactory, VillageFactory
from tests.helpers import api_schema
from villages.models import Village

pytestmark = [
    pytest.mark.django_db,
    # whitenoise warns once per request that STATIC_ROOT was never collected; harmless here
    pytest.mark.filterwarnings("ignore:No directory at:UserWarning"),
]

ROLES = [
    "city_admin",
    "city_viewer",
    "county_official",
    "other_county_official",
    "township_official",
    "cadre_user",
    "township_cadre_user",
    "no_role_user",
    "superuser",
    "anonymous",
]
CITY_WIDE = ("city_admin", "city_viewer", "superuser")

ALL_VILLAGES = {"a1v1", "a1v2", "a1v3", "a2v1", "a2v2", "a2v3", "b1v1", "b1v2"}
A1_VILLAGES = {"a1v1", "a1v2", "a1v3"}
A2_VILLAGES = {"a2v1", "a2v2", "a2v3"}
B1_VILLAGES = {"b1v1", "b1v2"}

# endpoint -> role -> labels of the objects the role sees. Anonymous is left out: 403.
EXPECTED = {
    "counties": {
        **dict.fromkeys(CITY_WIDE, {"A", "B"}),
        "county_official": {"A"},
        "other_county_official": {"B"},
        "township_official": {"A"},
        "cadre_user": {"A"},
        "township_cadre_user": {"A"},
        "no_role_user": set(),
    },
    "townships": {
        **dict.fromkeys(CITY_WIDE, {"A1", "A2", "B1"}),
        "county_official": {"A1", "A2"},
        "other_county_official": {"B1"},
        "township_official": {"A1"},
        "cadre_user": {"A1"},
        "township_cadre_user": {"A2"},
        "no_role_user": set(),
    },
    "villages": {
        **dict.fromkeys(CITY_WIDE, ALL_VILLAGES),
        "county_official": A1_VILLAGES | A2_VILLAGES,
        "other_county_official": B1_VILLAGES,
        "township_official": A1_VILLAGES,
        "cadre_user": {"a1v1"},
        "township_cadre_user": A2_VILLAGES,
        "no_role_user": set(),
    },
    # One branch per village, in the village's township.
    "branches": {
        **dict.fromkeys(CITY_WIDE, ALL_VILLAGES),
        "county_official": A1_VILLAGES | A2_VILLAGES,
        "other_county_official": B1_VILLAGES,
        "township_official": A1_VILLAGES,
        "cadre_user": {"a1v1"},
        "township_cadre_user": A2_VILLAGES,
        "no_role_user": set(),
    },
    "cadres": {
        **dict.fromkeys(CITY_WIDE, {"a1v1", "lx_a2", "b1v1", "cross"}),
        # linked to A (a1v1, lx_a2) or sent by a county-A unit (a1v1, cross)
        "county_official": {"a1v1", "lx_a2", "cross"},
        # linked to B (b1v1, cross) or sent by a county-B unit (b1v1)
        "other_county_official": {"b1v1", "cross"},
        "township_official": {"a1v1"},
        "cadre_user": {"a1v1"},
        "township_cadre_user": {"lx_a2"},
        "no_role_user": set(),
    },
    "assignments": {
        **dict.fromkeys(CITY_WIDE, {"a1v1", "lx_a2", "b1v1", "cross"}),
        "county_official": {"a1v1", "lx_a2"},
        "other_county_official": {"b1v1", "cross"},
        "township_official": {"a1v1"},
        "cadre_user": {"a1v1"},
        "township_cadre_user": {"lx_a2"},
        "no_role_user": set(),
    },
}

SCOPED_ENDPOINTS = list(EXPECTED)
CHINESE = re.compile(r"[\u4e00-\u9fff]")


def objects_of(area, endpoint) -> dict:
    """label -> model instance for one endpoint."""
    return {
        "counties": {"A": area.county_a, "B": area.county_b},
        "townships": area.townships,
        "villages": area.villages,
        "branches": area.branches,
        "cadres": area.cadres,
        "assignments": area.assignments,
    }[endpoint]


@pytest.fixture
def client_for(users):
    """`client_for("county_official")` -> an APIClient signed in as that login (session)."""

    def _client(who):
        client = APIClient()
        if who != "anonymous":
            client.force_login(users[who])
        return client

    return _client


def result_ids(response) -> set[int]:
    return {row["id"] for row in response.json()["results"]}


def labels_for(objects: dict, ids: set[int]) -> set[str]:
    by_id = {obj.pk: label for label, obj in objects.items()}
    return {by_id.get(i, f"<unknown id {i}>") for i in ids}


# ----- the scoping matrix -----


@pytest.mark.parametrize("who", ROLES)
@pytest.mark.parametrize("endpoint", SCOPED_ENDPOINTS)
def test_list_returns_exactly_the_objects_in_scope(client_for, area, endpoint, who):
    # given
    objects = objects_of(area, endpoint)
    client = client_for(who)

    # when
    response = client.get(f"/api/{endpoint}/", {"page_size": 500})

    # then
    if who == "anonymous":
        assert response.status_code == 403
        return
    assert response.status_code == 200
    assert labels_for(objects, result_ids(response)) == EXPECTED[endpoint][who]
    assert response.json()["count"] == len(EXPECTED[endpoint][who])


@pytest.mark.parametrize("who", ROLES)
@pytest.mark.parametrize("endpoint", SCOPED_ENDPOINTS)
def test_detail_is_200_in_scope_and_404_out_of_scope(client_for, area, endpoint, who):
    # given
    objects = objects_of(area, endpoint)
    client = client_for(who)
    if who == "anonymous":
        expected = dict.fromkeys(objects, 403)
    else:
        expected = {label: 200 if label in EXPECTED[endpoint][who] else 404 for label in objects}

    # when
    got = {label: client.get(f"/api/{endpoint}/{obj.pk}/") for label, obj in objects.items()}

    # then
    assert {label: r.status_code for label, r in got.items()} == expected
    for label, response in got.items():
        if response.status_code == 200:
            assert response.json()["id"] == objects[label].pk


@pytest.mark.parametrize("endpoint", [*SCOPED_ENDPOINTS, "exports"])
def test_missing_object_is_404(client_for, area, endpoint):
    response = client_for("city_admin").get(f"/api/{endpoint}/987654/")

    assert response.status_code == 404


def test_village_detail_carries_its_area(client_for, area):
    # given
    village = area.villages["a2v3"]

    # when
    data = client_for("county_official").get(f"/api/villages/{village.pk}/").json()

    # then
    assert data["code"] == village.code
    assert data["name"] == "a2v3村"
    assert data["kind"] == Village.Kind.URBAN_COMMUNITY
    assert data["kind_display"] == "城市社区"
    assert data["township"] == area.townships["A2"].pk
    assert data["township_name"] == "甲二街道"
    assert data["county"] == area.county_a.pk
    assert data["county_name"] == "甲县"


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
def test_scoped_endpoints_are_read_only(client_for, area, method):
    # given
    client = client_for("city_admin")
    village = area.villages["a1v1"]

    # when
    on_list = getattr(client, method)("/api/villages/", {"name": "改名"}, format="json")
    on_item = getattr(client, method)(
        f"/api/villages/{village.pk}/", {"name": "改名"}, format="json"
    )

    # then
    assert on_list.status_code == 405
    assert on_item.status_code == 405
    village.refresh_from_db()
    assert village.name == "a1v1村"


# ----- pagination -----


def test_list_is_paginated_with_count_next_previous_results(client_for, area):
    # given
    client = client_for("city_admin")

    # when
    first = client.get("/api/villages/", {"page_size": 3})
    last = client.get("/api/villages/", {"page_size": 3, "page": 3})

    # then
    body = first.json()
    assert set(body) == {"count", "next", "previous", "results"}
    assert body["count"] == 8
    assert len(body["results"]) == 3
    assert body["previous"] is None
    assert "page=2" in body["next"]
    tail = last.json()
    assert len(tail["results"]) == 2
    assert tail["next"] is None
    assert tail["previous"] is not None
    # pages are ordered by code, do not overlap and cover everything
    middle = client.get(body["next"]).json()
    codes = [r["code"] for page in (body, middle, tail) for r in page["results"]]
    assert codes == sorted(v.code for v in area.villages.values())


def test_default_page_size_is_50(client_for, area):
    # given
    VillageFactory.create_batch(50, township=area.townships["B1"])

    # when
    body = client_for("city_viewer").get("/api/villages/").json()

    # then
    assert body["count"] == 58
    assert len(body["results"]) == 50
    assert body["next"] is not None


# ----- filters -----


@pytest.mark.parametrize(
    "who, params, expected",
    [
        ("city_admin", {"county": "A"}, A1_VILLAGES | A2_VILLAGES),
        ("city_admin", {"county": "B"}, B1_VILLAGES),
        ("city_admin", {"township": "A2"}, A2_VILLAGES),
        ("county_official", {"township": "A1"}, A1_VILLAGES),
        ("city_admin", {"kind": "village"}, ALL_VILLAGES - {"a1v3", "a2v3"}),
        ("city_admin", {"kind": "rural_community"}, {"a1v3"}),
        ("county_official", {"kind": "urban_community"}, {"a2v3"}),
        ("other_county_official", {"kind": "urban_community"}, set()),
        ("city_admin", {"q": "a2v"}, A2_VILLAGES),
        ("city_admin", {"q": "b1v2村"}, {"b1v2"}),
        ("city_admin", {"q": "code:A1"}, A1_VILLAGES),  # a code prefix
        ("township_official", {"q": "code:A2"}, set()),
        ("city_admin", {"county": "A", "kind": "village"}, {"a1v1", "a1v2", "a2v1", "a2v2"}),
        ("city_admin", {"q": "   "}, ALL_VILLAGES),
    ],
)
def test_village_filters(client_for, area, who, params, expected):
    # given
    resolved = {}
    for key, value in params.items():
        if key == "county":
            value = {"A": area.county_a, "B": area.county_b}[value].pk
        elif key == "township":
            value = area.townships[value].pk
        elif key == "q" and value.startswith("code:"):
            value = area.townships[value.removeprefix("code:")].code
        resolved[key] = value

    # when
    response = client_for(who).get("/api/villages/", resolved)

    # then
    assert response.status_code == 200, response.content
    assert labels_for(area.villages, result_ids(response)) == expected


@pytest.mark.parametrize(
    "who, field, value",
    [
        ("county_official", "county", "B"),  # out of scope
        ("township_official", "county", "B"),
        ("cadre_user", "county", "B"),
        ("county_official", "township", "B1"),
        ("township_official", "township", "A2"),  # same county, other township
        ("township_cadre_user", "township", "A1"),
        ("city_admin", "county", "999999"),  # unknown
        ("city_admin", "county", "abc"),
        ("city_admin", "township", "999999"),
        ("city_admin", "kind", "bogus"),
        ("no_role_user", "county", "A"),
    ],
)
def test_invalid_or_out_of_scope_village_filter_is_400_in_chinese(
    client_for, area, who, field, value
):
    # given
    if field == "county" and value in ("A", "B"):
        value = {"A": area.county_a, "B": area.county_b}[value].pk
    elif field == "township" and value in area.townships:
        value = area.townships[value].pk

    # when
    response = client_for(who).get("/api/villages/", {field: value})

    # then
    assert response.status_code == 400
    errors = response.json()
    assert list(errors) == [field]
    assert CHINESE.search(errors[field][0]), errors


def test_township_filter_by_out_of_scope_county_is_400(client_for, area):
    response = client_for("county_official").get("/api/townships/", {"county": area.county_b.pk})

    assert response.status_code == 400
    assert CHINESE.search(response.json()["county"][0])


def test_assignment_filters(client_for, area):
    # given
    client = client_for("city_admin")

    # when
    in_a2 = client.get("/api/assignments/", {"township": area.townships["A2"].pk})
    lianxiang = client.get("/api/assignments/", {"kind": "township"})
    in_b1v2 = client.get("/api/assignments/", {"village": area.villages["b1v2"].pk})
    bad_village = client.get("/api/assignments/", {"village": "abc"})

    # then
    assert labels_for(area.assignments, result_ids(in_a2)) == {"lx_a2"}
    assert labels_for(area.assignments, result_ids(lianxiang)) == {"lx_a2"}
    assert labels_for(area.assignments, result_ids(in_b1v2)) == {"cross"}
    assert bad_village.status_code == 400


def test_cadre_filter_by_out_of_scope_work_unit_is_400(client_for, area):
    # county B sees units B (its own) and A (the `cross` cadre works in B); not the city unit
    client = client_for("other_county_official")

    in_scope = client.get("/api/cadres/", {"work_unit": area.units["A"].pk})
    response = client.get("/api/cadres/", {"work_unit": area.units["city"].pk})

    assert labels_for(area.cadres, result_ids(in_scope)) == {"cross"}

    assert response.status_code == 400
    assert CHINESE.search(response.json()["work_unit"][0])


# ----- token auth -----


def test_token_auth_works_and_is_scoped(area, county_official):
    # given
    token = Token.objects.create(user=county_official)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")

    # when
    response = client.get("/api/villages/")

    # then
    assert response.status_code == 200
    assert labels_for(area.villages, result_ids(response)) == A1_VILLAGES | A2_VILLAGES


def test_wrong_token_is_refused(area):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Token " + "0" * 40)

    response = client.get("/api/villages/")

    assert response.status_code in (401, 403)
    assert "results" not in response.json()


def test_token_endpoint_issues_a_working_token(area):
    # given
    user = UserFactory(username="token_user")
    user.set_password("s3cret-pass-987")
    user.save()
    UserRoleFactory(user=user, role="township_official", township=area.townships["B1"])
    client = APIClient()

    # when
    issued = client.post(
        "/api/auth/token/", {"username": "token_user", "password": "s3cret-pass-987"}
    )
    refused = client.post("/api/auth/token/", {"username": "token_user", "password": "wrong"})
    client.credentials(HTTP_AUTHORIZATION=f"Token {issued.json()['token']}")
    villages = client.get("/api/villages/")

    # then
    assert issued.status_code == 200
    assert refused.status_code == 400
    assert "token" not in refused.json()
    assert labels_for(area.villages, result_ids(villages)) == B1_VILLAGES


def test_export_params_with_a_nul_byte_are_400(client_for, area):
    # found by tests/hardening/test_api_fuzz.py: a 500 on PostgreSQL
    client = client_for("county_official")

    response = client.post(
        "/api/exports/", {"kind": "villages", "params": {"q\u0000": "x"}}, format="json"
    )

    assert response.status_code == 400
    assert response.json() == {"params": ["筛选条件中含有无法保存的字符（如空字符）。"]}
    assert not ExportJob.objects.exists()


# ----- schema and docs -----

ROUTES = ["counties", "townships", "villages", "branches", "cadres", "assignments", "exports"]


def test_schema_generates_and_lists_every_endpoint(client_for, area):
    # when
    response = client_for("county_official").get("/api/schema/", {"format": "json"})

    # then
    assert response.status_code == 200
    schema = response.json()
    assert schema["openapi"].startswith("3.")
    assert schema["info"]["title"] == "许昌市“联乡帮村”工作平台 API"
    for route in ROUTES:
        assert f"/api/{route}/" in schema["paths"], route
        assert f"/api/{route}/{{id}}/" in schema["paths"], route
    assert "post" in schema["paths"]["/api/exports/"]
    assert "post" not in schema["paths"]["/api/villages/"]
    village_list_params = {
        p["name"] for p in schema["paths"]["/api/villages/"]["get"]["parameters"]
    }
    assert {"county", "township", "kind", "q", "page", "page_size"} <= village_list_params


def _json_body(response: dict) -> dict:
    return response["content"]["application/json"]["schema"]


def test_each_hierarchy_detail_documents_its_object():
    # the retrieve operations used to document a 404 only, so every 200 was "undocumented"
    paths = api_schema()["paths"]

    for route in ROUTES:
        responses = paths[f"/api/{route}/{{id}}/"]["get"]["responses"]
        assert "$ref" in _json_body(responses["200"]), route


@pytest.mark.parametrize(
    ("method", "path", "codes"),
    [
        ("get", "/api/villages/{id}/", {"200", "403", "404"}),
        ("get", "/api/assignments/", {"200", "400", "403", "404"}),
        ("get", "/api/counties/", {"200", "400", "403", "404"}),
        ("get", "/api/star-types/", {"200", "403"}),
        ("delete", "/api/disputes/{id}/", {"204", "403", "404", "429"}),
        ("put", "/api/three-zero-units/{id}/", {"200", "400", "403", "404", "415", "429"}),
        ("post", "/api/exports/", {"201", "400", "403", "415", "429"}),
        ("post", "/api/auth/token/", {"200", "400", "403", "415", "429"}),
    ],
)
def test_error_answers_are_documented(method, path, codes):
    # 400: a body, a filter or a page size; 403: signed out, CSRF or not allowed; 404: an id
    # or a page; 415: a body without a known Content-Type; 429: a write over the throttle
    # (and a locked account at the token login)
    responses = api_schema()["paths"][path][method]["responses"]

    assert set(responses) == codes


def test_every_documented_error_has_its_json_body():
    schema = api_schema()
    detail = {"$ref": "#/components/schemas/ErrorDetail"}

    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            assert "403" in responses or path == "/api/auth/token/", (method, path)
            for code in ("401", "403", "404", "415", "429"):
                if code in responses:
                    assert _json_body(responses[code]) == detail, (method, path, code)
            if "400" in responses:
                assert _json_body(responses["400"])["type"] == "object", (method, path)
    assert schema["components"]["schemas"]["ErrorDetail"]["required"] == ["detail"]


@pytest.mark.parametrize(
    "url", ["/api/assignments/1.5/", "/api/villages/1e-7/", "/api/no-such-endpoint/"]
)
def test_an_api_url_naming_no_endpoint_answers_the_api_404(client_for, area, url):
    # a dotted id matched no route and got the portal's HTML error page
    response = client_for("city_admin").get(url)

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "不存在，或不在您的管辖范围内。"}


def test_an_api_url_without_its_slash_still_redirects(client_for, area):
    response = client_for("city_admin").get("/api/villages")

    assert response.status_code == 301
    assert response["Location"] == "/api/villages/"


@pytest.mark.parametrize("url", ["/api/schema/", "/api/docs/"])
def test_schema_and_docs_are_not_public(area, url):
    # SPECTACULAR_SETTINGS["SERVE_PERMISSIONS"]: signed-in users only
    response = APIClient().get(url)

    assert response.status_code in (401, 403)
    assert b"/api/villages/" not in response.content


class _AssetCollector(HTMLParser):
    def __init__(self):
        super().__init__()
        self.assets: list[str] = []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "script" and attrs.get("src"):
            self.assets.append(attrs["src"])
        if tag == "link" and attrs.get("href"):
            self.assets.append(attrs["href"])


def test_docs_render_without_any_cdn(client_for, area):
    # given
    client = client_for("city_admin")

    # when
    page = client.get("/api/docs/")
    init_script = client.get("/api/docs/", {"script": ""})

    # then
    assert page.status_code == 200
    html = page.content.decode()
    collector = _AssetCollector()
    collector.feed(html)
    assert collector.assets, "the docs page loads no scripts or styles at all?"
    assert any("swagger-ui-bundle" in src for src in collector.assets)
    foreign = [
        src
        for src in collector.assets
        if src.startswith("//")
        or (urlsplit(src).scheme in ("http", "https") and urlsplit(src).hostname != "testserver")
    ]
    assert foreign == []
    assert init_script.status_code == 200
    script = init_script.content.decode()
    assert "/api/schema/" in script
    assert not re.search(r"https?://(?!testserver)", script)


# ----- exports -----


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    "who, visible",
    [("county_official", 6), ("township_official", 3), ("cadre_user", 1), ("city_viewer", 8)],
)
def test_export_create_runs_and_counts_the_users_villages(client_for, area, who, visible):
    # given: no test transaction around the request, so on_commit fires as in production
    client = client_for(who)

    # when
    response = client.post("/api/exports/", {"kind": "villages"}, format="json")

    # then
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["state"] == ExportJob.State.DONE
    assert body["state_display"] == "已完成"
    assert body["row_count"] == visible
    assert body["progress"] == 100
    assert body["download_url"].endswith(f"/exports/{body['id']}/download/")
    job = ExportJob.objects.get(pk=body["id"])
    assert (
        job.user.username
        == {
            "county_official": "county_a",
            "township_official": "township_a1",
            "cadre_user": "cadre_a1v1",
            "city_viewer": "city_viewer",
        }[who]
    )


def test_export_with_filter_params_counts_only_matching_rows(
    client_for, area, django_capture_on_commit_callbacks
):
    # given
    client = client_for("county_official")

    # when
    with django_capture_on_commit_callbacks(execute=True):
        created = client.post(
            "/api/exports/",
            {"kind": "villages", "params": {"kind": "village"}},
            format="json",
        )
    job = client.get(f"/api/exports/{created.json()['id']}/").json()

    # then
    assert created.status_code == 201
    assert job["state"] == "done"
    assert job["row_count"] == 4  # a1v1, a1v2, a2v1, a2v2


def test_another_users_export_is_404_on_api_and_download(
    client_for, area, django_capture_on_commit_callbacks
):
    # given
    owner = client_for("county_official")
    with django_capture_on_commit_callbacks(execute=True):
        job_id = owner.post("/api/exports/", {"kind": "villages"}, format="json").json()["id"]
    assert owner.get(f"/exports/{job_id}/download/").status_code == 200
    other = client_for("city_admin")

    # when
    retrieve = other.get(f"/api/exports/{job_id}/")
    download = other.get(f"/exports/{job_id}/download/")
    listing = other.get("/api/exports/")

    # then
    assert retrieve.status_code == 404
    assert download.status_code == 404
    assert listing.json()["count"] == 0
    assert owner.get("/api/exports/").json()["count"] == 1


@pytest.mark.parametrize(
    "params",
    [{"kind": "bogus"}, {"county": "999999"}, {"county": "abc"}, {"county": "B"}],
)
def test_export_with_invalid_or_out_of_scope_filter_is_400(client_for, area, params):
    # given: an export must never silently widen to "everything I can see"
    if params.get("county") == "B":
        params = {"county": str(area.county_b.pk)}

    # when
    response = client_for("county_official").post(
        "/api/exports/", {"kind": "villages", "params": params}, format="json"
    )

    # then
    assert response.status_code == 400
    assert CHINESE.search(str(response.json()))
    assert ExportJob.objects.count() == 0


def test_export_unknown_kind_is_400(client_for, area):
    response = client_for("county_official").post(
        "/api/exports/", {"kind": "passwords"}, format="json"
    )

    assert response.status_code == 400
    assert "kind" in response.json()
    assert ExportJob.objects.count() == 0


def test_export_by_user_without_role_is_403(client_for, area):
    response = client_for("no_role_user").post("/api/exports/", {"kind": "villages"}, format="json")

    assert response.status_code == 403
    assert CHINESE.search(response.json()["detail"])
    assert ExportJob.objects.count() == 0


def test_export_by_anonymous_is_403(client_for, area):
    response = client_for("anonymous").post("/api/exports/", {"kind": "villages"}, format="json")

    assert response.status_code == 403
    assert ExportJob.objects.count() == 0


# ----- query counts -----

MAX_VILLAGE_LIST_QUERIES = 5  # session, user, role, count, page


@pytest.mark.parametrize("extra", [0, 40])
@pytest.mark.parametrize("who", ["city_admin", "county_official"])
def test_village_list_query_count_does_not_grow(
    client_for, area, who, extra, django_assert_max_num_queries
):
    # given
    VillageFactory.create_batch(extra, township=area.townships["A2"])
    client = client_for(who)

    # when
    with django_assert_max_num_queries(MAX_VILLAGE_LIST_QUERIES):
        response = client.get("/api/villages/")

    # then
    assert response.status_code == 200
    assert len(response.json()["results"]) == len(EXPECTED["villages"][who]) + extra


def test_village_list_query_count_is_the_same_at_two_sizes(client_for, area):
    # given
    client = client_for("city_viewer")

    def count_queries():
        with CaptureQueriesContext(connection) as ctx:
            assert client.get("/api/villages/").status_code == 200
        return len(ctx.captured_queries)

    count_queries()  # the first request also loads the login (then cached, with Redis)
    small = count_queries()
    VillageFactory.create_batch(30, township=area.townships["B1"])

    # when
    large = count_queries()

    # then
    assert large == small


def test_out_of_scope_detail_answers_in_chinese_without_naming_the_model(client_for, area):
    # when: county A's official asks for county B's village
    response = client_for("county_official").get(f"/api/villages/{area.villages['b1v1'].pk}/")

    # then
    assert response.status_code == 404
    assert response.json() == {"detail": "不存在，或不在您的管辖范围内。"}
