"""The visits API (/api/visits/, /api/problems/): scoping per role, idempotent creation
(also under a 20-thread race), every refused input answered in Chinese with nothing
stored, photos re-encoded as JPEG, the review actions, the problem status flow, filters,
query counts and the OpenAPI schema.

The world is the `area` fixture (tests/conftest.py); its assignments cover 2024:

    county A: township A1 (a1v1, a1v2, a1v3), township A2 (a2v1, a2v2, a2v3)
    county B: township B1 (b1v1, b1v2)
    cadres: a1v1 (帮村 a1v1; login `cadre_user`), lx_a2 (联乡 A2; login `township_cadre_user`),
            b1v1 (帮村 b1v1), cross (county-A unit, 帮村 b1v2 in county B)

Expected sets are spelled out by hand from that layout.
"""

import contextlib
import datetime
import io
import re
import threading
import uuid
from urllib.parse import urlsplit

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from PIL import Image
from rest_framework.test import APIClient

from tests.helpers import api_schema
from tests.visits.helpers import DAY, ProblemFactory, VisitFactory, png_bytes, png_upload
from visits.models import Problem, Visit, VisitEvent, VisitPhoto

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.filterwarnings("ignore:No directory at:UserWarning"),
]

CHINESE = re.compile(r"[\u4e00-\u9fff]")
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
ALL = {"a1v1", "lx_a2", "b1v1", "cross"}

# label of the visit (named after its cadre) -> who sees it. A cadre sees only their own
# visits; officials see the visits made in their area's villages.
VISITS_SEEN = {
    **dict.fromkeys(CITY_WIDE, ALL),
    "county_official": {"a1v1", "lx_a2"},
    "other_county_official": {"b1v1", "cross"},
    "township_official": {"a1v1"},
    "cadre_user": {"a1v1"},
    "township_cadre_user": {"lx_a2"},
    "no_role_user": set(),
}
# label of the problem (named after its village) -> who sees it: the village's area.
PROBLEMS_SEEN = {
    **dict.fromkeys(CITY_WIDE, {"a1v1", "a2v1", "b1v1", "b1v2"}),
    "county_official": {"a1v1", "a2v1"},
    "other_county_official": {"b1v1", "b1v2"},
    "township_official": {"a1v1"},
    "cadre_user": {"a1v1"},
    "township_cadre_user": {"a2v1"},
    "no_role_user": set(),
}


@pytest.fixture
def client_for(users):
    def _client(who):
        client = APIClient()
        if who != "anonymous":
            client.force_login(users[who])
        return client

    return _client


@pytest.fixture
def visits(area):
    """One submitted visit per cadre, at their 联系点 (lx_a2's at a2v1)."""
    where = {"a1v1": "a1v1", "lx_a2": "a2v1", "b1v1": "b1v1", "cross": "b1v2"}
    return {
        label: VisitFactory(cadre=area.cadres[label], village=area.villages[village])
        for label, village in where.items()
    }


@pytest.fixture
def problems(area):
    return {
        label: ProblemFactory(village=area.villages[label])
        for label in ("a1v1", "a2v1", "b1v1", "b1v2")
    }


def labels(objects: dict, response) -> set[str]:
    by_id = {obj.pk: label for label, obj in objects.items()}
    return {by_id.get(row["id"], f"<id {row['id']}>") for row in response.json()["results"]}


def payload(area, **overrides) -> dict:
    """A valid visit of `cadre_user` (a1v1) as JSON."""
    return {
        "client_uuid": str(uuid.uuid4()),
        "village": area.villages["a1v1"].pk,
        "date": DAY.isoformat(),
        "day_part": "full",
        "activities": ["meeting", "household"],
        "meetings": 1,
        "people_reached": 15,
        "households_visited": 4,
        "notes": "召开座谈会，入户走访。",
        "latitude": "34.123456",
        "longitude": "113.654321",
    } | overrides


def nothing_stored() -> bool:
    return (Visit.objects.count(), VisitEvent.objects.count(), VisitPhoto.objects.count()) == (
        0,
        0,
        0,
    )


# ----- scoping -----


