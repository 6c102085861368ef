"""The 三零 rule and the yearly status, through the eager Celery path (the same task and
service the worker runs; see test_celery_worker.py for the real worker on Redis).

A change of a petition or an incident schedules the recomputation on commit; the tests
run the on-commit callbacks with `django_capture_on_commit_callbacks(execute=True)`.
"""

import datetime
import logging

import pytest
from kombu.exceptions import OperationalError

from disputes import sanling
from disputes.models import Petition, SanlingStatus
from disputes.services import (
    incident_create,
    ledger_delete,
    ledger_update,
    petition_create,
    sanling_override_set,
    sanling_recompute,
)
from tests.disputes.factories import IncidentFactory, PetitionFactory, UnitFactory, set_rule

pytestmark = pytest.mark.django_db
D = datetime.date
YEAR = 2024


def status_of(village=None, unit=None, year=YEAR):
    return SanlingStatus.objects.filter(year=year, village=village, unit=unit).first()


def skip_level_petition(actor, village, **extra):
    fields = dict(
        village=village,
        channel="visit",
        received_on=D(YEAR, 6, 3),
        petitioner_name="王五",
        subject="反映征地补偿问题",
        level_reached="county",
        is_skip_level=True,
    )
    return petition_create(actor=actor, **(fields | extra))


def test_skip_level_petition_flips_the_village_and_delete_flips_it_back(
    area, county_official, django_capture_on_commit_callbacks
):
    village = area.villages["a1v1"]
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        petition = skip_level_petition(county_official, village)
    assert len(callbacks) == 1
    status = status_of(village)
    assert status.derived_met is False and status.met is False
    assert status.derived_reasons[0]["id"] == petition.pk
    assert status.derived_reasons[0]["text"] == "县级越级信访"
    assert status_of(area.villages["a1v2"]) is None  # others untouched

    with django_capture_on_commit_callbacks(execute=True):
        ledger_delete(actor=county_official, record=petition)
    status.refresh_from_db()
    assert status.derived_met is True and status.met is True and status.derived_reasons == []


def test_override_holds_against_both_and_keeps_both_values(
    area, county_official, django_capture_on_commit_callbacks, client
):
    village = area.villages["a1v1"]
    sanling_override_set(
        actor=county_official, year=YEAR, village=village, value="met", reason="经核查系诬告"
    )
    with django_capture_on_commit_callbacks(execute=True):
        petition = skip_level_petition(county_official, village)
    status = status_of(village)
    assert (status.override, status.derived_met, status.met) == ("met", False, True)

    client.force_login(county_official)
    page = client.get(f"/disputes/sanling/village/{village.pk}/{YEAR}/").content.decode()
    assert "经核查系诬告" in page
    assert '<dd class="col-7" data-value="derived">不达标</dd>' in page
    assert 'data-value="override">达标' in page

    with django_capture_on_commit_callbacks(execute=True):
        ledger_delete(actor=county_official, record=petition)
    status.refresh_from_db()
    assert (status.override, status.derived_met, status.met) == ("met", True, True)

    sanling_override_set(
        actor=county_official, year=YEAR, village=village, value="not_met", reason="发生群体事件"
    )
    status.refresh_from_db()
    assert (status.derived_met, status.met) == (True, False)
    history = list(
        status.history.order_by("history_date").values_list("override", "history_change_reason")
    )
    assert ("met", "经核查系诬告") in history and ("not_met", "发生群体事件") in history

    sanling_override_set(actor=county_official, year=YEAR, village=village, value="", reason="撤销")
    status.refresh_from_db()
    assert status.override == "" and status.met is True


def test_moving_a_petition_recomputes_old_and_new_village(
    area, county_official, django_capture_on_commit_callbacks
):
    a, b = area.villages["a1v1"], area.villages["a1v2"]
    with django_capture_on_commit_callbacks(execute=True):
        petition = skip_level_petition(county_official, a)
    with django_capture_on_commit_callbacks(execute=True):
        ledger_update(actor=county_official, record=petition, village=b)
    assert status_of(a).met is True and status_of(b).met is False
    with django_capture_on_commit_callbacks(execute=True):
        ledger_update(actor=county_official, record=petition, received_on=D(YEAR - 1, 12, 30))
    assert status_of(b).met is True and status_of(b, year=YEAR - 1).met is False


