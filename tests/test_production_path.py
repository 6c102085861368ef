"""The production path end to end: gunicorn + a real Celery worker + PostgreSQL + Redis.

A token client asks the API for a village export; the request is served by gunicorn with the
production settings, the job is queued on Redis, a separate worker process builds the
workbook, and the finished file is downloaded over HTTP.

Runs only when DATABASE_URL points at PostgreSQL and CELERY_BROKER_URL at Redis (as `.ci/run`
sets them); otherwise it is skipped. Both servers must reach the *test* database, so the test
is transactional: its rows are committed and visible to the other processes.
"""

import io
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from json import dumps, loads
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[1]
DATABASE_URL = os.environ.get("DATABASE_URL", "")
BROKER_URL = os.environ.get("CELERY_BROKER_URL", "")

pytestmark = [
    pytest.mark.production,
    pytest.mark.skipif(
        not (DATABASE_URL.startswith("postgres") and BROKER_URL.startswith("redis://")),
        reason=(
            "production path needs DATABASE_URL=postgres://… and CELERY_BROKER_URL=redis://… "
            "(see .ci/run); not set, so gunicorn + Celery are not started"
        ),
    ),
]

SECRET_KEY = "production-path-test-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz"
VILLAGE_COUNT = 5
HEALTH_TIMEOUT = 20
EXPORT_TIMEOUT = 30
# What POST /api/exports/ and GET /api/exports/<id>/ return (download_url is null until done).
CONTRACT_FIELDS = {
    "id",
    "kind",
    "state",
    "progress",
    "row_count",
    "download_url",
    "error",
    "created_at",
    "finished_at",
}


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Report redirects instead of following them (a redirect here is a bug to see)."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


OPENER = urllib.request.build_opener(_NoRedirect)


def _http(method, url, *, token=None, json=None, timeout=10):
    # Production trusts X-Forwarded-Proto from the proxy; without it every request
    # (except /healthz/) would be redirected to https.
    headers = {"X-Forwarded-Proto": "https"}
    if token:
        headers["Authorization"] = f"Token {token}"
    data = None
    if json is not None:
        data = dumps(json).encode()
        headers["Content-Type"] = "application/json"
    request = urllib.request.Request(url, data=data, headers=headers, method=method)
    try:
        with OPENER.open(request, timeout=timeout) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, exc.read()


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _test_database_url() -> str:
    """DATABASE_URL for the database this test runs in (pytest-django's test_… copy)."""
    from django.db import connection

    sd = connection.settings_dict
    auth = quote(sd.get("USER") or "", safe="")
    if sd.get("PASSWORD"):
        auth += ":" + quote(sd["PASSWORD"], safe="")
    host = sd.get("HOST") or "127.0.0.1"
    if host.startswith("/"):  # unix socket directory
        host = quote(host, safe="")
    port = sd.get("PORT") or "5432"
    return f"postgres://{auth}@{host}:{port}/{quote(sd['NAME'], safe='')}"


def _server_env(tmp_path: Path) -> dict:
    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="xuchang_portal.settings.production",
        DJANGO_READ_DOT_ENV_FILE="false",
        DEBUG="false",
        SECRET_KEY=SECRET_KEY,
        ALLOWED_HOSTS="127.0.0.1",
        SECURE_SSL_REDIRECT="false",
        DATABASE_URL=_test_database_url(),
        CELERY_BROKER_URL=BROKER_URL,
        REDIS_URL=os.environ.get("REDIS_URL") or BROKER_URL,
        MEDIA_ROOT=str(tmp_path / "media"),
        STATIC_ROOT=str(tmp_path / "static"),
        PYTHONUNBUFFERED="1",
    )
    (tmp_path / "media").mkdir(exist_ok=True)
    (tmp_path / "static").mkdir(exist_ok=True)
    return env


def _start(name, args, env, logs: dict, tmp_path: Path) -> subprocess.Popen:
    log_path = tmp_path / f"{name}.log"
    logs[name] = log_path
    with open(log_path, "wb") as log:
        return subprocess.Popen(
            args,
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            # Same process group as pytest on purpose: if CI's `timeout` signals the group,
            # these servers go down with pytest instead of being orphaned.
        )


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is not None:
        return
    proc.terminate()  # gunicorn: graceful stop; celery: warm shutdown
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()  # gunicorn's workers notice their master is gone and exit
        proc.wait(timeout=5)


def _dump(logs: dict) -> None:
    for name, path in logs.items():
        text = path.read_text(encoding="utf-8", errors="replace") if path.exists() else ""
        print(f"\n===== {name} output ({path}) =====\n{text[-20000:]}")


