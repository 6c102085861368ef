"""The per-area indicators the dashboards read, their scoped versions, the breakdowns of
化解率, and the ledger scoping. Each `*_by_area` runs a constant number of grouped
queries whatever the number of villages."""

import datetime

import pytest

from disputes import selectors
from disputes.models import Dispute
from disputes.services import sanling_recompute
from tests.disputes.factories import (
    DisputeFactory,
    HazardFactory,
    IncidentFactory,
    PetitionFactory,
    UnitFactory,
)
from tests.factories import RosterEntryFactory, VillageFactory

pytestmark = pytest.mark.django_db
D = datetime.date
YEAR = 2024


@pytest.fixture
def records(area):
    v = area.villages
    # a1v1: 3 disputes (2 resolved); a2v1: 1 (resolved); b1v1: 2 (0 resolved); 2023: ignored
    for status in ("resolved", "resolved", "in_progress"):
        DisputeFactory(village=v["a1v1"], status=status, resolved_on=D(YEAR, 3, 9) if status == "resolved" else None,
                       risk_level="red")  # fmt: skip
    DisputeFactory(village=v["a2v1"], status="resolved", resolved_on=D(YEAR, 4, 9), registered_on=D(YEAR, 4, 1),
                   dispute_type="marriage")  # fmt: skip
    DisputeFactory(village=v["b1v1"], risk_level="red")
    DisputeFactory(
        village=v["b1v1"], status="reported", reported_on=D(YEAR, 3, 9), reported_to="县"
    )
    DisputeFactory(village=v["b1v1"], registered_on=D(2023, 5, 1))
    # 三零: a1v2 broken by a skip-level petition, b1v2 by a criminal case
    PetitionFactory(village=v["a1v2"], level_reached="county", is_skip_level=True)
    IncidentFactory(village=v["b1v2"], kind="criminal")
    PetitionFactory(village=v["a2v2"], level_reached="township")  # open, overdue, passes the rule
    HazardFactory(village=v["a1v1"])
    HazardFactory(village=v["a1v1"], status="rectified", rectified_on=D(YEAR, 3, 10))
    units = [UnitFactory(village=v["a1v1"]), UnitFactory(village=v["b1v1"])]
    IncidentFactory(unit=units[1], village=v["b1v1"], kind="production", injuries=2)
    sanling_recompute(year=YEAR)
    return units


def test_dispute_resolution_rate_by_area(area, records):
    rates = selectors.dispute_resolution_rate_by_area(year=YEAR)
    assert rates[("city", None)] == (3, 6)
    assert rates[("county", area.county_a.pk)] == (3, 4)
    assert rates[("county", area.county_b.pk)] == (0, 2)
    assert rates[("township", area.townships["A1"].pk)] == (2, 3)
    assert rates[("village", area.villages["a1v1"].pk)] == (2, 3)
    assert selectors.dispute_resolution_rate_by_area(year=2023)[("city", None)] == (0, 1)


def test_sanling_village_rate_uses_the_roster(area, records):
    rates = selectors.sanling_village_rate_by_area(year=YEAR)
    assert rates[("city", None)] == (6, 8)
    assert rates[("county", area.county_a.pk)] == (5, 6)
    assert rates[("township", area.townships["B1"].pk)] == (1, 2)
    assert rates[("village", area.villages["a1v2"].pk)] == (0, 1)
    assert rates[("village", area.villages["a1v1"].pk)] == (1, 1)
    # A village outside the year's roster is not counted, whatever its records.
    outside = VillageFactory(township=area.townships["A1"])
    PetitionFactory(village=outside, level_reached="city", is_skip_level=True)
    sanling_recompute(year=YEAR)
    assert selectors.sanling_village_rate_by_area(year=YEAR)[("city", None)] == (6, 8)
    RosterEntryFactory(roster=area.roster, village=outside)
    assert selectors.sanling_village_rate_by_area(year=YEAR)[("city", None)] == (6, 9)


def test_override_counts_in_the_rate(area, records, county_official):
    from disputes.services import sanling_override_set

    sanling_override_set(
        actor=county_official, year=YEAR, village=area.villages["a1v2"], value="met", reason="复核"
    )
    assert selectors.sanling_village_rate_by_area(year=YEAR)[("county", area.county_a.pk)] == (6, 6)


def test_sanling_unit_rate_locates_units(area, records):
    rates = selectors.sanling_unit_rate_by_area(year=YEAR)
    assert rates[("city", None)] == (1, 2)
    assert rates[("village", area.villages["b1v1"].pk)] == (0, 1)
    township_unit = UnitFactory(village=None, township=area.townships["A2"], year_from=2025)
    assert selectors.sanling_unit_rate_by_area(year=YEAR)[("city", None)] == (1, 2)  # not yet in
    township_unit.year_from = YEAR
    township_unit.save()
    rates = selectors.sanling_unit_rate_by_area(year=YEAR)
    assert rates[("township", area.townships["A2"].pk)] == (1, 1)
    assert not any(k == ("village", None) for k in rates)


