"""Issue 15 §6, each defect the independent OpenAPI fuzz found, pinned one by one (the fuzz
itself is tests/hardening/test_api_contract.py and test_api_fuzz.py):

- the response differs from the schema: a closed petition's deadline is null, and the
  schema says so;
- wrong-typed filters are refused: `?year=0.5` (and any other number, flag or page size of
  the wrong type) answers 400 naming the parameter in Chinese on every list operation;
- HTML instead of JSON: everything under /api/ answers JSON in Chinese: unknown paths,
  malformed ids (with a session and no CSRF token), 403, 405, 500, DRF's own CSRF check,
  bodies it cannot parse;
- undocumented statuses: the token login's 429, the write throttle's 429.
"""

import datetime
import re

import pytest
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.test import Client
from django.urls import path
from rest_framework.test import APIClient

from core.csrf import API_CSRF_FAILED
from tests.disputes.factories import PetitionFactory
from tests.helpers import api_schema
from xuchang_portal.urls import handler403, handler404, handler500  # noqa: F401 (urls below)
from xuchang_portal.urls import urlpatterns as portal_urlpatterns

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.filterwarnings("ignore:No directory at:UserWarning"),
]

CJK = re.compile(r"[\u4e00-\u9fff]")


def _json_in_chinese(response, status):
    assert response.status_code == status, (response.request["PATH_INFO"], response.content)
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body and all(CJK.search(str(message)) for message in body.values()), body
    return body


def _api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture(scope="module")
def schema(django_db_blocker):
    with django_db_blocker.unblock():
        return api_schema()


# ----- response differs from schema -----


def test_a_closed_petitions_deadline_is_null_and_documented_so(schema, county_official, area):
    props = schema["components"]["schemas"]["Petition"]["properties"]
    assert props["due_on"]["nullable"] is True
    assert props["due_on"]["format"] == "date"
    open_one = PetitionFactory(village=area.villages["a1v1"])
    closed = PetitionFactory(
        village=area.villages["a1v1"],
        status="concluded",
        accepted_on=datetime.date(2024, 3, 6),
        concluded_on=datetime.date(2024, 3, 20),
    )
    client = _api(county_official)
    assert client.get(f"/api/petitions/{closed.pk}/").json()["due_on"] is None
    assert client.get(f"/api/petitions/{open_one.pk}/").json()["due_on"]


def test_a_decimals_documented_pattern_is_the_one_drf_reads(schema, county_official, area):
    # drf-spectacular's pattern makes every digit optional: "-" was valid for the schema
    pattern = re.compile(
        schema["components"]["schemas"]["DisputeInputRequest"]["properties"]["agreement_amount"][
            "pattern"
        ]
    )
    assert [bool(pattern.match(v)) for v in ("-", ".", "", "12.5", ".5", "-3")] == [
        False,
        False,
        True,  # null
        True,
        True,
        True,
    ]
    response = _api(county_official).post(
        "/api/disputes/", {"agreement_amount": "-"}, format="json"
    )
    assert "agreement_amount" in _json_in_chinese(response, 400)


# ----- wrong-typed filters -----


def _list_operations(schema):
    for address, operations in schema["paths"].items():
        get = operations.get("get")
        if get and "{" not in address:
            yield address, {p["name"]: p["schema"] for p in get.get("parameters", [])}


def test_every_integer_filter_refuses_a_fraction_naming_it(schema, city_admin):
    client = _api(city_admin)
    checked = set()
    for address, parameters in _list_operations(schema):
        for name, parameter in parameters.items():
            if parameter.get("type") != "integer" or name == "page":
                continue
            response = client.get(address, {name: "0.5"})
            body = _json_in_chinese(response, 400)
            assert name in body, (address, name, body)
            checked.add((address, name))
    # year on 10 list operations, and every id filter and page size besides
    assert sum(name == "year" for _, name in checked) == 10
    assert len(checked) >= 30


def test_year_0_5_answers_the_chinese_integer_message(city_admin):
    client = _api(city_admin)
    for address in ("/api/star-awards/", "/api/sanling-statuses/", "/api/disputes/"):
        response = client.get(address, {"year": "0.5"})
        assert response.status_code == 400
        assert response.json() == {"year": ["请输入整数。"]}


def test_every_boolean_filter_refuses_what_is_not_true_or_false(schema, city_admin):
    client = _api(city_admin)
    booleans = [
        (address, name)
        for address, parameters in _list_operations(schema)
        for name, parameter in parameters.items()
        if parameter.get("type") == "boolean"
    ]
    assert len(booleans) == 4  # petitions and problems overdue, weak cases open, derived_met
    for address, name in booleans:
        response = client.get(address, {name: "maybe"})
        assert _json_in_chinese(response, 400) == {name: ["请输入 true 或 false。"]}
        for value in ("true", "false", ""):
            assert client.get(address, {name: value}).status_code == 200


def test_a_page_size_outside_1_to_500_is_refused(city_admin):
    client = _api(city_admin)
    for value in ("0", "501", "abc", "2.5", "-1"):
        response = client.get("/api/villages/", {"page_size": value})
        assert _json_in_chinese(response, 400) == {
            "page_size": ["每页条数应为 1 到 500 之间的整数。"]
        }
    assert len(client.get("/api/villages/", {"page_size": "2"}).json()["results"]) == 2