@pytest.mark.parametrize("who", ROLES)
def test_visit_list_shows_exactly_the_visits_in_scope(client_for, visits, who):
    response = client_for(who).get("/api/visits/")

    if who == "anonymous":
        assert response.status_code == 403
        return
    assert response.status_code == 200
    assert labels(visits, response) == VISITS_SEEN[who]
    assert response.json()["count"] == len(VISITS_SEEN[who])


@pytest.mark.parametrize("who", ROLES)
def test_visit_detail_is_200_in_scope_and_404_out_of_scope(client_for, visits, who):
    client = client_for(who)

    got = {label: client.get(f"/api/visits/{v.pk}/").status_code for label, v in visits.items()}

    if who == "anonymous":
        assert set(got.values()) == {403}
    else:
        assert got == {label: 200 if label in VISITS_SEEN[who] else 404 for label in visits}


@pytest.mark.parametrize("who", ROLES)
def test_problem_list_shows_exactly_the_problems_in_scope(client_for, problems, who):
    response = client_for(who).get("/api/problems/")

    if who == "anonymous":
        assert response.status_code == 403
        return
    assert response.status_code == 200
    assert labels(problems, response) == PROBLEMS_SEEN[who]


@pytest.mark.parametrize("who", ROLES)
def test_problem_detail_is_200_in_scope_and_404_out_of_scope(client_for, problems, who):
    client = client_for(who)

    got = {label: client.get(f"/api/problems/{p.pk}/").status_code for label, p in problems.items()}

    if who == "anonymous":
        assert set(got.values()) == {403}
    else:
        assert got == {label: 200 if label in PROBLEMS_SEEN[who] else 404 for label in problems}


def test_out_of_scope_visit_answers_the_same_as_a_missing_one(client_for, visits):
    client = client_for("township_official")

    other = client.get(f"/api/visits/{visits['b1v1'].pk}/")
    missing = client.get("/api/visits/987654/")

    assert other.status_code == missing.status_code == 404
    assert other.json() == missing.json() == {"detail": "不存在，或不在您的管辖范围内。"}


def test_visit_detail_fields(client_for, area, visits, users):
    # given
    visit = visits["a1v1"]
    VisitEvent.objects.create(visit=visit, action="submit", actor=users["cadre_user"])

    # when
    own = client_for("cadre_user").get(f"/api/visits/{visit.pk}/").json()
    reviewer = client_for("township_official").get(f"/api/visits/{visit.pk}/").json()

    # then
    assert set(own) == {
        "id",
        "client_uuid",
        "cadre",
        "cadre_name",
        "village",
        "village_name",
        "date",
        "day_part",
        "activities",
        "activity_labels",
        "meetings",
        "people_reached",
        "households_visited",
        "notes",
        "latitude",
        "longitude",
        "distance_km",
        "location_flag",
        "state",
        "state_display",
        "review_comment",
        "photos",
        "photo_details",
        "events",
        "created_at",
        "editable",
    }
    assert own["cadre_name"] == "甲一干部"
    assert own["village_name"] == "a1v1村"
    assert own["activity_labels"] == ["入户走访"]
    assert own["state_display"] == "待审核"
    assert own["events"] == [
        {
            "action": "submit",
            "action_display": "提交",
            "actor_name": users["cadre_user"].first_name,
            "comment": "",
            "at": own["events"][0]["at"],
        }
    ]
    assert own["editable"] is True
    assert reviewer["editable"] is False


# ----- create: idempotency -----


def test_create_is_201_then_200_for_the_same_uuid(client_for, area):
    # given
    client = client_for("cadre_user")
    body = payload(area)

    # when
    first = client.post("/api/visits/", body, format="json")
    again = client.post("/api/visits/", body, format="json")

    # then
    assert first.status_code == 201, first.content
    assert again.status_code == 200, again.content
    assert first.json() == again.json()
    assert Visit.objects.count() == 1
    visit = Visit.objects.get()
    assert str(visit.client_uuid) == body["client_uuid"]
    assert visit.cadre == area.cadres["a1v1"]
    assert visit.activities == ["meeting", "household"]
    assert (visit.meetings, visit.people_reached, visit.households_visited) == (1, 15, 4)
    assert first.json()["state"] == "submitted"
    assert first.json()["editable"] is True
    assert [e["action"] for e in first.json()["events"]] == ["submit"]


