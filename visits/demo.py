"""Demo data for 双十工作日: a year (2023) of visits by every 2023 cadre, their review, and
the problem ledger.

The real roster's year adds up to the published figures: 45,214 座谈会 and 457,968 人次 of
走访群众, and 19,200 problems 已办结 (plus some still open, in progress or explained), by
the cadres of the real (scale-1) villages and the 联乡 leaders. Most cadres keep the
10-days-a-month rule, some fall short in some months; half days exist; the 联乡 leaders
visit less. Everything is approved except the last weeks of 2023 in 张桥镇, which wait in
`township_zhangqiao`'s review queue, and a handful of `cadre_peizhuang`'s visits that were
returned with a comment.

At `scale` > 1, villages.demo adds copies of the roster ("…（扩k）", k = 2…scale), each
village with its own 帮村 cadre. Every copy gets its own year on top of the real one:
planned like it (from its own seed) by the copy's cadres at their own villages, with
座谈会, 人次 and problems in proportion to its visits (the 联乡 leaders' visits stay with
the real roster, so a copy has about 3 % fewer visits). The published totals are the real
roster's alone; the city's grow about `scale` times.

Deterministic for a given seed: every visit's client_uuid is a uuid5 of the cadre's phone,
the date and the visit's place in that day (and the copy number k for a copy), so a re-run
finds the rows it wrote. It is idempotent: visits already stored (by client_uuid) are left
alone together with their events and problems (a reviewer may have worked the demo queue;
a re-run does not undo that), missing ones are written. Each roster's year is planned whole
before it is written, so the totals are exact.

Speed and memory: 360,000 visits and 720,000 review events per roster. bulk_create() spent
over two minutes preparing values field by field on SQLite, so the rows are written from
tuples of already-adapted values, 20,000 at a time (executemany on SQLite, COPY on
PostgreSQL), and the events with two INSERT … SELECT statements over the new visits. No
history rows are written for demo data. The rosters are planned and written one after the
other, each in its own transaction, so the peak memory (of this process, and of
PostgreSQL's queue of deferred foreign-key checks) is one roster's year whatever the scale.
About 20 s and 210 MB at peak on SQLite at scale 1. On PostgreSQL at scale 10 (3,507,674
visits, 7.0 M events, 219,416 problems): 113 s of CPU in this process, a peak of 243 MB, and
13 minutes of wall time on a busy two-core machine, most of it the server's COPY, index
and foreign-key work. The loaded tables are then analysed (see `_analyze`).
"""

from __future__ import annotations

import csv
import datetime
import hashlib
import io
import json
import random
import re
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from itertools import accumulate

from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.utils import timezone

from villages.demo import GIVEN, SURNAMES, SyncStats
from villages.models import Assignment, Cadre, Village
from visits.models import Problem, Visit, VisitEvent

YEAR = 2023
MEETINGS_TOTAL = 45_214
PEOPLE_TOTAL = 457_968
MEETING_VISITS = 40_000  # visits with at least one 座谈会; the rest are second or third ones
PROBLEMS = {
    Problem.Status.RESOLVED: 19_200,
    Problem.Status.EXPLAINED: 1_130,
    Problem.Status.IN_PROGRESS: 1_290,
    Problem.Status.PENDING: 940,
}
ZHANGQIAO = "411024107"
QUEUE_FROM = datetime.date(YEAR, 12, 18)  # 张桥镇 visits from here on wait for review
RETURNED = 4  # cadre_peizhuang's visits sent back with a comment
NAMESPACE = uuid.UUID("0b7c3f4e-2f1a-5d7e-9a61-3c2d8e4b1a90")
SCALED_COPY = re.compile(r"（扩(\d+)）$")  # villages.demo names the scale>1 copies "…（扩k）"
PAGE = 500  # rows per INSERT statement where executemany is not used
WRITE_CHUNK = 20_000  # visits adapted and sent at a time

