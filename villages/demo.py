"""Demo data for the village hierarchy: Xuchang's real 2023 roster plus what the plan adds.

Deterministic for a given seed and scale, and idempotent: rows are matched on natural
keys (codes, unit names, phone numbers, usernames) and only missing or different rows are
written, so a second run writes nothing.
"""

from __future__ import annotations

import csv
import datetime
import hashlib
import random
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.db import transaction
from django.utils import timezone

from core.importing.normalise import village_name
from villages.auth import forget_logins
from villages.models import (
    Assignment,
    AssignmentProposal,
    Branch,
    Cadre,
    County,
    LocationSource,
    ProgrammeYear,
    Roster,
    RosterEntry,
    Township,
    UserRole,
    Village,
    WorkUnit,
)
from villages.outlines import inside_point

DATA_DIR = Path(__file__).resolve().parent / "data"
DEMO_PASSWORD = "demo12345"
PLAN_YEAR = 2023
URBAN_COMMUNITIES = 177
JOINT_BRANCHES = 67  # 2,529 villages and communities, 2,462 branches in 2023
PEIZHUANG = "411024107225"

COUNTY_KINDS = {
    "411002": County.Kind.DISTRICT,
    "411003": County.Kind.DISTRICT,
    "411024": County.Kind.COUNTY,
    "411025": County.Kind.COUNTY,
    "411071": County.Kind.ZONE,
    "411081": County.Kind.CITY,
    "411082": County.Kind.CITY,
}
COUNTY_SHORT = {"411071": "经开区"}

# 24 units the plan counts beyond the statistical roster: new communities in 东城区 and
# the urban districts. The last three only appear from 2023 on.
ADDED_COMMUNITIES = {
    "411002570": [
        "芙蓉社区",
        "学府苑社区",
        "祥和社区",
        "湖滨社区",
        "德馨社区",
        "春晖社区",
        "明德社区",
        "鹿鸣社区",
        "清潩社区",
        "永宁社区",
        "龙腾社区",
        "锦园社区",
    ],
    "411002013": ["魏风社区", "建业社区"],  # 灞陵街道
    "411002015": ["曹魏社区", "北海社区"],  # 魏北街道
    "411003001": ["许由新村社区", "昌平社区"],  # 许由街道
    "411003002": ["潩水湾社区", "望湖社区"],
    "411003004": ["和鸣社区", "康庄社区", "瑞昌社区", "兴业社区"],
}
NEW_IN_2023 = 3

CITY_UNITS = [
    "市委组织部",
    "市委宣传部",
    "市委政法委",
    "市委统战部",
    "市纪委监委",
    "市发展和改革委员会",
    "市教育局",
    "市科学技术局",
    "市工业和信息化局",
    "市公安局",
    "市民政局",
    "市司法局",
    "市财政局",
    "市人力资源和社会保障局",
    "市自然资源和规划局",
    "市生态环境局",
    "市住房和城乡建设局",
    "市城市管理局",
    "市交通运输局",
    "市水利局",
    "市农业农村局",
    "市商务局",
    "市文化广电和旅游局",
    "市卫生健康委员会",
    "市退役军人事务局",
    "市应急管理局",
    "市审计局",
    "市市场监督管理局",
    "市统计局",
    "市医疗保障局",
    "市信访局",
    "市林业局",
    "市供销合作社",
    "市总工会",
    "团市委",
    "市妇联",
    "市科协",
    "市气象局",
    "市中心医院",
    "国网许昌供电公司",
]
COUNTY_UNITS = [
    "委组织部",
    "委宣传部",
    "委政法委",
    "发展和改革委员会",
    "教育局",
    "公安局",
    "民政局",
    "司法局",
    "财政局",
    "人力资源和社会保障局",
    "自然资源局",
    "生态环境分局",
    "住房和城乡建设局",
    "交通运输局",
    "水利局",
    "农业农村局",
    "商务局",
    "文化广电和旅游局",
    "卫生健康委员会",
    "应急管理局",
    "市场监督管理局",
    "医疗保障局",
    "信访局",
    "供销合作社",
]
SURNAMES = (
    "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕"
    "苏卢蒋蔡贾丁魏薛叶阎余潘杜戴夏钟汪田任姜范方石姚谭廖邹熊金陆郝孔白崔康毛邱秦江史"
)
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰涛明超秀霞平刚桂英华建国红玉兰春梅海波鹏飞斌辉宇浩凯俊帅新亮"
POSITIONS = ["科员", "一级科员", "四级主任科员", "三级主任科员", "副科长", "科长", "副主任"]
CITY_LEADER_POSITIONS = ["副市长", "市委常委", "市人大常委会副主任", "市政协副主席"]


