"""The world the leak walker (test_leak_walker.py) walks in: the two counties of
tests/conftest.py `build_area()`, with an object of every model that has a URL placed in
each of a few places, and the eight portal logins.

Places form a tree. Each one except the city carries a marker string (e.g. 泄露检查乙一村)
that is written into the names and texts of everything placed there, so a page, a JSON
answer or a workbook that shows something of a place the reader may not see is caught by
a plain substring search.

    city ─┬─ A 甲县 ─┬─ A1 甲一镇 ─┬─ a1v1 (the cadre's village)
          │          │             └─ a1v2
          │          └─ A2 甲二街道 ── a2v1 (a village of the 联乡 cadre's township)
          └─ B 乙县 ─── B1 乙一乡 ──── b1v1

Who covers what (the portal's scoping rules, README "Scoping has one door"):
city admin and city viewer the whole city; the county official county A; the other
county's official county B; the township official township A1; the cadre village a1v1
(帮村); the township-level cadre the villages of township A2 (联乡); a login without a role
nothing.
"""

from __future__ import annotations

import datetime
import io
from dataclasses import dataclass, field

from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import Workbook

YEAR = 2024
D = datetime.date

# place -> (parent, marker); the city has no marker: what is city-wide is shown to everyone
PLACES: dict[str, tuple[str | None, str]] = {
    "city": (None, ""),
    "A": ("city", "泄露检查甲县"),
    "A1": ("A", "泄露检查甲一镇"),
    "a1v1": ("A1", "泄露检查甲一村"),
    "a1v2": ("A1", "泄露检查甲一二村"),
    "A2": ("A", "泄露检查甲二街道"),
    "a2v1": ("A2", "泄露检查甲二村"),
    "B": ("city", "泄露检查乙县"),
    "B1": ("B", "泄露检查乙一乡"),
    "b1v1": ("B1", "泄露检查乙一村"),
}
VILLAGE_PLACES = ("a1v1", "a1v2", "a2v1", "b1v1")
TOWNSHIP_PLACES = {"A1": "A1", "A2": "A2", "B1": "B1"}

# role -> the places it covers (None: nothing). A 联乡 cadre covers the villages of the
# township, not the township's own records, so its area is the village a2v1 here.
ROLE_AREAS: dict[str, tuple[str, ...]] = {
    "city_admin": ("city",),
    "city_viewer": ("city",),
    "county_official": ("A",),
    "other_county_official": ("B",),
    "township_official": ("A1",),
    "cadre_user": ("a1v1",),
    "township_cadre_user": ("a2v1",),
    "no_role_user": (),
}
ROLES = tuple(ROLE_AREAS)
CADRE_ROLES = ("cadre_user", "township_cadre_user")
STAFF_ROLES = (
    "city_admin",
    "city_viewer",
    "county_official",
    "other_county_official",
    "township_official",
)


def ancestors(place: str) -> list[str]:
    """`place` and every place above it, nearest first."""
    chain = []
    while place is not None:
        chain.append(place)
        place = PLACES[place][0]
    return chain


def relation(place: str, role: str) -> str:
    """How a place stands to a role: "own" (inside the role's area; what is city-wide,
    such as the star types or the year's targets, is every login's), "above" (a place
    holding part of the area) or "other" (disjoint: the role must not see it)."""
    area = ROLE_AREAS[role]
    if place == "city" or any(a in ancestors(place) for a in area):
        return "own"
    if any(place in ancestors(a) for a in area):
        return "above"
    return "other"


def forbidden_markers(role: str, users: dict) -> dict[str, str]:
    """marker -> whose it is, for everything the role must not see: the places outside
    its area, and the other logins' exports."""
    found = {
        marker: place
        for place, (_, marker) in PLACES.items()
        if marker and relation(place, role) == "other"
    }
    for other, user in users.items():
        if other != role:
            found[export_marker(user)] = f"the export of {other}"
    return found


def export_marker(user) -> str:
    """Written into each login's own export job: no other login may see it."""
    return f"泄露检查导出〈{user.username}〉"


