"""Demo data for the dashboards: the 2023 plan's targets, and the snapshots of every
roster year computed from the other apps' demo data (never written by hand)."""

from __future__ import annotations

from dashboards.models import IndicatorSnapshot
from dashboards.services import compute_snapshots, live_years, seed_plan_targets
from villages.demo import SyncStats


def seed_demo(*, seed: int = 2023, scale: int = 1) -> SyncStats:
    stats = SyncStats()
    created = seed_plan_targets(year=2023)
    if created:
        stats.created["2023年度目标"] += created
    for year in live_years():
        existed = IndicatorSnapshot.objects.filter(year=year).exists()
        result = compute_snapshots(year=year)
        if not existed:  # a recomputation of existing snapshots is not a demo-data change
            stats.created[f"{year}年度指标快照"] += result.snapshots
    return stats
