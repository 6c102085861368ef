"""Demo data for 五星支部, generated (never typed in) from a seeded RNG:

- 2022: the published result on the 2022 roster (2,349 villages and 177 urban
  communities, one branch each): 34 five-star and 246 four-star villages, 4 five-star and
  35 four-star communities, 1,171 of 2,526 branches with three stars or more (46.36 %).
  Levels are dealt out by quota, so the selectors compute these figures by construction;
  the other levels get a plausible spread. Every branch with a star holds 支部过硬星.
  The year is entered as an import of results and locked.
- 2023: partway through the year on the 2023 roster (2,462 branches): awards at every
  step of the chain, a few refused and withdrawn, ticked key tasks, and the 65 软弱涣散
  cases, some already 销号.
- The clock's year (when it is after 2023), on its roster (frozen by the villages demo
  when it opens the year): a star cycle in progress from 1 January to now. Each branch
  starts from the stars it held at the end of the newest earlier year with awards (2023
  on a fresh database): it applies again for those and for up to two more; a branch with
  no star starts with 支部过硬星. Every application has a whole-year timetable (申报 →
  乡镇初审 → 县级评定 → 公示 → 授星, or 不予通过), and only the steps whose time has come
  are written, so the chain's dates are the live rules' dates: 评定 ≤ 公示 start, 授星
  after the 公示 period (the configured number of days) has ended, no other star before
  支部过硬星. A few 公示 are placed to be running now in every county (and in the demo
  township official's township). 软弱涣散 cases: the newest earlier year's open cases
  carried over and new ones from the branches with no star, identified early in the
  year, some already 销号.

Idempotent: a year that already has awards (or cases) is left alone.
"""

from __future__ import annotations

import datetime
import random
from collections import defaultdict

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from core.history import request_meta
from stars.models import (
    RatingYear,
    Scheme,
    StarAward,
    StarAwardEvent,
    StarSettings,
    StarTask,
    StarTaskCheck,
    StarType,
    WeakBranchCase,
    WeakReason,
    scheme_of_kind,
)
from stars.schemes import ensure_star_types
from villages.demo import PLAN_YEAR, SyncStats
from villages.models import RosterEntry

# The published 2022 result per scheme, level -> branches. Levels 3..0 are our spread;
# the three-star counts make 1,171 branches with ≥ 3 stars in all.
RESULT_2022 = {
    Scheme.RURAL: {5: 34, 4: 246, 3: 800, 2: 560, 1: 480, 0: 229},  # 2,349
    Scheme.URBAN: {5: 4, 4: 35, 3: 52, 2: 40, 1: 30, 0: 16},  # 177
}
WEAK_CASES_2023 = 65
WEAK_ACCEPTED_2023 = 26
WEAK_REOPENED_2023 = 2
AS_OF_2023 = datetime.date(2023, 9, 20)  # the 2023 demo is a snapshot of this day
STAR_WEIGHTS = {
    "industry": 3,
    "ecology": 2.5,
    "safety": 3.5,
    "civility": 1.5,
    "business": 2,
    "sharing": 3,
    "harmony": 2.5,
}
COMMENTS = {
    StarAwardEvent.Step.APPLY: [
        "对照标准自评达标，申报",
        "材料已整理完毕，申报",
        "村党支部自评申报",
    ],
    StarAwardEvent.Step.TOWNSHIP_REVIEW: ["材料齐全，同意上报", "经实地查看，初审通过", "同意"],
    StarAwardEvent.Step.COUNTY_RATE: ["经县级评定，符合标准", "同意评定", "评定通过"],
    StarAwardEvent.Step.AWARD: ["公示期满无异议，授星", "公示无异议"],
}
WITHDRAW_REASONS = [
    "发生一般生产安全事故，造成人员受伤",
    "村党支部书记受到党纪处分",
    "发生越级集体上访",
    "发生有重大影响的治安案件",
]
PLANS = [
    "配强班子，选派第一书记驻村；规范“三会一课”；每月研判整顿进度",
    "调整不胜任的村党支部书记；清理村级财务；落实“四议两公开”",
    "排查化解信访矛盾；建立班子议事规则；开展党员集中轮训",
    "县乡联合工作队进驻；完善村务监督委员会；发展优秀青年入党",
]


def _quota(counts: dict[int, int], n: int) -> dict[int, int]:
    """`counts` as given when the group has exactly their total; otherwise scaled to `n`
    by largest remainder (demo at --scale > 1)."""
    base = sum(counts.values())
    if n == base:
        return dict(counts)
    shares = {lv: c * n / base for lv, c in counts.items()}
    out = {lv: int(s) for lv, s in shares.items()}
    for lv in sorted(shares, key=lambda lv: out[lv] - shares[lv])[: n - sum(out.values())]:
        out[lv] += 1
    return out


