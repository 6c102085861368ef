"""Problems found on a visit (发现问题): stored with the visit in one transaction by the
ledger's own rules, refused with the visit naming the row, never twice for a resent visit;
problems with their own client id (the problem form's offline queue); the ledger showing the
visit a problem came from.

The world is the `area` fixture (tests/conftest.py); its assignments cover 2024, so the
visits are on `DAY` (2024-05-14). `cadre_user` is a1v1's 帮村 cadre.
"""

import io
import re
import uuid

import openpyxl
import pytest
from django.core.exceptions import ValidationError
from rest_framework.test import APIClient

from core.models import ExportJob
from tests.factories import AssignmentFactory, CadreFactory, UserFactory, UserRoleFactory
from tests.visits.helpers import DAY, png_upload, visit_fields
from visits.models import Problem, Visit, VisitEvent, VisitPhoto
from visits.services import problem_create, problem_submit, visit_create

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.filterwarnings("ignore:No directory at:UserWarning"),
]

ROAD = {"category": "infrastructure", "description": "村东头道路塌陷"}
JOBS = {"category": "employment", "description": "返乡青年想找技能培训"}


def nothing_stored() -> bool:
    return (
        Visit.objects.count(),
        VisitEvent.objects.count(),
        VisitPhoto.objects.count(),
        Problem.objects.count(),
    ) == (0, 0, 0, 0)


@pytest.fixture
def api_as(users):
    def _client(who):
        client = APIClient()
        client.force_login(users[who])
        return client

    return _client


# ----- services -----


def test_visit_creates_its_problems_linked_to_it(area, users):
    visit, created = visit_create(
        actor=users["cadre_user"],
        problems=[ROAD, {"category": "", "description": "  "}, JOBS],  # an unused row
        **visit_fields(area.villages["a1v1"]),
    )

    assert created
    rows = list(visit.problems.order_by("id").values_list("category", "description", "village"))
    assert rows == [
        ("infrastructure", "村东头道路塌陷", area.villages["a1v1"].pk),
        ("employment", "返乡青年想找技能培训", area.villages["a1v1"].pk),
    ]
    problem = visit.problems.first()
    assert (problem.created_by, problem.status) == (users["cadre_user"], "pending")
    assert problem.history.get().history_user == users["cadre_user"]


@pytest.mark.parametrize(
    "bad_row, message",
    [
        ({"category": "infrastructure", "description": ""}, "发现问题第2行：请填写问题描述。"),
        ({"category": "", "description": "没有选类别"}, "发现问题第2行：请选择问题类别。"),
        ({"category": "weather", "description": "天气不好"}, "发现问题第2行："),
        ({"category": "other", "description": "长" * 2001}, "发现问题第2行："),
    ],
)
def test_a_bad_problem_row_refuses_the_whole_visit_naming_the_row(area, users, bad_row, message):
    with pytest.raises(ValidationError) as refused:
        visit_create(
            actor=users["cadre_user"],
            problems=[ROAD, bad_row],
            photos=[png_upload()],
            **visit_fields(area.villages["a1v1"]),
        )

    messages = refused.value.message_dict["problems"]
    assert len(messages) == 1 and messages[0].startswith(message)
    assert re.search(r"[\u4e00-\u9fff]", messages[0].split("：", 1)[1])
    assert nothing_stored()


def test_more_than_five_problem_rows_are_refused(area, users):
    with pytest.raises(ValidationError) as refused:
        visit_create(
            actor=users["cadre_user"], problems=[ROAD] * 6, **visit_fields(area.villages["a1v1"])
        )

    assert refused.value.message_dict["problems"] == ["每条记录最多 5 个发现问题。"]
    assert nothing_stored()


