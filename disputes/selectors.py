"""Reads for 三零创建, all scoped through villages.selectors.

- ledgers (纠纷, 信访, 事故和案件, 隐患): city-wide users see everything; a county or
  township official sees the rows of their area (by the row's township); a cadre sees the
  rows of the villages they may see;
- units: like the ledgers (a cadre: units in their villages or 联乡 townships);
- yearly statuses: those of the visible villages and units;
- the per-area indicators for the dashboards (`*_by_area`), each a constant number of
  grouped queries, and their scoped versions for this app's pages (`*_for_user`).
"""

from __future__ import annotations

import datetime
from collections import defaultdict

from django.db.models import Count, Q, QuerySet
from django.db.models.functions import TruncMonth
from django.shortcuts import get_object_or_404
from django.utils import timezone

from core.history import choice_labels, scoped_history
from disputes.ledgers import DISPUTES, HAZARDS, INCIDENTS, PETITIONS, LedgerSpec
from disputes.models import (
    Dispute,
    HazardCheck,
    Incident,
    Petition,
    SanlingRule,
    SanlingStatus,
    ThreeZeroUnit,
    ZeroReport,
)
from disputes.sanling import (
    DISPUTE_PARAMETERS,
    PETITION_PARAMETERS,
    by_date_q,
    high_risk_q,
    rule_for,
    rule_list,
    rule_on,
    with_rule_values,
)
from villages.models import Assignment, RosterEntry, UserRole, Village
from villages.selectors import (
    AreaKey,
    closed_years,
    roll_up_by_area,
    scope_for_user,
    village_list_for_user,
)

Role = UserRole.Role

LEDGER_RELATED = ("township__county", "village", "unit")

# ----- scoping -----


def _area_q(user) -> Q | None:
    """Which ledger rows `user` sees, as a filter on (township, village); None: nothing."""
    scope = scope_for_user(user)
    if scope.is_city:
        return Q()
    if scope.role == Role.COUNTY_OFFICIAL:
        return Q(township__county_id=scope.county_id)
    if scope.role == Role.TOWNSHIP_OFFICIAL:
        return Q(township_id=scope.township_id)
    if scope.is_cadre and scope.cadre_id:
        return Q(village__in=village_list_for_user(user=user).values("pk"))
    return None


def _scoped(qs: QuerySet, user) -> QuerySet:
    q = _area_q(user)
    return qs.none() if q is None else qs.filter(q)


# The 三零 rule values each listed row carries (read for its own date): one query more.
RULE_VALUES = {"disputes": DISPUTE_PARAMETERS, "petitions": PETITION_PARAMETERS}


def ledger_list_for_user(*, user, ledger: LedgerSpec) -> QuerySet:
    rows = _scoped(ledger.model.objects.select_related(*LEDGER_RELATED), user)
    if ledger.key in RULE_VALUES:
        # the 群体性 threshold of a dispute, the deadlines of a petition
        return with_rule_values(rows, field=ledger.date_field, names=RULE_VALUES[ledger.key])
    return rows


def ledger_get_for_user(*, user, ledger: LedgerSpec, pk):
    return get_object_or_404(ledger_list_for_user(user=user, ledger=ledger), pk=pk)


def dispute_list_for_user(*, user) -> QuerySet[Dispute]:
    return ledger_list_for_user(user=user, ledger=DISPUTES)


def petition_list_for_user(*, user) -> QuerySet[Petition]:
    return ledger_list_for_user(user=user, ledger=PETITIONS)


def incident_list_for_user(*, user) -> QuerySet[Incident]:
    return ledger_list_for_user(user=user, ledger=INCIDENTS)


def hazard_list_for_user(*, user) -> QuerySet[HazardCheck]:
    return ledger_list_for_user(user=user, ledger=HAZARDS)


