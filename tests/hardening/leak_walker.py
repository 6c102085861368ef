"""The leak walker: finds every URL pattern (pages, the DRF router, the admin) and every
operation of the OpenAPI schema, fills their parameters from the world of leak_world.py,
and requests them as each role, recording what goes wrong.

Nothing here names an endpoint. A pattern's parameters are filled by what they are:
- the object it is about (`pk`, `id`, `object_id`): its model is the admin's, the
  viewset's queryset's, or that of the collection named by the URL segment before it
  (`villages/<pk>/` → Village, see `_nouns`) or by the parameter before it
  (`disputes/<ledger>/<pk>/`);
- a choice among a fixed set (`<ledger>`, `<kind>`, `<step>`, ...): every value is walked
  (see `_choices`: the values come from the code's own registries where it has one);
- something hanging off the object (a visit's photo, an admin history entry);
- the year of the world.
A parameter the walker cannot fill makes `plan()` report the pattern by name.
"""

from __future__ import annotations

import io
import itertools
import json
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from django.contrib.admin.options import BaseModelAdmin
from django.contrib.contenttypes.models import ContentType
from django.db import connection, transaction
from django.test import Client, TestCase
from django.urls import get_resolver, resolve
from django.utils.regex_helper import normalize
from django.views.generic import RedirectView

from tests.hardening.leak_world import ROLES, YEAR, World, classify, forbidden_markers

# The period the world's records lie in, as forms and exports take it (a year, a day of a
# workday period, a month): sent with every form, so that an export holds the records.
PERIOD = {"year": YEAR, "day": f"{YEAR}-05-14", "month": f"{YEAR}-05"}

# Patterns whose parameters take no object: the walker requests them as they are.
NO_OBJECT = {
    "admin/(?P<url>.*)$",  # the admin's catch-all: any unknown admin address
}
# Patterns never requested: requesting them ends the session under test.
NOT_REQUESTED = {
    "logout",  # POST signs out
    "admin:logout",  # POST signs out
}
# Patterns whose writes are the asking login's own, whatever it sends: no area's records.
OWN_WRITES = {
    "accounts:end_others",  # 退出其他设备: ends the login's other sessions, and logs it
}
# Patterns whose answer is the same for every login and costly to make: requested once.
SAME_FOR_EVERYONE = {
    "api_schema",  # the public OpenAPI document, built from the code (seconds each time)
}
# Features closed to a role as a whole: there a 404 for an object of the role's own area
# is the door being shut on the role, not a scoping slip. (URL name prefix, roles, why)
IMPORTERS = ("city_admin", "county_official", "other_county_official")
ACCOUNT_MANAGERS = (*IMPORTERS, "township_official")
CLOSED = (
    ("villages:import_", set(ROLES) - set(IMPORTERS), "imports: city admins and county officials"),
    ("dashboards:target_", set(ROLES) - {"city_admin"}, "targets are changed by city admins"),
    (
        "accounts:account_",
        set(ROLES) - set(ACCOUNT_MANAGERS),
        "账号管理: city admins, county and township officials",
    ),
)


def closed_to(probe: Probe) -> bool:
    if probe.name == "admin:view_on_site" and not hasattr(probe.obj, "get_absolute_url"):
        return True  # the shortcut has nowhere to send an object without a page
    return any(probe.name.startswith(prefix) and probe.role in roles for prefix, roles, _ in CLOSED)


# A missing object's id, for "is this answer the same as for something that does not exist?"
MISSING_ID = 987654321

OBJECT_KWARGS = {"pk", "id", "object_id", "_0", "user_id"}


def object_key(obj, kwarg: str):
    """What fills the object's parameter: its id; for <user_id>, the id of its login (账号管理
    addresses an Account by its user's id)."""
    if kwarg == "user_id" and hasattr(obj, "user_id"):
        return obj.user_id
    return obj.pk


