"""Numbers people type or import have the domain's ranges (issue 15, point 5).

SQLite stored 座谈会 = 2**31 for a single visit. Every integer a person or an import fills
now has a range (villages.bounds): the API, the form, the import sheet and the service
refuse 2**31 with a Chinese message naming the field, and nothing is stored; the tables
written in bulk refuse it in the database too (CHECK constraints).

The world is the `area` fixture (tests/conftest.py); the clock is held in May 2024, inside
the 2024 assignments.
"""

from __future__ import annotations

import datetime
import uuid
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from rest_framework.test import APIClient

from dashboards.models import Target
from dashboards.services import target_save
from disputes.models import Dispute, Incident, Petition, ThreeZeroUnit
from disputes.services import dispute_create
from stars.models import RatingYear, StarSettings
from tests.imports.builders import (
    build_world,
    issue_strings,
    plan_of,
    village_values,
    villages_xlsx,
)
from tests.visits.helpers import visit_fields
from villages.models import Village
from visits.models import Visit
from visits.services import visit_create

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.filterwarnings("ignore:No directory at:UserWarning"),
]

HUGE = 2**31
# Over every range here, yet an integer any database column holds: only the CHECK refuses it.
OVER = 100_000


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(
        datetime.datetime(2024, 5, 20, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai")), tick=False
    ):
        yield


@pytest.fixture
def api(users):
    def _as(who):
        client = APIClient()
        client.force_login(users[who])
        return client

    return _as


@pytest.fixture
def page(users, client):
    def _as(who):
        client.force_login(users[who])
        return client

    return _as


# ----- visits -----

VISIT_LIMITS = [
    ("meetings", "召开座谈会(场)不能超过 20。"),
    ("people_reached", "走访群众(人次)不能超过 5000。"),
    ("households_visited", "入户(户)不能超过 500。"),
]


def _visit_body(area, **extra) -> dict:
    return {
        "client_uuid": str(uuid.uuid4()),
        "village": area.villages["a1v1"].pk,
        "date": "2024-05-14",
        "activities": ["meeting", "household"],
        "meetings": 1,
        "people_reached": 20,
        "households_visited": 5,
    } | extra


@pytest.mark.parametrize("field, message", VISIT_LIMITS)
def test_the_visit_api_refuses_2_31_naming_the_field(api, area, field, message):
    # when
    response = api("cadre_user").post(
        "/api/visits/", _visit_body(area, **{field: HUGE}), format="json"
    )

    # then
    assert response.status_code == 400
    assert response.json()[field] == [message]
    assert not Visit.objects.exists()


@pytest.mark.parametrize("field, message", VISIT_LIMITS)
def test_the_visit_form_refuses_2_31_naming_the_field(page, area, field, message):
    # given
    data = _visit_body(area, **{field: str(HUGE)})

    # when
    response = page("cadre_user").post("/visits/new/", data)

    # then
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Visit.objects.exists()


def test_the_visit_form_tells_the_browser_the_limits(page):
    html = page("cadre_user").get("/visits/new/").content.decode()
    assert 'name="meetings"' in html and 'max="20"' in html
    assert 'max="5000"' in html and 'max="500"' in html


@pytest.mark.parametrize("field, message", VISIT_LIMITS)
def test_the_visit_service_refuses_2_31_naming_the_field(area, cadre_user, field, message):
    # when / then
    with pytest.raises(ValidationError) as exc:
        visit_create(actor=cadre_user, **visit_fields(area.villages["a1v1"], **{field: HUGE}))
    assert exc.value.message_dict == {field: [message]}
    assert not Visit.objects.exists()


def test_the_largest_sane_visit_is_accepted(area, cadre_user):
    # when
    visit, _ = visit_create(
        actor=cadre_user,
        **visit_fields(
            area.villages["a1v1"], meetings=20, people_reached=5000, households_visited=500
        ),
    )

    # then
    assert (visit.meetings, visit.people_reached, visit.households_visited) == (20, 5000, 500)


@pytest.mark.parametrize("field", ["meetings", "people_reached", "households_visited"])
def test_the_database_refuses_an_out_of_range_visit_written_around_the_service(
    area, cadre_user, field
):
    # given
    visit, _ = visit_create(actor=cadre_user, **visit_fields(area.villages["a1v1"]))

    # when / then
    with pytest.raises(IntegrityError), transaction.atomic():
        Visit.objects.filter(pk=visit.pk).update(**{field: OVER})


# ----- 三零 ledgers -----


def _dispute(area, **extra) -> dict:
    return {
        "village": area.villages["a1v1"].pk,
        "dispute_type": "neighbour",
        "source": "grid",
        "registered_on": "2024-05-06",
        "summary": "排水沟纠纷",
        "parties": "张三、李四",
        "people_involved": 6,
        "risk_level": "yellow",
        "responsible": "村调委会",
    } | extra


def _incident(area, **extra) -> dict:
    return {
        "village": area.villages["a1v1"].pk,
        "kind": "fire",
        "occurred_on": "2024-05-06",
        "place": "村东",
        "summary": "起火",
        "deaths": 0,
        "injuries": 0,
        "source": "emergency",
    } | extra


def _petition(area, **extra) -> dict:
    return {
        "village": area.villages["a1v1"].pk,
        "channel": "visit",
        "received_on": "2024-05-06",
        "petitioner_name": "王五",
        "people_involved": 1,
        "subject": "道路修缮",
        "level_reached": "township",
    } | extra


@pytest.mark.parametrize(
    "url, body, field, message",
    [
        ("/api/disputes/", _dispute, "people_involved", "涉及人数不能超过 10000。"),
        ("/api/petitions/", _petition, "people_involved", "涉及人数不能超过 10000。"),
        ("/api/incidents/", _incident, "deaths", "死亡人数不能超过 1000。"),
        ("/api/incidents/", _incident, "injuries", "受伤人数不能超过 1000。"),
    ],
    ids=["dispute people", "petition people", "incident deaths", "incident injuries"],
)
def test_the_ledger_api_refuses_2_31_naming_the_field(api, area, url, body, field, message):
    # when
    response = api("county_official").post(url, body(area, **{field: HUGE}), format="json")

    # then
    assert response.status_code == 400, response.json()
    assert response.json()[field] == [message]
    assert not (Dispute.objects.exists() or Petition.objects.exists())
    assert not Incident.objects.exists()


def test_the_ledger_api_still_takes_numbers_in_range(api, area):
    response = api("county_official").post(
        "/api/incidents/", _incident(area, deaths=2, injuries=1000), format="json"
    )
    assert response.status_code == 201, response.json()


@pytest.mark.parametrize(
    "url, body, field, message",
    [
        ("/disputes/disputes/new/", _dispute, "people_involved", "涉及人数不能超过 10000。"),
        ("/disputes/incidents/new/", _incident, "deaths", "死亡人数不能超过 1000。"),
        ("/disputes/incidents/new/", _incident, "injuries", "受伤人数不能超过 1000。"),
    ],
    ids=["dispute people", "incident deaths", "incident injuries"],
)
def test_the_ledger_forms_refuse_2_31_naming_the_field(page, area, url, body, field, message):
    # when
    response = page("county_official").post(url, body(area, **{field: str(HUGE)}))

    # then
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Dispute.objects.exists() and not Incident.objects.exists()


def test_the_dispute_service_refuses_2_31_naming_the_field(area, county_official):
    # given
    fields = _dispute(area, people_involved=HUGE, registered_on=datetime.date(2024, 5, 6))
    fields["village"] = area.villages["a1v1"]

    # when / then
    with pytest.raises(ValidationError) as exc:
        dispute_create(actor=county_official, **fields)
    assert exc.value.message_dict["people_involved"] == ["涉及人数不能超过 10000。"]
    assert not Dispute.objects.exists()


def test_the_database_refuses_out_of_range_casualties(area):
    with pytest.raises(IntegrityError), transaction.atomic():
        Incident.objects.create(
            township=area.townships["A1"],
            village=area.villages["a1v1"],
            kind="fire",
            occurred_on=datetime.date(2024, 5, 6),
            place="村东",
            summary="起火",
            deaths=OVER,
            source="emergency",
        )


def test_the_unit_api_refuses_a_year_out_of_range(api, area):
    # when
    response = api("county_official").post(
        "/api/three-zero-units/",
        {
            "township": area.townships["A1"].pk,
            "name": "甲一镇中心小学",
            "unit_type": "school",
            "year_from": HUGE,
        },
        format="json",
    )

    # then
    assert response.status_code == 400, response.json()
    assert response.json()["year_from"] == ["纳入年度不能超过 2100。"]
    assert not ThreeZeroUnit.objects.exists()


# ----- the roster import -----


@pytest.mark.parametrize(
    "header, message",
    [
        ("户数", "户数“2147483648”不在 0–50000 之间"),
        ("人口", "人口“2147483648”不在 0–200000 之间"),
    ],
)
def test_the_village_import_refuses_2_31_naming_row_and_column(header, message):
    # given
    world = build_world(villages_per_township=2)
    village = world.villages["a1v1"]
    before = Village.objects.values_list("households", "population").get(pk=village.pk)
    rows = [village_values(village, **{header: HUGE}), village_values(world.villages["a1v2"])]

    # when
    plan, _ = plan_of("villages", villages_xlsx(rows))

    # then: row 2 (the first data row) is refused, naming the column; the other row is fine
    assert issue_strings(plan) == [f"第2行 {header}: {message}"]
    assert [item.row for item in plan.valid_items()] == [3]
    assert Village.objects.values_list("households", "population").get(pk=village.pk) == before


# ----- targets and ratings -----


def test_a_target_out_of_range_is_refused_naming_the_field(area, city_admin):
    # given
    target = Target(year=2024, indicator="visits", comparison="gte", threshold=Decimal(HUGE))

    # when / then
    with pytest.raises(ValidationError) as exc:
        target_save(actor=city_admin, target=target)
    assert exc.value.message_dict["threshold"] == ["目标值不能超过 10000000。"]
    assert not Target.objects.filter(year=2024, indicator="visits").exists()


def test_a_rate_target_over_100_is_refused(area, city_admin):
    # given
    target = Target(year=2024, indicator="sanling_village_rate", comparison="gte", threshold=120)

    # when / then
    with pytest.raises(ValidationError) as exc:
        target_save(actor=city_admin, target=target)
    assert exc.value.message_dict["threshold"] == ["比率类指标的目标值是百分数，不能超过 100。"]


def test_the_target_form_refuses_a_year_out_of_range(page, area):
    # when
    response = page("city_admin").post(
        "/dashboards/targets/new/",
        {"year": str(HUGE), "indicator": "visits", "comparison": "gte", "threshold": "100"},
    )

    # then
    assert response.status_code == 200
    assert "年度不能超过 2100。" in response.content.decode()
    assert not Target.objects.filter(indicator="visits", threshold=100).exists()


@pytest.mark.parametrize(
    "obj, field, message",
    [
        (lambda: RatingYear(year=HUGE), "year", "年度不能超过 2100。"),
        (lambda: StarSettings(publicity_days=HUGE), "publicity_days", "公示期(天)不能超过 30。"),
    ],
    ids=["rating year", "publicity days"],
)
def test_star_numbers_are_bounded(obj, field, message):
    with pytest.raises(ValidationError) as exc:
        obj().full_clean()
    assert exc.value.message_dict[field] == [message]