def test_create_rounds_coordinates_to_six_decimals(client_for, area):
    response = client_for("cadre_user").post(
        "/api/visits/",
        payload(area, latitude=34.12345678901, longitude=113.9876543219),
        format="json",
    )

    assert response.status_code == 201, response.content
    assert response.json()["latitude"] == "34.123457"
    assert response.json()["longitude"] == "113.987654"


def test_create_by_a_township_cadre_in_any_village_of_the_township(client_for, area):
    response = client_for("township_cadre_user").post(
        "/api/visits/",
        payload(area, village=area.villages["a2v3"].pk, day_part="half"),
        format="json",
    )

    assert response.status_code == 201, response.content
    assert response.json()["village_name"] == "a2v3村"
    assert response.json()["day_part"] == "half"


def test_reusing_another_cadres_uuid_is_refused(client_for, area):
    # given
    body = payload(area)
    assert client_for("cadre_user").post("/api/visits/", body, format="json").status_code == 201

    # when
    response = client_for("township_cadre_user").post(
        "/api/visits/", body | {"village": area.villages["a2v1"].pk}, format="json"
    )

    # then
    assert response.status_code == 400
    assert CHINESE.search(response.json()["client_uuid"][0])
    assert Visit.objects.count() == 1


@pytest.mark.parametrize(
    "who", ["city_admin", "county_official", "township_official", "no_role_user", "superuser"]
)
def test_create_by_anyone_but_a_cadre_is_403(client_for, area, who):
    response = client_for(who).post("/api/visits/", payload(area), format="json")

    assert response.status_code == 403
    assert CHINESE.search(response.json()["detail"])
    assert nothing_stored()


def test_create_by_anonymous_is_403(client_for, area):
    response = client_for("anonymous").post("/api/visits/", payload(area), format="json")

    assert response.status_code == 403
    assert nothing_stored()


# ----- create: multipart with photos -----


def multipart(area, **overrides) -> dict:
    """`payload` for format="multipart": lists (activities, photos) become repeated keys."""
    return payload(area, **overrides)


def stored_files(settings) -> set:
    root = settings.MEDIA_ROOT / "visits"
    return {p for p in root.rglob("*") if p.is_file()} if root.exists() else set()


def test_multipart_create_with_repeated_keys_and_photos_stored_as_jpeg(client_for, area, settings):
    # given
    body = multipart(area, activities=["policy", "service"])
    body["photos"] = [png_upload("a.png"), png_upload("b.png", size=(3000, 1000))]

    # when
    response = client_for("cadre_user").post("/api/visits/", body, format="multipart")

    # then
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["activities"] == ["policy", "service"]
    assert data["activity_labels"] == ["政策宣讲", "办实事"]
    visit = Visit.objects.get()
    assert data["photos"] == [
        f"http://testserver/visits/{visit.pk}/photos/{photo.pk}/" for photo in visit.photos.all()
    ]
    for photo in visit.photos.all():
        assert photo.image.name.endswith(".jpg")
        with photo.image.open("rb") as fh:
            raw = fh.read()
        assert raw[:3] == b"\xff\xd8\xff"  # JPEG, not the PNG that was sent
        image = Image.open(io.BytesIO(raw))
        assert image.format == "JPEG"
        assert max(image.size) <= 1600
    # and the URLs the API gives serve those JPEGs to the cadre (photos are not public)
    served = client_for("cadre_user").get(urlsplit(data["photos"][0]).path)
    assert served.status_code == 200
    assert b"".join(served.streaming_content)[:3] == b"\xff\xd8\xff"
    assert APIClient().get(urlsplit(data["photos"][0]).path).status_code in (302, 403)


def test_multipart_create_without_photos(client_for, area):
    response = client_for("cadre_user").post("/api/visits/", multipart(area), format="multipart")

    assert response.status_code == 201, response.content
    assert response.json()["photos"] == []


# ----- create: every refused input, in Chinese, nothing stored -----


def _not_an_image():
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile("evil.png", b"<?php echo 1; ?>" * 20, content_type="image/png")


def _oversized():
    from django.core.files.uploadedfile import SimpleUploadedFile

    data = png_bytes() + b"\0" * (8 * 1024 * 1024)
    return SimpleUploadedFile("big.png", data, content_type="image/png")


