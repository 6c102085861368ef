"""After `seed_demo` (villages, stars, disputes and dashboards; visits are left out to keep
the test short), `compute_targets --year 2022 --json` reproduces the published 2022
figures, computed from the seeded records by the apps' selectors; the dashboards' own demo
step seeds the 2023 targets and computes the snapshots, idempotently; and a county's
dashboard for the present year shows targets on track and at risk. Seeded once for the
module, on a pinned day, and rolled back after it."""

import datetime
import json
import re
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from dashboards.models import IndicatorSnapshot, Target
from dashboards.status import AT_RISK, ON_TRACK
from stars.models import StarTask, StarType
from stars.schemes import ensure_star_types
from tests.helpers import module_data
from villages.models import County

pytestmark = pytest.mark.django_db

NOW = datetime.datetime(2026, 12, 7, 10, 0, tzinfo=datetime.timezone(datetime.timedelta(hours=8)))


@pytest.fixture(scope="module")
def seeded(django_db_setup, django_db_blocker):
    with time_machine.travel(NOW, tick=False), module_data(django_db_blocker):
        ensure_star_types(StarType, StarTask)
        out = StringIO()
        call_command(
            "seed_demo", "--apps", "villages", "stars", "disputes", "dashboards", stdout=out
        )
        connection.check_constraints()
        yield out.getvalue()


@pytest.fixture(autouse=True)
def _clock():
    with time_machine.travel(NOW, tick=False):
        yield


def test_compute_targets_reproduces_the_published_2022_figures(seeded):
    out = StringIO()
    call_command("compute_targets", "--year", "2022", "--json", stdout=out)
    figures = json.loads(out.getvalue())
    assert figures["three_star_plus_rate"] == 46.36
    assert figures["sanling_village_rate"] == 83.5
    assert figures["sanling_unit_rate"] == 99.0
    assert figures["dispute_resolution_rate"] == 97.0
    assert figures["five_star_count"] == 38


def test_demo_seeds_targets_and_snapshots_idempotently(seeded):
    assert Target.objects.filter(year=2023).count() == 8
    city = IndicatorSnapshot.objects.get(
        year=2022, indicator="three_star_plus_rate", area_level="city", area_id=0
    )
    assert (city.numerator, city.denominator) == (1_171, 2_526)
    rows = IndicatorSnapshot.objects.filter(year=2023).count()
    assert rows == IndicatorSnapshot.objects.filter(year=2022).count() > 0
    out = StringIO()
    with CaptureQueriesContext(connection) as ctx:
        call_command("seed_demo", "--apps", "dashboards", stdout=out)
    assert IndicatorSnapshot.objects.filter(year=2023).count() == rows
    assert "演示数据已是最新" in out.getvalue()
    writes = [
        q["sql"]
        for q in ctx.captured_queries
        if q["sql"].lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))
    ]
    assert writes == []


def test_the_county_dashboard_of_the_present_year_shows_on_track_and_at_risk(seeded, client):
    """Early December 2026: 三零 projects on track, 三星及以上 at risk (stars are won late)."""
    client.login(username="county_yanling", password="demo12345")
    county = County.objects.get(code="411024")
    page = client.get(reverse("dashboards:county", args=[county.pk]), {"year": 2026})
    assert page.status_code == 200
    text = page.content.decode()
    assert "2026" in text and "已结账" not in text
    # the cards' own status, not the methods note that names every status
    statuses = set(re.findall(r'data-status="([a-z_]+)"', text))
    assert {ON_TRACK, AT_RISK} <= statuses, statuses
    assert 'text-bg-primary">进度正常' in text and 'text-bg-warning">有风险' in text
