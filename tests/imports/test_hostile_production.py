"""Hostile uploads on the production path (issue 15, points 1 and 7): gunicorn with the
production settings, a real Celery worker (prefork, as docker-compose runs it), PostgreSQL
and Redis. County A's official uploads the 1.7 KB killer workbook and a CSV with a NUL byte
past its first 4 KB through the upload page; each job fails with its Chinese reason, the
worker and gunicorn stay up and /healthz/ answers, no NUL reaches PostgreSQL, and county B's
import of the same kind then proceeds to its preview.

Runs only when DATABASE_URL points at PostgreSQL and CELERY_BROKER_URL at Redis (as in CI's
PostgreSQL pass); otherwise it is skipped, like tests/test_production_path.py, whose server
helpers it uses."""

from __future__ import annotations

import re
import subprocess
import time
import uuid
from urllib.parse import urlencode

import pytest

from bench.visits import cookies_from, request
from tests.imports import hostile
from tests.imports.area_sheets import roster_xlsx, village_row
from tests.test_production_path import BROKER_URL, DATABASE_URL, served

pytestmark = [
    pytest.mark.production,
    pytest.mark.skipif(
        not (DATABASE_URL.startswith("postgres") and BROKER_URL.startswith("redis://")),
        reason=(
            "needs DATABASE_URL=postgres://… and CELERY_BROKER_URL=redis://… (see .ci/run); "
            "not set, so gunicorn + Celery are not started"
        ),
    ),
]

PASSWORD = "hostile-upload-test-password"
JOB_TIMEOUT = 60


def _sign_in(port: int, username: str) -> dict:
    status, headers, body = request("GET", port, "/accounts/login/")
    jar = cookies_from(headers)
    token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', body).group(1).decode()
    form = urlencode({"username": username, "password": PASSWORD, "csrfmiddlewaretoken": token})
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
    assert status == 302 and "sessionid" in jar, f"login of {username}: HTTP {status}"
    return jar


def _upload(port: int, jar: dict, name: str, data: bytes) -> tuple[int, dict]:
    boundary = uuid.uuid4().hex
    fields = {"kind": "villages", "csrfmiddlewaretoken": jar["csrftoken"]}
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n{value}\r\n'.encode()
        for key, value in fields.items()
    ]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n".encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    status, headers, _ = request(
        "POST",
        port,
        "/imports/",
        body=b"".join(parts),
        headers={
            "Content-Type": f"multipart/form-data; boundary={boundary}",
            "Cookie": f"csrftoken={jar['csrftoken']}; sessionid={jar['sessionid']}",
        },
    )
    return status, dict(headers)


def _finished(user, worker: subprocess.Popen):
    from core.models import ImportJob

    deadline = time.monotonic() + JOB_TIMEOUT
    while True:
        job = ImportJob.objects.filter(user=user).order_by("-pk").first()
        if job and job.state not in ImportJob.RUNNING_STATES:
            return job
        assert worker.poll() is None, f"celery worker exited with code {worker.returncode}"
        assert time.monotonic() < deadline, f"job still running after {JOB_TIMEOUT}s: {job}"
        time.sleep(0.3)


@pytest.mark.django_db(transaction=True)
def test_hostile_uploads_fail_their_own_jobs_under_gunicorn_and_a_celery_worker(
    tmp_path, area, county_official, other_county_official
):
    from django.contrib.auth.hashers import PBKDF2PasswordHasher, make_password

    from core.models import ImportJob

    for user in (county_official, other_county_official):
        # hashed as gunicorn's production settings check it (the tests use MD5)
        user.password = make_password(PASSWORD, hasher=PBKDF2PasswordHasher())
        user.save(update_fields=["password"])
    hostile_worker = {"worker_name": "hostile", "worker_args": ("--concurrency", "1")}
    with served(tmp_path, **hostile_worker) as (port, gunicorn, worker):
        jar = _sign_in(port, county_official.username)

        for build, expected in (
            (hostile.far_row_without_ref, "数据范围过大"),
            (hostile.far_corner_mixed_refs, "数据范围过大"),
            (hostile.nul_after_4_kb, "第102行第3列含有控制字符 U+0000"),
            (hostile.shared_strings_claiming_two_billion, "共享字符串"),
        ):
            name, data, _ = build()
            status, headers = _upload(port, jar, name, data)
            assert status == 302, f"upload of {name}: HTTP {status}"
            job = _finished(county_official, worker)
            assert job.original_name == name
            assert job.state == ImportJob.State.FAILED, job.state
            assert expected in job.error
            assert gunicorn.poll() is None and worker.poll() is None
            assert request("GET", port, "/healthz/")[0] == 200

        # county B's import of the same kind proceeds
        jar_b = _sign_in(port, other_county_official.username)
        good = roster_xlsx([village_row(area.villages["b1v1"], households=321)])
        status, _ = _upload(port, jar_b, "乙县.xlsx", good)
        assert status == 302
        job = _finished(other_county_official, worker)
        assert job.state == ImportJob.State.PREVIEWED, job.error
        assert job.summary["changed"] == 1