def _nouns() -> dict:
    """URL collection names → model, for the portal's own pages (the admin and the API know
    their models). A new page under an existing collection needs nothing here."""
    from accounts.models import Account, CredentialSheet
    from core.models import ExportJob, ImportJob
    from dashboards.models import Target
    from disputes.models import ThreeZeroUnit
    from disputes.views import LEDGERS
    from stars.models import StarAward, WeakBranchCase
    from villages.models import Assignment, AssignmentProposal, Branch, County, Township, Village
    from visits.models import Problem, Visit

    return {
        "assignments": Assignment,
        "villages": Village,
        "village": Village,
        "locations": Village,  # 村庄位置: a village's learned location
        "township": Township,
        "county": County,
        "exports": ExportJob,
        "imports": ImportJob,
        "visits": Visit,
        "problems": Problem,
        "branches": Branch,
        "awards": StarAward,
        "weak": WeakBranchCase,
        "units": ThreeZeroUnit,
        "unit": ThreeZeroUnit,
        "targets": Target,
        "links": AssignmentProposal,
        "manage": Account,  # accounts/manage/<user_id>/: the logins an official manages
        "sheets": CredentialSheet,
        **{key: ledger.model for key, ledger in LEDGERS.items()},
    }


def _choices() -> dict:
    """Parameters that pick one of a fixed set: (url name or "*", parameter) → values."""
    from core.exports import EXPORT_KINDS
    from core.importing.engine import KINDS
    from dashboards.selectors import LEVEL_NAMES
    from disputes.views import LEDGERS
    from stars.models import StarAwardEvent
    from stars.views import WEAK_ACTIONS

    return {
        ("*", "ledger"): list(LEDGERS),
        ("*", "format"): ["json"],
        ("*", "year"): [YEAR],
        ("dashboards:export", "level"): [lv for lv in LEVEL_NAMES if lv != "city"],
        ("disputes:sanling_subject", "kind"): ["village", "unit"],
        ("villages:export_create", "kind"): list(EXPORT_KINDS),
        ("villages:import_template", "kind"): list(KINDS),
        # 申报 has its own address (branches/<pk>/apply/); an import is no step one takes
        ("stars:award_step", "step"): [
            s for s in StarAwardEvent.Step.values if s not in ("apply", "import")
        ],
        ("stars:weak_action", "action"): list(WEAK_ACTIONS),
    }


# ----- discovery -----


@dataclass
class Pattern:
    route: str  # the full pattern as written (routes and regexes joined)
    name: str | None
    callback: object
    regex: str
    kwargs: tuple[str, ...]
    admin: object = None  # the ModelAdmin serving it
    viewset: type | None = None
    view_class: type | None = None

    @property
    def label(self) -> str:
        return f"{self.name or '-'} <{self.route}>"

    @property
    def is_admin(self) -> bool:
        return self.route.startswith("admin/")

    def methods(self) -> list[str]:
        """The HTTP methods the view answers, GET first."""
        if self.viewset is not None:
            return [m.upper() for m in ("get", "post") if m in self.callback.actions] or ["GET"]
        if self.view_class is not None:
            found = [m.upper() for m in ("get", "post") if hasattr(self.view_class, m)]
            return found or ["GET"]
        return ["GET"]  # function views: a 405 makes the prober try POST


def _model_admin(callback):
    admin = getattr(callback, "model_admin", None)
    owner = getattr(getattr(callback, "__wrapped__", None), "__self__", None)
    return admin or (owner if isinstance(owner, BaseModelAdmin) else None)


