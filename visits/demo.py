"""Demo data for 双十工作日: visits by every cadre, their review, and the problem ledger,
for 2023 (the published year) and for the clock's year, from 1 January up to now.

2023: the real roster's year adds up to the published figures: 45,214 座谈会 and 457,968
人次 of 走访群众, and 19,200 problems 已办结 (plus some still open, in progress or
explained), by the cadres of the real (scale-1) villages and the 联乡 leaders. Most cadres
keep the 10-days-a-month rule, some fall short in some months; half days exist; the 联乡
leaders visit less. Everything is approved except the last weeks of 2023 in 张桥镇, which
wait in `township_zhangqiao`'s review queue, and a handful of `cadre_peizhuang`'s visits
that were returned with a comment.

The present: when the clock's year is after 2023, villages.demo has opened it (roster and
links carried forward from 2023), and its cadres' visits are planned like 2023's, month by
month up to this one, each cadre from a random source of their own; what has not happened
by now is left out (a visit is logged from 17:00 on its day), so this month is under way.
座谈会, 人次 and problems keep 2023's proportions. A visit is reviewed one to four days
after its date, so the last days' visits wait for review; in 张桥镇 the last two weeks
wait for `township_zhangqiao`. `cadre_peizhuang` has not been out today and has at most 9
days this month, so a visit he logs today counts; three of his visits from before this
month (in January, from its first days) were returned with a comment, one of them more
than a week after its date (from mid-January on). Problems are handled within 3–45 days
or explained, a few are left open however old, and their deadlines are 15 or 30 days, so
some of the open ones are overdue. The years between 2023
and the present get nothing; the cadres whose links 长葛市 has not confirmed yet have no
visits in the present year (one a county confirms gets them on the next run).

At `scale` > 1, villages.demo adds copies of the roster ("…（扩k）", k = 2…scale), each
village with its own 帮村 cadre. Every copy gets its own 2023 and present year on top of
the real roster's: planned like them (from its own seed) by the copy's cadres at their own
villages, with 座谈会, 人次 and problems in proportion to its visits (the 联乡 leaders'
visits stay with the real roster, so a copy has about 3 % fewer visits). The published
totals are the real roster's alone; the city's grow about `scale` times.

Deterministic for a given seed (and, for the present year, a given moment): every visit's
client_uuid is a uuid5 of the cadre's phone, the date and the visit's place in that day
(and the copy number k for a copy), so a re-run finds the rows it wrote. It is idempotent:
visits already stored (by client_uuid) are left alone together with their events and
problems (a reviewer may have worked the demo queue; a re-run does not undo that), missing
ones are written. 2023 is planned whole before it is written, so its totals are exact; who
visits where on a day of the present year does not depend on the day the demo is seeded
on, so a run on a later day adds the visits logged since and leaves the stored ones as
they are.

Speed and memory: some 360,000 visits and 720,000 review events per roster and year.
bulk_create() spent over two minutes preparing values field by field on SQLite, so the rows
are written from tuples of already-adapted values, 20,000 at a time (on SQLite through a
temporary table and one INSERT … SELECT, COPY on PostgreSQL), and the events with two
INSERT … SELECT statements over the new visits. No history rows are written for demo data.
The roster years are written one after the other, each in its own transaction, while a
thread plans the next one and makes its rows: the database's share of the work runs
without Python's GIL, so the two overlap on two cores. The peak memory of this process is
about two roster years' (the one written, the next one planned), that of PostgreSQL's queue
of deferred foreign-key checks one roster year's, whatever the scale. On SQLite at scale 1,
on 7 December (2023 and 341 days of the present year: 697,000 visits, 1.39 M events,
43,000 problems), on a shared two-core machine: 40–45 s and 520 MB at peak, where 2023
alone took 35 s before the thread and the temporary table (at a busier hour: 60 s against
75 s).
On PostgreSQL at scale 1, the same day: 102 s of wall time, 35 s of CPU in this process, a
peak of 400 MB; at scale 10 (measured for 2023 alone, before the present year was added:
3,507,674 visits, 7.0 M events, 219,416 problems) 113 s of CPU in this process, a peak of
243 MB, and 13 minutes of wall time on a busy two-core machine, most of it the server's
COPY, index and foreign-key work. The loaded tables are then analysed (see `_analyze`).
"""

from __future__ import annotations

import bisect
import csv
import datetime
import hashlib
import io
import json
import math
import queue
import random
import re
import sqlite3
import threading
import uuid
from collections import defaultdict
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from itertools import accumulate, chain

from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.utils import timezone

