"""The 三零 status flips within seconds through the real Celery path: the service saves a
skip-level petition, `transaction.on_commit` sends the recomputation to Redis, a separate
`celery worker` process (production settings, the test database) runs it, and the
status row changes. Deleting the petition flips it back; an override holds against both.

Runs only when DATABASE_URL points at PostgreSQL and CELERY_BROKER_URL at Redis (as
`.ci/run` sets them); otherwise it is skipped with the reason. The eager-mode version of
the same flips, which runs everywhere, is in test_sanling.py.
"""

import datetime
import os
import sys
import time

import pytest

from tests.test_production_path import _dump, _server_env, _start, _stop

DATABASE_URL = os.environ.get("DATABASE_URL", "")
BROKER_URL = os.environ.get("CELERY_BROKER_URL", "")
FLIP_TIMEOUT = 20

pytestmark = [
    pytest.mark.production,
    pytest.mark.skipif(
        not (DATABASE_URL.startswith("postgres") and BROKER_URL.startswith("redis://")),
        reason=(
            "the real Celery path needs DATABASE_URL=postgres://… and CELERY_BROKER_URL=redis://… "
            "(see .ci/run); not set, so no worker is started"
        ),
    ),
]


def _world():
    from django.contrib.auth import get_user_model

    from tests.factories import BranchFactory
    from villages.models import County, Roster, RosterEntry, Township, UserRole, Village

    user = get_user_model().objects.create_user(username="sanling_county", password="x" * 12)
    county = County.objects.create(code="411024", name="鄢陵县", kind=County.Kind.COUNTY)
    UserRole.objects.create(user=user, role=UserRole.Role.COUNTY_OFFICIAL, county=county)
    township = Township.objects.create(
        code="411024107", name="张桥镇", kind=Township.Kind.TOWN, county=county
    )
    village = Village.objects.create(
        code="411024107225", name="裴庄村", kind=Village.Kind.VILLAGE, township=township
    )
    roster = Roster.objects.create(year=2024)
    RosterEntry.objects.create(
        roster=roster, village=village, branch=BranchFactory(township=township)
    )
    return user, village


def _wait_for(village, *, met: bool, worker):
    from disputes.models import SanlingStatus

    deadline = time.monotonic() + FLIP_TIMEOUT
    while True:
        status = SanlingStatus.objects.filter(year=2024, village=village).first()
        if status is not None and status.derived_met is met:
            return status
        assert worker.poll() is None, f"celery worker exited with code {worker.returncode}"
        assert time.monotonic() < deadline, f"status not derived_met={met} within {FLIP_TIMEOUT}s"
        time.sleep(0.2)


@pytest.mark.django_db(transaction=True)
def test_skip_level_petition_flips_the_status_through_a_real_worker(tmp_path, settings):
    from disputes.services import ledger_delete, petition_create, sanling_override_set
    from xuchang_portal.celery import app

    user, village = _world()
    queue = f"sanling-test-{os.getpid()}"
    settings.SANLING_TASK_QUEUE = queue
    env = _server_env(tmp_path)
    logs: dict = {}
    ok = False
    eager = app.conf.task_always_eager
    app.conf.task_always_eager = False
    worker = _start(
        "celery",
        [
            sys.executable, "-m", "celery", "-A", "xuchang_portal", "worker", "-Q", queue,
            "--pool=solo", "--without-gossip", "--without-mingle", "--without-heartbeat",
            "-n", f"{queue}@%h", "-l", "info",
        ],
        env, logs, tmp_path,
    )  # fmt: skip
    try:
        petition = petition_create(
            actor=user,
            village=village,
            channel="visit",
            received_on=datetime.date(2024, 6, 3),
            petitioner_name="王五",
            subject="反映征地补偿问题",
            level_reached="county",
            is_skip_level=True,
        )
        started = time.monotonic()
        status = _wait_for(village, met=False, worker=worker)
        assert status.met is False
        assert status.derived_reasons[0]["id"] == petition.pk
        # the worker's history row names the task that wrote it (core.history)
        written = status.history.order_by("history_id").last()
        assert written.history_source == "task:disputes.tasks.sanling_recompute"
        assert time.monotonic() - started < FLIP_TIMEOUT

        ledger_delete(actor=user, record=petition)
        status = _wait_for(village, met=True, worker=worker)
        assert status.met is True

        sanling_override_set(actor=user, year=2024, village=village, value="not_met", reason="核查")
        petition = petition_create(
            actor=user,
            village=village,
            channel="visit",
            received_on=datetime.date(2024, 7, 3),
            petitioner_name="王五",
            subject="再次反映",
            level_reached="city",
            is_skip_level=True,
        )
        status = _wait_for(village, met=False, worker=worker)
        assert (status.override, status.derived_met, status.met) == ("not_met", False, False)
        ledger_delete(actor=user, record=petition)
        status = _wait_for(village, met=True, worker=worker)
        assert (status.override, status.derived_met, status.met) == ("not_met", True, False)
        ok = True
    finally:
        app.conf.task_always_eager = eager
        _stop(worker)
        if not ok:
            _dump(logs)