def discover() -> list[Pattern]:
    """Every URL pattern of the project, depth first."""
    found = []

    def walk(resolver, routes, regexes, namespace):
        for entry in resolver.url_patterns:
            route = routes + str(entry.pattern)
            regex = regexes + entry.pattern.regex.pattern.lstrip("^").removesuffix(r"\Z")
            if hasattr(entry, "url_patterns"):
                inner = ":".join(filter(None, [namespace, entry.namespace]))
                walk(entry, route, regex, inner)
                continue
            regex = regex.removesuffix("$")
            compiled = re.compile(regex)
            positional = compiled.groups - len(compiled.groupindex)
            callback = entry.callback
            actions = getattr(callback, "actions", None)
            found.append(
                Pattern(
                    route=route,
                    name=":".join(filter(None, [namespace, entry.name])) if entry.name else None,
                    callback=callback,
                    regex=regex,
                    kwargs=tuple(compiled.groupindex) + tuple(f"_{i}" for i in range(positional)),
                    admin=_model_admin(callback),
                    viewset=getattr(callback, "cls", None) if actions else None,
                    view_class=getattr(callback, "view_class", None)
                    or (None if actions else getattr(callback, "cls", None)),
                )
            )

    walk(get_resolver(), "", "", "")
    return found


def viewset_model(viewset, label: str):
    """The model a DRF viewset serves: its queryset's, as drf-spectacular finds it (the
    scoped queryset of a signed-out user is empty but still knows its model)."""
    from django.contrib.auth.models import AnonymousUser
    from rest_framework.test import APIRequestFactory

    view = viewset()
    view.request = APIRequestFactory().get("/")
    view.request.user = AnonymousUser()
    view.kwargs, view.format_kwarg, view.action = {}, None, "list"
    try:
        queryset = view.get_queryset()
    except Exception as exc:
        raise Unfillable(f"{label}: cannot tell the model of {viewset.__name__} ({exc})") from exc
    return queryset.model._meta.concrete_model


def build_url(pattern: Pattern, values: dict) -> str:
    """The path of `pattern` with these parameter values."""
    for template, params in normalize(pattern.regex):
        if set(params) == set(values):
            return "/" + template % {k: str(v) for k, v in values.items()}
    raise LookupError(f"cannot build {pattern.label} from {sorted(values)}")


# ----- the plan: which requests, as which role -----


class Unfillable(Exception):
    pass


@dataclass
class Probe:
    """One request to make: `kind` is "own" (an object of the role's area), "other" (an
    object outside it), "gated" (an address answered before any lookup: the admin for a
    login without staff rights, a redirect view), "list" (no object in the address) or
    "hostile" (a list or form sent the ids of objects outside the area)."""

    pattern: str
    kind: str
    role: str
    method: str
    url: str
    obj: object = None
    name: str = ""
    missing_url: str = ""
    data: dict | None = None
    content_type: str = ""
    admin: bool = False
    also: list = field(default_factory=list)  # other patterns/operations making this request

    @property
    def covers(self) -> list[str]:
        return [self.pattern, *self.also]

    @property
    def label(self) -> str:
        thing = f" {type(self.obj).__name__}#{self.obj.pk}" if self.obj is not None else ""
        return f"[{self.role}] {self.method} {self.url} ({self.kind}{thing}; {self.pattern})"


@dataclass
class Plan:
    probes: list[Probe] = field(default_factory=list)
    unfillable: list[str] = field(default_factory=list)
    patterns: list[Pattern] = field(default_factory=list)
    operations: list[str] = field(default_factory=list)


