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

from django.db import transaction

from disputes.models import (
    Dispute,
    HazardCheck,
    Incident,
    Petition,
    ThreeZeroUnit,
    ZeroReport,
)
from disputes.services import sanling_recompute
from villages.demo import GIVEN, PEIZHUANG, SURNAMES, SyncStats
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


def seed_demo(*, seed: int = 2023, scale: int = 1) -> SyncStats:
    stats = SyncStats()
    rng = random.Random(seed * 7 + 6)
    roster_2022 = _roster(2022)
    if not roster_2022:
        return stats  # villages were not seeded: nothing to attach records to
    with transaction.atomic():
        units = _seed_units(rng, roster_2022, stats)
        if not Dispute.objects.filter(registered_on__year=2022).exists():
            _seed_year(rng, 2022, roster_2022, units, stats, until=None)
        roster_2023 = _roster(2023) or roster_2022
        if not Dispute.objects.filter(registered_on__year=2023).exists():
            _seed_year(rng, 2023, roster_2023, units, stats, until=UNTIL_2023)
    for year in (2022, 2023):
        result = sanling_recompute(year=year)
        if result["created"] or result["changed"]:
            stats.updated["三零年度状态"] += result["created"] + result["changed"]
    return stats


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
        ThreeZeroUnit.objects.bulk_create(new, batch_size=1000)
        stats.created[ThreeZeroUnit._meta.verbose_name] += len(new)
    by_key = {(u.township_id, u.name): u for u in ThreeZeroUnit.objects.all()}
    out: dict[int, list] = defaultdict(list)
    for w in wanted:
        u = by_key[(w["township_id"], w["name"])]
        out[u.year_from].append((u.pk, u.township_id, u.village_id))
    return out


# ----- one year of records -----


def _seed_year(rng, year, roster, units, stats, *, until) -> None:
    village_ids = [r[0] for r in roster]
    township_of = {r[0]: r[1] for r in roster}
    if year == 2022:
        n_disputes = PUBLISHED_2022["disputes"]
        unresolved = dict(STATUS_2022_UNRESOLVED)
        n_broken = len(roster) - round(
            len(roster) * PUBLISHED_2022["villages_met"] / PUBLISHED_2022["roster_villages"]
        )
    else:
        n_disputes = PLAN_2023["disputes"]
        open_total = n_disputes - round(n_disputes * PLAN_2023["resolved_share"])
        unresolved = {
            Dispute.Status.REPORTED: open_total // 3,
            Dispute.Status.IN_PROGRESS: open_total - open_total // 3 - 40,
            Dispute.Status.REGISTERED: 40,
        }
        n_broken = round(len(roster) * PLAN_2023["broken_share"])
    active_units = [u for y, us in units.items() if y <= year for u in us]
    n_units_broken = round(len(active_units) * (1 - PUBLISHED_2022["unit_rate"]))
    if year != 2022:
        n_units_broken = 9

    disputes = _disputes(rng, year, village_ids, township_of, n_disputes, unresolved, until)
    Dispute.objects.bulk_create(disputes, batch_size=2000)
    stats.created[Dispute._meta.verbose_name] += len(disputes)

    broken = set(rng.sample(village_ids, n_broken))
    broken_units = rng.sample(active_units, n_units_broken)
    petitions, incidents = _breaking_records(rng, year, broken, township_of, broken_units, until)
    ok_villages = [v for v in village_ids if v not in broken]
    more_p, more_i = _passing_records(rng, year, ok_villages, township_of, until)
    petitions += more_p
    incidents += more_i
    Petition.objects.bulk_create(petitions, batch_size=2000)
    Incident.objects.bulk_create(incidents, batch_size=2000)
    stats.created[Petition._meta.verbose_name] += len(petitions)
    stats.created[Incident._meta.verbose_name] += len(incidents)

    hazards = _hazards(rng, year, village_ids, township_of, until)
    HazardCheck.objects.bulk_create(hazards, batch_size=2000)
    stats.created[HazardCheck._meta.verbose_name] += len(hazards)

    reports = _zero_reports(rng, year, village_ids, disputes, until)
    ZeroReport.objects.bulk_create(reports, batch_size=5000, ignore_conflicts=True)
    stats.created[ZeroReport._meta.verbose_name] += len(reports)