from villages.demo import GIVEN, SURNAMES, SyncStats
from villages.models import Assignment, Cadre, Village
from visits.models import Problem, Visit, VisitEvent
from visits.services import location_check

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
# The clock's year (after 2023), from 1 January to today:
QUEUE_DAYS = 14  # 张桥镇's visits of the last two weeks wait for review, as at the end of 2023
PRESENT_RETURNED = 3  # cadre_peizhuang's visits sent back with a comment
MONTH_CAP = 9  # cadre_peizhuang's days this month before today, so today's visit counts
DEADLINES = (15, 30, 30)  # 办理时限 of a problem, days
OPEN_SHARE = 0.05  # of the problems, left open however old (2023 ended with 10 % open)
IN_PROGRESS_SHARE = 0.58  # of those, 办理中 (1,290 of 2,230 open at the end of 2023)
EXPLAINED_SHARE = 0.05  # explained, not resolved (1,130 of 22,560 in 2023)
NAMESPACE = uuid.UUID("0b7c3f4e-2f1a-5d7e-9a61-3c2d8e4b1a90")
SCALED_COPY = re.compile(r"（扩(\d+)）$")  # villages.demo names the scale>1 copies "…（扩k）"
PAGE = 500  # rows per INSERT statement (fewer if the database takes fewer parameters)
WRITE_CHUNK = 20_000  # visits sent at a time
SQLITE_CACHE_KB = 128 * 1024

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
    uuid: str = ""  # client_uuid (hex), set when the plan is checked or written


def _cum(weights) -> list:
    return list(accumulate(weights))


DAY_COUNTS, DAY_WEIGHTS = [10, 11, 12, 13, 14, 15], _cum([22, 26, 22, 14, 10, 6])
OTHER_KINDS, OTHER_WEIGHTS = list(OTHER_ACTIVITIES), _cum(OTHER_ACTIVITIES.values())
CATEGORY_CUM = _cum(CATEGORY_WEIGHTS)
SATISFACTION_CUM = _cum([86, 12, 2])
EXTRA_WITH_MEETING = (0, 0, 0, 0, 0, 1, 1, 1, 1, 2)  # other activities beside a 座谈会
EXTRA_WITHOUT = (1, 1, 2, 2, 3)
CREATED_AT = 17 * 60  # minutes after midnight: visits are logged from 17:00 on
REVIEWED_AT = 9 * 60  # and reviewed from 09:00 on


# Random draws. The planners below draw a great many small numbers, so they call what
# Random.randrange, randint, choice and choices call inside, `_randbelow` and `random`:
# the same numbers in the same order (the 2023 year stays exactly as it was), at a
# fraction of the cost.


def _weighted(rng: random.Random, population, cum):
    """rng.choices(population, cum_weights=cum)[0], drawn the same way."""
    return population[bisect.bisect(cum, rng.random() * cum[-1], 0, len(cum) - 1)]