class Walker:
    def __init__(self, world: World):
        self.world = world
        self.nouns = _nouns()
        self.choices = _choices()
        self._schema = None
        self.by_model: dict = {}
        for model, items in world.placed.items():
            self.by_model.setdefault(model._meta.concrete_model, []).extend(items)

    # -- what a parameter is

    def _choice_values(self, pattern: Pattern, name: str):
        for key in ((pattern.name, name), ("*", name)):
            if key in self.choices:
                return self.choices[key]
        if name == "app_label":
            found = re.search(r"\(\?P<app_label>([^)]*)\)", pattern.regex)
            return found.group(1).split("|") if found else None
        return None

    def _subject_model(self, pattern: Pattern, values: dict):
        """The model of the object the pattern is about, or None when it takes none."""
        if pattern.admin is not None:
            return pattern.admin.model._meta.concrete_model
        if pattern.viewset is not None:
            return viewset_model(pattern.viewset, pattern.label)
        tokens = re.findall(r"<(?:\w+:)?(\w+)>|([^/<>]+)", pattern.route)
        previous = None
        for kwarg, literal in tokens:
            if kwarg in OBJECT_KWARGS:
                noun = values.get(previous, previous) if previous else None
                model = self.nouns.get(noun)
                if model is None:
                    raise Unfillable(
                        f"{pattern.label}: no model for the collection {noun!r} before "
                        f"<{kwarg}> (add it to leak_walker._nouns)"
                    )
                return model
            previous = kwarg or literal
        return None

    def _object_kwarg(self, pattern: Pattern) -> str | None:
        names = [k for k in pattern.kwargs if k in OBJECT_KWARGS]
        if pattern.name == "admin:view_on_site":
            return "object_id"
        return names[0] if names else None

    def _children(self, pattern: Pattern, obj, names) -> dict:
        """Values of the parameters that hang off the object."""
        from stars.models import StarTask

        filled = {}
        for name in names:
            if name == "photo_id":
                photo = obj.photos.first()
                if photo is None:
                    raise Unfillable(f"{pattern.label}: the visit has no photo")
                filled[name] = photo.pk
            elif name == "task_id":
                filled[name] = StarTask.objects.order_by("pk").values_list("pk", flat=True)[0]
            elif name == "_1" and pattern.admin is not None:  # an admin history entry
                filled[name] = obj.history.order_by("-history_id").values_list(
                    "history_id", flat=True
                )[0]
            elif name == "content_type_id":
                filled[name] = ContentType.objects.get_for_model(obj).pk
            elif name == "year":
                filled[name] = YEAR
            else:
                raise Unfillable(f"{pattern.label}: unknown parameter <{name}>")
        return filled

    # -- picking objects for a role

    def _pick(self, model, role: str, want: str):
        """An object of `model` that `role` stands to as `want` ("own"/"other"); for
        "other", the one nearest the role's own area (a sibling village before another
        county), which is where a scoping slip shows first."""
        from tests.hardening.leak_world import ROLE_AREAS, ancestors

        users = self.world.users
        items = [i for i in self.by_model.get(model, []) if classify(i, role, users) == want]
        if not items:
            return None
        if want == "other" and ROLE_AREAS[role]:
            home = set(ancestors(ROLE_AREAS[role][0]))

            def nearness(item):
                return -next((len(ancestors(a)) for a in ancestors(item.place) if a in home), 0)

            items.sort(key=nearness)
        return items[0].obj

    # -- the plan

    def plan(self) -> Plan:
        plan = Plan(patterns=discover())
        for pattern in plan.patterns:
            if pattern.name in NOT_REQUESTED:
                continue
            try:
                probes = list(self._pattern_probes(pattern))
            except Unfillable as exc:
                plan.unfillable.append(str(exc))
                continue
            plan.probes.extend(probes)
        schema_probes, plan.operations, unfillable = self._schema_probes()
        plan.probes.extend(schema_probes)
        plan.unfillable.extend(unfillable)
        # the router's patterns and the schema's operations overlap: each request once
        seen: dict = {}
        for probe in plan.probes:
            key = (probe.role, probe.method, probe.url, json.dumps(probe.data, sort_keys=True))
            if key in seen:
                seen[key].also.append(probe.pattern)
            else:
                seen[key] = probe
        plan.probes = list(seen.values())
        return plan

    def _pattern_probes(self, pattern: Pattern):
        object_kwarg = self._object_kwarg(pattern)
        fixed, choice_lists = {}, {}
        for name in pattern.kwargs:
            if name == object_kwarg:
                continue
            if pattern.route in NO_OBJECT:
                fixed[name] = "leak-walker/"
                continue
            values = self._choice_values(pattern, name)
            if values is not None:
                choice_lists[name] = values
        child_names = [
            n
            for n in pattern.kwargs
            if n != object_kwarg and n not in fixed and n not in choice_lists
        ]
        combos = [
            dict(zip(choice_lists, values, strict=True))
            for values in itertools.product(*choice_lists.values())
        ] or [{}]
        if object_kwarg is None:
            if child_names:
                raise Unfillable(f"{pattern.label}: unknown parameter <{child_names[0]}>")
            for combo in combos:
                yield from self._list_probes(pattern, {**fixed, **combo})
            return
        for combo in combos:
            if pattern.name == "admin:view_on_site":
                # the admin's "view on site" shortcut serves any model with a page of its
                # own (get_absolute_url); for others it can only say 404
                models = [m for m in self.by_model if hasattr(m, "get_absolute_url")]
                models = models or [next(iter(self.by_model))]
            else:
                models = [self._subject_model(pattern, combo)]
            for model in models:
                if not self.by_model.get(model):
                    raise Unfillable(f"{pattern.label}: the world has no {model.__name__}")
                yield from self._object_probes(pattern, model, object_kwarg, child_names, combo)

    def _gated(self, pattern: Pattern, role: str) -> bool:
        """The admin lets staff in only: for anyone else every admin address is the same
        sign-in redirect, so one request per pattern is enough."""
        return pattern.is_admin and not self.world.users[role].is_staff

    def _object_probes(self, pattern, model, object_kwarg, child_names, combo):
        methods = pattern.methods()
        for role in ROLES:
            # The admin's sign-in gate, and a redirect view, answer before looking anything
            # up: one request with any object (another area's when there is one) will do.
            gated = self._gated(pattern, role) or pattern.view_class is RedirectView
            for want in ("gated",) if gated else ("own", "other"):
                if want == "gated":
                    obj = self._pick(model, role, "other") or self._pick(model, role, "own")
                else:
                    obj = self._pick(model, role, want)
                if obj is None:
                    continue
                values = {
                    **combo,
                    object_kwarg: object_key(obj, object_kwarg),
                    **self._children(pattern, obj, child_names),
                }
                url = build_url(pattern, values)
                missing_url = build_url(pattern, {**values, object_kwarg: MISSING_ID})
                # own: the page (or the action when there is no page); other: everything
                for method in methods if want != "own" else methods[:1]:
                    yield Probe(
                        pattern=pattern.label,
                        name=pattern.name or "",
                        kind=want,
                        role=role,
                        method=method,
                        url=url,
                        obj=obj,
                        missing_url=missing_url,
                        admin=pattern.is_admin,
                    )

    def _list_probes(self, pattern, values):
        url, name = build_url(pattern, values), pattern.name or ""
        methods = pattern.methods()
        for role in ROLES[:1] if pattern.name in SAME_FOR_EVERYONE else ROLES:
            yield Probe(
                pattern.label,
                "list",
                role,
                methods[0],
                url,
                name=name,
                admin=pattern.is_admin,
                data=dict(PERIOD) if methods[0] == "POST" else None,
            )
            hostile = self.hostile_params(role)
            # the admin and the API router's lists are sent hostile filters elsewhere: the
            # admin refuses unknown filters, the API's come from the OpenAPI schema
            if not hostile or pattern.is_admin or pattern.viewset is not None:
                continue
            for method in methods:
                yield Probe(pattern.label, "hostile", role, method, url, name=name, data=hostile)

    def hostile_params(self, role: str) -> dict:
        """Filter and form fields naming objects outside `role`'s area, as the portal's
        lists and forms name them (county=, township=, village=, ...)."""
        from disputes.models import ThreeZeroUnit
        from villages.models import Branch, Cadre, County, Township, Village
        from visits.models import Visit

        params = {}
        for name, model in (
            ("county", County),
            ("township", Township),
            ("village", Village),
            ("unit", ThreeZeroUnit),
            ("branch", Branch),
            ("cadre", Cadre),
            ("visit", Visit),
        ):
            obj = self._pick(model, role, "other")
            if obj is not None:
                params[name] = obj.pk
        return {**params, **PERIOD} if params else {}

    # -- the OpenAPI schema

    def _schema_probes(self):
        schema = self.schema()
        probes, operations, unfillable = [], [], []
        for path, item in schema["paths"].items():
            for method, operation in item.items():
                if method not in ("get", "post", "put", "patch", "delete"):
                    continue
                label = f"{method.upper()} {path} (OpenAPI {operation.get('operationId')})"
                operations.append(label)
                try:
                    probes.extend(self._operation_probes(path, method.upper(), operation, label))
                except Unfillable as exc:
                    unfillable.append(str(exc))
        return probes, operations, unfillable

    def _operation_probes(self, path, method, operation, label):
        params = [p for p in operation.get("parameters", []) if p["in"] == "path"]
        body = "application/json" if method in ("POST", "PUT", "PATCH") else ""
        if not params:
            for role in ROLES:
                yield Probe(
                    label,
                    "list",
                    role,
                    method,
                    path,
                    data=self._body(operation, role, own=True) if body else None,
                    content_type=body,
                )
                hostile = (
                    self._hostile_query(operation, role)
                    if method == "GET"
                    else self._body(operation, role, own=False)
                )
                if hostile:
                    yield Probe(
                        label, "hostile", role, method, path, data=hostile, content_type=body
                    )
            return
        if [p["name"] for p in params] != ["id"]:
            raise Unfillable(f"{label}: unknown path parameters {[p['name'] for p in params]}")
        model = viewset_model(resolve(path.replace("{id}", "1")).func.cls, label)
        if not self.by_model.get(model):
            raise Unfillable(f"{label}: the world has no {model.__name__}")
        for role in ROLES:
            for want in ("own", "other"):
                obj = self._pick(model, role, want)
                if obj is None:
                    continue
                yield Probe(
                    label,
                    want,
                    role,
                    method,
                    path.replace("{id}", str(obj.pk)),
                    obj=obj,
                    missing_url=path.replace("{id}", str(MISSING_ID)),
                    data={} if body else None,
                    content_type=body,
                )

    def _hostile_query(self, operation, role) -> dict:
        hostile = self.hostile_params(role)
        names = {p["name"] for p in operation.get("parameters", []) if p["in"] == "query"}
        query = {k: v for k, v in hostile.items() if k in names and k != "year"}
        if "area" in names and "county" in hostile:
            query["area"] = f"county:{hostile['county']}"
        return query

    def _body(self, operation, role, *, own: bool) -> dict | None:
        """A request body: required choices get their first value; fields naming an area
        object get one outside the role's area (hostile) or none (own)."""
        content = operation.get("requestBody", {}).get("content", {})
        schema = next(iter(content.values()), {}).get("schema", {})
        ref = schema.get("$ref", "")
        component = self._components().get(ref.rsplit("/", 1)[-1], {})
        body = {}
        hostile = {} if own else self.hostile_params(role)
        objects = set(hostile) - set(PERIOD)
        for name, spec in component.get("properties", {}).items():
            if spec.get("readOnly"):
                continue
            enum = self._enum(spec)
            if name in hostile:
                body[name] = hostile[name]
            elif enum and name in component.get("required", []):
                body[name] = enum[0]
        if not own and not objects & set(body):
            return None  # nothing in this body names an area object
        return body

    def _enum(self, spec) -> list:
        if "enum" in spec:
            return spec["enum"]
        for part in spec.get("allOf", []) + spec.get("oneOf", []):
            ref = part.get("$ref", "")
            found = self._components().get(ref.rsplit("/", 1)[-1], {})
            if "enum" in found:
                return found["enum"]
        return []

    def _components(self) -> dict:
        return self.schema().get("components", {}).get("schemas", {})

    def schema(self) -> dict:
        """The OpenAPI document, as drf-spectacular generates it in-process."""
        if self._schema is None:
            from drf_spectacular.generators import SchemaGenerator

            self._schema = SchemaGenerator().get_schema(request=None, public=True)
        return self._schema