def _township_kind(name: str) -> str:
    if name.endswith("街道"):
        return Township.Kind.SUBDISTRICT
    if name.endswith("镇"):
        return Township.Kind.TOWN
    if name.endswith("乡"):
        return Township.Kind.TOWNSHIP
    return Township.Kind.ZONE


def _read(name: str) -> list[dict]:
    with open(DATA_DIR / name, encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


@dataclass
class SyncStats:
    created: dict = field(default_factory=lambda: defaultdict(int))
    updated: dict = field(default_factory=lambda: defaultdict(int))
    # lines the command prints after the demo logins (e.g. where the other logins are)
    notes: list = field(default_factory=list)

    @property
    def changed(self) -> int:
        return sum(self.created.values()) + sum(self.updated.values())


def _sync(model, key_fields: tuple[str, ...], rows: list[dict], stats: SyncStats) -> dict:
    """Upsert `rows` (dicts of field values incl. FK *_id) matched on `key_fields`.

    Writes only rows that are missing or differ. Returns {key: pk}.
    """
    fields = [f for f in rows[0] if f not in key_fields] if rows else []
    existing = {
        tuple(obj[k] for k in key_fields): obj
        for obj in model.objects.values("pk", *key_fields, *fields)
    }
    to_create, to_update = [], []
    for row in rows:
        key = tuple(row[k] for k in key_fields)
        current = existing.get(key)
        if current is None:
            to_create.append(model(**row))
        elif any(current[f] != row[f] for f in fields):
            to_update.append(model(pk=current["pk"], **row))
    if to_create:
        model.objects.bulk_create(to_create, batch_size=1000)
        stats.created[model._meta.verbose_name] += len(to_create)
    if to_update:
        model.objects.bulk_update(to_update, fields, batch_size=1000)
        stats.updated[model._meta.verbose_name] += len(to_update)
    return {
        tuple(obj[k] for k in key_fields): obj["pk"]
        for obj in model.objects.values("pk", *key_fields)
    }


# 许昌经济技术开发区 has no outline of its own in the vendored map: its demo villages lie
# within 5 km of a point in its area south-east of the city centre, inside 建安区's outline.
DEMO_AREA_NEAR = {"411071": ("建安区", (33.975, 113.855, 5.0))}


def demo_location(code: str, county_code: str, county_name: str) -> tuple[Decimal, Decimal] | None:
    """A plausible coordinate (WGS-84, six places) for a demo village: a point inside its
    county's outline, drawn from a hash of its code, so a village keeps its point from run
    to run and whatever else the demo changes. None for a county without an outline."""
    name, near = DEMO_AREA_NEAR.get(county_code, (county_name, None))
    digest = hashlib.sha256(f"demo-location/{code}".encode()).digest()
    u = int.from_bytes(digest[:8], "big") / 2**64
    point = inside_point(name, u, near=near)
    if point is None:
        return None
    return tuple(Decimal(f"{value:.6f}") for value in point)


def _person_name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))


@dataclass
class DemoVillage:
    code: str
    name: str
    official_name: str
    kind: str
    township_code: str
    in_statistical_roster: bool
    since_2023: bool = False


