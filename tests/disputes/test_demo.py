"""`seed_demo` adds the 2022 三零 records that reproduce the published figures, computed by
the selectors the dashboards read (not stored figures, not overrides), 2023 up to the
end of June, and the clock's year from 1 January to today (some villages breaking 三零,
what is recent still open, 零报告 up to this month), projected on track.

The clock is pinned to 2026-12-07 10:00 (Beijing time) for the whole module. Seeded once
for the module (villages + disputes) and rolled back after it; one test moves on to
2027-03-15 and runs the demo again, as an office would in the next year.
"""

import datetime
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import call_command
from django.db import connection
from django.db.models import Count, Max, Min
from django.test.utils import CaptureQueriesContext

from dashboards.models import Target
from dashboards.status import ON_TRACK, evaluate
from disputes import sanling, selectors
from disputes.demo import UNTIL_2023
from disputes.models import Dispute, HazardCheck, Incident, Petition, SanlingStatus, ZeroReport
from tests.helpers import module_data
from villages.models import County, RosterEntry

pytestmark = pytest.mark.django_db
CITY = ("city", None)
SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime.datetime(2026, 12, 7, 10, 0, tzinfo=SHANGHAI)
TODAY = NOW.date()
NEXT_YEAR = datetime.datetime(2027, 3, 15, 9, 30, tzinfo=SHANGHAI)
LEDGERS = {  # model: (its date, the dates that follow it)
    Dispute: ("registered_on", ("started_on", "resolved_on", "follow_up_on", "reported_on")),
    Petition: ("received_on", ("accepted_on", "concluded_on")),
    Incident: ("occurred_on", ()),
    HazardCheck: ("checked_on", ("rectified_on",)),
}


@pytest.fixture(scope="module")
def seeded(django_db_setup, django_db_blocker):
    with time_machine.travel(NOW, tick=False), module_data(django_db_blocker):
        assert not Dispute.objects.exists()
        out = StringIO()
        call_command("seed_demo", "--apps", "villages", "disputes", stdout=out)
        connection.check_constraints()
        yield out.getvalue()


def test_2022_figures(seeded, django_assert_max_num_queries):
    with django_assert_max_num_queries(6):
        disputes = selectors.dispute_resolution_rate_by_area(year=2022)[CITY]
        villages = selectors.sanling_village_rate_by_area(year=2022)[CITY]
        units = selectors.sanling_unit_rate_by_area(year=2022)[CITY]
    assert disputes == (9_843, 10_147) and selectors.percent(*disputes) == 97.0
    assert villages == (2_109, 2_526) and selectors.percent(*villages) == 83.5
    assert units[0] * 100 == units[1] * 99 and selectors.percent(*units) == 99.0


def test_broken_villages_are_broken_by_records_not_overrides(seeded):
    assert not SanlingStatus.objects.exclude(override="").exists()
    broken = SanlingStatus.objects.filter(year=2022, village__isnull=False, derived_met=False)
    assert broken.count() == 417
    ids = set(broken.values_list("village_id", flat=True))
    derived_villages, derived_units = sanling.derive(year=2022)
    assert set(derived_villages) == ids  # exactly the villages the records break
    assert len(derived_units) == 15
    # Villages that pass still have records: ones the rule lets pass.
    passing = Petition.objects.filter(received_on__year=2022).exclude(village_id__in=ids)
    assert passing.exists() and not passing.filter(is_skip_level=True).exists()


def test_2023_is_partway(seeded):
    span = Dispute.objects.filter(registered_on__year=2023).aggregate(
        first=Min("registered_on"), last=Max("registered_on")
    )
    assert span["first"].month == 1 and span["last"] <= UNTIL_2023
    rate = selectors.dispute_resolution_rate_by_area(year=2023)[CITY]
    assert 0 < rate[0] < rate[1]
    assert Dispute.objects.filter(registered_on__year=2023, village__code="411024107225").exists()
    assert not ZeroReport.objects.filter(month__year=2023, month__gt=UNTIL_2023).exists()
    assert HazardCheck.objects.filter(checked_on__year=2023, status="rectifying").exists()


def test_2023_is_kept_as_it_was(seeded):
    counts = {
        model: model.objects.filter(**{f"{field}__year": 2023}).count()
        for model, (field, _later) in LEDGERS.items()
    }
    counts[ZeroReport] = ZeroReport.objects.filter(month__year=2023).count()
    assert counts == {
        Dispute: 5_260,
        Petition: 999,
        Incident: 445,
        HazardCheck: 1_600,
        ZeroReport: 10_422,
    }