ACTIVITIES = list(Visit.Activity.values)  # declaration order, also the stored order
OTHER_ACTIVITIES = {  # what a visit does besides a 座谈会, with weights
    Visit.Activity.HOUSEHOLD: 16,
    Visit.Activity.POLICY: 30,
    Visit.Activity.SERVICE: 22,
    Visit.Activity.MEDIATION: 10,
    Visit.Activity.HAZARD: 12,
    Visit.Activity.TECH: 8,
    Visit.Activity.OTHER: 6,
}
PHRASES = {
    Visit.Activity.MEETING: "召开座谈会{meetings}场，听取村“两委”和群众代表意见建议",
    Visit.Activity.HOUSEHOLD: "入户走访{households}户，了解群众生产生活情况",
    Visit.Activity.POLICY: "宣讲惠民政策和医保、养老政策",
    Visit.Activity.SERVICE: "帮助群众办理实事",
    Visit.Activity.MEDIATION: "协调化解邻里纠纷",
    Visit.Activity.HAZARD: "排查房屋、用电、用气等安全隐患",
    Visit.Activity.TECH: "开展农业技术指导",
    Visit.Activity.OTHER: "参加村“两委”工作例会",
}
RETURN_COMMENTS = [
    "工作记录过于简单，请写明走访对象和解决的具体问题。",
    "入户户数与工作记录不符，请核实后重新提交。",
    "缺少现场照片，请补充后重新提交。",
    "座谈会参加人员未注明，请补充。",
]
PROBLEM_TEXT = {
    Problem.Category.INFRASTRUCTURE: (
        ["村内道路破损，雨天积水，群众出行不便。", "部分路灯损坏，夜间出行存在隐患。"],
        "镇建设办",
    ),
    Problem.Category.INDUSTRY: (
        ["种植大户反映农产品销路不畅。", "合作社希望得到冷库建设支持。"],
        "镇农业服务中心",
    ),
    Problem.Category.EMPLOYMENT: (
        ["脱贫户家庭劳动力希望就近就业。", "返乡青年咨询创业贷款办理。"],
        "县人力资源和社会保障局",
    ),
    Problem.Category.INSURANCE: (
        ["老人反映养老金领取认证不便。", "群众咨询医保异地就医备案。"],
        "镇社会保障所",
    ),
    Problem.Category.EDUCATION: (
        ["家长反映校车接送时间不合理。", "留守儿童课后看护缺少场所。"],
        "县教育局",
    ),
    Problem.Category.ENVIRONMENT: (
        ["村内垃圾清运不及时。", "坑塘淤积，夏季有异味。"],
        "村“两委”",
    ),
    Problem.Category.DISPUTE: (
        ["两户村民因宅基地边界发生纠纷。", "土地流转租金支付发生争议。"],
        "镇综治中心",
    ),
    Problem.Category.SAFETY: (
        ["危房户需要尽快搬离。", "村内坑塘缺少防护栏和警示牌。"],
        "镇应急管理办",
    ),
    Problem.Category.POLICY: (
        ["群众咨询耕地地力保护补贴发放。", "残疾人咨询两项补贴申请条件。"],
        "镇便民服务中心",
    ),
    Problem.Category.OTHER: (["群众反映村内网络信号差。"], "村“两委”"),
}
CATEGORY_FOR = {  # a visit's activity suggests what kind of problem it turned up
    Visit.Activity.HAZARD: Problem.Category.SAFETY,
    Visit.Activity.MEDIATION: Problem.Category.DISPUTE,
    Visit.Activity.POLICY: Problem.Category.POLICY,
    Visit.Activity.TECH: Problem.Category.INDUSTRY,
}
CATEGORIES = list(Problem.Category.values)
CATEGORY_WEIGHTS = [22, 12, 12, 12, 6, 14, 8, 6, 6, 2]
SATISFACTION = list(Problem.Satisfaction.values)  # satisfied, basic, unsatisfied


@dataclass(frozen=True)
class Totals:
    """What a roster's year adds up to."""

    meeting_visits: int  # visits with at least one 座谈会
    meetings: int
    people: int
    problems: dict = field(default_factory=dict)  # {status: count}

    def scaled(self, ratio: float) -> Totals:
        return Totals(
            meeting_visits=round(self.meeting_visits * ratio),
            meetings=round(self.meetings * ratio),
            people=round(self.people * ratio),
            problems={status: round(n * ratio) for status, n in self.problems.items()},
        )