def _plan_villages(rng: random.Random, scale: int) -> list[DemoVillage]:
    townships = {t["code"]: t for t in _read("xuchang_2023_townships.csv")}
    raw = _read("xuchang_2023_villages.csv")
    villages: list[DemoVillage] = []
    for r in raw:
        # The import reads a name with the same function, so the NBS roster re-imports
        # into the demo with no change.
        names = village_name(r["name"])
        kind = Village.Kind.VILLAGE if names.is_village else Village.Kind.RURAL_COMMUNITY
        villages.append(
            DemoVillage(
                code=r["code"],
                name=names.name,
                official_name=r["name"],
                kind=kind,
                township_code=r["township_code"],
                in_statistical_roster=True,
            )
        )
    _mark_urban(villages, townships)

    used = defaultdict(set)
    for v in villages:
        used[v.township_code].add(v.code[9:])
    added = [(t, n) for t, names in ADDED_COMMUNITIES.items() for n in names]
    for index, (township_code, name) in enumerate(added):
        serial = _free_serial(used[township_code], start=901)
        villages.append(
            DemoVillage(
                code=township_code + serial,
                name=name,
                official_name="",
                kind=Village.Kind.RURAL_COMMUNITY,
                township_code=township_code,
                in_statistical_roster=False,
                since_2023=index >= len(added) - NEW_IN_2023,
            )
        )

    if scale > 1:
        originals = list(villages)
        for k in range(2, scale + 1):
            for v in originals:
                serial = _free_serial(used[v.township_code], start=1)
                villages.append(
                    DemoVillage(
                        code=v.township_code + serial,
                        name=f"{v.name}（扩{k}）",
                        official_name="",
                        kind=v.kind,
                        township_code=v.township_code,
                        in_statistical_roster=False,
                        since_2023=v.since_2023,
                    )
                )
    villages.sort(key=lambda v: v.code)
    return villages


def _free_serial(used: set, *, start: int) -> str:
    for n in list(range(start, 1000)) + list(range(1, start)):
        serial = f"{n:03d}"
        if serial not in used:
            used.add(serial)
            return serial
    raise RuntimeError("乡镇内区划代码序号已用尽，请减小 --scale。")


def _mark_urban(villages: list[DemoVillage], townships: dict) -> None:
    """177 城市社区 among the 居委会 of urban 街道: all of 魏都区's, then the other
    counties' 街道 in proportion to their candidates (largest remainder)."""
    candidates = defaultdict(list)
    for v in villages:
        t = townships[v.township_code]
        if (
            v.kind == Village.Kind.RURAL_COMMUNITY
            and t["name"].endswith("街道")
            and "村" not in v.name
            and "虚拟" not in v.name
        ):
            candidates[t["county_code"]].append(v)
    chosen = list(candidates.pop("411002", []))
    remaining = URBAN_COMMUNITIES - len(chosen)
    total = sum(len(c) for c in candidates.values())
    shares = {k: remaining * len(c) / total for k, c in candidates.items()}
    quota = {k: int(s) for k, s in shares.items()}
    leftover = remaining - sum(quota.values())
    for k in sorted(shares, key=lambda k: (-(shares[k] - quota[k]), k))[:leftover]:
        quota[k] += 1
    for k, cands in candidates.items():
        chosen.extend(sorted(cands, key=lambda v: v.code)[: quota[k]])
    for v in chosen[:URBAN_COMMUNITIES]:
        v.kind = Village.Kind.URBAN_COMMUNITY


def _joint_pairs(rng: random.Random, villages: list[DemoVillage]) -> list[tuple[str, str]]:
    """67 pairs of neighbouring 行政村 that share a 联合党支部 from 2023 on."""
    by_township = defaultdict(list)
    for v in villages:
        if v.kind == Village.Kind.VILLAGE and v.in_statistical_roster and v.code != PEIZHUANG:
            by_township[v.township_code].append(v.code)
    townships = sorted(t for t, codes in by_township.items() if len(codes) >= 10)
    used: set[str] = set()
    pairs: list[tuple[str, str]] = []
    while len(pairs) < JOINT_BRANCHES:
        codes = sorted(by_township[rng.choice(townships)])
        i = rng.randrange(len(codes) - 1)
        a, b = codes[i], codes[i + 1]
        if a in used or b in used:
            continue
        used.update((a, b))
        pairs.append((a, b))
    return sorted(pairs)


