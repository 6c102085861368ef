"""Import benchmarks, as ratios against a plain django-import-export ModelResource in the
same run, on PostgreSQL.

    make bench            # or: .venv/bin/python bench/run.py

It creates (and drops and re-creates) two scratch databases on the server named by
BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/), seeds them with
`seed_demo` (scale 1 and scale 10), exports the village roster, and measures:

- the 2,529-row roster: the plain ModelResource import vs our validate pass and our
  commit pass (every row changed), each rolled back afterwards;
- re-importing the unchanged roster: 0 changes and no write statement;
- the 25,290-row roster (scale 10): each pass in its own process, with its peak memory.

Figures are printed beside their budgets; the exit code is 1 when a budget is missed.
Timings are medians of several runs. Nothing here is a test: the suite never times.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SERVER = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/").rstrip("/")
DB1, DB10 = "xuchang_bench", "xuchang_bench10"
WORK = ROOT / "bench" / "results"
BUDGET = {
    "pass_s": 0.8,
    "speedup": 5.0,
    "pass10_s": 6.0,
    "rss10_mb": 300.0,
}


def setup_django(db: str) -> None:
    os.environ["DATABASE_URL"] = f"{SERVER}/{db}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "xuchang_portal.settings.test")
    for name in ("CELERY_BROKER_URL", "REDIS_URL", "CACHE_URL"):
        os.environ.pop(name, None)
    import django

    django.setup()


class Rollback(Exception):
    pass


def timed(fn, *, repeat: int) -> tuple[float, object]:
    """Median wall time of `fn` run inside a transaction that is rolled back each time."""
    from django.db import transaction

    times, result = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        try:
            with transaction.atomic():
                result = fn()
                elapsed = time.perf_counter() - start
                raise Rollback
        except Rollback:
            pass
        times.append(elapsed)
    return statistics.median(times), result


def recreate_database(db: str) -> None:
    import psycopg2

    conn = psycopg2.connect(f"{SERVER}/postgres")
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{db}"')
        cur.execute(f'CREATE DATABASE "{db}"')
    conn.close()


def prepare(db: str, scale: int) -> dict:
    """Fresh database, seeded; writes the exported roster and an all-changed variant."""
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from openpyxl import load_workbook

    from villages.services import export_job_create

    call_command("migrate", verbosity=0)
    call_command("seed_demo", scale=scale, stdout=open(os.devnull, "w"))
    admin = get_user_model().objects.get(username="admin")
    job = export_job_create(actor=admin, kind="villages")
    job.refresh_from_db()
    WORK.mkdir(parents=True, exist_ok=True)
    same = WORK / f"villages_x{scale}.xlsx"
    same.write_bytes(job.file.read())
    wb = load_workbook(same)
    ws = wb.active
    for row in ws.iter_rows(min_row=2):
        row[5].value = (row[5].value or 0) + 1  # 户数 changes on every row
    changed = WORK / f"villages_x{scale}_changed.xlsx"
    wb.save(changed)
    return {"same": str(same), "changed": str(changed), "rows": job.row_count}


# ----- the passes -----


def our_validate(path: str):
    from core.importing.engine import Context, build_plan, get_kind

    data = Path(path).read_bytes()
    return build_plan(get_kind("villages"), data, Path(path).name, Context(actor=None))


def our_commit(path: str):
    """What import_job_commit does: re-check the file, then write the valid rows."""
    from core.importing.engine import Context

    ctx = Context(actor=None)
    plan = _plan_with(ctx, path)
    plan.kind.commit(plan.valid_items(), ctx)
    return plan


def _plan_with(ctx, path: str):
    from core.importing.engine import build_plan, get_kind

    return build_plan(get_kind("villages"), Path(path).read_bytes(), Path(path).name, ctx)


def plain_resource():
    """The baseline: a django-import-export ModelResource as the documentation shows it,
    with the township found by code and the kind label mapped to its value."""
    from import_export import fields, resources, widgets

    from villages.models import Township, Village

    class KindWidget(widgets.Widget):
        labels = {str(label): value for value, label in Village.Kind.choices}

        def clean(self, value, row=None, **kwargs):
            return self.labels.get(value, value)

    class PlainVillageResource(resources.ModelResource):
        code = fields.Field(attribute="code", column_name="统计用区划代码")
        name = fields.Field(attribute="name", column_name="村(社区)名称")
        kind = fields.Field(attribute="kind", column_name="类型", widget=KindWidget())
        township = fields.Field(
            attribute="township",
            column_name="乡镇代码",
            widget=widgets.ForeignKeyWidget(Township, field="code"),
        )
        households = fields.Field(attribute="households", column_name="户数")
        population = fields.Field(attribute="population", column_name="人口")
        secretary_name = fields.Field(attribute="secretary_name", column_name="党组织书记")
        secretary_phone = fields.Field(attribute="secretary_phone", column_name="联系电话")

        class Meta:
            model = Village
            import_id_fields = ("code",)
            fields = (
                "code",
                "name",
                "kind",
                "township",
                "households",
                "population",
                "secretary_name",
                "secretary_phone",
            )

        def before_import_row(self, row, **kwargs):
            row["乡镇代码"] = str(row["统计用区划代码"])[:9]

    return PlainVillageResource()


def plain_import(path: str):
    from import_export.formats.base_formats import XLSX

    dataset = XLSX().create_dataset(Path(path).read_bytes())
    result = plain_resource().import_data(dataset, dry_run=False, use_transactions=True)
    assert not result.has_errors() and not result.has_validation_errors(), "baseline failed"
    return result


def count_writes(fn) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        fn()
    verbs = ("INSERT", "UPDATE", "DELETE")
    return sum(1 for q in ctx.captured_queries if q["sql"].lstrip().upper().startswith(verbs))


# ----- drivers -----


def _peak_rss_mb() -> float:
    """This process's own peak RSS. Not getrusage's ru_maxrss: Linux carries that across
    execve, so a child would report its parent's peak from before the fork."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(args) -> None:
    """One scale-10 pass in its own process, so its peak memory is its own."""
    setup_django(DB10)
    fn = our_validate if args.child == "validate" else our_commit
    seconds, plan = timed(lambda: fn(args.file), repeat=args.repeat)
    peak_mb = _peak_rss_mb()
    counts = plan.counts()
    print(
        json.dumps(
            {
                "seconds": seconds,
                "peak_mb": peak_mb,
                "changed": counts["changed"],
                "errors": counts["errors"],
            }
        )
    )


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--child", choices=["validate", "commit"])
    parser.add_argument("--file")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--skip-scale10", action="store_true")
    args = parser.parse_args()
    if args.child:
        child(args)
        return 0

    recreate_database(DB1)
    setup_django(DB1)
    files = prepare(DB1, 1)
    rows = files["rows"]
    print(f"PostgreSQL {SERVER}/…, {rows} rows (scale 1)")

    base_s, _ = timed(lambda: plain_import(files["changed"]), repeat=2)
    val_s, plan = timed(lambda: our_validate(files["changed"]), repeat=5)
    assert plan.counts()["changed"] == rows, plan.counts()
    com_s, _ = timed(lambda: our_commit(files["changed"]), repeat=5)
    same_s, same_plan = timed(lambda: our_validate(files["same"]), repeat=5)
    same_counts = same_plan.counts()
    writes = count_writes(lambda: _commit_unchanged(files["same"]))

    results = {
        "rows": rows,
        "baseline_s": base_s,
        "validate_s": val_s,
        "commit_s": com_s,
        "validate_speedup": base_s / val_s,
        "commit_speedup": base_s / com_s,
        "reimport_s": same_s,
        "reimport_changes": same_counts["new"] + same_counts["changed"] + same_counts["moved"],
        "reimport_writes": writes,
    }

    if not args.skip_scale10:
        recreate_database(DB10)
        env = {**os.environ, "DATABASE_URL": f"{SERVER}/{DB10}"}
        subprocess.run([sys.executable, "-c", _SEED10], check=True, env=env, cwd=ROOT)
        big = json.loads((WORK / "scale10.json").read_text())
        for name in ("validate", "commit"):
            out = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--child",
                    name,
                    "--file",
                    big["changed"],
                    "--repeat",
                    "1",
                ],
                check=True,
                capture_output=True,
                text=True,
                env=env,
                cwd=ROOT,
            )
            measured = json.loads(out.stdout.strip().splitlines()[-1])
            results[f"x10_{name}_s"] = measured["seconds"]
            results[f"x10_{name}_peak_mb"] = measured["peak_mb"]
        results["x10_rows"] = big["rows"]

    (WORK / "latest.json").write_text(json.dumps(results, indent=2, ensure_ascii=False))
    return report(results)