@pytest.mark.parametrize(
    ("fields", "breaks"),
    [
        ({"level_reached": "county", "is_skip_level": True}, True),
        ({"level_reached": "beijing", "is_skip_level": True}, True),
        ({"level_reached": "county", "is_skip_level": False}, False),
        ({"level_reached": "township", "is_skip_level": True}, False),
        ({"level_reached": "village", "is_skip_level": False}, False),
    ],
)
def test_petition_rule(area, fields, breaks):
    village = area.villages["a2v1"]
    PetitionFactory(village=village, received_on=D(YEAR, 3, 1), **fields)
    villages, _units = sanling.derive(year=YEAR)
    assert (village.pk in villages) is breaks
    assert sanling.derive(year=YEAR - 1) == ({}, {})


@pytest.mark.parametrize(
    ("kind", "deaths", "injuries", "breaks"),
    [
        ("traffic", 0, 1, True),
        ("drowning", 1, 0, True),
        ("fire", 0, 0, False),
        ("criminal", 0, 0, True),
        ("major_public_order", 0, 0, True),
    ],
)
def test_incident_rule(area, kind, deaths, injuries, breaks):
    village = area.villages["a2v1"]
    IncidentFactory(
        village=village, occurred_on=D(YEAR, 3, 1), kind=kind, deaths=deaths, injuries=injuries
    )
    villages, _units = sanling.derive(year=YEAR)
    assert (village.pk in villages) is breaks


def test_rule_parameters_come_from_the_rule_in_force(area):
    village = area.villages["a2v1"]
    PetitionFactory(
        village=village, received_on=D(YEAR, 3, 1), level_reached="county", is_skip_level=False
    )
    assert sanling.derive(year=YEAR)[0] == {}
    set_rule(petition_skip_level_only=False)
    assert village.pk in sanling.derive(year=YEAR)[0]
    set_rule(petition_min_level="city")
    assert sanling.derive(year=YEAR)[0] == {}
    assert "市级及以上信访" in sanling.rule_for(YEAR).describe()[0]


def test_unit_records_count_against_the_unit(
    area, county_official, django_capture_on_commit_callbacks
):
    unit = UnitFactory(village=area.villages["a1v2"])
    with django_capture_on_commit_callbacks(execute=True):
        incident_create(
            actor=county_official, unit=unit, kind="production", occurred_on=D(YEAR, 4, 1),
            place="车间", summary="机械伤人", injuries=1, source="emergency",
        )  # fmt: skip
    assert status_of(unit=unit).met is False
    assert status_of(village=area.villages["a1v2"]).met is True  # the unit, not the village
    set_rule(unit_records_break_village=True)
    sanling_recompute(year=YEAR, village_ids=[area.villages["a1v2"].pk], unit_ids=[])
    assert status_of(village=area.villages["a1v2"]).met is False


def test_full_recompute_is_idempotent(area):
    PetitionFactory(
        village=area.villages["b1v1"],
        received_on=D(YEAR, 3, 1),
        level_reached="city",
        is_skip_level=True,
    )
    first = sanling_recompute(year=YEAR)
    assert first["created"] == 8  # the eight roster villages, no units
    assert sanling_recompute(year=YEAR) == {"created": 0, "changed": 0}
    assert SanlingStatus.objects.filter(year=YEAR, derived_met=False).count() == 1


def test_broker_down_is_logged_and_the_record_still_saved(
    area, county_official, django_capture_on_commit_callbacks, monkeypatch, caplog
):
    from disputes import tasks

    def refuse(*args, **kwargs):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(tasks.sanling_recompute, "apply_async", refuse)
    with caplog.at_level(logging.ERROR, logger="disputes.services"):
        with django_capture_on_commit_callbacks(execute=True):
            petition = skip_level_petition(county_official, area.villages["a1v1"])
    assert Petition.objects.filter(pk=petition.pk).exists()
    assert "三零状态重新计算未能排队" in caplog.text
    assert status_of(area.villages["a1v1"]) is None  # not recomputed, but nothing raised