BAD_INPUTS = {
    "village of another county": ("village", lambda area: {"village": area.villages["b1v1"].pk}),
    "village in the township, not the cadre's": (
        "village",
        lambda area: {"village": area.villages["a1v2"].pk},
    ),
    "unknown village": ("village", lambda area: {"village": 987654}),
    "future date": (
        "date",
        lambda area: {"date": (timezone.localdate() + datetime.timedelta(days=1)).isoformat()},
    ),
    "date outside the assignment": ("date", lambda area: {"date": "2023-06-01"}),
    "bad date": ("date", lambda area: {"date": "2024-02-30"}),
    "negative meetings": ("meetings", lambda area: {"meetings": -1}),
    "negative people": ("people_reached", lambda area: {"people_reached": -5}),
    "negative households": ("households_visited", lambda area: {"households_visited": -1}),
    "no activity": ("activities", lambda area: {"activities": []}),
    "unknown activity": ("activities", lambda area: {"activities": ["karaoke"]}),
    "unknown day part": ("day_part", lambda area: {"day_part": "night"}),
    "latitude out of range": ("latitude", lambda area: {"latitude": "91"}),
    "latitude far out of range": ("latitude", lambda area: {"latitude": "1e12"}),
    "longitude out of range": ("longitude", lambda area: {"longitude": "-180.5"}),
    "latitude without longitude": ("latitude", lambda area: {"longitude": None}),
    "not a uuid": ("client_uuid", lambda area: {"client_uuid": "abc"}),
    "notes too long": ("notes", lambda area: {"notes": "长" * 2001}),
}


@pytest.mark.parametrize("case", list(BAD_INPUTS))
def test_bad_input_is_400_in_chinese_and_nothing_is_stored(client_for, area, case):
    # given
    field, change = BAD_INPUTS[case]

    # when
    response = client_for("cadre_user").post(
        "/api/visits/", payload(area, **change(area)), format="json"
    )

    # then
    assert response.status_code == 400, response.content
    errors = response.json()
    assert field in errors, errors
    assert all(CHINESE.search(message) for message in errors[field]), errors
    assert nothing_stored()


def test_future_date_message(client_for, area):
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)

    response = client_for("cadre_user").post(
        "/api/visits/", payload(area, date=tomorrow.isoformat()), format="json"
    )

    assert "日期不能晚于今天。" in response.json()["date"]


@pytest.mark.parametrize(
    "photos, message",
    [
        (lambda: [_not_an_image()], "不是有效的图片"),
        (lambda: [png_upload(), _not_an_image()], "不是有效的图片"),
        (lambda: [_oversized()], "照片“big.png”大小 8.1 MB，超过 8 MB 上限"),
        (lambda: [png_upload(f"{i}.png") for i in range(4)], "最多 3 张照片"),
    ],
    ids=["not an image", "one good one bad", "oversized", "four photos"],
)
def test_bad_photos_are_400_in_chinese_and_nothing_is_stored(
    client_for, area, settings, photos, message
):
    # given
    body = multipart(area)
    body["photos"] = photos()
    files_before = stored_files(settings)

    # when
    response = client_for("cadre_user").post("/api/visits/", body, format="multipart")

    # then
    assert response.status_code == 400, response.content
    assert any(message in m for m in response.json()["photos"]), response.json()
    assert nothing_stored()
    assert stored_files(settings) == files_before


# ----- concurrency -----


@pytest.mark.django_db(transaction=True)
def test_twenty_simultaneous_submissions_of_one_uuid_store_one_visit(area, cadre_user):
    """20 threads, each with its own client (and database connection), post the same
    visit at once. On PostgreSQL they really overlap: the losers wait on the unique index,
    hit the IntegrityError and get the stored visit back. SQLite's in-memory test database
    (shared cache) answers "table is locked" instead of waiting, so there the requests
    take turns: concurrency is serialised, and the result must be the same."""
    # given
    body = payload(area)
    clients = []
    for _ in range(20):
        client = Client()
        client.force_login(cadre_user)
        clients.append(client)
    start = threading.Barrier(len(clients))
    turns = threading.Lock() if connection.vendor == "sqlite" else contextlib.nullcontext()
    results: list = [None] * len(clients)

    def submit(i):
        try:
            start.wait()
            with turns:
                response = clients[i].post("/api/visits/", body, content_type="application/json")
            results[i] = (response.status_code, response.json().get("id"))
        except Exception as exc:  # surfaced by the assertions below
            results[i] = (repr(exc), None)
        finally:
            connection.close()

    threads = [threading.Thread(target=submit, args=(i,)) for i in range(len(clients))]

    # when
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)

    # then
    assert Visit.objects.count() == 1
    visit = Visit.objects.get()
    assert sorted(code for code, _ in results) == [200] * 19 + [201], results
    assert {pk for _, pk in results} == {visit.pk}
    assert VisitEvent.objects.filter(visit=visit).count() == 1
    assert Visit.history.filter(id=visit.pk).count() == 1