def unit_list_for_user(*, user) -> QuerySet[ThreeZeroUnit]:
    units = ThreeZeroUnit.objects.select_related("township__county", "village")
    scope = scope_for_user(user)
    if scope.is_cadre and scope.cadre_id:
        linked = Assignment.objects.filter(
            cadre_id=scope.cadre_id, kind=Assignment.Kind.TOWNSHIP
        ).values("township_id")
        return units.filter(
            Q(village__in=village_list_for_user(user=user).values("pk")) | Q(township_id__in=linked)
        )
    return _scoped(units, user)


def zero_report_list_for_user(*, user) -> QuerySet[ZeroReport]:
    return ZeroReport.objects.select_related("village__township__county", "reported_by").filter(
        village__in=village_list_for_user(user=user).values("pk")
    )


def zero_report_exists(*, village, month: datetime.date) -> bool:
    """Whether the village has reported this month already (the service's pre-check; two
    requests at the same moment are decided by the database constraint)."""
    return ZeroReport.objects.filter(village=village, month=month).exists()


def status_list_for_user(*, user) -> QuerySet[SanlingStatus]:
    return SanlingStatus.objects.select_related(
        "village__township__county", "unit__township__county", "override_by"
    ).filter(
        Q(village__in=village_list_for_user(user=user).values("pk"))
        | Q(unit__in=unit_list_for_user(user=user).values("pk"))
    )


def unit_get_for_user(*, user, pk) -> ThreeZeroUnit:
    return get_object_or_404(unit_list_for_user(user=user), pk=pk)


def status_of_subject_for_user(*, user, year: int, village=None, unit=None):
    """The status row of one village's or unit's year (None: not computed yet, 达标), if
    `user` may see that village or unit."""
    rows = status_list_for_user(user=user).filter(year=year)
    if village is not None:
        return rows.filter(village=village).first()
    return rows.filter(unit=unit).first()


def unit_statuses_of_unit_for_user(*, user, unit) -> list[SanlingStatus]:
    """Every year's status of one unit, newest first."""
    return list(status_list_for_user(user=user).filter(unit=unit).order_by("-year"))


def status_get_for_user(*, user, pk) -> SanlingStatus:
    return get_object_or_404(status_list_for_user(user=user), pk=pk)


# ----- what a user may do -----

WRITER_ROLES = (Role.CITY_ADMIN, Role.COUNTY_OFFICIAL, Role.TOWNSHIP_OFFICIAL, Role.CADRE)
PERSONAL_DATA_ROLES = (Role.CITY_ADMIN, Role.COUNTY_OFFICIAL, Role.TOWNSHIP_OFFICIAL)


def ledger_writer(*, user) -> bool:
    """Officials, city admins and cadres register records; city viewers only look."""
    return scope_for_user(user).role in WRITER_ROLES


def ledger_can_write(*, user, township, village=None) -> bool:
    """May `user` write a record placed in `township` (and `village`)? City admins
    anywhere, officials in their area, cadres in the villages they may see."""
    scope = scope_for_user(user)
    if scope.role == Role.CITY_ADMIN:
        return True
    if scope.role == Role.COUNTY_OFFICIAL:
        return township.county_id == scope.county_id
    if scope.role == Role.TOWNSHIP_OFFICIAL:
        return township.pk == scope.township_id
    if scope.is_cadre and village is not None:
        return village_list_for_user(user=user).filter(pk=village.pk).exists()
    return False


OFFICIAL_ROLES = (Role.CITY_ADMIN, Role.COUNTY_OFFICIAL, Role.TOWNSHIP_OFFICIAL)


def ledger_can_delete(*, user, record) -> bool:
    """Records are deleted by city admins and by the officials of their area, not by cadres."""
    return scope_for_user(user).role in OFFICIAL_ROLES and ledger_can_write(
        user=user, township=record.township, village=record.village
    )


def sanling_can_recompute(*, user) -> bool:
    """The 按记录重新计算 button: city admins and county and township officials."""
    return scope_for_user(user).role in OFFICIAL_ROLES


def sanling_can_override(*, user, township) -> bool:
    """Overrides (审核认定) are made by city admins and by county officials in their county."""
    scope = scope_for_user(user)
    if scope.role == Role.CITY_ADMIN:
        return True
    return scope.role == Role.COUNTY_OFFICIAL and township.county_id == scope.county_id


