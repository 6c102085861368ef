"""Reads, scoped. This module is the portal's one door for "who may see what".

Every read of an area-bound object, in every app, goes through `scope_for_user` and
the `*_list_for_user` functions here: pages, the API, the admin (querysets and form
choices), exports and dashboards. An object outside the user's scope is treated exactly
like a missing one (404), so its existence is never revealed.

The rules:
- city admins, city viewers and superusers see the whole city;
- a county official sees their county;
- a township official sees their township;
- a cadre sees the villages they are linked to (帮村), every village of a township they
  are linked to (联乡), and only their own assignments;
- a login with no role sees nothing.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from django.db.models import Count, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils import timezone

from core.history import newest_first, scoped_history
from core.models import ExportJob, ImportJob
from villages.models import (
    Assignment,
    AssignmentProposal,
    Branch,
    Cadre,
    County,
    ProgrammeYear,
    Roster,
    RosterEntry,
    Township,
    UserRole,
    Village,
    WorkUnit,
)

Role = UserRole.Role


@dataclass(frozen=True)
class Scope:
    """What one login covers, resolved once per request."""

    role: str | None
    county_id: int | None = None
    township_id: int | None = None
    cadre_id: int | None = None

    @property
    def is_city(self) -> bool:
        return self.role in (Role.CITY_ADMIN, Role.CITY_VIEWER)

    @property
    def is_official(self) -> bool:
        return self.role in (Role.COUNTY_OFFICIAL, Role.TOWNSHIP_OFFICIAL)

    @property
    def is_cadre(self) -> bool:
        return self.role == Role.CADRE

    @property
    def can_import(self) -> bool:
        return self.role in (Role.CITY_ADMIN, Role.COUNTY_OFFICIAL)


NO_SCOPE = Scope(role=None)


def scope_for_user(user) -> Scope:
    """Resolve (and memoise on the user object) the scope of `user`."""
    if user is None or not user.is_authenticated:
        return NO_SCOPE
    cached = getattr(user, "_portal_scope", None)
    if cached is not None:
        return cached
    row = _role_row(user)
    if row is not None:
        role, county_id, township_id, township_county_id, cadre_id = row
        scope = Scope(
            role=role,
            county_id=township_county_id if role == Role.TOWNSHIP_OFFICIAL else county_id,
            township_id=township_id,
            cadre_id=cadre_id if role == Role.CADRE else None,
        )
    elif user.is_superuser:
        scope = Scope(role=Role.CITY_ADMIN)
    else:
        scope = NO_SCOPE
    user._portal_scope = scope
    return scope


def _role_row(user) -> tuple | None:
    """(role, county_id, township_id, the township's county_id, cadre_id) of a login, or
    None without a role. Free when the login arrived with its role and cadre record loaded,
    as the portal's auth backend (villages.auth) loads them for every request; otherwise
    one query."""
    model = user.__class__  # the User model, also through request.user's lazy wrapper
    if model.portal_role.is_cached(user) and model.cadre.is_cached(user):
        role = getattr(user, "portal_role", None)
        if role is None:
            return None
        cadre = getattr(user, "cadre", None)
        township_county_id = role.township.county_id if role.township_id else None
        return (
            role.role,
            role.county_id,
            role.township_id,
            township_county_id,
            cadre.pk if cadre is not None else None,
        )
    return (
        UserRole.objects.filter(user_id=user.pk)
        .order_by()
        .annotate(
            cadre_pk=Subquery(
                Cadre.objects.filter(user_id=OuterRef("user_id")).order_by().values("pk")[:1]
            )
        )
        .values_list("role", "county_id", "township_id", "township__county_id", "cadre_pk")
        .first()
    )


def own_area_of(user) -> County | Township | None:
    """The county (county official) or township (township official) a login's role names,
    as the auth backend loaded it with the user: no query. None for other roles, or when
    the role arrived without its area loaded (then use the list selectors)."""
    model = user.__class__
    if not user.is_authenticated or not model.portal_role.is_cached(user):
        return None
    role = getattr(user, "portal_role", None)
    if role is None:
        return None
    if role.role == Role.COUNTY_OFFICIAL and role.county_id:
        field = role.__class__.county
        return role.county if field.is_cached(role) else None
    if role.role == Role.TOWNSHIP_OFFICIAL and role.township_id:
        field = role.__class__.township
        return role.township if field.is_cached(role) else None
    return None


def _cadre_township_ids(cadre_id: int | None) -> QuerySet:
    return Assignment.objects.filter(cadre_id=cadre_id, kind=Assignment.Kind.TOWNSHIP).values(
        "township_id"
    )


def _cadre_village_ids(cadre_id: int | None) -> QuerySet:
    return Assignment.objects.filter(cadre_id=cadre_id, kind=Assignment.Kind.VILLAGE).values(
        "village_id"
    )


def cadre_village_links(*, user, village_id: int) -> tuple[Village | None, list[Assignment]]:
    """For a cadre: the village `village_id` and those of the cadre's assignments that link
    them to it (帮村 to the village, 联乡 to its township); (None, []) when the village is
    not theirs. The same rule as `village_list_for_user`, applied in Python to the cadre's
    handful of assignments, for the hot path of logging a visit: one query (the
    assignments, with their cadre and 帮村 village), and a second one only for a village
    reached through a 联乡 link."""
    scope = scope_for_user(user)
    if not (scope.is_cadre and scope.cadre_id):
        return None, []
    try:
        village_id = int(village_id)
    except (TypeError, ValueError):
        return None, []
    assignments = list(
        Assignment.objects.filter(cadre_id=scope.cadre_id)
        .select_related("cadre", "village__township")
        .order_by()
    )
    village = next((a.village for a in assignments if a.village_id == village_id), None)
    if village is None:
        village = next(iter(Village.objects.filter(pk=village_id).order_by()[:1]), None)
    if village is None:
        return None, []
    links = [
        a
        for a in assignments
        if (a.kind == Assignment.Kind.VILLAGE and a.village_id == village.pk)
        or (a.kind == Assignment.Kind.TOWNSHIP and a.township_id == village.township_id)
    ]
    return (village, links) if links else (None, [])


# ----- per-area figures (the dashboards' shape) -----

AreaKey = tuple[
    str, "int | None"
]  # ("city", None), ("county", id), ("township", id), ("village", id)


def area_keys_of(village_id, township_id, county_id) -> list[AreaKey]:
    """The areas a row of a village (or, with village_id None, of a township) counts in."""
    keys: list[AreaKey] = [("city", None), ("county", county_id), ("township", township_id)]
    if village_id is not None:
        keys.append(("village", village_id))
    return keys


def roll_up_by_area(rows) -> dict[AreaKey, tuple[int, int]]:
    """(village_id, township_id, county_id, numerator, denominator) rows → the sums per
    area, keyed as `area_keys_of`; the city is always there."""
    totals: dict[AreaKey, list[int]] = defaultdict(lambda: [0, 0])
    totals[("city", None)]
    for village_id, township_id, county_id, num, den in rows:
        for key in area_keys_of(village_id, township_id, county_id):
            totals[key][0] += num
            totals[key][1] += den
    return {key: (value[0], value[1]) for key, value in totals.items()}


def village_list_for_user(*, user) -> QuerySet[Village]:
    """Villages `user` may see. Every other scoped read builds on this or on `scope_for_user`."""
    scope = scope_for_user(user)
    villages = Village.objects.select_related("township__county")
    if scope.is_city:
        return villages
    if scope.role == Role.COUNTY_OFFICIAL:
        return villages.filter(township__county_id=scope.county_id)
    if scope.role == Role.TOWNSHIP_OFFICIAL:
        return villages.filter(township_id=scope.township_id)
    if scope.is_cadre and scope.cadre_id:
        return villages.filter(
            Q(id__in=_cadre_village_ids(scope.cadre_id))
            | Q(township_id__in=_cadre_township_ids(scope.cadre_id))
        )
    return villages.none()


def township_list_for_user(*, user) -> QuerySet[Township]:
    scope = scope_for_user(user)
    townships = Township.objects.select_related("county")
    if scope.is_city:
        return townships
    if scope.role == Role.COUNTY_OFFICIAL:
        return townships.filter(county_id=scope.county_id)
    if scope.role == Role.TOWNSHIP_OFFICIAL:
        return townships.filter(id=scope.township_id)
    if scope.is_cadre and scope.cadre_id:
        village_townships = Village.objects.filter(
            id__in=_cadre_village_ids(scope.cadre_id)
        ).values("township_id")
        return townships.filter(
            Q(id__in=village_townships) | Q(id__in=_cadre_township_ids(scope.cadre_id))
        )
    return townships.none()


def county_list_for_user(*, user) -> QuerySet[County]:
    scope = scope_for_user(user)
    if scope.is_city:
        return County.objects.all()
    if scope.role in (Role.COUNTY_OFFICIAL, Role.TOWNSHIP_OFFICIAL):
        return County.objects.filter(id=scope.county_id)
    if scope.is_cadre:
        return County.objects.filter(id__in=township_list_for_user(user=user).values("county_id"))
    return County.objects.none()


def assignment_list_for_user(*, user) -> QuerySet[Assignment]:
    """Assignments whose 联系点 lies in the user's area; a cadre sees only their own."""
    scope = scope_for_user(user)
    assignments = Assignment.objects.select_related(
        "cadre__work_unit", "village__township__county", "township__county"
    )
    if scope.is_city:
        return assignments
    if scope.is_cadre:
        return assignments.filter(cadre_id=scope.cadre_id) if scope.cadre_id else assignments.none()
    if scope.is_official:
        return assignments.filter(
            Q(village__in=village_list_for_user(user=user).values("pk"))
            | Q(township__in=township_list_for_user(user=user).values("pk"))
        )
    return assignments.none()


def cadre_list_for_user(*, user) -> QuerySet[Cadre]:
    """Cadres linked to the user's area (or sent by a unit of the user's county)."""
    scope = scope_for_user(user)
    cadres = Cadre.objects.select_related("work_unit")
    if scope.is_city:
        return cadres
    if scope.is_cadre:
        return cadres.filter(id=scope.cadre_id) if scope.cadre_id else cadres.none()
    if scope.is_official:
        linked = assignment_list_for_user(user=user).values("cadre_id")
        if scope.role == Role.COUNTY_OFFICIAL:
            return cadres.filter(Q(id__in=linked) | Q(work_unit__county_id=scope.county_id))
        return cadres.filter(id__in=linked)
    return cadres.none()


def work_unit_list_for_user(*, user) -> QuerySet[WorkUnit]:
    scope = scope_for_user(user)
    if scope.is_city:
        return WorkUnit.objects.all()
    return WorkUnit.objects.filter(
        Q(id__in=cadre_list_for_user(user=user).values("work_unit_id"))
        | (Q(county_id=scope.county_id) if scope.role == Role.COUNTY_OFFICIAL else Q(pk__in=[]))
    )


def branch_list_for_user(*, user) -> QuerySet[Branch]:
    scope = scope_for_user(user)
    branches = Branch.objects.select_related("township__county")
    if scope.is_city:
        return branches
    if scope.is_cadre:
        covered = RosterEntry.objects.filter(
            village__in=village_list_for_user(user=user).values("pk")
        ).values("branch_id")
        return branches.filter(id__in=covered)
    return branches.filter(township__in=township_list_for_user(user=user).values("pk"))


def roster_entry_list_for_user(*, user) -> QuerySet[RosterEntry]:
    return RosterEntry.objects.select_related("roster", "village", "branch").filter(
        village__in=village_list_for_user(user=user).values("pk")
    )


def user_role_list_for_user(*, user) -> QuerySet[UserRole]:
    """Roles are managed by city admins only; everyone else sees their own."""
    scope = scope_for_user(user)
    roles = UserRole.objects.select_related("user", "county", "township")
    if scope.role == Role.CITY_ADMIN:
        return roles
    return roles.filter(user_id=getattr(user, "pk", None))


def export_job_list_for_user(*, user) -> QuerySet[ExportJob]:
    """A user sees only the exports they started."""
    if not user.is_authenticated:
        return ExportJob.objects.none()
    return ExportJob.objects.filter(user_id=user.pk)


# ----- single objects: one 404 for "missing" and "not yours" -----


def village_get_for_user(*, user, village_id) -> Village:
    return get_object_or_404(village_list_for_user(user=user), pk=village_id)


def export_job_get_for_user(*, user, job_id) -> ExportJob:
    return get_object_or_404(export_job_list_for_user(user=user), pk=job_id)


def assignment_get_for_user(*, user, assignment_id) -> Assignment:
    return get_object_or_404(assignment_list_for_user(user=user), pk=assignment_id)


# ----- history -----


def assignment_history(*, user, assignment: Assignment) -> list[dict]:
    """The assignment's history and its cadre's (each entry naming which), newest first;
    404 outside the user's scope."""
    return newest_first(
        scoped_history(
            assignment_list_for_user(user=user),
            [assignment.pk],
            subjects={assignment.pk: "联系点安排"},
            created="安排",
        )
        + scoped_history(
            cadre_list_for_user(user=user),
            [assignment.cadre_id],
            subjects={assignment.cadre_id: "干部信息"},
        )
    )


# ----- what a user may change -----


def county_id_of(instance) -> int | None:
    """The county an object belongs to, for write checks (None: a city-wide record)."""
    if isinstance(instance, Township | WorkUnit):
        return instance.county_id
    if isinstance(instance, Village | Branch):
        return instance.township.county_id if instance.township_id else None
    if isinstance(instance, RosterEntry):
        return instance.village.township.county_id if instance.village_id else None
    if isinstance(instance, Cadre):
        return instance.work_unit.county_id if instance.work_unit_id else None
    if isinstance(instance, Assignment):
        if instance.village_id:
            return instance.village.township.county_id
        return instance.township.county_id if instance.township_id else None
    return None


def user_can_write_area(user, *, county_id: int | None, township_id: int | None = None) -> bool:
    """City admins write everywhere; county officials within their county; nobody else."""
    scope = scope_for_user(user)
    if scope.role == Role.CITY_ADMIN:
        return True
    if scope.role == Role.COUNTY_OFFICIAL and county_id is not None:
        return county_id == scope.county_id
    return False


# ----- aggregates for pages -----


def default_year() -> int:
    """The work year pages open on: the open programme year that holds today, else the
    newest year with assignments, else this year."""
    current = current_programme_year()
    if current is not None:
        return current
    latest = Assignment.objects.order_by("-year").values_list("year", flat=True).first()
    return latest or timezone.localdate().year


# ----- programme years -----


def programme_year_list() -> list[ProgrammeYear]:
    return list(ProgrammeYear.objects.order_by("-year"))


def programme_year_get(year: int) -> ProgrammeYear | None:
    return ProgrammeYear.objects.filter(year=year).first()


def open_programme_years() -> list[int]:
    return list(
        ProgrammeYear.objects.filter(status=ProgrammeYear.Status.OPEN)
        .order_by("-year")
        .values_list("year", flat=True)
    )


def closed_years() -> set[int]:
    return set(
        ProgrammeYear.objects.filter(status=ProgrammeYear.Status.CLOSED).values_list(
            "year", flat=True
        )
    )


def year_is_closed(year: int | None) -> bool:
    if year is None:
        return False
    return ProgrammeYear.objects.filter(year=year, status=ProgrammeYear.Status.CLOSED).exists()


def closed_year_refusal(year: int | None, *, what: str = "数据") -> str | None:
    """The Chinese refusal for a change dated in a closed year, or None."""
    if year_is_closed(year):
        return f"{year}年度已结账，不能再修改该年度的{what}；如确需修改，请市级管理员先重新开启该年度。"
    return None


def programme_year_overview() -> list[dict]:
    """Every programme year with its roster size and how its links were carried forward
    (city admins' 年度管理 page). Three grouped queries."""
    entries = dict(
        RosterEntry.objects.values_list("roster__year").annotate(n=Count("pk")).order_by()
    )
    decisions: dict[int, dict[str, int]] = defaultdict(dict)
    for year, decision, n in (
        AssignmentProposal.objects.values_list("year", "decision")
        .annotate(n=Count("pk"))
        .order_by()
    ):
        decisions[year][decision] = n
    return [
        {"py": py, "villages": entries.get(py.year, 0), "proposals": decisions.get(py.year, {})}
        for py in programme_year_list()
    ]


def programme_year_history(*, user, year: int) -> list[dict]:
    """The year's status changes (opened, closed, reopened with the reason); city admins
    only (a 404 for anyone else)."""
    if scope_for_user(user).role != Role.CITY_ADMIN:
        raise Http404("不存在，或不在您的管辖范围内。")
    py = get_object_or_404(ProgrammeYear, year=year)
    return newest_first(
        scoped_history(
            ProgrammeYear.objects.all(), [py.pk], subjects={py.pk: f"{year}年度"}, created="开启"
        )
    )


def proposal_list_for_user(*, user, year: int) -> QuerySet[AssignmentProposal]:
    """The links carried into `year` whose 联系点 lies in the user's area (city: all;
    county official: the county; township official: the township's, to look at)."""
    scope = scope_for_user(user)
    rows = AssignmentProposal.objects.filter(year=year).select_related(
        "cadre__work_unit", "village__township", "township", "county", "assignment"
    )
    if scope.is_city:
        return rows
    if scope.role == Role.COUNTY_OFFICIAL:
        return rows.filter(county_id=scope.county_id)
    if scope.role == Role.TOWNSHIP_OFFICIAL:
        return rows.filter(
            Q(township_id=scope.township_id) | Q(village__township_id=scope.township_id)
        )
    return rows.none()


def proposal_get_for_user(*, user, year: int, proposal_id) -> AssignmentProposal:
    return get_object_or_404(proposal_list_for_user(user=user, year=year), pk=proposal_id)


def proposal_counts(rows: QuerySet[AssignmentProposal]) -> dict[str, int]:
    counts = dict.fromkeys(AssignmentProposal.Decision.values, 0)
    for decision, n in rows.values_list("decision").annotate(n=Count("pk")).order_by():
        counts[decision] = n
    return counts


def proposal_targets(*, user, proposal: AssignmentProposal) -> QuerySet:
    """What a proposal may be changed to: the villages of its county in its year's roster
    (帮村), or its county's townships (联乡), within the user's area."""
    if proposal.kind == Assignment.Kind.VILLAGE:
        return (
            village_list_for_user(user=user)
            .filter(
                township__county_id=proposal.county_id,
                roster_entries__roster__year=proposal.year,
            )
            .select_related("township")
            .order_by("code")
        )
    return township_list_for_user(user=user).filter(county_id=proposal.county_id).order_by("code")


def current_programme_year(today=None) -> int | None:
    """The open programme year that holds today; else the newest open year before
    today's (a new year not yet opened in early January); else None."""
    return year_holding(today or timezone.localdate(), open_programme_years())


def year_holding(today, open_years) -> int | None:
    """Of `open_years`, the one that holds `today`, else the newest before it."""
    return max((y for y in open_years if y <= today.year), default=None)


def roster_years() -> list[int]:
    return list(Roster.objects.order_by("-year").values_list("year", flat=True))


def township_overview_for_user(*, user, year: int) -> list[dict]:
    """Per visible township: villages, communities, assigned cadres and villages with no
    帮村 cadre in `year`. Four grouped queries, whatever the number of townships."""
    townships = list(township_list_for_user(user=user).order_by("code"))
    villages = village_list_for_user(user=user)
    by_kind = villages.values("township_id", "kind").annotate(n=Count("id")).order_by()
    year_assignments = Assignment.objects.filter(year=year)
    covered = year_assignments.filter(kind=Assignment.Kind.VILLAGE).values("village_id")
    uncovered = (
        villages.exclude(id__in=covered).values("township_id").annotate(n=Count("id")).order_by()
    )
    cadres = (
        year_assignments.filter(
            Q(village__in=villages.values("pk")) | Q(township__in=[t.pk for t in townships])
        )
        .annotate(area_township=Coalesce("village__township_id", "township_id"))
        .values("area_township")
        .annotate(n=Count("cadre_id", distinct=True))
        .order_by()
    )
    rows = {
        t.pk: {
            "township": t,
            "villages": 0,
            "communities": 0,
            "cadres": 0,
            "uncovered": 0,
        }
        for t in townships
    }
    for item in by_kind:
        row = rows.get(item["township_id"])
        if row is None:
            continue
        key = "villages" if item["kind"] == Village.Kind.VILLAGE else "communities"
        row[key] += item["n"]
    for item in uncovered:
        if item["township_id"] in rows:
            rows[item["township_id"]]["uncovered"] = item["n"]
    for item in cadres:
        if item["area_township"] in rows:
            rows[item["area_township"]]["cadres"] = item["n"]
    return list(rows.values())


def cadre_contact_points(*, user, year: int | None = None) -> list[Assignment]:
    """The signed-in cadre's 联系点 for `year` (default: their newest year)."""
    scope = scope_for_user(user)
    if not scope.cadre_id:
        return []
    mine = Assignment.objects.filter(cadre_id=scope.cadre_id).select_related(
        "village__township__county", "township__county"
    )
    if year is None:
        year = mine.order_by("-year").values_list("year", flat=True).first()
    return list(mine.filter(year=year).order_by("kind", "start_date"))


def village_assignments(*, user, village: Village) -> list[Assignment]:
    """Cadres linked to a visible village: its 帮村 cadres and its township's 联乡 cadres."""
    return list(
        assignment_list_for_user(user=user)
        .filter(Q(village=village) | Q(township_id=village.township_id))
        .order_by("-year", "kind", "cadre__name")
    )


def village_roster_entries(*, village: Village) -> list[RosterEntry]:
    return list(
        RosterEntry.objects.filter(village=village)
        .select_related("roster", "branch")
        .order_by("-roster__year")
    )


def import_job_list_for_user(*, user) -> QuerySet[ImportJob]:
    """City admins see every import; a county official sees the imports of their county."""
    scope = scope_for_user(user)
    jobs = ImportJob.objects.select_related("user", "county")
    if scope.role == Role.CITY_ADMIN:
        return jobs
    if scope.role == Role.COUNTY_OFFICIAL:
        return jobs.filter(county_id=scope.county_id)
    return jobs.none()


def import_job_get_for_user(*, user, job_id, with_preview: bool = True) -> ImportJob:
    """One import of the user's area, or 404. `with_preview=False` leaves the stored
    preview (every issue of the file, megabytes for a large file) in the database, for the
    requests that never show it: the progress polls and the workbook download."""
    jobs = import_job_list_for_user(user=user)
    if not with_preview:
        jobs = jobs.defer("preview")
    return get_object_or_404(jobs, pk=job_id)


OVERVIEW_KEYS = ("villages", "communities", "cadres", "uncovered")


def area_overview_for_user(*, user, year: int, county_id: int | None = None) -> dict:
    """The official's home page in one piece: per-township rows (narrowed to one visible
    county when asked), their totals, and for city-wide users per-county rows."""
    rows = township_overview_for_user(user=user, year=year)
    if county_id is not None:
        rows = [r for r in rows if r["township"].county_id == county_id]
    totals = {key: sum(r[key] for r in rows) for key in OVERVIEW_KEYS}
    county_rows = []
    if scope_for_user(user).is_city and county_id is None:
        by_county: dict = {}
        for row in rows:
            county = row["township"].county
            item = by_county.setdefault(
                county.pk, {"county": county, "townships": 0, **dict.fromkeys(OVERVIEW_KEYS, 0)}
            )
            item["townships"] += 1
            for key in OVERVIEW_KEYS:
                item[key] += row[key]
        county_rows = sorted(by_county.values(), key=lambda item: item["county"].code)
    return {"rows": rows, "totals": totals, "county_rows": county_rows}


# ----- village locations -----


def location_list_for_user(*, user) -> QuerySet[Village]:
    """村庄位置: the villages of an official's (or the city's) area that have no coordinate
    yet, with their learned proposal if any. Nothing for cadres and logins without a role."""
    scope = scope_for_user(user)
    if not (scope.is_city or scope.is_official):
        return Village.objects.none()
    return (
        village_list_for_user(user=user)
        .filter(latitude__isnull=True)
        .select_related("township__county", "location_proposal")
        .order_by("code")
    )


def location_village_get_for_user(*, user, village_id) -> Village:
    """One village of `location_list_for_user`'s area (with or without a coordinate), or
    404 whether it is missing, out of the area, or the user may not decide locations."""
    scope = scope_for_user(user)
    if not (scope.is_city or scope.is_official):
        raise Http404("不存在，或不在您的管辖范围内。")
    return get_object_or_404(
        village_list_for_user(user=user).select_related("township__county", "location_proposal"),
        pk=village_id,
    )


def location_can_decide(user, village: Village) -> bool:
    """City admins, and the county or township officials whose area holds `village`."""
    scope = scope_for_user(user)
    if scope.role == Role.CITY_ADMIN:
        return True
    if scope.role == Role.COUNTY_OFFICIAL:
        return village.township.county_id == scope.county_id
    if scope.role == Role.TOWNSHIP_OFFICIAL:
        return village.township_id == scope.township_id
    return False
