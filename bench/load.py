"""Load and concurrency: many signed-in users at once against gunicorn (2 sync workers, the
production settings, PostgreSQL, Redis as the session cache), cadres submitting visits while
officials read dashboards and list pages.

    make bench            # bench/run.py, bench/visits.py, bench/dashboards.py, then this
    .venv/bin/python bench/load.py [--seconds 30] [--clients 50] [--reuse]
    .venv/bin/python bench/load.py --quick       # 5 s, 10 clients, keeps a seeded database

It (re)creates the scratch database `--database` (default xuchang_bench_load) on the server
named by BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/) and runs
`seed_demo` (with the snapshots; `--reuse` and `--quick` keep a database already seeded).
Logins: the demo officials `county_yanling`, `county_changge`, `township_zhangqiao` and `admin`,
and demo cadres of 张桥镇 (鄢陵县): `cadre_peizhuang` and the others' demo logins (their phone
numbers, password demo12345, the forced first change taken as done), or, where the demo has
none, a login made here for the demo cadre record (`bench_load_<id>`, password demo12345).
Every user signs in once through the login form; its clients share the session, as a
browser's tabs do.

`--clients` Python threads (one per client; a new TCP connection per request, as gunicorn's
sync workers close it after each response) run for `--seconds`:

- cadre clients (`--cadre-share` of them, at least two per cadre) POST /api/visits/ for their
  own 帮村 village, dated in their 2023 assignment. A share of the submissions
  (`--repeat-share`) repeat a client_uuid already sent, often one still in flight: three in four
  by the same cadre from another client or the same one (a second phone, a retry: the same
  body again; answered 200, or 201 when the copy overtook the original), one in four by
  another cadre (answered 400 "该编号已被其他记录使用", or 201 when it overtook the
  original, which is then the one refused);
- official clients GET their county or township dashboard (the city admin: any county's),
  half of their reads, or one of the lists: visits to review, the problem ledger, villages,
  the 矛盾纠纷 ledger.

Checked afterwards in the database (`verify`, also run by tests/hardening/test_load_bench.py):

- no 5xx, no transport error, and no answer other than those above (pages 200);
- no lost visit: every client_uuid answered 201 or 200 is stored, for the cadre it was
  answered to; a 400 only where another cadre's visit holds the uuid;
- no duplicate: one row per client_uuid, and exactly one 201 for each stored uuid; nothing
  stored that was not answered 201, and no other new visit of these cadres.

Printed: count, p50 and p99 of every request type, total requests/s, the CPU the gunicorn
workers spent per request, the load generator's own CPU (one Python process; it shares the
two cores with the server, so its share is printed too) and how busy the machine was. The
exit code is 1 when a check fails; there is no latency budget (50 clients on 2 sync workers
queue by design). Nothing here is a test: the suite never times.
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import random
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter, defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.dashboards import database_seeded  # noqa: E402
from bench.run import SERVER, WORK, recreate_database, setup_django  # noqa: E402
from bench.visits import Gunicorn, production_env, request, sign_in  # noqa: E402

DB = "xuchang_bench_load"
SECRET_KEY = "bench-load-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz-ABCDEFGHIJ"
PASSWORD = "demo12345"
YEAR = 2023
ZHANGQIAO = "411024107"
OFFICIALS = ("county_yanling", "county_changge", "township_zhangqiao", "admin")
API = "/api/visits/"

NEW = "POST visit, new uuid"
REPEAT = "POST visit, uuid repeated by its cadre"
OTHER = "POST visit, uuid of another cadre"
SUBMISSIONS = (NEW, REPEAT, OTHER)
COUNTY_DASHBOARD = "GET county dashboard"
TOWNSHIP_DASHBOARD = "GET township dashboard"
LISTS = (
    ("GET visit list", "/visits/review/"),
    ("GET problem ledger", "/problems/"),
    ("GET village list", "/villages/"),
    ("GET disputes ledger", "/disputes/disputes/"),
)
DASHBOARD_WEIGHT = 4  # against 1 for each list: dashboards are half of an official's reads
OTHER_CADRE_SHARE = 0.25  # of the repeats
RECENT = 40  # repeats pick among a cadre's last RECENT uuids, so often one still in flight


@dataclass(frozen=True)
class Actor:
    """A login the load signs in as: a cadre (who submits) or an official (who reads)."""

    username: str
    password: str
    cadre_id: int | None = None
    village_id: int | None = None
    first_day: datetime.date | None = None
    last_day: datetime.date | None = None
    pages: tuple[tuple[str, str, float], ...] = ()  # (request type, path, weight)


def official_pages(dashboards: list[tuple[str, str]]) -> tuple[tuple[str, str, float], ...]:
    """An official's reads: the dashboards given (their weight shared), then each list."""
    share = DASHBOARD_WEIGHT / len(dashboards)
    return tuple((kind, path, share) for kind, path in dashboards) + tuple(
        (kind, path, 1) for kind, path in LISTS
    )