def _months(year: int, last: int = 12) -> list[tuple[list, list]]:
    """(weekdays, weekend days) of each month of the year, up to month `last`."""
    months = []
    for month in range(1, last + 1):
        first = datetime.date(year, month, 1)
        nxt = datetime.date(year + month // 12, month % 12 + 1, 1)
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
        return 5 + rng._randbelow(5)  # randint(5, 9)
    return _weighted(rng, DAY_COUNTS, DAY_WEIGHTS)


def _other_activities(rng: random.Random, meeting: bool) -> set:
    below = rng._randbelow
    count = EXTRA_WITH_MEETING[below(10)] if meeting else EXTRA_WITHOUT[below(5)]
    chosen: set = set()
    while len(chosen) < count:
        chosen.add(_weighted(rng, OTHER_KINDS, OTHER_WEIGHTS))
    return chosen


def _load_rosters(year: int) -> dict[int, dict]:
    """The assignments of `year` per roster: {0: the real roster, k: the copy "…（扩k）"},
    each {cadre phone: the villages the cadre may log visits at, with the dates each
    assignment covers}. A 联乡 leader's township counts with its real villages only."""
    villages = {}
    for v in Village.objects.values("id", "code", "name", "township_id", "township__code"):
        copy = SCALED_COPY.search(v.pop("name"))
        villages[v["id"]] = (int(copy.group(1)) if copy else 0, v)
    by_township = defaultdict(list)
    for copy, v in sorted(villages.values(), key=lambda cv: cv[1]["code"]):
        if not copy:
            by_township[v["township_id"]].append(v)
    rosters: dict[int, dict[str, dict]] = defaultdict(dict)
    rows = Assignment.objects.filter(year=year).values(
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


def _plan_days(rng_for, cadres: dict, *, year: int, last_month: int = 12, copy: int = 0):
    """The visits of `cadres` in `year`, month by month up to `last_month`, whole months:
    3–8 days a month for a 联乡 leader (sometimes two villages in a day, half a day each),
    mostly 10–15 for a 帮村 cadre, 5–9 in some months (more often for the 12 % who have
    a weak year). `rng_for(phone)` is each cadre's random source."""
    months = _months(year, last_month)
    whole_year = (datetime.date(year, 1, 1), datetime.date(year, 12, 31))
    half_day, full_day = Visit.DayPart.HALF, Visit.DayPart.FULL
    plans: list[Plan] = []
    add = plans.append
    for phone in sorted(cadres):
        rng = rng_for(phone)
        below, uniform = rng._randbelow, rng.random
        cadre = cadres[phone]
        places, leader, cadre_id = cadre["places"], cadre["leader"], cadre["id"]
        weak = uniform() < 0.12
        spans = [(start, end) for _, start, end in places]
        full = any(start <= whole_year[0] and end >= whole_year[1] for start, end in spans)
        covered = None if full else (lambda d, s=spans: any(a <= d <= b for a, b in s))
        only = places[0][0] if len(places) == 1 else None  # the days are all inside it
        for weekdays, weekends in months:
            count = 3 + below(6) if leader else _village_cadre_days(rng, weak)
            for day in _pick_days(rng, weekdays, weekends, count, covered):
                targets = only
                if targets is None:
                    options = [t for t, start, end in places if start <= day <= end]
                    targets = options[0] if len(options) == 1 else options[below(len(options))]
                two = leader and len(targets) > 1 and uniform() < 0.3
                chosen = rng.sample(targets, 2) if two else [targets[below(len(targets))]]
                for part, village in enumerate(chosen, start=1):
                    half = two or uniform() < 0.12
                    add(
                        Plan(
                            cadre_id,
                            phone,
                            village["id"],
                            village["township__code"],
                            day,
                            part,
                            half_day if half else full_day,
                            below(150),
                            1 + below(4),
                            copy,
                        )
                    )
    return plans


def _plan_visits(
    rng: random.Random,
    cadres: dict,
    peizhuang_id: int | None,
    *,
    copy: int = 0,
    reference: int | None = None,
) -> list[Plan]:
    """The 2023 year of `cadres`. The real roster (`copy` 0) adds up to the published
    totals; a copy to the same totals in proportion to its visits against the real
    roster's `reference` visits."""
    plans = _plan_days(lambda _phone: rng, cadres, year=YEAR, copy=copy)
    totals = PUBLISHED
    if copy:
        totals = PUBLISHED.scaled(len(plans) / reference if reference else 1)
    _fill_activities(rng, plans, totals)
    _fill_states(rng, plans, peizhuang_id)
    _fill_problems(rng, plans, totals)
    return plans


def _fill_activities(rng: random.Random, plans: list[Plan], totals: Totals) -> None:
    """Activities, 座谈会 and 人次, so that the plans add up to `totals` exactly."""
    meeting_visits = rng.sample(range(len(plans)), min(totals.meeting_visits, len(plans)))
    meetings = [0] * len(plans)
    for i in meeting_visits:
        meetings[i] = 1
    extra_meetings = totals.meetings - len(meeting_visits) if meeting_visits else 0
    for i in rng.choices(meeting_visits, k=extra_meetings):
        meetings[i] += 1
    order = {a: n for n, a in enumerate(ACTIVITIES)}
    below, uniform = rng._randbelow, rng.random
    household, policy, meeting = (
        Visit.Activity.HOUSEHOLD,
        Visit.Activity.POLICY,
        Visit.Activity.MEETING,
    )
    weights = []
    combos: dict[frozenset, tuple] = {}  # one tuple per combination, shared by the plans
    for plan, m in zip(plans, meetings, strict=True):
        kinds = _other_activities(rng, meeting=m > 0)
        if m:
            kinds.add(meeting)
        key = frozenset(kinds)
        plan.activities = combos.get(key) or combos.setdefault(
            key, tuple(sorted(kinds, key=order.__getitem__))
        )
        plan.meetings = m
        if household in kinds:
            plan.households = 1 + below(2)  # randint(1, 2)
        # Who gets the 人次 left after the floors below: visits that met nobody yet first.
        if m:
            weights.append(0.3 + 0.2 * uniform())
        elif plan.households:
            weights.append(0.2 + 0.2 * uniform())
        else:
            weights.append(1 + 0.3 * (policy in kinds) + 0.1 * uniform())
    # Everyone met counts: at least one person per household and three per 座谈会. The rest
    # of the 人次 is shared out by weight (largest remainders first), so the sum is exact
    # and few visits are left with nobody.
    floors = [p.households + 3 * p.meetings for p in plans]
    extra = totals.people - sum(floors)
    if extra < 0:
        raise RuntimeError("演示数据规划有误：户数与座谈会的最低人次已超过全年走访人次。")
    total_weight = sum(weights)
    quotas = [w * extra / total_weight for w in weights]
    del weights
    shares = [int(q) for q in quotas]
    remainders = [s - q for s, q in zip(shares, quotas, strict=True)]
    by_remainder = sorted(range(len(plans)), key=remainders.__getitem__)
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
        _fill_problem(rng, plan, status.get(id(plan), Problem.Status.RESOLVED))


def _fill_problem(rng: random.Random, plan: Plan, status: str, deadline: int = 30) -> None:
    """The problem a visit turned up, `status` now; handled within `days` (or explained,
    or still open), with `deadline` days to do it."""
    hinted = [CATEGORY_FOR[a] for a in plan.activities if a in CATEGORY_FOR]
    if hinted and rng.random() < 0.6:
        category = rng.choice(hinted)
    else:
        category = _weighted(rng, CATEGORIES, CATEGORY_CUM)
    texts, handler = PROBLEM_TEXT[category]
    plan.problem = {
        "status": status,
        "category": category,
        "description": rng.choice(texts),
        "handler": handler,
        "raised_by": _person_name(rng),
        "minutes": rng.randint(5, 40),
        "days": rng.randint(3, 45),
        "satisfaction": _weighted(rng, SATISFACTION, SATISFACTION_CUM),
        "deadline": deadline,
    }


def _person_name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))