def test_open_high_risk_overdue_and_unrectified(area, records):
    assert selectors.open_high_risk_disputes_by_area(year=YEAR)[("city", None)] == (2, 4)
    assert selectors.overdue_petitions_by_area(year=YEAR)[("city", None)] == (2, 2)
    assert selectors.unrectified_hazards_by_area(year=YEAR)[
        ("village", area.villages["a1v1"].pk)
    ] == (1, 2)


@pytest.mark.parametrize("indicator", list(selectors.INDICATORS))
def test_by_area_query_count_does_not_grow(area, records, indicator, django_assert_max_num_queries):
    for i in range(30):
        village = VillageFactory(township=area.townships["A2"])
        RosterEntryFactory(roster=area.roster, village=village)
        DisputeFactory(village=village, risk_level="red")
        PetitionFactory(village=village, level_reached="county", is_skip_level=bool(i % 2))
        HazardFactory(village=village)
        UnitFactory(village=village)
    sanling_recompute(year=YEAR)
    with django_assert_max_num_queries(2):
        values = selectors.INDICATORS[indicator](year=YEAR)
    assert values[("city", None)][1] > 0


def test_for_user_versions_keep_to_the_area(area, records, users):
    rates = selectors.dispute_resolution_rate_for_user(user=users["county_official"], year=YEAR)
    assert ("county", area.county_a.pk) in rates and ("city", None) not in rates
    assert ("county", area.county_b.pk) not in rates
    assert ("village", area.villages["b1v1"].pk) not in rates
    township = selectors.sanling_village_rate_for_user(user=users["township_official"], year=YEAR)
    assert set(township) == {("township", area.townships["A1"].pk)} | {
        ("village", area.villages[k].pk) for k in ("a1v1", "a1v2", "a1v3")
    }
    cadre = selectors.dispute_resolution_rate_for_user(user=users["cadre_user"], year=YEAR)
    assert cadre == {("village", area.villages["a1v1"].pk): (2, 3)}
    assert selectors.dispute_resolution_rate_for_user(user=users["no_role_user"], year=YEAR) == {}
    summary = selectors.summary_for_user(user=users["county_official"], year=YEAR)
    assert summary["dispute_resolution_rate"] == (3, 4, 75.0)
    assert summary["sanling_village_rate"] == (5, 6, 83.3)


def test_breakdown_by_type_and_month(area, records):
    disputes = Dispute.objects.filter(registered_on__year=YEAR)
    by_type = {
        r["label"]: (r["resolved"], r["total"]) for r in selectors.dispute_rate_by_type(disputes)
    }
    assert by_type == {"邻里纠纷": (2, 5), "婚姻家庭(继承)纠纷": (1, 1)}
    by_month = [
        (r["label"], r["resolved"], r["total"]) for r in selectors.dispute_rate_by_month(disputes)
    ]
    assert by_month == [("2024-03", 2, 5), ("2024-04", 1, 1)]


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        ("city_admin", 7),
        ("city_viewer", 7),
        ("superuser", 7),
        ("county_official", 4),
        ("other_county_official", 3),
        ("township_official", 3),
        ("cadre_user", 3),
        ("township_cadre_user", 1),
        ("no_role_user", 0),
    ],
)
def test_ledger_scoping(area, records, users, who, expected):
    assert selectors.dispute_list_for_user(user=users[who]).count() == expected


def test_masking():
    assert selectors.mask_id_number("411024199001011234") == "411024********1234"
    assert selectors.mask_phone("13812345678，13900001111") == "138****5678，139****1111"
    assert selectors.mask_phone("") == ""


def test_breakdowns_by_area(area, records, django_assert_max_num_queries):
    with django_assert_max_num_queries(1):
        by_type = selectors.dispute_resolution_by_type_by_area(year=YEAR)
    assert by_type[("city", None)] == {"neighbour": (2, 5), "marriage": (1, 1)}
    assert by_type[("village", area.villages["a2v1"].pk)] == {"marriage": (1, 1)}
    with django_assert_max_num_queries(1):
        by_month = selectors.dispute_resolution_by_month_by_area(year=YEAR)
    assert by_month[("county", area.county_a.pk)] == {3: (2, 3), 4: (1, 1)}


def test_status_of_one_subject_is_scoped(area, records, users):
    village, unit = area.villages["a1v2"], records[0]
    own = selectors.status_of_subject_for_user(
        user=users["county_official"], year=YEAR, village=village
    )
    assert own is not None and own.met is False
    assert (
        selectors.status_of_subject_for_user(
            user=users["other_county_official"], year=YEAR, village=village
        )
        is None
    )
    assert selectors.unit_statuses_of_unit_for_user(user=users["county_official"], unit=unit)
    assert not selectors.unit_statuses_of_unit_for_user(
        user=users["other_county_official"], unit=unit
    )