def test_broker_down_through_the_page_still_saves(
    area, county_official, monkeypatch, client, django_capture_on_commit_callbacks
):
    from disputes import tasks

    def refuse(*args, **kwargs):
        raise OperationalError("Connection refused")

    monkeypatch.setattr(tasks.sanling_recompute, "apply_async", refuse)
    client.force_login(county_official)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/disputes/petitions/new/",
            {
                "village": area.villages["a1v1"].pk,
                "channel": "visit",
                "received_on": "2024-06-03",
                "petitioner_name": "王五",
                "people_involved": 1,
                "subject": "反映问题",
                "level_reached": "county",
                "is_skip_level": "on",
            },
        )
    assert response.status_code == 302
    assert Petition.objects.count() == 1
    # The button on the status page brings the status up to date.
    monkeypatch.undo()
    assert client.post("/disputes/sanling/recompute/", {"year": "2024"}).status_code == 302
    assert status_of(area.villages["a1v1"]).met is False


@pytest.fixture
def broker_down(monkeypatch):
    """Celery pointed at a Redis nobody listens on (port 1), not eager: queuing fails for
    real, the way it does in production when Redis is down. (Celery reads the broker URL
    from the environment first, so that is set too.)"""
    from xuchang_portal.celery import app

    down = "redis://127.0.0.1:1/0"
    monkeypatch.setenv("CELERY_BROKER_URL", down)
    monkeypatch.delenv("CELERY_BROKER_WRITE_URL", raising=False)
    saved = {k: app.conf[k] for k in ("task_always_eager", "broker_url")}
    app.conf.task_always_eager = False
    app.conf.broker_url = down
    assert app.connection_for_write().as_uri().endswith("127.0.0.1:1/0")
    yield
    for key, value in saved.items():
        app.conf[key] = value


def test_real_unreachable_broker_is_logged_not_raised(
    area, county_official, client, broker_down, caplog, django_capture_on_commit_callbacks
):
    client.force_login(county_official)
    with caplog.at_level(logging.ERROR, logger="disputes.services"):
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(
                "/disputes/incidents/new/",
                {"village": area.villages["a1v1"].pk, "kind": "criminal", "occurred_on": "2024-05-06",
                 "place": "村口", "summary": "盗窃", "deaths": "0", "injuries": "0", "source": "police"},
            )  # fmt: skip
    assert response.status_code == 302
    assert "三零状态重新计算未能排队" in caplog.text
    assert "Connection refused" in caplog.text or "111" in caplog.text
    assert status_of(area.villages["a1v1"]) is None


def test_the_nightly_task_recomputes_the_current_year(area, county_official, settings):
    # given: a skip-level petition this year whose recomputation never ran (Redis was down)
    from django.utils import timezone

    from disputes.tasks import sanling_recompute_this_year

    this_year = timezone.localdate().year
    village = area.villages["a1v1"]
    PetitionFactory(
        village=village,
        received_on=D(this_year, 1, 2),
        level_reached="county",
        is_skip_level=True,
    )
    assert status_of(village, year=this_year) is None

    # when: beat's nightly run
    sanling_recompute_this_year.apply()

    # then
    assert status_of(village, year=this_year).derived_met is False
    assert "sanling-nightly" in settings.CELERY_BEAT_SCHEDULE


def test_an_impossible_year_is_refused_not_a_500(area, county_official, client):
    from django.core.exceptions import ValidationError

    village = area.villages["a1v1"]
    with pytest.raises(ValidationError) as exc:
        sanling_override_set(
            actor=county_official, year=40000, village=village, value="met", reason="复核"
        )
    assert "年度" in exc.value.message_dict["year"][0]
    client.force_login(county_official)
    url = f"/disputes/sanling/village/{village.pk}/40000/"
    assert client.post(url, {"value": "met", "reason": "复核"}).status_code == 404
    assert client.get(url).status_code == 404
    assert not SanlingStatus.objects.exists()