def _pick_stars(rng: random.Random, others: list[StarType], k: int) -> list[StarType]:
    """k of the non-foundation stars, weighted (some stars are harder than others)."""
    keyed = sorted(others, key=lambda s: -(rng.random() ** (1 / STAR_WEIGHTS.get(s.code, 2))))
    return keyed[:k]


def _entries(year: int) -> list[tuple[int, str, int, int]]:
    """(branch_id, scheme, township_id, county_id) of each roster branch, once each."""
    seen, rows = set(), []
    for branch_id, kind, township_id, county_id in (
        RosterEntry.objects.filter(roster__year=year)
        .order_by("branch__code", "village__code")
        .values_list(
            "branch_id", "village__kind", "branch__township_id", "branch__township__county_id"
        )
    ):
        if branch_id in seen:
            continue
        seen.add(branch_id)
        rows.append((branch_id, scheme_of_kind(kind), township_id, county_id))
    return rows


def _at(day: datetime.date, rng: random.Random) -> datetime.datetime:
    return datetime.datetime.combine(
        day, datetime.time(rng.randint(8, 17), rng.randint(0, 59)), timezone.get_current_timezone()
    )


def _area_of(user, attr: str) -> int | None:
    """The county or township id of a demo official (None without a role)."""
    role = getattr(user, "portal_role", None) if user else None
    return getattr(role, attr, None) if role else None


@transaction.atomic
def seed_demo(*, seed: int = 2023, scale: int = 1) -> SyncStats:
    stats = SyncStats()
    made = ensure_star_types(StarType, StarTask)
    if made:
        stats.created["星级类型与重点任务"] += made
    stars = defaultdict(list)
    for star in StarType.objects.order_by("order", "id"):
        stars[star.scheme].append(star)
    users = {
        u.username: u
        for u in get_user_model().objects.filter(
            username__in=["admin", "county_yanling", "township_zhangqiao"]
        )
    }
    levels_2022 = {}
    if not StarAward.objects.filter(year=2022).exists():
        levels_2022 = _seed_2022(random.Random(seed * 7 + 2022), stars, stats)
    else:
        for row in StarAward.objects.filter(year=2022, state=StarAward.State.AWARDED).values_list(
            "branch_id", flat=True
        ):
            levels_2022[row] = levels_2022.get(row, 0) + 1
    lock, created = RatingYear.objects.get_or_create(
        year=2022,
        defaults={
            "locked": True,
            "locked_at": _at(datetime.date(2023, 2, 1), random.Random(seed)),
            "locked_by": users.get("admin"),
            "note": "2022年度评定结果已通报，锁定",
        },
    )
    if created:
        stats.created["年度评定锁定"] += 1
    if not StarAward.objects.filter(year=2023).exists():
        _seed_2023(random.Random(seed * 7 + 2023), stars, levels_2022, users, stats)
    if not WeakBranchCase.objects.filter(year=2023).exists():
        _seed_weak_2023(random.Random(seed * 7 + 65), levels_2022, users, stats)
    now = timezone.localtime()
    year = now.year
    if year > PLAN_YEAR:
        if not StarAward.objects.filter(year=year).exists():
            _seed_present(random.Random(seed * 7 + year), year, now, stars, users, stats)
        if not WeakBranchCase.objects.filter(year=year).exists():
            _seed_weak_present(random.Random(seed * 7 + year + 65), year, now, users, stats)
    return stats


def _seed_2022(rng: random.Random, stars, stats: SyncStats) -> dict[int, int]:
    entries = _entries(2022)
    if not entries:
        return {}
    awards, levels = [], {}
    for scheme in (Scheme.RURAL, Scheme.URBAN):
        group = [e for e in entries if e[1] == scheme]
        rng.shuffle(group)
        quota = _quota(RESULT_2022[scheme], len(group))
        dealt = [lv for lv in (5, 4, 3, 2, 1, 0) for _ in range(quota[lv])]
        foundation = next(s for s in stars[scheme] if s.is_foundation)
        others = [s for s in stars[scheme] if not s.is_foundation]
        for (branch_id, *_), level in zip(group, dealt, strict=True):
            levels[branch_id] = level
            if not level:
                continue
            for star in [foundation, *_pick_stars(rng, others, level - 1)]:
                awards.append(
                    StarAward(
                        branch_id=branch_id,
                        year=2022,
                        star_type=star,
                        state=StarAward.State.AWARDED,
                        publicity_start=datetime.date(2022, 12, 12),
                        publicity_end=datetime.date(2022, 12, 17),
                        awarded_on=datetime.date(2022, 12, 28),
                    )
                )
    StarAward.objects.bulk_create(awards, batch_size=2000)
    at = _at(datetime.date(2023, 1, 18), rng)
    StarAward.objects.filter(year=2022).update(created_at=at, updated_at=at)
    StarAwardEvent.objects.bulk_create(
        [
            StarAwardEvent(
                award=a,
                step=StarAwardEvent.Step.IMPORT,
                comment="2022年度评定结果录入（县级评定、公示后授星）",
                at=at,
            )
            for a in awards
        ],
        batch_size=2000,
    )
    stats.created["2022年度星级"] += len(awards)
    return levels