@transaction.atomic
def seed_demo(*, seed: int = 2023, scale: int = 1) -> SyncStats:
    rng = random.Random(seed)
    stats = SyncStats()

    counties = _read("xuchang_2023_counties.csv")
    county_ids = _sync(
        County,
        ("code",),
        [{"code": c["code"], "name": c["name"], "kind": COUNTY_KINDS[c["code"]]} for c in counties],
        stats,
    )
    county_name = {c["code"]: COUNTY_SHORT.get(c["code"], c["name"]) for c in counties}
    townships = _read("xuchang_2023_townships.csv")
    township_ids = _sync(
        Township,
        ("code",),
        [
            {
                "code": t["code"],
                "name": t["name"],
                "kind": _township_kind(t["name"]),
                "county_id": county_ids[(t["county_code"],)],
            }
            for t in townships
        ],
        stats,
    )
    township_county = {t["code"]: t["county_code"] for t in townships}

    plan = _plan_villages(rng, scale)
    full_name = {c["code"]: c["name"] for c in counties}
    village_rows = []
    for v in plan:
        county_code = township_county[v.township_code]
        point = demo_location(v.code, county_code, full_name[county_code])
        households = (
            rng.randint(180, 1200)
            if v.kind != Village.Kind.URBAN_COMMUNITY
            else rng.randint(800, 4000)
        )
        village_rows.append(
            {
                "code": v.code,
                "name": v.name,
                "official_name": v.official_name,
                "kind": v.kind,
                "township_id": township_ids[(v.township_code,)],
                "in_statistical_roster": v.in_statistical_roster,
                "households": households,
                "population": int(households * rng.uniform(2.8, 3.9)),
                "secretary_name": _person_name(rng),
                "secretary_phone": f"15{rng.randrange(10**9):09d}",
                "latitude": point[0] if point else None,
                "longitude": point[1] if point else None,
                "location_source": LocationSource.DEMO if point else "",
            }
        )
    village_ids = _sync(Village, ("code",), village_rows, stats)

    # Branches: one per village for every year, plus the 2023 joint branches.
    pairs = _joint_pairs(rng, plan)
    by_code = {v.code: v for v in plan}
    branch_rows = []
    for v in plan:
        branch_rows.append(
            {
                "code": f"D{v.code}",
                "name": f"{v.name}党支部",
                "kind": Branch.Kind.BRANCH,
                "township_id": township_ids[(v.township_code,)],
            }
        )
    for a, b in pairs:
        branch_rows.append(
            {
                "code": f"L{a}",
                "name": f"{by_code[a].name}{by_code[b].name}联合党支部",
                "kind": Branch.Kind.JOINT,
                "township_id": township_ids[(by_code[a].township_code,)],
            }
        )
    branch_ids = _sync(Branch, ("code",), branch_rows, stats)

    frozen_at = datetime.datetime(2023, 1, 31, 9, 0, tzinfo=timezone.get_current_timezone())
    roster_ids = _sync(
        Roster,
        ("year",),
        [
            {
                "year": 2022,
                "is_frozen": True,
                "frozen_at": frozen_at.replace(year=2022),
                "note": "2022年度村(社区)名册：每个村(社区)一个党组织",
            },
            {
                "year": 2023,
                "is_frozen": True,
                "frozen_at": frozen_at,
                "note": "2023年度村(社区)名册：含联合党支部",
            },
        ],
        stats,
    )
    joint_of = {}
    for a, b in pairs:
        joint_of[a] = joint_of[b] = f"L{a}"
    entry_rows = []
    for v in plan:
        if not v.since_2023:
            entry_rows.append(
                {
                    "roster_id": roster_ids[(2022,)],
                    "village_id": village_ids[(v.code,)],
                    "branch_id": branch_ids[(f"D{v.code}",)],
                }
            )
        entry_rows.append(
            {
                "roster_id": roster_ids[(2023,)],
                "village_id": village_ids[(v.code,)],
                "branch_id": branch_ids[(joint_of.get(v.code, f"D{v.code}"),)],
            }
        )
    _sync(RosterEntry, ("roster_id", "village_id"), entry_rows, stats)

    # Work units: city departments and each county's departments and leadership.
    unit_rows = [{"name": "许昌市委", "level": WorkUnit.Level.CITY, "county_id": None}]
    unit_rows += [{"name": n, "level": WorkUnit.Level.CITY, "county_id": None} for n in CITY_UNITS]
    for code, short in county_name.items():
        unit_rows.append(
            {
                "name": f"{short}党委",
                "level": WorkUnit.Level.COUNTY,
                "county_id": county_ids[(code,)],
            }
        )
        unit_rows += [
            {
                "name": f"{short}{n}",
                "level": WorkUnit.Level.COUNTY,
                "county_id": county_ids[(code,)],
            }
            for n in COUNTY_UNITS
        ]
    unit_ids = _sync(WorkUnit, ("name",), unit_rows, stats)

    # Cadres: one 帮村 cadre per village, one county leader per township (联乡), and
    # twenty city leaders who each link several townships.
    cadre_rows, assignment_keys = [], []
    start, end = datetime.date(PLAN_YEAR, 1, 1), datetime.date(PLAN_YEAR, 12, 31)
    serial = 0

    def add_cadre(unit: str, position: str, level: str) -> str:
        nonlocal serial
        serial += 1
        phone = f"13{serial:09d}"
        cadre_rows.append(
            {
                "phone": phone,
                "name": _person_name(rng),
                "work_unit_id": unit_ids[(unit,)],
                "position": position,
                "level": level,
            }
        )
        return phone

    for v in plan:
        county = township_county[v.township_code]
        if rng.random() < 0.15:
            unit, level = rng.choice(CITY_UNITS), Cadre.Level.CITY
        else:
            unit, level = county_name[county] + rng.choice(COUNTY_UNITS), Cadre.Level.COUNTY
        phone = add_cadre(unit, rng.choice(POSITIONS), level)
        assignment_keys.append((phone, "village", v.code))
    for t in townships:
        short = county_name[t["county_code"]]
        phone = add_cadre(f"{short}党委", "县级领导", Cadre.Level.COUNTY)
        assignment_keys.append((phone, "township", t["code"]))
    township_codes = [t["code"] for t in townships]
    for i in range(20):
        phone = add_cadre(
            "许昌市委", CITY_LEADER_POSITIONS[i % len(CITY_LEADER_POSITIONS)], Cadre.Level.CITY
        )
        for t_code in township_codes[i::20]:
            assignment_keys.append((phone, "township", t_code))
    cadre_ids = _sync(Cadre, ("phone",), cadre_rows, stats)

    village_assignments, township_assignments = [], []
    for phone, kind, code in assignment_keys:
        row = {
            "cadre_id": cadre_ids[(phone,)],
            "year": PLAN_YEAR,
            "kind": kind,
            "start_date": start,
            "end_date": end,
        }
        if kind == "village":
            village_assignments.append(
                {**row, "village_id": village_ids[(code,)], "township_id": None}
            )
        else:
            township_assignments.append(
                {**row, "township_id": township_ids[(code,)], "village_id": None}
            )
    _sync(Assignment, ("cadre_id", "village_id", "year"), village_assignments, stats)
    _sync(Assignment, ("cadre_id", "township_id", "year"), township_assignments, stats)

    peizhuang_phone = next(p for p, kind, code in assignment_keys if code == PEIZHUANG)
    _seed_users(
        stats,
        county_ids=county_ids,
        township_ids=township_ids,
        peizhuang_cadre_id=cadre_ids[(peizhuang_phone,)],
    )
    # the syncs above update townships and cadres in bulk (no save signals): retire the
    # cached logins of everyone with a role or a cadre record
    forget_logins(UserRole.objects.values_list("user_id", flat=True))
    forget_logins(Cadre.objects.exclude(user=None).values_list("user_id", flat=True))
    _open_present_year(stats)
    return stats