PUBLISHED = Totals(MEETING_VISITS, MEETINGS_TOTAL, PEOPLE_TOTAL, PROBLEMS)


@dataclass(slots=True)
class Plan:
    """One planned visit: ids are this database's, everything else comes from the seed."""

    cadre: int
    phone: str
    village: int
    township: str
    date: datetime.date
    part: int
    day_part: str
    slot: int  # logged at 17:00 + 2 × slot minutes (0–149)
    review_days: int
    copy: int = 0  # k of the roster copy "…（扩k）", 0 for the real roster
    activities: tuple = ()
    meetings: int = 0
    households: int = 0
    people: int = 0
    state: str = Visit.State.APPROVED
    comment: str = ""
    problem: dict | None = None


def _cum(weights) -> list:
    return list(accumulate(weights))


DAY_COUNTS, DAY_WEIGHTS = [10, 11, 12, 13, 14, 15], _cum([22, 26, 22, 14, 10, 6])
OTHER_KINDS, OTHER_WEIGHTS = list(OTHER_ACTIVITIES), _cum(OTHER_ACTIVITIES.values())
CATEGORY_CUM = _cum(CATEGORY_WEIGHTS)
SATISFACTION_CUM = _cum([86, 12, 2])


def _months() -> list[tuple[list, list]]:
    """(weekdays, weekend days) of each month of the year."""
    months = []
    for month in range(1, 13):
        first = datetime.date(YEAR, month, 1)
        nxt = datetime.date(YEAR + month // 12, month % 12 + 1, 1)
        days = [first + datetime.timedelta(days=i) for i in range((nxt - first).days)]
        months.append(([d for d in days if d.weekday() < 5], [d for d in days if d.weekday() >= 5]))
    return months


def _pick_days(rng: random.Random, weekdays, weekends, count: int, covered) -> list:
    """`count` distinct days of a month, mostly weekdays, all inside an assignment."""
    pool = weekdays + [d for d in weekends if rng.random() < 0.3]
    if covered is not None:
        pool = [d for d in pool if covered(d)]
    return sorted(rng.sample(pool, min(count, len(pool))))


def _village_cadre_days(rng: random.Random, weak: bool) -> int:
    if rng.random() < (0.22 if weak else 0.04):
        return rng.randint(5, 9)
    return rng.choices(DAY_COUNTS, cum_weights=DAY_WEIGHTS)[0]


def _other_activities(rng: random.Random, meeting: bool) -> set:
    count = rng.choice((0, 0, 0, 0, 0, 1, 1, 1, 1, 2)) if meeting else rng.choice((1, 1, 2, 2, 3))
    chosen: set = set()
    while len(chosen) < count:
        chosen.add(rng.choices(OTHER_KINDS, cum_weights=OTHER_WEIGHTS)[0])
    return chosen


def _load_rosters() -> dict[int, dict]:
    """The 2023 assignments per roster: {0: the real roster, k: the copy "…（扩k）"}, each
    {cadre phone: the villages the cadre may log visits at, with the dates each assignment
    covers}. A 联乡 leader's township counts with its real villages only."""
    villages = {}
    for v in Village.objects.values("id", "code", "name", "township_id", "township__code"):
        copy = SCALED_COPY.search(v.pop("name"))
        villages[v["id"]] = (int(copy.group(1)) if copy else 0, v)
    by_township = defaultdict(list)
    for copy, v in sorted(villages.values(), key=lambda cv: cv[1]["code"]):
        if not copy:
            by_township[v["township_id"]].append(v)
    rosters: dict[int, dict[str, dict]] = defaultdict(dict)
    rows = Assignment.objects.filter(year=YEAR).values(
        "cadre_id", "cadre__phone", "kind", "village_id", "township_id", "start_date", "end_date"
    )
    for a in rows.order_by("cadre__phone", "start_date", "village__code", "township__code"):
        if a["kind"] == Assignment.Kind.VILLAGE:
            if a["village_id"] not in villages:
                continue
            copy, village = villages[a["village_id"]]
            targets = [village]
        else:
            copy, targets = 0, by_township.get(a["township_id"], [])
        if not targets:
            continue
        cadre = rosters[copy].setdefault(
            a["cadre__phone"], {"id": a["cadre_id"], "leader": False, "places": []}
        )
        cadre["leader"] |= a["kind"] == Assignment.Kind.TOWNSHIP
        cadre["places"].append((targets, a["start_date"], a["end_date"]))
    return dict(rosters)


def _plan_visits(
    rng: random.Random,
    cadres: dict,
    peizhuang_id: int | None,
    *,
    copy: int = 0,
    reference: int | None = None,
) -> list[Plan]:
    """The year of `cadres`. The real roster (`copy` 0) adds up to the published totals; a
    copy to the same totals in proportion to its visits against the real roster's
    `reference` visits."""
    months = _months()
    whole_year = (datetime.date(YEAR, 1, 1), datetime.date(YEAR, 12, 31))
    plans: list[Plan] = []
    add = plans.append
    for phone in sorted(cadres):
        cadre = cadres[phone]
        places, leader, cadre_id = cadre["places"], cadre["leader"], cadre["id"]
        weak = rng.random() < 0.12
        spans = [(start, end) for _, start, end in places]
        full = any(start <= whole_year[0] and end >= whole_year[1] for start, end in spans)
        covered = None if full else (lambda d, s=spans: any(a <= d <= b for a, b in s))
        for weekdays, weekends in months:
            count = rng.randint(3, 8) if leader else _village_cadre_days(rng, weak)
            for day in _pick_days(rng, weekdays, weekends, count, covered):
                options = [t for t, start, end in places if start <= day <= end]
                targets = options[0] if len(options) == 1 else rng.choice(options)
                two = leader and len(targets) > 1 and rng.random() < 0.3
                chosen = rng.sample(targets, 2) if two else [rng.choice(targets)]
                for part, village in enumerate(chosen, start=1):
                    half = two or rng.random() < 0.12
                    add(
                        Plan(
                            cadre_id,
                            phone,
                            village["id"],
                            village["township__code"],
                            day,
                            part,
                            Visit.DayPart.HALF if half else Visit.DayPart.FULL,
                            rng.randrange(150),
                            rng.randint(1, 4),
                            copy,
                        )
                    )
    totals = PUBLISHED
    if copy:
        totals = PUBLISHED.scaled(len(plans) / reference if reference else 1)
    _fill_activities(rng, plans, totals)
    _fill_states(rng, plans, peizhuang_id)
    _fill_problems(rng, plans, totals)
    return plans


def _fill_activities(rng: random.Random, plans: list[Plan], totals: Totals) -> None:
    """Activities, 座谈会 and 人次, so that the year adds up to `totals` exactly."""
    meeting_visits = rng.sample(range(len(plans)), min(totals.meeting_visits, len(plans)))
    meetings = [0] * len(plans)
    for i in meeting_visits:
        meetings[i] = 1
    extra_meetings = totals.meetings - len(meeting_visits) if meeting_visits else 0
    for i in rng.choices(meeting_visits, k=extra_meetings):
        meetings[i] += 1
    order = {a: n for n, a in enumerate(ACTIVITIES)}
    weights = []
    combos: dict[frozenset, tuple] = {}  # one tuple per combination, shared by the plans
    for plan, m in zip(plans, meetings, strict=True):
        kinds = _other_activities(rng, meeting=m > 0)
        if m:
            kinds.add(Visit.Activity.MEETING)
        key = frozenset(kinds)
        plan.activities = combos.get(key) or combos.setdefault(
            key, tuple(sorted(kinds, key=order.__getitem__))
        )
        plan.meetings = m
        if Visit.Activity.HOUSEHOLD in kinds:
            plan.households = rng.randint(1, 2)
        # Who gets the 人次 left after the floors below: visits that met nobody yet first.
        if m:
            weights.append(0.3 + 0.2 * rng.random())
        elif plan.households:
            weights.append(0.2 + 0.2 * rng.random())
        else:
            weights.append(1 + 0.3 * (Visit.Activity.POLICY in kinds) + 0.1 * rng.random())
    # Everyone met counts: at least one person per household and three per 座谈会. The rest
    # of the year's 人次 is shared out by weight (largest remainders first), so the sum is
    # exact and few visits are left with nobody.
    floors = [p.households + 3 * p.meetings for p in plans]
    extra = totals.people - sum(floors)
    if extra < 0:
        raise RuntimeError("演示数据规划有误：户数与座谈会的最低人次已超过全年走访人次。")
    total_weight = sum(weights)
    quotas = [w * extra / total_weight for w in weights]
    del weights
    shares = [int(q) for q in quotas]
    by_remainder = sorted(range(len(plans)), key=lambda i: shares[i] - quotas[i])
    for i in by_remainder[: extra - sum(shares)]:
        shares[i] += 1
    for plan, floor, share in zip(plans, floors, shares, strict=True):
        plan.people = floor + share


def _fill_states(rng: random.Random, plans: list[Plan], peizhuang_id: int | None) -> None:
    for plan in plans:
        if plan.township == ZHANGQIAO and plan.date >= QUEUE_FROM:
            plan.state = Visit.State.SUBMITTED
    autumn = [
        p
        for p in plans
        if p.cadre == peizhuang_id and datetime.date(YEAR, 10, 1) <= p.date < QUEUE_FROM
    ]
    for i, plan in enumerate(rng.sample(autumn, min(RETURNED, len(autumn)))):
        plan.state = Visit.State.RETURNED
        plan.comment = RETURN_COMMENTS[i % len(RETURN_COMMENTS)]


def _fill_problems(rng: random.Random, plans: list[Plan], totals: Totals) -> None:
    """One problem on each of a sample of approved visits; the open ones are recent."""
    counts = totals.problems
    approved = [p for p in plans if p.state == Visit.State.APPROVED]
    chosen = rng.sample(approved, min(sum(counts.values()), len(approved)))
    chosen.sort(key=lambda p: (p.date, p.phone, p.part))
    status: dict[int, str] = {}
    open_count = counts[Problem.Status.IN_PROGRESS] + counts[Problem.Status.PENDING]
    recent = chosen[-min(len(chosen), 5 * open_count) :]
    for i, plan in enumerate(rng.sample(recent, min(open_count, len(recent)))):
        in_progress = i < counts[Problem.Status.IN_PROGRESS]
        status[id(plan)] = Problem.Status.IN_PROGRESS if in_progress else Problem.Status.PENDING
    rest = [p for p in chosen if id(p) not in status]
    for plan in rng.sample(rest, min(counts[Problem.Status.EXPLAINED], len(rest))):
        status[id(plan)] = Problem.Status.EXPLAINED
    for plan in chosen:
        hinted = [CATEGORY_FOR[a] for a in plan.activities if a in CATEGORY_FOR]
        if hinted and rng.random() < 0.6:
            category = rng.choice(hinted)
        else:
            category = rng.choices(CATEGORIES, cum_weights=CATEGORY_CUM)[0]
        texts, handler = PROBLEM_TEXT[category]
        plan.problem = {
            "status": status.get(id(plan), Problem.Status.RESOLVED),
            "category": category,
            "description": rng.choice(texts),
            "handler": handler,
            "raised_by": _person_name(rng),
            "minutes": rng.randint(5, 40),
            "days": rng.randint(3, 45),
            "satisfaction": rng.choices(SATISFACTION, cum_weights=SATISFACTION_CUM)[0],
        }


def _person_name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))


