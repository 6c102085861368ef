"""Visit logging under load: POST /api/visits/ through gunicorn with the production settings,
on PostgreSQL.

    make bench            # bench/run.py, then this
    .venv/bin/python bench/visits.py [--seconds 10] [--clients 8] [--python-client]

It (re)creates a scratch database on the server named by BENCH_DATABASE_URL (default
postgres://postgres@127.0.0.1:5432/), seeds a small world (one township, four villages,
eight cadres whose 帮村 assignments cover today, each with a login), and starts

    gunicorn xuchang_portal.wsgi:application --workers 2 --bind 127.0.0.1:<port>
             --no-control-socket

with the production settings (SECRET_KEY, ALLOWED_HOSTS=127.0.0.1, SECURE_SSL_REDIRECT=false,
DATABASE_URL to the scratch database, CONN_MAX_AGE=60 as in .env.example, Redis as the
shared cache as in docker-compose (BENCH_CACHE_URL, default redis://127.0.0.1:6379/14), so
sessions are read from it; no broker: creating a visit enqueues nothing). Every client signs
in through the login form and posts with its session cookie and CSRF token, as the portal's
own pages do. Only loopback is used.

The load comes from wrk (Debian's `wrk` package: one thread and one connection per client,
`--seconds` per run) where it is installed, and from Python threads otherwise (or with
`--python-client`; then `--requests` per run). wrk takes almost no CPU from the two cores the
server has; Python threads take about 0.6 ms per request.

Measured:

- ours: visit creations (JSON, a fresh client_uuid each, today's date) from N clients at
  once, each request on a new TCP connection (gunicorn's sync workers close the connection
  after every response): requests/s, p50/p99 latency, and the CPU the workers spent per
  request (read from /proc, so it holds whatever else the machine is doing), against the
  budget (≥ 250 req/s, p99 ≤ 100 ms);
- the naive baseline, same run, same clients, same gunicorn settings: the endpoint as the
  DRF tutorial would write it, a plain ModelViewSet create on the Visit model (a
  ModelSerializer, `serializer.save(cadre=…)`). It skips what ours does on purpose —
  the scope and assignment checks, the review event, the distance check — so the ratio is
  the price of those rules (or, above 1, what ours saves);
- the race: 20 clients post the same client_uuid at the same moment; exactly one visit
  may exist afterwards, one answer 201 and the others 200.

Figures are printed beside their budgets; the exit code is 1 when a budget is missed.
Nothing here is a test: the suite never times.
"""

from __future__ import annotations

import argparse
import datetime
import http.client
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.run import SERVER, WORK, recreate_database, setup_django  # noqa: E402

DB = "xuchang_bench_visits"
SECRET_KEY = "bench-visits-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz-ABCDEFGH"
PASSWORD = "bench-pass-5931"
CADRES = 8
BUDGET = {"rps": 250.0, "p99_ms": 100.0}
BASELINE_PATH = "/bench/plain-visits/"
HEALTH = "/healthz/"
TODAY = datetime.date.today()  # replaced by the server's local date once Django is set up

# ----- the world -----


def production_env(db_url: str, media: str) -> dict:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("CELERY_BROKER_URL", "REDIS_URL", "CACHE_URL", "CELERY_RESULT_BACKEND")
    }
    env.update(
        DJANGO_SETTINGS_MODULE="xuchang_portal.settings.production",
        DJANGO_READ_DOT_ENV_FILE="false",
        DEBUG="false",
        SECRET_KEY=SECRET_KEY,
        ALLOWED_HOSTS="127.0.0.1",
        SECURE_SSL_REDIRECT="false",
        DATABASE_URL=db_url,
        CONN_MAX_AGE="60",
        MEDIA_ROOT=os.path.join(media, "media"),
        STATIC_ROOT=os.path.join(media, "static"),
        # As in docker-compose: Redis as the shared cache (sessions read from it). No broker:
        # creating a visit enqueues nothing, and Celery stays eager.
        CACHE_URL=os.environ.get("BENCH_CACHE_URL", "redis://127.0.0.1:6379/14"),
        LOG_LEVEL="WARNING",
        PYTHONUNBUFFERED="1",
        # Each bench client writes hundreds of times a minute, far beyond any person: the
        # API's write throttle still counts every write (its cost is in the figures), it
        # never refuses one here.
        API_WRITE_RATE="1000000/min",
    )
    return env