def units_can_manage(*, user) -> bool:
    return scope_for_user(user).role in (Role.CITY_ADMIN, Role.COUNTY_OFFICIAL)


def can_see_personal(*, user) -> bool:
    """ID numbers and phone numbers of parties and petitioners: officials of the area and
    city admins (every row they can open is in their area). Others see them masked."""
    return scope_for_user(user).role in PERSONAL_DATA_ROLES


def mask_id_number(value: str) -> str:
    """411024199001011234 → 411024********1234 (several numbers: each one)."""
    return _mask_each(value, keep_head=6, keep_tail=4)


def mask_phone(value: str) -> str:
    """13812345678 → 138****5678."""
    return _mask_each(value, keep_head=3, keep_tail=4)


def _mask_each(value: str, *, keep_head: int, keep_tail: int) -> str:
    if not value:
        return ""
    parts = [p for p in value.replace("，", ",").replace("、", ",").split(",")]
    out = []
    for part in parts:
        p = part.strip()
        if len(p) <= keep_head + keep_tail:
            out.append("*" * len(p))
        else:
            out.append(p[:keep_head] + "*" * (len(p) - keep_head - keep_tail) + p[-keep_tail:])
    return "，".join(out)


# The personal numbers of parties and petitioners, and how each is masked.
PERSONAL_FIELDS = {
    "party_id_numbers": "id",
    "party_phones": "phone",
    "petitioner_id_number": "id",
    "petitioner_phone": "phone",
}


def personal(value: str, *, kind: str, reveal: bool) -> str:
    if reveal:
        return value
    return mask_id_number(value) if kind == "id" else mask_phone(value)


def personal_field(name: str, value, *, reveal: bool):
    """`value` of field `name` as `reveal` allows: masked when it is a personal number."""
    kind = PERSONAL_FIELDS.get(name)
    if kind is None or reveal or not isinstance(value, str):
        return value
    return personal(value, kind=kind, reveal=False)


# ----- ledger conditions -----


def disputes_open_q() -> Q:
    return Q(status__in=[Dispute.Status.REGISTERED, Dispute.Status.IN_PROGRESS])


def petitions_overdue_q(today: datetime.date | None = None, *, rules=None) -> Q:
    """Open petitions past their statutory deadline (same rule as Petition.clock: the
    days of the 三零 rule in force on each one's 登记日期). One query unless `rules`."""
    today = today or timezone.localdate()
    day = datetime.timedelta(days=1)

    def overdue(rule) -> Q:
        accept, handle = rule.petition_accept_days, rule.petition_handle_days
        extension = rule.petition_extension_days
        return (
            Q(status=Petition.Status.REGISTERED, received_on__lt=today - accept * day)
            | Q(
                status=Petition.Status.ACCEPTED,
                extended=False,
                accepted_on__lt=today - handle * day,
            )
            | Q(
                status=Petition.Status.ACCEPTED,
                extended=True,
                accepted_on__lt=today - (handle + extension) * day,
            )
        )

    names = ("petition_accept_days", "petition_handle_days", "petition_extension_days")
    return by_date_q("received_on", names, overdue, rules=rules)


def hazards_open_q() -> Q:
    return ~Q(status=HazardCheck.Status.RECTIFIED)


def status_not_met_q() -> Q:
    return Q(override=SanlingStatus.Override.NOT_MET) | Q(override="", derived_met=False)


# ----- per-area indicators for the dashboards -----


def _grouped(qs: QuerySet, numerator: Q) -> list[tuple]:
    return [
        (r["village_id"], r["township_id"], r["township__county_id"], r["num"], r["den"])
        for r in qs.order_by()
        .values("village_id", "township_id", "township__county_id")
        .annotate(num=Count("id", filter=numerator), den=Count("id"))
    ]


