"""Shared test setup: a real browser (Playwright driving Debian's Chromium), a small
two-county world built with factories, and one login per portal role.

See /work/shared/TESTING.md §1 for why the browser is wired up this way.
"""

import os

# Playwright's sync API keeps an asyncio loop running in the main thread, so without this
# the first ORM call (already in `django_db_setup`) raises SynchronousOnlyOperation. It
# only turns off Django's guard; the tests still run one at a time in one thread.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

import shutil  # noqa: E402
from pathlib import Path  # noqa: E402
from types import SimpleNamespace  # noqa: E402

import pytest  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[1]

# ----- real browser -----

# Never `playwright install`: it cannot download here. Use Debian's chromium instead.
CHROMIUM = os.environ.get("CHROMIUM_BIN") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--lang=zh-CN",  # native date and file pickers in Chinese, as on the cadres' phones
]
BROWSER_FIXTURES = {"page", "context", "browser", "new_context"}


def chromium_available() -> bool:
    return os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)


def pytest_collection_modifyitems(config, items):
    """Tests marked `embedded_pass` run only on the embedded default (SQLite) unless
    ALL_PASSES=1. Browser tests (marked `browser`, or using a Playwright
    page/context/browser) are skipped, with the reason, on a machine without Chromium. CI
    installs it."""
    _one_pass_only(items)
    if chromium_available():
        return
    skip = pytest.mark.skip(
        reason=(
            f"Chromium not found at {CHROMIUM}: install Debian's `chromium` package or set "
            "CHROMIUM_BIN (never `playwright install`)"
        )
    )
    for item in items:
        if item.get_closest_marker("browser") or BROWSER_FIXTURES & set(
            getattr(item, "fixturenames", ())
        ):
            item.add_marker(skip)


def _one_pass_only(items) -> None:
    """CI runs the suite twice, on PostgreSQL + Redis and on the embedded default. A test
    marked `embedded_pass` is long and asks nothing of the database engine (a crawl of every
    page for its headers, a demo on another pinned day, the present-year browser walk that
    is `make run`'s own setting): it runs once, in the embedded pass, and ALL_PASSES=1 runs
    it on PostgreSQL as well.
    A test marked `postgres_pass` is the other way round: long, and run once, in the
    PostgreSQL pass (CI's embedded pass is followed by the real-worker tests, the longer of
    the two chains that run side by side), and ALL_PASSES=1 runs it on SQLite as well."""
    from django.conf import settings

    if os.environ.get("ALL_PASSES") == "1":
        return
    on_sqlite = "sqlite" in settings.DATABASES["default"]["ENGINE"]
    marker, where = (
        ("postgres_pass", "PostgreSQL") if on_sqlite else ("embedded_pass", "embedded-default")
    )
    skip = pytest.mark.skip(
        reason=f"engine-independent and long: runs in CI's {where} pass (ALL_PASSES=1 to run here)"
    )
    for item in items:
        if item.get_closest_marker(marker):
            item.add_marker(skip)
    # CI (BROWSER_TESTS_PASS=postgres) drives the browser once, in its PostgreSQL pass: the
    # pages do not depend on the engine. The browser wiring's own test (it checks the live
    # server beside SQLite too) and the tests marked `embedded_pass` stay where they are.
    if on_sqlite and os.environ.get("BROWSER_TESTS_PASS") == "postgres":
        once = pytest.mark.skip(reason="browser test: CI runs it in the PostgreSQL pass")
        for item in items:
            is_browser = item.get_closest_marker("browser") or BROWSER_FIXTURES & set(
                getattr(item, "fixturenames", ())
            )
            if (
                is_browser
                and not item.get_closest_marker("embedded_pass")
                and not item.nodeid.startswith("tests/test_browser_setup.py")
            ):
                item.add_marker(once)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """Extend pytest-playwright's own value so --headed, --slowmo, --tracing and --output
    keep working; only the executable and the flags are ours."""
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {
        **browser_context_args,
        "locale": "zh-CN",
        "timezone_id": "Asia/Shanghai",
        "viewport": {"width": 1280, "height": 900},
    }


@pytest.fixture
def screenshot_dir() -> Path:
    """Where browser tests put their screenshots (CI collects this directory)."""
    path = Path(os.environ.get("SCREENSHOT_DIR") or REPO_ROOT / "test-artifacts" / "screenshots")
    path.mkdir(parents=True, exist_ok=True)
    return path


