"""The 三零 services: who may write where, the dispute and petition flows, and the bad
input the issue lists (each refused with a Chinese message, nothing saved).

World: the `area` fixture (tests/conftest.py): county A (A1: a1v1 a1v2 a1v3, A2: a2v1 a2v2
a2v3), county B (B1: b1v1 b1v2); `cadre_user` is linked to a1v1 only.
"""

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.utils import timezone

from disputes.models import Dispute, HazardCheck, Incident, Petition, SanlingStatus, ZeroReport
from disputes.services import (
    dispute_create,
    hazard_create,
    incident_create,
    ledger_update,
    petition_create,
    sanling_override_set,
    unit_create,
    zero_report_create,
)
from tests.disputes.factories import DisputeFactory, PetitionFactory, set_rule

pytestmark = pytest.mark.django_db
D = datetime.date


def new_dispute(actor, village, **extra):
    fields = {
        "village": village,
        "dispute_type": Dispute.Type.NEIGHBOUR,
        "source": Dispute.Source.SCREENING,
        "registered_on": D(2024, 5, 6),
        "summary": "排水沟纠纷",
        "parties": "张三、李四",
        "people_involved": 2,
        "risk_level": Dispute.Risk.YELLOW,
        "responsible": "村调委会",
    }
    return dispute_create(actor=actor, **(fields | extra))


def test_cadre_registers_in_own_village_township_from_village(area, cadre_user):
    d = new_dispute(cadre_user, area.villages["a1v1"])
    assert d.township == area.townships["A1"]
    assert d.created_by == cadre_user
    assert d.status == Dispute.Status.REGISTERED
    assert d.history.count() == 1 and d.history.first().history_user == cadre_user


@pytest.mark.parametrize("who", ["cadre_user", "township_official", "other_county_official"])
def test_village_outside_scope_is_404_and_nothing_saved(area, users, who):
    target = {"cadre_user": "a1v2", "township_official": "a2v1", "other_county_official": "a1v1"}[
        who
    ]
    with pytest.raises(Http404):
        new_dispute(users[who], area.villages[target])
    with pytest.raises(Http404):
        petition_create(
            actor=users[who],
            village=area.villages[target],
            channel="visit",
            received_on=D(2024, 5, 6),
            petitioner_name="王五",
            subject="诉求",
            level_reached="county",
            is_skip_level=True,
        )
    assert not Dispute.objects.exists() and not Petition.objects.exists()


def test_city_viewer_cannot_write(area, city_viewer):
    with pytest.raises(PermissionDenied):
        new_dispute(city_viewer, area.villages["a1v1"])


def test_resolution_date_before_registration_is_refused(area, county_official):
    d = new_dispute(county_official, area.villages["a1v2"])
    with pytest.raises(ValidationError) as exc:
        ledger_update(actor=county_official, record=d, status="resolved", resolved_on=D(2024, 5, 1))
    assert "化解日期不能早于排查日期。" in exc.value.message_dict["resolved_on"]
    d.refresh_from_db()
    assert d.status == Dispute.Status.REGISTERED and d.resolved_on is None


def test_dispute_flow_fills_the_date_of_each_step(area, county_official):
    d = new_dispute(county_official, area.villages["a1v2"])
    d = ledger_update(actor=county_official, record=d, status="in_progress")
    assert d.started_on is not None
    d = ledger_update(
        actor=county_official,
        record=d,
        status="resolved",
        resolved_on=D(2024, 5, 20),
        follow_up_on=D(2024, 6, 1),
        follow_up_note="已履行",
        satisfaction="satisfied",
    )
    assert d.status == "resolved" and d.resolved_on == D(2024, 5, 20)
    with pytest.raises(ValidationError) as exc:
        ledger_update(actor=county_official, record=d, status="in_progress")
    assert "不能改为" in str(exc.value)
    with pytest.raises(ValidationError):
        ledger_update(actor=county_official, record=d, follow_up_on=D(2024, 5, 10))


def test_reported_needs_where_to(area, county_official):
    d = new_dispute(county_official, area.villages["a1v2"])
    with pytest.raises(ValidationError) as exc:
        ledger_update(actor=county_official, record=d, status="reported")
    assert "reported_to" in exc.value.message_dict


def test_collective_threshold_is_the_rules(area, county_official):
    d = new_dispute(county_official, area.villages["a1v2"], people_involved=5)
    assert d.is_collective
    set_rule(dispute_collective_threshold=10)
    assert not Dispute.objects.get(pk=d.pk).is_collective


@pytest.mark.parametrize("field", ["deaths", "injuries"])
def test_negative_casualties_are_refused(area, county_official, field):
    with pytest.raises(ValidationError) as exc:
        incident_create(
            actor=county_official,
            village=area.villages["a1v1"],
            kind="traffic",
            occurred_on=D(2024, 5, 6),
            place="村口",
            summary="剐蹭",
            source="police",
            **{field: -1},
        )
    assert "不能为负数" in exc.value.message_dict[field][0]
    assert not Incident.objects.exists()


def test_override_without_reason_is_refused(area, county_official):
    for reason in ("", "   "):
        with pytest.raises(ValidationError) as exc:
            sanling_override_set(
                actor=county_official,
                year=2024,
                village=area.villages["a1v1"],
                value="not_met",
                reason=reason,
            )
        assert "理由" in exc.value.message_dict["reason"][0]
    assert not SanlingStatus.objects.exists()


