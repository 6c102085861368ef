"""The per-area indicators the dashboards read, and their scoped versions for our pages.

2024 world (the `area` fixture, one branch per village), levels held:
    A1: a1v1 5★, a1v2 3★, a1v3 1★        A2: a2v1 4★, a2v2 0, a2v3 (城市社区) 3★
    B1: b1v1 2★ (+ one withdrawn, one still in 公示), b1v2 0
2025: a1v1 and a1v2 share a 联合党支部 (4★); nothing else is rated.
"""

import pytest

from stars import selectors
from stars.models import StarAward
from tests.factories import BranchFactory, RosterEntryFactory, RosterFactory, VillageFactory
from tests.stars.factories import StarAwardFactory, WeakCaseFactory, hold, star

pytestmark = pytest.mark.django_db

RURAL_ALL = ("branch", "industry", "ecology", "safety", "civility")
URBAN_ALL = ("branch", "business", "sharing", "safety", "harmony")


@pytest.fixture
def rated(area):
    b = area.branches
    hold(b["a1v1"], *RURAL_ALL)
    hold(b["a1v2"], *RURAL_ALL[:3])
    hold(b["a1v3"], "branch")
    hold(b["a2v1"], *RURAL_ALL[:4])
    hold(b["a2v3"], *URBAN_ALL[:3], scheme="urban")
    hold(b["b1v1"], "branch", "safety")
    StarAwardFactory(
        branch=b["b1v1"],
        star_type=star("rural", "industry"),
        state=StarAward.State.WITHDRAWN,
        withdrawn_reason="事故",
    )
    StarAwardFactory(
        branch=b["b1v1"], star_type=star("rural", "ecology"), state=StarAward.State.PUBLICIZED
    )
    WeakCaseFactory(branch=b["a1v1"])
    WeakCaseFactory(branch=b["a2v1"], status="accepted", accepted_on="2024-06-01")
    WeakCaseFactory(branch=b["b1v1"], status="rectifying")
    return area


def _keys(area):
    return {
        "city": ("city", None),
        "A": ("county", area.county_a.pk),
        "B": ("county", area.county_b.pk),
        "A1": ("township", area.townships["A1"].pk),
        "A2": ("township", area.townships["A2"].pk),
        "B1": ("township", area.townships["B1"].pk),
        **{label: ("village", v.pk) for label, v in area.villages.items()},
    }


def test_three_star_plus_rate_by_area(rated):
    k = _keys(rated)
    result = selectors.three_star_plus_rate_by_area(year=2024)
    assert result[k["city"]] == (4, 8)
    assert result[k["A"]] == (4, 6)
    assert result[k["B"]] == (0, 2)
    assert result[k["A1"]] == (2, 3)
    assert result[k["A2"]] == (2, 3)
    assert result[k["a1v1"]] == (1, 1)
    assert result[k["a1v3"]] == (0, 1)
    assert result[k["a2v3"]] == (1, 1)


def test_five_star_count_and_branches_rated_by_area(rated):
    k = _keys(rated)
    five = selectors.five_star_count_by_area(year=2024)
    assert five[k["city"]] == (1, 8) and five[k["A1"]] == (1, 3) and five[k["B"]] == (0, 2)
    rated_ = selectors.branches_rated_by_area(year=2024)
    assert rated_[k["city"]] == (6, 8)
    assert rated_[k["B1"]] == (1, 2)
    assert rated_[k["a2v2"]] == (0, 1)


def test_level_distribution_by_area(rated):
    k = _keys(rated)
    dist = selectors.level_distribution_by_area(year=2024)
    assert dist[k["city"]] == {0: 2, 1: 1, 2: 1, 3: 2, 4: 1, 5: 1}
    assert dist[k["A2"]] == {0: 1, 1: 0, 2: 0, 3: 1, 4: 1, 5: 0}
    assert dist[k["b1v1"]] == {0: 0, 1: 0, 2: 1, 3: 0, 4: 0, 5: 0}
    urban = selectors.level_distribution_by_area(year=2024, scheme="urban")
    assert urban[k["city"]] == {0: 0, 1: 0, 2: 0, 3: 1, 4: 0, 5: 0}


def test_weak_branch_open_by_area(rated):
    k = _keys(rated)
    weak = selectors.weak_branch_open_by_area(year=2024)
    assert weak[k["city"]] == (2, 3)
    assert weak[k["A"]] == (1, 2)
    assert weak[k["B1"]] == (1, 1)
    assert weak[k["a1v1"]] == (1, 1)
    assert weak[k["a2v1"]] == (0, 1)
    assert k["a1v2"] not in weak
    assert selectors.weak_branch_open_by_area(year=2030) == {("city", None): (0, 0)}