# Proposals the demo leaves for 长葛市 to decide on its 联系点 page.
DEMO_PENDING_PROPOSALS = 6


def _open_present_year(stats: SyncStats, today: datetime.date | None = None) -> None:
    """The demo lives in the present: 2022 and 2023 as published, and the clock's year
    opened through the same service a city admin uses (roster frozen, targets copied,
    links carried forward), its links confirmed by the counties but for a few that
    长葛市 has still to decide. Skipped once the year is open."""
    from villages.services import programme_year_open, proposal_end, proposals_confirm

    today = today or timezone.localdate()
    for year in (2022, 2023):
        _obj, made = ProgrammeYear.objects.get_or_create(
            year=year,
            defaults={"status": ProgrammeYear.Status.OPEN, "opened_at": timezone.now()},
        )
        if made:
            stats.created["工作年度"] += 1
    year = today.year
    if year <= PLAN_YEAR or ProgrammeYear.objects.filter(year=year).exists():
        return
    admin = get_user_model().objects.get(username="admin")
    programme_year_open(actor=admin, year=year, today=today)
    stats.created["工作年度"] += 1
    pending = AssignmentProposal.objects.filter(
        year=year, decision=AssignmentProposal.Decision.PENDING
    )
    left = list(
        pending.filter(county__code="411082", kind=Assignment.Kind.VILLAGE)
        .order_by("pk")
        .values_list("pk", flat=True)[: DEMO_PENDING_PROPOSALS + 2]
    )
    for proposal in AssignmentProposal.objects.filter(pk__in=left[DEMO_PENDING_PROPOSALS:]):
        proposal_end(actor=admin, proposal=proposal)
    confirmed = proposals_confirm(actor=admin, proposals=pending.exclude(pk__in=left))
    stats.created[f"{year}年度联系点"] += confirmed