# ----- edits -----


def test_cadre_edits_own_visit(client_for, area):
    client = client_for("cadre_user")
    created = client.post("/api/visits/", payload(area), format="json").json()

    response = client.patch(
        f"/api/visits/{created['id']}/", {"people_reached": 30, "notes": "补充记录"}, format="json"
    )

    assert response.status_code == 200, response.content
    assert response.json()["people_reached"] == 30
    assert response.json()["notes"] == "补充记录"
    assert [e["action"] for e in response.json()["events"]] == ["submit", "edit"]


def test_edit_with_a_bad_value_is_400_and_changes_nothing(client_for, area):
    client = client_for("cadre_user")
    created = client.post("/api/visits/", payload(area), format="json").json()

    response = client.patch(
        f"/api/visits/{created['id']}/", {"households_visited": -2}, format="json"
    )

    assert response.status_code == 400
    assert CHINESE.search(response.json()["households_visited"][0])
    assert Visit.objects.get().households_visited == 4


def test_official_cannot_edit_a_visit_in_scope(client_for, area, visits):
    response = client_for("township_official").patch(
        f"/api/visits/{visits['a1v1'].pk}/", {"notes": "改"}, format="json"
    )

    assert response.status_code == 403
    assert CHINESE.search(response.json()["detail"])


def test_cadre_cannot_see_or_edit_another_cadres_visit(client_for, visits):
    response = client_for("cadre_user").patch(
        f"/api/visits/{visits['lx_a2'].pk}/", {"notes": "改"}, format="json"
    )

    assert response.status_code == 404


def test_put_and_delete_are_not_offered(client_for, area, visits):
    client = client_for("cadre_user")
    url = f"/api/visits/{visits['a1v1'].pk}/"

    assert client.put(url, payload(area), format="json").status_code == 405
    assert client.delete(url).status_code == 405
    assert Visit.objects.filter(pk=visits["a1v1"].pk).exists()


# ----- review -----


def test_township_official_approves(client_for, visits, users):
    # when
    response = client_for("township_official").post(
        f"/api/visits/{visits['a1v1'].pk}/approve/", {}, format="json"
    )

    # then
    assert response.status_code == 200, response.content
    data = response.json()
    assert data["state"] == "approved"
    assert data["state_display"] == "已通过"
    assert data["events"][-1]["action"] == "approve"
    assert data["events"][-1]["actor_name"] == users["township_official"].first_name
    visit = Visit.objects.get(pk=visits["a1v1"].pk)
    assert visit.reviewed_by == users["township_official"]


def test_return_needs_a_comment(client_for, visits):
    client = client_for("county_official")
    url = f"/api/visits/{visits['lx_a2'].pk}/return/"

    empty = client.post(url, {}, format="json")
    blank = client.post(url, {"comment": "   "}, format="json")
    done = client.post(url, {"comment": "请补充走访对象。"}, format="json")

    assert empty.status_code == blank.status_code == 400
    assert empty.json()["comment"] == ["退回时请写明原因。"]
    assert done.status_code == 200, done.content
    assert done.json()["state"] == "returned"
    assert done.json()["review_comment"] == "请补充走访对象。"
    assert done.json()["events"][-1]["comment"] == "请补充走访对象。"


