"""The scoping matrix: every `*_list_for_user` selector against every kind of login.

The world is the `area` fixture (tests/conftest.py): county A with townships A1 and A2,
county B with township B1; cadres a1v1 (帮村 a1v1, county A unit), lx_a2 (联乡 A2, city
unit), b1v1 (帮村 b1v1, county B unit) and cross (county A unit, 帮村 b1v2 in county B).
"""

from types import SimpleNamespace

import pytest
from django.db import connection

from core.models import ExportJob
from tests.conftest import build_area, build_users
from tests.factories import (
    AssignmentFactory,
    TownshipFactory,
    UserFactory,
    UserRoleFactory,
    VillageFactory,
)
from tests.helpers import module_data
from villages import selectors
from villages.auth import PortalModelBackend
from villages.models import UserRole, Village

pytestmark = pytest.mark.django_db


# The matrix only reads, so the world and its logins are built once for the module (in a
# transaction rolled back at the end); a test that adds rows has them undone after it.
@pytest.fixture(scope="module")
def _world(django_db_setup, django_db_blocker):
    with module_data(django_db_blocker):
        area = build_area()
        world = SimpleNamespace(area=area, users=build_users(area))
        connection.check_constraints()
        yield world


@pytest.fixture
def area(_world, db):
    return _world.area


@pytest.fixture
def users(_world, db):
    return _world.users


@pytest.fixture
def city_admin(users):
    return users["city_admin"]


@pytest.fixture
def cadre_user(users):
    return users["cadre_user"]


WHO = [
    "city_admin",
    "city_viewer",
    "superuser",
    "county_official",
    "other_county_official",
    "township_official",
    "cadre_user",
    "township_cadre_user",
    "no_role_user",
    "anonymous",
]
CITY_WIDE = ("city_admin", "city_viewer", "superuser")
NOBODY = ("no_role_user", "anonymous")

A1 = {"a1v1", "a1v2", "a1v3"}
A2 = {"a2v1", "a2v2", "a2v3"}
B1 = {"b1v1", "b1v2"}

VISIBLE_VILLAGES = {
    **dict.fromkeys(CITY_WIDE, A1 | A2 | B1),
    "county_official": A1 | A2,
    "other_county_official": B1,
    "township_official": A1,
    "cadre_user": {"a1v1"},
    "township_cadre_user": A2,
    **dict.fromkeys(NOBODY, set()),
}
VISIBLE_TOWNSHIPS = {
    **dict.fromkeys(CITY_WIDE, {"A1", "A2", "B1"}),
    "county_official": {"A1", "A2"},
    "other_county_official": {"B1"},
    "township_official": {"A1"},
    "cadre_user": {"A1"},
    "township_cadre_user": {"A2"},
    **dict.fromkeys(NOBODY, set()),
}
VISIBLE_COUNTIES = {
    **dict.fromkeys(CITY_WIDE, {"A", "B"}),
    "county_official": {"A"},
    "other_county_official": {"B"},
    "township_official": {"A"},
    "cadre_user": {"A"},
    "township_cadre_user": {"A"},
    **dict.fromkeys(NOBODY, set()),
}
# Assignments are keyed by their cadre; a cadre sees only their own.
VISIBLE_ASSIGNMENTS = {
    **dict.fromkeys(CITY_WIDE, {"a1v1", "lx_a2", "b1v1", "cross"}),
    "county_official": {"a1v1", "lx_a2"},
    "other_county_official": {"b1v1", "cross"},
    "township_official": {"a1v1"},
    "cadre_user": {"a1v1"},
    "township_cadre_user": {"lx_a2"},
    **dict.fromkeys(NOBODY, set()),
}
# Officials see cadres linked to their area; county officials also those their county sent.
VISIBLE_CADRES = {
    **dict.fromkeys(CITY_WIDE, {"a1v1", "lx_a2", "b1v1", "cross"}),
    "county_official": {"a1v1", "lx_a2", "cross"},
    "other_county_official": {"b1v1", "cross"},
    "township_official": {"a1v1"},
    "cadre_user": {"a1v1"},
    "township_cadre_user": {"lx_a2"},
    **dict.fromkeys(NOBODY, set()),
}
VISIBLE_WORK_UNITS = {
    **dict.fromkeys(CITY_WIDE, {"city", "A", "B"}),
    "county_official": {"city", "A"},
    "other_county_official": {"A", "B"},
    "township_official": {"A"},
    "cadre_user": {"A"},
    "township_cadre_user": {"city"},
    **dict.fromkeys(NOBODY, set()),
}