def dispute_resolution_rate_by_area(*, year: int) -> dict[AreaKey, tuple[int, int]]:
    """化解率 = 化解 ÷ 排查: (resolved, found) over the disputes found in `year`."""
    disputes = Dispute.objects.filter(registered_on__year=year)
    return roll_up_by_area(_grouped(disputes, Q(status=Dispute.Status.RESOLVED)))


def open_high_risk_disputes_by_area(*, year: int) -> dict[AreaKey, tuple[int, int]]:
    """(still open, all) high-risk disputes found in `year` (levels: the 三零 rule's, in
    force on each one's 排查日期). Two queries."""
    disputes = Dispute.objects.filter(high_risk_q(), registered_on__year=year)
    return roll_up_by_area(_grouped(disputes, disputes_open_q()))


def overdue_petitions_by_area(*, year: int) -> dict[AreaKey, tuple[int, int]]:
    """(overdue today, all) petitions registered in `year`."""
    petitions = Petition.objects.filter(received_on__year=year)
    return roll_up_by_area(_grouped(petitions, petitions_overdue_q()))


def unrectified_hazards_by_area(*, year: int) -> dict[AreaKey, tuple[int, int]]:
    """(not yet rectified, all) hazards found in `year`."""
    hazards = HazardCheck.objects.filter(checked_on__year=year)
    return roll_up_by_area(_grouped(hazards, hazards_open_q()))


def sanling_village_rate_by_area(*, year: int) -> dict[AreaKey, tuple[int, int]]:
    """(达标, all) villages and communities of `year`'s roster. A roster village with no
    status row yet is 达标 (nothing has broken it). Two queries."""
    not_met = set(
        SanlingStatus.objects.filter(year=year, village__isnull=False)
        .filter(status_not_met_q())
        .values_list("village_id", flat=True)
    )
    entries = RosterEntry.objects.filter(roster__year=year).values_list(
        "village_id", "village__township_id", "village__township__county_id"
    )
    return roll_up_by_area(
        (v, t, c, 0 if v in not_met else 1, 1) for v, t, c in entries.order_by().iterator()
    )


def units_of_year(year: int) -> QuerySet[ThreeZeroUnit]:
    return ThreeZeroUnit.objects.filter(year_from__lte=year).filter(
        Q(year_to__isnull=True) | Q(year_to__gte=year)
    )


def sanling_unit_rate_by_area(*, year: int) -> dict[AreaKey, tuple[int, int]]:
    """(达标, all) enterprises and institutions taking part in `year`, located by their
    village or (when they have none) their township. Two queries."""
    not_met = set(
        SanlingStatus.objects.filter(year=year, unit__isnull=False)
        .filter(status_not_met_q())
        .values_list("unit_id", flat=True)
    )
    units = units_of_year(year).values_list(
        "pk", "village_id", "township_id", "township__county_id"
    )
    return roll_up_by_area(
        (v, t, c, 0 if u in not_met else 1, 1) for u, v, t, c in units.order_by()
    )


def _split_by_area(*, year: int, field: str) -> dict[AreaKey, dict]:
    rows = (
        Dispute.objects.filter(registered_on__year=year)
        .annotate(month=TruncMonth("registered_on"))
        .order_by()
        .values("village_id", "township_id", "township__county_id", field)
        .annotate(num=Count("id", filter=Q(status=Dispute.Status.RESOLVED)), den=Count("id"))
    )
    out: dict[AreaKey, dict] = defaultdict(dict)
    for r in rows:
        part = r[field] if field != "month" else r[field].month
        keys = [
            ("city", None),
            ("county", r["township__county_id"]),
            ("township", r["township_id"]),
        ]
        if r["village_id"] is not None:
            keys.append(("village", r["village_id"]))
        for key in keys:
            num, den = out[key].get(part, (0, 0))
            out[key][part] = (num + r["num"], den + r["den"])
    return dict(out)


def dispute_resolution_by_type_by_area(*, year: int) -> dict[AreaKey, dict[str, tuple[int, int]]]:
    """化解率 per 纠纷类型: {area: {dispute type: (resolved, found)}}. One grouped query."""
    return _split_by_area(year=year, field="dispute_type")