# ----- the demo world -----


def seed(*, reuse: bool) -> None:
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    if not reuse:
        call_command("seed_demo", stdout=open(os.devnull, "w"))


def demo_actors(cadres: int) -> list[Actor]:
    """The demo officials, then `cadres` demo cadres of 张桥镇, each given a login if the
    demo has none for them (idempotent). The demo's own logins for its cadres (accounts.demo)
    must change demo12345 at their first sign-in: the bench takes them as changed to
    demo12345, so its clients go straight to work."""
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from accounts.models import Account
    from villages.models import Assignment, County, Township, UserRole

    today = timezone.localdate()
    counties = County.objects.order_by("code")
    yanling, changge = (counties.get(code=code) for code in ("411024", "411082"))
    zhangqiao = Township.objects.get(code=ZHANGQIAO)

    def county(c):
        return (COUNTY_DASHBOARD, f"/dashboards/county/{c.pk}/?year={YEAR}")

    dashboards = {
        "county_yanling": [county(yanling)],
        "county_changge": [county(changge)],
        "township_zhangqiao": [
            (TOWNSHIP_DASHBOARD, f"/dashboards/township/{zhangqiao.pk}/?year={YEAR}")
        ],
        "admin": [county(c) for c in counties],
    }
    actors = [Actor(u, PASSWORD, pages=official_pages(dashboards[u])) for u in OFFICIALS]
    links = (
        Assignment.objects.filter(
            kind=Assignment.Kind.VILLAGE, year=YEAR, village__township=zhangqiao
        )
        .select_related("cadre__user")
        .order_by("-cadre__user_id", "village__code")  # cadre_peizhuang's record first
    )[:cadres]
    User = get_user_model()
    for link in links:
        cadre = link.cadre
        if cadre.user is None:
            user, _ = User.objects.get_or_create(
                username=f"bench_load_{cadre.pk}", defaults={"first_name": cadre.name}
            )
            user.set_password(PASSWORD)
            user.save()
            UserRole.objects.update_or_create(user=user, defaults={"role": UserRole.Role.CADRE})
            cadre.user = user
            cadre.save(update_fields=["user"])
        Account.objects.filter(user_id=cadre.user_id, must_change_password=True).update(
            must_change_password=False, password_changed_at=timezone.now()
        )
        actors.append(
            Actor(
                cadre.user.username,
                PASSWORD,
                cadre_id=cadre.pk,
                village_id=link.village_id,
                first_day=link.start_date,
                last_day=min(link.end_date, today),
            )
        )
    return actors


# ----- the load -----


@dataclass
class Submission:
    client_uuid: str
    cadre_id: int
    kind: str
    status: int | None  # None: no answer (connection error or time-out)