# ----- the clock's year -----


def _assert_ledgers_run_to(year: int, today: datetime.date) -> None:
    """Records from early January up to today and none after it, in any of their dates;
    零报告 for every month up to this one, this month's from part of the villages."""
    for model, (field, later) in LEDGERS.items():
        rows = model.objects.filter(**{f"{field}__year": year})
        span = rows.aggregate(first=Min(field), last=Max(field))
        assert span["first"] <= datetime.date(year, 1, 10), model
        assert today - datetime.timedelta(days=10) <= span["last"] <= today, model
        for name in later:
            assert not rows.filter(**{f"{name}__gt": today}).exists(), (model, name)
    months = dict(
        ZeroReport.objects.filter(month__year=year).values_list("month").annotate(n=Count("id"))
    )
    assert sorted(months) == [datetime.date(year, m, 1) for m in range(1, today.month + 1)]
    this_month = months[today.replace(day=1)]
    assert 0 < this_month < min(n for m, n in months.items() if m != today.replace(day=1))


def test_the_clocks_year_runs_to_today(seeded):
    _assert_ledgers_run_to(2026, TODAY)
    assert not ZeroReport.objects.filter(month__year=2026, reported_at__gt=NOW).exists()


def test_what_is_recent_is_still_being_handled(seeded):
    disputes = Dispute.objects.filter(registered_on__year=2026)
    open_ = disputes.exclude(status="resolved")
    assert 0 < open_.count() < disputes.count() * 0.1
    assert open_.filter(registered_on__gte=TODAY - datetime.timedelta(days=25)).exists()
    recent = disputes.filter(registered_on__gte=TODAY - datetime.timedelta(days=3))
    assert recent.filter(status="in_progress").exists()
    assert not disputes.filter(status="resolved", resolved_on=None).exists()
    assert Petition.objects.filter(received_on__year=2026, status="accepted").exists()
    assert HazardCheck.objects.filter(checked_on__year=2026, status="rectifying").exists()


def test_some_villages_break_sanling_and_the_year_projects_on_track(seeded):
    broken = SanlingStatus.objects.filter(year=2026, village__isnull=False, derived_met=False)
    roster = RosterEntry.objects.filter(roster__year=2026).values("village_id").distinct()
    assert 50 < broken.count() < roster.count() * 0.08
    assert set(broken.values_list("village_id", flat=True)) == set(sanling.derive(year=2026)[0])
    yanling = County.objects.get(code="411024")
    rates = {
        "sanling_village_rate": (selectors.sanling_village_rate_by_area(year=2026), 80),
        "sanling_unit_rate": (selectors.sanling_unit_rate_by_area(year=2026), 90),
    }
    for code, (figures, threshold) in rates.items():
        target = Target(year=2026, indicator=code, comparison="gte", threshold=threshold)
        for key in (CITY, ("county", yanling.pk)):
            num, den = figures[key]
            assert num < den, (code, key)  # some break 三零 this year
            figure = evaluate(
                code=code, num=num, den=den, year=2026, as_of=TODAY, today=TODAY, target=target
            )
            assert figure.status == ON_TRACK, (code, key, figure.projected)


def test_next_year_runs_to_its_own_today(seeded):
    before = {
        model: model.objects.filter(**{f"{field}__year": 2026}).count()
        for model, (field, _later) in LEDGERS.items()
    }
    with time_machine.travel(NEXT_YEAR, tick=False):
        call_command("seed_demo", "--apps", "villages", "disputes", stdout=StringIO())
        _assert_ledgers_run_to(2027, NEXT_YEAR.date())
        statuses = SanlingStatus.objects.filter(year=2027, village__isnull=False)
        assert statuses.filter(derived_met=False).exists()
        assert statuses.filter(derived_met=True).count() > 2000
    assert before == {
        model: model.objects.filter(**{f"{field}__year": 2026}).count()
        for model, (field, _later) in LEDGERS.items()
    }


def test_second_run_writes_nothing(seeded):
    counts = {
        m: m.objects.count()
        for m in (Dispute, Petition, Incident, HazardCheck, ZeroReport, SanlingStatus)
    }
    out = StringIO()
    with CaptureQueriesContext(connection) as ctx:
        call_command("seed_demo", "--apps", "disputes", stdout=out)
    assert "演示数据已是最新" in out.getvalue()
    writes = [
        q["sql"][:80]
        for q in ctx.captured_queries
        if q["sql"].lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))
    ]
    assert writes == []
    assert counts == {m: m.objects.count() for m in counts}
