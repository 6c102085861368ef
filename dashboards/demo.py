"""Demo data for the dashboards: the 2023 plan's targets (also made by a data migration),
and the snapshots of every roster year that has none yet, computed from the other apps'
demo data (never written by hand). A second run writes nothing; after changing data, the
beat task, the nightly run, 刷新数据 or `compute_targets --year Y` bring them up to date."""

from __future__ import annotations

from dashboards.models import IndicatorSnapshot
from dashboards.services import compute_snapshots, seed_plan_targets
from villages.demo import SyncStats
from villages.selectors import roster_years


def seed_demo(*, seed: int = 2023, scale: int = 1) -> SyncStats:
    stats = SyncStats()
    created = seed_plan_targets(year=2023)
    if created:
        stats.created["2023年度目标"] += created
    done = set(IndicatorSnapshot.objects.values_list("year", flat=True).distinct())
    for year in sorted(set(roster_years()) - done):
        result = compute_snapshots(year=year)
        stats.created[f"{year}年度指标快照"] += result.snapshots
    return stats
