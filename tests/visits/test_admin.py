"""双十工作日 in the Django admin: visits and problems are scoped and view-only, with their
history; the workday rule is edited by city admins only, through `workday_rule_set`.

The world is the `area` fixture (tests/conftest.py): county A (甲县: townships A1, A2) and
county B (乙县: township B1); cadres a1v1, lx_a2 (联乡 A2), b1v1 and cross (帮村 b1v2, in B).
Model permissions come from the real role groups in villages/demo.py.
"""

import datetime

import pytest
from django.utils import timezone

from tests.visits.helpers import ProblemFactory, VisitFactory
from villages.demo import role_groups
from villages.models import UserRole
from visits.models import VisitEvent, WorkdayRule

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.filterwarnings("ignore:No directory at:UserWarning"),
]


def make_staff(user, role):
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    user.groups.add(role_groups()[role])
    return user


@pytest.fixture
def county_client(client, county_official):
    make_staff(county_official, UserRole.Role.COUNTY_OFFICIAL)
    client.force_login(county_official)
    return client


@pytest.fixture
def township_client(client, township_official):
    make_staff(township_official, UserRole.Role.TOWNSHIP_OFFICIAL)
    client.force_login(township_official)
    return client


@pytest.fixture
def city_client(client, city_admin):
    make_staff(city_admin, UserRole.Role.CITY_ADMIN)
    client.force_login(city_admin)
    return client


@pytest.fixture
def visits(area, cadre_user):
    where = {"a1v1": "a1v1", "lx_a2": "a2v1", "b1v1": "b1v1", "cross": "b1v2"}
    made = {
        label: VisitFactory(cadre=area.cadres[label], village=area.villages[village])
        for label, village in where.items()
    }
    VisitEvent.objects.create(visit=made["a1v1"], action="submit", actor=cadre_user)
    return made


@pytest.fixture
def problems(area):
    return {label: ProblemFactory(village=area.villages[label]) for label in ("a1v1", "b1v1")}


def shown(response, objects: dict) -> set[str]:
    by_pk = {obj.pk: label for label, obj in objects.items()}
    return {by_pk.get(obj.pk, f"<pk {obj.pk}>") for obj in response.context["cl"].result_list}


# ----- visits -----


def test_county_official_sees_only_the_county(county_client, visits):
    county = county_client.get("/admin/visits/visit/")

    assert county.status_code == 200
    assert shown(county, visits) == {"a1v1", "lx_a2"}


def test_township_official_sees_only_the_township(township_client, visits):
    response = township_client.get("/admin/visits/visit/")

    assert shown(response, visits) == {"a1v1"}


@pytest.mark.parametrize("view", ["change", "history"])
def test_another_countys_visit_is_404(county_client, visits, view):
    response = county_client.get(f"/admin/visits/visit/{visits['b1v1'].pk}/{view}/")

    assert response.status_code == 404


@pytest.mark.parametrize("view", ["change", "history"])
def test_own_countys_visit_is_viewable_but_read_only(county_client, visits, view):
    response = county_client.get(f"/admin/visits/visit/{visits['a1v1'].pk}/{view}/")

    assert response.status_code == 200
    if view == "change":
        html = response.content.decode()
        assert 'name="_save"' not in html
        assert "提交" in html  # the review-event inline


def test_visits_cannot_be_added_changed_or_deleted_even_by_city_admin(city_client, visits):
    pk = visits["b1v1"].pk

    add = city_client.get("/admin/visits/visit/add/")
    post = city_client.post(f"/admin/visits/visit/{pk}/change/", {"notes": "改"})
    delete = city_client.post(f"/admin/visits/visit/{pk}/delete/", {"post": "yes"})

    assert add.status_code == 403
    assert post.status_code == 403
    assert delete.status_code == 403
    visits["b1v1"].refresh_from_db()
    assert visits["b1v1"].notes == ""


def test_city_admin_sees_every_visit(city_client, visits):
    response = city_client.get("/admin/visits/visit/")

    assert shown(response, visits) == {"a1v1", "lx_a2", "b1v1", "cross"}


# ----- problems -----


@pytest.mark.parametrize("view", ["change", "history"])
def test_another_countys_problem_is_404(county_client, problems, view):
    response = county_client.get(f"/admin/visits/problem/{problems['b1v1'].pk}/{view}/")

    assert response.status_code == 404


def test_problem_changelist_is_scoped(county_client, problems):
    response = county_client.get("/admin/visits/problem/")

    assert response.status_code == 200
    assert shown(response, problems) == {"a1v1"}
    assert (
        county_client.get(f"/admin/visits/problem/{problems['a1v1'].pk}/change/").status_code == 200
    )


# ----- workday rule -----


def rule_form(effective_from: datetime.date, days: int = 8) -> dict:
    return {
        "effective_from": effective_from.isoformat(),
        "period": "month",
        "required_days": days,
        "note": "试行",
        "_save": "保存",
    }


def test_city_admin_adds_a_rule_through_the_service(city_client, city_admin):
    # given
    start = timezone.localdate() + datetime.timedelta(days=30)

    # when
    response = city_client.post("/admin/visits/workdayrule/add/", rule_form(start))

    # then
    assert response.status_code == 302, response.content.decode()[:2000]
    rule = WorkdayRule.objects.get()
    assert (rule.effective_from, rule.required_days, rule.note) == (start, 8, "试行")
    assert rule.history.get().history_user == city_admin


@pytest.mark.parametrize("days", [0, -3])
def test_a_rule_from_today_or_earlier_is_refused_with_the_services_message(city_client, days):
    start = timezone.localdate() + datetime.timedelta(days=days)

    response = city_client.post("/admin/visits/workdayrule/add/", rule_form(start), follow=True)

    assert response.status_code == 200
    assert not WorkdayRule.objects.exists()
    shown = [str(m) for m in response.context["messages"]]
    assert len(shown) == 1 and "生效日期" in shown[0], shown


def test_city_admin_changes_a_future_rule_but_not_its_date(city_client):
    start = timezone.localdate() + datetime.timedelta(days=30)
    rule = WorkdayRule.objects.create(effective_from=start, period="month", required_days=10)

    response = city_client.post(
        f"/admin/visits/workdayrule/{rule.pk}/change/",
        rule_form(start + datetime.timedelta(days=5), days=12),
    )

    assert response.status_code == 302
    assert WorkdayRule.objects.count() == 1
    rule.refresh_from_db()
    assert (rule.effective_from, rule.required_days) == (start, 12)


def test_a_rule_in_force_is_read_only(city_client):
    start = datetime.date(2024, 1, 1)
    rule = WorkdayRule.objects.create(effective_from=start, period="month", required_days=10)

    change_page = city_client.get(f"/admin/visits/workdayrule/{rule.pk}/change/")
    post = city_client.post(f"/admin/visits/workdayrule/{rule.pk}/change/", rule_form(start, 5))
    delete = city_client.post(f"/admin/visits/workdayrule/{rule.pk}/delete/", {"post": "yes"})

    assert change_page.status_code == 200
    assert 'name="_save"' not in change_page.content.decode()
    assert post.status_code == 403
    assert delete.status_code == 403
    rule.refresh_from_db()
    assert rule.required_days == 10


def test_county_official_cannot_add_rules(county_client):
    start = timezone.localdate() + datetime.timedelta(days=30)

    response = county_client.post("/admin/visits/workdayrule/add/", rule_form(start))

    assert response.status_code == 403
    assert not WorkdayRule.objects.exists()
    assert county_client.get("/admin/visits/workdayrule/").status_code == 200
