"""Demo data for 三零创建: the 2022 records behind the published figures, and 2023 up to
the end of June.

The published 2022 figures (许昌日报 on the 2023 plan, see DESIGN.md §1) are reproduced
by records, not by overrides:

- 10,147 矛盾纠纷 found in 2022, of which 9,843 resolved (化解率 97.0 %);
- 2,109 of the 2,526 villages and communities of the 2022 roster 三零达标 (83.5 %): the
  other 417 each have at least one record the 三零 rule derives a break from (a 越级 petition
  at county level or above, an accident with casualties, or a criminal / major public-order
  case); the 达标 villages have only records the rule lets pass (village- or township-level
  petitions, accidents without casualties);
- 99 % of the enterprises and institutions 达标: 1,500 units take part in 2022 and 15 of
  them have a breaking record.

The clock's year (when it is after 2023) runs from 1 January to today, on its roster
(frozen by the villages demo when it opens the year), with the same helpers and a cut-off
at today: the counts are a year's worth times the share of the year gone by (about 9,600
disputes, 6 % of the villages and 0.8 % of the units breaking 三零 over a whole year), so
the dashboards project the 三零 rates on track. What is recent is still being handled
(disputes, petitions and hazards whose handling time has not run out are open), and the
current month has 零报告 from part of the villages only.

The statuses are then computed by the same service the Celery task runs
(`services.sanling_recompute`), so the selectors read them exactly as in production.

Deterministic for a seed, written in bulk (no history rows for demo data), and idempotent:
a year whose disputes exist already is left alone, units are matched on township and name.
At `scale` > 1 the roster is larger; the village rate keeps the published proportion
(rounded), the other counts are unchanged.
"""

from __future__ import annotations

import datetime
import random
from collections import defaultdict
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from disputes.models import (
    Dispute,
    HazardCheck,
    Incident,
    Petition,
    ThreeZeroUnit,
    ZeroReport,
)
from disputes.services import sanling_recompute
from villages.demo import GIVEN, PEIZHUANG, PLAN_YEAR, SURNAMES, SyncStats
from villages.models import RosterEntry, Township, Village