def dispute_resolution_by_month_by_area(*, year: int) -> dict[AreaKey, dict[int, tuple[int, int]]]:
    """化解率 per month of 排查: {area: {month 1–12: (resolved, found)}}. One grouped query."""
    return _split_by_area(year=year, field="month")


INDICATORS = {
    "dispute_resolution_rate": dispute_resolution_rate_by_area,
    "sanling_village_rate": sanling_village_rate_by_area,
    "sanling_unit_rate": sanling_unit_rate_by_area,
    "open_high_risk_disputes": open_high_risk_disputes_by_area,
    "overdue_petitions": overdue_petitions_by_area,
    "unrectified_hazards": unrectified_hazards_by_area,
}


def _visible_keys(values: dict[AreaKey, tuple[int, int]], user) -> dict:
    """The entries of a per-area result that `user` may see."""
    scope = scope_for_user(user)
    if scope.is_city:
        return values
    if scope.role is None:
        return {}
    villages = village_list_for_user(user=user).values_list(
        "pk", "township_id", "township__county_id"
    )
    village_ids, township_ids = set(), set()
    for v, t, _c in villages:
        village_ids.add(v)
        township_ids.add(t)
    allowed: set = {("village", v) for v in village_ids}
    if scope.role == Role.COUNTY_OFFICIAL:
        allowed |= {("township", t) for t in township_ids} | {("county", scope.county_id)}
    elif scope.role == Role.TOWNSHIP_OFFICIAL:
        allowed.add(("township", scope.township_id))
    return {k: v for k, v in values.items() if k in allowed}


def indicator_for_user(*, user, indicator: str, year: int) -> dict[AreaKey, tuple[int, int]]:
    """A per-area indicator narrowed to the areas `user` may see."""
    return _visible_keys(INDICATORS[indicator](year=year), user)


def dispute_resolution_rate_for_user(*, user, year: int) -> dict:
    return indicator_for_user(user=user, indicator="dispute_resolution_rate", year=year)


def sanling_village_rate_for_user(*, user, year: int) -> dict:
    return indicator_for_user(user=user, indicator="sanling_village_rate", year=year)


def sanling_unit_rate_for_user(*, user, year: int) -> dict:
    return indicator_for_user(user=user, indicator="sanling_unit_rate", year=year)


def open_high_risk_disputes_for_user(*, user, year: int) -> dict:
    return indicator_for_user(user=user, indicator="open_high_risk_disputes", year=year)


def overdue_petitions_for_user(*, user, year: int) -> dict:
    return indicator_for_user(user=user, indicator="overdue_petitions", year=year)


def unrectified_hazards_for_user(*, user, year: int) -> dict:
    return indicator_for_user(user=user, indicator="unrectified_hazards", year=year)


def own_area_key(*, user) -> AreaKey | None:
    """The widest area key a user covers (cadres: none, they cover villages)."""
    scope = scope_for_user(user)
    if scope.is_city:
        return ("city", None)
    if scope.role == Role.COUNTY_OFFICIAL:
        return ("county", scope.county_id)
    if scope.role == Role.TOWNSHIP_OFFICIAL:
        return ("township", scope.township_id)
    return None


def summary_for_user(*, user, year: int) -> dict:
    """The six indicators of `year` for the user's own area (cadres: summed over their
    villages), as {indicator: (numerator, denominator, percent)}."""
    key = own_area_key(user=user)
    out = {}
    for name in INDICATORS:
        values = indicator_for_user(user=user, indicator=name, year=year)
        if key is not None:
            num, den = values.get(key, (0, 0))
        else:
            pairs = [v for k, v in values.items() if k[0] == "village"]
            num, den = sum(p[0] for p in pairs), sum(p[1] for p in pairs)
        out[name] = (num, den, percent(num, den))
    return out


def percent(num: int, den: int) -> float | None:
    return round(num * 100 / den, 1) if den else None


# ----- breakdowns for the pages -----