def _uuid_hex(plan: Plan) -> str:
    """uuid.uuid5(NAMESPACE, "phone/date/part[/k]").hex, without building UUID objects."""
    name = f"{plan.phone}/{plan.date.isoformat()}/{plan.part}"
    if plan.copy:
        name += f"/{plan.copy}"
    # SHA-1 as uuid5 defines it: a name-based identifier, not a security hash.
    raw = bytearray(
        hashlib.sha1(NAMESPACE.bytes + name.encode(), usedforsecurity=False).digest()[:16]
    )
    raw[6] = (raw[6] & 0x0F) | 0x50
    raw[8] = (raw[8] & 0x3F) | 0x80
    return raw.hex()


def _notes(plan: Plan) -> str:
    phrases = [
        PHRASES[a].format(meetings=plan.meetings, households=plan.households)
        for a in plan.activities
    ]
    return "；".join(phrases) + "。"


# ----- writing -----


def _columns(model, names) -> list[str]:
    return [model._meta.get_field(n).column for n in names]


def _insert(model, names, rows) -> None:
    """INSERT already-adapted `rows` (tuples in the order of the field `names`): COPY on
    PostgreSQL, executemany on SQLite, multi-row VALUES elsewhere."""
    qn = connection.ops.quote_name
    columns = ", ".join(qn(c) for c in _columns(model, names))
    table = qn(model._meta.db_table)
    with connection.cursor() as cursor:
        raw = cursor.cursor
        if connection.vendor == "postgresql" and hasattr(raw, "copy_expert"):
            buffer = io.StringIO()
            writer = csv.writer(buffer)
            for row in rows:
                writer.writerow([r"\N" if v is None else v for v in row])
            buffer.seek(0)
            raw.copy_expert(
                f"COPY {table} ({columns}) FROM STDIN WITH (FORMAT csv, NULL '\\N')", buffer
            )
            return
        head = f"INSERT INTO {table} ({columns}) VALUES "  # nosec B608 # table and column names come from model _meta through quote_name; every value is a bound parameter
        one = "(" + ", ".join(["%s"] * len(names)) + ")"
        if connection.vendor == "sqlite":
            cursor.executemany(head + one, rows)
            return
        for start in range(0, len(rows), PAGE):
            page = rows[start : start + PAGE]
            cursor.execute(head + ", ".join([one] * len(page)), [v for row in page for v in row])