# ----- making the requests -----


# Writes a request may make whoever asks: its own session.
HARMLESS_TABLES = {
    "django_session",
    "accounts_usersession",  # the session's last activity, refreshed once a minute
}
# Records of the asking login itself: an export it starts (its file is read like any
# answer, so what it holds is checked).
OWN_RECORDS = {"villages_exportjob"}


class WriteWatcher:
    """A database execute wrapper noting the tables a request writes (its own session
    aside)."""

    TABLE = re.compile(r'^\s*(?:INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+"?([\w.]+)"?', re.I)

    def __init__(self, tables: set):
        self.tables = tables

    def __call__(self, execute, sql, params, many, context):
        found = self.TABLE.match(sql)
        if found and found.group(1) not in HARMLESS_TABLES:
            self.tables.add(found.group(1))
        return execute(sql, params, many, context)


def _last_export() -> int:
    from core.models import ExportJob

    return ExportJob.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


def response_text(response) -> str:
    """Everything a response shows: headers that carry names, and the body (an xlsx as the
    text of every cell of every sheet, JSON decoded)."""
    parts = [response.get("Content-Disposition", ""), response.get("Location", "")]
    if getattr(response, "streaming", False):
        content = b"".join(response.streaming_content)
    else:
        content = response.content
    kind = response.get("Content-Type", "")
    if "spreadsheetml" in kind or content[:2] == b"PK":
        parts.append(workbook_text(content))
    elif kind.startswith("image/"):
        pass
    else:
        text = content.decode("utf-8", errors="replace")
        if "json" in kind:
            try:
                text = json.dumps(json.loads(text), ensure_ascii=False)
            except ValueError:
                pass
        parts.append(text)
    return "\n".join(parts)