def _disputes(rng, year, village_ids, township_of, n, unresolved, until) -> list[Dispute]:
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
            source=rng.choices(list(Dispute.Source.values), (60, 20, 8, 10, 2))[0],
            registered_on=registered,
            summary=SUMMARIES[kind],
            parties=f"{_name(rng)}、{_name(rng)}",
            party_id_numbers=f"411024{rng.randint(1950, 2000)}{rng.randrange(10**8):08d}",
            party_phones=f"13{rng.randrange(10**9):09d}",
            people_involved=people,
            risk_level=risk,
            responsible=rng.choice(("村调委会", "镇司法所", "村党支部书记", "镇综治中心")),
            deadline=registered + datetime.timedelta(days=30),
            method=rng.choices(list(Dispute.Method.values)[:3], (80, 15, 5))[0],
            status=status,
            started_on=registered,
        )
        if status == Dispute.Status.RESOLVED:
            d.resolved_on = min(registered + datetime.timedelta(days=rng.randint(0, 25)), last)
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


def _petition(rng, year, village_id, township_id, until, *, level, skip, unit_id=None) -> Petition:
    received = _day(rng, year, until)
    last = until or datetime.date(year, 12, 31)
    concluded = min(received + datetime.timedelta(days=rng.randint(10, 55)), last)
    still_open = until is not None and rng.random() < 0.06
    return Petition(
        township_id=township_id,
        village_id=village_id,
        unit_id=unit_id,
        channel=rng.choices(list(Petition.Channel.values), (15, 35, 15, 5, 15, 13, 2))[0],
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
        summary=str(dict(Incident.Kind.choices)[kind]),
        deaths=deaths,
        injuries=injuries,
        source=Incident.Source.POLICE
        if kind in ("criminal", "major_public_order")
        else "emergency",
        handling="已按规定上报并处置",
    )


def _breaking_records(rng, year, broken, township_of, broken_units, until):
    """At least one record the 三零 rule breaks on, for each broken village and unit."""
    petitions, incidents = [], []
    for village_id in sorted(broken):
        township_id = township_of[village_id]
        for _ in range(rng.choices((1, 2), (85, 15))[0]):
            cause = rng.choices(("petition", "accident", "case"), (40, 35, 25))[0]
            if cause == "petition":
                level = rng.choices(("county", "city", "province", "beijing"), (60, 25, 12, 3))[0]
                petitions.append(
                    _petition(rng, year, village_id, township_id, until, level=level, skip=True)
                )
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


def _passing_records(rng, year, villages, township_of, until):
    """Records that do not break 三零: local or non-skip-level petitions, accidents with no
    casualties."""
    petitions, incidents = [], []
    for village_id in rng.sample(villages, min(len(villages), 900)):
        level, skip = rng.choice((("village", False), ("township", False), ("county", False)))
        petitions.append(
            _petition(rng, year, village_id, township_of[village_id], until, level=level, skip=skip)
        )
    for village_id in rng.sample(villages, min(len(villages), 300)):
        incidents.append(
            _incident(
                rng, year, village_id, township_of[village_id], until,
                kind=rng.choice(("fire", "traffic", "other_accident")), deaths=0, injuries=0,
            )
        )  # fmt: skip
    return petitions, incidents


def _hazards(rng, year, village_ids, township_of, until) -> list[HazardCheck]:
    out = []
    site_types = list(HazardCheck.SiteType.values)
    count = 3_000 if until is None else 1_600
    open_count = 20 if until is None else 160
    for i in range(count):
        village_id = rng.choice(village_ids)
        checked = _day(rng, year, until)
        last = until or datetime.date(year, 12, 31)
        rectified = i >= open_count
        regulated = rng.sample(list(HazardCheck.Regulated.values), rng.choices((0, 1), (85, 15))[0])
        out.append(
            HazardCheck(
                township_id=township_of[village_id],
                village_id=village_id,
                site_type=rng.choice(site_types),
                site_name=rng.choice(("村小学", "村幼儿园", "农贸市场", "砖厂", "卫生室", "超市")),
                checked_on=checked,
                hazard=rng.choice(("消防通道堵塞", "电线私拉乱接", "灭火器过期", "护栏缺失")),
                regulated_items=regulated,
                responsible=_name(rng),
                deadline=checked + datetime.timedelta(days=15),
                status=HazardCheck.Status.RECTIFIED if rectified else HazardCheck.Status.RECTIFYING,
                rectified_on=min(checked + datetime.timedelta(days=rng.randint(1, 14)), last)
                if rectified
                else None,
                note="已整改到位" if rectified else "正在整改",
            )
        )
    return out


def _zero_reports(rng, year, village_ids, disputes, until) -> list[ZeroReport]:
    """A 零报告 for most village-months with no dispute (about 3 % are left unreported)."""
    found = {(d.village_id, d.registered_on.month) for d in disputes}
    last_month = (until or datetime.date(year, 12, 31)).month
    out = []
    for village_id in village_ids:
        for month in range(1, last_month + 1):
            if (village_id, month) in found or rng.random() < 0.03:
                continue
            out.append(ZeroReport(village_id=village_id, month=datetime.date(year, month, 1)))
    return out