# 2023: how far each star got by the snapshot day, by share of branches that took it up.
STEPS_2023 = [
    (StarAward.State.AWARDED, 0.34),
    (StarAward.State.PUBLICIZED, 0.10),
    (StarAward.State.COUNTY_RATED, 0.13),
    (StarAward.State.TOWNSHIP_APPROVED, 0.16),
    (StarAward.State.APPLIED, 0.23),
    (StarAward.State.REJECTED, 0.04),
]
CHAIN = [
    (StarAwardEvent.Step.APPLY, StarAward.State.APPLIED),
    (StarAwardEvent.Step.TOWNSHIP_REVIEW, StarAward.State.TOWNSHIP_APPROVED),
    (StarAwardEvent.Step.COUNTY_RATE, StarAward.State.COUNTY_RATED),
    (StarAwardEvent.Step.PUBLICIZE, StarAward.State.PUBLICIZED),
    (StarAwardEvent.Step.AWARD, StarAward.State.AWARDED),
]
ORDER = [state for _, state in CHAIN]


def _seed_2023(rng: random.Random, stars, levels_2022, users, stats: SyncStats) -> None:
    entries = _entries(2023)
    if not entries:
        return
    county_user, township_user = users.get("county_yanling"), users.get("township_zhangqiao")
    township_of_user = _area_of(township_user, "township_id")
    county_of_user = _area_of(county_user, "county_id")
    states, weights = zip(*STEPS_2023, strict=True)
    plans = []  # (award, state, township_id, county_id)
    for branch_id, scheme, township_id, county_id in entries:
        before = levels_2022.get(branch_id)
        if before is None:  # a 2023 joint branch: a fresh start
            before = rng.choice((0, 1, 1, 2))
        if rng.random() < 0.12:  # not started yet this year
            continue
        target = max(1, min(5, before + rng.choice((0, 0, 1))))
        foundation = next(s for s in stars[scheme] if s.is_foundation)
        others = [s for s in stars[scheme] if not s.is_foundation]
        chosen = [foundation, *_pick_stars(rng, others, target - 1)]
        base = rng.choices(states, weights=weights)[0]
        for index, star in enumerate(chosen):
            state = base if index == 0 else rng.choices(states, weights=weights)[0]
            if index and plans and plans[-index][1] != StarAward.State.AWARDED:
                # no other star is awarded before 支部过硬星
                if state == StarAward.State.AWARDED:
                    state = StarAward.State.COUNTY_RATED
            plans.append(
                (
                    StarAward(branch_id=branch_id, year=2023, star_type=star, state=state),
                    state,
                    township_id,
                    county_id,
                )
            )
    # A few awarded (non-foundation) stars withdrawn after an incident.
    awarded_others = [
        p for p in plans if p[1] == StarAward.State.AWARDED and not p[0].star_type.is_foundation
    ]
    withdrawn = set(id(p[0]) for p in rng.sample(awarded_others, min(8, len(awarded_others))))
    events = []
    for award, state, township_id, county_id in plans:
        day = datetime.date(2023, 3, 1) + datetime.timedelta(days=rng.randint(0, 75))
        steps = CHAIN[: ORDER.index(state) + 1] if state in ORDER else CHAIN[: rng.randint(1, 3)]
        award_events = []
        for step, _ in steps:
            if step == StarAwardEvent.Step.PUBLICIZE:
                award.publicity_start = day
                award.publicity_end = day + datetime.timedelta(days=5)
                comment = f"公示期 5 天，至 {award.publicity_end.isoformat()}"
            else:
                comment = rng.choice(COMMENTS[step])
            if step == StarAwardEvent.Step.AWARD:
                day = max(day, award.publicity_end or day) + datetime.timedelta(
                    days=rng.randint(0, 4)
                )
                award.awarded_on = day
            actor = None
            if step in (StarAwardEvent.Step.APPLY, StarAwardEvent.Step.TOWNSHIP_REVIEW):
                actor = township_user if township_id == township_of_user else None
            elif county_id == county_of_user:
                actor = county_user
            award_events.append(
                StarAwardEvent(
                    award=award,
                    step=step,
                    actor=actor,
                    comment=comment,
                    at=_at(min(day, AS_OF_2023), rng),
                )
            )
            day += datetime.timedelta(days=rng.randint(4, 18))
        if state == StarAward.State.REJECTED:
            award_events.append(
                StarAwardEvent(
                    award=award,
                    step=StarAwardEvent.Step.REJECT,
                    comment="重点任务未全部完成，佐证材料不足",
                    at=_at(min(day, AS_OF_2023), rng),
                )
            )
        if id(award) in withdrawn:
            award.state = StarAward.State.WITHDRAWN
            award.withdrawn_reason = rng.choice(WITHDRAW_REASONS)
            award.withdrawn_on = min(day + datetime.timedelta(days=30), AS_OF_2023)
            award_events.append(
                StarAwardEvent(
                    award=award,
                    step=StarAwardEvent.Step.WITHDRAW,
                    comment=award.withdrawn_reason,
                    at=_at(award.withdrawn_on, rng),
                )
            )
        events.extend(award_events)
    awards = [p[0] for p in plans]
    StarAward.objects.bulk_create(awards, batch_size=2000)
    for e in events:
        e.award_id = e.award.pk
    StarAwardEvent.objects.bulk_create(events, batch_size=2000)
    # Creation time = the 申报 event; one UPDATE per day keeps this bulk.
    first = {}
    for e in events:
        first.setdefault(e.award_id, e.at)
    by_at = defaultdict(list)
    for award_id, at in first.items():
        by_at[at.date()].append(award_id)
    for day, ids in by_at.items():
        at = _at(day, rng)
        StarAward.objects.filter(pk__in=ids).update(created_at=at, updated_at=at)
    checks = _task_checks(rng, awards, 2023)
    StarTaskCheck.objects.bulk_create(checks, batch_size=2000)
    stats.created["2023年度星级申报"] += len(awards)
    stats.created["2023年度评定环节记录"] += len(events)
    stats.created["2023年度重点任务填报"] += len(checks)