def _max_id(model) -> int:
    return model.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


def _stored_uuids(cadre_ids: list[int]) -> set[str]:
    """client_uuid (hex) of the stored visits of the year by these cadres (one roster at a
    time, so the set stays one roster's size)."""
    year = (datetime.date(YEAR, 1, 1), datetime.date(YEAR, 12, 31))
    stored: set[str] = set()
    for start in range(0, len(cadre_ids), PAGE):
        uuids = Visit.objects.filter(
            date__range=year, cadre_id__in=cadre_ids[start : start + PAGE]
        ).values_list("client_uuid", flat=True)
        stored.update(_hex(u) for u in uuids.order_by().iterator(chunk_size=10_000))
    return stored


def _hex(value) -> str:
    return value.hex if isinstance(value, uuid.UUID) else str(value).replace("-", "")


VISIT_FIELDS = [
    "client_uuid",
    "cadre",
    "village",
    "date",
    "day_part",
    "activities",
    "meetings",
    "people_reached",
    "households_visited",
    "notes",
    "location_flag",
    "state",
    "review_comment",
    "reviewed_by",
    "reviewed_at",
    "created_by",
    "created_at",
    "updated_at",
]
PROBLEM_FIELDS = [
    "village",
    "visit",
    "category",
    "description",
    "raised_by",
    "handler",
    "deadline",
    "status",
    "explanation",
    "resolved_on",
    "satisfaction",
    "created_by",
    "created_at",
    "updated_at",
]