# ----- the present: the clock's year, from 1 January to now -----


def _plan_present(
    cadres: dict,
    peizhuang_id: int | None,
    *,
    seed: int,
    now: datetime.datetime,
    tz,
    reference: int,
    copy: int = 0,
) -> list[Plan]:
    """The visits of the clock's year that have happened by `now`, planned like 2023's.

    Each cadre draws from a random source of their own, and months are planned whole,
    so who visits where on any day does not depend on the day the demo is seeded on (a
    re-run on a later day adds the days since, and a link confirmed meanwhile adds that
    cadre's visits without moving anyone else's). 座谈会, 人次 and problems are in 2023's
    proportions: the totals of the real roster's 2023 (`reference` visits) scaled to the
    number of visits planned."""
    today = now.astimezone(tz).date()
    year = today.year
    tag = f"visits-{seed}-{year}" + (f"-{copy}" if copy else "")
    plans = _plan_days(
        lambda phone: random.Random(f"{tag}-{phone}"),
        cadres,
        year=year,
        last_month=today.month,
        copy=copy,
    )
    rng = random.Random(tag)
    _fill_activities(rng, plans, PUBLISHED.scaled(len(plans) / reference))
    plans = [p for p in plans if p.date < today or (p.date == today and _created_at(p, tz) <= now)]
    if peizhuang_id is not None:
        plans = _leave_today_to_peizhuang(plans, peizhuang_id, today)
    _fill_present_states(rng, plans, peizhuang_id, now, tz)
    _fill_present_problems(rng, plans, today, sum(PUBLISHED.problems.values()) / reference)
    return plans


def _leave_today_to_peizhuang(plans: list[Plan], peizhuang_id: int, today) -> list[Plan]:
    """`cadre_peizhuang` has not been out today, and has at most MONTH_CAP days this
    month (the first ones planned), so a visit logged today moves 本月已下沉 by a day."""
    month_days = sorted(
        {p.date for p in plans if p.cadre == peizhuang_id and p.date >= today.replace(day=1)}
    )
    kept = set(month_days[:MONTH_CAP]) - {today}
    return [
        p
        for p in plans
        if p.cadre != peizhuang_id or p.date < today.replace(day=1) or p.date in kept
    ]


