"""Fault tolerance (issue 8, point 3): what the portal survives, one test per fault.

Everywhere (SQLite + eager Celery by default, and on PostgreSQL + Redis):
- every Celery task of the project is acknowledged late, retries idempotently with
  back-off and has soft and hard time limits (a new task without them fails here);
- Redis down (the broker and the cache pointed at a port nobody listens on): cadres log
  visits on the page and the API, records are saved, a task that cannot be queued is
  logged and kept (PendingTask), and when Redis is back the kept tasks run and the
  snapshots catch up (the history rows behind the change cursors are the durable record);
- constraint races (two requests passing the same pre-check): a Chinese form error on the
  page, a 400 with a Chinese detail in the API; anything unforeseen a 409, never a 500;
- a lost or repeatedly killed import ends 失败 with its reason and is retried from its page.

Marked `production` (PostgreSQL, a throwaway redis-server of our own, real
`celery worker` subprocesses; skipped on the SQLite default, like
tests/test_production_path.py): Redis stopped and restarted under a running worker; a
worker SIGKILLed in the middle of an import commit; one SIGKILLed in the middle of a
snapshot computation. The kills are made deterministic with a row lock the test holds:
the worker blocks on it inside its transaction, the test sees it waiting in pg_locks, and
only then kills it.
"""

from __future__ import annotations

import datetime
import logging
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from contextlib import contextmanager
from unittest import mock

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, OperationalError
from django.test import Client
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from core import jobs as village_services
from core.models import ImportJob, PendingTask
from dashboards.models import IndicatorSnapshot
from dashboards.services import changed_years, compute_snapshots
from disputes.models import Petition, SanlingStatus, ZeroReport
from tests.imports.area_sheets import free_code, roster_xlsx, village_row
from villages.models import Village
from visits.models import Visit
from xuchang_portal.celery import app as celery_app

YEAR = 2024
DAY = datetime.date(2024, 5, 14)  # inside every 2024 assignment of the `area` world
DOWN = "redis://127.0.0.1:1/0"  # nothing listens on port 1: Redis is "stopped"
PROJECT_APPS = {"core", "villages", "visits", "stars", "disputes", "dashboards", "xuchang_portal"}
DATABASE_URL = os.environ.get("DATABASE_URL", "")
BROKER_URL = os.environ.get("CELERY_BROKER_URL", "")
REDIS_SERVER = shutil.which("redis-server")
WAIT = 60  # seconds: a bound on waiting for another process, never a timing assertion

PRODUCTION = [
    pytest.mark.production,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        not (DATABASE_URL.startswith("postgres") and BROKER_URL.startswith("redis://")),
        reason=(
            "worker kills and Redis restarts need DATABASE_URL=postgres://… and "
            "CELERY_BROKER_URL=redis://… (see .ci/run); not set, so no worker is started"
        ),
    ),
    pytest.mark.skipif(REDIS_SERVER is None, reason="redis-server is not installed"),
]


def production(test):
    """Mark a test as needing PostgreSQL, Redis and worker processes (transactional: the
    workers must see its rows)."""
    for mark in reversed(PRODUCTION):
        test = mark(test)
    return test


# ----- every task: acks_late, idempotent retries, time limits -----


def project_tasks() -> dict:
    celery_app.loader.import_default_modules()
    return {
        name: task
        for name, task in celery_app.tasks.items()
        if name.split(".", 1)[0] in PROJECT_APPS
    }


def test_every_project_task_acks_late_retries_with_backoff_and_has_time_limits():
    """The settings each task runs with (its own, or the project's CELERY_TASK_* defaults
    where it sets none): a task without retries, or with limits that contradict, fails."""
    tasks = project_tasks()
    assert {
        "core.tasks.import_job_commit",
        "core.tasks.pending_tasks_send",
        "core.tasks.import_jobs_reap",
        "disputes.tasks.sanling_recompute",
        "dashboards.tasks.compute_snapshots",
        "dashboards.tasks.refresh_changed",
    } <= set(tasks)
    redelivered_after = celery_app.conf.broker_transport_options["visibility_timeout"]
    problems = []
    for name, task in sorted(tasks.items()):
        if task.acks_late is not True:
            problems.append(f"{name}: acks_late is not True")
        if not any(issubclass(OperationalError, e) for e in task.autoretry_for or ()):
            problems.append(f"{name}: does not retry when the database goes away")
        if not task.retry_backoff:
            problems.append(f"{name}: retries without back-off")
        if not (isinstance(task.max_retries, int) and 1 <= task.max_retries <= 10):
            problems.append(f"{name}: max_retries={task.max_retries!r} (want 1..10)")
        soft, hard = task.soft_time_limit, task.time_limit
        if not (soft and hard and 0 < soft < hard):
            problems.append(f"{name}: time limits soft={soft!r} hard={hard!r}")
        elif hard >= redelivered_after:
            problems.append(f"{name}: hard limit {hard}s not under the visibility timeout")
        if not isinstance(task.reject_on_worker_lost, bool):
            problems.append(f"{name}: reject_on_worker_lost={task.reject_on_worker_lost!r}")
    assert not problems, "\n".join(problems)