DEMO_USERS = [
    ("admin", "市级管理员", UserRole.Role.CITY_ADMIN, None, None),
    ("city", "市级查看", UserRole.Role.CITY_VIEWER, None, None),
    ("county_yanling", "鄢陵县干部", UserRole.Role.COUNTY_OFFICIAL, "411024", None),
    ("county_changge", "长葛市干部", UserRole.Role.COUNTY_OFFICIAL, "411082", None),
    ("township_zhangqiao", "张桥镇干部", UserRole.Role.TOWNSHIP_OFFICIAL, None, "411024107"),
    ("cadre_peizhuang", "裴庄村帮扶干部", UserRole.Role.CADRE, None, None),
]


def role_groups() -> dict[str, Group]:
    """The Django groups that carry model permissions for each role (rows are scoped by
    the selectors, not by these)."""
    apps = ["villages", "visits", "stars", "disputes", "dashboards"]
    perms = Permission.objects.filter(content_type__app_label__in=apps)
    view = perms.filter(codename__startswith="view_")
    writable = perms.filter(
        content_type__model__in=["village", "cadre", "assignment", "workunit", "branch"]
    )
    spec = {
        UserRole.Role.CITY_ADMIN: perms,
        UserRole.Role.CITY_VIEWER: view,
        UserRole.Role.COUNTY_OFFICIAL: view | writable.exclude(codename__startswith="delete_"),
        UserRole.Role.TOWNSHIP_OFFICIAL: view,
    }
    groups = {}
    for role, qs in spec.items():
        group, _ = Group.objects.get_or_create(name=UserRole.Role(role).label)
        wanted = set(qs.values_list("pk", flat=True))
        if set(group.permissions.values_list("pk", flat=True)) != wanted:
            group.permissions.set(wanted)
        groups[role] = group
    return groups


def _seed_users(stats: SyncStats, *, county_ids, township_ids, peizhuang_cadre_id) -> None:
    User = get_user_model()
    groups = role_groups()
    for username, label, role, county, township in DEMO_USERS:
        user = User.objects.filter(username=username).first()
        if user is None:
            user = User(username=username, first_name=label)
            user.set_password(DEMO_PASSWORD)
            user.is_staff = role != UserRole.Role.CADRE
            user.is_superuser = role == UserRole.Role.CITY_ADMIN
            user.save()
            stats.created["用户"] += 1
        if role in groups and not user.groups.filter(pk=groups[role].pk).exists():
            user.groups.add(groups[role])
        wanted = {
            "role": role,
            "county_id": county_ids[(county,)] if county else None,
            "township_id": township_ids[(township,)] if township else None,
        }
        current = UserRole.objects.filter(user=user).values(*wanted).first()
        if current != wanted:
            UserRole.objects.update_or_create(user=user, defaults=wanted)
            stats.updated["用户角色"] += 1
        if role == UserRole.Role.CADRE:
            if Cadre.objects.filter(pk=peizhuang_cadre_id).exclude(user=user).exists():
                previous = Cadre.objects.filter(pk=peizhuang_cadre_id).values("user_id")
                forget_logins([user.pk, *previous.values_list("user_id", flat=True)])  # bulk
                Cadre.objects.filter(user=user).exclude(pk=peizhuang_cadre_id).update(user=None)
                Cadre.objects.filter(pk=peizhuang_cadre_id).update(user=user)
                stats.updated["干部账号"] += 1