def test_returned_visit_edited_by_its_cadre_is_resubmitted(client_for, area):
    cadre = client_for("cadre_user")
    created = cadre.post("/api/visits/", payload(area), format="json").json()
    client_for("township_official").post(
        f"/api/visits/{created['id']}/return/", {"comment": "照片不清楚"}, format="json"
    )

    response = cadre.patch(f"/api/visits/{created['id']}/", {"notes": "已补充"}, format="json")

    assert response.status_code == 200
    assert response.json()["state"] == "submitted"
    assert [e["action"] for e in response.json()["events"]] == ["submit", "return", "resubmit"]


@pytest.mark.parametrize("action", ["approve", "return"])
def test_review_out_of_scope_is_404(client_for, visits, action):
    response = client_for("township_official").post(
        f"/api/visits/{visits['b1v1'].pk}/{action}/", {"comment": "x"}, format="json"
    )

    assert response.status_code == 404
    assert Visit.objects.get(pk=visits["b1v1"].pk).state == "submitted"


@pytest.mark.parametrize("who", ["cadre_user", "city_viewer"])
def test_review_by_a_non_reviewer_is_403(client_for, visits, who):
    response = client_for(who).post(f"/api/visits/{visits['a1v1'].pk}/approve/", {}, format="json")

    assert response.status_code == 403
    assert CHINESE.search(response.json()["detail"])
    assert Visit.objects.get(pk=visits["a1v1"].pk).state == "submitted"


def test_approving_twice_is_400(client_for, visits):
    client = client_for("township_official")
    url = f"/api/visits/{visits['a1v1'].pk}/approve/"
    assert client.post(url, {}, format="json").status_code == 200

    again = client.post(url, {}, format="json")

    assert again.status_code == 400
    assert "已通过" in again.json()["detail"][0]


# ----- filters -----


def test_visit_filters(client_for, area, visits):
    # given
    client = client_for("city_admin")
    Visit.objects.filter(pk=visits["b1v1"].pk).update(
        state="approved", date=datetime.date(2024, 3, 1)
    )

    def seen(params):
        response = client.get("/api/visits/", params)
        assert response.status_code == 200, response.content
        return labels(visits, response)

    # then
    assert seen({"state": "approved"}) == {"b1v1"}
    assert seen({"state": "submitted"}) == ALL - {"b1v1"}
    assert seen({"date_to": "2024-03-31"}) == {"b1v1"}
    assert seen({"date_from": "2024-04-01", "date_to": DAY.isoformat()}) == ALL - {"b1v1"}
    assert seen({"village": area.villages["a2v1"].pk}) == {"lx_a2"}
    assert seen({"cadre": area.cadres["cross"].pk}) == {"cross"}


@pytest.mark.parametrize(
    "params",
    [
        lambda area: {"village": area.villages["b1v1"].pk},
        lambda area: {"cadre": area.cadres["b1v1"].pk},
        lambda area: {"state": "bogus"},
        lambda area: {"date_from": "not-a-date"},
    ],
    ids=["village out of scope", "cadre out of scope", "bad state", "bad date"],
)
def test_bad_or_out_of_scope_visit_filter_is_400_in_chinese(client_for, area, visits, params):
    response = client_for("county_official").get("/api/visits/", params(area))

    assert response.status_code == 400
    (messages,) = response.json().values()
    assert CHINESE.search(messages[0])


def test_visit_list_is_paginated(client_for, area):
    for i in range(3):
        VisitFactory(
            cadre=area.cadres["a1v1"],
            village=area.villages["a1v1"],
            date=DAY - datetime.timedelta(days=i),
        )

    body = client_for("cadre_user").get("/api/visits/", {"page_size": 2}).json()

    assert body["count"] == 3
    assert len(body["results"]) == 2
    assert body["results"][0]["date"] == DAY.isoformat()  # newest first
    assert body["next"]


# ----- query counts -----


def test_visit_list_query_count_does_not_grow_with_the_page(client_for, area, users):
    client = client_for("county_official")

    def count_queries():
        with CaptureQueriesContext(connection) as ctx:
            assert client.get("/api/visits/").status_code == 200
        return len(ctx.captured_queries)

    VisitFactory(cadre=area.cadres["a1v1"], village=area.villages["a1v1"])
    count_queries()  # the first request also loads the login (then cached, with Redis)
    small = count_queries()
    for _ in range(10):
        visit = VisitFactory(cadre=area.cadres["a1v1"], village=area.villages["a1v1"])
        VisitEvent.objects.create(visit=visit, action="submit", actor=users["cadre_user"])

    assert count_queries() == small