def test_a_dead_redis_costs_seconds_and_beat_runs_the_catch_up_jobs():
    from django.conf import settings

    conf = celery_app.conf
    assert conf.worker_prefetch_multiplier == 1
    assert conf.task_acks_late is True
    assert 0 < conf.broker_connection_timeout <= 5
    assert 0 < conf.broker_transport_options["socket_connect_timeout"] <= 5
    assert 0 < conf.broker_transport_options["socket_timeout"] <= 5
    assert 0 < conf.redis_socket_timeout <= 5
    assert conf.task_publish_retry_policy["max_retries"] <= 1
    schedule = {
        entry["task"]: entry["schedule"] for entry in settings.CELERY_BEAT_SCHEDULE.values()
    }
    assert schedule["core.tasks.pending_tasks_send"] <= 60
    assert schedule["core.tasks.import_jobs_reap"] <= 60
    assert schedule["dashboards.tasks.refresh_changed"] <= 60


# ----- Redis down (the SQLite default and PostgreSQL alike) -----


class Outage:
    """Redis stopped for both of its jobs in production: the Celery broker (not eager, so
    queuing really fails) and the cache (sessions, dashboard pages, import progress)."""

    def __init__(self, settings):
        self.settings = settings

    def back(self):
        """Redis answers again. In this process that is the embedded default: tasks run
        inline (the production test below does it with a real Redis and worker)."""
        celery_app.conf.task_always_eager = True
        self.settings.CACHES = {
            **self.settings.CACHES,
            "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
        }
        village_services._broker["down_until"] = 0.0


@pytest.fixture
def redis_down(monkeypatch, settings):
    monkeypatch.setenv("CELERY_BROKER_URL", DOWN)
    monkeypatch.delenv("CELERY_BROKER_WRITE_URL", raising=False)
    monkeypatch.setattr(village_services, "_broker", {"down_until": 0.0})
    settings.CACHES = {
        **settings.CACHES,  # the per-process aliases stay
        "default": {"BACKEND": "core.cache.FaultTolerantRedisCache", "LOCATION": DOWN},
    }
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
    with celery_sending_to(DOWN):
        assert celery_app.connection_for_write().as_uri().endswith("127.0.0.1:1/0")
        yield Outage(settings)


@contextmanager
def celery_sending_to(url: str):
    """This process queues tasks on `url` for real (not eager) inside the block."""
    saved = {k: celery_app.conf[k] for k in ("task_always_eager", "broker_url")}
    celery_app.conf.task_always_eager = False
    celery_app.conf.broker_url = url
    try:
        yield
    finally:
        for key, value in saved.items():
            celery_app.conf[key] = value


def visit_form(village, **overrides) -> dict:
    return {
        "client_uuid": str(uuid.uuid4()),
        "village": village.pk,
        "date": DAY.isoformat(),
        "day_part": "full",
        "activities": ["meeting", "household"],
        "meetings": "1",
        "people_reached": "23",
        "households_visited": "8",
        "notes": "走访脱贫户，了解灌溉用水问题。",
        "latitude": "",
        "longitude": "",
    } | overrides


def visit_json(village) -> dict:
    return {
        "client_uuid": str(uuid.uuid4()),
        "village": village.pk,
        "date": DAY.isoformat(),
        "day_part": "full",
        "activities": ["meeting", "household"],
        "meetings": 1,
        "people_reached": 15,
        "households_visited": 4,
        "notes": "召开座谈会，入户走访。",
    }