def seed_world() -> list[dict]:
    """One county, one township, four villages, eight cadres (two per village) with logins
    and 帮村 assignments for this whole year."""
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.utils import timezone

    from villages.models import (
        Assignment,
        Cadre,
        County,
        Township,
        UserRole,
        Village,
        WorkUnit,
    )

    call_command("migrate", verbosity=0)
    today = timezone.localdate()
    county = County.objects.create(code="419901", name="基准县", kind=County.Kind.COUNTY)
    township = Township.objects.create(
        code="419901001", name="基准镇", kind=Township.Kind.TOWN, county=county
    )
    villages = [
        Village.objects.create(
            code=f"419901001{i:03d}",
            name=f"基准{i}村",
            kind=Village.Kind.VILLAGE,
            township=township,
            latitude="34.020000",
            longitude="113.820000",
        )
        for i in range(1, 5)
    ]
    unit = WorkUnit.objects.create(name="基准局", level=WorkUnit.Level.COUNTY, county=county)
    User = get_user_model()
    cadres = []
    for i in range(CADRES):
        user = User(username=f"bench_cadre_{i}", first_name=f"基准干部{i}")
        user.set_password(PASSWORD)
        user.save()
        UserRole.objects.create(user=user, role=UserRole.Role.CADRE)
        cadre = Cadre.objects.create(
            name=f"基准干部{i}",
            phone=f"1399990{i:04d}",
            work_unit=unit,
            level=Cadre.Level.COUNTY,
            user=user,
        )
        village = villages[i % len(villages)]
        Assignment.objects.create(
            cadre=cadre,
            kind=Assignment.Kind.VILLAGE,
            village=village,
            year=today.year,
            start_date=datetime.date(today.year, 1, 1),
            end_date=datetime.date(today.year, 12, 31),
        )
        cadres.append({"username": user.username, "village": village.pk})
    return cadres


# ----- the baseline app (gunicorn bench.visits:baseline_application) -----

_baseline_app = None


def baseline_application(environ, start_response):
    """The production WSGI app plus BASELINE_PATH, served by the same gunicorn settings."""
    global _baseline_app
    if _baseline_app is None:
        from django.conf import settings
        from django.core.wsgi import get_wsgi_application

        _baseline_app = get_wsgi_application()
        settings.ROOT_URLCONF = "bench.visits"
    return _baseline_app(environ, start_response)


def __getattr__(name):
    # `urlpatterns` is built on first use, so that importing this module (as the script,
    # or by gunicorn before Django is set up) touches no Django code.
    if name != "urlpatterns":
        raise AttributeError(name)
    from django.urls import include, path
    from rest_framework import mixins, serializers, viewsets

    from visits.models import Visit

    class PlainVisitSerializer(serializers.ModelSerializer):
        class Meta:
            model = Visit
            fields = [
                "id",
                "client_uuid",
                "village",
                "date",
                "day_part",
                "activities",
                "meetings",
                "people_reached",
                "households_visited",
                "notes",
                "latitude",
                "longitude",
                "state",
                "created_at",
            ]
            read_only_fields = ["id", "state", "created_at"]

    class PlainVisitViewSet(mixins.CreateModelMixin, viewsets.GenericViewSet):
        queryset = Visit.objects.all()
        serializer_class = PlainVisitSerializer

        def perform_create(self, serializer):
            serializer.save(cadre=self.request.user.cadre, created_by=self.request.user)

    patterns = [
        path(BASELINE_PATH.strip("/") + "/", PlainVisitViewSet.as_view({"post": "create"})),
        path("", include("xuchang_portal.urls")),
    ]
    globals()["urlpatterns"] = patterns
    return patterns


# ----- the server -----


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Gunicorn:
    def __init__(self, app: str, env: dict, log: Path):
        self.port = free_port()
        self.log = log
        self.args = [
            sys.executable,
            "-m",
            "gunicorn",
            app,
            "--workers",
            "2",
            "--bind",
            f"127.0.0.1:{self.port}",
            "--no-control-socket",
        ]
        self.env = env

    def __enter__(self):
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(
                self.args, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited: {self.log.read_text()[-2000:]}")
            try:
                status, _, _ = request("GET", self.port, "/healthz/")
                if status == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"gunicorn did not answer: {self.log.read_text()[-2000:]}")

    def worker_cpu_seconds(self) -> float:
        """CPU time (user + system) used so far by the gunicorn workers: what a request costs
        in the workers themselves, whatever else the machine is doing."""
        tick = os.sysconf("SC_CLK_TCK")
        children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text()
        total = 0
        for pid in children.split():
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except FileNotFoundError:
                continue
            total += int(fields[11]) + int(fields[12])  # utime, stime
        return total / tick

    def __exit__(self, *exc):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