def mark(place: str, text: str) -> str:
    return f"{PLACES[place][1]}{text}"


@dataclass
class Placed:
    """One object of the world: where it is and, for records a cadre sees only when they
    are theirs (their cadre record, assignments and visits), which cadre it belongs to;
    for per-login records (export jobs, roles, logins, tokens), which login."""

    obj: object
    place: str
    cadre: object = None
    owner: object = None


@dataclass
class World:
    area: object
    users: dict
    placed: dict = field(default_factory=dict)  # model -> [Placed]

    def add(self, obj, place: str, *, cadre=None, owner=None) -> None:
        self.placed.setdefault(type(obj), []).append(Placed(obj, place, cadre, owner))

    def objects_of(self, model) -> list[Placed]:
        return self.placed.get(model, [])


# Records a cadre sees only when they are theirs, wherever they lie (README: "a cadre
# sees ... only their own assignments"; visits: a cadre's own visits).
CADRE_OWN_ONLY = ("Cadre", "Assignment", "Visit", "VisitPhoto", "AssignmentProposal")
# Records of one login: only that login sees them, city-wide roles included ("a user sees
# only the exports they started").
OWNER_ONLY = ("ExportJob", "CredentialSheet")
# Records of one login that city admins manage for everyone.
OWNER_OR_CITY_ADMIN = (
    "UserRole",
    "Token",
    "TokenProxy",
    "User",
    "AccessLog",
    "AccessAttempt",
    "AccessFailureLog",
)


def classify(item: Placed, role: str, users: dict) -> str:
    """How `role` stands to `item`: "own", "other" or "unchecked"."""
    name = type(item.obj).__name__
    user = users[role]
    if name in OWNER_ONLY or (name in OWNER_OR_CITY_ADMIN and role != "city_admin"):
        if item.owner is not None:
            return "own" if item.owner == user else "other"
    place = relation(item.place, role)
    if role in CADRE_ROLES and name in CADRE_OWN_ONLY and place != "other":
        cadre = getattr(user, "cadre", None)
        return "own" if item.cadre is not None and item.cadre == cadre else "unchecked"
    return {"own": "own", "other": "other"}.get(place, "unchecked")


# ----- building it -----


def _png() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 30, 30)).save(buffer, format="JPEG")
    return buffer.getvalue()


def _village_workbook(villages) -> SimpleUploadedFile:
    """The villages roster layout, one row per village, as an upload, and the first village
    once more: an error, so the job has an annotated workbook to download."""
    from villages.exports import VILLAGE_HEADERS, village_row

    book = Workbook()
    sheet = book.active
    sheet.append(list(VILLAGE_HEADERS))
    for village in [*villages, villages[0]]:
        sheet.append(["" if v is None else v for v in village_row(village)])
    data = io.BytesIO()
    book.save(data)
    return SimpleUploadedFile(f"{villages[0].name}.xlsx", data.getvalue())