PUBLISHED_2022 = {
    "disputes": 10_147,
    "resolved": 9_843,
    "villages_met": 2_109,
    "roster_villages": 2_526,
    "units": 1_500,
    "unit_rate": 0.99,
}
PLAN_2023 = {"disputes": 5_260, "resolved_share": 0.955, "broken_share": 0.08, "units_new": 40}
UNTIL_2023 = datetime.date(2023, 6, 30)  # 2023 is partway through: records up to here
# The clock's year, per whole year (scaled to the share of the year gone by).
PRESENT = {
    "disputes": 9_600,
    "resolved_share": 0.98,  # of those whose handling time has run out
    "broken_share": 0.06,
    "unit_broken_share": 0.008,
    "passing_petitions": 900,
    "passing_incidents": 300,
    "hazards": 3_000,
    "hazards_open": 40,
}
UNIT_TYPES = {  # weights of the 1,500 units
    ThreeZeroUnit.Type.SCHOOL: 330,
    ThreeZeroUnit.Type.KINDERGARTEN: 260,
    ThreeZeroUnit.Type.HOSPITAL: 90,
    ThreeZeroUnit.Type.SCENIC: 25,
    ThreeZeroUnit.Type.MALL: 45,
    ThreeZeroUnit.Type.MARKET: 110,
    ThreeZeroUnit.Type.FACTORY: 180,
    ThreeZeroUnit.Type.STATION: 20,
    ThreeZeroUnit.Type.RESEARCH: 10,
    ThreeZeroUnit.Type.ENTERPRISE: 280,
    ThreeZeroUnit.Type.OUTLET: 150,
}
UNIT_NAMES = {
    ThreeZeroUnit.Type.SCHOOL: ("{v}小学", "{t}第{n}初级中学"),
    ThreeZeroUnit.Type.KINDERGARTEN: ("{v}幼儿园", "{t}中心幼儿园{n}园"),
    ThreeZeroUnit.Type.HOSPITAL: ("{t}卫生院", "{v}卫生室"),
    ThreeZeroUnit.Type.SCENIC: ("{v}生态园景区", "{t}花海景区"),
    ThreeZeroUnit.Type.MALL: ("{t}购物中心", "{t}第{n}商场"),
    ThreeZeroUnit.Type.MARKET: ("{t}农贸市场", "{v}集贸市场"),
    ThreeZeroUnit.Type.FACTORY: ("许昌{v}建材厂", "{t}第{n}砖厂"),
    ThreeZeroUnit.Type.STATION: ("{t}汽车站", "{t}客运站"),
    ThreeZeroUnit.Type.RESEARCH: ("{t}农业科学研究所", "{t}花木研究站"),
    ThreeZeroUnit.Type.ENTERPRISE: ("许昌{v}发制品有限公司", "{t}第{n}机械有限公司"),
    ThreeZeroUnit.Type.OUTLET: ("{v}便民超市", "{t}农村信用社{n}网点"),
}
DISPUTE_TYPES = {
    Dispute.Type.NEIGHBOUR: 25,
    Dispute.Type.MARRIAGE: 20,
    Dispute.Type.HOMESTEAD: 15,
    Dispute.Type.LAND: 10,
    Dispute.Type.CONTRACT: 6,
    Dispute.Type.DAMAGES: 6,
    Dispute.Type.LABOUR: 5,
    Dispute.Type.TRAFFIC: 4,
    Dispute.Type.BUSINESS: 3,
    Dispute.Type.VILLAGE_AFFAIRS: 2,
    Dispute.Type.PROPERTY: 1,
    Dispute.Type.EXPROPRIATION: 1,
    Dispute.Type.POLLUTION: 1,
    Dispute.Type.CONSUMER: 1,
    Dispute.Type.MEDICAL: 1,
    Dispute.Type.OTHER: 3,
}
SUMMARIES = {
    Dispute.Type.NEIGHBOUR: "两户因排水沟走向发生争执",
    Dispute.Type.MARRIAGE: "夫妻因赡养老人问题发生矛盾",
    Dispute.Type.HOMESTEAD: "相邻两户宅基地边界有争议",
    Dispute.Type.LAND: "土地承包经营权流转租金争议",
    Dispute.Type.CONTRACT: "农资买卖合同货款纠纷",
    Dispute.Type.DAMAGES: "饲养的家畜损坏邻户庄稼",
    Dispute.Type.LABOUR: "务工人员被拖欠工资",
    Dispute.Type.TRAFFIC: "电动车与三轮车剐蹭赔偿争议",
    Dispute.Type.BUSINESS: "合伙经营收益分配争议",
    Dispute.Type.VILLAGE_AFFAIRS: "群众对村集体收益分配有异议",
    Dispute.Type.PROPERTY: "小区物业费收取争议",
    Dispute.Type.EXPROPRIATION: "征地补偿款分配争议",
    Dispute.Type.POLLUTION: "养殖场异味影响周边住户",
    Dispute.Type.CONSUMER: "购买家电质量问题退换争议",
    Dispute.Type.MEDICAL: "诊所诊疗费用争议",
    Dispute.Type.OTHER: "其他矛盾纠纷",
}
STATUS_2022_UNRESOLVED = {Dispute.Status.REPORTED: 261, Dispute.Status.IN_PROGRESS: 43}
DISPUTE_SOURCES = list(Dispute.Source.values)
DISPUTE_METHODS = list(Dispute.Method.values)[:3]
PETITION_CHANNELS = list(Petition.Channel.values)
INCIDENT_KINDS = dict(Incident.Kind.choices)
SITE_TYPES = list(HazardCheck.SiteType.values)
REGULATED = list(HazardCheck.Regulated.values)


