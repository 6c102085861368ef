"""Issue 8 §4: schemathesis fuzzes every operation of the OpenAPI schema, in-process through
the WSGI application, as a signed-in user of each role. No answer may be a 5xx, and every
answer must be documented: its status code, its content type and its body's schema.

How it runs:
- the schema is drf-spectacular's own, generated in-process (the one /api/schema/ serves);
- requests go through the real WSGI application (every middleware, the real CSRF check):
  each role has a session cookie, a CSRF cookie and the matching X-CSRFToken header;
- a small world of every kind of record is built once with the factories; each generated
  request runs in a savepoint that is rolled back, so every request sees the same world;
- hypothesis is derandomized (a fixed seed), with a bounded number of examples for each
  operation and role, half of them valid for the schema and half invalid;
- generated path ids mostly miss, so half of the cases of an operation on `{id}` take a real
  object's id (inside and outside the role's area), and ids in request bodies (village,
  branch, unit, ...) are swapped for real ones the same way.
"""

import datetime
import re
import time
import zlib
from collections import Counter
from types import SimpleNamespace

import pytest
import schemathesis
from django.conf import settings
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections, transaction
from django.test import Client
from django.urls import resolve
from django.utils.crypto import get_random_string
from hypothesis import HealthCheck, given, seed
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.conftest import USER_MAKERS, build_area
from tests.helpers import api_schema

# The signed-in roles every operation is fuzzed as.
ROLES = (
    "city_admin",
    "city_viewer",
    "county_official",
    "township_official",
    "cadre_user",
    "no_role_user",
)
# Examples per operation, per role and per generation mode (valid / invalid for the schema).
# Each role draws its own cases (its own seed), so an operation gets 6 × 3 different ones.
EXAMPLES = {GenerationMode.POSITIVE: 2, GenerationMode.NEGATIVE: 1}
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
YEAR = 2024


def portal_schema():
    """The OpenAPI document /api/schema/ serves, generated in-process."""
    return schemathesis.openapi.from_dict(api_schema())


def build_world():
    """The two-county world of tests/conftest.py, with records of every kind in it: awards
    at each step of their workflow, weak cases, visits, problems, the four 三零 ledgers,
    units, 零报告, yearly 三零 statuses and an export job of each signed-in role."""
    from disputes.models import ZeroReport
    from disputes.services import sanling_recompute
    from stars.models import StarAward, StarTask, StarType
    from stars.schemes import ensure_star_types
    from tests.disputes.factories import (
        DisputeFactory,
        HazardFactory,
        IncidentFactory,
        PetitionFactory,
        UnitFactory,
    )
    from tests.stars.factories import StarAwardFactory, WeakCaseFactory, star
    from tests.visits.helpers import ProblemFactory, VisitFactory
    from villages.models import ExportJob
    from visits.models import Problem, Visit

    area = build_area()
    users = {role: USER_MAKERS[role](area) for role in ROLES}
    ensure_star_types(StarType, StarTask)
    v, b, c = area.villages, area.branches, area.cadres
    codes = ("branch", "industry", "ecology", "safety", "civility")
    for label in ("a1v1", "a1v2", "a2v1", "b1v1"):
        for i, state in enumerate(StarAward.State.values):
            code, year = codes[i % len(codes)], YEAR - i // len(codes)
            StarAwardFactory(
                branch=b[label],
                state=state,
                star_type=star("rural", code),
                year=year,
                withdrawn_reason="测试摘星" if state == StarAward.State.WITHDRAWN else "",
            )
    for label, status in (("a1v2", "identified"), ("a2v1", "rectifying"), ("b1v1", "accepted")):
        accepted_on = datetime.date(YEAR, 6, 1) if status == "accepted" else None
        WeakCaseFactory(branch=b[label], status=status, accepted_on=accepted_on)
    today = datetime.date.today()
    for label, cadre in (("a1v1", "a1v1"), ("b1v1", "b1v1")):
        for state in Visit.State.values:
            VisitFactory(cadre=c[cadre], village=v[label], state=state)
        VisitFactory(cadre=c[cadre], village=v[label], date=today)
    for label in ("a1v1", "a2v1", "b1v1"):
        for status in Problem.Status.values:
            ProblemFactory(
                village=v[label],
                status=status,
                explanation="已向群众解释" if status == Problem.Status.EXPLAINED else "",
                resolved_on=datetime.date(YEAR, 6, 1)
                if status == Problem.Status.RESOLVED
                else None,
            )
        DisputeFactory(village=v[label])
        PetitionFactory(village=v[label])
        IncidentFactory(village=v[label])
        HazardFactory(village=v[label])
        unit = UnitFactory(village=v[label])
        DisputeFactory(unit=unit, village=None)
        ZeroReport.objects.create(village=v[label], month=datetime.date(YEAR, 2, 1))
    sanling_recompute(year=YEAR)
    for user in users.values():
        ExportJob.objects.create(kind="villages", user=user)
    return SimpleNamespace(area=area, users=users)


# ----- real ids for the generated cases -----