def build_world() -> World:
    """Build everything (a few hundred rows; about a second)."""
    from axes.models import AccessAttempt, AccessFailureLog, AccessLog
    from rest_framework.authtoken.models import Token

    from core.jobs import export_job_run, import_job_annotate, import_job_validate
    from core.models import ExportJob
    from dashboards.models import Target
    from dashboards.services import compute_snapshots
    from disputes.models import SanlingRule, SanlingStatus, ZeroReport
    from disputes.services import sanling_recompute
    from stars.models import (
        RatingYear,
        StarAward,
        StarAwardEvent,
        StarSettings,
        StarTask,
        StarType,
    )
    from stars.schemes import ensure_star_types
    from tests.conftest import build_area, build_users
    from tests.disputes.factories import (
        DisputeFactory,
        HazardFactory,
        IncidentFactory,
        PetitionFactory,
        UnitFactory,
    )
    from tests.factories import AssignmentFactory, CadreFactory, WorkUnitFactory
    from tests.stars.factories import WeakCaseFactory
    from tests.visits.helpers import ProblemFactory, VisitFactory, WorkdayRuleFactory
    from villages.demo import role_groups
    from villages.models import AssignmentProposal, ProgrammeYear, UserRole
    from villages.services import import_job_create
    from visits.models import VisitEvent, VisitPhoto

    ensure_star_types(StarType, StarTask)
    area = build_area()
    users = build_users(area)
    users.pop("anonymous")
    users.pop("superuser")
    world = World(area=area, users=users)

    # ----- logins as the demo makes them: officials use the admin, city admins are superusers
    groups = role_groups()
    for role in STAFF_ROLES:
        user = users[role]
        user.is_staff = True
        user.is_superuser = role == "city_admin"
        user.save(update_fields=["is_staff", "is_superuser"])
        user.groups.add(groups[UserRole.objects.get(user=user).role])
    for group in groups.values():
        world.add(group, "city")

    # ----- the hierarchy, renamed with the markers
    places_of_county = {"A": area.county_a, "B": area.county_b}
    for place, county in places_of_county.items():
        county.name = mark(place, "")
        county.save(update_fields=["name"])
        world.add(county, place)
    for place, key in TOWNSHIP_PLACES.items():
        township = area.townships[key]
        township.name = mark(place, "")
        township.save(update_fields=["name"])
        world.add(township, place)
    villages = {p: area.villages[p] for p in VILLAGE_PLACES}
    for place, village in villages.items():
        village.name = mark(place, "")
        village.secretary_name = mark(place, "书记")
        village.save(update_fields=["name", "secretary_name"])
        world.add(village, place)
        branch = area.branches[place]
        branch.name = mark(place, "党支部")
        branch.save(update_fields=["name"])
        world.add(branch, place)
        world.add(area.entries[place], place)
    world.add(area.roster, "city")
    # The cadre `cross` works in county B; county B sees them with the unit that sent them
    # (and its county), by design. Send them from a city unit, so that county A's marker
    # does not reach county B that way.
    cross = area.cadres["cross"]
    cross.work_unit = WorkUnitFactory(name="市跨县派出单位", level="city")
    cross.save(update_fields=["work_unit"])
    # the city unit sends the 联乡 cadre of A2: it is seen where that cadre works
    for place, key in (("A", "A"), ("B", "B"), ("A2", "city")):
        unit = area.units[key]
        unit.name = mark(place, "派出单位")
        unit.save(update_fields=["name"])
        world.add(unit, place)

    # ----- cadres: one 帮村 cadre per village place, and the 联乡 cadre of A2
    county_level = "county"
    cadres = {
        "a1v1": area.cadres["a1v1"],
        "a1v2": CadreFactory(work_unit=area.units["A"], level=county_level),
        "a2v1": CadreFactory(work_unit=area.units["A"], level=county_level),
        "b1v1": area.cadres["b1v1"],
    }
    assignments = {"a1v1": area.assignments["a1v1"], "b1v1": area.assignments["b1v1"]}
    for place in ("a1v2", "a2v1"):
        assignments[place] = AssignmentFactory(cadre=cadres[place], village=villages[place])
    for place, cadre in cadres.items():
        cadre.name = mark(place, "干部")[:30]
        cadre.save(update_fields=["name"])
        world.add(cadre, place, cadre=cadre)
        world.add(assignments[place], place, cadre=cadre)
    township_cadre = area.cadres["lx_a2"]
    township_cadre.name = mark("A2", "联乡干部")
    township_cadre.save(update_fields=["name"])
    world.add(township_cadre, "A2", cadre=township_cadre)
    world.add(area.assignments["lx_a2"], "A2", cadre=township_cadre)

    # ----- 联系点延续: the year is open and each village's link waits for its county
    world.add(ProgrammeYear.objects.create(year=YEAR), "city")
    for place, village in villages.items():
        source = assignments[place]
        proposal = AssignmentProposal.objects.create(
            year=YEAR,
            source=source,
            cadre=source.cadre,
            kind="village",
            county=village.township.county,
            village=village,
        )
        # the county decides: a cadre is shown none, their own included (no cadre= here)
        world.add(proposal, place)

    # ----- logins and what belongs to one login
    role_places = {role: (ROLE_AREAS[role] or ("city",))[0] for role in ROLES}
    for role, user in users.items():
        place = role_places[role]
        world.add(user, place, owner=user)
        token = Token.objects.create(user=user)
        world.add(token, place, owner=user)
        role_row = UserRole.objects.filter(user=user).first()
        if role_row is not None:
            world.add(role_row, place, owner=user)

    # ----- sign-in records (django-axes), seen by superusers only
    def signed_in(user) -> dict:
        return {"username": user.username, "ip_address": "127.0.0.1", "user_agent": "walker"}

    for user in users.values():
        world.add(AccessLog.objects.create(**signed_in(user)), "city", owner=user)
    stranger = users["no_role_user"]
    attempt = AccessAttempt.objects.create(failures_since_start=1, **signed_in(stranger))
    world.add(attempt, "city", owner=stranger)
    world.add(AccessFailureLog.objects.create(**signed_in(stranger)), "city", owner=stranger)

    # ----- 双十工作日: a visit (with a photo and its events) and a problem per village;
    # the visit in A2 is the 联乡 cadre's
    visit_cadres = dict(cadres, a2v1=township_cadre)
    for place, village in villages.items():
        cadre = visit_cadres[place]
        visit = VisitFactory(
            cadre=cadre,
            village=village,
            notes=mark(place, "走访记录"),
            created_by=cadre.user,
        )
        VisitEvent.objects.create(visit=visit, action="submit", actor=cadre.user)
        photo = VisitPhoto(visit=visit)
        photo.image.save("photo.jpg", ContentFile(_png()), save=True)
        world.add(visit, place, cadre=cadre)
        world.add(photo, place, cadre=cadre)
        world.add(ProblemFactory(village=village, description=mark(place, "问题")), place)
    world.add(WorkdayRuleFactory(note="泄露检查无关规则"), "city")
    rule = SanlingRule.objects.create(effective_from=D(YEAR + 1, 1, 1), note="泄露检查无关规则")
    world.add(rule, "city")

    # ----- 五星支部: an award in the chain (with its 申报 event) and a 软弱涣散 case
    star = StarType.objects.get(scheme="rural", code="branch")
    for place in VILLAGE_PLACES:
        award = StarAward.objects.create(
            branch=area.branches[place], year=YEAR, star_type=star, state="applied"
        )
        StarAwardEvent.objects.create(
            award=award,
            step="apply",
            comment=mark(place, "申报意见"),
            at=datetime.datetime(YEAR, 3, 1, 9, tzinfo=datetime.UTC),
        )
        world.add(award, place)
        case = WeakCaseFactory(branch=area.branches[place], situation=mark(place, "整顿情况"))
        world.add(case, place)
    for star_type in StarType.objects.all():
        world.add(star_type, "city")
    world.add(RatingYear.objects.create(year=YEAR, note="泄露检查无关年度"), "city")
    world.add(StarSettings.objects.create(pk=1), "city")

    # ----- 三零: a record of each ledger, a unit and a 零报告 per village, a unit per township
    units = {}
    for place, village in villages.items():
        world.add(
            DisputeFactory(village=village, summary=mark(place, "纠纷"), parties=mark(place, "甲")),
            place,
        )
        world.add(
            PetitionFactory(
                village=village, subject=mark(place, "信访"), petitioner_name=mark(place, "人")
            ),
            place,
        )
        world.add(IncidentFactory(village=village, summary=mark(place, "事故")), place)
        world.add(HazardFactory(village=village, hazard=mark(place, "隐患")), place)
        units[place] = UnitFactory(village=village, name=mark(place, "学校"))
        world.add(units[place], place)
        report = ZeroReport.objects.create(
            village=village, month=D(YEAR, 3, 1), note=mark(place, "零报告")
        )
        world.add(report, place)
    for place, key in TOWNSHIP_PLACES.items():
        township = area.townships[key]
        world.add(UnitFactory(village=None, township=township, name=mark(place, "工厂")), place)
    sanling_recompute(year=YEAR)
    for place, village in villages.items():
        status = SanlingStatus.objects.get(year=YEAR, village=village)
        status.override = "met"
        status.override_reason = mark(place, "认定理由")
        status.save(update_fields=["override", "override_reason"])
        world.add(status, place)
        world.add(SanlingStatus.objects.get(year=YEAR, unit=units[place]), place)

    # ----- imports (a county official's each) and exports (one per login, already built)
    for role, place in (("county_official", "A"), ("other_county_official", "B")):
        own = [v for p, v in villages.items() if relation(p, role) == "own"]
        job = import_job_create(actor=users[role], kind="villages", upload=_village_workbook(own))
        import_job_validate(job_id=job.pk)
        # the annotated workbook is the job's next step (queued on commit, which a world
        # built inside one transaction never reaches): run it, so its download is walked too
        world.add(import_job_annotate(job_id=job.pk), place)
    for user in users.values():
        job = ExportJob.objects.create(kind="villages", user=user, error=export_marker(user))
        export_job_run(job_id=job.pk)
        world.add(ExportJob.objects.get(pk=job.pk), "city", owner=user)

    # ----- dashboards: a target, the snapshots of the year
    world.add(
        Target.objects.create(
            year=YEAR, indicator="visits", comparison="gte", threshold=1, note="泄露检查无关目标"
        ),
        "city",
    )
    compute_snapshots(year=YEAR)

    # ----- 账号管理: an account for each cadre's login (the cadres of a1v2, a2v1 and b1v1 get
    # logins opened without a password), and a township official of B1; each county official
    # hands out the first passwords of their county (a sheet only they may read)
    _accounts(world, cadres)

    # ----- the admin's history pages need an entry: rows written in bulk have none yet
    for items in world.placed.values():
        for item in items:
            history = getattr(type(item.obj), "history", None)
            if history is not None and not history.filter(pk=item.obj.pk).exists():
                item.obj.save()
    return world


