"""Target dashboards under load, on PostgreSQL, through gunicorn (2 sync workers, the
production settings, sessions on), beside the same dashboard computed on the fly.

    .venv/bin/python bench/dashboards.py                 # scale 1
    .venv/bin/python bench/dashboards.py --scale 10      # also scale 10 (slow to seed)

For each scale it (re)creates a scratch database on the server named by
BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/), runs `seed_demo --scale
N` (which also computes the snapshots) and measures:

- `compute_snapshots(year=2023)`: median wall time of three runs (budget ≤ 3 s at scale
  1, ≤ 30 s at scale 10, growing no worse than linearly);
- the county dashboard (`county_yanling`, 鄢陵县, 2023), signed in through the login form:
  requests/s with N clients, p50 and p99 with one client per worker (wrk where it is
  installed, Python threads otherwise; budget p50 ≤ 15 ms, p99 ≤ 60 ms,
  ≥ 400 req/s);
- the on-the-fly baseline in the same run and server: the same page, but the request
  first aggregates the year's figures from the apps' selectors (what the page would cost
  without snapshots); the ratio of the medians (budget ≥ 30×);
- the queries per dashboard request (budget ≤ 10).

Figures are printed beside their budgets; the exit code is 1 when a budget is missed.
Nothing here is a test: the suite never times.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.run import SERVER, WORK, recreate_database, setup_django  # noqa: E402
from bench.visits import (  # noqa: E402
    Gunicorn,
    load_wrk,
    production_env,
    request,
    sign_in,
)

YEAR = 2023
SECRET_KEY = "bench-dashboards-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz-ABCD"
PASSWORD = "demo12345"
BUDGET = {"p50_ms": 15.0, "p99_ms": 60.0, "rps": 400.0, "speedup": 30.0, "queries": 10}
COMPUTE_BUDGET = {1: 3.0, 10: 30.0}
BASELINE_PREFIX = "/bench/on-the-fly"

# ----- the on-the-fly baseline (gunicorn bench.dashboards:application) -----

_app = None


def application(environ, start_response):
    """The production WSGI app with the dashboards URLs and the on-the-fly baseline."""
    global _app
    if _app is None:
        from django.conf import settings
        from django.core.wsgi import get_wsgi_application

        _app = get_wsgi_application()
        settings.ROOT_URLCONF = "bench.dashboards"
    return _app(environ, start_response)


def __getattr__(name):
    # Built on first use, so importing this module touches no Django code.
    if name != "urlpatterns":
        raise AttributeError(name)
    from django.contrib.auth.decorators import login_required
    from django.urls import include, path
    from django.utils import timezone

    from dashboards import views
    from dashboards.indicators import as_of_for, gather

    @login_required
    def on_the_fly(request, pk: int):
        gather(year=YEAR, as_of=as_of_for(YEAR, timezone.localdate()))
        return views.county(request, pk)

    patterns = [
        path(BASELINE_PREFIX.strip("/") + "/county/<int:pk>/", on_the_fly),
        path("", include("dashboards.urls")),
        path("", include("xuchang_portal.urls")),
    ]
    globals()["urlpatterns"] = patterns
    return patterns


# ----- clients -----


class Session:
    def __init__(self, port: int, username: str):
        self.port = port
        self.cookie, self.csrf = sign_in(port, username, PASSWORD)

    def get(self, path: str):
        started = time.perf_counter()
        status, _, body = request("GET", self.port, path, headers={"Cookie": self.cookie})
        return status, time.perf_counter() - started, body


def load(sessions: list[Session], path: str, total: int, clients: int) -> dict:
    counter = iter(range(total))
    lock = threading.Lock()
    latencies, failures = [], []
    start = threading.Barrier(clients + 1)

    def worker(session):
        start.wait()
        while True:
            with lock:
                if next(counter, None) is None:
                    return
            status, seconds, body = session.get(path)
            with lock:
                latencies.append(seconds)
                if status != 200 or "目标看板".encode() not in body:
                    failures.append((status, body[:200]))

    threads = [
        threading.Thread(target=worker, args=(sessions[i % len(sessions)],)) for i in range(clients)
    ]
    for t in threads:
        t.start()
    start.wait()
    began = time.perf_counter()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - began
    latencies.sort()
    return {
        "requests": len(latencies),
        "failures": len(failures),
        "first_failure": repr(failures[0]) if failures else "",
        "rps": len(latencies) / elapsed,
        "p50_ms": 1000 * statistics.median(latencies),
        "p99_ms": 1000 * latencies[max(0, int(len(latencies) * 0.99) - 1)],
    }


# ----- one scale -----


def compute_times(repeat: int = 3) -> list[float]:
    from dashboards.services import compute_snapshots

    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        compute_snapshots(year=YEAR)
        times.append(time.perf_counter() - started)
    return times


def queries_per_request(county_pk: int) -> int:
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    settings.ROOT_URLCONF = "bench.dashboards"
    settings.ALLOWED_HOSTS = ["*"]
    client = Client()
    client.force_login(get_user_model().objects.get(username="county_yanling"))
    url = f"/dashboards/county/{county_pk}/?year={YEAR}"
    client.get(url)
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def database_seeded(db: str) -> bool:
    """Whether `db` exists and already holds a seeded demo (for --reuse)."""
    import psycopg2

    try:
        conn = psycopg2.connect(f"{SERVER}/{db}")
    except psycopg2.OperationalError:
        return False
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT count(*) FROM dashboards_indicatorsnapshot WHERE year = %s", [YEAR])
            return cur.fetchone()[0] > 0
    except psycopg2.Error:
        return False
    finally:
        conn.close()


def run_scale(scale: int, args) -> dict:
    from django.core.management import call_command

    from villages.models import County, Village
    from visits.models import Visit

    db = f"xuchang_bench_dash{scale}"
    reuse = args.reuse and database_seeded(db)
    if not reuse:
        recreate_database(db)
    os.environ["DATABASE_URL"] = f"{SERVER}/{db}"
    from django.db import connections

    connections["default"].close()
    connections["default"].settings_dict["NAME"] = db
    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    if not reuse:
        call_command("seed_demo", scale=scale, stdout=open(os.devnull, "w"))
    seeded = time.perf_counter() - started
    result = {
        "scale": scale,
        "seed_s": seeded if not reuse else None,
        "villages": Village.objects.count(),
        "visits": Visit.objects.count(),
        "compute_s": compute_times(),
    }
    county = County.objects.get(code="411024").pk
    result["queries"] = queries_per_request(county)
    media = tempfile.mkdtemp(prefix="bench-dash-")
    env = production_env(f"{SERVER}/{db}", media)
    with Gunicorn(
        "bench.dashboards:application", env, WORK / f"gunicorn_dash{scale}.log"
    ) as server:
        sessions = [Session(server.port, "county_yanling") for _ in range(args.clients)]
        page = f"/dashboards/county/{county}/?year={YEAR}"
        load(sessions, page, total=200, clients=args.clients)  # warm-up
        # throughput with N clients; latency with one client per worker (no queueing)
        if args.use_wrk:
            result["ours"] = load_wrk(
                sessions, page, seconds=args.seconds, clients=args.clients, post=False
            )
            result["latency"] = load_wrk(
                sessions, page, seconds=args.seconds, clients=2, post=False
            )
        else:
            result["ours"] = load(sessions, page, total=args.requests, clients=args.clients)
            result["latency"] = load(sessions, page, total=args.requests // 2, clients=2)
        fly = f"{BASELINE_PREFIX}/county/{county}/?year={YEAR}"
        result["baseline"] = load(sessions, fly, total=args.baseline_requests, clients=2)
    return result


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--scale", type=int, action="append", help="1 always; add 10 to also run it"
    )
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--baseline-requests", type=int, default=20)
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="keep an already seeded bench database (skip seed_demo)",
    )
    parser.add_argument("--seconds", type=int, default=10, help="length of each wrk run")
    parser.add_argument(
        "--python-client",
        action="store_true",
        help="generate the load from Python threads even where wrk is installed",
    )
    args = parser.parse_args()
    args.use_wrk = shutil.which("wrk") is not None and not args.python_client
    scales = sorted({1, *(args.scale or [])})
    env = production_env(f"{SERVER}/postgres", tempfile.mkdtemp(prefix="bench-dash-"))
    os.environ.update({k: env[k] for k in ("SECRET_KEY", "ALLOWED_HOSTS", "DEBUG")})
    os.environ["DJANGO_SETTINGS_MODULE"] = "xuchang_portal.settings.production"
    os.environ["SECURE_SSL_REDIRECT"] = "false"
    if not (args.reuse and database_seeded("xuchang_bench_dash1")):
        recreate_database("xuchang_bench_dash1")
    setup_django("xuchang_bench_dash1")
    WORK.mkdir(parents=True, exist_ok=True)
    print(
        f"PostgreSQL {SERVER}, gunicorn: 2 sync workers, {os.cpu_count()} CPUs, "
        f"load from {'wrk' if args.use_wrk else 'Python threads'}"
    )
    results = [run_scale(scale, args) for scale in scales]
    (WORK / "dashboards_latest.json").write_text(json.dumps(results, indent=2, ensure_ascii=False))
    return report(results, args)


def report(results: list[dict], args) -> int:
    rows = []
    ok = True
    compute = {r["scale"]: statistics.median(r["compute_s"]) for r in results}
    for r in results:
        s, ours, base, lat = r["scale"], r["ours"], r["baseline"], r["latency"]
        speedup = base["p50_ms"] / lat["p50_ms"] if lat["p50_ms"] else 0
        rows += [
            (
                f"scale {s}: {r['villages']} villages, {r['visits']} visits"
                + (f" (seeded in {r['seed_s']:.0f} s)" if r["seed_s"] is not None else " (reused)"),
                "",
                "",
                True,
            ),
            (
                f"  compute_snapshots({YEAR}), median of 3",
                f"{compute[s]:.2f} s",
                f"≤ {COMPUTE_BUDGET.get(s, 30.0):.0f} s",
                compute[s] <= COMPUTE_BUDGET.get(s, 30.0),
            ),
            (
                f"  county dashboard, {ours['requests']} GETs × {args.clients} clients",
                f"{ours['rps']:.0f} req/s",
                f"≥ {BUDGET['rps']:.0f}",
                ours["rps"] >= BUDGET["rps"],
            ),
            (
                "  … p50 / p99 at that load (queueing included)",
                f"{ours['p50_ms']:.0f} / {ours['p99_ms']:.0f} ms",
                "—",
                True,
            ),
            (
                f"  county dashboard, {lat['requests']} GETs × 2 clients (one per worker): p50",
                f"{lat['p50_ms']:.1f} ms",
                f"≤ {BUDGET['p50_ms']:.0f} ms",
                lat["p50_ms"] <= BUDGET["p50_ms"],
            ),
            (
                "  … p99",
                f"{lat['p99_ms']:.1f} ms",
                f"≤ {BUDGET['p99_ms']:.0f} ms",
                lat["p99_ms"] <= BUDGET["p99_ms"],
            ),
            (
                f"  on the fly (baseline), {base['requests']} GETs × 2 clients",
                f"{base['rps']:.1f} req/s",
                "—",
                True,
            ),
            ("  … p50 / p99", f"{base['p50_ms']:.0f} / {base['p99_ms']:.0f} ms", "—", True),
            (
                "  … snapshots vs on the fly (p50, 2 clients each)",
                f"{speedup:.0f}×",
                f"≥ {BUDGET['speedup']:.0f}×",
                speedup >= BUDGET["speedup"],
            ),
            (
                "  queries per dashboard request",
                f"{r['queries']}",
                f"≤ {BUDGET['queries']}",
                r["queries"] <= BUDGET["queries"],
            ),
            (
                "  failed requests",
                f"{ours['failures'] + lat['failures']} / {base['failures']}",
                "0 / 0",
                ours["failures"] + lat["failures"] == 0 and base["failures"] == 0,
            ),
        ]
    if 1 in compute and 10 in compute:
        ratio = compute[10] / compute[1]
        rows.append(
            ("compute_snapshots scale 10 ÷ scale 1", f"{ratio:.1f}×", "≤ 10× (linear)", ratio <= 10)
        )
    width = max(len(label) for label, *_ in rows)
    for label, value, budget, passed in rows:
        ok &= passed
        mark = "" if not value else ("ok" if passed else "MISSED")
        print(f"{label:<{width}}  {value:>14}  {budget:>14}  {mark}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