def _seed_weak_2023(rng: random.Random, levels_2022, users, stats: SyncStats) -> None:
    entries = _entries(2023)
    if not entries:
        return
    # Weak branches come from the low levels of 2022 (no quota per township).
    pool = [e for e in entries if levels_2022.get(e[0], 0) <= 1]
    pool = pool if len(pool) >= WEAK_CASES_2023 else entries
    chosen = rng.sample(pool, min(WEAK_CASES_2023, len(pool)))
    county_user = users.get("county_yanling")
    county_of_user = _area_of(county_user, "county_id")
    cases, stages = [], []
    for index, (branch_id, _scheme, _township_id, county_id) in enumerate(chosen):
        identified = datetime.date(2023, 2, 10) + datetime.timedelta(days=rng.randint(0, 45))
        case = WeakBranchCase(
            branch_id=branch_id,
            year=2023,
            identified_on=identified,
            reasons=rng.sample(WeakReason.values, rng.randint(1, 3)),
            situation="年初全面排查中认定，经乡镇党委研究、县委组织部审核。",
            created_by=county_user if county_id == county_of_user else None,
        )
        steps = [(identified, WeakBranchCase.Status.IDENTIFIED)]
        if index < WEAK_ACCEPTED_2023 + WEAK_REOPENED_2023 + 25:  # a plan is in place
            steps.append((identified + datetime.timedelta(days=rng.randint(7, 20)), "rectifying"))
            case.status = WeakBranchCase.Status.RECTIFYING
            case.rectification_plan = rng.choice(PLANS)
            case.responsible_leader = rng.choice("王李张刘陈杨赵黄周吴") + rng.choice(
                ["副书记", "副镇长", "组织委员", "人大主席"]
            )
            case.first_secretary = (
                rng.choice("王李张刘陈杨赵黄周吴")
                + rng.choice(["伟", "强", "磊", "敏", "静"])
                + "（第一书记）"
            )
        if index < WEAK_ACCEPTED_2023:
            case.status = WeakBranchCase.Status.ACCEPTED
            case.accepted_on = identified + datetime.timedelta(days=rng.randint(90, 180))
            case.accepted_on = min(case.accepted_on, AS_OF_2023)
            case.acceptance_note = "经县乡联合验收，达到整顿标准，同意销号"
            steps.append((case.accepted_on, WeakBranchCase.Status.ACCEPTED))
        elif index < WEAK_ACCEPTED_2023 + WEAK_REOPENED_2023:
            case.status = WeakBranchCase.Status.REOPENED
            case.reopen_reason = "销号后回访发现班子仍不团结，重新整顿"
            accepted = min(
                identified + datetime.timedelta(days=rng.randint(90, 150)),
                AS_OF_2023 - datetime.timedelta(days=20),
            )
            steps.append((accepted, WeakBranchCase.Status.ACCEPTED))
            steps.append((accepted + datetime.timedelta(days=rng.randint(10, 20)), "reopened"))
        cases.append(case)
        stages.append(steps)
    WeakBranchCase.objects.bulk_create(cases)
    _weak_history(rng, cases, stages)
    stats.created["2023年度软弱涣散村党组织"] += len(cases)


