"""Status of a figure against its target: met / missed once the year is over; on track /
at risk from a projection while it runs; and the change against the same date last year."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal

from dashboards.indicators import SPECS, Spec, value_of, year_end
from dashboards.models import Target

MET, MISSED, ON_TRACK, AT_RISK, NO_TARGET, NO_DATA = (
    "met",
    "missed",
    "on_track",
    "at_risk",
    "none",
    "no_data",
)
STATUS_LABELS = {
    MET: "已完成",
    MISSED: "未完成",
    ON_TRACK: "进度正常",
    AT_RISK: "有风险",
    NO_TARGET: "无目标",
    NO_DATA: "暂无数据",
}
STATUS_COLOURS = {
    MET: "success",
    MISSED: "danger",
    ON_TRACK: "primary",
    AT_RISK: "warning",
    NO_TARGET: "secondary",
    NO_DATA: "secondary",
}


def meets(target: Target, value) -> bool:
    threshold = Decimal(target.threshold)
    value = Decimal(value)
    if target.comparison == Target.Comparison.GTE:
        return value >= threshold
    if target.comparison == Target.Comparison.LTE:
        return value <= threshold
    if target.comparison == Target.Comparison.EQ:
        return value == threshold
    return value >= threshold * Decimal("0.95")  # 约: 95% of it counts as done


def elapsed_share(year: int, as_of: datetime.date) -> float:
    start = datetime.date(year, 1, 1)
    days = (year_end(year) - start).days + 1
    return min(1.0, max(1, (as_of - start).days + 1) / days)


def project(spec: Spec, num: int, den: int, share: float):
    """The projected year-end value (see PROJECTION_TEXT for the method per kind)."""
    if share >= 1:
        return value_of(spec, num, den)
    if spec.projection == "flow":
        return value_of(spec, num, den)
    if spec.projection == "erosion":
        missing = (den - num) / share
        return value_of(spec, max(0, round(den - missing)), den)
    if spec.projection == "closing":
        closed = den - num
        still_open = max(0, round(num - closed * (1 - share) / share))
        return value_of(spec, still_open, den)
    projected = round(num / share) if share else num
    if den and spec.code != "visits":
        projected = min(projected, den)
    return value_of(spec, projected, den)


@dataclass
class Figure:
    """One indicator of one area, ready for a card, a row or the API."""

    code: str
    num: int
    den: int
    value: Decimal | None
    target: Target | None
    status: str
    projected: Decimal | None
    previous: Decimal | None
    previous_label: str
    change: Decimal | None

    @property
    def spec(self) -> Spec:
        return SPECS[self.code]

    @property
    def label(self) -> str:
        return self.spec.label

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.status]

    @property
    def colour(self) -> str:
        if self.target is not None and self.target.is_reference and self.status != NO_DATA:
            return "info"
        return STATUS_COLOURS[self.status]

    def fmt(self, value) -> str:
        if value is None:
            return "—"
        text = f"{Decimal(value):,.{self.spec.precision}f}"
        return f"{text}%" if self.spec.kind == "rate" else text

    @property
    def value_text(self) -> str:
        return self.fmt(self.value)

    @property
    def projected_text(self) -> str:
        return self.fmt(self.projected)

    @property
    def target_text(self) -> str:
        if self.target is None:
            return "—"
        word = self.target.get_comparison_display().split("(")[0]
        text = self.fmt(self.target.threshold)
        return f"{word}{text}" + ("（参考）" if self.target.is_reference else "")

    @property
    def change_text(self) -> str:
        if self.change is None:
            return "—"
        sign = "+" if self.change > 0 else ""
        unit = "个百分点" if self.spec.kind == "rate" else self.spec.unit
        return f"{sign}{self.change:,.{self.spec.precision}f}{unit}"


def evaluate(
    *,
    code: str,
    num: int,
    den: int,
    year: int,
    as_of: datetime.date,
    today: datetime.date,
    target: Target | None,
    previous: tuple[int, int] | None = None,
    previous_label: str = "",
) -> Figure:
    spec = SPECS[code]
    value = value_of(spec, num, den)
    closed = today > year_end(year)
    share = elapsed_share(year, as_of)
    projected = None if value is None else project(spec, num, den, 1.0 if closed else share)
    if value is None:
        status = NO_DATA
    elif target is None:
        status = NO_TARGET
    elif closed:
        status = MET if meets(target, value) else MISSED
    else:
        status = ON_TRACK if projected is not None and meets(target, projected) else AT_RISK
    prev_value = value_of(spec, *previous) if previous else None
    change = None
    if value is not None and prev_value is not None:
        change = value - prev_value
    return Figure(
        code=code,
        num=num,
        den=den,
        value=value,
        target=target,
        status=status,
        projected=projected,
        previous=prev_value,
        previous_label=previous_label,
        change=change,
    )
