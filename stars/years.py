"""The stars' part of a programme year (registered with `villages.years`): a year cannot
be closed while a branch's rating is still on its way (申报 → 初审 → 评定 → 公示)."""

from __future__ import annotations

from django.db.models import Count

from stars.models import StarAward
from villages.years import YearStep, register

UNFINISHED = [
    StarAward.State.APPLIED,
    StarAward.State.TOWNSHIP_APPROVED,
    StarAward.State.COUNTY_RATED,
    StarAward.State.PUBLICIZED,
]


def blockers(year: int) -> list[str]:
    rows = (
        StarAward.objects.filter(year=year, state__in=UNFINISHED)
        .values_list("state")
        .annotate(n=Count("pk"))
    )
    labels = dict(StarAward.State.choices)
    parts = [
        f"{labels[state]} {n} 个" for state, n in sorted(rows, key=lambda r: UNFINISHED.index(r[0]))
    ]
    if not parts:
        return []
    return [f"还有党组织星级评定未办结：{'、'.join(parts)}。"]


def register_steps() -> None:
    register(YearStep(key="stars", label="五星支部", blockers=blockers))