# ----- the clients -----


def request(method, port, path, *, body=None, headers=None):
    """One request on a fresh loopback connection: (status, headers, body)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.getheaders(), response.read()
    finally:
        conn.close()


def cookies_from(headers) -> dict:
    jar = {}
    for name, value in headers:
        if name.lower() == "set-cookie":
            key, _, rest = value.partition("=")
            jar[key.strip()] = rest.split(";", 1)[0]
    return jar


def sign_in(port: int, username: str, password: str) -> tuple[str, str]:
    """Sign in through the login form, as a browser does: (Cookie header, CSRF token)."""
    status, headers, body = request("GET", port, "/accounts/login/")
    jar = cookies_from(headers)
    token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', body).group(1)
    form = urlencode(
        {"username": username, "password": password, "csrfmiddlewaretoken": token.decode()}
    )
    status, headers, _ = request(
        "POST",
        port,
        "/accounts/login/",
        body=form,
        headers={
            "Content-Type": "application/x-www-form-urlencoded",
            "Cookie": f"csrftoken={jar['csrftoken']}",
        },
    )
    jar |= cookies_from(headers)
    if status != 302 or "sessionid" not in jar:
        raise RuntimeError(f"login of {username} failed: HTTP {status}")
    return f"csrftoken={jar['csrftoken']}; sessionid={jar['sessionid']}", jar["csrftoken"]


class Session:
    """A signed-in cadre: session cookie plus CSRF token, obtained through the login form."""

    def __init__(self, port: int, username: str, village: int):
        self.port, self.village = port, village
        self.cookie, self.csrf = sign_in(port, username, PASSWORD)

    def post_visit(self, path: str, client_uuid: str | None = None):
        body = json.dumps(
            {
                "client_uuid": client_uuid or str(uuid.uuid4()),
                "village": self.village,
                "date": TODAY.isoformat(),
                "day_part": "full",
                "activities": ["meeting", "household"],
                "meetings": 1,
                "people_reached": 12,
                "households_visited": 3,
                "notes": "召开座谈会，入户走访。",
                "latitude": "34.021000",
                "longitude": "113.821000",
            }
        )
        started = time.perf_counter()
        status, _, data = request(
            "POST",
            self.port,
            path,
            body=body,
            headers={
                "Content-Type": "application/json",
                "Cookie": self.cookie,
                "X-CSRFToken": self.csrf,
            },
        )
        return status, time.perf_counter() - started, data


def load(sessions: list[Session], path: str, total: int, clients: int) -> dict:
    """`total` creations from `clients` threads at once (each thread its own session); a
    GET path (the health check) is fetched instead of posted."""
    counter = iter(range(total))
    lock = threading.Lock()
    latencies, failures = [], []
    start = threading.Barrier(clients + 1)
    expected = 200 if path == HEALTH else 201

    def one(session):
        if path == HEALTH:
            began = time.perf_counter()
            status, _, data = request("GET", session.port, HEALTH)
            return status, time.perf_counter() - began, data
        return session.post_visit(path)

    def worker(session):
        start.wait()
        while True:
            with lock:
                if next(counter, None) is None:
                    return
            status, seconds, data = one(session)
            with lock:
                latencies.append(seconds)
                if status != expected:
                    failures.append((status, data[:200]))

    threads = [
        threading.Thread(target=worker, args=(sessions[i % len(sessions)],)) for i in range(clients)
    ]
    for t in threads:
        t.start()
    start.wait()
    began, cpu_began = time.perf_counter(), time.process_time()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - began
    client_cpu = time.process_time() - cpu_began
    latencies.sort()
    return {
        "requests": len(latencies),
        "failures": len(failures),
        "first_failure": repr(failures[0]) if failures else "",
        "rps": len(latencies) / elapsed,
        "p50_ms": 1000 * statistics.median(latencies),
        "p99_ms": 1000 * latencies[max(0, int(len(latencies) * 0.99) - 1)],
        "client_cpu_ms": 1000 * client_cpu / max(1, len(latencies)),
    }


WRK_SCRIPT = ROOT / "bench" / "visits_wrk.lua"


def _lua_string(text: str) -> str:
    return json.dumps(text, ensure_ascii=True)  # a JSON string is a valid Lua string here


def load_wrk(
    sessions: list, path: str, seconds: int, clients: int, post: bool | None = None
) -> dict:
    """The same load as `load`, generated by wrk (C, one thread and connection per client)
    for `seconds`: the load generator then takes almost no CPU from the server's two
    cores, and its latencies are not skewed by Python's GIL. POSTs new visits, or (`post`
    false; the default for the health check) GETs `path` with each session's cookie."""
    post = path != HEALTH if post is None else post
    table = ", ".join(
        f"{{cookie = {_lua_string(s.cookie)}, csrf = {_lua_string(getattr(s, 'csrf', ''))}, "
        f"village = {getattr(s, 'village', 0)}}}"
        for s in sessions
    )
    script = (
        WRK_SCRIPT.read_text(encoding="utf-8")
        .replace("@SESSIONS@", "{" + table + "}")
        .replace("@PATH@", path)
        .replace("@RUN@", uuid.uuid4().hex[:4])
        .replace("@DATE@", TODAY.isoformat())
        .replace("@EXPECTED@", "201" if post else "200")
        .replace("@POST@", "true" if post else "false")
    )
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False, encoding="utf-8") as f:
        f.write(script)
    before = os.times()
    out = subprocess.run(
        [
            "wrk",
            "-t",
            str(clients),
            "-c",
            str(clients),
            "-d",
            f"{seconds}s",
            "--timeout",
            "10s",
            "-s",
            f.name,
            f"http://127.0.0.1:{sessions[0].port}",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    after = os.times()
    os.unlink(f.name)
    line = next(x for x in out.splitlines() if x.startswith("WRK_RESULT "))
    r = json.loads(line.removeprefix("WRK_RESULT "))
    first = next((x for x in out.splitlines() if x.startswith("WRK_FIRST ")), "WRK_FIRST ")
    client_cpu = (after.children_user - before.children_user) + (
        after.children_system - before.children_system
    )
    return {
        "requests": r["requests"],
        "failures": r["bad"] + r["socket_errors"],
        "first_failure": first.removeprefix("WRK_FIRST ").strip(),
        "rps": r["requests"] / (r["duration_us"] / 1e6),
        "p50_ms": r["p50_us"] / 1000,
        "p99_ms": r["p99_us"] / 1000,
        "client_cpu_ms": 1000 * client_cpu / max(1, r["requests"]),
    }


def race(sessions: list[Session], path: str, clients: int = 20) -> dict:
    """`clients` threads post one client_uuid at the same moment."""
    same = str(uuid.uuid4())
    start = threading.Barrier(clients)
    codes: list = []
    lock = threading.Lock()

    def worker(session):
        start.wait()
        status, _, _ = session.post_visit(path, client_uuid=same)
        with lock:
            codes.append(status)

    owner = sessions[0]
    threads = [threading.Thread(target=worker, args=(owner,)) for _ in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    from visits.models import Visit

    return {
        "uuid": same,
        "codes": sorted(codes),
        "rows": Visit.objects.filter(client_uuid=same).count(),
    }


# ----- driver -----


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=int, default=10, help="length of each wrk run (wrk only)")
    parser.add_argument(
        "--python-client",
        action="store_true",
        help="generate the load from Python threads even where wrk is installed",
    )
    args = parser.parse_args()
    use_wrk = shutil.which("wrk") is not None and not args.python_client

    db_url = f"{SERVER}/{DB}"
    media = tempfile.mkdtemp(prefix="bench-visits-")
    env = production_env(db_url, media)
    # This process reads and writes the same database with the same settings as the server
    # (its password hashes and session checks must match gunicorn's).
    os.environ.update({k: env[k] for k in ("SECRET_KEY", "ALLOWED_HOSTS", "DEBUG")})
    os.environ["DJANGO_SETTINGS_MODULE"] = "xuchang_portal.settings.production"
    recreate_database(DB)
    setup_django(DB)
    cadres = seed_world()
    from django.utils import timezone

    global TODAY
    TODAY = timezone.localdate()
    WORK.mkdir(parents=True, exist_ok=True)
    print(
        f"PostgreSQL {SERVER}/{DB}, gunicorn: 2 sync workers, {os.cpu_count()} CPUs, "
        f"load from {'wrk' if use_wrk else 'Python threads'}"
    )

    results: dict = {}
    for name, app, path in (
        ("baseline", "bench.visits:baseline_application", BASELINE_PATH),
        ("ours", "xuchang_portal.wsgi:application", "/api/visits/"),
    ):
        with Gunicorn(app, env, WORK / f"gunicorn_{name}.log") as server:
            sessions = [Session(server.port, c["username"], c["village"]) for c in cadres]

            def run(p, sessions=sessions):
                if use_wrk:
                    return load_wrk(sessions, p, seconds=args.seconds, clients=args.clients)
                return load(sessions, p, total=args.requests, clients=args.clients)

            load(sessions, path, total=100, clients=args.clients)  # warm-up
            cpu_before = server.worker_cpu_seconds()
            results[name] = run(path)
            results[name]["worker_cpu_ms"] = (
                1000 * (server.worker_cpu_seconds() - cpu_before) / results[name]["requests"]
            )
            if name == "ours":
                results["race"] = race(sessions, path)
                results["health"] = run(HEALTH)
    results["clients"] = args.clients
    results["load_generator"] = "wrk" if use_wrk else "Python threads"
    (WORK / "visits_latest.json").write_text(json.dumps(results, indent=2, ensure_ascii=False))
    return report(results)


def report(r: dict) -> int:
    ours, base, race_ = r["ours"], r["baseline"], r["race"]
    n, c = ours["requests"], r["clients"]
    health = r["health"]
    checks = [
        (
            f"GET /healthz/ (one query, no session), {health['requests']} × {c} clients",
            f"{health['rps']:.0f} req/s",
            "—",
            health["failures"] == 0,
        ),
        (
            f"plain ModelViewSet create, {base['requests']} POSTs × {c} clients (baseline)",
            f"{base['rps']:.0f} req/s",
            "—",
            True,
        ),
        ("  … p50 / p99", f"{base['p50_ms']:.0f} / {base['p99_ms']:.0f} ms", "—", True),
        ("  … worker CPU per request", f"{base['worker_cpu_ms']:.1f} ms", "—", True),
        (
            f"POST /api/visits/, {n} creations × {c} clients",
            f"{ours['rps']:.0f} req/s",
            f"≥ {BUDGET['rps']:.0f}",
            ours["rps"] >= BUDGET["rps"],
        ),
        ("  … p50", f"{ours['p50_ms']:.0f} ms", "—", True),
        ("  … worker CPU per request", f"{ours['worker_cpu_ms']:.1f} ms", "—", True),
        ("  … client CPU per request", f"{ours['client_cpu_ms']:.1f} ms", "—", True),
        (
            "  … p99",
            f"{ours['p99_ms']:.0f} ms",
            f"≤ {BUDGET['p99_ms']:.0f} ms",
            ours["p99_ms"] <= BUDGET["p99_ms"],
        ),
        (
            "  … failed requests (not 201)",
            f"{ours['failures']} / {base['failures']}",
            "0 / 0",
            ours["failures"] == 0 and base["failures"] == 0,
        ),
        ("  … throughput vs baseline", f"{ours['rps'] / base['rps']:.2f}×", "—", True),
        (
            "20 clients, one client_uuid: visits stored",
            f"{race_['rows']}",
            "1",
            race_["rows"] == 1,
        ),
        (
            "  … answers",
            f"{race_['codes'].count(201)}×201 {race_['codes'].count(200)}×200",
            "1×201 19×200",
            race_["codes"] == [200] * 19 + [201],
        ),
    ]
    width = max(len(label) for label, *_ in checks)
    ok = True
    for label, value, budget, passed in checks:
        ok &= passed
        print(f"{label:<{width}}  {value:>16}  {budget:>14}  {'ok' if passed else 'MISSED'}")
    if ours["first_failure"] or base["first_failure"]:
        print("first failure:", ours["first_failure"] or base["first_failure"])
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