def test_the_indicators_year_and_area_follow_their_documented_pattern(schema, city_admin):
    parameters = {
        p["name"]: p["schema"] for p in schema["paths"]["/api/indicators/"]["get"]["parameters"]
    }
    assert parameters["year"] == {"type": "integer", "minimum": 2000, "maximum": 2100}
    client = _api(city_admin)
    for area in (" city", "county:١", "county:1x", "town:1"):
        assert "area" in _json_in_chinese(client.get("/api/indicators/", {"area": area}), 400)
    assert "year" in _json_in_chinese(client.get("/api/indicators/", {"year": "1999"}), 400)
    assert client.get("/api/indicators/", {"area": "city"}).status_code == 200


def test_an_empty_filter_means_no_filter_and_the_schema_says_so(schema, city_admin):
    get = schema["paths"]["/api/disputes/"]["get"]
    empty = {p["name"]: p.get("allowEmptyValue") for p in get["parameters"]}
    assert empty["month"] is True and empty["year"] is True and empty["page"] is True
    client = _api(city_admin)
    for parameters in ({"month": "", "year": ""}, {"page": "", "page_size": ""}):
        assert client.get("/api/disputes/", parameters).status_code == 200
    _json_in_chinese(client.get("/api/disputes/", {"page": "last"}), 404)


# ----- JSON in Chinese under /api/ -----


def test_unknown_api_addresses_answer_json_404(county_official):
    client = Client()
    client.force_login(county_official)
    for address in ("/api/nothing/", "/api/disputes/0.5/", "/api/villages/1/nothing/"):
        _json_in_chinese(client.get(address), 404)
    # a page outside the API keeps its page
    response = client.get("/nothing/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


def test_an_unsafe_method_on_a_malformed_id_with_a_session_answers_json_404(county_official):
    client = Client(enforce_csrf_checks=True)
    client.force_login(county_official)
    for method in ("delete", "put", "patch", "post"):
        _json_in_chinese(getattr(client, method)("/api/disputes/0.5/"), 404)


def test_drfs_own_csrf_check_answers_in_chinese(county_official, area):
    client = Client(enforce_csrf_checks=True)
    client.force_login(county_official)
    response = client.post(
        "/api/zero-reports/",
        {"village": area.villages["a1v1"].pk, "month": "2024-02-01"},
        content_type="application/json",
    )
    assert _json_in_chinese(response, 403) == {"detail": API_CSRF_FAILED}


def test_method_not_allowed_and_forbidden_answer_json_in_chinese(county_official, no_role_user):
    _json_in_chinese(_api(county_official).put("/api/villages/"), 405)
    _json_in_chinese(Client().get("/api/villages/"), 403)
    refused = _api(no_role_user).post("/api/exports/", {"kind": "villages"}, format="json")
    _json_in_chinese(refused, 403)


def test_bodies_drf_cannot_read_answer_in_chinese(county_official):
    client = _api(county_official)
    broken = client.post("/api/disputes/", "{not json", content_type="application/json")
    assert "无法解析" in _json_in_chinese(broken, 400)["detail"]
    empty = client.post("/api/disputes/", "null", content_type="application/json")
    assert _json_in_chinese(empty, 400) == {
        "non_field_errors": ["请求体为空：请提交 JSON 对象或表单数据。"]
    }
    form = client.post("/api/disputes/", {"summary": "x"}, format="multipart")
    _json_in_chinese(form, 415)


def _boom(request):
    raise RuntimeError("boom")


def _forbidden(request):
    raise PermissionDenied


# pytest.mark.urls: the portal's URLs and handlers (imported above), and two plain Django
# views that fail, under /api/ and outside it
urlpatterns = [
    path("api/boom/", _boom),
    path("api/forbidden/", _forbidden),
    path("boom/", _boom),
    *portal_urlpatterns,
]


@pytest.mark.urls(__name__)
def test_a_server_error_and_a_plain_403_under_api_answer_json_in_chinese(county_official):
    client = Client(raise_request_exception=False)
    client.force_login(county_official)
    assert "稍后重试" in _json_in_chinese(client.get("/api/boom/"), 500)["detail"]
    _json_in_chinese(client.get("/api/forbidden/"), 403)
    page = client.get("/boom/")
    assert page.status_code == 500
    assert page["Content-Type"].startswith("text/html")
    assert "系统暂时出现问题" in page.content.decode()


# ----- undocumented statuses -----


def test_the_token_login_documents_its_429_and_writes_their_throttle(schema):
    token = schema["paths"]["/api/auth/token/"]["post"]
    assert {"200", "400", "429"} <= set(token["responses"])
    assert token["responses"]["429"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ErrorDetail"
    }
    assert {} in token["security"]  # open to anyone
    for address, operations in schema["paths"].items():
        for method, operation in operations.items():
            throttled = method in ("post", "put", "patch", "delete")
            assert ("429" in operation["responses"]) == throttled, (method, address)


def test_a_locked_account_answers_the_documented_429(axes_on, county_official):
    client = APIClient()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post("/api/auth/token/", {"username": county_official.username, "password": "x"})
    response = client.post(
        "/api/auth/token/", {"username": county_official.username, "password": "x"}
    )
    assert "锁定" in _json_in_chinese(response, 429)["detail"]