def dispute_stats(disputes: QuerySet[Dispute]) -> dict:
    agg = disputes.aggregate(
        total=Count("id"),
        resolved=Count("id", filter=Q(status=Dispute.Status.RESOLVED)),
        reported=Count("id", filter=Q(status=Dispute.Status.REPORTED)),
        open=Count("id", filter=disputes_open_q()),
        high_risk_open=Count("id", filter=disputes_open_q() & high_risk_q()),
    )
    agg["percent"] = percent(agg["resolved"], agg["total"])
    return agg


def _breakdown(disputes: QuerySet[Dispute], field: str) -> list[dict]:
    rows = (
        disputes.order_by()
        .values(field)
        .annotate(total=Count("id"), resolved=Count("id", filter=Q(status=Dispute.Status.RESOLVED)))
        .order_by(field)
    )
    return [
        {
            "key": r[field],
            "total": r["total"],
            "resolved": r["resolved"],
            "percent": percent(r["resolved"], r["total"]),
        }
        for r in rows
    ]


def dispute_rate_by_type(disputes: QuerySet[Dispute]) -> list[dict]:
    """化解率 per 纠纷类型 (one query)."""
    labels = dict(Dispute.Type.choices)
    rows = _breakdown(disputes, "dispute_type")
    for r in rows:
        r["label"] = str(labels.get(r["key"], r["key"]))
    return sorted(rows, key=lambda r: -r["total"])


def dispute_rate_by_month(disputes: QuerySet[Dispute]) -> list[dict]:
    """化解率 per month of 排查 (one query)."""
    rows = _breakdown(disputes.annotate(month=TruncMonth("registered_on")), "month")
    for r in rows:
        r["label"] = f"{r['key']:%Y-%m}"
    return rows


def dispute_rate_by_township(disputes: QuerySet[Dispute]) -> list[dict]:
    rows = (
        disputes.order_by()
        .values("township_id", "township__name", "township__county__name")
        .annotate(total=Count("id"), resolved=Count("id", filter=Q(status=Dispute.Status.RESOLVED)))
        .order_by("township__county__code", "township__code")
    )
    return [
        {
            "township_id": r["township_id"],
            "label": r["township__name"],
            "county": r["township__county__name"],
            "total": r["total"],
            "resolved": r["resolved"],
            "percent": percent(r["resolved"], r["total"]),
        }
        for r in rows
    ]


HISTORY_FORMATTERS = {
    "regulated_items": choice_labels(HazardCheck.Regulated.choices),
    "derived_reasons": lambda reasons: "；".join(
        f"{r.get('date', '')} {r.get('text', '')}" for r in reasons
    ),
}


def _visible(*, user, model) -> QuerySet:
    lists = {
        Dispute: dispute_list_for_user,
        Petition: petition_list_for_user,
        Incident: incident_list_for_user,
        HazardCheck: hazard_list_for_user,
        ThreeZeroUnit: unit_list_for_user,
        ZeroReport: zero_report_list_for_user,
        SanlingStatus: status_list_for_user,
    }
    return lists[model](user=user)


def record_history(*, user, obj) -> list[dict]:
    """The history of a record, unit or 三零 status `user` may see (else 404), newest
    first, in Chinese (core.history). ID and phone numbers stay masked for those who
    may not see them."""
    reveal = can_see_personal(user=user)
    return scoped_history(
        _visible(user=user, model=type(obj)),
        [obj.pk],
        formatters=HISTORY_FORMATTERS,
        mask=lambda name, value: personal_field(name, value, reveal=reveal),
    )


# ----- yearly statuses -----


def sanling_rule_list() -> QuerySet[SanlingRule]:
    """Every 三零 rule ever set (not area-bound), newest effective date first."""
    return SanlingRule.objects.order_by("-effective_from")


def sanling_rule_shown(*, year: int | None = None) -> SanlingRule:
    """The rule a page describes: the one that judges `year`, or today's (no year shown)."""
    return rule_for(int(year)) if year else rule_on(timezone.localdate())


