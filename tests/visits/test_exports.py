"""The Excel exports of 双十工作日 ("compliance": the below-rule cadres of a period;
"problems": the problem ledger under the list's filters), through the villages export
flow: POST /exports/new/<kind>/, the progress page, the download. Each holds only the
user's area; a bad parameter is refused, never widened.

The world is the `area` fixture (tests/conftest.py): county A (甲县: A1 甲一镇, A2
甲二街道), county B (乙县: B1 乙一乡); 2024 cadres 甲一干部 (a1v1), 联乡干部 (A2),
乙一干部 (b1v1), 跨县干部 (county-A unit at b1v2).
"""

import datetime
import io
import uuid

import openpyxl
import pytest
from django.utils import timezone

from core.models import ExportJob
from tests.factories import UserFactory, UserRoleFactory
from visits.exports import COMPLIANCE_HEADERS, PROBLEM_HEADERS
from visits.services import problem_create, problem_update, visit_create

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.filterwarnings("ignore:No directory at:UserWarning"),
]

D = datetime.date
MAY = [D(2024, 5, d) for d in range(2, 31)]


def login_for(cadre):
    if cadre.user_id:
        return cadre.user
    user = UserFactory(username=f"cadre_{cadre.pk}")
    UserRoleFactory(user=user, role="cadre")
    cadre.user = user
    cadre.save(update_fields=["user"])
    return user


def log(user, village, day, part="full"):
    visit_create(
        actor=user,
        client_uuid=uuid.uuid4(),
        village=village,
        date=day,
        day_part=part,
        activities=["household"],
    )


@pytest.fixture
def client_as(users, client):
    def _as(who):
        client.force_login(users[who])
        return client

    return _as


def export(client, kind, data, django_capture_on_commit_callbacks):
    """Post the export (the job runs when the request's transaction commits), then open
    the page it redirects to."""
    with django_capture_on_commit_callbacks(execute=True):
        posted = client.post(f"/exports/new/{kind}/", data)
    assert posted.status_code == 302
    page = client.get(posted["Location"])
    page.redirect_chain = [(posted["Location"], 302)]
    return page


def sheet_rows(client, job) -> list[tuple]:
    download = client.get(f"/exports/{job.pk}/download/")
    assert download.status_code == 200
    content = b"".join(download.streaming_content)
    sheet = openpyxl.load_workbook(io.BytesIO(content), read_only=True).active
    return [tuple(row) for row in sheet.iter_rows(values_only=True)]


# ----- compliance -----


@pytest.fixture
def may_days(area, users):
    """May 2024: 甲一干部 9 distinct days (two half days on one of them), 联乡干部 10,
    乙一干部 3, 跨县干部 none."""
    cadre = users["cadre_user"]
    for day in MAY[:8]:
        log(cadre, area.villages["a1v1"], day)
    log(cadre, area.villages["a1v1"], MAY[8], part="half")
    log(cadre, area.villages["a1v1"], MAY[8], part="half")
    for day in MAY[:10]:
        log(users["township_cadre_user"], area.villages["a2v1"], day)
    for day in MAY[:3]:
        log(login_for(area.cadres["b1v1"]), area.villages["b1v1"], day)


@pytest.mark.parametrize(
    "who, expected",
    [
        ("township_official", {"甲一干部": 9}),
        ("county_official", {"甲一干部": 9}),
        ("other_county_official", {"乙一干部": 3, "跨县干部": 0}),
        ("city_viewer", {"甲一干部": 9, "乙一干部": 3, "跨县干部": 0}),
    ],
)
def test_compliance_export_lists_the_users_below_rule_cadres(
    client_as, may_days, django_capture_on_commit_callbacks, who, expected
):
    # given
    client = client_as(who)

    # when
    page = export(client, "compliance", {"day": "2024-05-01"}, django_capture_on_commit_callbacks)
    job = ExportJob.objects.get()
    rows = sheet_rows(client, job)

    # then
    assert page.redirect_chain[-1][0] == f"/exports/{job.pk}/"
    assert "已完成" in page.content.decode()
    assert job.params == {"day": "2024-05-01"}
    assert rows[0] == COMPLIANCE_HEADERS
    assert {r[2]: r[8] for r in rows[1:]} == expected
    first = next(r for r in rows[1:] if r[2] == next(iter(expected)))
    assert first[6] == "2024年5月"
    assert first[7] == "每月10天"
    assert first[9] == 10
    assert first[10] == 10 - first[8]


def test_compliance_export_of_a_period_with_everyone_met_is_empty(
    client_as, area, users, may_days, django_capture_on_commit_callbacks
):
    log(users["cadre_user"], area.villages["a1v1"], MAY[20])
    client = client_as("county_official")

    export(client, "compliance", {"day": "2024-05-31"}, django_capture_on_commit_callbacks)

    assert sheet_rows(client, ExportJob.objects.get()) == [COMPLIANCE_HEADERS]


