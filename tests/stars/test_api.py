"""The stars API (/api/star-types/, /api/star-awards/, /api/weak-cases/): scoping per
role (out of area = 404), the workflow actions with 201/200 and Chinese refusals, and
query counts."""

import datetime

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from stars.models import StarAward, StarSettings, WeakBranchCase
from tests.factories import RosterEntryFactory, VillageFactory
from tests.stars.factories import (
    YEAR,
    StarAwardEventFactory,
    StarAwardFactory,
    WeakCaseFactory,
    hold,
    star,
)

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.filterwarnings("ignore:No directory at:UserWarning"),
]

ALL = {"a1v1", "a1v2", "a1v3", "a2v1", "a2v2", "a2v3", "b1v1", "b1v2"}
SEEN = {
    "city_admin": ALL,
    "city_viewer": ALL,
    "superuser": ALL,
    "county_official": {"a1v1", "a1v2", "a1v3", "a2v1", "a2v2", "a2v3"},
    "other_county_official": {"b1v1", "b1v2"},
    "township_official": {"a1v1", "a1v2", "a1v3"},
    "cadre_user": {"a1v1"},
    "township_cadre_user": {"a2v1", "a2v2", "a2v3"},
    "no_role_user": set(),
}


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def awards(area):
    result = {}
    for label, branch in area.branches.items():
        scheme = "urban" if label == "a2v3" else "rural"
        result[label] = StarAwardFactory(branch=branch, star_type=star(scheme, "branch"))
    return result


@pytest.mark.parametrize("who", sorted(SEEN))
def test_awards_are_listed_within_the_users_area(users, area, awards, who):
    response = api(users[who]).get("/api/star-awards/", {"page_size": 100})
    assert response.status_code == 200
    names = {r["branch_name"].removesuffix("村党支部") for r in response.json()["results"]}
    assert names == SEEN[who]
    for label, award in awards.items():
        status = api(users[who]).get(f"/api/star-awards/{award.pk}/").status_code
        assert status == (200 if label in SEEN[who] else 404)


def test_anonymous_gets_nothing(area, awards):
    assert APIClient().get("/api/star-awards/").status_code in (401, 403)


def test_star_types_list_both_schemes_with_their_tasks(users, area):
    data = api(users["cadre_user"]).get("/api/star-types/").json()
    assert len(data) == 10
    assert {d["name"] for d in data if d["scheme"] == "urban"} == {
        "支部过硬星",
        "宜业兴业星",
        "共建共享星",
        "平安法治星",
        "幸福和谐星",
    }
    assert all(d["tasks"] for d in data)
    assert sum(d["is_foundation"] for d in data) == 2


def test_the_workflow_over_the_api(users, area):
    StarSettings.objects.update_or_create(pk=1, defaults={"publicity_days": 0})
    township, county = api(users["township_official"]), api(users["county_official"])
    body = {
        "branch": area.branches["a1v1"].pk,
        "year": YEAR,
        "star_type": star("rural", "branch").pk,
    }
    created = township.post("/api/star-awards/", body, format="json")
    assert created.status_code == 201, created.json()
    award_id = created.json()["id"]
    assert created.json()["actions"] == ["township_review", "reject"]
    assert township.post("/api/star-awards/", body, format="json").status_code == 400

    refused = township.post(f"/api/star-awards/{award_id}/county-rate/", {}, format="json")
    assert refused.status_code == 403
    out_of_order = county.post(f"/api/star-awards/{award_id}/award/", {}, format="json")
    assert out_of_order.status_code == 400 and "不能进行" in str(out_of_order.json())

    assert (
        township.post(
            f"/api/star-awards/{award_id}/township-review/", {}, format="json"
        ).status_code
        == 200
    )
    assert (
        county.post(
            f"/api/star-awards/{award_id}/county-rate/", {"comment": "同意"}, format="json"
        ).status_code
        == 200
    )
    published = county.post(f"/api/star-awards/{award_id}/publicize/", {}, format="json")
    assert published.json()["state"] == "publicized"
    done = county.post(f"/api/star-awards/{award_id}/award/", {}, format="json")
    assert done.status_code == 200 and done.json()["state"] == "awarded"
    assert [e["step"] for e in done.json()["events"]] == [
        "apply",
        "township_review",
        "county_rate",
        "publicize",
        "award",
    ]
    other = api(users["other_county_official"])
    assert (
        other.post(
            f"/api/star-awards/{award_id}/withdraw/", {"reason": "x"}, format="json"
        ).status_code
        == 404
    )
    no_reason = county.post(f"/api/star-awards/{award_id}/withdraw/", {"reason": ""}, format="json")
    assert no_reason.status_code == 400 and "原因" in str(no_reason.json())
    gone = api(users["city_admin"]).post(
        f"/api/star-awards/{award_id}/withdraw/", {"reason": "发生事故"}, format="json"
    )
    assert gone.json()["state"] == "withdrawn"