@dataclass(frozen=True)
class YearPlan:
    """How many records one demo year gets; `by_date`: the year runs up to today, so what
    is recent is still being handled."""

    disputes: int
    unresolved: dict = field(default_factory=dict)
    broken_villages: int = 0
    broken_units: int = 0
    passing_petitions: int = 900
    passing_incidents: int = 300
    hazards: int = 3_000
    hazards_open: int = 20
    by_date: bool = False


def _name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + rng.choice(GIVEN)


def _day(rng: random.Random, year: int, until: datetime.date | None = None) -> datetime.date:
    start = datetime.date(year, 1, 1)
    end = until or datetime.date(year, 12, 31)
    return start + datetime.timedelta(days=rng.randrange((end - start).days + 1))


def _roster(year: int) -> list[tuple[int, int, str, str]]:
    """(village_id, township_id, village name, village code) of `year`'s roster."""
    return list(
        RosterEntry.objects.filter(roster__year=year)
        .order_by("village__code")
        .values_list("village_id", "village__township_id", "village__name", "village__code")
    )


def _elapsed(today: datetime.date) -> float:
    """The share of today's year gone by, today included."""
    start = datetime.date(today.year, 1, 1)
    return ((today - start).days + 1) / ((datetime.date(today.year, 12, 31) - start).days + 1)


def _units_of(units, year: int) -> list[tuple[int, int, int | None]]:
    return [u for y, us in units.items() if y <= year for u in us]


def _plan_2022(roster, units) -> YearPlan:
    met = round(len(roster) * PUBLISHED_2022["villages_met"] / PUBLISHED_2022["roster_villages"])
    return YearPlan(
        disputes=PUBLISHED_2022["disputes"],
        unresolved=dict(STATUS_2022_UNRESOLVED),
        broken_villages=len(roster) - met,
        broken_units=round(len(_units_of(units, 2022)) * (1 - PUBLISHED_2022["unit_rate"])),
    )


def _plan_2023(roster) -> YearPlan:
    n = PLAN_2023["disputes"]
    open_total = n - round(n * PLAN_2023["resolved_share"])
    return YearPlan(
        disputes=n,
        unresolved={
            Dispute.Status.REPORTED: open_total // 3,
            Dispute.Status.IN_PROGRESS: open_total - open_total // 3 - 40,
            Dispute.Status.REGISTERED: 40,
        },
        broken_villages=round(len(roster) * PLAN_2023["broken_share"]),
        broken_units=9,
        hazards=1_600,
        hazards_open=160,
    )


def _plan_present(roster, units, today: datetime.date) -> YearPlan:
    share = _elapsed(today)
    n = round(PRESENT["disputes"] * share)
    open_total = n - round(n * PRESENT["resolved_share"])
    registered = open_total // 6
    return YearPlan(
        disputes=n,
        unresolved={
            Dispute.Status.REPORTED: open_total // 3,
            Dispute.Status.IN_PROGRESS: open_total - open_total // 3 - registered,
            Dispute.Status.REGISTERED: registered,
        },
        broken_villages=round(len(roster) * PRESENT["broken_share"] * share),
        broken_units=round(
            len(_units_of(units, today.year)) * PRESENT["unit_broken_share"] * share
        ),
        passing_petitions=round(PRESENT["passing_petitions"] * share),
        passing_incidents=round(PRESENT["passing_incidents"] * share),
        hazards=round(PRESENT["hazards"] * share),
        hazards_open=round(PRESENT["hazards_open"] * share),
        by_date=True,
    )