@pytest.mark.parametrize("day", [None, "", "2024-13-01", "五月", "2999-01-01"])
def test_compliance_export_refuses_a_missing_or_bad_period(
    client_as, area, django_capture_on_commit_callbacks, day
):
    client = client_as("county_official")
    data = {} if day is None else {"day": day}

    response = export(client, "compliance", data, django_capture_on_commit_callbacks)

    assert not ExportJob.objects.exists()
    messages = [str(m) for m in response.context["messages"]]
    assert any("考核周期" in m for m in messages)


def test_compliance_export_button_round_trip(
    client_as, may_days, django_capture_on_commit_callbacks
):
    client = client_as("county_official")
    page = client.get("/visits/compliance/?day=2024-05-17").content.decode()
    assert 'action="/exports/new/compliance/"' in page

    export(client, "compliance", {"day": "2024-05-01"}, django_capture_on_commit_callbacks)

    assert ExportJob.objects.get().kind_label == "双十工作日未达标干部"


# ----- problems -----


@pytest.fixture
def problems(area, users):
    county_a, county_b = users["county_official"], users["other_county_official"]
    past = timezone.localdate() - datetime.timedelta(days=2)
    made = {
        "a1_road": problem_create(
            actor=county_a,
            village=area.villages["a1v1"],
            category="infrastructure",
            description='=HYPERLINK("http://x")道路破损',
            handler="镇交通办",
            deadline=past,
        ),
        "a1_jobs": problem_create(
            actor=county_a, village=area.villages["a1v2"], category="employment", description="务工"
        ),
        "a2_road": problem_create(
            actor=county_a,
            village=area.villages["a2v1"],
            category="infrastructure",
            description="桥梁",
        ),
        "b1_road": problem_create(
            actor=county_b,
            village=area.villages["b1v1"],
            category="infrastructure",
            description="乙县道路",
        ),
    }
    problem_update(actor=county_a, problem=made["a1_jobs"], status="resolved", satisfaction="basic")
    return made


@pytest.mark.parametrize(
    "who, data, expected",
    [
        ("county_official", {}, {"a1_road", "a1_jobs", "a2_road"}),
        ("township_official", {}, {"a1_road", "a1_jobs"}),
        ("other_county_official", {}, {"b1_road"}),
        ("city_admin", {"category": "infrastructure"}, {"a1_road", "a2_road", "b1_road"}),
        ("county_official", {"category": "infrastructure"}, {"a1_road", "a2_road"}),
        ("county_official", {"status": "resolved"}, {"a1_jobs"}),
        ("county_official", {"overdue": "true"}, {"a1_road"}),
        ("county_official", {"township": "A2"}, {"a2_road"}),
        ("cadre_user", {}, {"a1_road"}),
    ],
)
def test_problem_export_holds_the_users_area_under_the_filters(
    client_as, area, problems, django_capture_on_commit_callbacks, who, data, expected
):
    # given
    client = client_as(who)
    if data.get("township"):
        data = {**data, "township": area.townships[data["township"]].pk}

    # when
    export(client, "problems", data, django_capture_on_commit_callbacks)
    job = ExportJob.objects.get()
    rows = sheet_rows(client, job)

    # then
    assert rows[0] == PROBLEM_HEADERS
    descriptions = {r[4] for r in rows[1:]}
    wanted = {problems[k].description for k in expected}
    # formula-looking text is kept as text
    wanted = {("'" + d if d.startswith("=") else d) for d in wanted}
    assert descriptions == wanted


def test_problem_export_rows_carry_the_ledger_columns(
    client_as, area, problems, django_capture_on_commit_callbacks
):
    client = client_as("township_official")

    export(client, "problems", {}, django_capture_on_commit_callbacks)
    rows = {r[3]: r for r in sheet_rows(client, ExportJob.objects.get())[1:]}

    road, jobs = rows["基础设施"], rows["就业"]
    assert road[:3] == ("甲县", "甲一镇", "a1v1村")
    assert road[6] == "镇交通办"
    assert road[9] == "待办"
    assert road[10] == "逾期"
    assert jobs[9] == "已办结"
    assert jobs[10] is None
    assert jobs[13] == "基本满意"
    assert jobs[11] is not None  # resolved date


@pytest.mark.parametrize(
    "data",
    [
        {"township": "B1"},
        {"village": "b1v1"},
        {"status": "closed"},
        {"month": "2024-13"},
        {"category": "weather"},
    ],
)
def test_problem_export_refuses_bad_or_out_of_area_filters(
    client_as, area, problems, django_capture_on_commit_callbacks, data
):
    # given: the list page shows these filters as invalid and empty; the export must not
    # quietly drop them and export every problem the user can see
    client = client_as("county_official")
    if "township" in data:
        data = {"township": area.townships[data["township"]].pk}
    if "village" in data:
        data = {"village": area.villages[data["village"]].pk}

    response = export(client, "problems", data, django_capture_on_commit_callbacks)

    assert not ExportJob.objects.exists()
    assert [str(m) for m in response.context["messages"]]


def test_problem_list_export_button_carries_the_filters(client_as, area, problems):
    html = client_as("county_official").get("/problems/?category=infrastructure&page=1")

    form = html.content.decode().split('action="/exports/new/problems/"', 1)[1].split("</form>")[0]
    assert 'name="category" value="infrastructure"' in form
    assert 'name="page"' not in form