def _labels(queryset, named: dict) -> set[str]:
    by_pk = {obj.pk: label for label, obj in named.items()}
    return {by_pk.get(pk, f"unexpected pk {pk}") for pk in queryset.values_list("pk", flat=True)}


@pytest.mark.parametrize("who", WHO)
def test_village_list_for_user(area, users, who):
    # given
    user = users[who]

    # when
    visible = selectors.village_list_for_user(user=user)

    # then
    assert _labels(visible, area.villages) == VISIBLE_VILLAGES[who]


@pytest.mark.parametrize("who", WHO)
def test_village_get_for_user_hides_what_is_out_of_scope(area, users, who):
    # given
    from django.http import Http404

    user = users[who]

    # when / then: visible ones are returned, the rest are 404 exactly like missing ones
    for label, village in area.villages.items():
        if label in VISIBLE_VILLAGES[who]:
            assert selectors.village_get_for_user(user=user, village_id=village.pk) == village
        else:
            with pytest.raises(Http404):
                selectors.village_get_for_user(user=user, village_id=village.pk)


@pytest.mark.parametrize("who", WHO)
def test_township_list_for_user(area, users, who):
    # given
    user = users[who]

    # when
    visible = selectors.township_list_for_user(user=user)

    # then
    assert _labels(visible, area.townships) == VISIBLE_TOWNSHIPS[who]


@pytest.mark.parametrize("who", WHO)
def test_county_list_for_user(area, users, who):
    # given
    user = users[who]

    # when
    visible = selectors.county_list_for_user(user=user)

    # then
    assert _labels(visible, {"A": area.county_a, "B": area.county_b}) == VISIBLE_COUNTIES[who]


@pytest.mark.parametrize("who", WHO)
def test_assignment_list_for_user(area, users, who):
    # given
    user = users[who]

    # when
    visible = selectors.assignment_list_for_user(user=user)

    # then
    assert _labels(visible, area.assignments) == VISIBLE_ASSIGNMENTS[who]


@pytest.mark.parametrize("who", WHO)
def test_cadre_list_for_user(area, users, who):
    # given
    user = users[who]

    # when
    visible = selectors.cadre_list_for_user(user=user)

    # then
    assert _labels(visible, area.cadres) == VISIBLE_CADRES[who]


@pytest.mark.parametrize("who", WHO)
def test_work_unit_list_for_user(area, users, who):
    # given
    user = users[who]

    # when
    visible = selectors.work_unit_list_for_user(user=user)

    # then
    assert _labels(visible, area.units) == VISIBLE_WORK_UNITS[who]


@pytest.mark.parametrize("who", WHO)
def test_branch_list_for_user(area, users, who):
    # given: every village has its own branch, so branches follow villages
    user = users[who]

    # when
    visible = selectors.branch_list_for_user(user=user)

    # then
    assert _labels(visible, area.branches) == VISIBLE_VILLAGES[who]


@pytest.mark.parametrize("who", WHO)
def test_roster_entry_list_for_user(area, users, who):
    # given
    user = users[who]

    # when
    visible = selectors.roster_entry_list_for_user(user=user)

    # then
    assert _labels(visible, area.entries) == VISIBLE_VILLAGES[who]


@pytest.mark.parametrize("who", WHO)
def test_user_role_list_for_user(users, who):
    # given
    user = users[who]
    everyone = {name for name, u in users.items() if UserRole.objects.filter(user=u.pk).exists()}
    roles = {name: UserRole.objects.get(user=u.pk) for name, u in users.items() if name in everyone}

    # when
    visible = selectors.user_role_list_for_user(user=user)

    # then: city admins (and superusers, who count as city admins) manage every role;
    # everyone else sees their own role and nothing more
    if who in ("city_admin", "superuser"):
        expected = everyone
    elif who in everyone:
        expected = {who}
    else:
        expected = set()
    assert _labels(visible, roles) == expected