@dataclass
class Run:
    """What one load run sent and got back; shared by the client threads under `lock`."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    latencies: dict = field(default_factory=lambda: defaultdict(list))  # kind -> seconds
    statuses: dict = field(default_factory=lambda: defaultdict(Counter))  # kind -> status
    first_error: dict = field(default_factory=dict)  # kind -> first transport error
    submissions: list = field(default_factory=list)
    sent: dict = field(default_factory=lambda: defaultdict(list))  # cadre -> [(uuid, body)]
    cadre_ids: set = field(default_factory=set)
    started_at: datetime.datetime | None = None
    elapsed: float = 0.0
    client_cpu: float = 0.0
    worker_cpu: float | None = None
    machine_busy: float | None = None
    clients: int = 0

    def record(self, kind: str, status: int | None, seconds: float, error: str = "") -> None:
        with self.lock:
            self.latencies[kind].append(seconds)
            self.statuses[kind][status if status is not None else "no answer"] += 1
            if error and kind not in self.first_error:
                self.first_error[kind] = error


class Client:
    """A signed-in user's session (cookie and CSRF token), shared by that user's clients."""

    def __init__(self, port: int, actor: Actor):
        self.port, self.actor = port, actor
        self.cookie, self.csrf = sign_in(port, actor.username, actor.password)

    def send(self, method: str, path: str, body: bytes | None = None):
        headers = {"Cookie": self.cookie}
        if body is not None:
            headers |= {"Content-Type": "application/json", "X-CSRFToken": self.csrf}
        started = time.perf_counter()
        try:
            status, _, _ = request(method, self.port, path, body=body, headers=headers)
            error = ""
        except OSError as exc:
            status, error = None, repr(exc)
        return status, time.perf_counter() - started, error


def _visit_body(actor: Actor, rng: random.Random, client_uuid: str) -> bytes:
    days = (actor.last_day - actor.first_day).days
    return json.dumps(
        {
            "client_uuid": client_uuid,
            "village": actor.village_id,
            "date": (actor.first_day + datetime.timedelta(days=rng.randint(0, days))).isoformat(),
            "day_part": rng.choice(["full", "half"]),
            "activities": ["meeting", "household"],
            "meetings": 1,
            "people_reached": rng.randint(5, 30),
            "households_visited": rng.randint(1, 8),
            "notes": "召开座谈会，入户走访。",
            "latitude": "34.021000",
            "longitude": "113.821000",
        },
        ensure_ascii=False,
    ).encode()


def _submit(run: Run, client: Client, rng: random.Random, repeat_share: float) -> None:
    actor = client.actor
    with run.lock:
        own = run.sent[actor.cadre_id][-RECENT:]
        others = [c for c, sent in run.sent.items() if c != actor.cadre_id and sent]
        kind = NEW
        if own and rng.random() < repeat_share:
            kind = OTHER if others and rng.random() < OTHER_CADRE_SHARE else REPEAT
        if kind == NEW:
            client_uuid = str(uuid.uuid4())  # never seeded: unique across runs
            body = _visit_body(actor, rng, client_uuid)
            # listed before it is sent: a repeat may race it
            run.sent[actor.cadre_id].append((client_uuid, body))
        elif kind == REPEAT:
            client_uuid, body = rng.choice(own)  # the same body again, as a retry sends it
        else:
            client_uuid, _ = rng.choice(run.sent[rng.choice(others)][-RECENT:])
            body = _visit_body(actor, rng, client_uuid)  # this cadre's own visit
    status, seconds, error = client.send("POST", API, body)
    run.record(kind, status, seconds, error)
    with run.lock:
        run.submissions.append(Submission(client_uuid, actor.cadre_id, kind, status))


def _read(run: Run, client: Client, rng: random.Random) -> None:
    pages = client.actor.pages
    kind, path, _ = rng.choices(pages, weights=[w for *_, w in pages])[0]
    status, seconds, error = client.send("GET", path)
    run.record(kind, status, seconds, error)


def _machine_ticks() -> tuple[int, int]:
    """(busy, total) CPU ticks of the whole machine so far, from /proc/stat."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return sum(fields) - idle, sum(fields)