def _weak_history(rng: random.Random, cases, stages) -> None:
    """One history row per step each demo case went through, dated on its day (at the
    given time, if a step carries one), so a case's 办理记录 reads as it happened
    (认定 → 整顿中 → 已销号 → 重新整顿)."""
    model = WeakBranchCase.history.model
    fields = [f.attname for f in model.tracked_fields]
    rows = []
    for case, steps in zip(cases, stages, strict=True):
        for number, (day, status, *at) in enumerate(steps):
            values = {name: getattr(case, name) for name in fields}
            values["status"] = status
            if status == WeakBranchCase.Status.IDENTIFIED:
                values |= {
                    "rectification_plan": "",
                    "responsible_leader": "",
                    "first_secretary": "",
                }
            if status != WeakBranchCase.Status.ACCEPTED:
                values |= {"accepted_on": None, "acceptance_note": ""}
            else:
                values["accepted_on"] = day
            if status != WeakBranchCase.Status.REOPENED:
                values["reopen_reason"] = ""
            rows.append(
                model(
                    history_date=at[0] if at else _at(day, rng),
                    history_user=case.created_by,
                    history_type="+" if number == 0 else "~",
                    history_change_reason="演示数据",
                    **request_meta(user=case.created_by),
                    **values,
                )
            )
    model.objects.bulk_create(rows, batch_size=2000)


# ----- the present: the clock's year, from 1 January to now -----

# Stars a branch adds this year to those it held: +0, +1 or +2 (weights).
PRESENT_GAIN = ((0, 1, 2), (45, 40, 15))
PRESENT_NEW_START = 0.75  # share of the branches holding no star that start this year
PRESENT_REJECT = {StarAwardEvent.Step.TOWNSHIP_REVIEW: 0.04, StarAwardEvent.Step.COUNTY_RATE: 0.03}
PRESENT_RUNNING_PER_COUNTY = 2  # 公示 running now, at least, in each county
PRESENT_WITHDRAWN = 3
PRESENT_WEAK_CASES = 48
PRESENT_WEAK_ACCEPTED = 0.55  # share of the year's cases 销号 within the year (when due)
PRESENT_WEAK_REOPENED = 2
STEP_STATE = dict(CHAIN) | {StarAwardEvent.Step.REJECT: StarAward.State.REJECTED}
REJECT_COMMENTS = {
    StarAwardEvent.Step.TOWNSHIP_REVIEW: "申报材料不全，佐证不足，乡镇初审不予通过",
    StarAwardEvent.Step.COUNTY_RATE: "重点任务未全部完成，县级评定不予通过",
}


def _after(at: datetime.datetime, day: datetime.date, rng: random.Random) -> datetime.datetime:
    """A time on `day` later than `at` (the steps of a chain happen in order, several on
    one day if need be)."""
    moment = _at(day, rng)
    if moment <= at:
        moment = at + datetime.timedelta(minutes=rng.randint(5, 40))
    return moment


def _timetable(rng, first: datetime.date, publicity_days: int, reject_at):
    """[(step, day)] of one application over the whole year, from 申报 on `first`."""
    apply = first
    review = apply + datetime.timedelta(days=rng.randint(3, 15))
    rate = review + datetime.timedelta(days=rng.randint(7, 30))
    start = rate + datetime.timedelta(days=rng.randint(0, 10))
    award = start + datetime.timedelta(days=publicity_days + rng.randint(1, 4))
    Step = StarAwardEvent.Step
    if reject_at == Step.TOWNSHIP_REVIEW:
        return [(Step.APPLY, apply), (Step.REJECT, review)]
    if reject_at == Step.COUNTY_RATE:
        return [(Step.APPLY, apply), (Step.TOWNSHIP_REVIEW, review), (Step.REJECT, rate)]
    return [
        (Step.APPLY, apply),
        (Step.TOWNSHIP_REVIEW, review),
        (Step.COUNTY_RATE, rate),
        (Step.PUBLICIZE, start),
        (Step.AWARD, award),
    ]


def _running_now(days, today: datetime.date, publicity_days: int) -> bool:
    """A timetable whose 公示 started before today and ends after it."""
    start = dict(days).get(StarAwardEvent.Step.PUBLICIZE)
    return start is not None and start < today < start + datetime.timedelta(days=publicity_days)