def seed_demo(*, seed: int = 2023, scale: int = 1) -> SyncStats:
    """The real roster's year, then each copy's (scale > 1), one roster at a time, each in
    its own transaction (so PostgreSQL's queue of deferred foreign-key checks, too, holds
    one roster's rows at most)."""
    stats = SyncStats()
    rosters = _load_rosters()
    if not rosters.get(0):
        return stats
    users = dict(
        get_user_model()
        .objects.filter(
            username__in=[
                "township_zhangqiao",
                "county_yanling",
                "county_changge",
                "cadre_peizhuang",
            ]
        )
        .values_list("username", "pk")
    )
    peizhuang_id = (
        Cadre.objects.filter(user_id=users.get("cadre_peizhuang"))
        .values_list("pk", flat=True)
        .first()
    )
    # Reviews: 张桥镇 by its township official; the rest of 鄢陵县 and 长葛市 by their county
    # officials (the demo logins); elsewhere by officials without a demo login.
    reviewer_of = {
        ZHANGQIAO: users.get("township_zhangqiao"),
        "411024": users.get("county_yanling"),
        "411082": users.get("county_changge"),
    }
    writer = _Writer(stats, reviewer_of, users.get("cadre_peizhuang"), peizhuang_id)
    plans = _plan_visits(random.Random(f"visits-{seed}"), rosters.pop(0), peizhuang_id)
    reference = len(plans)
    writer.write(plans)
    del plans  # one roster's year in memory at a time
    for copy in sorted(rosters):
        if copy > scale:
            continue  # left by an earlier run at a larger scale: not this run's world
        rng = random.Random(f"visits-{seed}-{copy}")
        plans = _plan_visits(rng, rosters[copy], None, copy=copy, reference=reference)
        writer.write(plans)
        del plans
    if stats.changed:
        _analyze()
    return stats


