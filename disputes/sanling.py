"""The 三零 rule (零上访、零事故、零案件) and the ledger parameters, in one place.

The exact provincial 细则 is not public (domain.md §3), so every parameter is a Django
setting read here with a default (documented in README.md, section 三零创建):

- SANLING_PETITION_MIN_LEVEL ("county"): a petition that reached this level or higher…
- SANLING_PETITION_SKIP_LEVEL_ONLY (True): …and was 越级 breaks 零上访 (False: any
  petition at that level does);
- SANLING_ACCIDENT_KINDS (every 安全事故 kind): an accident of these kinds…
- SANLING_ACCIDENT_MIN_CASUALTIES (1): …with at least this many deaths + injuries breaks
  零事故;
- SANLING_CASE_KINDS (刑事案件, 重大治安案件): any of these breaks 零案件;
- SANLING_UNIT_RECORDS_BREAK_VILLAGE (False): whether a record filed against a unit
  also counts against the village it lies in.

A year is judged on the records dated in it (登记日期 of a petition, 发生日期 of an
incident); a village or unit is 达标 until one of them happens.

Ledger parameters: PETITION_ACCEPT_DAYS (15), PETITION_HANDLE_DAYS (60),
PETITION_EXTENSION_DAYS (30), PETITION_DUE_SOON_DAYS (5), DISPUTE_COLLECTIVE_THRESHOLD
(5: 群体性 from this many people), DISPUTE_HIGH_RISK_LEVELS (("red",)).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from django.conf import settings
from django.db.models import F, Q

from disputes.models import Incident, Petition

ACCIDENT_KINDS = (
    Incident.Kind.PRODUCTION,
    Incident.Kind.TRAFFIC,
    Incident.Kind.FIRE,
    Incident.Kind.DROWNING,
    Incident.Kind.ELECTROCUTION,
    Incident.Kind.OTHER_ACCIDENT,
)
CASE_KINDS = (Incident.Kind.CRIMINAL, Incident.Kind.MAJOR_PUBLIC_ORDER)


def _setting(name: str, default):
    return getattr(settings, name, default)


# ----- ledger parameters -----


def petition_deadlines() -> tuple[int, int, int]:
    """(days to accept, days to handle, extension days): 信访工作条例 15 / 60 / +30."""
    return (
        int(_setting("PETITION_ACCEPT_DAYS", 15)),
        int(_setting("PETITION_HANDLE_DAYS", 60)),
        int(_setting("PETITION_EXTENSION_DAYS", 30)),
    )


def petition_due_soon_days() -> int:
    return int(_setting("PETITION_DUE_SOON_DAYS", 5))


def collective_threshold() -> int:
    """群体性: a dispute involving at least this many people."""
    return int(_setting("DISPUTE_COLLECTIVE_THRESHOLD", 5))


def high_risk_levels() -> tuple[str, ...]:
    return tuple(_setting("DISPUTE_HIGH_RISK_LEVELS", ("red",)))


# ----- the 三零 rule -----


@dataclass(frozen=True)
class Rule:
    petition_min_level: str
    petition_skip_level_only: bool
    accident_kinds: tuple[str, ...]
    accident_min_casualties: int
    case_kinds: tuple[str, ...]
    unit_records_break_village: bool

    @property
    def petition_levels(self) -> list[str]:
        order = Petition.LEVEL_ORDER
        return order[order.index(self.petition_min_level) :]

    def describe(self) -> list[str]:
        levels = dict(Petition.Level.choices)
        kinds = dict(Incident.Kind.choices)
        petition = f"{levels[self.petition_min_level]}级及以上"
        petition += "越级访" if self.petition_skip_level_only else "信访"
        return [
            f"零上访：年内发生{petition}即不达标",
            f"零事故：年内发生造成人员伤亡（死亡+受伤≥{self.accident_min_casualties}人）的"
            + "、".join(str(kinds[k]) for k in self.accident_kinds)
            + "即不达标",
            "零案件：年内发生" + "、".join(str(kinds[k]) for k in self.case_kinds) + "即不达标",
        ]


def current_rule() -> Rule:
    level = _setting("SANLING_PETITION_MIN_LEVEL", Petition.Level.COUNTY)
    if level not in Petition.LEVEL_ORDER:
        level = Petition.Level.COUNTY
    return Rule(
        petition_min_level=level,
        petition_skip_level_only=bool(_setting("SANLING_PETITION_SKIP_LEVEL_ONLY", True)),
        accident_kinds=tuple(_setting("SANLING_ACCIDENT_KINDS", ACCIDENT_KINDS)),
        accident_min_casualties=int(_setting("SANLING_ACCIDENT_MIN_CASUALTIES", 1)),
        case_kinds=tuple(_setting("SANLING_CASE_KINDS", CASE_KINDS)),
        unit_records_break_village=bool(_setting("SANLING_UNIT_RECORDS_BREAK_VILLAGE", False)),
    )


def breaking_petitions_q(rule: Rule) -> Q:
    q = Q(level_reached__in=rule.petition_levels)
    if rule.petition_skip_level_only:
        q &= Q(is_skip_level=True)
    return q


def breaking_incidents_q(rule: Rule) -> Q:
    accident = Q(kind__in=rule.accident_kinds) & Q(casualties__gte=rule.accident_min_casualties)
    return accident | Q(kind__in=rule.case_kinds)


def _reason_petition(p: dict) -> dict:
    level = dict(Petition.Level.choices)[p["level_reached"]]
    return {
        "ledger": "petition",
        "id": p["pk"],
        "date": p["received_on"].isoformat(),
        "text": f"{level}级{'越级' if p['is_skip_level'] else ''}信访",
    }


def _reason_incident(i: dict) -> dict:
    kind = dict(Incident.Kind.choices)[i["kind"]]
    if i["kind"] in CASE_KINDS:
        text = str(kind)
    else:
        text = f"{kind}（死亡{i['deaths']}人、受伤{i['injuries']}人）"
    return {"ledger": "incident", "id": i["pk"], "date": i["occurred_on"].isoformat(), "text": text}


def derive(
    *, year: int, village_ids=None, unit_ids=None
) -> tuple[dict[int, list[dict]], dict[int, list[dict]]]:
    """The records of `year` that break 三零, per village and per unit:
    ({village_id: [reason, …]}, {unit_id: [reason, …]}). Villages and units absent from
    the answer are 达标. `village_ids`/`unit_ids` narrow the search (None: everyone).
    Two queries."""
    rule = current_rule()
    villages: dict[int, list[dict]] = defaultdict(list)
    units: dict[int, list[dict]] = defaultdict(list)

    def narrow(qs):
        if village_ids is None and unit_ids is None:
            return qs
        q = Q(pk__in=[])
        if village_ids:
            q |= Q(village_id__in=list(village_ids))
        if unit_ids:
            q |= Q(unit_id__in=list(unit_ids))
        return qs.filter(q)

    def assign(row: dict, reason: dict) -> None:
        if row["unit_id"]:
            units[row["unit_id"]].append(reason)
            if rule.unit_records_break_village and row["village_id"]:
                villages[row["village_id"]].append(reason)
        elif row["village_id"]:
            villages[row["village_id"]].append(reason)

    petitions = narrow(Petition.objects.filter(received_on__year=year)).filter(
        breaking_petitions_q(rule)
    )
    for p in petitions.order_by("received_on", "pk").values(
        "pk", "village_id", "unit_id", "received_on", "level_reached", "is_skip_level"
    ):
        assign(p, _reason_petition(p))
    incidents = (
        narrow(Incident.objects.filter(occurred_on__year=year))
        .annotate(casualties=F("deaths") + F("injuries"))
        .filter(breaking_incidents_q(rule))
    )
    for i in incidents.order_by("occurred_on", "pk").values(
        "pk", "village_id", "unit_id", "occurred_on", "kind", "deaths", "injuries"
    ):
        assign(i, _reason_incident(i))
    if village_ids is not None:
        villages = defaultdict(list, {k: v for k, v in villages.items() if k in set(village_ids)})
    if unit_ids is not None:
        units = defaultdict(list, {k: v for k, v in units.items() if k in set(unit_ids)})
    return dict(villages), dict(units)