def _fill_present_states(
    rng: random.Random, plans: list[Plan], peizhuang_id: int | None, now: datetime.datetime, tz
) -> None:
    """Reviewed one to four days after the visit, so what is not reviewed by `now` still
    waits; in 张桥镇 the last QUEUE_DAYS days all wait for `township_zhangqiao`; and a few
    of `cadre_peizhuang`'s visits were returned with a comment, one of them more than a
    week after its date (it stays returned until he fixes it, however old it is)."""
    today = now.astimezone(tz).date()
    queue_from = today - datetime.timedelta(days=QUEUE_DAYS - 1)
    settled = today - datetime.timedelta(days=5)  # reviewed before today, whatever the plan
    for plan in plans:
        if plan.township == ZHANGQIAO and plan.date >= queue_from:
            plan.state = Visit.State.SUBMITTED
        elif plan.date >= settled and _reviewed_at(plan, tz) > now:
            plan.state = Visit.State.SUBMITTED
    if peizhuang_id is None:
        return
    # Returned before this month where possible, so the month's days are all counted.
    mine = [p for p in plans if p.cadre == peizhuang_id and p.part == 1]
    before = min(today.replace(day=1), today - datetime.timedelta(days=2))
    candidates = [p for p in mine if p.date < before] or [
        p for p in mine if p.date <= today - datetime.timedelta(days=3)
    ]
    if not candidates:
        return
    latest = candidates[-1]  # returned a day or two after its date
    latest.review_days = min(latest.review_days, 2)
    returned = [latest]
    weeks_old = [p for p in candidates[:-1] if p.date <= today - datetime.timedelta(days=12)]
    if weeks_old:  # returned more than a week after its date, and still not fixed
        late = weeks_old[rng._randbelow(len(weeks_old))]
        late.review_days = 8 + rng._randbelow(3)
        returned.append(late)
    others = [p for p in candidates[:-1] if p not in returned]
    returned += rng.sample(others, min(PRESENT_RETURNED - len(returned), len(others)))
    for i, plan in enumerate(returned):
        plan.state = Visit.State.RETURNED
        plan.comment = RETURN_COMMENTS[i % len(RETURN_COMMENTS)]


def _fill_present_problems(rng: random.Random, plans: list[Plan], today, rate: float) -> None:
    """Problems on about `rate` of the approved visits, mostly handled within 3–45 days
    (办结, some 无法办结已解释), a few left open (办理中 or 待办) however old; the ones not
    handled by today are open too, 待办 in their first week. Deadlines are 15 or 30
    days, so some of the open ones are overdue."""
    uniform = rng.random
    week_ago = today - datetime.timedelta(days=7)
    for plan in plans:
        if plan.state != Visit.State.APPROVED or uniform() >= rate:
            continue
        deadline = DEADLINES[rng._randbelow(len(DEADLINES))]
        _fill_problem(rng, plan, Problem.Status.RESOLVED, deadline)
        spec, outcome = plan.problem, uniform()
        if outcome < OPEN_SHARE:
            in_progress = outcome < OPEN_SHARE * IN_PROGRESS_SHARE
        elif plan.date + datetime.timedelta(days=spec["days"]) >= today:
            in_progress = plan.date < week_ago
        else:
            if outcome < OPEN_SHARE + EXPLAINED_SHARE:
                spec["status"] = Problem.Status.EXPLAINED
            continue
        spec["status"] = Problem.Status.IN_PROGRESS if in_progress else Problem.Status.PENDING


# ----- writing -----


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


def _columns(model, names) -> list[str]:
    return [model._meta.get_field(n).column for n in names]


def _insert(model, names, rows) -> None:
    """INSERT already-adapted `rows` (tuples in the order of the field `names`): COPY on
    PostgreSQL, see `_insert_sqlite` on SQLite, multi-row VALUES elsewhere."""
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
        if connection.vendor == "sqlite":
            _insert_sqlite(raw.connection, table, columns, len(names), rows)
            return
        one = "(" + ", ".join(["%s"] * len(names)) + ")"
        head = f"INSERT INTO {table} ({columns}) VALUES "  # nosec B608 # table and column names come from model _meta through quote_name; every value is a bound parameter
        for start in range(0, len(rows), PAGE):
            page = rows[start : start + PAGE]
            cursor.execute(head + ", ".join([one] * len(page)), [v for row in page for v in row])