def test_a_resent_visit_does_not_create_its_problems_again(area, users):
    fields = visit_fields(area.villages["a1v1"])
    first, created = visit_create(actor=users["cadre_user"], problems=[ROAD, JOBS], **fields)

    again, created_again = visit_create(actor=users["cadre_user"], problems=[ROAD, JOBS], **fields)

    assert (created, created_again) == (True, False)
    assert again.pk == first.pk
    assert Problem.objects.count() == 2
    assert set(Problem.objects.values_list("visit", flat=True)) == {first.pk}


def test_a_problem_is_submitted_once_per_client_id(area, users):
    client_uuid = uuid.uuid4()
    fields = {"village": area.villages["a1v1"], **ROAD}

    first, created = problem_submit(actor=users["cadre_user"], client_uuid=client_uuid, **fields)
    again, created_again = problem_submit(
        actor=users["cadre_user"], client_uuid=str(client_uuid), **fields
    )

    assert (created, created_again) == (True, False)
    assert first.pk == again.pk and first.client_uuid == client_uuid
    assert Problem.objects.count() == 1


def test_someone_elses_problem_id_is_refused(area, users):
    client_uuid = uuid.uuid4()
    problem_submit(
        actor=users["township_official"],
        client_uuid=client_uuid,
        village=area.villages["a1v1"],
        **ROAD,
    )

    with pytest.raises(ValidationError) as refused:
        problem_submit(
            actor=users["cadre_user"],
            client_uuid=client_uuid,
            village=area.villages["a1v1"],
            **JOBS,
        )

    assert refused.value.message_dict["client_uuid"] == ["该编号已被其他记录使用。"]
    assert Problem.objects.get().description == ROAD["description"]


def test_problems_get_distinct_client_ids(area, users):
    for _ in range(2):
        problem_create(actor=users["cadre_user"], village=area.villages["a1v1"], **ROAD)

    assert Problem.objects.values("client_uuid").distinct().count() == 2


# ----- the API -----


def test_api_visit_with_problem_rows_as_repeated_form_fields(api_as, area):
    client = api_as("cadre_user")
    client_uuid = str(uuid.uuid4())
    data = {
        "client_uuid": client_uuid,
        "village": area.villages["a1v1"].pk,
        "date": DAY.isoformat(),
        "activities": ["household"],
        "problem_category": ["infrastructure", "employment"],
        "problem_description": [ROAD["description"], JOBS["description"]],
    }

    created = client.post("/api/visits/", data, format="multipart")
    resent = client.post("/api/visits/", data, format="multipart")

    assert (created.status_code, resent.status_code) == (201, 200)
    visit = Visit.objects.get(client_uuid=client_uuid)
    assert sorted(visit.problems.values_list("category", flat=True)) == [
        "employment",
        "infrastructure",
    ]
    assert Problem.objects.count() == 2


def test_api_visit_with_problem_rows_as_json_lists(api_as, area):
    response = api_as("cadre_user").post(
        "/api/visits/",
        {
            "client_uuid": str(uuid.uuid4()),
            "village": area.villages["a1v1"].pk,
            "date": DAY.isoformat(),
            "activities": ["household"],
            "problem_category": ["safety"],
            "problem_description": ["桥栏杆松动"],
        },
        format="json",
    )

    assert response.status_code == 201
    assert Visit.objects.get().problems.get().description == "桥栏杆松动"


@pytest.mark.parametrize(
    "categories, descriptions, key, message",
    [
        (["other", "other"], ["有描述", ""], "problems", "发现问题第2行：请填写问题描述。"),
        (["other"], ["一", "二"], "problems", "发现问题的类别和描述行数不一致，请逐行填写。"),
        (["other"] * 6, ["六"] * 6, "problem_category", "每条记录最多 5 个发现问题。"),
    ],
)
def test_api_refuses_the_visit_for_a_bad_problem_row(
    api_as, area, categories, descriptions, key, message
):
    response = api_as("cadre_user").post(
        "/api/visits/",
        {
            "client_uuid": str(uuid.uuid4()),
            "village": area.villages["a1v1"].pk,
            "date": DAY.isoformat(),
            "activities": ["household"],
            "problem_category": categories,
            "problem_description": descriptions,
        },
        format="multipart",
    )

    assert response.status_code == 400
    assert message in response.json()[key]
    assert nothing_stored()