def token_client(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")
    return client


def petition_form(village) -> dict:
    return {
        "village": village.pk,
        "channel": "visit",
        "received_on": "2024-06-03",
        "petitioner_name": "王五",
        "people_involved": 1,
        "subject": "反映征地补偿问题",
        "level_reached": "county",
        "is_skip_level": "on",
    }


def city_figure(indicator: str) -> int:
    return IndicatorSnapshot.objects.get(
        indicator=indicator, year=YEAR, area_level="city", area_id=0
    ).numerator


def test_with_redis_down_cadres_log_visits_and_the_snapshots_catch_up_when_it_returns(
    area, cadre_user, client, redis_down, caplog, django_capture_on_commit_callbacks
):
    # given: the snapshots of 2024, and the change watcher's cursors set
    compute_snapshots(year=YEAR)
    changed_years()
    before = city_figure("visits")

    # when: Redis is stopped and a cadre logs a visit on the page and one through the API
    client.force_login(cadre_user)
    with caplog.at_level(logging.WARNING), django_capture_on_commit_callbacks(execute=True):
        page = client.post("/visits/new/", visit_form(area.villages["a1v1"]))
        api = token_client(cadre_user).post(
            "/api/visits/", visit_json(area.villages["a1v1"]), format="json"
        )
        listing = client.get("/visits/")

    # then: both saved, nothing raised, the outage logged
    assert page.status_code == 302, page.content.decode()[:500]
    assert api.status_code == 201, api.content
    assert listing.status_code == 200
    assert Visit.objects.filter(village=area.villages["a1v1"], date=DAY).count() == 2
    assert "缓存服务(Redis)不可用" in caplog.text

    # when: Redis returns and beat runs the change watcher
    redis_down.back()
    from dashboards.tasks import refresh_changed

    assert refresh_changed.delay().get() == [YEAR]

    # then: the snapshots count both visits
    assert city_figure("visits") == before + 2


def test_with_redis_down_records_are_saved_and_their_task_is_kept_then_sent(
    area, county_official, client, redis_down, caplog, django_capture_on_commit_callbacks
):
    # when: Redis is stopped and an official registers a skip-level petition
    client.force_login(county_official)
    with caplog.at_level(logging.ERROR), django_capture_on_commit_callbacks(execute=True):
        response = client.post("/disputes/petitions/new/", petition_form(area.villages["a1v1"]))

    # then: saved; the recomputation could not be queued, which is logged and kept
    assert response.status_code == 302
    assert Petition.objects.count() == 1
    assert "三零状态重新计算未能排队" in caplog.text
    assert "Connection refused" in caplog.text or "111" in caplog.text
    kept = PendingTask.objects.get()
    assert kept.task == "disputes.tasks.sanling_recompute"
    assert kept.kwargs == {"year": YEAR, "village_ids": [area.villages["a1v1"].pk], "unit_ids": []}
    assert not SanlingStatus.objects.exists()

    # when: beat's job runs while Redis is still down: the call stays, counted
    assert village_services.pending_tasks_send() == 0
    assert PendingTask.objects.get().attempts == 2

    # when: Redis is back and beat's job queues what was kept
    redis_down.back()
    from core.tasks import pending_tasks_send

    assert pending_tasks_send.delay().get() == 1

    # then: the status is derived, and nothing is left to send
    status = SanlingStatus.objects.get(year=YEAR, village=area.villages["a1v1"])
    assert status.derived_met is False
    assert not PendingTask.objects.exists()


def test_with_redis_down_an_uploaded_import_waits_and_then_continues(
    area, city_admin, client, redis_down, django_capture_on_commit_callbacks
):
    village = area.villages["a1v1"]
    upload = SimpleUploadedFile(
        "村名册.xlsx", roster_xlsx([village_row(village, households=village.households + 5)])
    )
    client.force_login(city_admin)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/imports/", {"kind": "villages", "file": upload})
    job = ImportJob.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/imports/{job.pk}/"
    page = client.get(f"/imports/{job.pk}/")
    assert page.status_code == 200 and "校验中" in page.content.decode()
    assert job.state == ImportJob.State.VALIDATING
    assert PendingTask.objects.get().task == "core.tasks.import_job_validate"

    redis_down.back()
    village_services.pending_tasks_send()

    job.refresh_from_db()
    assert job.state == ImportJob.State.PREVIEWED
    assert job.summary["changed"] == 1


def test_with_redis_down_the_refresh_button_says_so_and_the_computation_is_kept(
    area, city_admin, client, redis_down
):
    client.force_login(city_admin)
    response = client.post("/dashboards/refresh/", {"year": str(YEAR)}, follow=True)
    assert response.status_code == 200
    assert "后台服务暂时不可用" in response.content.decode()
    kept = PendingTask.objects.get()
    assert (kept.task, kept.args) == ("dashboards.tasks.compute_snapshots", [YEAR])

    redis_down.back()
    assert village_services.pending_tasks_send() == 1
    assert IndicatorSnapshot.objects.filter(year=YEAR).exists()


def test_a_burst_of_writes_during_an_outage_tries_the_broker_once(area, redis_down, monkeypatch):
    from disputes.tasks import sanling_recompute

    attempts = []
    real = celery_app.connection_for_write

    def counting(*args, **kwargs):
        attempts.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(celery_app, "connection_for_write", counting)
    for _ in range(3):
        assert village_services.task_send(sanling_recompute.name, kwargs={"year": YEAR}) is False
    assert len(attempts) == 1  # the next calls went straight to PendingTask
    kept = PendingTask.objects.get()  # one row for the same call, counted
    assert kept.attempts == 3


def test_the_cache_answers_like_an_empty_cache_while_redis_is_down(caplog):
    from redis.exceptions import ConnectionError as RedisConnectionError

    from core.cache import FaultTolerantRedisCache

    down = FaultTolerantRedisCache(DOWN, {})
    with caplog.at_level(logging.WARNING, logger="core.cache"):
        assert down.get("k", "default") == "default"
        down.set("k", 1)
        assert down.add("lock", 1) is False
        assert down.get_or_set("k", 7) == 7
        assert down.get_many(["a", "b"]) == {}
        assert down.has_key("k") is False
        assert down.delete("k") is False
        with pytest.raises(ValueError):
            down.incr("n")
    assert caplog.text.count("缓存服务(Redis)不可用") == 1

    # and while it is known to be down, Redis is not asked again (one timeout per window)
    client = mock.Mock()
    client.get.side_effect = RedisConnectionError("Connection refused")
    fresh = FaultTolerantRedisCache(DOWN, {})
    fresh.__dict__["_cache"] = client
    assert fresh.get("a") is None and fresh.get("b") is None
    assert client.get.call_count == 1


def test_a_change_watcher_run_that_dies_half_way_loses_no_change(area, monkeypatch):
    from dashboards.tasks import refresh_changed
    from tests.visits.helpers import VisitFactory

    compute_snapshots(year=YEAR)
    changed_years()
    before = city_figure("visits")
    VisitFactory(cadre=area.cadres["a1v1"], village=area.villages["a1v1"], date=DAY)

    # when: the run dies after reading the changes, before its computation is stored
    def dies(**kwargs):
        raise RuntimeError("worker lost")

    monkeypatch.setattr("dashboards.services.compute_snapshots", dies)
    with pytest.raises(RuntimeError):
        refresh_changed.apply()
    monkeypatch.undo()

    # then: the next run still sees the change
    assert refresh_changed.apply().get() == [YEAR]
    assert city_figure("visits") == before + 1


def test_a_session_deleted_while_redis_is_unreachable_is_deleted_when_it_answers():
    """A sign-out during the outage deletes the session row; Redis (which keeps its data
    with appendonly) must not hand the old session back afterwards."""
    from redis.exceptions import ConnectionError as RedisConnectionError

    from core.cache import FaultTolerantRedisCache

    backend = FaultTolerantRedisCache(DOWN, {})
    client = mock.Mock()
    client.delete.side_effect = RedisConnectionError("Connection refused")
    backend.__dict__["_cache"] = client
    assert backend.delete("django.contrib.sessions.cached_dbabc") is False

    # when: Redis answers again (past the back-off) and the cache is used
    client.delete.side_effect = None
    client.get.return_value = None
    backend._down_until = 0.0
    backend.get("anything")

    # then: the remembered delete is done
    client.delete_many.assert_called_once_with(
        [backend.make_and_validate_key("django.contrib.sessions.cached_dbabc")]
    )
    backend.get("anything")
    assert client.delete_many.call_count == 1


# ----- constraint races: a clear Chinese message, not a 500 -----


def test_a_zero_report_race_is_a_form_error_on_the_page_and_a_400_in_the_api(
    area, cadre_user, client, monkeypatch
):
    # given: the village's April report, filed by another request a moment ago, which
    # this request's pre-check did not see yet (both passed it at once)
    village = area.villages["a1v1"]
    ZeroReport.objects.create(village=village, month=datetime.date(2024, 4, 1))
    monkeypatch.setattr("disputes.services.zero_report_exists", lambda **kwargs: False)

    client.force_login(cadre_user)
    page = client.post("/disputes/zero-reports/", {"village": village.pk, "month": "2024-04"})
    assert page.status_code == 200
    assert "该村(社区)本月已报告。" in page.content.decode()

    api = token_client(cadre_user).post(
        "/api/zero-reports/", {"village": village.pk, "month": "2024-04-01"}, format="json"
    )
    assert api.status_code == 400
    assert "该村(社区)本月已报告。" in str(api.json())
    assert ZeroReport.objects.count() == 1


def test_a_star_declared_twice_at_once_is_refused_in_chinese_on_the_page_and_the_api(
    area, users, client, monkeypatch
):
    from stars.models import StarAward, StarTask, StarType
    from stars.schemes import ensure_star_types

    ensure_star_types(StarType, StarTask)
    branch = area.branches["a1v1"]
    star = StarType.objects.get(scheme="rural", code="branch")
    StarAward.objects.create(branch=branch, year=YEAR, star_type=star, state="applied")
    monkeypatch.setattr("stars.services.award_find", lambda **kwargs: None)

    client.force_login(users["township_official"])
    page = client.post(
        f"/stars/branches/{branch.pk}/apply/", {"star_type": star.pk, "year": YEAR}, follow=True
    )
    assert page.status_code == 200
    assert "该党组织本年度已申报过这颗星。" in page.content.decode()

    api = token_client(users["township_official"]).post(
        "/api/star-awards/",
        {"branch": branch.pk, "year": YEAR, "star_type": star.pk},
        format="json",
    )
    assert api.status_code == 400
    assert "该党组织本年度已申报过这颗星。" in str(api.json())
    assert StarAward.objects.count() == 1


def test_a_weak_case_identified_twice_at_once_is_a_400_with_the_reason(
    area, county_official, monkeypatch
):
    from stars.models import WeakBranchCase

    branch = area.branches["a2v1"]
    WeakBranchCase.objects.create(
        branch=branch, year=YEAR, identified_on=datetime.date(YEAR, 2, 1), reasons=["other"]
    )
    monkeypatch.setattr("stars.services.weak_case_exists", lambda **kwargs: False)
    response = token_client(county_official).post(
        "/api/weak-cases/",
        {
            "branch": branch.pk,
            "year": YEAR,
            "identified_on": f"{YEAR}-03-01",
            "reasons": ["secretary_unfit"],
        },
        format="json",
    )
    assert response.status_code == 400
    assert "该党组织本年度已被认定为软弱涣散" in str(response.json())
    assert WeakBranchCase.objects.count() == 1


def test_an_override_racing_a_recomputation_lands_on_the_recomputed_row(
    area, county_official, monkeypatch
):
    from disputes import sanling
    from disputes.services import sanling_override_set

    village = area.villages["a1v1"]
    derive = sanling.derive

    def recomputed_meanwhile(**kwargs):
        # The worker's recomputation commits the status row between the override's look
        # and its insert.
        SanlingStatus.objects.create(
            year=YEAR, village=village, derived_met=True, derived_reasons=[]
        )
        return derive(**kwargs)

    monkeypatch.setattr("disputes.services.sanling.derive", recomputed_meanwhile)
    status = sanling_override_set(
        actor=county_official, year=YEAR, village=village, value="not_met", reason="核查"
    )
    row = SanlingStatus.objects.get(year=YEAR, village=village)
    assert row.pk == status.pk
    assert (row.override, row.override_by, row.met) == ("not_met", county_official, False)


def test_an_unforeseen_constraint_is_a_409_in_chinese_on_pages_and_in_the_api(
    area, cadre_user, client, monkeypatch
):
    def refused(**kwargs):
        raise IntegrityError('duplicate key value violates unique constraint "x"')

    monkeypatch.setattr("disputes.services.zero_report_create", refused)
    village = area.villages["a1v1"]
    client.force_login(cadre_user)
    page = client.post("/disputes/zero-reports/", {"village": village.pk, "month": "2024-04"})
    assert page.status_code == 409
    assert "数据与已有记录冲突" in page.content.decode()
    api = token_client(cadre_user).post(
        "/api/zero-reports/", {"village": village.pk, "month": "2024-04-01"}, format="json"
    )
    assert api.status_code == 409
    assert "数据与已有记录冲突" in api.json()["detail"]


# ----- imports whose worker is gone: 失败 with the reason, and 重新导入 -----


def _previewed_import(client, city_admin, capture, data: bytes) -> ImportJob:
    client.force_login(city_admin)
    with capture(execute=True):
        client.post(
            "/imports/", {"kind": "villages", "file": SimpleUploadedFile("村名册.xlsx", data)}
        )
    job = ImportJob.objects.latest("pk")
    assert job.state == ImportJob.State.PREVIEWED, job.error
    return job


def test_a_commit_nobody_works_on_shows_failed_and_is_retried_from_its_page(
    area, city_admin, client, django_capture_on_commit_callbacks
):
    village = area.villages["a1v1"]
    households = village.households
    data = roster_xlsx([village_row(village, households=households + 9)])
    job = _previewed_import(client, city_admin, django_capture_on_commit_callbacks, data)

    # given: confirmed, but the commit task never ran (lost with its worker and message)
    with django_capture_on_commit_callbacks(execute=False):
        client.post(f"/imports/{job.pk}/confirm/")
    ImportJob.objects.filter(pk=job.pk).update(
        updated_at=job.updated_at - village_services.IMPORT_STALE_AFTER
    )

    # when: the page is viewed
    page = client.get(f"/imports/{job.pk}/").content.decode()

    # then: 失败, with the reason, and a button to retry
    job.refresh_from_db()
    assert job.state == ImportJob.State.FAILED
    assert "失败" in page and "未写入任何数据" in page and "重新导入" in page
    village.refresh_from_db()
    assert village.households == households

    # when: retried from the page, then confirmed
    with django_capture_on_commit_callbacks(execute=True):
        retry = client.post(f"/imports/{job.pk}/retry/")
    again = ImportJob.objects.latest("pk")
    assert retry["Location"] == f"/imports/{again.pk}/"
    assert again.state == ImportJob.State.PREVIEWED
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/imports/{again.pk}/confirm/")

    # then: written once; the failed job stays as it was
    again.refresh_from_db()
    village.refresh_from_db()
    assert again.state == ImportJob.State.DONE
    assert village.households == households + 9
    assert ImportJob.objects.get(pk=job.pk).state == ImportJob.State.FAILED


def test_a_commit_that_keeps_killing_its_worker_ends_failed_not_in_a_loop(
    area, city_admin, client, django_capture_on_commit_callbacks
):
    village = area.villages["a1v1"]
    data = roster_xlsx([village_row(village, households=village.households + 3)])
    job = _previewed_import(client, city_admin, django_capture_on_commit_callbacks, data)
    with django_capture_on_commit_callbacks(execute=False):
        client.post(f"/imports/{job.pk}/confirm/")
    # given: every delivery so far started the commit and died with its worker
    ImportJob.objects.filter(pk=job.pk).update(attempts=village_services.IMPORT_MAX_ATTEMPTS)
    history = Village.history.count()

    # when: the broker delivers it once more
    result = village_services.import_job_commit(job_id=job.pk)

    # then
    assert result.state == ImportJob.State.FAILED
    assert result.error == village_services.IMPORT_TOO_MANY % {"n": 4}
    assert "未写入任何数据" in result.error
    assert Village.history.count() == history
    # the task's own retries (database gone) never reach the cap
    from core.tasks import import_job_commit as commit_task

    assert commit_task.max_retries + 1 <= village_services.IMPORT_MAX_ATTEMPTS


def test_a_commit_redelivered_after_one_lost_worker_is_done_once(
    area, city_admin, client, django_capture_on_commit_callbacks
):
    village = area.villages["a1v1"]
    data = roster_xlsx([village_row(village, households=village.households + 4)])
    job = _previewed_import(client, city_admin, django_capture_on_commit_callbacks, data)
    with django_capture_on_commit_callbacks(execute=False):
        client.post(f"/imports/{job.pk}/confirm/")
    ImportJob.objects.filter(pk=job.pk).update(attempts=1)  # the first worker died

    assert village_services.import_job_commit(job_id=job.pk).state == ImportJob.State.DONE
    assert village_services.import_job_commit(job_id=job.pk).state == ImportJob.State.DONE
    assert Village.history.filter(id=village.pk, history_type="~").count() == 1


# ----- production: real PostgreSQL, a redis-server of our own, real workers -----


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RedisServer:
    """A throwaway redis-server on a free port (never the shared one): started, stopped
    and started again by the test, by its own process id."""

    def __init__(self, tmp_path):
        self.port = _free_port()
        self.dir = tmp_path / "redis"
        self.dir.mkdir(exist_ok=True)
        self.log = tmp_path / "redis.log"
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        import redis

        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                 "--appendonly", "no", "--dir", str(self.dir)],
                stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip
        deadline = time.monotonic() + WAIT
        while True:
            try:
                if redis.Redis(port=self.port, socket_connect_timeout=1).ping():
                    return
            except redis.exceptions.ConnectionError:
                pass
            assert self.proc.poll() is None, self.log.read_text(errors="replace")
            assert time.monotonic() < deadline, "redis-server did not answer"
            time.sleep(0.1)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=WAIT)


