"""The OpenAPI fuzz of every API operation (issue 8 §4, issue 15 §6), shared by the always-on
contract test (tests/hardening/test_api_contract.py) and the exhaustive sweep
(tests/hardening/test_api_fuzz.py).

What runs:
- the schema is drf-spectacular's own, generated in-process (the one /api/schema/ serves);
- requests go through the real WSGI application (every middleware, the real CSRF check):
  each role has a session cookie, a CSRF cookie and the matching X-CSRFToken header, and
  schemathesis knows the cookies for the role's credentials (its `ignored_auth` check sends
  each accepted request again without them, and with forged ones);
- the cases are schemathesis' two generation phases: the coverage phase's deterministic
  cases (boundary values, each parameter of the wrong type, missing required fields, ...)
  and the fuzzing phase's Hypothesis cases, both valid and invalid for the schema;
- a small world of every kind of record is built once with the factories; each request runs
  in a savepoint that is rolled back, so every request sees the same world;
- generated path ids mostly miss, so valid cases on `{id}` take a real object's id half the
  time (inside and outside the role's area), and ids in request bodies (village, branch,
  unit, ...) are swapped for real ones the same way;
- every answer is judged by every schemathesis check (`--checks all`), with one replaced and
  one added, for the reasons written at REPLACED, ADDED and STATEFUL below.
"""

from __future__ import annotations

import datetime
import json
import random
import re
import time
import zlib
from collections import Counter
from dataclasses import dataclass, field
from types import SimpleNamespace

import schemathesis
from django.conf import settings
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections, transaction
from django.test import Client, override_settings
from django.urls import resolve
from django.utils import translation
from django.utils.crypto import get_random_string
from hypothesis import HealthCheck, given, seed
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import CHECKS as REGISTERED_CHECKS
from schemathesis.checks import load_all_checks
from schemathesis.core.failures import FailureGroup

from tests.conftest import USER_MAKERS, build_area
from tests.helpers import api_schema

YEAR = 2024
MODES = (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)


def portal_schema():
    """The OpenAPI document /api/schema/ serves, generated in-process."""
    return schemathesis.openapi.from_dict(api_schema())


# ----- the world -----


def build_world(roles):
    """The two-county world of tests/conftest.py, with records of every kind in it: awards
    at each step of their workflow, weak cases, visits, problems, the four 三零 ledgers with
    a record in each of their statuses (a closed petition has no deadline), units, 零报告,
    yearly 三零 statuses and an export job of each signed-in role."""
    from core.models import ExportJob
    from disputes.models import Dispute, HazardCheck, Petition, ZeroReport
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
    from visits.models import Problem, Visit

    area = build_area()
    users = {role: USER_MAKERS[role](area) for role in dict.fromkeys(("city_admin", *roles))}
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
    closed_on = datetime.date(YEAR, 4, 1)
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
        for status in Dispute.Status.values:
            resolved = status == Dispute.Status.RESOLVED
            DisputeFactory(
                village=v[label], status=status, resolved_on=closed_on if resolved else None
            )
        for status in Petition.Status.values:
            PetitionFactory(
                village=v[label],
                status=status,
                accepted_on=closed_on if status != Petition.Status.REGISTERED else None,
                concluded_on=closed_on if status == Petition.Status.CONCLUDED else None,
            )
        IncidentFactory(village=v[label])
        for status in HazardCheck.Status.values:
            rectified = status == HazardCheck.Status.RECTIFIED
            HazardFactory(
                village=v[label], status=status, rectified_on=closed_on if rectified else None
            )
        unit = UnitFactory(village=v[label])
        DisputeFactory(unit=unit, village=None)
        ZeroReport.objects.create(village=v[label], month=datetime.date(YEAR, 2, 1))
    sanling_recompute(year=YEAR)
    for user in users.values():
        ExportJob.objects.create(kind="villages", user=user)
    return SimpleNamespace(area=area, users=users)


# ----- real ids for the generated cases -----


def _body_id_models():
    """Request-body fields that name an object, and the model whose ids they take."""
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


def _edges(path_ids):
    return [0, max(path_ids or [0]) + 1, 2**31 - 1, 2**31, 2**63 - 1, 2**63]