def _wait_healthy(base: str, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + HEALTH_TIMEOUT
    last = None
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"gunicorn exited early with code {proc.returncode}"
        try:
            status, _headers, body = _http("GET", f"{base}/healthz/", timeout=2)
            if status == 200:
                assert loads(body) == {"status": "ok"}
                return
            last = f"HTTP {status}: {body[:200]!r}"
        except OSError as exc:  # not listening yet
            last = repr(exc)
        time.sleep(0.25)
    pytest.fail(f"gunicorn did not answer /healthz/ within {HEALTH_TIMEOUT}s (last: {last})")


@contextmanager
def served(tmp_path: Path, *, worker_name: str, worker_args: tuple = ("--pool=solo",)):
    """gunicorn (2 workers) and a Celery worker on the production settings, until the block
    ends: yields (port, gunicorn, worker). Both are stopped afterwards; their output is
    printed when the block failed."""
    env = _server_env(tmp_path)
    port = _free_port()
    logs: dict = {}
    procs: list[subprocess.Popen] = []
    ok = False
    try:
        gunicorn = _start(
            "gunicorn",
            [
                sys.executable, "-m", "gunicorn", "xuchang_portal.wsgi:application",
                "--bind", f"127.0.0.1:{port}", "--workers", "2",
                "--access-logfile", "-", "--error-logfile", "-", "--no-control-socket",
            ],
            env, logs, tmp_path,
        )  # fmt: skip
        procs.append(gunicorn)
        worker = _start(
            "celery",
            [
                sys.executable, "-m", "celery", "-A", "xuchang_portal", "worker",
                *worker_args, "--without-gossip", "--without-mingle", "--without-heartbeat",
                "-n", f"{worker_name}-{os.getpid()}@%h", "-l", "info",
            ],
            env, logs, tmp_path,
        )  # fmt: skip
        procs.append(worker)
        _wait_healthy(f"http://127.0.0.1:{port}", gunicorn)
        yield port, gunicorn, worker
        ok = True
    finally:
        for proc in procs:
            _stop(proc)
        if not ok:
            _dump(logs)


def _world():
    from django.contrib.auth import get_user_model
    from rest_framework.authtoken.models import Token

    from villages.models import County, Township, UserRole, Village

    user = get_user_model().objects.create_user(username="prod_city_admin", password="x" * 12)
    UserRole.objects.create(user=user, role=UserRole.Role.CITY_ADMIN)
    token = Token.objects.create(user=user)
    county = County.objects.create(code="411024", name="鄢陵县", kind=County.Kind.COUNTY)
    township = Township.objects.create(
        code="411024107", name="张桥镇", kind=Township.Kind.TOWN, county=county
    )
    for i in range(VILLAGE_COUNT):
        Village.objects.create(
            code=f"411024107{201 + i:03d}",
            name=f"测试{i + 1}村",
            kind=Village.Kind.VILLAGE,
            township=township,
        )
    assert Village.objects.count() == VILLAGE_COUNT
    return token.key


@pytest.mark.django_db(transaction=True)
def test_export_through_gunicorn_and_a_celery_worker(tmp_path):
    token = _world()
    with served(tmp_path, worker_name="prodtest") as (port, _gunicorn, worker):
        base = f"http://127.0.0.1:{port}"

        status, _h, body = _http(
            "POST", f"{base}/api/exports/", token=token, json={"kind": "villages", "params": {}}
        )
        assert status == 201, f"POST /api/exports/ → {status}: {body[:500]!r}"
        job = loads(body)
        assert CONTRACT_FIELDS <= set(job), f"missing {CONTRACT_FIELDS - set(job)}: {job}"
        assert job["kind"] == "villages", job
        assert job["state"] in ("pending", "running", "done"), job
        if job["state"] != "done":
            assert job["download_url"] is None, job

        deadline = time.monotonic() + EXPORT_TIMEOUT
        while job["state"] != "done":
            assert job["state"] != "failed", f"export failed: {job.get('error')}"
            assert worker.poll() is None, f"celery worker exited with code {worker.returncode}"
            assert time.monotonic() < deadline, f"export not done within {EXPORT_TIMEOUT}s: {job}"
            time.sleep(0.3)
            status, _h, body = _http("GET", f"{base}/api/exports/{job['id']}/", token=token)
            assert status == 200, f"GET /api/exports/{job['id']}/ → {status}: {body[:500]!r}"
            job = loads(body)

        assert job["row_count"] == VILLAGE_COUNT, job
        assert job["progress"] == 100, job
        assert job["download_url"], job

        # download_url may be absolute (and say https, from X-Forwarded-Proto): only its path
        # is ours to request, over plain HTTP to gunicorn.
        parts = urlsplit(job["download_url"])
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        status, headers, content = _http("GET", f"{base}{path}", token=token)
        assert status == 200, (
            f"GET download_url {job['download_url']} with the API token → {status} "
            f"(Location: {headers.get('Location')}): {content[:300]!r}"
        )
        assert content[:2] == b"PK", f"not an xlsx: {content[:100]!r}"

        from openpyxl import load_workbook

        sheet = load_workbook(io.BytesIO(content), read_only=True).worksheets[0]
        rows = list(sheet.iter_rows(values_only=True))
        assert len(rows) == VILLAGE_COUNT + 1  # header + one row per village
        cells = {str(value) for row in rows[1:] for value in row}
        assert {f"411024107{201 + i:03d}" for i in range(VILLAGE_COUNT)} <= cells
