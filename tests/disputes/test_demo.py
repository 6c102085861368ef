"""`seed_demo` adds the 2022 三零 records that reproduce the published figures, computed by
the selectors the dashboards read (not stored figures, not overrides), and 2023 up to the
end of June. Seeded once for the module (villages + disputes) and rolled back after it."""

from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.db.models import Max, Min

from disputes import sanling, selectors
from disputes.demo import UNTIL_2023
from disputes.models import Dispute, HazardCheck, Incident, Petition, SanlingStatus, ZeroReport
from tests.helpers import module_data

pytestmark = pytest.mark.django_db
CITY = ("city", None)


@pytest.fixture(scope="module")
def seeded(django_db_setup, django_db_blocker):
    with module_data(django_db_blocker):
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
    assert not ZeroReport.objects.filter(month__gt=UNTIL_2023).exists()
    assert HazardCheck.objects.filter(checked_on__year=2023, status="rectifying").exists()


def test_second_run_writes_nothing(seeded):
    counts = {
        m: m.objects.count()
        for m in (Dispute, Petition, Incident, HazardCheck, ZeroReport, SanlingStatus)
    }
    out = StringIO()
    call_command("seed_demo", "--apps", "disputes", stdout=out)
    assert "演示数据已是最新" in out.getvalue()
    assert counts == {m: m.objects.count() for m in counts}