# ----- files -----


@pytest.fixture(scope="session")
def _media_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("media")


@pytest.fixture(autouse=True)
def _media_root(settings, _media_dir):
    """Uploaded and exported files go to a temporary directory, never into the repo."""
    settings.MEDIA_ROOT = _media_dir


# ----- a small world -----
#
# `build_area()` and `build_users()` are plain functions so a read-only module can build
# the world once (see tests/villages/test_selectors.py); the fixtures build it per test.


def build_area() -> SimpleNamespace:
    """Two counties, built with factories, for the year 2024:

    county A (甲县): township A1 甲一镇 (a1v1, a1v2 行政村; a1v3 农村社区)
                     township A2 甲二街道 (a2v1, a2v2 行政村; a2v3 城市社区)
    county B (乙县): township B1 乙一乡 (b1v1, b1v2 行政村)

    Every village has its own branch and a 2024 roster entry (roster not frozen). Work
    units: "city" (市测试局), "A" and "B" (one department per county). Cadres (2024):
      a1v1  — county A unit, 帮村 a1v1 (the `cadre_user`'s record)
      lx_a2 — city unit, 联乡 township A2 (the `township_cadre_user`'s record)
      b1v1  — county B unit, 帮村 b1v1
      cross — county A unit, 帮村 b1v2 (sent from A to work in B)
    """
    from tests.factories import (
        AssignmentFactory,
        CadreFactory,
        CountyFactory,
        RosterEntryFactory,
        RosterFactory,
        TownshipFactory,
        VillageFactory,
        WorkUnitFactory,
    )
    from villages.models import Cadre, Village, WorkUnit

    county_a = CountyFactory(name="甲县")
    county_b = CountyFactory(name="乙县")
    townships = {
        "A1": TownshipFactory(county=county_a, name="甲一镇"),
        "A2": TownshipFactory(county=county_a, name="甲二街道"),
        "B1": TownshipFactory(county=county_b, name="乙一乡"),
    }
    layout = {
        "a1v1": ("A1", Village.Kind.VILLAGE),
        "a1v2": ("A1", Village.Kind.VILLAGE),
        "a1v3": ("A1", Village.Kind.RURAL_COMMUNITY),
        "a2v1": ("A2", Village.Kind.VILLAGE),
        "a2v2": ("A2", Village.Kind.VILLAGE),
        "a2v3": ("A2", Village.Kind.URBAN_COMMUNITY),
        "b1v1": ("B1", Village.Kind.VILLAGE),
        "b1v2": ("B1", Village.Kind.VILLAGE),
    }
    villages = {
        label: VillageFactory(township=townships[t], kind=kind, name=f"{label}村")
        for label, (t, kind) in layout.items()
    }
    roster = RosterFactory(year=2024)
    entries = {label: RosterEntryFactory(roster=roster, village=v) for label, v in villages.items()}
    units = {
        "city": WorkUnitFactory(name="市测试局", level=WorkUnit.Level.CITY),
        "A": WorkUnitFactory(name="甲县测试局", level=WorkUnit.Level.COUNTY, county=county_a),
        "B": WorkUnitFactory(name="乙县测试局", level=WorkUnit.Level.COUNTY, county=county_b),
    }
    county_level = Cadre.Level.COUNTY
    cadres = {
        "a1v1": CadreFactory(name="甲一干部", work_unit=units["A"], level=county_level),
        "lx_a2": CadreFactory(name="联乡干部", work_unit=units["city"]),
        "b1v1": CadreFactory(name="乙一干部", work_unit=units["B"], level=county_level),
        "cross": CadreFactory(name="跨县干部", work_unit=units["A"], level=county_level),
    }
    assignments = {
        "a1v1": AssignmentFactory(cadre=cadres["a1v1"], village=villages["a1v1"]),
        "lx_a2": AssignmentFactory(
            cadre=cadres["lx_a2"], for_township=True, township=townships["A2"]
        ),
        "b1v1": AssignmentFactory(cadre=cadres["b1v1"], village=villages["b1v1"]),
        "cross": AssignmentFactory(cadre=cadres["cross"], village=villages["b1v2"]),
    }
    return SimpleNamespace(
        county_a=county_a,
        county_b=county_b,
        townships=townships,
        villages=villages,
        branches={label: e.branch for label, e in entries.items()},
        roster=roster,
        entries=entries,
        units=units,
        cadres=cadres,
        assignments=assignments,
    )


