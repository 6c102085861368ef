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

Idempotent: a year that already has awards (or cases) is left alone.
"""

from __future__ import annotations

import datetime
import random
from collections import defaultdict

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from stars.models import (
    RatingYear,
    Scheme,
    StarAward,
    StarAwardEvent,
    StarTask,
    StarTaskCheck,
    StarType,
    WeakBranchCase,
    WeakReason,
    scheme_of_kind,
)
from stars.schemes import ensure_star_types
from villages.demo import SyncStats
from villages.history import request_meta
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
    township_of_user = (
        township_user.portal_role.township_id
        if township_user and hasattr(township_user, "portal_role")
        else None
    )
    county_of_user = (
        county_user.portal_role.county_id
        if county_user and hasattr(county_user, "portal_role")
        else None
    )
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
    events, checks = [], []
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
    # Key tasks ticked for what was declared, with a line of evidence.
    tasks = defaultdict(list)
    for task in StarTask.objects.order_by("order"):
        tasks[task.star_type_id].append(task)
    seen = set()
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
                    year=2023,
                    task=task,
                    met=met,
                    evidence=f"已完成，台账见村级档案（{task.title[:12]}）" if met else "正在推进",
                )
            )
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
    county_of_user = (
        county_user.portal_role.county_id
        if county_user and hasattr(county_user, "portal_role")
        else None
    )
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
    """One history row per step each demo case went through, dated on its day, so a
    case's 办理记录 reads as it happened (认定 → 整顿中 → 已销号 → 重新整顿)."""
    model = WeakBranchCase.history.model
    fields = [f.attname for f in model.tracked_fields]
    rows = []
    for case, steps in zip(cases, stages, strict=True):
        for number, (day, status) in enumerate(steps):
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
                    history_date=_at(day, rng),
                    history_user=case.created_by,
                    history_type="+" if number == 0 else "~",
                    history_change_reason="演示数据",
                    **request_meta(user=case.created_by),
                    **values,
                )
            )
    model.objects.bulk_create(rows, batch_size=2000)