def plan_clients(actors: list[Actor], clients: int, cadre_share: float) -> list[Actor]:
    """One actor per client: `cadre_share` of the clients are cadres, at least two per cadre
    used (so one cadre's uuids are repeated from several clients at once), the others
    officials, both round-robin."""
    cadres = [a for a in actors if a.cadre_id]
    officials = [a for a in actors if not a.cadre_id]
    n_cadre = min(clients - 1, max(2, round(clients * cadre_share)))
    cadres = cadres[: max(1, n_cadre // 2)]
    return [cadres[i % len(cadres)] for i in range(n_cadre)] + [
        officials[i % len(officials)] for i in range(clients - n_cadre)
    ]


def run_load(
    port: int,
    actors: list[Actor],
    *,
    seconds: float,
    clients: int,
    cadre_share: float = 0.4,
    repeat_share: float = 0.2,
    rng_seed: int = 2023,
    worker_cpu=None,
) -> Run:
    """`clients` threads for `seconds` against the server on `port`; `worker_cpu`, if
    given, returns the server's CPU seconds so far."""
    from django.utils import timezone

    plan = plan_clients(actors, clients, cadre_share)
    sessions: dict[str, Client] = {}

    def sign_in_and_warm_up(actor: Actor) -> None:
        # not measured: each page once per official, one visit list read per cadre
        client = Client(port, actor)
        for _, path, _ in actor.pages or (("", "/visits/", 1),):
            client.send("GET", path)
        sessions[actor.username] = client

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(sign_in_and_warm_up, dict.fromkeys(plan)))

    run = Run(clients=clients)
    run.cadre_ids = {a.cadre_id for a in plan if a.cadre_id}
    start = threading.Barrier(clients + 1)
    deadline = [0.0]

    def client_loop(index: int, actor: Actor) -> None:
        rng = random.Random(rng_seed * 1000 + index)
        client = sessions[actor.username]
        start.wait()
        while time.monotonic() < deadline[0]:
            if actor.cadre_id:
                _submit(run, client, rng, repeat_share)
            else:
                _read(run, client, rng)

    threads = [
        threading.Thread(target=client_loop, args=(i, a), daemon=True) for i, a in enumerate(plan)
    ]
    for t in threads:
        t.start()
    run.started_at = timezone.now()
    cpu0, busy0, wcpu0 = time.process_time(), _machine_ticks(), worker_cpu and worker_cpu()
    began = time.perf_counter()
    deadline[0] = time.monotonic() + seconds
    start.wait()
    for t in threads:
        t.join()
    run.elapsed = time.perf_counter() - began
    run.client_cpu = time.process_time() - cpu0
    busy1 = _machine_ticks()
    run.machine_busy = (busy1[0] - busy0[0]) / max(1, busy1[1] - busy0[1])
    if worker_cpu:
        run.worker_cpu = worker_cpu() - wcpu0
    return run


# ----- the checks -----


def verify(run: Run) -> dict:
    """Compare what the clients were told with what the database holds."""
    from django.db.models import Count

    from visits.models import Visit

    sent = {s.client_uuid for s in run.submissions}
    stored: dict[str, list[int]] = defaultdict(list)
    for client_uuid, cadre_id in Visit.objects.filter(client_uuid__in=sent).values_list(
        "client_uuid", "cadre_id"
    ):
        stored[str(client_uuid)].append(cadre_id)
    per_uuid_rows = (
        Visit.objects.filter(client_uuid__in=sent)
        .values("client_uuid")
        .annotate(n=Count("id"))
        .filter(n__gt=1)
        .count()
    )
    strays = (
        Visit.objects.filter(cadre_id__in=run.cadre_ids, created_at__gte=run.started_at)
        .exclude(client_uuid__in=sent)
        .count()
    )
    answers: dict[str, list[Submission]] = defaultdict(list)
    for s in run.submissions:
        answers[s.client_uuid].append(s)

    lost, twice_created, unacknowledged, unexpected = [], [], [], []
    accepted = refused = 0
    for client_uuid, subs in answers.items():
        owners = stored.get(client_uuid, [])
        owner = owners[0] if len(owners) == 1 else None
        created = [s for s in subs if s.status == 201]
        if len(created) > 1:
            twice_created.append(client_uuid)
        if owners and not created and all(s.status is not None for s in subs):
            unacknowledged.append(client_uuid)
        for s in subs:
            if s.status in (200, 201):
                accepted += 1
                if owner != s.cadre_id:
                    lost.append((client_uuid, s.kind, s.status))
            elif s.status == 400 and owner is not None and owner != s.cadre_id:
                refused += 1  # another cadre's visit holds this uuid: the right answer
            elif s.status is not None and s.status < 500:
                unexpected.append((client_uuid, s.kind, s.status))

    pages_unexpected = {
        kind: sum(n for status, n in counts.items() if status != 200 and status != "no answer")
        for kind, counts in run.statuses.items()
        if kind not in SUBMISSIONS
    }
    server_errors = {
        kind: sum(n for status, n in counts.items() if isinstance(status, int) and status >= 500)
        for kind, counts in run.statuses.items()
    }
    no_answer = {kind: counts.get("no answer", 0) for kind, counts in run.statuses.items()}
    return {
        "uuids_sent": len(sent),
        "uuids_stored": len(stored),
        "accepted_answers": accepted,
        "refused_other_cadre": refused,
        "server_errors": server_errors,
        "no_answer": no_answer,
        "unexpected_pages": pages_unexpected,
        "unexpected_submissions": unexpected[:20],
        "unexpected_submission_count": len(unexpected),
        "lost": lost[:20],
        "lost_count": len(lost),
        "rows_per_uuid_over_1": per_uuid_rows,
        "created_twice": len(twice_created),
        "stored_unacknowledged": len(unacknowledged),
        "strays": strays,
    }


def failures(v: dict) -> list[str]:
    """What went wrong, one line each; empty when the run held."""
    problems = []
    for kind, n in v["server_errors"].items():
        if n:
            problems.append(f"{n} × 5xx on {kind}")
    for kind, n in v["no_answer"].items():
        if n:
            problems.append(f"{n} × no answer on {kind}")
    for kind, n in v["unexpected_pages"].items():
        if n:
            problems.append(f"{n} × not 200 on {kind}")
    if v["unexpected_submission_count"]:
        problems.append(
            f"{v['unexpected_submission_count']} unexpected submission answers, e.g. "
            f"{v['unexpected_submissions'][:3]}"
        )
    if v["lost_count"]:
        problems.append(f"{v['lost_count']} lost visits (answered 200/201, not stored as such)")
    for key, label in (
        ("rows_per_uuid_over_1", "client_uuids stored more than once"),
        ("created_twice", "client_uuids answered 201 more than once"),
        ("stored_unacknowledged", "visits stored without a 201"),
        ("strays", "new visits of these cadres that no client sent"),
    ):
        if v[key]:
            problems.append(f"{v[key]} {label}")
    return problems


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of unsorted `values`."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q / 100 * len(ordered)) - 1)]


def summary(run: Run) -> dict:
    rows = {}
    order = {kind: i for i, kind in enumerate(SUBMISSIONS)}
    for kind in sorted(run.latencies, key=lambda k: (order.get(k, len(order)), k)):
        lat = run.latencies[kind]
        rows[kind] = {
            "count": len(lat),
            "p50_ms": 1000 * percentile(lat, 50),
            "p99_ms": 1000 * percentile(lat, 99),
            "statuses": {str(k): v for k, v in sorted(run.statuses[kind].items(), key=str)},
        }
    total = sum(len(v) for v in run.latencies.values())
    return {
        "clients": run.clients,
        "seconds": run.elapsed,
        "requests": total,
        "rps": total / run.elapsed if run.elapsed else 0.0,
        "types": rows,
        "client_cpu_share": run.client_cpu / run.elapsed if run.elapsed else 0.0,
        "client_cpu_ms": 1000 * run.client_cpu / max(1, total),
        "worker_cpu_ms": None if run.worker_cpu is None else 1000 * run.worker_cpu / max(1, total),
        "machine_busy": run.machine_busy,
    }


def report(s: dict, v: dict) -> int:
    width = max(len(k) for k in s["types"]) + 2
    print(f"{'request type':<{width}} {'count':>7} {'p50 ms':>8} {'p99 ms':>8}  answers")
    for kind, row in s["types"].items():
        answers = " ".join(f"{n}×{status}" for status, n in row["statuses"].items())
        print(
            f"{kind:<{width}} {row['count']:>7} {row['p50_ms']:>8.0f} {row['p99_ms']:>8.0f}  "
            f"{answers}"
        )
    print(
        f"{'all':<{width}} {s['requests']:>7}  in {s['seconds']:.1f} s: {s['rps']:.0f} req/s "
        f"from {s['clients']} clients"
    )
    if s["worker_cpu_ms"] is not None:
        print(f"gunicorn workers' CPU per request: {s['worker_cpu_ms']:.1f} ms")
    print(
        f"load generator (Python threads, this process): {100 * s['client_cpu_share']:.0f} % "
        f"of one core, {s['client_cpu_ms']:.2f} ms CPU per request; machine busy "
        f"{100 * (s['machine_busy'] or 0):.0f} % of {os.cpu_count()} cores"
    )
    print(
        f"visits: {v['uuids_sent']} client_uuids sent, {v['uuids_stored']} stored; "
        f"{v['accepted_answers']} answers 200/201, {v['refused_other_cadre']} refusals of another "
        f"cadre's uuid (400)"
    )
    checks = [
        ("5xx answers", sum(v["server_errors"].values())),
        ("requests without an answer", sum(v["no_answer"].values())),
        (
            "unexpected answers",
            sum(v["unexpected_pages"].values()) + v["unexpected_submission_count"],
        ),
        ("lost visits", v["lost_count"]),
        ("duplicated visits (rows per uuid > 1)", v["rows_per_uuid_over_1"]),
        ("uuids answered 201 twice", v["created_twice"]),
        ("visits stored without a 201", v["stored_unacknowledged"]),
        ("new visits nobody sent", v["strays"]),
    ]
    for label, n in checks:
        print(f"  {label:<40} {n:>6}  {'ok' if n == 0 else 'FAILED'}")
    problems = failures(v)
    for line in problems:
        print("FAILED:", line)
    return 1 if problems else 0


# ----- driver -----


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--seconds", type=float, default=None, help="length of the run (30)")
    parser.add_argument("--clients", type=int, default=None, help="concurrent clients (50)")
    parser.add_argument(
        "--quick", action="store_true", help="5 s, 10 clients, keep a seeded database"
    )
    parser.add_argument("--reuse", action="store_true", help="keep an already seeded database")
    parser.add_argument("--database", default=DB)
    parser.add_argument("--cadres", type=int, default=10, help="demo cadres signed in (10)")
    parser.add_argument("--cadre-share", type=float, default=0.4)
    parser.add_argument("--repeat-share", type=float, default=0.2)
    parser.add_argument("--seed", type=int, default=2023)
    args = parser.parse_args()
    seconds = args.seconds or (5 if args.quick else 30)
    clients = args.clients or (10 if args.quick else 50)
    if clients < 2:
        parser.error("--clients: at least 2 (a cadre and an official)")

    db = args.database
    media = tempfile.mkdtemp(prefix="bench-load-")
    env = production_env(f"{SERVER}/{db}", media)
    env["SECRET_KEY"] = SECRET_KEY
    # This process seeds and checks the same database with the same settings as the server
    # (its password hashes must be ones gunicorn verifies).
    os.environ.update({k: env[k] for k in ("SECRET_KEY", "ALLOWED_HOSTS", "DEBUG")})
    os.environ["DJANGO_SETTINGS_MODULE"] = "xuchang_portal.settings.production"
    os.environ["SECURE_SSL_REDIRECT"] = "false"
    reuse = (args.reuse or args.quick) and database_seeded(db)
    if not reuse:
        recreate_database(db)
    setup_django(db)
    started = time.perf_counter()
    seed(reuse=reuse)
    seeded = time.perf_counter() - started
    actors = demo_actors(args.cadres)
    WORK.mkdir(parents=True, exist_ok=True)
    from visits.models import Visit

    print(
        f"PostgreSQL {SERVER}/{db} ({Visit.objects.count()} visits; "
        f"{'reused' if reuse else f'seeded in {seeded:.0f} s'}), gunicorn: 2 sync workers, "
        f"{os.cpu_count()} CPUs, {clients} clients × {seconds:g} s from Python threads"
    )
    with Gunicorn("xuchang_portal.wsgi:application", env, WORK / "gunicorn_load.log") as server:
        run = run_load(
            server.port,
            actors,
            seconds=seconds,
            clients=clients,
            cadre_share=args.cadre_share,
            repeat_share=args.repeat_share,
            rng_seed=args.seed,
            worker_cpu=server.worker_cpu_seconds,
        )
    s, v = summary(run), verify(run)
    (WORK / "load_latest.json").write_text(
        json.dumps({"summary": s, "verify": v}, indent=2, ensure_ascii=False, default=str)
    )
    return report(s, v)


if __name__ == "__main__":
    sys.exit(main())