def test_api_problem_create_is_idempotent(api_as, area):
    client = api_as("cadre_user")
    data = {"client_uuid": str(uuid.uuid4()), "village": area.villages["a1v1"].pk, **ROAD}

    created = client.post("/api/problems/", data, format="json")
    resent = client.post("/api/problems/", data, format="json")

    assert (created.status_code, resent.status_code) == (201, 200)
    assert created.json()["id"] == resent.json()["id"]
    assert created.json()["client_uuid"] == data["client_uuid"]
    assert Problem.objects.count() == 1


def test_api_problem_without_client_id_is_still_created_each_time(api_as, area):
    client = api_as("township_official")
    data = {"village": area.villages["a1v1"].pk, **ROAD}

    codes = [client.post("/api/problems/", data, format="json").status_code for _ in range(2)]

    assert codes == [201, 201]
    assert Problem.objects.count() == 2


@pytest.mark.parametrize("who", ["other_county_official", "cadre_user"])
def test_api_problem_for_an_out_of_scope_village_is_refused(api_as, area, who):
    village = area.villages["b1v1"] if who == "cadre_user" else area.villages["a1v1"]

    response = api_as(who).post(
        "/api/problems/",
        {"client_uuid": str(uuid.uuid4()), "village": village.pk, **ROAD},
        format="json",
    )

    assert response.status_code == 400
    assert "不在您的联系点/辖区内" in response.json()["village"][0]
    assert not Problem.objects.exists()


def test_api_problem_of_another_county_is_404(api_as, area, users):
    problem, _ = problem_submit(
        actor=users["cadre_user"],
        client_uuid=uuid.uuid4(),
        village=area.villages["a1v1"],
        **ROAD,
    )

    assert api_as("other_county_official").get(f"/api/problems/{problem.pk}/").status_code == 404
    assert api_as("county_official").get(f"/api/problems/{problem.pk}/").status_code == 200