_SEED10 = """
import json, sys
sys.argv = ["bench"]
from bench.run import setup_django, prepare, WORK, DB10
setup_django(DB10)
files = prepare(DB10, 10)
(WORK / "scale10.json").write_text(json.dumps(files))
"""


def _commit_unchanged(path: str) -> None:
    from django.db import transaction

    try:
        with transaction.atomic():
            our_commit(path)
            raise Rollback
    except Rollback:
        pass


def report(r: dict) -> int:
    checks = [
        (
            f"{r['rows']}-row roster, plain ModelResource import (baseline)",
            f"{r['baseline_s']:.2f} s",
            "—",
            True,
        ),
        (
            "our validate pass",
            f"{r['validate_s']:.2f} s",
            f"≤ {BUDGET['pass_s']} s",
            r["validate_s"] <= BUDGET["pass_s"],
        ),
        (
            "our commit pass (re-check + write)",
            f"{r['commit_s']:.2f} s",
            f"≤ {BUDGET['pass_s']} s",
            r["commit_s"] <= BUDGET["pass_s"],
        ),
        (
            "speed-up, validate vs baseline",
            f"{r['validate_speedup']:.1f}×",
            f"≥ {BUDGET['speedup']:.0f}×",
            r["validate_speedup"] >= BUDGET["speedup"],
        ),
        (
            "speed-up, commit vs baseline",
            f"{r['commit_speedup']:.1f}×",
            f"≥ {BUDGET['speedup']:.0f}×",
            r["commit_speedup"] >= BUDGET["speedup"],
        ),
        (
            "re-import of the unchanged roster",
            f"{r['reimport_s']:.2f} s",
            f"≤ {BUDGET['pass_s']} s",
            r["reimport_s"] <= BUDGET["pass_s"],
        ),
        (
            "  … changes reported / write statements",
            f"{r['reimport_changes']} / {r['reimport_writes']}",
            "0 / 0",
            r["reimport_changes"] == 0 and r["reimport_writes"] == 0,
        ),
    ]
    if "x10_rows" in r:
        for name in ("validate", "commit"):
            checks.append(
                (
                    f"{r['x10_rows']:,} rows (scale 10), {name} pass",
                    f"{r[f'x10_{name}_s']:.2f} s",
                    f"≤ {BUDGET['pass10_s']} s",
                    r[f"x10_{name}_s"] <= BUDGET["pass10_s"],
                )
            )
            checks.append(
                (
                    "  … peak memory of that process",
                    f"{r[f'x10_{name}_peak_mb']:.0f} MB",
                    f"≤ {BUDGET['rss10_mb']:.0f} MB",
                    r[f"x10_{name}_peak_mb"] <= BUDGET["rss10_mb"],
                )
            )
    width = max(len(c[0]) for c in checks)
    ok = True
    for label, value, budget, passed in checks:
        ok &= passed
        print(f"{label:<{width}}  {value:>12}  {budget:>10}  {'ok' if passed else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