def _publicize_recently(rng, days, year_start: datetime.date, today: datetime.date, period: int):
    """The same application's timetable moved so that its 公示 started within the last
    few days (never before 1 January, never today) and is still running."""
    Step = StarAwardEvent.Step
    back = min(rng.randint(1, period - 1), (today - year_start).days)
    start = today - datetime.timedelta(days=back)
    rate = max(year_start, start - datetime.timedelta(days=rng.randint(0, 4)))
    review = max(year_start, rate - datetime.timedelta(days=rng.randint(1, 7)))
    apply = max(year_start, review - datetime.timedelta(days=rng.randint(1, 7)))
    award = start + datetime.timedelta(days=period + rng.randint(1, 4))
    return [
        (Step.APPLY, apply),
        (Step.TOWNSHIP_REVIEW, review),
        (Step.COUNTY_RATE, rate),
        (Step.PUBLICIZE, start),
        (Step.AWARD, award),
    ]


def _held_before(year: int) -> tuple[int | None, dict[int, set[int]]]:
    """(the newest year before `year` with awarded stars, {branch_id: {star_type_id}} held
    at its end)."""
    base = StarAward.objects.filter(year__lt=year, state=StarAward.State.AWARDED).aggregate(
        y=Max("year")
    )["y"]
    held: dict[int, set[int]] = defaultdict(set)
    if base is not None:
        for branch_id, star_id in StarAward.objects.filter(
            year=base, state=StarAward.State.AWARDED
        ).values_list("branch_id", "star_type_id"):
            held[branch_id].add(star_id)
    return base, held