def test_override_only_by_city_admin_or_own_county(area, users):
    for who in ("township_official", "cadre_user", "city_viewer", "other_county_official"):
        with pytest.raises(PermissionDenied):
            sanling_override_set(
                actor=users[who],
                year=2024,
                village=area.villages["a1v1"],
                value="met",
                reason="核实",
            )
    status = sanling_override_set(
        actor=users["county_official"],
        year=2024,
        village=area.villages["a1v1"],
        value="not_met",
        reason="发生群体性事件",
    )
    assert status.override == "not_met" and status.override_by == users["county_official"]
    assert status.derived_met is True and status.met is False


def test_petition_statuses_and_dates(area, township_official):
    p = petition_create(
        actor=township_official,
        village=area.villages["a1v2"],
        channel="letter",
        received_on=D(2024, 5, 6),
        petitioner_name="王五",
        subject="反映问题",
        level_reached="township",
    )
    assert p.clock == "overdue"  # 2024: long past its 15 days to accept
    with pytest.raises(ValidationError):
        ledger_update(
            actor=township_official, record=p, status="accepted", accepted_on=D(2024, 5, 1)
        )
    p = ledger_update(
        actor=township_official, record=p, status="accepted", accepted_on=D(2024, 5, 8)
    )
    assert p.due_on == D(2024, 7, 7)
    p = ledger_update(actor=township_official, record=p, extended=True)
    assert p.due_on == D(2024, 8, 6)
    p = ledger_update(
        actor=township_official, record=p, status="concluded", concluded_on=D(2024, 8, 1)
    )
    assert p.clock == "done" and p.clock_label == "办结"


def test_petition_needs_a_name_unless_anonymous(area, county_official):
    base = dict(
        village=area.villages["a1v1"], channel="online", received_on=D(2024, 5, 6),
        subject="反映问题", level_reached="village",
    )  # fmt: skip
    with pytest.raises(ValidationError) as exc:
        petition_create(actor=county_official, **base)
    assert "petitioner_name" in exc.value.message_dict
    assert petition_create(actor=county_official, is_anonymous=True, **base).pk


def test_petition_clock_colours_follow_the_rule(area):
    today = timezone.localdate()
    p = PetitionFactory(
        village=area.villages["a1v1"], received_on=today - datetime.timedelta(days=12)
    )
    assert p.clock == "due_soon"  # 15 days to accept, 5 days' warning
    set_rule(petition_accept_days=30)
    assert Petition.objects.get(pk=p.pk).clock == "normal"
    set_rule(petition_accept_days=10)
    p = Petition.objects.get(pk=p.pk)
    assert p.clock == "overdue"
    p.status = "suspended"
    assert p.clock == "suspended"


def test_hazard_rectification(area, county_official):
    h = hazard_create(
        actor=county_official,
        village=area.villages["a1v1"],
        site_type="school",
        site_name="村小学",
        checked_on=D(2024, 5, 6),
        hazard="灭火器过期",
        regulated_items=["chemicals", "chemicals"],
        responsible="赵六",
        deadline=D(2024, 5, 20),
    )
    assert h.regulated_items == ["chemicals"] and h.regulated_labels == ["危险化学品"]
    with pytest.raises(ValidationError):
        ledger_update(
            actor=county_official, record=h, status="rectified", rectified_on=D(2024, 5, 1)
        )
    h = ledger_update(
        actor=county_official, record=h, status="rectified", rectified_on=D(2024, 5, 9)
    )
    assert h.status == HazardCheck.Status.RECTIFIED


def test_zero_report_tells_empty_month_from_unchecked(area, cadre_user):
    village = area.villages["a1v1"]
    report = zero_report_create(actor=cadre_user, village=village, month=D(2024, 4, 17))
    assert report.month == D(2024, 4, 1)
    with pytest.raises(ValidationError):
        zero_report_create(actor=cadre_user, village=village, month=D(2024, 4, 1))
    DisputeFactory(village=village, registered_on=D(2024, 5, 9))
    with pytest.raises(ValidationError) as exc:
        zero_report_create(actor=cadre_user, village=village, month=D(2024, 5, 1))
    assert "不能报告" in str(exc.value)
    with pytest.raises(Http404):
        zero_report_create(actor=cadre_user, village=area.villages["a1v2"], month=D(2024, 4, 1))
    assert ZeroReport.objects.count() == 1


def test_units_are_managed_by_city_and_county(area, users):
    with pytest.raises(PermissionDenied):
        unit_create(actor=users["township_official"], village=area.villages["a1v1"], name="甲小学",
                    unit_type="school", year_from=2024)  # fmt: skip
    with pytest.raises(Http404):
        unit_create(actor=users["county_official"], village=area.villages["b1v1"], name="乙小学",
                    unit_type="school", year_from=2024)  # fmt: skip
    unit = unit_create(actor=users["county_official"], township=area.townships["A2"],
                       name="甲二集贸市场", unit_type="market", year_from=2024)  # fmt: skip
    assert unit.village is None and unit.township == area.townships["A2"]
