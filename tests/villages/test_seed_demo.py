"""`seed_demo` loads Xuchang's real 2023 roster plus the plan's additions, and running it
again changes nothing.

The command runs once for the whole module (it takes a few seconds); the data lives in an
outer transaction that is rolled back when the module is done, so other modules still
start from an empty database.
"""

import datetime
import hashlib
from io import StringIO

import pytest
import time_machine
from django.apps import apps
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.db import connection
from django.db.models import Count, F

from tests.helpers import module_data
from villages import selectors
from villages.models import (
    Assignment,
    AssignmentProposal,
    County,
    ProgrammeYear,
    Roster,
    RosterEntry,
    Township,
    UserRole,
    Village,
)

pytestmark = pytest.mark.django_db

PEIZHUANG = "411024107225"
# The demo opens the clock's year: seeded on a pinned day of 2026.
SEEDED_ON = datetime.datetime(2026, 6, 15, 9, 0, tzinfo=datetime.UTC)


@pytest.fixture(scope="module")
def seeded(django_db_setup, django_db_blocker):
    """Run `seed_demo` once for the module; returns its output."""
    with module_data(django_db_blocker), time_machine.travel(SEEDED_ON, tick=False):
        out = StringIO()
        call_command("seed_demo", apps=["villages"], stdout=out)
        connection.check_constraints()
        yield out.getvalue()


def _user(username):
    # A fresh object each time, so no memoised scope leaks between checks.
    return get_user_model().objects.get(username=username)


def test_hierarchy_counts(seeded):
    # then
    assert County.objects.count() == 7
    assert Township.objects.count() == 105
    assert Village.objects.count() == 2529
    assert Village.objects.filter(kind=Village.Kind.URBAN_COMMUNITY).count() == 177
    assert Village.objects.filter(in_statistical_roster=False).count() == 24


def test_every_code_nests_under_its_parent(seeded):
    # then
    assert not Township.objects.exclude(code__startswith=F("county__code")).exists()
    assert not Village.objects.exclude(code__startswith=F("township__code")).exists()


def test_rosters(seeded):
    # given
    r2022 = RosterEntry.objects.filter(roster__year=2022)
    r2023 = RosterEntry.objects.filter(roster__year=2023)

    # then: 2022 — one branch per village or community, 2,349 non-urban + 177 urban
    assert r2022.count() == 2526
    assert r2022.values("branch").distinct().count() == 2526
    assert r2022.exclude(village__kind=Village.Kind.URBAN_COMMUNITY).count() == 2349
    assert r2022.filter(village__kind=Village.Kind.URBAN_COMMUNITY).count() == 177
    # 2023 — every village, 67 pairs sharing a 联合党支部
    assert r2023.count() == 2529
    assert r2023.values("branch").distinct().count() == 2462
    shared = r2023.values("branch").annotate(n=Count("id")).filter(n__gt=1)
    assert sorted({row["n"] for row in shared}) == [2]
    # and the clock's year, opened through the programme-year service: 2023's roster
    r2026 = RosterEntry.objects.filter(roster__year=2026)
    assert r2026.count() == 2529
    assert set(r2026.values_list("village_id", "branch_id")) == set(
        r2023.values_list("village_id", "branch_id")
    )
    assert Roster.objects.filter(is_frozen=True).count() == 3


def test_the_present_year_is_opened_and_its_links_confirmed(seeded):
    assert dict(ProgrammeYear.objects.values_list("year", "status")) == {
        2022: "open",
        2023: "open",
        2026: "open",
    }
    proposals = AssignmentProposal.objects.filter(year=2026)
    assert proposals.count() == Assignment.objects.filter(year=2023).count()
    pending = proposals.filter(decision="pending")
    assert pending.count() == 6
    assert set(pending.values_list("county__name", flat=True)) == {"长葛市"}
    assert proposals.filter(decision="ended").count() == 2
    confirmed = proposals.filter(decision="confirmed")
    assert Assignment.objects.filter(year=2026).count() == confirmed.count()
    peizhuang = Assignment.objects.get(year=2026, village__code=PEIZHUANG)
    assert (peizhuang.start_date, peizhuang.end_date) == (
        datetime.date(2026, 1, 1),
        datetime.date(2026, 12, 31),
    )


def test_peizhuang(seeded):
    # when
    village = Village.objects.select_related("township__county").get(code=PEIZHUANG)

    # then
    assert village.name == "裴庄村"
    assert village.township.name == "张桥镇"
    assert village.township.county.name == "鄢陵县"


