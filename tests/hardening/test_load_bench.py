"""The load bench's checks, in CI: bench/load.py's clients for a few seconds against gunicorn
(2 sync workers, the production settings) on the PostgreSQL test database, then its `verify`.

Cadres post visits through the API, a share of them repeating a client_uuid already sent
(by the same cadre from another client, or by another cadre), while a county and a township
official read their dashboards and the lists. The test asserts what the bench asserts: no
5xx, no unexpected answer, no lost visit and no duplicated one. It never looks at timings.

Runs only when DATABASE_URL points at PostgreSQL (as `.ci/run` sets it); the test is
transactional so that gunicorn sees its rows.
"""

import functools
import os
from pathlib import Path
from urllib.parse import quote

import pytest

from bench.load import (
    COUNTY_DASHBOARD,
    NEW,
    REPEAT,
    SUBMISSIONS,
    TOWNSHIP_DASHBOARD,
    Actor,
    failures,
    official_pages,
    run_load,
    verify,
)
from bench.visits import Gunicorn, production_env

DATABASE_URL = os.environ.get("DATABASE_URL", "")

pytestmark = [
    pytest.mark.production,
    pytest.mark.skipif(
        not DATABASE_URL.startswith("postgres"),
        reason="the load bench needs DATABASE_URL=postgres://… (see .ci/run); gunicorn not started",
    ),
]

SECONDS = 5
CLIENTS = 10
PASSWORD = "load-test-pass-4711"
YEAR = 2024  # the year of tests.conftest.build_area()


def _test_database_url() -> str:
    from django.db import connection

    sd = connection.settings_dict
    auth = quote(sd.get("USER") or "", safe="")
    if sd.get("PASSWORD"):
        auth += ":" + quote(sd["PASSWORD"], safe="")
    host = quote(sd.get("HOST") or "127.0.0.1", safe="")
    return f"postgres://{auth}@{host}:{sd.get('PORT') or 5432}/{quote(sd['NAME'], safe='')}"


@functools.cache
def _password_hash() -> str:
    """PASSWORD hashed the way gunicorn (production hashers, not the tests' MD5) checks it;
    once, shared by every login here."""
    from django.contrib.auth.hashers import PBKDF2PasswordHasher, make_password

    return make_password(PASSWORD, hasher=PBKDF2PasswordHasher())


def _login(username: str, **role):
    from tests.factories import UserFactory, UserRoleFactory

    user = UserFactory(username=username)
    user.password = _password_hash()
    user.save(update_fields=["password"])
    UserRoleFactory(user=user, **role)
    return user


def _world() -> list[Actor]:
    """build_area()'s two counties with three 帮村 cadres who log in, a county official of
    甲县 and a township official of 甲一镇, and the year's snapshots."""
    from django.utils import timezone

    from dashboards.services import compute_snapshots
    from tests.conftest import build_area

    area = build_area()
    county, township = area.county_a, area.townships["A1"]
    actors = [
        Actor(
            _login("load_county", role="county_official", county=county).username,
            PASSWORD,
            pages=official_pages(
                [(COUNTY_DASHBOARD, f"/dashboards/county/{county.pk}/?year={YEAR}")]
            ),
        ),
        Actor(
            _login("load_township", role="township_official", township=township).username,
            PASSWORD,
            pages=official_pages(
                [(TOWNSHIP_DASHBOARD, f"/dashboards/township/{township.pk}/?year={YEAR}")]
            ),
        ),
    ]
    for label in ("a1v1", "b1v1", "cross"):
        cadre, link = area.cadres[label], area.assignments[label]
        cadre.user = _login(f"load_cadre_{label}", role="cadre")
        cadre.save(update_fields=["user"])
        actors.append(
            Actor(
                cadre.user.username,
                PASSWORD,
                cadre_id=cadre.pk,
                village_id=link.village_id,
                first_day=link.start_date,
                last_day=min(link.end_date, timezone.localdate()),
            )
        )
    compute_snapshots(year=YEAR)
    return actors


@pytest.mark.django_db(transaction=True)
def test_load_holds_without_5xx_lost_or_duplicated_visits(tmp_path: Path):
    actors = _world()
    env = production_env(_test_database_url(), str(tmp_path))
    if os.environ.get("REDIS_URL"):
        env["CACHE_URL"] = os.environ["REDIS_URL"]  # sessions read from Redis, as deployed
    else:
        env.pop("CACHE_URL")
    (tmp_path / "static").mkdir()
    log = tmp_path / "gunicorn.log"
    with Gunicorn("xuchang_portal.wsgi:application", env, log) as server:
        run = run_load(server.port, actors, seconds=SECONDS, clients=CLIENTS)

    checked = verify(run)
    problems = failures(checked)
    assert not problems, "\n".join(problems) + "\n" + log.read_text(errors="replace")[-5000:]
    # the run did what it is for: new visits stored, repeats answered with them, pages read
    assert run.statuses[NEW][201] > 0, dict(run.statuses)
    assert run.statuses[REPEAT][200] > 0, dict(run.statuses)
    assert checked["uuids_stored"] == sum(run.statuses[kind][201] for kind in SUBMISSIONS)
    assert {COUNTY_DASHBOARD, TOWNSHIP_DASHBOARD} <= set(run.statuses), dict(run.statuses)
