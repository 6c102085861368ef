"""After `seed_demo` (villages, stars, disputes and dashboards; visits are left out to keep
the test short), `compute_targets --year 2022 --json` reproduces the published 2022
figures, computed from the seeded records by the apps' selectors; the dashboards' own demo
step seeds the 2023 targets and computes the snapshots, idempotently. Seeded once for the
module and rolled back after it."""

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection

from dashboards.models import IndicatorSnapshot, Target
from stars.models import StarTask, StarType
from stars.schemes import ensure_star_types
from tests.helpers import module_data

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def seeded(django_db_setup, django_db_blocker):
    with module_data(django_db_blocker):
        ensure_star_types(StarType, StarTask)
        out = StringIO()
        call_command(
            "seed_demo", "--apps", "villages", "stars", "disputes", "dashboards", stdout=out
        )
        connection.check_constraints()
        yield out.getvalue()


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
    call_command("seed_demo", "--apps", "dashboards", stdout=out)
    assert IndicatorSnapshot.objects.filter(year=2023).count() == rows
    assert "演示数据已是最新" in out.getvalue()