def seed_demo(*, seed: int = 2023, scale: int = 1) -> SyncStats:
    stats = SyncStats()
    rng = random.Random(seed * 7 + 6)
    roster_2022 = _roster(2022)
    if not roster_2022:
        return stats  # villages were not seeded: nothing to attach records to
    today = timezone.localdate()
    years = [2022, 2023]
    with transaction.atomic():
        units = _seed_units(rng, roster_2022, stats)
        if not Dispute.objects.filter(registered_on__year=2022).exists():
            plan = _plan_2022(roster_2022, units)
            _seed_year(rng, 2022, roster_2022, units, stats, until=None, plan=plan)
        roster_2023 = _roster(2023) or roster_2022
        if not Dispute.objects.filter(registered_on__year=2023).exists():
            plan = _plan_2023(roster_2023)
            _seed_year(rng, 2023, roster_2023, units, stats, until=UNTIL_2023, plan=plan)
        roster = _roster(today.year) if today.year > PLAN_YEAR else []
        if roster:
            years.append(today.year)
            if not Dispute.objects.filter(registered_on__year=today.year).exists():
                plan = _plan_present(roster, units, today)
                present_rng = random.Random(seed * 7 + today.year)
                _seed_year(present_rng, today.year, roster, units, stats, until=today, plan=plan)
    for year in years:
        result = sanling_recompute(year=year)
        if result["created"] or result["changed"]:
            stats.updated["三零年度状态"] += result["created"] + result["changed"]
    return stats


def _write(stats, model, rows, batch_size=2000, **options) -> None:
    """Write demo rows in bulk (no history rows) and count them."""
    model.objects.bulk_create(rows, batch_size=batch_size, **options)
    stats.created[model._meta.verbose_name] += len(rows)


# ----- units -----


def _seed_units(rng, roster, stats) -> dict[int, list[tuple[int, int, int | None]]]:
    """The 1,500 units of 2022 and 40 more from 2023. Returns {year_from: [(unit_id,
    township_id, village_id)]}."""
    townships = {t.pk: t.name for t in Township.objects.filter(pk__in={r[1] for r in roster})}
    kinds = list(UNIT_TYPES)
    weights = list(UNIT_TYPES.values())
    wanted = []
    seen = set()
    total = PUBLISHED_2022["units"] + PLAN_2023["units_new"]
    while len(wanted) < total:
        village_id, township_id, village_name, _code = rng.choice(roster)
        kind = rng.choices(kinds, weights)[0]
        pattern = rng.choice(UNIT_NAMES[kind])
        name = pattern.format(v=village_name, t=townships[township_id], n=rng.randint(1, 9))
        if (township_id, name) in seen:
            continue
        seen.add((township_id, name))
        in_village = "{v}" in pattern
        year_from = 2023 if len(wanted) >= PUBLISHED_2022["units"] else rng.choice((2021, 2022))
        wanted.append(
            {
                "name": name,
                "unit_type": kind,
                "township_id": township_id,
                "village_id": village_id if in_village else None,
                "year_from": year_from,
                "contact_name": _name(rng),
                "contact_phone": f"0374-{rng.randrange(10**7):07d}",
            }
        )
    existing = {(u.township_id, u.name): u for u in ThreeZeroUnit.objects.all()}
    new = [ThreeZeroUnit(**w) for w in wanted if (w["township_id"], w["name"]) not in existing]
    if new:
        _write(stats, ThreeZeroUnit, new, batch_size=1000)
    by_key = {(u.township_id, u.name): u for u in ThreeZeroUnit.objects.all()}
    out: dict[int, list] = defaultdict(list)
    for w in wanted:
        u = by_key[(w["township_id"], w["name"])]
        out[u.year_from].append((u.pk, u.township_id, u.village_id))
    return out


# ----- one year of records -----


def _seed_year(rng, year, roster, units, stats, *, until, plan: YearPlan) -> None:
    village_ids = [r[0] for r in roster]
    township_of = {r[0]: r[1] for r in roster}
    active_units = _units_of(units, year)
    by_date = plan.by_date

    disputes = _disputes(
        rng, year, village_ids, township_of, plan.disputes, plan.unresolved, until, by_date
    )
    _write(stats, Dispute, disputes)

    broken = set(rng.sample(village_ids, plan.broken_villages))
    broken_units = rng.sample(active_units, plan.broken_units)
    petitions, incidents = _breaking_records(
        rng, year, broken, township_of, broken_units, until, by_date
    )
    ok_villages = [v for v in village_ids if v not in broken]
    more_p, more_i = _passing_records(rng, year, ok_villages, township_of, until, plan=plan)
    petitions += more_p
    incidents += more_i
    _write(stats, Petition, petitions)
    _write(stats, Incident, incidents)

    hazards = _hazards(rng, year, village_ids, township_of, until, plan=plan)
    _write(stats, HazardCheck, hazards)

    reports = _zero_reports(rng, year, village_ids, disputes, until, by_date)
    written_from = timezone.now()
    _write(stats, ZeroReport, reports, batch_size=5000, ignore_conflicts=True)
    if by_date:
        _date_zero_reports(year, until, written_from)


