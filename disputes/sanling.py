"""The 三零 rule (零上访、零事故、零案件) and the ledger parameters: which rule applies when.

The rules are rows of `SanlingRule` (set by city admins in the admin), each in force from
its `effective_from` on; the model's field defaults are the rule used where no row is in
force (the migration writes them as a row from 2000-01-01). As with the workday rule, a
period is judged by the newest rule in force on its first day:

- a year's 三零 status by the rule in force on its 1 January (`rule_for(year)`), so a
  rule that takes effect mid-year judges the years after it;
- a petition's deadlines by the rule in force on its 登记日期, a dispute's 群体性 and
  高风险 by the rule in force on its 排查日期 (`rule_on(day)`, and for querysets
  `by_date_q` and `with_rule_values`).

Each of these reads the rules once (one query), or takes them already read (`rules=`).
A year is judged on the records dated in it (登记日期 of a petition, 发生日期 of an
incident); a village or unit is 达标 until one of them happens.
"""

from __future__ import annotations

import datetime
import operator
from collections import defaultdict
from collections.abc import Callable, Sequence
from functools import reduce

from django.db.models import Case, F, Q, QuerySet, Value, When

from disputes.models import CASE_KINDS, Incident, Petition, SanlingRule

PETITION_PARAMETERS = (
    "petition_accept_days",
    "petition_handle_days",
    "petition_extension_days",
    "petition_due_soon_days",
)
DISPUTE_PARAMETERS = ("dispute_collective_threshold",)

# ----- which rule -----


def rule_list() -> list[SanlingRule]:
    """Every rule, newest effective date first. One query."""
    return list(SanlingRule.objects.order_by("-effective_from"))


def default_rule() -> SanlingRule:
    """The coded rule (the model's field defaults), for days no stored rule covers."""
    return SanlingRule()


def rule_on(day: datetime.date, *, rules: Sequence[SanlingRule] | None = None) -> SanlingRule:
    """The rule in force on `day`: the newest one whose effective date is not after it."""
    return SanlingRule.in_force_on(day, rules=rules)


def rule_for(year: int, *, rules: Sequence[SanlingRule] | None = None) -> SanlingRule:
    """The rule that judges `year`: the one in force on its 1 January."""
    return rule_on(datetime.date(year, 1, 1), rules=rules)


def _spans(names: Sequence[str], rules: Sequence[SanlingRule]):
    """The stretches of time over which the parameters `names` stay the same, oldest
    first, as (rule, from, until): `from` included, `until` excluded, None an open end."""
    key = lambda rule: [getattr(rule, n) for n in names]  # noqa: E731
    spans = []
    current, start = default_rule(), None
    for rule in sorted(rules, key=lambda r: r.effective_from):
        if key(rule) != key(current):
            spans.append((current, start, rule.effective_from))
            start = rule.effective_from
        current = rule
    spans.append((current, start, None))
    return spans


def by_date_q(
    field: str,
    names: Sequence[str],
    make_q: Callable[[SanlingRule], Q],
    *,
    rules: Sequence[SanlingRule] | None = None,
) -> Q:
    """A filter built by `make_q` from the rule in force on each row's date `field`
    (`names`: the parameters `make_q` reads). One query unless `rules` is given."""
    spans = _spans(names, rule_list() if rules is None else rules)
    if len(spans) == 1:
        return make_q(spans[0][0])
    parts = []
    for rule, start, until in spans:
        part = make_q(rule)
        if start is not None:
            part &= Q(**{f"{field}__gte": start})
        if until is not None:
            part &= Q(**{f"{field}__lt": until})
        parts.append(part)
    return reduce(operator.or_, parts)


def with_rule_values(
    qs: QuerySet,
    *,
    field: str,
    names: Sequence[str],
    rules: Sequence[SanlingRule] | None = None,
) -> QuerySet:
    """`qs` with each row's parameters `names` of the rule in force on its date `field`
    (as `sanling_<name>`, and the date they were read for as `sanling_day`), so that the
    records' properties (due dates, 群体性) need no query of their own."""
    rules = rule_list() if rules is None else rules
    annotations = {"sanling_day": F(field)}
    for name in names:
        spans = _spans((name,), rules)
        oldest = Value(getattr(spans[0][0], name))
        if len(spans) == 1:
            annotations[f"sanling_{name}"] = oldest
            continue
        whens = [
            When(**{f"{field}__gte": start}, then=Value(getattr(rule, name)))
            for rule, start, _until in reversed(spans)
            if start is not None
        ]
        annotations[f"sanling_{name}"] = Case(*whens, default=oldest)
    return qs.annotate(**annotations)


def high_risk_q(*, rules: Sequence[SanlingRule] | None = None) -> Q:
    """高风险 disputes: a risk level the rule in force on the 排查日期 names."""
    return by_date_q(
        "registered_on",
        ("dispute_high_risk_levels",),
        lambda rule: Q(risk_level__in=rule.dispute_high_risk_levels),
        rules=rules,
    )


# ----- the 三零 rule -----


def breaking_petitions_q(rule: SanlingRule) -> Q:
    q = Q(level_reached__in=rule.petition_levels)
    if rule.petition_skip_level_only:
        q &= Q(is_skip_level=True)
    return q


def breaking_incidents_q(rule: SanlingRule) -> Q:
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
    the answer are 达标, judged by the rule in force on 1 January of `year`.
    `village_ids`/`unit_ids` narrow the search (None: everyone). Three queries."""
    rule = rule_for(year)
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