@pytest.mark.parametrize(
    "username, role, county_code, township_code",
    [
        ("admin", UserRole.Role.CITY_ADMIN, None, None),
        ("city", UserRole.Role.CITY_VIEWER, None, None),
        ("county_yanling", UserRole.Role.COUNTY_OFFICIAL, "411024", None),
        ("county_changge", UserRole.Role.COUNTY_OFFICIAL, "411082", None),
        ("township_zhangqiao", UserRole.Role.TOWNSHIP_OFFICIAL, None, "411024107"),
        ("cadre_peizhuang", UserRole.Role.CADRE, None, None),
    ],
)
def test_demo_users(seeded, username, role, county_code, township_code):
    # when
    user_role = UserRole.objects.select_related("county", "township").get(user__username=username)

    # then
    assert user_role.role == role
    assert (user_role.county.code if user_role.county else None) == county_code
    assert (user_role.township.code if user_role.township else None) == township_code
    assert user_role.user.check_password("demo12345")


def test_demo_cadre_sees_exactly_peizhuang(seeded):
    # when
    visible = list(selectors.village_list_for_user(user=_user("cadre_peizhuang")))

    # then
    assert [(v.code, v.name) for v in visible] == [(PEIZHUANG, "裴庄村")]


def test_demo_county_official_sees_only_yanling(seeded):
    # when
    visible = selectors.village_list_for_user(user=_user("county_yanling"))

    # then
    assert visible.count() == Village.objects.filter(code__startswith="411024").count() > 0
    assert set(visible.values_list("township__county__name", flat=True)) == {"鄢陵县"}


def test_demo_township_official_sees_only_zhangqiao(seeded):
    # when
    visible = selectors.village_list_for_user(user=_user("township_zhangqiao"))

    # then
    assert visible.count() == Village.objects.filter(code__startswith="411024107").count() > 0
    assert visible.filter(code=PEIZHUANG).exists()


def _snapshot() -> dict:
    # Every model of the app, history tables included, plus the logins and their groups.
    models = [*apps.get_app_config("villages").get_models(), get_user_model(), Group]
    counts = {model.__name__: model._default_manager.count() for model in models}
    counts["user groups"] = get_user_model().groups.through.objects.count()
    counts["group permissions"] = Group.permissions.through.objects.count()
    villages = Village.objects.order_by("code").values_list(
        "code", "name", "kind", "households", "population", "township__code"
    )
    entries = RosterEntry.objects.order_by("roster__year", "village__code").values_list(
        "roster__year", "village__code", "branch__code"
    )
    assignments = Assignment.objects.order_by("pk").values_list(
        "cadre__phone", "kind", "village__code", "township__code", "year"
    )
    digest = hashlib.sha256()
    for rows in (villages, entries, assignments):
        digest.update(repr(list(rows)).encode())
    return {"counts": counts, "digest": digest.hexdigest()}


def test_second_run_changes_nothing(seeded):
    # given
    before = _snapshot()

    # when
    out = StringIO()
    with time_machine.travel(SEEDED_ON + datetime.timedelta(days=3), tick=False):
        call_command("seed_demo", apps=["villages"], stdout=out)

    # then
    assert "已是最新" in out.getvalue()
    assert "新建" not in out.getvalue() and "更新" not in out.getvalue()
    assert _snapshot() == before


def test_first_run_reports_what_it_created(seeded):
    # then
    assert "新建" in seeded
    assert "已是最新" not in seeded


def test_every_demo_village_lies_inside_its_own_county_outline(seeded):
    from villages.demo import DEMO_AREA_NEAR
    from villages.geo import haversine_km
    from villages.models import LocationSource
    from villages.outlines import county_outline

    villages = Village.objects.select_related("township__county")
    assert not villages.filter(latitude__isnull=True).exists()
    assert set(villages.values_list("location_source", flat=True)) == {LocationSource.DEMO}
    for v in villages:
        county = v.township.county
        lat, lon = float(v.latitude), float(v.longitude)
        if county.code in DEMO_AREA_NEAR:  # no outline of its own (经开区)
            host, (c_lat, c_lon, km) = DEMO_AREA_NEAR[county.code]
            assert county_outline(county.name) is None
            assert county_outline(host).contains(lat, lon), v.code
            assert haversine_km(lat, lon, c_lat, c_lon) <= km + 0.01, v.code
        else:
            assert county_outline(county.name).contains(lat, lon), (v.code, county.name)
    # a point per village, not one per county
    assert villages.values("latitude", "longitude").distinct().count() == villages.count()


def test_the_village_page_says_the_location_is_a_demo(seeded, client):
    village = Village.objects.get(code=PEIZHUANG)
    client.force_login(_user("county_yanling"))

    body = client.get(f"/villages/{village.pk}/").content.decode()

    assert f"{village.latitude}, {village.longitude}" in body
    assert "演示位置" in body