def _date_zero_reports(year: int, today: datetime.date, written_from) -> None:
    """A month's 零报告 carry the month's last day as their report time (this month's:
    now), not the moment the demo wrote them. One UPDATE per month."""
    now = timezone.now()
    for month in range(1, today.month + 1):
        first = datetime.date(year, month, 1)
        last = (first.replace(day=28) + datetime.timedelta(days=4)).replace(day=1)
        last -= datetime.timedelta(days=1)
        at = now
        if last < today:
            at = datetime.datetime.combine(
                last, datetime.time(17, 30), timezone.get_current_timezone()
            )
        ZeroReport.objects.filter(month=first, reported_at__gte=written_from).update(reported_at=at)


def _disputes(
    rng, year, village_ids, township_of, n, unresolved, until, by_date=False
) -> list[Dispute]:
    """`by_date`: a dispute whose mediation time runs past `until` is still in progress."""
    types, weights = list(DISPUTE_TYPES), list(DISPUTE_TYPES.values())
    last = until or datetime.date(year, 12, 31)
    statuses = [Dispute.Status.RESOLVED] * (n - sum(unresolved.values()))
    for status, count in unresolved.items():
        statuses += [status] * count
    rng.shuffle(statuses)
    peizhuang = Village.objects.filter(code=PEIZHUANG).values_list("pk", flat=True).first()
    out = []
    for i, status in enumerate(statuses):
        village_id = (
            peizhuang if (peizhuang in township_of and i % 1500 == 7) else rng.choice(village_ids)
        )
        kind = rng.choices(types, weights)[0]
        registered = _day(rng, year, until)
        people = rng.choices((2, 3, 4, 6, 12), (70, 15, 8, 5, 2))[0]
        risk = rng.choices(
            (Dispute.Risk.YELLOW, Dispute.Risk.ORANGE, Dispute.Risk.RED), (82, 14, 4)
        )[0]
        d = Dispute(
            township_id=township_of[village_id],
            village_id=village_id,
            dispute_type=kind,
            source=rng.choices(DISPUTE_SOURCES, (60, 20, 8, 10, 2))[0],
            registered_on=registered,
            summary=SUMMARIES[kind],
            parties=f"{_name(rng)}、{_name(rng)}",
            party_id_numbers=f"411024{rng.randint(1950, 2000)}{rng.randrange(10**8):08d}",
            party_phones=f"13{rng.randrange(10**9):09d}",
            people_involved=people,
            risk_level=risk,
            responsible=rng.choice(("村调委会", "镇司法所", "村党支部书记", "镇综治中心")),
            deadline=registered + datetime.timedelta(days=30),
            method=rng.choices(DISPUTE_METHODS, (80, 15, 5))[0],
            status=status,
            started_on=registered,
        )
        took = None
        if status == Dispute.Status.RESOLVED:
            took = datetime.timedelta(days=rng.randint(0, 25))
        if by_date and took is not None and registered + took > last:
            d.status = Dispute.Status.IN_PROGRESS
        elif status == Dispute.Status.RESOLVED:
            d.resolved_on = min(registered + took, last)
            d.measures = "组织双方当面调解，达成调解协议"
            if rng.random() < 0.6:
                d.follow_up_on = min(d.resolved_on + datetime.timedelta(days=7), last)
                d.follow_up_note = "双方履行协议，未再发生矛盾"
                d.satisfaction = rng.choices(("satisfied", "basic"), (85, 15))[0]
        elif status == Dispute.Status.REPORTED:
            d.reported_on = min(registered + datetime.timedelta(days=rng.randint(5, 30)), last)
            d.reported_to = rng.choice(("镇综治中心", "县矛盾纠纷多元化解中心", "县人民法院"))
        elif status == Dispute.Status.REGISTERED:
            d.started_on = None
        out.append(d)
    return out