@pytest.mark.parametrize("who", WHO)
def test_export_job_list_for_user(users, who):
    # given: one export started by each login with a role
    jobs = {
        name: ExportJob.objects.create(kind="villages", user=u)
        for name, u in users.items()
        if u.is_authenticated
    }

    # when
    visible = selectors.export_job_list_for_user(user=users[who])

    # then: only the user's own exports, whatever their role
    assert _labels(visible, jobs) == ({who} if who in jobs else set())


def test_cadre_role_without_cadre_record_sees_nothing(area):
    # given: a login with the cadre role that no Cadre row points to
    user = UserFactory(username="orphan_cadre")
    UserRoleFactory(user=user, role=UserRole.Role.CADRE)

    # when
    scope = selectors.scope_for_user(user)

    # then
    assert scope.is_cadre and scope.cadre_id is None
    assert not selectors.village_list_for_user(user=user).exists()
    assert not selectors.township_list_for_user(user=user).exists()
    assert not selectors.assignment_list_for_user(user=user).exists()
    assert not selectors.cadre_list_for_user(user=user).exists()
    assert not selectors.branch_list_for_user(user=user).exists()


def test_cadre_with_both_kinds_of_link_sees_the_union(area, cadre_user):
    # given: the 帮村 cadre of a1v1 is also linked to township B1 (联乡)
    AssignmentFactory(cadre=area.cadres["a1v1"], for_township=True, township=area.townships["B1"])

    # when
    villages = selectors.village_list_for_user(user=cadre_user)
    townships = selectors.township_list_for_user(user=cadre_user)

    # then
    assert _labels(villages, area.villages) == {"a1v1"} | B1
    assert _labels(townships, area.townships) == {"A1", "B1"}


@pytest.mark.parametrize(
    "who, county, expected",
    [
        ("city_admin", "B", True),
        ("county_official", "A", True),
        ("county_official", "B", False),
        ("county_official", None, False),
        ("city_viewer", "A", False),
        ("township_official", "A", False),
        ("cadre_user", "A", False),
        ("no_role_user", "A", False),
        ("anonymous", "A", False),
    ],
)
def test_user_can_write_area(area, users, who, county, expected):
    # given
    county_id = {"A": area.county_a.pk, "B": area.county_b.pk, None: None}[county]

    # when
    allowed = selectors.user_can_write_area(users[who], county_id=county_id)

    # then
    assert allowed is expected


# ----- township_overview_for_user -----


def _overview(user, year):
    return {
        row["township"].name: {
            k: row[k] for k in ("villages", "communities", "cadres", "uncovered")
        }
        for row in selectors.township_overview_for_user(user=user, year=year)
    }


def test_township_overview_counts_match_a_hand_count(area, city_admin):
    # given: the area fixture, counted by hand —
    #   A1: a1v1, a1v2 行政村 + a1v3 农村社区; 帮村 cadre on a1v1 only
    #   A2: a2v1, a2v2 行政村 + a2v3 城市社区; one 联乡 cadre (covers no single village)
    #   B1: b1v1, b1v2 行政村; 帮村 cadres on both
    expected = {
        "甲一镇": {"villages": 2, "communities": 1, "cadres": 1, "uncovered": 2},
        "甲二街道": {"villages": 2, "communities": 1, "cadres": 1, "uncovered": 3},
        "乙一乡": {"villages": 2, "communities": 0, "cadres": 2, "uncovered": 0},
    }

    # when
    overview = _overview(city_admin, 2024)

    # then
    assert overview == expected


def test_township_overview_counts_a_cadre_once_per_township_and_year(area, city_admin):
    # given: the a1v1 cadre also helps a1v2, and a 2023 assignment exists for a1v3
    AssignmentFactory(cadre=area.cadres["a1v1"], village=area.villages["a1v2"])
    AssignmentFactory(cadre=area.cadres["b1v1"], village=area.villages["a1v3"], year=2023)

    # when
    overview_2024 = _overview(city_admin, 2024)
    overview_2023 = _overview(city_admin, 2023)

    # then
    assert overview_2024["甲一镇"] == {"villages": 2, "communities": 1, "cadres": 1, "uncovered": 1}
    assert overview_2023["甲一镇"] == {"villages": 2, "communities": 1, "cadres": 1, "uncovered": 2}
    assert overview_2023["甲二街道"]["cadres"] == 0
    assert overview_2023["乙一乡"] == {"villages": 2, "communities": 0, "cadres": 0, "uncovered": 2}


