"""Fixtures for the dashboards tests: the `area` world (roster year 2024) with a few
records in every app, and an empty cache per test."""

import datetime

import pytest
from django.core.cache import cache

from stars.models import StarTask, StarType
from stars.schemes import ensure_star_types

YEAR = 2024


@pytest.fixture(autouse=True)
def _clear_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def world(area):
    """`area` plus stars, 三零 records, visits and problems of 2024 (and a 2023 roster
    with less, for the year-on-year figures)."""
    from tests.disputes.factories import DisputeFactory, IncidentFactory, UnitFactory
    from tests.factories import RosterEntryFactory, RosterFactory
    from tests.stars.factories import WeakCaseFactory, hold
    from tests.visits.helpers import ProblemFactory, VisitFactory
    from visits.models import Problem, Visit

    ensure_star_types(StarType, StarTask)
    v, b = area.villages, area.branches
    all5 = ("branch", "industry", "ecology", "safety", "civility")
    hold(b["a1v1"], *all5)
    hold(b["a1v2"], "branch", "industry", "ecology")
    hold(b["b1v1"], "branch")
    WeakCaseFactory(branch=b["a2v1"])
    D = datetime.date
    DisputeFactory(
        village=v["a1v1"], registered_on=D(YEAR, 3, 1), status="resolved", resolved_on=D(YEAR, 3, 9)
    )
    DisputeFactory(village=v["a1v2"], registered_on=D(YEAR, 4, 1))
    DisputeFactory(
        village=v["b1v1"], registered_on=D(YEAR, 5, 1), status="resolved", resolved_on=D(YEAR, 5, 3)
    )
    IncidentFactory(village=v["a2v1"], kind="criminal", occurred_on=D(YEAR, 6, 1))
    UnitFactory(village=v["a1v1"])
    cadre = area.cadres["a1v1"]
    for day in range(1, 11):
        VisitFactory(
            cadre=cadre, village=v["a1v1"], date=D(YEAR, 3, day), meetings=1, people_reached=5
        )
    VisitFactory(cadre=area.cadres["b1v1"], village=v["b1v1"], date=D(YEAR, 3, 2), people_reached=3)
    VisitFactory(
        cadre=area.cadres["b1v1"], village=v["b1v1"], date=D(YEAR, 3, 3), state=Visit.State.RETURNED
    )
    ProblemFactory(village=v["a1v1"], status=Problem.Status.RESOLVED, resolved_on=D(YEAR, 3, 5))
    ProblemFactory(village=v["a1v2"])
    ProblemFactory(village=v["b1v1"], status=Problem.Status.RESOLVED, resolved_on=D(YEAR, 3, 5))
    Problem.objects.update(created_at=datetime.datetime(YEAR, 3, 5, 10, tzinfo=datetime.UTC))
    from disputes.services import sanling_recompute

    sanling_recompute(year=YEAR)
    last = RosterFactory(year=YEAR - 1)
    for label in ("a1v1", "a1v2", "b1v1"):
        RosterEntryFactory(roster=last, village=v[label], branch=b[label])
    hold(b["a1v1"], "branch", "industry", "ecology", year=YEAR - 1)
    return area