def _petition(
    rng, year, village_id, township_id, until, *, level, skip, unit_id=None, by_date=False
) -> Petition:
    """`by_date`: a petition whose handling time runs past `until` is still open."""
    received = _day(rng, year, until)
    last = until or datetime.date(year, 12, 31)
    handled = received + datetime.timedelta(days=rng.randint(10, 55))
    concluded = min(handled, last)
    still_open = until is not None and rng.random() < 0.06
    still_open = still_open or (by_date and handled > last)
    return Petition(
        township_id=township_id,
        village_id=village_id,
        unit_id=unit_id,
        channel=rng.choices(PETITION_CHANNELS, (15, 35, 15, 5, 15, 13, 2))[0],
        received_on=received,
        petitioner_name=_name(rng),
        petitioner_id_number=f"411024{rng.randint(1950, 2000)}{rng.randrange(10**8):08d}",
        petitioner_phone=f"15{rng.randrange(10**9):09d}",
        people_involved=rng.choice((1, 1, 1, 2, 3)),
        subject=rng.choice(
            ("反映宅基地审批问题", "反映土地征收补偿问题", "反映拖欠工资问题", "反映低保评定问题")
        ),
        level_reached=level,
        is_skip_level=skip,
        is_repeat=rng.random() < 0.1,
        handler=rng.choice(("镇信访办", "县信访局", "县自然资源局")),
        status=Petition.Status.ACCEPTED if still_open else Petition.Status.CONCLUDED,
        accepted_on=min(received + datetime.timedelta(days=rng.randint(1, 10)), last),
        concluded_on=None if still_open else concluded,
        result="" if still_open else "已答复信访人，依法依规处理",
    )


def _incident(rng, year, village_id, township_id, until, *, kind, deaths, injuries, unit_id=None):
    return Incident(
        township_id=township_id,
        village_id=village_id,
        unit_id=unit_id,
        kind=kind,
        occurred_on=_day(rng, year, until),
        place=rng.choice(("村内道路", "村东机井旁", "厂区车间", "村南坑塘", "集市")),
        summary=str(INCIDENT_KINDS[kind]),
        deaths=deaths,
        injuries=injuries,
        source=Incident.Source.POLICE
        if kind in ("criminal", "major_public_order")
        else "emergency",
        handling="已按规定上报并处置",
    )


def _breaking_records(rng, year, broken, township_of, broken_units, until, by_date=False):
    """At least one record the 三零 rule breaks on, for each broken village and unit."""
    petitions, incidents = [], []
    for village_id in sorted(broken):
        township_id = township_of[village_id]
        for _ in range(rng.choices((1, 2), (85, 15))[0]):
            cause = rng.choices(("petition", "accident", "case"), (40, 35, 25))[0]
            if cause == "petition":
                level = rng.choices(("county", "city", "province", "beijing"), (60, 25, 12, 3))[0]
                petitions.append(
                    _petition(
                        rng, year, village_id, township_id, until,
                        level=level, skip=True, by_date=by_date,
                    )
                )  # fmt: skip
            elif cause == "accident":
                kind = rng.choice(("traffic", "drowning", "electrocution", "fire", "production"))
                deaths = rng.choices((0, 1), (70, 30))[0]
                incidents.append(
                    _incident(
                        rng, year, village_id, township_id, until,
                        kind=kind, deaths=deaths, injuries=rng.randint(0 if deaths else 1, 3),
                    )
                )  # fmt: skip
            else:
                kind = rng.choices(("criminal", "major_public_order"), (70, 30))[0]
                incidents.append(
                    _incident(
                        rng, year, village_id, township_id, until, kind=kind, deaths=0, injuries=0
                    )
                )
    for unit_id, township_id, village_id in broken_units:
        incidents.append(
            _incident(
                rng, year, village_id, township_id, until,
                kind="production", deaths=0, injuries=rng.randint(1, 2), unit_id=unit_id,
            )
        )  # fmt: skip
    return petitions, incidents