def _analyze() -> None:
    """What is done after any bulk load on PostgreSQL: fresh statistics, and outside a
    transaction the visibility map too, so the dashboards' month counts are planned as
    index-only scans from the start, not on a table the planner knows nothing about."""
    if connection.vendor != "postgresql":
        return
    qn = connection.ops.quote_name
    tables = ", ".join(qn(model._meta.db_table) for model in (Visit, VisitEvent, Problem))
    command = "ANALYZE" if connection.in_atomic_block else "VACUUM (ANALYZE)"
    with connection.cursor() as cursor:
        cursor.execute(f"{command} {tables}")


@dataclass
class _Writer:
    """Writes the visits of one roster's planned year that are not stored yet, with their
    review events and problems."""

    stats: SyncStats
    reviewer_of: dict
    peizhuang_user: int | None
    peizhuang_id: int | None

    @transaction.atomic
    def write(self, plans: list[Plan]) -> None:
        stored = _stored_uuids(sorted({plan.cadre for plan in plans}))
        new = [plan for plan in plans if _uuid_hex(plan) not in stored] if stored else plans
        if not new:
            return
        first_new = _max_id(Visit) + 1
        _write_visits(new, self.reviewer_of, self.peizhuang_user, self.peizhuang_id)
        created = self.stats.created
        created[str(Visit._meta.verbose_name)] += len(new)
        created[str(VisitEvent._meta.verbose_name)] += _write_events(first_new)
        created[str(Problem._meta.verbose_name)] += _write_problems(
            new, first_new, self.peizhuang_user, self.peizhuang_id
        )


def _write_visits(new, reviewer_of, peizhuang_user, peizhuang_id) -> None:
    ops = connection.ops
    tz = timezone.get_current_timezone()
    dates: dict = {}
    rows = []
    for n, plan in enumerate(new, start=1):
        day = dates.get(plan.date) or dates.setdefault(
            plan.date, ops.adapt_datefield_value(plan.date)
        )
        created = _created_at(plan, tz)
        reviewed = reviewer = None
        if plan.state != Visit.State.SUBMITTED:
            reviewed = datetime.datetime.combine(
                plan.date + datetime.timedelta(days=plan.review_days), datetime.time(9), tz
            ) + datetime.timedelta(minutes=2 * plan.slot % 180)
            reviewer = reviewer_of.get(plan.township) or reviewer_of.get(plan.township[:6])
        created = ops.adapt_datetimefield_value(created)
        reviewed = ops.adapt_datetimefield_value(reviewed)
        rows.append(
            (
                _uuid_hex(plan),
                plan.cadre,
                plan.village,
                day,
                plan.day_part,
                json.dumps(list(plan.activities)),
                plan.meetings,
                plan.people,
                plan.households,
                _notes(plan),
                False,
                plan.state,
                plan.comment,
                reviewer,
                reviewed,
                peizhuang_user if plan.cadre == peizhuang_id else None,
                created,
                reviewed or created,
            )
        )
        if len(rows) == WRITE_CHUNK or n == len(new):  # keeps the peak memory down
            _insert(Visit, VISIT_FIELDS, rows)
            rows = []


