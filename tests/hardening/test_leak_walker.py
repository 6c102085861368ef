"""Leak-proof scoping, proven (issue 8, point 1).

The walker (leak_walker.py) finds every URL pattern of the project (the portal's pages,
the DRF router, the admin) and every operation of the OpenAPI schema, and nothing here
names an endpoint: a new one is walked as soon as it exists, and one whose parameters the
walker cannot fill fails `test_every_pattern_and_operation_is_walked` by name.

As each of the eight roles, in the world of leak_world.py (two counties, an object of every
model with a URL in each place, marker strings in everything), it requests:
- an object of the role's own area: it opens (a 404 only where the feature is closed to
  the role as a whole), never a 500;
- an object of another area, by GET and by every method the address takes: 404 (in the
  admin, a permission 403 that a missing object gets too), and nothing written;
- every list, count, dashboard, form and export, plain and with filters or form fields
  naming another area's objects: no marker of another area in the page, the JSON or the
  workbook (exports run inline and their files are read), and nothing written.

The walk runs once for the module (each request in a savepoint that is rolled back); the
tests below each judge one side of it.
"""

import logging
from types import SimpleNamespace

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import override_settings

from tests.hardening.leak_walker import NOT_REQUESTED, SAME_FOR_EVERYONE, Walker, closed_to, walk
from tests.hardening.leak_world import ROLES, build_world
from tests.helpers import module_data

pytestmark = pytest.mark.django_db

# Floors for the coverage figures, a little under what the walk covered on 2026-11-30
# (362 patterns, 82 operations, 2,889 + 656 pairs with a role, 5,452 requests): a change
# that makes the walker silently skip endpoints fails here.
MIN_PATTERNS = 355
MIN_OPERATIONS = 80
MIN_PAIRS = 3400
MIN_REQUESTS = 5000


@pytest.fixture(scope="module")
def walked(django_db_setup, django_db_blocker, _media_dir):
    requests_log = logging.getLogger("django.request")
    level = requests_log.level
    requests_log.setLevel(logging.CRITICAL)  # thousands of expected 404s and 403s
    with override_settings(MEDIA_ROOT=_media_dir), module_data(django_db_blocker):
        cache.clear()
        world = build_world()
        connection.check_constraints()
        plan = Walker(world).plan()
        results = walk(world, plan)
        yield SimpleNamespace(world=world, plan=plan, results=results)
        cache.clear()
    requests_log.setLevel(level)


def _report(problems: list[str], limit: int = 60) -> str:
    shown = "\n".join(problems[:limit])
    more = len(problems) - limit
    return f"{len(problems)} problem(s):\n{shown}" + (f"\n… and {more} more" if more > 0 else "")


def test_every_pattern_and_operation_is_walked(walked):
    plan = walked.plan
    assert not plan.unfillable, _report(plan.unfillable)
    walked_by = {}
    for probe in plan.probes:
        for label in probe.covers:
            walked_by.setdefault(label, set()).add(probe.role)
    missing = []
    for pattern in plan.patterns:
        if pattern.name in NOT_REQUESTED:
            continue
        roles = set(ROLES[:1] if pattern.name in SAME_FOR_EVERYONE else ROLES)
        if not roles <= walked_by.get(pattern.label, set()):
            missing.append(
                f"{pattern.label}: not walked as {sorted(roles - walked_by.get(pattern.label, set()))}"
            )
    for label in plan.operations:
        if set(ROLES) - walked_by.get(label, set()):
            missing.append(f"{label}: OpenAPI operation not walked as every role")
    assert not missing, _report(missing)


def test_objects_of_another_area_answer_404(walked):
    assert not walked.results.failures["other"], _report(walked.results.failures["other"])


def test_nothing_of_another_area_shows_in_pages_lists_dashboards_or_exports(walked):
    assert not walked.results.failures["shown"], _report(walked.results.failures["shown"])


def test_nothing_is_written_for_another_area(walked):
    assert not walked.results.failures["written"], _report(walked.results.failures["written"])


def test_no_request_is_a_server_error(walked):
    assert not walked.results.failures["errors"], _report(walked.results.failures["errors"])


def test_objects_of_the_own_area_open(walked):
    problems = list(walked.results.failures["own"])
    # Every address about an object finds it for some role (a page, a refusal, a form
    # error: anything but 404), else the 404s for other areas' objects prove nothing.
    own = [p for p in walked.plan.probes if p.kind == "own"]
    for label in sorted({c for p in own for c in p.covers} - walked.results.reached):
        if not all(closed_to(p) for p in own if label in p.covers):
            problems.append(f"{label}: no role's own object was found there")
    assert not problems, _report(problems)


def test_every_export_is_built_and_read(walked):
    from core.exports import EXPORT_KINDS

    unread = sorted(set(EXPORT_KINDS) - set(walked.results.exports_read))
    assert not unread, f"exports never built and read by the walk: {unread}"


def test_coverage_figures(walked):
    plan, results = walked.plan, walked.results
    covered = {(label, p.role) for p in plan.probes for label in p.covers}
    operations = set(plan.operations)
    pattern_roles = {(label, role) for label, role in covered if label not in operations}
    operation_roles = {(label, role) for label, role in covered if label in operations}
    patterns = {label for label, _ in pattern_roles}
    requests = sum(results.requests.values())
    kinds = {
        k: sum(1 for p in plan.probes if p.kind == k)
        for k in ("own", "other", "gated", "list", "hostile")
    }
    print(
        "\nleak walk:"
        f"\n  URL patterns: {len(patterns)} × {len(ROLES)} roles = {len(pattern_roles)} pairs"
        f"\n  OpenAPI operations: {len(operations)} × {len(ROLES)} roles = "
        f"{len(operation_roles)} pairs"
        f"\n  probes: {len(plan.probes)} {kinds}"
        f"\n  requests: {requests} {dict(results.requests)}"
        f"\n  admin permission gates (403 for a missing id too): {results.gates}"
        f"\n  export workbooks built and read: {dict(results.exports_read)}"
    )
    assert len(patterns) >= MIN_PATTERNS
    assert len(operations) >= MIN_OPERATIONS
    assert len(pattern_roles) + len(operation_roles) >= MIN_PAIRS
    assert requests >= MIN_REQUESTS