def _passing_records(rng, year, villages, township_of, until, *, plan: YearPlan):
    """Records that do not break 三零: local or non-skip-level petitions, accidents with no
    casualties."""
    petitions, incidents = [], []
    for village_id in rng.sample(villages, min(len(villages), plan.passing_petitions)):
        level, skip = rng.choice((("village", False), ("township", False), ("county", False)))
        petitions.append(
            _petition(
                rng, year, village_id, township_of[village_id], until,
                level=level, skip=skip, by_date=plan.by_date,
            )
        )  # fmt: skip
    for village_id in rng.sample(villages, min(len(villages), plan.passing_incidents)):
        incidents.append(
            _incident(
                rng, year, village_id, township_of[village_id], until,
                kind=rng.choice(("fire", "traffic", "other_accident")), deaths=0, injuries=0,
            )
        )  # fmt: skip
    return petitions, incidents


def _hazards(rng, year, village_ids, township_of, until, *, plan: YearPlan) -> list[HazardCheck]:
    """`plan.hazards_open` checks still being put right; with `plan.by_date` also those
    whose rectification time runs past `until`."""
    out = []
    last = until or datetime.date(year, 12, 31)
    for i in range(plan.hazards):
        village_id = rng.choice(village_ids)
        checked = _day(rng, year, until)
        rectified = i >= plan.hazards_open
        regulated = rng.sample(REGULATED, rng.choices((0, 1), (85, 15))[0])
        site_type = rng.choice(SITE_TYPES)
        site_name = rng.choice(("村小学", "村幼儿园", "农贸市场", "砖厂", "卫生室", "超市"))
        hazard = rng.choice(("消防通道堵塞", "电线私拉乱接", "灭火器过期", "护栏缺失"))
        responsible = _name(rng)
        rectified_on = None
        if rectified:
            fixed = checked + datetime.timedelta(days=rng.randint(1, 14))
            rectified = not (plan.by_date and fixed > last)
            rectified_on = min(fixed, last) if rectified else None
        out.append(
            HazardCheck(
                township_id=township_of[village_id],
                village_id=village_id,
                site_type=site_type,
                site_name=site_name,
                checked_on=checked,
                hazard=hazard,
                regulated_items=regulated,
                responsible=responsible,
                deadline=checked + datetime.timedelta(days=15),
                status=HazardCheck.Status.RECTIFIED if rectified else HazardCheck.Status.RECTIFYING,
                rectified_on=rectified_on,
                note="已整改到位" if rectified else "正在整改",
            )
        )
    return out


def _zero_reports(rng, year, village_ids, disputes, until, by_date=False) -> list[ZeroReport]:
    """A 零报告 for most village-months with no dispute (about 3 % are left unreported);
    with `by_date`, the month of `until` has them from part of the villages only (the
    share of the month gone by)."""
    found = {(d.village_id, d.registered_on.month) for d in disputes}
    last = until or datetime.date(year, 12, 31)
    last_month = last.month
    month_done = (
        last.day
        / (
            (last.replace(day=28) + datetime.timedelta(days=4)).replace(day=1)
            - datetime.timedelta(days=1)
        ).day
    )
    out = []
    for village_id in village_ids:
        for month in range(1, last_month + 1):
            if (village_id, month) in found or rng.random() < 0.03:
                continue
            if by_date and month == last_month and rng.random() >= month_done:
                continue
            out.append(ZeroReport(village_id=village_id, month=datetime.date(year, month, 1)))
    return out