# ----- problems -----


def test_problem_status_flow_through_the_api(client_for, area, visits):
    # given
    client = client_for("cadre_user")

    # when: raised from a visit, then worked on, then resolved
    created = client.post(
        "/api/problems/",
        {
            "village": area.villages["a1v1"].pk,
            "category": "infrastructure",
            "description": "村东头道路破损，雨天积水。",
            "raised_by": "张大爷",
            "handler": "镇交通办",
            "deadline": "2024-06-30",
            "visit": visits["a1v1"].pk,
        },
        format="json",
    )
    url = f"/api/problems/{created.json()['id']}/"
    going = client.patch(url, {"status": "in_progress"}, format="json")
    back = client.patch(url, {"status": "pending"}, format="json")
    done = client.patch(url, {"status": "resolved", "satisfaction": "satisfied"}, format="json")
    after_done = client.patch(url, {"status": "in_progress"}, format="json")

    # then
    assert created.status_code == 201, created.content
    assert created.json()["status"] == "pending"
    assert created.json()["status_display"] == "待办"
    assert created.json()["visit"] == visits["a1v1"].pk
    assert going.status_code == 200
    assert going.json()["status_display"] == "办理中"
    assert back.status_code == 400
    assert CHINESE.search(back.json()["status"][0])
    assert done.status_code == 200, done.content
    assert done.json()["status"] == "resolved"
    assert done.json()["resolved_on"] == timezone.localdate().isoformat()
    assert done.json()["satisfaction_display"] == "满意"
    assert done.json()["overdue"] is False
    assert after_done.status_code == 400
    assert Problem.objects.get().status == "resolved"


def test_explained_needs_an_explanation(client_for, problems):
    client = client_for("county_official")
    url = f"/api/problems/{problems['a1v1'].pk}/"

    refused = client.patch(url, {"status": "explained"}, format="json")
    accepted = client.patch(
        url, {"status": "explained", "explanation": "涉及规划调整，已向群众解释。"}, format="json"
    )

    assert refused.status_code == 400
    assert CHINESE.search(str(refused.json()))
    assert accepted.status_code == 200
    assert accepted.json()["status_display"] == "无法办结已解释"


@pytest.mark.parametrize(
    "who, village, status",
    [
        ("cadre_user", "a1v2", 400),  # a village the cadre is not linked to
        ("township_official", "a2v1", 400),  # another township
        ("county_official", "b1v1", 400),  # another county
        ("city_viewer", "a1v1", 403),  # read-only role
        ("no_role_user", "a1v1", 400),  # sees no village at all
    ],
)
def test_problem_create_outside_scope_is_refused(client_for, area, who, village, status):
    response = client_for(who).post(
        "/api/problems/",
        {"village": area.villages[village].pk, "category": "other", "description": "问题"},
        format="json",
    )

    assert response.status_code == status
    assert CHINESE.search(str(response.json()))
    assert Problem.objects.count() == 0


def test_problem_with_a_visit_of_another_village_is_400(client_for, area, visits):
    response = client_for("county_official").post(
        "/api/problems/",
        {
            "village": area.villages["a1v2"].pk,
            "category": "other",
            "description": "问题",
            "visit": visits["a1v1"].pk,
        },
        format="json",
    )

    assert response.status_code == 400
    assert CHINESE.search(response.json()["visit"][0])


def test_problem_update_out_of_scope_is_404(client_for, problems):
    response = client_for("township_official").patch(
        f"/api/problems/{problems['b1v1'].pk}/", {"status": "in_progress"}, format="json"
    )

    assert response.status_code == 404
    assert Problem.objects.get(pk=problems["b1v1"].pk).status == "pending"