@pytest.fixture
def own_redis(tmp_path, monkeypatch, settings):
    """Our redis-server, used by this process as broker and cache (not eager)."""
    server = RedisServer(tmp_path)
    server.start()
    monkeypatch.setenv("CELERY_BROKER_URL", server.url)
    monkeypatch.delenv("CELERY_BROKER_WRITE_URL", raising=False)
    monkeypatch.setattr(village_services, "_broker", {"down_until": 0.0})
    settings.CACHES = {
        **settings.CACHES,
        "default": {
            "BACKEND": "core.cache.FaultTolerantRedisCache",
            "LOCATION": server.url,
        },
    }
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
    try:
        with celery_sending_to(server.url):
            yield server
    finally:
        server.stop()


class Workers:
    """`celery worker` subprocesses (production settings, the test database, our Redis)."""

    def __init__(self, tmp_path, redis_url, media_root):
        from tests.test_production_path import _server_env

        self.tmp_path = tmp_path
        self.env = _server_env(tmp_path) | {
            "MEDIA_ROOT": str(media_root),  # the uploads this process stores
            "CELERY_BROKER_URL": redis_url,
            "CELERY_RESULT_BACKEND": redis_url,
            "REDIS_URL": redis_url,
            "CACHE_URL": redis_url,
        }
        self.logs: dict = {}
        self.procs: list[subprocess.Popen] = []

    def start(self) -> subprocess.Popen:
        from tests.test_production_path import _start

        name = f"worker{len(self.procs) + 1}"
        proc = _start(
            name,
            [sys.executable, "-m", "celery", "-A", "xuchang_portal", "worker", "--pool=solo",
             "--without-gossip", "--without-mingle", "--without-heartbeat",
             "-n", f"faults-{name}-{os.getpid()}@%h", "-l", "info"],
            self.env, self.logs, self.tmp_path,
        )  # fmt: skip
        self.procs.append(proc)
        deadline = time.monotonic() + WAIT
        while " ready." not in self.logs[name].read_text(errors="replace"):
            assert proc.poll() is None, f"{name} exited with code {proc.returncode}"
            assert time.monotonic() < deadline, f"{name} not ready"
            time.sleep(0.2)
        return proc

    def stop_all(self) -> None:
        from tests.test_production_path import _stop

        for proc in self.procs:
            _stop(proc)

    def dump(self) -> None:
        from tests.test_production_path import _dump

        _dump(self.logs)


