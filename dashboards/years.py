"""The dashboards' part of a programme year (registered with `villages.years`): opening
a year copies the newest earlier year's targets, for the city admin to edit; closing it
takes the final snapshots, after which the year is never recomputed until reopened."""

from __future__ import annotations

from django.db import transaction

from dashboards.models import Target
from dashboards.selectors import forget_pages, forget_years
from villages.years import YearStep, register


def _source_year(year: int) -> int | None:
    return (
        Target.objects.filter(year__lt=year)
        .order_by("-year")
        .values_list("year", flat=True)
        .first()
    )


def describe(year: int) -> list[str]:
    own = Target.objects.filter(year=year).count()
    if own:
        return [f"年度目标：{year}年度已有 {own} 项目标，保持不变（开启后可在“年度目标”页修改）。"]
    source = _source_year(year)
    if source is None:
        return ["年度目标：此前没有年度目标，开启后请在“年度目标”页录入。"]
    n = Target.objects.filter(year=source).count()
    return [f"年度目标：复制{source}年度的 {n} 项目标，开启后可在“年度目标”页修改。"]


def on_open(*, actor, year: int) -> list[str]:
    forget_years()  # a new roster year and a new open year, now and once committed
    transaction.on_commit(forget_years)
    if Target.objects.filter(year=year).exists():
        return []
    source = _source_year(year)
    if source is None:
        return []
    copies = []
    for t in Target.objects.filter(year=source).order_by("pk"):
        copy = Target(
            year=year,
            indicator=t.indicator,
            comparison=t.comparison,
            threshold=t.threshold,
            area_level=t.area_level,
            is_reference=t.is_reference,
            note=t.note,
        )
        copy._history_user = actor
        copy._change_reason = f"开启{year}年度：复制{source}年度目标"
        copy.save()
        copies.append(copy)
    forget_pages()
    transaction.on_commit(forget_pages)
    return [f"年度目标：已复制{source}年度的 {len(copies)} 项目标。"]


def on_close(*, actor, year: int) -> list[str]:
    from dashboards.services import compute_snapshots

    result = compute_snapshots(year=year, final=True)
    return [
        f"看板：已计算{year}年度最终数据（截至 {result.as_of:%Y-%m-%d}，{result.snapshots} 项指标）。"
    ]


def register_steps() -> None:
    register(
        YearStep(
            key="dashboards",
            label="年度目标与看板",
            describe=describe,
            on_open=on_open,
            on_close=on_close,
        )
    )