def fuzz_cases(operation, mode, path_ids, body_ids):
    """The fuzzing phase's cases of the operation. Valid ones (positive mode) take their path
    id from the real objects (inside and outside the role's area) and the edge ids, and half
    of them also name real objects in their body; invalid ones are left as generated."""
    generated = operation.as_strategy(generation_mode=mode)
    if mode is GenerationMode.NEGATIVE:
        return generated

    @st.composite
    def anchored(draw):
        case = draw(generated)
        if path_ids is not None and "id" in case.path_parameters:
            case.path_parameters["id"] = draw(st.sampled_from(path_ids + _edges(path_ids)))
        if isinstance(case.body, dict) and draw(st.booleans()):
            for name, ids in body_ids.items():
                if name in case.body and ids:
                    case.body[name] = draw(st.sampled_from(ids))
            if "year" in case.body:
                case.body["year"] = YEAR
        return case

    return anchored()


def coverage_cases(schema, operation, path_ids, *, limit, name):
    """The coverage phase's cases of the operation (deterministic), at most `limit` of them
    (a fixed sample of its own for each `name`); every other valid case on `{id}` takes a
    real object's id."""
    generated = list(
        schema.iter_coverage_cases(
            operation,
            generation_modes=list(MODES),
            generation_config=schema.config.generation_for(operation=operation),
        )
    )
    rng = random.Random(zlib.crc32(name.encode()))
    if limit is not None and len(generated) > limit:
        generated = rng.sample(generated, limit)
    for i, case in enumerate(generated):
        positive = case.meta is None or case.meta.generation.mode is GenerationMode.POSITIVE
        if positive and path_ids and "id" in case.path_parameters and i % 2:
            case.path_parameters["id"] = rng.choice(path_ids)
    return generated


# ----- the checks -----

CJK = re.compile(r"[\u4e00-\u9fff]")