def test_problem_filters(client_for, area, problems):
    # given
    client = client_for("city_admin")
    yesterday = timezone.localdate() - datetime.timedelta(days=1)
    Problem.objects.filter(pk=problems["a1v1"].pk).update(deadline=yesterday)
    Problem.objects.filter(pk=problems["b1v1"].pk).update(
        status="resolved", resolved_on=yesterday, category="safety", deadline=yesterday
    )

    def seen(params):
        response = client.get("/api/problems/", params)
        assert response.status_code == 200, response.content
        return labels(problems, response)

    # then
    assert seen({"status": "resolved"}) == {"b1v1"}
    assert seen({"category": "safety"}) == {"b1v1"}
    assert seen({"overdue": "true"}) == {"a1v1"}
    assert seen({"overdue": "false"}) == {"a2v1", "b1v1", "b1v2"}
    assert seen({"village": area.villages["b1v2"].pk}) == {"b1v2"}
    overdue_row = client.get(f"/api/problems/{problems['a1v1'].pk}/").json()
    assert overdue_row["overdue"] is True


def test_problem_filter_by_village_out_of_scope_is_400(client_for, area, problems):
    response = client_for("township_official").get(
        "/api/problems/", {"village": area.villages["b1v1"].pk}
    )

    assert response.status_code == 400
    assert CHINESE.search(response.json()["village"][0])


# ----- schema -----


def test_schema_documents_the_visits_api_in_chinese(client_for, area):
    schema = client_for("county_official").get("/api/schema/", {"format": "json"}).json()
    paths = schema["paths"]

    for path in (
        "/api/visits/",
        "/api/visits/{id}/",
        "/api/visits/{id}/approve/",
        "/api/visits/{id}/return/",
        "/api/problems/",
        "/api/problems/{id}/",
    ):
        assert path in paths, path
        for operation in paths[path].values():
            assert CHINESE.search(operation["summary"]), (path, operation["summary"])
    create = paths["/api/visits/"]["post"]
    assert {"application/json", "multipart/form-data"} <= set(create["requestBody"]["content"])
    assert {"200", "201", "400", "403"} <= set(create["responses"])
    assert "put" not in paths["/api/visits/{id}/"]
    assert "delete" not in paths["/api/visits/{id}/"]
    assert "patch" in paths["/api/problems/{id}/"]
    params = {p["name"] for p in paths["/api/visits/"]["get"]["parameters"]}
    assert {"state", "date_from", "date_to", "village", "cadre", "page"} <= params
    params = {p["name"] for p in paths["/api/problems/"]["get"]["parameters"]}
    assert {"status", "category", "village", "overdue"} <= params


# ----- create: what one creation costs -----


def test_create_costs_a_fixed_handful_of_queries(client_for, area, django_assert_max_num_queries):
    # given: a signed-in cadre (session, then the user with role and cadre in one query)
    client = client_for("cadre_user")

    # when / then: session, user (with role and cadre), the cadre's assignments (with
    # their villages), BEGIN, 4 inserts (the visit, the submit event and a history row for
    # each), COMMIT: no lookup of the client_uuid beforehand, no re-read for the answer
    with django_assert_max_num_queries(9):
        response = client.post("/api/visits/", payload(area), format="json")
    assert response.status_code == 201, response.content
    assert response.json()["cadre_name"] == area.cadres["a1v1"].name
    assert response.json()["village_name"] == "a1v1村"
    assert [e["action"] for e in response.json()["events"]] == ["submit"]


def test_a_retry_is_answered_with_the_stored_visit_even_once_it_would_be_refused(client_for, area):
    # given: a visit stored, then the cadre's assignment ends before the day of the visit
    client = client_for("cadre_user")
    body = payload(area)
    first = client.post("/api/visits/", body, format="json")
    assert first.status_code == 201, first.content
    area.cadres["a1v1"].assignments.update(end_date=DAY - datetime.timedelta(days=1))

    # when: the phone retries the same submission
    again = client.post("/api/visits/", body, format="json")

    # then: the stored visit, not a refusal
    assert again.status_code == 200, again.content
    assert again.json()["id"] == first.json()["id"]
    assert Visit.objects.count() == 1


def test_schema_allows_the_blank_satisfaction_of_an_open_problem(client_for, area, problems):
    # an open problem answers satisfaction "", which the enum alone did not allow
    answer = client_for("county_official").get("/api/problems/").json()["results"]
    schema = api_schema()["components"]["schemas"]

    assert "" in {row["satisfaction"] for row in answer}
    satisfaction = schema["Problem"]["properties"]["satisfaction"]
    assert {"$ref": "#/components/schemas/BlankEnum"} in satisfaction["oneOf"]