def test_a_joint_branch_counts_once_for_areas_and_for_each_of_its_villages(rated):
    k = _keys(rated)
    roster = RosterFactory(year=2025)
    joint = BranchFactory(township=rated.townships["A1"], kind="joint", name="联合党支部")
    for label, v in rated.villages.items():
        branch = joint if label in ("a1v1", "a1v2") else rated.branches[label]
        RosterEntryFactory(roster=roster, village=v, branch=branch)
    hold(joint, *RURAL_ALL[:4], year=2025)

    plus3 = selectors.three_star_plus_rate_by_area(year=2025)
    assert plus3[k["city"]] == (1, 7)
    assert plus3[k["A1"]] == (1, 2)
    assert plus3[k["a1v1"]] == (1, 1) and plus3[k["a1v2"]] == (1, 1)
    assert selectors.level_distribution_by_area(year=2025)[k["A1"]][4] == 1


def test_selectors_run_a_fixed_number_of_queries(rated, django_assert_max_num_queries):
    for fn in (
        selectors.three_star_plus_rate_by_area,
        selectors.five_star_count_by_area,
        selectors.branches_rated_by_area,
        selectors.level_distribution_by_area,
        selectors.weak_branch_open_by_area,
    ):
        with django_assert_max_num_queries(2):
            fn(year=2024)
    # ten times the villages: still the same queries
    roster = rated.roster
    for township in rated.townships.values():
        for _ in range(10):
            RosterEntryFactory(roster=roster, village=VillageFactory(township=township))
    with django_assert_max_num_queries(2):
        result = selectors.level_distribution_by_area(year=2024)
    assert sum(result[("city", None)].values()) == 38


@pytest.mark.parametrize(
    ("who", "kind", "names", "total"),
    [
        ("city_admin", "county", ["甲县", "乙县"], (4, 8)),
        ("county_official", "township", ["甲一镇", "甲二街道"], (4, 6)),
        ("township_official", "village", ["a1v1村", "a1v2村", "a1v3村"], (2, 3)),
        ("cadre_user", "village", ["a1v1村"], (1, 1)),
    ],
)
def test_the_scoped_overview_follows_the_users_area(rated, users, who, kind, names, total):
    overview = selectors.level_overview_for_user(user=users[who], year=2024)
    assert overview["kind"] == kind
    assert [r["name"] for r in overview["rows"]] == names
    assert (overview["total"]["three_plus"], overview["total"]["total"]) == total
    assert selectors.three_star_plus_rate_for_user(user=users[who], year=2024) == total


def test_a_city_user_can_narrow_to_one_county(rated, users):
    overview = selectors.level_overview_for_user(
        user=users["city_viewer"], year=2024, county_id=rated.county_b.pk
    )
    assert [r["name"] for r in overview["rows"]] == ["乙一乡"]
    assert overview["total"]["weak_open"] == 1


def test_pending_lists_what_waits_for_each_official(rated, users):
    b = rated.branches
    applied = StarAwardFactory(branch=b["a1v2"], star_type=star("rural", "safety"), state="applied")
    rated_ = StarAwardFactory(
        branch=b["a1v2"], star_type=star("rural", "civility"), state="county_rated"
    )
    other = StarAwardFactory(branch=b["b1v2"], star_type=star("rural", "branch"), state="applied")
    assert set(selectors.pending_for_user(user=users["township_official"])) == {applied}
    county = set(selectors.pending_for_user(user=users["county_official"]))
    assert county == {rated_}
    assert other not in set(selectors.pending_for_user(user=users["county_official"]))
    assert set(selectors.pending_for_user(user=users["other_county_official"])) >= {
        StarAward.objects.get(state="publicized")
    }
    assert not selectors.pending_for_user(user=users["cadre_user"]).exists()


@pytest.mark.parametrize(
    ("who", "status", "actions"),
    [
        ("township_official", "identified", ["rectify"]),
        ("township_official", "rectifying", ["rectify"]),
        ("township_official", "accepted", []),
        ("county_official", "identified", ["rectify"]),
        ("county_official", "rectifying", ["rectify", "accept"]),
        ("county_official", "reopened", ["rectify", "accept"]),
        ("county_official", "accepted", ["reopen"]),
        ("city_admin", "accepted", ["reopen"]),
        ("city_viewer", "rectifying", []),
        ("other_county_official", "rectifying", []),
        ("cadre_user", "identified", []),
    ],
)
def test_weak_case_actions_follow_the_status_and_the_role(area, users, who, status, actions):
    case = WeakCaseFactory(
        branch=area.branches["a1v1"],
        status=status,
        accepted_on="2024-06-01" if status == "accepted" else None,
    )
    assert selectors.weak_case_actions(user=users[who], case=case) == actions