def _write_events(first_new: int) -> int:
    """The submit event of every new visit, and the approve / return event of the reviewed
    ones, each stamped with the visit's own times: two INSERT … SELECT statements."""
    qn = connection.ops.quote_name
    v = {f: qn(Visit._meta.get_field(f).column) for f in VISIT_FIELDS + ["id"]}
    e = ", ".join(
        qn(c) for c in _columns(VisitEvent, ["visit", "action", "actor", "comment", "at"])
    )
    events, visits = qn(VisitEvent._meta.db_table), qn(Visit._meta.db_table)
    created = 0
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {events} ({e}) SELECT {v['id']}, %s, {v['created_by']}, %s, "  # nosec B608 # table and column names come from model _meta through quote_name; every value is a bound parameter
            f"{v['created_at']} FROM {visits} WHERE {v['id']} >= %s ORDER BY {v['id']}",
            [VisitEvent.Action.SUBMIT, "", first_new],
        )
        created += cursor.rowcount
        cursor.execute(
            f"INSERT INTO {events} ({e}) SELECT {v['id']}, "  # nosec B608 # table and column names come from model _meta through quote_name; every value is a bound parameter
            f"CASE WHEN {v['state']} = %s THEN %s ELSE %s END, {v['reviewed_by']}, "
            f"{v['review_comment']}, {v['reviewed_at']} FROM {visits} "
            f"WHERE {v['id']} >= %s AND {v['reviewed_at']} IS NOT NULL ORDER BY {v['id']}",
            [
                Visit.State.RETURNED,
                VisitEvent.Action.RETURN,
                VisitEvent.Action.APPROVE,
                first_new,
            ],
        )
        created += cursor.rowcount
    return created


def _created_at(plan: Plan, tz) -> datetime.datetime:
    day = datetime.datetime.combine(plan.date, datetime.time(), tz)
    return day + datetime.timedelta(hours=17, minutes=2 * plan.slot)


def _write_problems(new, first_new: int, peizhuang_user, peizhuang_id) -> int:
    ops = connection.ops
    tz = timezone.get_current_timezone()
    wanted = {_uuid_hex(plan): plan for plan in new if plan.problem}
    if not wanted:
        return 0
    ids = {}
    new_uuids = Visit.objects.filter(pk__gte=first_new).order_by().values_list("pk", "client_uuid")
    for pk, u in new_uuids.iterator(chunk_size=10_000):
        if (h := _hex(u)) in wanted:
            ids[h] = pk
    rows = []
    for client_uuid, plan in wanted.items():
        spec = plan.problem
        created = _created_at(plan, tz) + datetime.timedelta(minutes=spec["minutes"])
        later = created + datetime.timedelta(days=spec["days"])
        status, explanation, resolved_on, satisfaction, updated = (
            spec["status"],
            "",
            None,
            "",
            created,
        )
        if status == Problem.Status.RESOLVED:
            resolved_on = plan.date + datetime.timedelta(days=spec["days"])
            satisfaction = spec["satisfaction"]
            explanation = f"已由{spec['handler']}协调办结，回访群众。"
            updated = later
        elif status == Problem.Status.EXPLAINED:
            explanation = "受政策和资金限制暂时无法解决，已向群众解释说明，群众表示理解。"
            updated = later
        elif status == Problem.Status.IN_PROGRESS:
            explanation = f"已转{spec['handler']}办理，正在协调。"
        rows.append(
            (
                plan.village,
                ids[client_uuid],
                spec["category"],
                spec["description"],
                spec["raised_by"],
                spec["handler"],
                ops.adapt_datefield_value(plan.date + datetime.timedelta(days=30)),
                status,
                explanation,
                ops.adapt_datefield_value(resolved_on),
                satisfaction,
                peizhuang_user if plan.cadre == peizhuang_id else None,
                ops.adapt_datetimefield_value(created),
                ops.adapt_datetimefield_value(updated),
            )
        )
    _insert(Problem, PROBLEM_FIELDS, rows)
    return len(rows)