def _strings(value, path=()):
    """(path, text) of every string in a JSON body (values, not keys)."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(item, (*path, str(key)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, (*path, str(index)))


def errors_in_chinese(ctx, response, case):
    """Added: every error the API answers (4xx, 5xx) is JSON, and each of its messages is in
    Chinese, whatever refused it (DRF, Django's handlers, the CSRF check, a parser)."""
    if response.status_code < 400:
        return None
    content_type = (response.headers.get("content-type") or [""])[0]
    assert content_type.startswith("application/json"), (
        f"{response.status_code} answered {content_type or 'no content type'}, not JSON"
    )
    body = response.json()
    assert body, f"{response.status_code} answered an empty body"
    for path, text in _strings(body):
        assert CJK.search(text), f"{'.'.join(path) or 'body'}: not in Chinese: {text!r}"
    return None


def _message_pattern(template: str) -> re.Pattern:
    parts = re.split(r"\{[a-z_]+\}|%\([a-z_]+\)[sdr]", template)
    return re.compile("^" + ".*?".join(re.escape(part) for part in parts) + "$", re.DOTALL)


# The messages that blame a value's type, format, length, range or presence: what a schema
# states. (Not those that blame its meaning: an object that does not exist or lies outside
# the user's area, a rule between fields, a workflow step.)
TYPE_CODES = {
    "blank",
    "date",
    "datetime",
    "empty",
    "incorrect_type",
    "invalid",
    "invalid_choice",
    "max_decimal_places",
    "max_digits",
    "max_length",
    "max_string_length",
    "max_value",
    "max_whole_digits",
    "min_length",
    "min_value",
    "not_a_dict",
    "not_a_list",
    "null",
    "overflow",
    "required",
}


def _subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def _type_messages() -> list[re.Pattern]:
    from django import forms
    from rest_framework import fields as drf_fields
    from rest_framework import relations

    from core.api.pagination import PortalPagination
    from villages.filters import BOOLEAN_INVALID, INTEGER_INVALID

    templates = {str(INTEGER_INVALID), str(BOOLEAN_INVALID), PortalPagination.page_size_message}
    # an id outside the area reads as "no such object": the meaning, not the type
    business = (relations.RelatedField, forms.ModelChoiceField)
    for root in (drf_fields.Field, forms.Field):
        for cls in (root, *_subclasses(root)):
            if issubclass(cls, business):
                continue
            for klass in reversed(cls.__mro__):
                for code, message in vars(klass).get("default_error_messages", {}).items():
                    if code in TYPE_CODES:
                        try:
                            templates.add(str(message))
                        except (KeyError, TypeError):  # a plural needing its number
                            continue
    return [_message_pattern(template) for template in templates if template]


_TYPE_MESSAGES: list[re.Pattern] = []


def schema_valid_data_accepted(ctx, response, case):
    """Replaces schemathesis' `positive_data_acceptance`, which fails any 400 to a request
    that is valid for the schema. Such a request may still break a rule that no schema
    states: an id that names nothing or an object outside the user's area, two fields that
    must agree (村 or 单位), dates in order, a workflow step out of turn, wrong credentials
    at the token login. The portal rightly refuses those with 400 naming the field in
    Chinese. This check fails a 400 to a valid request when the refusal blames a value's
    type, format, length, range or presence: the disagreement between the schema and the
    server that the original check exists to find."""
    if case.meta is None or not case.meta.generation.mode.is_positive:
        return None
    if response.status_code != 400:
        return None
    if not _TYPE_MESSAGES:
        with translation.override(settings.LANGUAGE_CODE):
            _TYPE_MESSAGES.extend(_type_messages())
    for path, text in _strings(response.json()):
        for pattern in _TYPE_MESSAGES:
            assert not pattern.match(text), (
                f"a request valid for the schema was refused for its "
                f"{'.'.join(path) or 'body'}: {text!r} (the schema and the server disagree)"
            )
    return None


def _all_checks():
    load_all_checks()
    return {check.__name__: check for check in REGISTERED_CHECKS.get_all()}


# Every check of `schemathesis run --checks all`, but `positive_data_acceptance`: a valid
# request may break a rule no schema states (see schema_valid_data_accepted, its stand-in).
REPLACED = {"positive_data_acceptance": schema_valid_data_accepted}
# And one more: everything under /api/ answers its errors in JSON, in Chinese.
ADDED = [errors_in_chinese]
# These are on but act only inside schemathesis' own runner: `use_after_free` and
# `ensure_resource_availability` follow links between operations in its stateful phase,
# `object_level_authorization` replays a read as the other identities of a configured
# multi-user auth. `follow_up` below does the first two by hand for every DELETE and POST
# that succeeds; the leak walker (tests/hardening/test_leak_walker.py) does the third for
# every operation and role.
STATEFUL = ("use_after_free", "ensure_resource_availability", "object_level_authorization")


def checks():
    registered = _all_checks()
    # a schemathesis upgrade that renames these must have the reasons above read again
    assert {*REPLACED, *STATEFUL} <= set(registered), sorted(registered)
    return [REPLACED.get(name, check) for name, check in registered.items()] + ADDED


# ----- sending -----


@dataclass
class Figures:
    operations: list = field(default_factory=list)
    cases: Counter = field(default_factory=Counter)  # per operation label
    statuses: Counter = field(default_factory=Counter)  # per (method, status code)
    follow_ups: int = 0
    failures: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def total(self) -> int:
        return sum(self.cases.values())


class WsgiApp:
    """The project's WSGI application. Like Django's test client, requests here keep the
    test's database connection (and its transaction) instead of closing it at each end."""

    def __enter__(self):
        request_started.disconnect(close_old_connections)
        request_finished.disconnect(close_old_connections)
        return get_wsgi_application()

    def __exit__(self, *exc):
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def signed_in(user) -> tuple[dict, dict]:
    """The cookies of a browser session of `user` that passed the login page (its session
    and CSRF cookies), and the headers that go with them: the matching X-CSRFToken, and the
    same cookies as a Cookie header. The WSGI transport sends the cookies; the header tells
    schemathesis that they are the role's credentials, so that `ignored_auth` sends each
    accepted request again without them and with forged ones (and does not take them for
    generated ones)."""
    client = Client()
    client.force_login(user)
    token = get_random_string(32)
    cookies = {
        settings.SESSION_COOKIE_NAME: client.cookies[settings.SESSION_COOKIE_NAME].value,
        settings.CSRF_COOKIE_NAME: token,
    }
    headers = {
        "Cookie": "; ".join(f"{name}={value}" for name, value in cookies.items()),
        "X-CSRFToken": token,
    }
    return headers, cookies


class Sender:
    """Sends the cases of one role, each judged by every check, in a rolled-back savepoint.
    Without `csrf`, the session's requests leave out the X-CSRFToken header (a script that
    holds the cookies but not the token)."""

    def __init__(self, app, schema, user, figures: Figures, *, csrf: bool = True):
        self.app, self.schema, self.figures = app, schema, figures
        self.headers, self.cookies = signed_in(user)
        if not csrf:
            del self.headers["X-CSRFToken"]
        self.checks = checks()
        self.detail = {}
        for result in schema.get_all_operations():
            operation = result.ok()
            if operation.method.upper() == "GET" and operation.path.endswith("/{id}/"):
                self.detail[operation.path.removesuffix("{id}/")] = operation

    def send(self, case):
        self.figures.cases[case.operation.label] += 1
        with transaction.atomic():
            response = case.call_and_validate(
                app=self.app, headers=self.headers, cookies=self.cookies, checks=self.checks
            )
            self.figures.statuses[case.method.upper(), response.status_code] += 1
            self.follow_up(case, response)
            transaction.set_rollback(True)

    def follow_up(self, case, response):
        """`use_after_free` and `ensure_resource_availability` by hand: after a DELETE that
        succeeded the object answers 404; after a POST that created one (201 with an id),
        the object answers 200 where the API has a detail address for it."""
        method = case.method.upper()
        if method == "DELETE" and 200 <= response.status_code < 300:
            detail = self.detail.get(case.operation.path.removesuffix("{id}/"))
            expected = 404
            object_id = case.path_parameters.get("id")
        elif method == "POST" and response.status_code == 201:
            detail = self.detail.get(case.operation.path)
            expected = 200
            object_id = response.json().get("id")
        else:
            return
        if detail is None or object_id is None:
            return
        self.figures.follow_ups += 1
        follow = detail.Case(path_parameters={"id": object_id})
        answer = follow.call_and_validate(
            app=self.app, headers=self.headers, cookies=self.cookies, checks=self.checks
        )
        assert answer.status_code == expected, (
            f"after {case.method} {case.formatted_path} answered {response.status_code}, "
            f"GET {follow.formatted_path} answered {answer.status_code}, not {expected}"
        )


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


def _describe(exc) -> str:
    if isinstance(exc, FailureGroup):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


UNSAFE = {"POST", "PUT", "PATCH", "DELETE"}


def run_fuzz(
    *,
    roles,
    examples: dict,
    coverage_limit: int | None,
    without_csrf: tuple = (),
    without_csrf_limit: int = 3,
) -> Figures:
    """Fuzz every operation as each of `roles`: its coverage-phase cases (at most
    `coverage_limit` per operation, all of them with None) and `examples[mode]` fuzzing-phase
    cases per generation mode. Then every unsafe operation as each of `without_csrf`, signed
    in but without the CSRF token: `without_csrf_limit` coverage cases each (valid and
    malformed ids and bodies alike answer JSON). Every failure is listed; none stops the
    run."""
    schema = portal_schema()
    world = build_world((*roles, *without_csrf))
    path_ids, body_ids = real_ids(schema, world.users["city_admin"])
    operations = [result.ok() for result in schema.get_all_operations()]
    figures = Figures()
    started = time.perf_counter()
    # The write throttle (120 a minute per user) would answer most writes with 429.
    with WsgiApp() as app, override_settings(API_WRITE_RATE="1000000/min"):
        schema.app = app  # the checks that send requests of their own send them here too
        for role in roles:
            sender = Sender(app, schema, world.users[role], figures)
            for operation in operations:
                ids = path_ids.get(operation.label)
                name = f"{role} {operation.label}"
                for case in coverage_cases(schema, operation, ids, limit=coverage_limit, name=name):
                    try:
                        sender.send(case)
                    except (Exception, FailureGroup) as exc:  # every failure is listed
                        figures.failures.append(
                            f"[{role}] {operation.label} (coverage): {_describe(exc)}"
                        )
                for mode, count in examples.items():
                    strategy = fuzz_cases(operation, mode, ids, body_ids)
                    try:
                        fuzz(strategy, examples=count, send=sender.send, name=f"{name} {mode}")
                    except (Exception, FailureGroup) as exc:
                        figures.failures.append(
                            f"[{role}] {operation.label} ({mode}): {_describe(exc)}"
                        )
        for role in without_csrf:
            sender = Sender(app, schema, world.users[role], figures, csrf=False)
            for operation in operations:
                if operation.method.upper() not in UNSAFE:
                    continue
                ids = path_ids.get(operation.label)
                name = f"{role} without CSRF {operation.label}"
                for case in coverage_cases(
                    schema, operation, ids, limit=without_csrf_limit, name=name
                ):
                    try:
                        sender.send(case)
                    except (Exception, FailureGroup) as exc:
                        figures.failures.append(
                            f"[{role}, no CSRF token] {operation.label}: {_describe(exc)}"
                        )
    figures.seconds = time.perf_counter() - started
    figures.operations = operations
    return figures


def summary(figures: Figures, roles, without_csrf=()) -> str:
    extra = f" (+{len(without_csrf)} without the CSRF token)" if without_csrf else ""
    return (
        f"API fuzz: {len(figures.operations)} operations × {len(roles)} roles{extra}, "
        f"{figures.total} cases (+{figures.follow_ups} follow-up requests) in "
        f"{figures.seconds:.0f} s, {len(figures.failures)} failing; answers: "
        + ", ".join(f"{m} {s}: {n}" for (m, s), n in sorted(figures.statuses.items()))
        + "; checks: "
        + json.dumps(sorted(check.__name__ for check in checks()))
    )