def test_schema_documents_the_problem_rows_and_the_problem_client_id(api_as, area):
    schema = api_as("county_official").get("/api/schema/", {"format": "json"}).json()
    visit_create_op = schema["paths"]["/api/visits/"]["post"]
    problem_create_op = schema["paths"]["/api/problems/"]["post"]

    assert "problem_category" in visit_create_op["description"]
    form = visit_create_op["requestBody"]["content"]["multipart/form-data"]["schema"]["$ref"]
    props = schema["components"]["schemas"][form.rsplit("/", 1)[1]]["properties"]
    assert {"problem_category", "problem_description"} <= set(props)
    assert {"200", "201"} <= set(problem_create_op["responses"])
    body = problem_create_op["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert "client_uuid" in schema["components"]["schemas"][body.rsplit("/", 1)[1]]["properties"]


# ----- the visit form without JavaScript -----


def visit_post(area, **rows) -> dict:
    return {
        "client_uuid": str(uuid.uuid4()),
        "village": area.villages["a1v1"].pk,
        "date": DAY.isoformat(),
        "day_part": "full",
        "activities": ["household"],
        "meetings": "0",
        "people_reached": "3",
        "households_visited": "1",
        **rows,
    }


def test_the_form_offers_problem_rows(client, users):
    client.force_login(users["cadre_user"])
    html = client.get("/visits/new/").content.decode()

    assert "+ 发现问题" in html
    assert 'name="problem_category"' in html and 'name="problem_description"' in html
    assert "<noscript>" in html  # one row for a browser without JavaScript


def test_no_js_post_stores_the_visit_with_its_problems(client, area, users):
    client.force_login(users["cadre_user"])

    response = client.post(
        "/visits/new/",
        visit_post(
            area,
            problem_category=["environment", ""],
            problem_description=["垃圾没人清运", ""],
        ),
    )

    visit = Visit.objects.get()
    assert response["Location"] == f"/visits/{visit.pk}/"
    assert list(visit.problems.values_list("category", "description")) == [
        ("environment", "垃圾没人清运")
    ]


def test_no_js_post_with_a_bad_row_stores_nothing_and_shows_the_rows_again(client, area, users):
    client.force_login(users["cadre_user"])

    response = client.post(
        "/visits/new/",
        visit_post(
            area,
            problem_category=["environment", "safety"],
            problem_description=["垃圾没人清运", ""],
        ),
    )

    assert response.status_code == 200
    html = response.content.decode()
    assert "发现问题第2行：请填写问题描述。" in html
    assert "垃圾没人清运</textarea>" in html
    assert '<option value="safety" selected>' in html
    assert nothing_stored()


# ----- the problem form -----


def test_the_cadres_problem_form_queues_offline_the_officials_does_not(client, users):
    client.force_login(users["cadre_user"])
    cadre_page = client.get("/problems/new/").content.decode()
    client.force_login(users["township_official"])
    official_page = client.get("/problems/new/").content.decode()

    assert 'data-offline-form="problem"' in cadre_page
    assert 'data-problems-api="/api/problems/"' in cadre_page
    assert "js/visit-queue.js" in cadre_page
    assert "data-offline-form" not in official_page
    assert "js/visit-queue.js" not in official_page


def test_the_problem_form_posted_twice_registers_once(client, area, users):
    client.force_login(users["cadre_user"])
    data = {"client_uuid": str(uuid.uuid4()), "village": area.villages["a1v1"].pk, **ROAD}

    client.post("/problems/new/", data)
    again = client.post("/problems/new/", data, follow=True)

    assert Problem.objects.count() == 1
    assert "这个问题之前已经登记过，未重复提交。" in [str(m) for m in again.context["messages"]]


# ----- the ledger shows the visit a problem came from -----


@pytest.fixture
def found_on_a_visit(area, users):
    visit, _ = visit_create(
        actor=users["cadre_user"], problems=[ROAD], **visit_fields(area.villages["a1v1"])
    )
    return visit, visit.problems.get()


def colleague_of_cadre_user(area):
    """A second cadre of a1v1: sees the village's problems, not the first cadre's visits."""
    other = CadreFactory(name="另一干部")
    AssignmentFactory(cadre=other, village=area.villages["a1v1"])
    login = UserFactory(username="other_cadre")
    UserRoleFactory(user=login, role="cadre")
    other.user = login
    other.save(update_fields=["user"])
    return login


def test_the_ledger_shows_the_source_visit_linked_only_for_who_may_open_it(
    client, area, users, found_on_a_visit
):
    visit, problem = found_on_a_visit
    link = f'href="/visits/{visit.pk}/"'
    client.force_login(users["township_official"])
    official = client.get("/problems/").content.decode()
    official_detail = client.get(f"/problems/{problem.pk}/").content.decode()
    client.force_login(colleague_of_cadre_user(area))
    colleague = client.get("/problems/").content.decode()

    assert "来源走访" in official and "5月14日 a1v1村</a>" in official and link in official
    assert "2024年5月14日 a1v1村</a>" in official_detail
    assert f'href="/problems/{problem.pk}/"' in colleague
    assert "5月14日 a1v1村" in colleague and link not in colleague


def test_the_ledger_export_carries_the_source_visit(
    client, area, users, found_on_a_visit, django_capture_on_commit_callbacks
):
    client.force_login(users["township_official"])
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post("/exports/new/problems/", {}).status_code == 302
    download = client.get(f"/exports/{ExportJob.objects.get().pk}/download/")
    sheet = openpyxl.load_workbook(
        io.BytesIO(b"".join(download.streaming_content)), read_only=True
    ).active
    header, row = list(sheet.iter_rows(values_only=True))

    assert header[-2:] == ("来源走访日期", "来源走访村(社区)")
    assert row[-1] == "a1v1村"
    assert row[-2].date() == DAY