@pytest.mark.parametrize(
    "who, expected",
    [
        (
            "county_official",
            {
                "甲一镇": {"villages": 2, "communities": 1, "cadres": 1, "uncovered": 2},
                "甲二街道": {"villages": 2, "communities": 1, "cadres": 1, "uncovered": 3},
            },
        ),
        (
            "township_official",
            {"甲一镇": {"villages": 2, "communities": 1, "cadres": 1, "uncovered": 2}},
        ),
        (
            "cadre_user",
            {"甲一镇": {"villages": 1, "communities": 0, "cadres": 1, "uncovered": 0}},
        ),
        ("no_role_user", {}),
        ("anonymous", {}),
    ],
)
def test_township_overview_is_scoped(users, who, expected):
    # when
    overview = _overview(users[who], 2024)

    # then
    assert overview == expected


def _grow_county(county, townships: int) -> None:
    for _ in range(townships):
        township = TownshipFactory(county=county)
        for kind in (Village.Kind.VILLAGE, Village.Kind.URBAN_COMMUNITY):
            village = VillageFactory(township=township, kind=kind)
        AssignmentFactory(village=village)
        AssignmentFactory(for_township=True, township=township)


@pytest.mark.parametrize("who", ["city_admin", "county_official", "cadre_user"])
def test_township_overview_query_count_does_not_grow_with_townships(
    area, users, who, django_assert_max_num_queries
):
    # given: the overview at the fixture's size (3 townships) ...
    # (1 query for the role, 1 more to find a cadre's record, 1 for the townships and
    # 3 grouped counts)
    bound = 6 if who == "cadre_user" else 5

    def queries_for_overview() -> tuple[int, int]:
        fresh_user = type(users[who]).objects.get(pk=users[who].pk)  # no memoised scope
        with django_assert_max_num_queries(bound) as captured:
            rows = selectors.township_overview_for_user(user=fresh_user, year=2024)
        return len(captured.captured_queries), len(rows)

    small, small_rows = queries_for_overview()

    # when: county A grows by twelve townships, each with villages and cadres
    _grow_county(area.county_a, townships=12)
    large, large_rows = queries_for_overview()

    # then: the same number of queries, however many rows
    if who != "cadre_user":
        assert large_rows == small_rows + 12
    assert large == small


# ----- the hot path of logging a visit, and the scope of a session's user -----


@pytest.mark.parametrize("who", WHO)
def test_cadre_village_links_agree_with_village_list_for_user(area, users, who):
    # given: the rule in SQL (village_list_for_user) for cadres
    user = users[who]
    in_sql = set(selectors.village_list_for_user(user=user).values_list("pk", flat=True))

    # when: the same rule in Python, village by village
    in_python = {
        v.pk
        for v in area.villages.values()
        if selectors.cadre_village_links(user=user, village_id=v.pk)[0] is not None
    }

    # then: the same villages for cadres; nothing for anyone else (only cadres log visits)
    cadre = selectors.scope_for_user(user).is_cadre
    assert in_python == (in_sql if cadre else set())
    if who in ("cadre_user", "township_cadre_user"):
        assert in_python  # the comparison is not between two empty sets


@pytest.mark.parametrize("who", [w for w in WHO if w != "anonymous"])
def test_the_auth_backend_loads_the_scope_with_the_user(users, who, django_assert_num_queries):
    # given: the user as a session loads it (villages.auth.PortalModelBackend)
    user = users[who]
    loaded = PortalModelBackend().get_user(user.pk)
    plain = type(user).objects.get(pk=user.pk)  # as loaded elsewhere: no role with it

    # when / then: the same scope, with no query for the loaded one
    with django_assert_num_queries(0):
        fast = selectors.scope_for_user(loaded)
    assert fast == selectors.scope_for_user(plain)
