"""Leak-proof scoping, proven (issue 8, point 1)."""

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import override_settings

from tests.hardening.leak_walker import Prober, Walker
from tests.hardening.leak_world import ROLES, build_world
from tests.helpers import module_data

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def _walk(django_db_setup, django_db_blocker, _media_dir):
    with override_settings(MEDIA_ROOT=_media_dir), module_data(django_db_blocker):
        cache.clear()
        world = build_world()
        connection.check_constraints()
        walker = Walker(world)
        yield world, walker.plan()
        cache.clear()


def test_plan(_walk):
    world, plan = _walk
    from collections import Counter

    print(len(plan.patterns), len(plan.operations), len(plan.probes))
    print(Counter((p.kind) for p in plan.probes))
    print("\n".join(plan.unfillable))


@pytest.mark.parametrize("role", ROLES)
def test_objects(_walk, role):
    world, plan = _walk
    import logging

    logging.getLogger("django.request").setLevel(logging.CRITICAL)
    prober = Prober(world, role)
    for probe in plan.for_role(role, ("own", "other", "list", "hostile")):
        prober.run(probe)
    print(role, prober.requests, prober.statuses)
    with open(f"/tmp/leak-{role}.txt", "w") as fh:
        fh.write("\n".join(prober.failures))
    assert not prober.failures, "\n".join(prober.failures)