@pytest.fixture
def workers(request, tmp_path, own_redis, settings):
    pool = Workers(tmp_path, own_redis.url, settings.MEDIA_ROOT)
    failed = request.session.testsfailed
    try:
        yield pool
    finally:
        pool.stop_all()
        if request.session.testsfailed != failed:  # the call failed: show the workers
            pool.dump()


def wait_for(what: str, check, *procs):
    deadline = time.monotonic() + WAIT
    while True:
        value = check()
        if value:
            return value
        for proc in procs:
            assert proc.poll() is None, f"worker exited with code {proc.returncode}"
        assert time.monotonic() < deadline, f"gave up waiting for: {what}"
        time.sleep(0.2)


@contextmanager
def row_lock(sql: str, params):
    """Hold a row lock from a second connection until the block ends (then roll back)."""
    from django.db import connections

    other = connections.create_connection("default")
    other.set_autocommit(False)
    try:
        with other.cursor() as cursor:
            cursor.execute(sql, params)
            assert cursor.fetchall(), "nothing to lock"
        yield
    finally:
        other.rollback()
        other.close()


def blocked_backends() -> list[int]:
    """Backends of this database waiting for a lock (the worker, stuck on ours)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT DISTINCT l.pid FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
            "WHERE NOT l.granted AND a.datname = current_database()"
        )
        return [row[0] for row in cursor.fetchall()]


def backend_query(pid: int) -> str:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT query FROM pg_stat_activity WHERE pid = %s", [pid])
        return cursor.fetchone()[0]


def backend_gone(pid: int) -> bool:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", [pid])
        return cursor.fetchone()[0] == 0


def kill(proc: subprocess.Popen) -> None:
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=WAIT)
    assert proc.returncode == -signal.SIGKILL


def visits_card(html: str) -> str:
    match = re.search(r'data-indicator="visits".*?dash-value-sm">([^<]+)<', html, re.S)
    assert match, "no 下沉走访 card on the page"
    return match.group(1).strip()


@production
def test_redis_stopped_under_a_running_worker_then_restarted_loses_nothing(
    area, cadre_user, county_official, own_redis, workers, caplog
):
    from core.tasks import pending_tasks_send
    from dashboards.tasks import refresh_changed

    # given: snapshots, cursors, and a worker connected to Redis
    compute_snapshots(year=YEAR)
    changed_years()
    visits_before = city_figure("visits")
    sanling_before = city_figure("sanling_village_rate")
    worker = workers.start()

    # when: Redis stops; a cadre logs a visit on the page and one through the API, and an
    # official registers a skip-level petition
    own_redis.stop()
    cadre, official = Client(), Client()
    cadre.force_login(cadre_user)
    official.force_login(county_official)
    with caplog.at_level(logging.WARNING):
        page = cadre.post("/visits/new/", visit_form(area.villages["a1v1"]))
        api = token_client(cadre_user).post(
            "/api/visits/", visit_json(area.villages["a1v1"]), format="json"
        )
        petition = official.post("/disputes/petitions/new/", petition_form(area.villages["a1v1"]))

    # then: everything saved, nothing raised, the failed enqueue logged and kept
    assert (page.status_code, api.status_code, petition.status_code) == (302, 201, 302)
    assert Visit.objects.filter(date=DAY).count() == 2 and Petition.objects.count() == 1
    assert "三零状态重新计算未能排队" in caplog.text
    assert PendingTask.objects.get().task == "disputes.tasks.sanling_recompute"

    # when: Redis is back, and beat (here: this process, past the broker back-off) sends
    # its two catch-up jobs; the same worker, reconnected, runs them
    own_redis.start()
    village_services._broker["down_until"] = 0.0
    assert village_services.task_send(pending_tasks_send.name)

    # then: the kept recomputation ran
    wait_for(
        "the kept 三零 recomputation",
        lambda: SanlingStatus.objects.filter(year=YEAR, derived_met=False).exists(),
        worker,
    )
    assert not PendingTask.objects.exists()

    # and the snapshots caught up with both visits and the broken 三零 year
    assert village_services.task_send(refresh_changed.name)
    wait_for(
        "the snapshots to catch up",
        lambda: (
            city_figure("visits") == visits_before + 2
            and city_figure("sanling_village_rate") == sanling_before - 1
        ),
        worker,
    )


def _upload(client, data: bytes):
    return client.post(
        "/imports/", {"kind": "villages", "file": SimpleUploadedFile("村名册.xlsx", data)}
    )


def _job_state(pk: int):
    return ImportJob.objects.values_list("state", flat=True).get(pk=pk)


@production
def test_a_worker_killed_mid_import_commit_leaves_nothing_and_the_job_failed_and_retryable(
    area, city_admin, workers
):
    village = area.villages["a1v1"]
    households = village.households
    new_code = free_code(area.townships["A1"])
    data = roster_xlsx(
        [
            village_row(village, name="新建测试村", code=new_code, households=120),
            village_row(village, households=households + 11),
        ]
    )
    worker = workers.start()
    client = Client()
    client.force_login(city_admin)

    # given: a previewed import: one new village (inserted first), one change
    response = _upload(client, data)
    job = ImportJob.objects.latest("pk")
    assert response.status_code == 302
    wait_for("the preview", lambda: _job_state(job.pk) == ImportJob.State.PREVIEWED, worker)
    history = Village.history.count()

    # when: the commit runs into a row we hold locked (after inserting the new village
    # inside its transaction), and the worker is SIGKILLed there
    with row_lock("SELECT id FROM villages_village WHERE id = %s FOR UPDATE", [village.pk]):
        assert client.post(f"/imports/{job.pk}/confirm/").status_code == 302
        stuck = wait_for("the commit to block on our lock", blocked_backends, worker)[0]
        # it is past the insert of the new village, at the update of the changed one
        assert backend_query(stuck).startswith('UPDATE "villages_village"')
        kill(worker)
        # the dead worker's transaction still holds the job row: the reaper leaves it
        page = client.get(f"/imports/{job.pk}/").content.decode()
        assert "导入中" in page and _job_state(job.pk) == ImportJob.State.COMMITTING
    wait_for("the killed worker's transaction to end", lambda: backend_gone(stuck))

    # then: nothing half-written
    assert not Village.objects.filter(code=new_code).exists()
    village.refresh_from_db()
    assert village.households == households
    assert Village.history.count() == history

    # when: a little later (past the start grace) someone looks at the job
    ImportJob.objects.filter(pk=job.pk).update(
        started_at=job.created_at - village_services.IMPORT_START_GRACE
    )
    page = client.get(f"/imports/{job.pk}/").content.decode()

    # then: 失败, with the reason in Chinese
    job.refresh_from_db()
    assert job.state == ImportJob.State.FAILED
    assert job.error == village_services.IMPORT_INTERRUPTED
    assert "导入失败" in page and "意外退出" in page and "重新导入" in page

    # when: retried from the page, with a worker running again
    worker = workers.start()
    again_url = client.post(f"/imports/{job.pk}/retry/")["Location"]
    again = ImportJob.objects.latest("pk")
    assert again_url == f"/imports/{again.pk}/"
    wait_for("the retry's preview", lambda: _job_state(again.pk) == "previewed", worker)
    assert client.post(f"/imports/{again.pk}/confirm/").status_code == 302
    wait_for("the retry's commit", lambda: _job_state(again.pk) == "done", worker)

    # then: everything written, once
    village.refresh_from_db()
    assert village.households == households + 11
    assert Village.objects.filter(code=new_code).count() == 1


@production
def test_a_worker_killed_mid_snapshot_leaves_the_previous_snapshots_visible(
    area, city_admin, workers
):
    from dashboards.models import SnapshotHistory
    from dashboards.tasks import compute_snapshots as compute_task
    from tests.visits.helpers import VisitFactory

    # given: the 2024 snapshots, then three more visits that a recomputation would count
    compute_snapshots(year=YEAR)
    before = list(
        IndicatorSnapshot.objects.filter(year=YEAR)
        .order_by("pk")
        .values_list("pk", "indicator", "area_level", "area_id", "numerator", "denominator")
    )
    visits = city_figure("visits")
    for day in (3, 4, 5):
        VisitFactory(
            cadre=area.cadres["a1v1"],
            village=area.villages["a1v1"],
            date=datetime.date(YEAR, 6, day),
        )
    client = Client()
    client.force_login(city_admin)
    page_url = f"/dashboards/city/?year={YEAR}"
    shown = visits_card(client.get(page_url).content.decode())
    worker = workers.start()

    # when: the worker recomputes 2024 (deleting and re-inserting the snapshot rows in
    # one transaction) and blocks on the day's history rows we hold, and is SIGKILLed
    with row_lock("SELECT id FROM dashboards_snapshothistory WHERE year = %s FOR UPDATE", [YEAR]):
        assert village_services.task_send(compute_task.name, args=(YEAR,))
        stuck = wait_for("the computation to block on our lock", blocked_backends, worker)[0]
        # it has deleted and re-inserted the year's snapshots, and waits to replace the
        # day's history rows
        assert backend_query(stuck).startswith('DELETE FROM "dashboards_snapshothistory"')
        # meanwhile the dashboard still shows the old figures
        cache.clear()
        assert visits_card(client.get(page_url).content.decode()) == shown
        kill(worker)
    wait_for("the killed worker's transaction to end", lambda: backend_gone(stuck))

    # then: the previous snapshots are intact and still shown
    after = list(
        IndicatorSnapshot.objects.filter(year=YEAR)
        .order_by("pk")
        .values_list("pk", "indicator", "area_level", "area_id", "numerator", "denominator")
    )
    assert after == before
    assert SnapshotHistory.objects.filter(year=YEAR).exists()
    cache.clear()
    assert visits_card(client.get(page_url).content.decode()) == shown
    api = client.get("/api/indicators/", {"year": YEAR, "area": "city"}).json()
    assert {f["indicator"]: f["numerator"] for f in api["indicators"]}.get("visits", visits) == (
        visits
    )

    # and the next computation counts the new visits (the kill was all that stopped it)
    compute_snapshots(year=YEAR)
    assert city_figure("visits") == visits + 3