def _user_with_role(username, role, **area):
    from tests.factories import UserFactory, UserRoleFactory

    user = UserFactory(username=username)
    UserRoleFactory(user=user, role=role, **area)
    return user


def _cadre_login(username, cadre):
    user = _user_with_role(username, "cadre")
    cadre.user = user
    cadre.save(update_fields=["user"])
    return user


def _plain_user(username, **extra):
    from tests.factories import UserFactory

    return UserFactory(username=username, **extra)


# name -> how to make that login in a world built by `build_area()`
USER_MAKERS = {
    "city_admin": lambda area: _user_with_role("city_admin", "city_admin"),
    "city_viewer": lambda area: _user_with_role("city_viewer", "city_viewer"),
    "county_official": lambda area: _user_with_role(
        "county_a", "county_official", county=area.county_a
    ),
    "other_county_official": lambda area: _user_with_role(
        "county_b", "county_official", county=area.county_b
    ),
    "township_official": lambda area: _user_with_role(
        "township_a1", "township_official", township=area.townships["A1"]
    ),
    "cadre_user": lambda area: _cadre_login("cadre_a1v1", area.cadres["a1v1"]),
    "township_cadre_user": lambda area: _cadre_login("cadre_lx_a2", area.cadres["lx_a2"]),
    "no_role_user": lambda area: _plain_user("no_role"),
    "superuser": lambda area: _plain_user("root", is_superuser=True, is_staff=True),
}


def build_users(area) -> dict:
    """Every login of `USER_MAKERS` by name, plus "anonymous"."""
    from django.contrib.auth.models import AnonymousUser

    return {name: make(area) for name, make in USER_MAKERS.items()} | {"anonymous": AnonymousUser()}


@pytest.fixture
def area(db):
    """The two-county world of `build_area()`."""
    return build_area()


@pytest.fixture
def city_admin(area):
    return USER_MAKERS["city_admin"](area)


@pytest.fixture
def city_viewer(area):
    return USER_MAKERS["city_viewer"](area)


@pytest.fixture
def county_official(area):
    """County official of county A."""
    return USER_MAKERS["county_official"](area)


@pytest.fixture
def other_county_official(area):
    """County official of county B."""
    return USER_MAKERS["other_county_official"](area)


@pytest.fixture
def township_official(area):
    """Township official of township A1."""
    return USER_MAKERS["township_official"](area)


@pytest.fixture
def cadre_user(area):
    """A 帮村 cadre linked to village a1v1 (in A1) and nothing else."""
    return USER_MAKERS["cadre_user"](area)


@pytest.fixture
def township_cadre_user(area):
    """A 联乡 cadre linked to township A2 and nothing else."""
    return USER_MAKERS["township_cadre_user"](area)


@pytest.fixture
def no_role_user(area):
    """A login with no portal role: sees nothing."""
    return USER_MAKERS["no_role_user"](area)


@pytest.fixture
def superuser(area):
    """A Django superuser with no portal role: treated as city-wide."""
    return USER_MAKERS["superuser"](area)


@pytest.fixture
def users(
    city_admin,
    city_viewer,
    county_official,
    other_county_official,
    township_official,
    cadre_user,
    township_cadre_user,
    no_role_user,
    superuser,
):
    """Every login above by name, plus "anonymous"."""
    from django.contrib.auth.models import AnonymousUser

    return {
        "city_admin": city_admin,
        "city_viewer": city_viewer,
        "county_official": county_official,
        "other_county_official": other_county_official,
        "township_official": township_official,
        "cadre_user": cadre_user,
        "township_cadre_user": township_cadre_user,
        "no_role_user": no_role_user,
        "superuser": superuser,
        "anonymous": AnonymousUser(),
    }


@pytest.fixture
def login():
    """`login(client, user)` signs `user` in without a password (axes stays out of the
    way) and returns the client."""

    def _login(client, user):
        client.force_login(user)
        return client

    return _login


@pytest.fixture
def axes_on(settings):
    """django-axes switched on (off in the test settings by default) with no failed logins on
    record before or after the test."""
    from axes.utils import reset

    settings.AXES_ENABLED = True
    reset()
    yield
    reset()