def test_applying_for_a_branch_outside_the_area_is_refused_without_revealing_it(users, area):
    body = {
        "branch": area.branches["b1v1"].pk,
        "year": YEAR,
        "star_type": star("rural", "branch").pk,
    }
    response = api(users["township_official"]).post("/api/star-awards/", body, format="json")
    assert response.status_code == 400
    assert "不在您的管辖范围内" in str(response.json()["branch"])
    assert not StarAward.objects.exists()


def test_foundation_refusal_over_the_api(users, area):
    award = StarAwardFactory(
        branch=area.branches["a1v1"],
        star_type=star("rural", "industry"),
        state="publicized",
        publicity_start=timezone.localdate() - datetime.timedelta(days=6),
        publicity_end=timezone.localdate() - datetime.timedelta(days=1),
    )
    response = api(users["county_official"]).post(
        f"/api/star-awards/{award.pk}/award/", {}, format="json"
    )
    assert response.status_code == 400 and "支部过硬星" in str(response.json())


def test_filters(users, area):
    for label in ("a1v1", "a1v2", "a1v3", "a2v1"):
        hold(area.branches[label], "branch", "industry")
    admin = api(users["city_admin"])
    response = admin.get("/api/star-awards/", {"star_type": star("rural", "industry").pk})
    assert response.json()["count"] == 4
    assert admin.get("/api/star-awards/", {"state": "applied"}).json()["count"] == 0
    bad = api(users["township_official"]).get(
        "/api/star-awards/", {"branch": area.branches["b1v1"].pk}
    )
    assert bad.status_code == 400


@pytest.mark.parametrize("n", [3, 30])
def test_list_queries_do_not_grow_with_rows(users, area, django_assert_max_num_queries, n):
    # the same bound at 3 and at 30 villages with awards (with their steps) and cases
    for _ in range(n):
        entry = RosterEntryFactory(
            roster=area.roster, village=VillageFactory(township=area.townships["A1"])
        )
        for award in hold(entry.branch, "branch", "industry"):
            StarAwardEventFactory(award=award, actor=users["county_official"])
        WeakCaseFactory(branch=entry.branch)
    for who in ("city_admin", "county_official", "township_official"):
        client = api(users[who])
        with django_assert_max_num_queries(8):
            awards = client.get("/api/star-awards/", {"page_size": 100})
        assert awards.json()["count"] == 2 * n
        assert all(r["events"] and "actions" in r for r in awards.json()["results"])
        with django_assert_max_num_queries(8):
            cases = client.get("/api/weak-cases/", {"page_size": 100})
        assert cases.json()["count"] == n