def _accounts(world: World, cadres: dict) -> None:
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from accounts.models import Account, AccountEvent, CredentialSheet
    from accounts.services import credentials_issue
    from villages.models import UserRole

    users, now = world.users, timezone.now()
    User = get_user_model()
    logins = {"a1v1": users["cadre_user"], "A2": users["township_cadre_user"]}
    for place in ("a1v2", "a2v1", "b1v1"):
        login = User(username=f"walker_{place}", first_name=cadres[place].name)
        login.set_unusable_password()  # opened by the roster import, no password yet
        login.save()
        UserRole.objects.create(user=login, role=UserRole.Role.CADRE)
        cadres[place].user = login
        cadres[place].save(update_fields=["user"])
        logins[place] = login
    official = User.objects.create_user(
        "walker_b1", password="test-pass-123", first_name=mark("B1", "乡级干部")
    )
    UserRole.objects.create(
        user=official,
        role=UserRole.Role.TOWNSHIP_OFFICIAL,
        township=world.area.townships["B1"],
    )
    logins["B1"] = official
    for place, login in logins.items():
        issued = now if login.has_usable_password() else None
        world.add(Account.objects.create(user=login, first_password_issued_at=issued), place)
    # the walk outlasts CREDENTIAL_SHEET_MINUTES: the sheets stay readable throughout
    for role, place in (("county_official", "A"), ("other_county_official", "B")):
        sheet = credentials_issue(actor=users[role])
        CredentialSheet.objects.filter(pk=sheet.pk).update(expires_at=now + datetime.timedelta(1))
        world.add(CredentialSheet.objects.get(pk=sheet.pk), place, owner=users[role])
    place_of = {login.pk: place for place, login in logins.items()}
    for event in AccountEvent.objects.all():
        world.add(event, place_of.get(event.user_id, "city"))
