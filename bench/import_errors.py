"""Files full of errors (issue 15): validation linear in rows and errors, and the annotated
workbook built by the job, so that its download is only a file sent. On PostgreSQL.

    make bench            # or: .venv/bin/python bench/import_errors.py

It (re)creates a scratch database (xuchang_bench_errors) on the server named by
BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/) with one county, one
township and a city admin, writes village rosters of 5,000, 10,000 and 20,000 rows in
which every row is bad (three errors each: a code of the wrong length, an unknown type,
households that are no number), and measures:

- the job's validation step (`import_job_validate`: read, check, diff, store the preview),
  median of five runs per size: budget ≤ 3 s for 20,000 rows, and 20k ÷ 5k ≤ 5× (4× is
  linear; before issue 15 it was 3.9 s, 15.9 s and 95 s, i.e. 24×);
- the job's annotated-workbook step for the 20,000 rows (`import_job_annotate`, in the
  background after the preview): printed, no budget. It is the naive baseline for the
  download: before issue 15 the download request built the workbook itself;
- the download request of that workbook: the whole Django stack (middleware, session,
  scoping) through the test client, signed in as the city admin, the body read to the
  end; 50 requests after one warm-up: budget ≤ 200 ms for the median and the 95th
  percentile (the slowest is printed), and the ratio to the baseline.

Figures are printed beside their budgets; the exit code is 1 when a budget is missed.
Nothing here is a test: the suite never times.
"""

from __future__ import annotations

import io
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.run import recreate_database, setup_django  # noqa: E402

DB = "xuchang_bench_errors"
SIZES = (5_000, 10_000, 20_000)
REPEAT = 5
DOWNLOADS = 50
BUDGET = {"validate20k_s": 3.0, "growth": 5.0, "download_ms": 200.0}
HEADERS = ["县(市、区)", "乡镇(街道)", "村(社区)名称", "统计用区划代码", "类型", "户数", "人口"]


def all_bad_roster(rows: int) -> bytes:
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("村名册")
    ws.append(HEADERS)
    for i in range(rows):
        ws.append(["基准县", "基准镇", f"错误村{i}", f"{i:05d}", "乡村", "很多", 400])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def world():
    from django.contrib.auth import get_user_model

    from villages.models import County, Township, UserRole

    county = County.objects.create(name="基准县", code="411099")
    Township.objects.create(county=county, name="基准镇", code="411099100")
    admin = get_user_model().objects.create_user("bench_admin", password="x")
    UserRole.objects.create(user=admin, role=UserRole.Role.CITY_ADMIN)
    return admin


class NotNow:
    """Stands for a task while its step is timed on its own: queued, not run."""

    def __init__(self, task):
        self.name, self.app = task.name, task.app

    def delay(self, *args, **kwargs):
        pass

    apply_async = delay