def _seed_present(rng, year: int, now: datetime.datetime, stars, users, stats) -> None:
    entries = _entries(year)
    if not entries:
        return
    Step = StarAwardEvent.Step
    today, year_start = now.date(), datetime.date(year, 1, 1)
    period = StarSettings.current().publicity_days
    base, held = _held_before(year)
    county_user, township_user = users.get("county_yanling"), users.get("township_zhangqiao")
    county_of_user = _area_of(county_user, "county_id")
    township_of_user = _area_of(township_user, "township_id")
    county_of = {e[0]: e[3] for e in entries}

    # Each application's timetable for the whole year, decided before looking at the clock.
    plans = []  # [branch_id, township_id, county_id, star, [(step, day)]]
    for branch_id, scheme, township_id, county_id in entries:
        foundation = next(s for s in stars[scheme] if s.is_foundation)
        others = [s for s in stars[scheme] if not s.is_foundation]
        kept = [s for s in others if s.pk in held[branch_id]]
        if not held[branch_id] and rng.random() > PRESENT_NEW_START:
            continue
        gain = rng.choices(*PRESENT_GAIN)[0]
        fresh = [s for s in others if s not in kept]
        chosen = [
            foundation,
            *kept,
            *_pick_stars(rng, fresh, gain if held[branch_id] else gain // 2),
        ]
        # Branches with stars apply again early in the year; new starts come all year
        # round, so some applications are at every step whatever the day.
        offset = rng.randint(0, 120) if held[branch_id] else rng.randint(10, 364)
        first = year_start + datetime.timedelta(days=offset)
        refused = rng.choices(
            [None, *PRESENT_REJECT],
            [1 - sum(PRESENT_REJECT.values()), *PRESENT_REJECT.values()],
        )[0]
        for index, star in enumerate(chosen):
            day = first + datetime.timedelta(days=rng.randint(0, 20) if index else 0)
            reject_at = refused
            if index and refused is None and rng.random() < 0.05:
                reject_at = Step.COUNTY_RATE
            plans.append(
                [branch_id, township_id, county_id, star, _timetable(rng, day, period, reject_at)]
            )

    # Some 公示 running now in every county and in the demo township.
    if period >= 2 and today > year_start:
        counties = sorted(set(county_of.values()))
        areas = [(2, county_id, PRESENT_RUNNING_PER_COUNTY) for county_id in counties]
        if township_of_user is not None:
            areas.append((1, township_of_user, 1))
        for column, area_id, wanted in areas:
            mine = [p for p in plans if p[column] == area_id]
            missing = wanted - sum(_running_now(p[4], today, period) for p in mine)
            # Those not yet published first, then other stars (nothing rests on them), then
            # any (the branch's other stars then wait for its 支部过硬星).
            chains = [p for p in mine if len(p[4]) == 5]
            later = [p for p in chains if dict(p[4])[Step.PUBLICIZE] > today]
            rest = [
                p
                for p in chains
                if dict(p[4])[Step.PUBLICIZE] <= today and not _running_now(p[4], today, period)
            ]
            others = [p for p in rest if not p[3].is_foundation]
            foundations = [p for p in rest if p[3].is_foundation]
            for group in (later, others, foundations):
                for plan in rng.sample(group, min(len(group), max(0, missing))):
                    plan[4] = _publicize_recently(rng, plan[4], year_start, today, period)
                    missing -= 1

    # Times of day, in order; a non-foundation star is granted no earlier than 支部过硬星.
    timed = []
    granted_at = {}
    for branch_id, township_id, county_id, star, days in plans:
        moments, at = [], None
        for step, day in days:
            at = _after(at, day, rng) if at else _at(day, rng)
            if step == Step.AWARD and not star.is_foundation:
                at = max(at, granted_at.get(branch_id, at) + datetime.timedelta(minutes=10))
            if step == Step.AWARD and star.is_foundation:
                granted_at[branch_id] = at
            moments.append((step, at))
        timed.append((branch_id, township_id, county_id, star, moments))

    # What has happened by now.
    awards, events = [], []
    for branch_id, township_id, county_id, star, moments in timed:
        done = [(step, at) for step, at in moments if at <= now]
        if not done:
            continue
        award = StarAward(
            branch_id=branch_id, year=year, star_type=star, state=STEP_STATE[done[-1][0]]
        )
        for step, at in done:
            day = timezone.localdate(at)
            # 申报, 乡镇初审 and a refusal there are the township's; the rest the county's.
            by_township = step in (Step.APPLY, Step.TOWNSHIP_REVIEW) or (
                step == Step.REJECT and len(done) == 2
            )
            if step == Step.PUBLICIZE:
                award.publicity_start = day
                award.publicity_end = day + datetime.timedelta(days=period)
                comment = f"公示期 {period} 天，至 {award.publicity_end.isoformat()}"
            elif step == Step.REJECT:
                comment = REJECT_COMMENTS[Step.TOWNSHIP_REVIEW if by_township else Step.COUNTY_RATE]
            else:
                comment = rng.choice(COMMENTS[step])
            if step == Step.AWARD:
                award.awarded_on = day
            if by_township:
                actor = township_user if township_id == township_of_user else None
            else:
                actor = county_user if county_id == county_of_user else None
            events.append(
                StarAwardEvent(award=award, step=step, actor=actor, comment=comment, at=at)
            )
        awards.append(award)

    # A few stars granted early in the year and since withdrawn after an incident.
    early = [
        a
        for a in awards
        if a.state == StarAward.State.AWARDED
        and not a.star_type.is_foundation
        and a.awarded_on + datetime.timedelta(days=21) <= today
    ]
    for award in rng.sample(early, min(PRESENT_WITHDRAWN, len(early))):
        award.state = StarAward.State.WITHDRAWN
        award.withdrawn_reason = rng.choice(WITHDRAW_REASONS)
        award.withdrawn_on = min(
            award.awarded_on + datetime.timedelta(days=rng.randint(20, 60)),
            today - datetime.timedelta(days=1),
        )
        events.append(
            StarAwardEvent(
                award=award,
                step=Step.WITHDRAW,
                actor=county_user if county_of[award.branch_id] == county_of_user else None,
                comment=award.withdrawn_reason,
                at=_at(award.withdrawn_on, rng),
            )
        )

    StarAward.objects.bulk_create(awards, batch_size=2000)
    for e in events:
        e.award_id = e.award.pk
    StarAwardEvent.objects.bulk_create(events, batch_size=2000)
    # Creation time = the 申报 event; one UPDATE per day keeps this bulk.
    by_day = defaultdict(list)
    for e in events:
        if e.step == Step.APPLY:
            by_day[timezone.localdate(e.at)].append((e.at, e.award_id))
    for _day, rows in sorted(by_day.items()):
        at = min(at for at, _ in rows)
        StarAward.objects.filter(pk__in=[pk for _, pk in rows]).update(created_at=at, updated_at=at)
    checks = _task_checks(rng, awards, year)
    StarTaskCheck.objects.bulk_create(checks, batch_size=2000)
    label = f"{year}年度星级申报（自{base}年度已获星级起）" if base else f"{year}年度星级申报"
    stats.created[label] += len(awards)
    stats.created[f"{year}年度评定环节记录"] += len(events)
    stats.created[f"{year}年度重点任务填报"] += len(checks)


def _task_checks(rng, awards, year: int) -> list[StarTaskCheck]:
    """Key tasks ticked for what was declared, with a line of evidence."""
    tasks = defaultdict(list)
    for task in StarTask.objects.order_by("order"):
        tasks[task.star_type_id].append(task)
    seen, checks = set(), []
    for award in awards:
        for task in tasks[award.star_type_id]:
            key = (award.branch_id, task.pk)
            if key in seen:
                continue
            seen.add(key)
            met = (
                award.state in (StarAward.State.AWARDED, StarAward.State.PUBLICIZED)
                or rng.random() < 0.7
            )
            checks.append(
                StarTaskCheck(
                    branch_id=award.branch_id,
                    year=year,
                    task=task,
                    met=met,
                    evidence=f"已完成，台账见村级档案（{task.title[:12]}）" if met else "正在推进",
                )
            )
    return checks


def _seed_weak_present(rng, year: int, now: datetime.datetime, users, stats) -> None:
    """This year's 软弱涣散 cases: the open ones of the newest earlier year carried over
    (registered again in early January, their 整顿 going on, so some are 销号 within weeks)
    and new ones from branches with no star (found at the start of the year or mid-year);
    more than half are 销号 within the year, two reopened."""
    entries = _entries(year)
    if not entries:
        return
    year_start = datetime.date(year, 1, 1)
    before = WeakBranchCase.objects.filter(year__lt=year).aggregate(y=Max("year"))["y"]
    carried = set(
        WeakBranchCase.objects.filter(year=before, status__in=WeakBranchCase.OPEN).values_list(
            "branch_id", flat=True
        )
    )
    _base, held = _held_before(year)
    chosen = [e for e in entries if e[0] in carried][:PRESENT_WEAK_CASES]
    pool = [e for e in entries if e[0] not in carried and not held[e[0]]] or [
        e for e in entries if e[0] not in carried
    ]
    chosen += rng.sample(pool, min(len(pool), PRESENT_WEAK_CASES - len(chosen)))
    rng.shuffle(chosen)
    county_user = users.get("county_yanling")
    county_of_user = _area_of(county_user, "county_id")
    accepted = round(len(chosen) * PRESENT_WEAK_ACCEPTED)
    S = WeakBranchCase.Status
    cases, stages = [], []
    for index, (branch_id, _scheme, _township_id, county_id) in enumerate(chosen):
        if branch_id in carried:  # registered again at once, its 整顿 goes on: 销号 sooner
            identified = year_start + datetime.timedelta(days=rng.randint(1, 20))
            plan_day = identified + datetime.timedelta(days=rng.randint(1, 5))
            to_accept = rng.randint(20, 150)
        else:  # found in the check at the start of the year, or in the mid-year one
            late = rng.random() < 0.25
            identified = year_start + datetime.timedelta(
                days=rng.randint(90, 270) if late else rng.randint(10, 85)
            )
            plan_day = identified + datetime.timedelta(days=rng.randint(7, 20))
            to_accept = rng.randint(90, 220)
        steps = [(identified, S.IDENTIFIED), (plan_day, S.RECTIFYING)]
        if index < accepted + PRESENT_WEAK_REOPENED:
            steps.append((identified + datetime.timedelta(days=to_accept), S.ACCEPTED))
        if accepted <= index < accepted + PRESENT_WEAK_REOPENED:
            steps.append((steps[-1][0] + datetime.timedelta(days=rng.randint(10, 25)), S.REOPENED))
        moments, at = [], None
        for day, status in steps:
            at = _after(at, day, rng) if at else _at(day, rng)
            moments.append((at, status))
        done = [(at, status) for at, status in moments if at <= now]
        if not done:
            continue
        situation = (
            "上年度未完成整顿销号，本年度继续整顿。"
            if branch_id in carried
            else "年初全面排查中认定，经乡镇党委研究、县委组织部审核。"
        )
        case = WeakBranchCase(
            branch_id=branch_id,
            year=year,
            identified_on=timezone.localdate(done[0][0]),
            reasons=rng.sample(WeakReason.values, rng.randint(1, 3)),
            situation=situation,
            status=done[-1][1],
            created_by=county_user if county_id == county_of_user else None,
        )
        if len(done) > 1:
            case.rectification_plan = rng.choice(PLANS)
            case.responsible_leader = rng.choice("王李张刘陈杨赵黄周吴") + rng.choice(
                ["副书记", "副镇长", "组织委员", "人大主席"]
            )
            case.first_secretary = (
                rng.choice("王李张刘陈杨赵黄周吴")
                + rng.choice(["伟", "强", "磊", "敏", "静"])
                + "（第一书记）"
            )
        if case.status == S.ACCEPTED:
            case.accepted_on = timezone.localdate(done[-1][0])
            case.acceptance_note = "经县乡联合验收，达到整顿标准，同意销号"
        if case.status == S.REOPENED:
            case.reopen_reason = "销号后回访发现班子仍不团结，重新整顿"
        cases.append(case)
        stages.append([(timezone.localdate(at), status, at) for at, status in done])
    WeakBranchCase.objects.bulk_create(cases)
    _weak_history(rng, cases, stages)
    stats.created[f"{year}年度软弱涣散村党组织"] += len(cases)