# Request-body fields that name an object, and the model whose ids they take.
def _body_id_models():
    from disputes.models import ThreeZeroUnit
    from stars.models import StarType
    from villages.models import Branch, Township, Village
    from visits.models import Visit

    return {
        "village": Village,
        "unit": ThreeZeroUnit,
        "township": Township,
        "branch": Branch,
        "star_type": StarType,
        "visit": Visit,
    }


def _path_model(operation, admin):
    """The model behind `{id}` in an operation's path: the queryset model of the viewset
    that the path resolves to (so a new endpoint needs no entry here)."""
    match = resolve(re.sub(r"\{[^}]+\}", "1", operation.path))
    view = match.func.cls()
    view.request = SimpleNamespace(user=admin, query_params={})
    view.kwargs, view.action, view.format_kwarg = match.kwargs, "retrieve", None
    return view.get_queryset().model


def real_ids(schema, admin):
    """{operation label: ids of its path model}, {body field: ids of its model}."""
    path_ids = {}
    for result in schema.get_all_operations():
        operation = result.ok()
        if "{id}" in operation.path:
            model = _path_model(operation, admin)
            path_ids[operation.label] = sorted(model.objects.values_list("pk", flat=True))
    body_ids = {
        name: sorted(model.objects.values_list("pk", flat=True))
        for name, model in _body_id_models().items()
    }
    return path_ids, body_ids


def cases(operation, mode, path_ids, body_ids):
    """The operation's generated cases. Valid ones (positive mode) take their path id from
    the real objects (inside and outside the role's area) and the edge ids, and half of them
    also name real objects in their body; invalid ones are left as generated."""
    generated = operation.as_strategy(generation_mode=mode)
    if mode is GenerationMode.NEGATIVE:
        return generated
    edges = [0, max(path_ids or [0]) + 1, 2**31 - 1, 2**31, 2**63 - 1, 2**63]

    @st.composite
    def anchored(draw):
        case = draw(generated)
        if path_ids is not None and "id" in case.path_parameters:
            case.path_parameters["id"] = draw(st.sampled_from(path_ids + edges))
        if isinstance(case.body, dict) and draw(st.booleans()):
            for name, ids in body_ids.items():
                if name in case.body and ids:
                    case.body[name] = draw(st.sampled_from(ids))
            if "year" in case.body:
                case.body["year"] = YEAR
        return case

    return anchored()


# ----- the test -----


@pytest.fixture
def wsgi_app():
    """The project's WSGI application. Like Django's test client, requests here keep the
    test's database connection (and its transaction) instead of closing it at each end."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield get_wsgi_application()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def signed_in(user):
    """Cookies and headers of a browser session of `user` that passed the login page."""
    client = Client()
    client.force_login(user)
    token = get_random_string(32)
    cookies = {
        settings.SESSION_COOKIE_NAME: client.cookies[settings.SESSION_COOKIE_NAME].value,
        settings.CSRF_COOKIE_NAME: token,
    }
    return cookies, {"X-CSRFToken": token}


def fuzz(strategy, *, examples: int, send, name: str) -> None:
    """Run `send(case)` on `examples` cases of `strategy`, with a fixed seed of its own for
    each `name` (each role gets other cases of the same operation)."""

    @seed(zlib.crc32(name.encode()))
    @hypothesis_settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(case=strategy)
    def run(case):
        send(case)

    run()


def sender(app, user, tally: Counter):
    """`send(case)`: the case's request as `user`, validated by CHECKS, in a savepoint that
    is rolled back afterwards."""
    cookies, headers = signed_in(user)

    def send(case):
        tally[case.operation.label] += 1
        with transaction.atomic():
            case.call_and_validate(app=app, headers=headers, cookies=cookies, checks=CHECKS)
            transaction.set_rollback(True)

    return send


@pytest.mark.django_db
def test_every_operation_as_every_role(wsgi_app, capsys):
    schema = portal_schema()
    world = build_world()
    path_ids, body_ids = real_ids(schema, world.users["city_admin"])
    operations = [result.ok() for result in schema.get_all_operations()]
    tallies = {role: Counter() for role in ROLES}
    failures = []
    started = time.perf_counter()

    for role in ROLES:
        send = sender(wsgi_app, world.users[role], tallies[role])
        for operation in operations:
            for mode, examples in EXAMPLES.items():
                strategy = cases(operation, mode, path_ids.get(operation.label), body_ids)
                try:
                    name = f"{role} {operation.label} {mode}"
                    fuzz(strategy, examples=examples, send=send, name=name)
                except (Exception, FailureGroup) as exc:  # every failure is listed
                    failures.append(f"[{role}] {operation.label} ({mode}): {exc}")

    total = sum(sum(t.values()) for t in tallies.values())
    with capsys.disabled():
        print(
            f"\nAPI fuzz: {len(operations)} operations × {len(ROLES)} roles, "
            f"{total} cases run in {time.perf_counter() - started:.0f} s, {len(failures)} failing"
        )
    if failures:
        pytest.fail("\n\n".join(failures), pytrace=False)
    for role, tally in tallies.items():
        assert set(tally) == {op.label for op in operations}, role
    # Hypothesis stops early only when an operation has fewer distinct cases than asked for.
    assert total >= 0.9 * len(operations) * len(ROLES) * sum(EXAMPLES.values())