def cpu_seconds() -> float:
    """CPU time of this process and of its finished children (the reader parses each upload
    in a child process): beside wall time, it shows what a busy machine added."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


READING = {"seconds": 0.0}


def timed_reading(read):
    """The reader, timed: how much of a validation is reading the file."""

    def read_bytes(*args, **kwargs):
        start = time.perf_counter()
        try:
            return read(*args, **kwargs)
        finally:
            READING["seconds"] += time.perf_counter() - start

    return read_bytes


def validate_once(admin, data: bytes) -> tuple[float, float, object]:
    from django.core.files.base import ContentFile

    from core import jobs
    from core.models import ImportJob
    from villages import services

    job = services.import_job_create(
        actor=admin, kind="villages", upload=ContentFile(data, name="全是错误.xlsx")
    )
    start, cpu = time.perf_counter(), cpu_seconds()
    job = jobs.import_job_validate(job_id=job.pk)
    seconds, cpu = time.perf_counter() - start, cpu_seconds() - cpu
    assert job.state == ImportJob.State.PREVIEWED, job.error
    return seconds, cpu, job


def main() -> int:
    media = tempfile.mkdtemp(prefix="bench-import-errors-")
    os.environ["MEDIA_ROOT"] = media
    recreate_database(DB)
    setup_django(DB)

    from django.core.management import call_command
    from django.test import Client

    from core import jobs
    from core.importing import engine
    from core.models import ImportJob

    call_command("migrate", verbosity=0)
    admin = world()
    # Each step is timed on its own: the tasks the services queue are held back.
    from celery import current_app

    current_app.loader.import_default_modules()
    for name in ("core.tasks.import_job_validate", "core.tasks.import_job_annotate"):
        current_app.tasks[name] = NotNow(current_app.tasks[name])
    engine.read_bytes = timed_reading(engine.read_bytes)

    results: dict = {
        "validate_s": {},
        "validate_cpu_s": {},
        "validate_read_s": {},
        "load": os.getloadavg()[0],
    }
    job = None
    for rows in SIZES:
        data = all_bad_roster(rows)
        runs, cpus, reads = [], [], []
        for _ in range(REPEAT):
            READING["seconds"] = 0.0
            seconds, cpu, job = validate_once(admin, data)
            runs.append(seconds)
            cpus.append(cpu)
            reads.append(READING["seconds"])
        counts = job.summary
        assert counts["error_rows"] == rows and counts["errors"] == 3 * rows, counts
        results["validate_s"][rows] = statistics.median(runs)
        results["validate_cpu_s"][rows] = statistics.median(cpus)
        results["validate_read_s"][rows] = statistics.median(reads)
        print(
            f"  validated {rows:,} all-bad rows: {', '.join(f'{s:.2f}' for s in runs)} s "
            f"(CPU {', '.join(f'{s:.2f}' for s in cpus)} s)"
        )

    start = time.perf_counter()
    job = jobs.import_job_annotate(job_id=job.pk)
    results["annotate_s"] = time.perf_counter() - start
    assert job.annotated_state == ImportJob.Annotation.DONE
    results["annotated_kb"] = job.annotated.size / 1024

    client = Client()
    client.force_login(admin)
    url = f"/imports/{job.pk}/annotated/"

    def download() -> float:
        start = time.perf_counter()
        response = client.get(url)
        body = b"".join(response.streaming_content)
        elapsed = time.perf_counter() - start
        assert response.status_code == 200 and len(body) == job.annotated.size
        return elapsed

    download()  # warm-up: first request imports and compiles templates
    times = sorted(download() for _ in range(DOWNLOADS))
    results["download_ms"] = statistics.median(times) * 1000
    results["download_p95_ms"] = times[int(len(times) * 0.95) - 1] * 1000
    results["download_max_ms"] = times[-1] * 1000
    return report(results)


def report(r: dict) -> int:
    v = r["validate_s"]
    growth = v[SIZES[-1]] / v[SIZES[0]]
    speedup = r["annotate_s"] * 1000 / r["download_ms"]
    cpu = r["validate_cpu_s"]
    print(f"load average at the start: {r['load']:.1f} on {os.cpu_count()} CPUs")
    checks = [
        (f"validation, {SIZES[0]:,} all-bad rows", f"{v[SIZES[0]]:.2f} s", "—", True),
        (f"validation, {SIZES[1]:,} all-bad rows", f"{v[SIZES[1]]:.2f} s", "—", True),
        (
            f"validation, {SIZES[2]:,} all-bad rows",
            f"{v[SIZES[2]]:.2f} s",
            f"≤ {BUDGET['validate20k_s']} s",
            v[SIZES[2]] <= BUDGET["validate20k_s"],
        ),
        ("  … its CPU time (this process and the reader's)", f"{cpu[SIZES[2]]:.2f} s", "—", True),
        (
            "  … of which reading the file (reader, child process)",
            f"{r['validate_read_s'][SIZES[2]]:.2f} s",
            "—",
            True,
        ),
        (
            f"  … growth, {SIZES[2] // 1000}k ÷ {SIZES[0] // 1000}k",
            f"{growth:.1f}×",
            f"≤ {BUDGET['growth']:.0f}×",
            growth <= BUDGET["growth"],
        ),
        (
            f"annotated workbook step, {SIZES[2]:,} rows (background; baseline)",
            f"{r['annotate_s']:.2f} s",
            "—",
            True,
        ),
        ("  … its size", f"{r['annotated_kb']:.0f} KB", "—", True),
        (
            "download request of that workbook, median",
            f"{r['download_ms']:.1f} ms",
            f"≤ {BUDGET['download_ms']:.0f} ms",
            r["download_ms"] <= BUDGET["download_ms"],
        ),
        (
            f"  … 95th percentile of {DOWNLOADS}",
            f"{r['download_p95_ms']:.1f} ms",
            f"≤ {BUDGET['download_ms']:.0f} ms",
            r["download_p95_ms"] <= BUDGET["download_ms"],
        ),
        (f"  … slowest of {DOWNLOADS}", f"{r['download_max_ms']:.1f} ms", "—", True),
        ("  … vs building it in the request (baseline)", f"{speedup:.0f}× faster", "—", True),
    ]
    width = max(len(c[0]) for c in checks)
    ok = True
    for label, value, budget, passed in checks:
        ok &= passed
        print(f"{label:<{width}}  {value:>12}  {budget:>10}  {'ok' if passed else 'MISSED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