def _insert_sqlite(db: sqlite3.Connection, table: str, columns: str, width: int, rows) -> None:
    """Multi-row VALUES into a bare temporary table, then one INSERT … SELECT: half the
    time of inserting into the table itself, whose nine indexes SQLite opens again for
    every statement. Few, long statements, straight on the sqlite3 connection (Django's
    cursor rewrites the text of each): the thread that plans meanwhile gets the GIL while
    SQLite works, and hands it back once a statement, not once a row."""
    stage = '"demo_stage"'
    page = max(1, min(PAGE, db.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER) // width))
    one = "(" + ", ".join(["?"] * width) + ")"
    head = f"INSERT INTO {stage} ({columns}) VALUES "  # nosec B608 # names from model _meta through quote_name; every value is a bound parameter
    full = head + ", ".join([one] * page)
    db.execute(f"CREATE TEMP TABLE {stage} AS SELECT {columns} FROM {table} WHERE 0")  # nosec B608 # names from model _meta through quote_name
    try:
        for start in range(0, len(rows), page):
            chunk = rows[start : start + page]
            sql = full if len(chunk) == page else head + ", ".join([one] * len(chunk))
            db.execute(sql, list(chain.from_iterable(chunk)))
        db.execute(f"INSERT INTO {table} ({columns}) SELECT {columns} FROM {stage} ORDER BY rowid")  # nosec B608 # names from model _meta through quote_name
    finally:
        db.execute(f"DROP TABLE {stage}")


def _max_id(model) -> int:
    return model.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


def _stored_uuids(cadre_ids: list[int], year: int) -> set[str]:
    """client_uuid (hex) of the stored visits of the year by these cadres (one roster at a
    time, so the set stays one roster's size)."""
    span = (datetime.date(year, 1, 1), datetime.date(year, 12, 31))
    stored: set[str] = set()
    for start in range(0, len(cadre_ids), PAGE):
        uuids = Visit.objects.filter(
            date__range=span, cadre_id__in=cadre_ids[start : start + PAGE]
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
    "latitude",
    "longitude",
    "distance_km",
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
    "client_uuid",
]


def seed_demo(*, seed: int = 2023, scale: int = 1) -> SyncStats:
    """2023: the real roster's year, then each copy's (scale > 1). Then the clock's year,
    if it is after 2023, from 1 January to now, roster by roster the same way.

    One roster's year is written at a time, each in its own transaction (so PostgreSQL's
    queue of deferred foreign-key checks, too, holds one roster's rows at most), while the
    next one is planned in a thread (see `_Background`)."""
    stats = SyncStats()
    rosters = _load_rosters(YEAR)
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
    rows = _RowMaker(
        ops=connection.ops,
        reviewer_of={
            ZHANGQIAO: users.get("township_zhangqiao"),
            "411024": users.get("county_yanling"),
            "411082": users.get("county_changge"),
        },
        peizhuang_user=users.get("cadre_peizhuang"),
        peizhuang_id=peizhuang_id,
        tz=timezone.get_current_timezone(),
        village_points={
            pk: (float(lat), float(lon))
            for pk, lat, lon in Village.objects.filter(latitude__isnull=False).values_list(
                "pk", "latitude", "longitude"
            )
        },
    )
    now = timezone.now()
    year = timezone.localdate(now).year
    # Everything the jobs need from the database is read here: they run in a thread.
    present = _load_rosters(year) if year > YEAR else {}
    real = {}  # the real roster's 2023 visits, the measure of everyone else's totals

    def published_year():
        plans = _plan_visits(random.Random(f"visits-{seed}"), rosters[0], peizhuang_id)
        real["visits"] = len(plans)
        return plans

    def copy_year(copy):
        rng = random.Random(f"visits-{seed}-{copy}")
        return _plan_visits(rng, rosters[copy], None, copy=copy, reference=real["visits"])

    def present_year(copy):
        pz = peizhuang_id if copy == 0 else None
        return _plan_present(
            present[copy], pz, seed=seed, now=now, tz=rows.tz, reference=real["visits"], copy=copy
        )

    # Copies left by an earlier run at a larger scale are not this run's world.
    jobs = [(YEAR, published_year)]
    jobs += [(YEAR, partial(copy_year, k)) for k in sorted(rosters) if 0 < k <= scale]
    jobs += [(year, partial(present_year, k)) for k in sorted(present) if k <= scale]
    with _sqlite_cache(), _Background(jobs, rows) as background:
        for job in background:
            _write(stats, job)
            del job  # one roster's year in memory, and the next one's
    if stats.changed:
        _analyze()
    return stats


@dataclass
class _Job:
    """One roster's planned year, as the background thread hands it over: the plans, then
    the rows of the visits not stored yet, a chunk at a time, then those of their problems."""

    year: int
    plans: list[Plan]
    background: _Background

    def new(self, stored: set) -> list[Plan]:
        """The plans not `stored` yet (client_uuid hex), which the thread makes rows for."""
        new = self.plans
        if stored:
            for plan in new:
                plan.uuid = _uuid_hex(plan)
            new = [plan for plan in new if plan.uuid not in stored]
        self.background.replies.put(new)
        return new

    def chunks(self):
        """The rows of the new visits, WRITE_CHUNK at a time."""
        while (item := self.background.get()) is not _END:
            yield item

    def problems(self) -> list[tuple]:
        """Then the rows of their problems."""
        return self.background.get()


_END = object()


class _Background:
    """Plans the jobs' years one after the other in a thread, and makes the rows of their
    new visits there, handing them over through a short queue. Planning and making rows
    is pure Python, and the database does its share of the writing (SQLite's INSERT …
    SELECT, PostgreSQL's COPY) without holding Python's GIL, so on two cores the next
    rows are made while these are written. The thread touches no database: it has no
    connection of its own, and would not see this one's uncommitted rows."""

    def __init__(self, jobs, rows: _RowMaker):
        self.jobs, self.rows = jobs, rows
        self.handoff: queue.Queue = queue.Queue(maxsize=3)
        self.replies: queue.Queue = queue.Queue(maxsize=1)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._work, name="visits-demo", daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()
        self.thread.join()

    def __iter__(self):
        for _ in self.jobs:
            year, plans = self.get()
            yield _Job(year, plans, self)

    def get(self):
        item = self.handoff.get()
        if isinstance(item, BaseException):
            raise item
        return item

    def _put(self, item) -> bool:
        while not self.stop.is_set():
            try:
                self.handoff.put(item, timeout=0.2)
                return True
            except queue.Full:
                continue
        return False

    def _reply(self):
        while not self.stop.is_set():
            try:
                return self.replies.get(timeout=0.2)
            except queue.Empty:
                continue
        return None

    def _work(self) -> None:
        try:
            for year, plan in self.jobs:
                if not self._put((year, plan())) or (new := self._reply()) is None:
                    return
                for chunk in self.rows.visit_chunks(new):
                    if not self._put(chunk):
                        return
                if not self._put(_END) or not self._put(self.rows.problems(new)):
                    return
        except Exception as exc:  # handed over, raised in the caller's thread
            self._put(exc)


@contextmanager
def _sqlite_cache():
    """A 128 MB page cache on SQLite while the demo is loaded: the default 2 MB holds little
    of nine indexes growing at random places (a fifth of the insert time)."""
    if connection.vendor != "sqlite":
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA cache_size")
        before = int(cursor.fetchone()[0])
        cursor.execute(f"PRAGMA cache_size = {-SQLITE_CACHE_KB}")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA cache_size = {before}")


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


@transaction.atomic
def _write(stats: SyncStats, job: _Job) -> None:
    """Write the visits of one roster's planned year that are not stored yet, with their
    review events and problems. The visits already stored are left alone with their
    events and problems (a reviewer may have worked the demo queue)."""
    new = job.new(_stored_uuids(sorted({plan.cadre for plan in job.plans}), job.year))
    first_new = _max_id(Visit) + 1
    for chunk in job.chunks():
        _insert(Visit, VISIT_FIELDS, chunk)
    problem_rows = job.problems()
    if not new:
        return
    created = stats.created
    created[str(Visit._meta.verbose_name)] += len(new)
    created[str(VisitEvent._meta.verbose_name)] += _write_events(first_new)
    created[str(Problem._meta.verbose_name)] += _write_problems(problem_rows)


class _Times(dict):
    """{(date, minutes after its midnight): that local time as the database takes it},
    each made once (a year of visits has some 90,000 of them, for 360,000 visits)."""

    def __init__(self, ops, tz):
        super().__init__()
        self.adapt, self.tz = ops.adapt_datetimefield_value, tz

    def __missing__(self, key):
        day, minutes = key
        local = datetime.datetime.combine(day, datetime.time(), self.tz)
        value = self[key] = self.adapt(local + datetime.timedelta(minutes=minutes))
        return value


# GPS fixes: most visits carry one, taken within 1.5 km of the village's (demo) point; one in
# FAR_ONE_IN is taken 6–20 km away, so the 5 km flag (visits.services.location_check) fires.
NO_FIX_ONE_IN = 8
FAR_ONE_IN = 40
KM_PER_DEGREE = 111.19


def _fix(uuid_hex: str, village: tuple[float, float] | None) -> tuple:
    """(latitude, longitude, distance_km, location_flag) for a planned visit, drawn from its
    client_uuid (so a re-run gives the same fix), the distance and flag by the portal's
    own rule. No fix without a village coordinate, or for one visit in NO_FIX_ONE_IN."""
    if village is None:
        return None, None, None, False
    a, b, c = int(uuid_hex[:6], 16), int(uuid_hex[6:12], 16), int(uuid_hex[12:18], 16)
    if a % NO_FIX_ONE_IN == 0:
        return None, None, None, False
    far = a % FAR_ONE_IN == 1
    km = 6 + 14 * (b / 0xFFFFFF) if far else 1.5 * (b / 0xFFFFFF) ** 0.5
    bearing = 2 * math.pi * c / 0xFFFFFF
    lat = village[0] + km * math.cos(bearing) / KM_PER_DEGREE
    lon = village[1] + km * math.sin(bearing) / (KM_PER_DEGREE * math.cos(math.radians(lat)))
    lat, lon = f"{lat:.6f}", f"{lon:.6f}"
    distance, flag = location_check(lat, lon, village[0], village[1])
    return lat, lon, str(distance), flag


@dataclass
class _RowMaker:
    """Makes the rows of the visits and problems of planned years, values adapted for the
    database (and nothing else touched: this runs in a thread too)."""

    ops: object
    reviewer_of: dict
    peizhuang_user: int | None
    peizhuang_id: int | None
    tz: object
    village_points: dict = field(default_factory=dict)  # {village id: (lat, lon)}

    def visit_chunks(self, plans: list[Plan]):
        """Lists of WRITE_CHUNK tuples at most, one per plan, in the order of VISIT_FIELDS."""
        adapt_date = self.ops.adapt_datefield_value
        times = _Times(self.ops, self.tz)
        dates: dict = {}
        later: dict = {}  # {(date, days): the date so many days later}
        texts: dict = {}  # {(activities, meetings, households): (activities JSON, notes)}
        submitted = Visit.State.SUBMITTED
        reviewer_of, pz_user, pz_id = self.reviewer_of, self.peizhuang_user, self.peizhuang_id
        points = self.village_points
        rows = []
        add = rows.append
        for plan in plans:
            if not plan.uuid:
                plan.uuid = _uuid_hex(plan)
            date = plan.date
            day = dates.get(date) or dates.setdefault(date, adapt_date(date))
            key = (plan.activities, plan.meetings, plan.households)
            text = texts.get(key) or texts.setdefault(
                key, (json.dumps(list(plan.activities)), _notes(plan))
            )
            created = times[date, CREATED_AT + 2 * plan.slot]
            reviewed = reviewer = None
            if plan.state != submitted:
                key = (date, plan.review_days)
                on = later.get(key) or later.setdefault(
                    key, date + datetime.timedelta(days=plan.review_days)
                )
                reviewed = times[on, REVIEWED_AT + 2 * plan.slot % 180]
                reviewer = reviewer_of.get(plan.township) or reviewer_of.get(plan.township[:6])
            add(
                (
                    plan.uuid,
                    plan.cadre,
                    plan.village,
                    day,
                    plan.day_part,
                    text[0],
                    plan.meetings,
                    plan.people,
                    plan.households,
                    text[1],
                    *_fix(plan.uuid, points.get(plan.village)),
                    plan.state,
                    plan.comment,
                    reviewer,
                    reviewed,
                    pz_user if plan.cadre == pz_id else None,
                    created,
                    reviewed or created,
                )
            )
            if len(rows) == WRITE_CHUNK:
                yield rows
                rows = []
                add = rows.append
        if rows:
            yield rows

    def problems(self, plans: list[Plan]) -> list[tuple]:
        """The problems raised on `plans`, in the order of PROBLEM_FIELDS, with the visit's
        uuid in place of its id (not known yet)."""
        ops, tz = self.ops, self.tz
        rows = []
        for plan in plans:
            spec = plan.problem
            if spec is None:
                continue
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
            deadline = plan.date + datetime.timedelta(days=spec["deadline"])
            rows.append(
                (
                    plan.village,
                    plan.uuid,
                    spec["category"],
                    spec["description"],
                    spec["raised_by"],
                    spec["handler"],
                    ops.adapt_datefield_value(deadline),
                    status,
                    explanation,
                    ops.adapt_datefield_value(resolved_on),
                    satisfaction,
                    self.peizhuang_user if plan.cadre == self.peizhuang_id else None,
                    ops.adapt_datetimefield_value(created),
                    ops.adapt_datetimefield_value(updated),
                    # one problem per visit at most: named after its visit, so a re-run
                    # gives it the same client_uuid
                    uuid.uuid5(uuid.NAMESPACE_URL, f"xuchang-demo-problem:{plan.uuid}").hex,
                )
            )
        return rows


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
    return day + datetime.timedelta(minutes=CREATED_AT + 2 * plan.slot)


def _reviewed_at(plan: Plan, tz) -> datetime.datetime:
    day = datetime.datetime.combine(plan.date, datetime.time(), tz)
    minutes = REVIEWED_AT + 2 * plan.slot % 180
    return day + datetime.timedelta(days=plan.review_days, minutes=minutes)


def _ids(uuids: list[str]) -> dict[str, int]:
    """{client_uuid hex: id} of these visits (a few thousand: fetching all the new visits'
    would take a GIL handover per row, slow while the thread plans)."""
    ids = {}
    for start in range(0, len(uuids), PAGE):
        found = Visit.objects.filter(client_uuid__in=uuids[start : start + PAGE])
        ids.update((_hex(u), pk) for u, pk in found.order_by().values_list("client_uuid", "pk"))
    return ids


def _write_problems(problem_rows: list[tuple]) -> int:
    """Insert the problems made by `_RowMaker.problems`, each with its visit's id."""
    if not problem_rows:
        return 0
    ids = _ids([row[1] for row in problem_rows])
    _insert(Problem, PROBLEM_FIELDS, [(v, ids[u], *rest) for v, u, *rest in problem_rows])
    return len(problem_rows)