def workbook_text(content: bytes) -> str:
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(content), read_only=True)
    cells = [book.sheetnames and " ".join(book.sheetnames)]
    for sheet in book.worksheets:
        for row in sheet.iter_rows(values_only=True):
            cells.extend(str(v) for v in row if v is not None)
    return "\n".join(cells)


def _row(obj) -> dict | None:
    return type(obj)._default_manager.filter(pk=obj.pk).values().first()


@dataclass
class Outcome:
    status: int
    location: str = ""
    text: str = ""
    wrote: set = field(default_factory=set)
    changed: bool = False
    error: str = ""
    exports: list = field(default_factory=list)


class Prober:
    """Makes the probes as one role and judges the answers into `results`."""

    def __init__(self, world: World, role: str, results: Results):
        self.world = world
        self.role = role
        self.user = world.users[role]
        self.client = Client()
        self.client.force_login(self.user)
        self.forbidden = forbidden_markers(role, world.users)
        self.results = results

    def request(self, probe: Probe, url: str | None = None) -> Outcome:
        """Make one request inside a savepoint that is rolled back, so nothing it writes
        outlives it; background jobs it queues run inline first, and the files of the
        exports it starts are downloaded and read like any answer."""
        method, url = probe.method, url or probe.url
        watch = probe.obj is not None and probe.kind == "other" and method != "GET"
        outcome = Outcome(status=0)
        with transaction.atomic():
            before = _row(probe.obj) if watch else None
            last_export = _last_export() if method != "GET" else None
            with connection.execute_wrapper(WriteWatcher(outcome.wrote)):
                try:
                    with TestCase.captureOnCommitCallbacks(execute=True):
                        response = self._send(method, url, probe)
                        if response.status_code == 405 and method == "GET":
                            method = "POST"  # a function view that takes POST only
                            last_export = _last_export()
                            response = self._send(method, url, probe)
                    outcome.status = response.status_code
                    outcome.location = response.get("Location", "")
                    outcome.text = response_text(response)
                except Exception as exc:  # a 500: reported with the role and the URL
                    outcome.status = 500
                    outcome.error = f"{type(exc).__name__}: {exc}"
            if watch:
                outcome.changed = _row(probe.obj) != before
            if "villages_exportjob" in outcome.wrote:
                self._read_exports(outcome, last_export)
            transaction.set_rollback(True)
        self.results.requests[self.role] += 1
        return outcome

    def _read_exports(self, outcome: Outcome, after: int | None) -> None:
        from core.models import ExportJob

        for job in ExportJob.objects.filter(pk__gt=after or 0, user=self.user):
            if job.file:
                with job.file.open("rb") as fh:
                    outcome.text += "\n" + workbook_text(fh.read())
                self.results.exports_read[job.kind] += 1

    def _send(self, method: str, url: str, probe: Probe):
        data = probe.data
        if method == "GET":
            return self.client.get(url, data or {})
        if probe.content_type:
            return self.client.generic(
                method, url, json.dumps(data or {}), content_type=probe.content_type
            )
        if method == "POST":
            return self.client.post(url, data or {})
        return self.client.generic(method, url)

    def fail(self, check: str, probe: Probe, problem: str) -> None:
        self.results.failures[check].append(f"{probe.label}: {problem}")

    def run(self, probe: Probe) -> None:
        outcome = self.request(probe)
        if outcome.status >= 500:
            self.fail("errors", probe, f"answered {outcome.status} {outcome.error}")
            return
        for marker, place in self.forbidden.items():
            if marker in outcome.text:
                at = outcome.text.index(marker)
                context = outcome.text[max(0, at - 60) : at + 40].replace("\n", " ")
                self.fail("shown", probe, f"shows {marker!r} of {place}: …{context}…")
                break
        wrote = set() if probe.name in OWN_WRITES else outcome.wrote - OWN_RECORDS
        if probe.kind in ("other", "gated", "hostile") and (wrote or outcome.changed):
            self.fail("written", probe, f"wrote {sorted(wrote) or 'the object'}")
        if probe.kind == "other":
            self._check_other(probe, outcome)
        elif probe.kind == "gated":
            self._check_gated(probe, outcome)
        elif probe.kind == "own":
            if outcome.status != 404 and "/login/" not in outcome.location:
                self.results.reached.update(probe.covers)
            elif outcome.status == 404 and not closed_to(probe):
                self.fail("own", probe, "answered 404 for an object of the role's own area")

    def _check_gated(self, probe: Probe, outcome: Outcome) -> None:
        """An answer that may depend on nothing but the address: a 404 or 403, the sign-in
        page, or (the admin's bare <id>/ address) the change page of the same id."""
        path = probe.url.split("?")[0]
        if outcome.status in (403, 404) or (
            outcome.status == 302
            and ("/login/" in outcome.location or outcome.location == f"{path}change/")
        ):
            return
        self.fail("other", probe, f"answered {outcome.status} {outcome.location}".rstrip())

    def _check_other(self, probe: Probe, outcome: Outcome) -> None:
        if outcome.status == 404:
            return
        if probe.admin and outcome.status == 403:
            # The admin's model-permission gate answers before looking anything up:
            # accepted when a missing object gets exactly the same answer.
            missing = self.request(probe, probe.missing_url)
            if missing.status == 403:
                self.results.gates += 1
                return
        self.fail("other", probe, f"answered {outcome.status}, not 404 {outcome.location}".rstrip())


@dataclass
class Results:
    """What a walk found, over every role."""

    requests: Counter = field(default_factory=Counter)
    failures: dict = field(default_factory=lambda: defaultdict(list))
    reached: set = field(default_factory=set)  # addresses where an own object was found
    exports_read: Counter = field(default_factory=Counter)
    gates: int = 0


def walk(world: World, plan: Plan) -> Results:
    """Make every probe of the plan, role by role."""
    results = Results()
    for role in ROLES:
        prober = Prober(world, role, results)
        for probe in plan.probes:
            if probe.role == role:
                prober.run(probe)
    return results