def test_weak_cases_over_the_api(users, area):
    county = api(users["county_official"])
    created = county.post(
        "/api/weak-cases/",
        {
            "branch": area.branches["a2v1"].pk,
            "year": YEAR,
            "identified_on": f"{YEAR}-03-01",
            "reasons": ["secretary_unfit"],
        },
        format="json",
    )
    assert created.status_code == 201, created.json()
    case_id = created.json()["id"]
    assert created.json()["reason_labels"] == ["书记不胜任现职、工作不在状态"]
    assert api(users["other_county_official"]).get(f"/api/weak-cases/{case_id}/").status_code == 404
    assert api(users["township_official"]).get(f"/api/weak-cases/{case_id}/").status_code == 404
    early = county.post(
        f"/api/weak-cases/{case_id}/accept/", {"accepted_on": f"{YEAR}-06-01"}, format="json"
    )
    assert early.status_code == 400
    county.post(
        f"/api/weak-cases/{case_id}/rectify/",
        {"plan": "调整书记", "responsible_leader": "王", "first_secretary": "李"},
        format="json",
    )
    accepted = county.post(
        f"/api/weak-cases/{case_id}/accept/", {"accepted_on": f"{YEAR}-06-01"}, format="json"
    )
    assert accepted.json()["status"] == "accepted"
    reopened = county.post(f"/api/weak-cases/{case_id}/reopen/", {"reason": "反弹"}, format="json")
    assert reopened.json()["status"] == "reopened"
    WeakCaseFactory(branch=area.branches["b1v1"])
    listing = api(users["city_viewer"]).get("/api/weak-cases/", {"open": "true"}).json()
    assert listing["count"] == 2
    assert WeakBranchCase.objects.count() == 2
    viewer = api(users["city_viewer"]).post(
        f"/api/weak-cases/{case_id}/accept/", {"accepted_on": f"{YEAR}-07-01"}, format="json"
    )
    assert viewer.status_code == 403


def test_the_schema_lists_the_workflow_actions(users):
    schema = api(users["city_admin"]).get("/api/schema/").content.decode()
    for path in (
        "/api/star-awards/{id}/township-review/",
        "/api/star-awards/{id}/county-rate/",
        "/api/star-awards/{id}/publicize/",
        "/api/star-awards/{id}/award/",
        "/api/star-awards/{id}/withdraw/",
        "/api/weak-cases/{id}/accept/",
    ):
        assert path in schema


def test_weak_case_actions_outside_the_area_are_404(users, area):
    case = WeakCaseFactory(
        branch=area.branches["b1v1"], status="rectifying", rectification_plan="x"
    )
    for who in ("county_official", "township_official", "cadre_user"):
        client = api(users[who])
        for action, body in (
            ("rectify", {"plan": "x", "responsible_leader": "y", "first_secretary": "z"}),
            ("accept", {"accepted_on": f"{YEAR}-05-01"}),
            ("reopen", {"reason": "x"}),
        ):
            assert (
                client.post(f"/api/weak-cases/{case.pk}/{action}/", body, format="json").status_code
                == 404
            )
    case.refresh_from_db()
    assert case.status == "rectifying"


def test_scoped_figures_for_the_users_own_area(users, area):
    from stars import selectors

    hold(area.branches["a1v1"], "branch", "industry", "ecology")
    WeakCaseFactory(branch=area.branches["a1v2"])
    township = users["township_official"]
    assert selectors.branches_rated_for_user(user=township, year=YEAR) == (1, 3)
    assert selectors.weak_branch_open_for_user(user=township, year=YEAR) == (1, 1)
    assert selectors.level_distribution_for_user(user=township, year=YEAR)[3] == 1
    assert selectors.five_star_count_for_user(user=users["other_county_official"], year=YEAR) == (
        0,
        2,
    )


@pytest.mark.parametrize(
    ("action", "body"),
    [
        ("township-review", {}),
        ("county-rate", {}),
        ("publicize", {}),
        ("award", {}),
        ("reject", {"comment": "x"}),
        ("withdraw", {"reason": "x"}),
    ],
)
def test_award_actions_outside_the_area_are_404(users, area, action, body):
    award = StarAwardFactory(branch=area.branches["b1v1"], state="applied")
    for who in ("county_official", "township_official", "cadre_user", "no_role_user"):
        response = api(users[who]).post(
            f"/api/star-awards/{award.pk}/{action}/", body, format="json"
        )
        assert response.status_code == 404, who
        assert "不在您的管辖范围内" in str(response.json())
    award.refresh_from_db()
    assert award.state == "applied" and not award.events.exists()
