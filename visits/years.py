"""The visits' part of a programme year (registered with `villages.years`): the workday
rule carries over by itself (it is effective-dated); a year cannot be closed while its
visits wait for review or for the cadre's resubmission."""

from __future__ import annotations

import datetime

from villages.years import YearStep, register
from visits.models import Visit
from visits.selectors import rule_for


def describe(year: int) -> list[str]:
    rule = rule_for(datetime.date(year, 1, 1))
    return [f"双十工作日规则：{rule}，继续有效（规则按生效日期管理，改动只影响此后的考核期）。"]


def blockers(year: int) -> list[str]:
    counts = {state: 0 for state in Visit.State.values}
    for state in (
        Visit.objects.filter(date__year=year)
        .values_list("state", flat=True)
        .filter(state__in=[Visit.State.SUBMITTED, Visit.State.RETURNED])
    ):
        counts[state] += 1
    out = []
    if counts[Visit.State.SUBMITTED]:
        out.append(f"还有 {counts[Visit.State.SUBMITTED]} 条下沉记录待审核。")
    if counts[Visit.State.RETURNED]:
        out.append(f"还有 {counts[Visit.State.RETURNED]} 条已退回的下沉记录待干部修改后重新提交。")
    return out


def register_steps() -> None:
    register(YearStep(key="visits", label="双十工作日", describe=describe, blockers=blockers))