def sanling_rule_reach(*, day: datetime.date, exclude_pk=None) -> tuple[int, int | None]:
    """The years a rule dated `day` decides (first, last; None: no later rule ends it):
    from `day`'s year to the year before the next rule takes over. `exclude_pk`: leave
    that rule out (the one being moved or deleted)."""
    later = [r.effective_from for r in rule_list() if r.effective_from > day and r.pk != exclude_pk]
    if not later:
        return day.year, None
    return day.year, (min(later) - datetime.timedelta(days=1)).year


def sanling_rule_closed_year(*, day: datetime.date, exclude_pk=None) -> int | None:
    """The first closed programme year a rule dated `day` decides, or None: a rule (new,
    changed or deleted) there would re-judge a year already closed."""
    first, last = sanling_rule_reach(day=day, exclude_pk=exclude_pk)
    reached = sorted(y for y in closed_years() if y >= first and (last is None or y <= last))
    return reached[0] if reached else None


def sanling_years() -> list[int]:
    """Years a status page can show: the roster years."""
    from villages.selectors import roster_years

    years = roster_years()
    return years or [timezone.localdate().year]


def _with_statuses(subjects: list, *, kind: str, year: int, only_not_met: bool) -> list[dict]:
    """Each village or unit (`kind`) with its status row of `year` (None: 达标, no record
    has broken it) and whether it counts as met. One query."""
    statuses = {
        getattr(s, f"{kind}_id"): s
        for s in SanlingStatus.objects.filter(
            year=year, **{f"{kind}_id__in": [subject.pk for subject in subjects]}
        ).select_related("override_by")
    }
    rows = []
    for subject in subjects:
        status = statuses.get(subject.pk)
        met = status.met if status else True
        rows.append({kind: subject, "subject": subject, "status": status, "met": met})
    return [r for r in rows if not r["met"]] if only_not_met else rows


def village_statuses_for_user(*, user, year: int, township_id=None, only_not_met=False):
    """Every visible village of `year`'s roster with its status row (or None: 达标, no
    record has broken it). Two queries."""
    entries = (
        RosterEntry.objects.filter(roster__year=year)
        .filter(village__in=village_list_for_user(user=user).values("pk"))
        .select_related("village__township__county")
        .order_by("village__code")
    )
    if township_id:
        entries = entries.filter(village__township_id=township_id)
    villages = [e.village for e in entries]
    return _with_statuses(villages, kind="village", year=year, only_not_met=only_not_met)


def unit_statuses_for_user(*, user, year: int, township_id=None, only_not_met=False):
    units = unit_list_for_user(user=user).filter(pk__in=units_of_year(year).values("pk"))
    if township_id:
        units = units.filter(township_id=township_id)
    units = list(units.order_by("township__code", "name"))
    return _with_statuses(units, kind="unit", year=year, only_not_met=only_not_met)


def zero_report_month_for_user(*, user, month: datetime.date, township_id=None) -> list[dict]:
    """Per visible village for one month: disputes found, 零报告 or neither (未报告).
    Three queries."""
    following = (month.replace(day=28) + datetime.timedelta(days=4)).replace(day=1)
    villages = village_list_for_user(user=user).order_by("township__code", "code")
    if township_id:
        villages = villages.filter(township_id=township_id)
    villages = list(villages)
    ids = [v.pk for v in villages]
    found = dict(
        Dispute.objects.filter(
            village_id__in=ids, registered_on__gte=month, registered_on__lt=following
        )
        .order_by()
        .values("village_id")
        .annotate(n=Count("id"))
        .values_list("village_id", "n")
    )
    reports = {
        r.village_id: r
        for r in ZeroReport.objects.filter(village_id__in=ids, month=month).select_related(
            "reported_by"
        )
    }
    rows = []
    for v in villages:
        n = found.get(v.pk, 0)
        report = reports.get(v.pk)
        state = "found" if n else ("zero" if report else "missing")
        rows.append({"village": v, "found": n, "report": report, "state": state})
    return rows


def village_choices_for_user(*, user) -> QuerySet[Village]:
    return village_list_for_user(user=user).order_by(
        "township__county__code", "township__code", "code"
    )
