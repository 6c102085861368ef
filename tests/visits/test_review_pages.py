"""The officials' side of 双十工作日 through the Django test client: the review list, the
approve / return actions and the review form on a visit's page, and the workday
compliance page with its rule form.

The world is the `area` fixture (tests/conftest.py): county A (甲县) with townships A1
(甲一镇: a1v1, a1v2, a1v3) and A2 (甲二街道: a2v1, a2v2, a2v3); county B (乙县) with B1
(乙一乡: b1v1, b1v2). 2024 cadres: 甲一干部 帮村 a1v1 (login `cadre_user`), 联乡干部 联乡
A2 (login `township_cadre_user`), 乙一干部 帮村 b1v1, 跨县干部 (county-A unit) 帮村 b1v2.
Visits are written through `visits.services`, on days of 2024.
"""

import datetime
import re
import uuid
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from playwright.sync_api import expect

from tests.browser_helpers import sign_in, watch_csp
from tests.factories import AssignmentFactory, CadreFactory, UserFactory, UserRoleFactory
from visits.models import Visit, WorkdayRule
from visits.services import visit_approve, visit_create, visit_return, visit_update

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.filterwarnings("ignore:No directory at:UserWarning"),
]

D = datetime.date
MAY = [D(2024, 5, d) for d in range(2, 31)]
NOT_FOUND_TEXT = "页面或记录不存在"
FORBIDDEN_TEXT = "无权访问"


# ----- helpers -----


def login_for(cadre):
    """A cadre-role login for a cadre of the `area` world that has none yet."""
    if cadre.user_id:
        return cadre.user
    user = UserFactory(username=f"cadre_{cadre.pk}")
    UserRoleFactory(user=user, role="cadre")
    cadre.user = user
    cadre.save(update_fields=["user"])
    return user


def log(user, village, day, part="full", **fields):
    visit, created = visit_create(
        actor=user,
        client_uuid=uuid.uuid4(),
        village=village,
        date=day,
        day_part=part,
        activities=fields.pop("activities", ["household", "meeting"]),
        **fields,
    )
    assert created
    return visit


@pytest.fixture
def client_as(users, client):
    def _as(who):
        if who != "anonymous":
            client.force_login(users[who])
        return client

    return _as


@pytest.fixture
def visits(area, users):
    """One submitted visit per cadre: a1 (甲一干部 at a1v1), a2 (联乡干部 at a2v2),
    b1 (乙一干部 at b1v1), cross (跨县干部 at b1v2)."""
    return {
        "a1": log(users["cadre_user"], area.villages["a1v1"], D(2024, 5, 6)),
        "a2": log(users["township_cadre_user"], area.villages["a2v2"], D(2024, 5, 7)),
        "b1": log(login_for(area.cadres["b1v1"]), area.villages["b1v1"], D(2024, 5, 8)),
        "cross": log(login_for(area.cadres["cross"]), area.villages["b1v2"], D(2024, 5, 9)),
    }


@pytest.fixture
def today_is(monkeypatch):
    """Pretend today is `day` (10:00 in 许昌) for every `timezone.now()` / `localdate()`."""

    def _set(day):
        fixed = datetime.datetime.combine(
            day, datetime.time(10, 0), tzinfo=ZoneInfo("Asia/Shanghai")
        )
        monkeypatch.setattr(timezone, "now", lambda: fixed)

    return _set


def listed_visit_ids(response) -> set[int]:
    return {int(pk) for pk in re.findall(r'href="/visits/(\d+)/"', response.content.decode())}


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []


# ----- the review list -----


@pytest.mark.parametrize(
    "who, status",
    [
        ("township_official", 200),
        ("county_official", 200),
        ("other_county_official", 200),
        ("city_admin", 200),
        ("superuser", 200),
        ("city_viewer", 403),
        ("cadre_user", 403),
        ("no_role_user", 403),
    ],
)
def test_review_list_is_for_reviewers_only(client_as, area, who, status):
    response = client_as(who).get("/visits/review/")

    assert response.status_code == status
    if status == 403:
        assert FORBIDDEN_TEXT in response.content.decode()
    else:
        assert "下沉审核" in response.content.decode()


def test_review_list_sends_anonymous_visitors_to_login(client, area):
    response = client.get("/visits/review/")

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize(
    "who, expected",
    [
        ("township_official", {"a1"}),
        ("county_official", {"a1", "a2"}),
        ("other_county_official", {"b1", "cross"}),
        ("city_admin", {"a1", "a2", "b1", "cross"}),
    ],
)
def test_review_list_shows_the_visits_of_the_users_area_only(client_as, visits, who, expected):
    response = client_as(who).get("/visits/review/")

    assert listed_visit_ids(response) == {visits[k].pk for k in expected}


def test_review_list_rows_show_cadre_village_date_day_part_activities_and_counts(
    client_as, area, users
):
    log(
        users["cadre_user"],
        area.villages["a1v1"],
        D(2024, 5, 6),
        part="half",
        activities=["policy", "mediation"],
        meetings=2,
        people_reached=35,
        households_visited=12,
    )

    html = client_as("township_official").get("/visits/review/").content.decode()

    for text in ("甲一干部", "甲县测试局", "a1v1村", "2024-05-06", "半天", "政策宣讲、矛盾调解"):
        assert text in html
    assert "2 / 35 / 12" in html
    assert "待审核" in html


def test_review_list_defaults_to_submitted_and_filters_by_state(client_as, area, users, visits):
    # given: a1 approved, a2 returned
    official = users["county_official"]
    visit_approve(actor=official, visit=visits["a1"])
    visit_return(actor=official, visit=visits["a2"], comment="请补充走访情况")
    extra = log(users["cadre_user"], area.villages["a1v1"], D(2024, 5, 10))
    client = client_as("county_official")

    # when
    default = client.get("/visits/review/")
    approved = client.get("/visits/review/?state=approved")
    returned = client.get("/visits/review/?state=returned")
    every = client.get("/visits/review/?state=")

    # then
    assert listed_visit_ids(default) == {extra.pk}
    assert listed_visit_ids(approved) == {visits["a1"].pk}
    assert listed_visit_ids(returned) == {visits["a2"].pk}
    assert listed_visit_ids(every) == {extra.pk, visits["a1"].pk, visits["a2"].pk}


def test_review_list_filters_by_township_month_and_location_flag(client_as, area, users, visits):
    # given: a1v1 has coordinates; a visit logged 30 km away is flagged
    village = area.villages["a1v1"]
    village.latitude, village.longitude = Decimal("34.0"), Decimal("113.8")
    village.save(update_fields=["latitude", "longitude"])
    far = log(
        users["cadre_user"],
        village,
        D(2024, 6, 3),
        latitude=Decimal("34.3"),
        longitude=Decimal("113.8"),
    )
    near = log(
        users["cadre_user"],
        village,
        D(2024, 6, 4),
        latitude=Decimal("34.001"),
        longitude=Decimal("113.8"),
    )
    client = client_as("county_official")
    a1 = area.townships["A1"].pk

    # when / then
    assert far.location_flag and not near.location_flag
    assert listed_visit_ids(client.get(f"/visits/review/?township={a1}")) == {
        visits["a1"].pk,
        far.pk,
        near.pk,
    }
    assert listed_visit_ids(client.get("/visits/review/?month=2024-06")) == {far.pk, near.pk}
    assert listed_visit_ids(client.get("/visits/review/?month=2024-05")) == {
        visits["a1"].pk,
        visits["a2"].pk,
    }
    assert listed_visit_ids(client.get("/visits/review/?flagged=true")) == {far.pk}


@pytest.mark.parametrize(
    "query", ["township={b1}", "township=abc", "month=2024-13", "month=五月", "state=done"]
)
def test_review_list_with_bad_or_out_of_area_filter_is_empty_with_a_message(
    client_as, area, visits, query
):
    response = client_as("county_official").get(
        "/visits/review/?" + query.format(b1=area.townships["B1"].pk)
    )

    assert response.status_code == 200
    assert listed_visit_ids(response) == set()
    assert "筛选条件无效" in response.content.decode()


def test_review_list_township_options_are_the_users_area_only(client_as, area):
    html = client_as("county_official").get("/visits/review/").content.decode()
    select = re.search(r'<select[^>]*name="township"[^>]*>(.*?)</select>', html, re.S).group(1)

    assert set(re.findall(r'<option value="(\d+)"', select)) == {
        str(area.townships["A1"].pk),
        str(area.townships["A2"].pk),
    }


def test_review_list_htmx_request_gets_the_table_only(client_as, visits):
    response = client_as("county_official").get(
        "/visits/review/?state=submitted", headers={"HX-Request": "true"}
    )

    html = response.content.decode()
    assert "<html" not in html
    assert "review-table" in html


def test_review_list_paginates_by_50_and_keeps_the_filters(client_as, area, users):
    cadre = users["cadre_user"]
    for month in range(1, 12):
        for day in range(1, 5):
            log(cadre, area.villages["a1v1"], D(2024, month, day + 10))
    log(cadre, area.villages["a1v1"], D(2024, 12, 1))  # 45 visits in all
    for day in range(2, 9):
        log(users["township_cadre_user"], area.villages["a2v2"], D(2024, 12, day))  # 52
    client = client_as("county_official")

    page_one = client.get("/visits/review/?state=submitted")
    page_two = client.get("/visits/review/?state=submitted&page=2")
    january = client.get("/visits/review/?month=2024-01")

    assert len(listed_visit_ids(page_one)) == 50
    assert "第 1 / 2 页" in page_one.content.decode()
    assert 'href="?state=submitted&amp;page=2"' in page_one.content.decode()
    assert len(listed_visit_ids(page_two)) == 2
    assert len(listed_visit_ids(january)) == 4
    assert "第 1 / 2 页" not in january.content.decode()


def test_review_list_query_count_does_not_grow_with_the_rows(client_as, area, users):
    client = client_as("county_official")
    cadre, lx = users["cadre_user"], users["township_cadre_user"]

    def count_queries():
        with CaptureQueriesContext(connection) as ctx:
            response = client.get("/visits/review/")
        assert response.status_code == 200
        return len(ctx.captured_queries)

    for day in MAY[:3]:
        log(cadre, area.villages["a1v1"], day)
    count_queries()  # the first request also loads the login (then cached, with Redis)
    small = count_queries()
    newcomer = CadreFactory(name="新干部", work_unit=area.units["city"])
    AssignmentFactory(cadre=newcomer, village=area.villages["a1v2"])
    for i, day in enumerate(MAY[3:20]):
        log(cadre, area.villages["a1v1"], day)
        log(lx, area.villages[f"a2v{i % 3 + 1}"], day, part="half")
        log(login_for(newcomer), area.villages["a1v2"], day)
    large = count_queries()

    assert small == large


# ----- approve, return, bulk approve -----


def test_review_form_on_the_visit_page_is_for_the_areas_reviewers_only(client_as, visits):
    url = f"/visits/{visits['a1'].pk}/"

    official = client_as("township_official").get(url).content.decode()
    assert f'action="/visits/{visits["a1"].pk}/approve/"' in official
    assert f'action="/visits/{visits["a1"].pk}/return/"' in official
    assert "审核通过" in official and "退回原因" in official


@pytest.mark.parametrize("who", ["cadre_user", "city_viewer"])
def test_review_form_is_not_shown_to_non_reviewers(client_as, visits, who):
    html = client_as(who).get(f"/visits/{visits['a1'].pk}/").content.decode()

    assert "/approve/" not in html
    assert "/return/" not in html


def test_approve_redirects_to_the_visit_with_a_chinese_message(client_as, visits):
    visit = visits["a1"]

    response = client_as("township_official").post(f"/visits/{visit.pk}/approve/", follow=True)

    visit.refresh_from_db()
    assert visit.state == Visit.State.APPROVED
    assert response.redirect_chain[-1][0] == f"/visits/{visit.pk}/"
    assert "已审核通过。" in messages_of(response)
    assert "已审核通过" in response.content.decode()


def test_return_needs_a_comment(client_as, visits):
    visit = visits["a1"]

    response = client_as("county_official").post(
        f"/visits/{visit.pk}/return/", {"comment": "  "}, follow=True
    )

    visit.refresh_from_db()
    assert visit.state == Visit.State.SUBMITTED
    assert "退回时请写明原因。" in messages_of(response)


def test_review_flow_return_resubmit_approve(client_as, users, visits):
    # given
    visit = visits["a1"]
    client = client_as("township_official")

    # when: returned with a comment
    client.post(f"/visits/{visit.pk}/return/", {"comment": "照片不清楚，请补充"})
    visit.refresh_from_db()
    # then
    assert visit.state == Visit.State.RETURNED
    assert visit.review_comment == "照片不清楚，请补充"
    returned_page = client_as("cadre_user").get(f"/visits/{visit.pk}/").content.decode()
    assert "照片不清楚，请补充" in returned_page

    # when: the cadre edits it (resubmits)
    visit_update(actor=users["cadre_user"], visit=visit, notes="补充了入户情况")
    visit.refresh_from_db()
    # then: back in the reviewers' queue
    assert visit.state == Visit.State.SUBMITTED
    queue = client_as("township_official").get("/visits/review/")
    assert visit.pk in listed_visit_ids(queue)

    # when: approved
    response = client.post(f"/visits/{visit.pk}/approve/", follow=True)
    visit.refresh_from_db()
    # then
    assert visit.state == Visit.State.APPROVED
    actions = list(visit.events.values_list("action", flat=True))
    assert actions == ["submit", "return", "resubmit", "approve"]
    assert "已审核通过。" in messages_of(response)


def test_an_approved_visit_cannot_be_returned(client_as, visits):
    visit = visits["a1"]
    client = client_as("county_official")
    client.post(f"/visits/{visit.pk}/approve/")

    response = client.post(f"/visits/{visit.pk}/return/", {"comment": "再看看"}, follow=True)

    visit.refresh_from_db()
    assert visit.state == Visit.State.APPROVED
    assert "该记录当前为“已通过”，不能审核。" in messages_of(response)
    assert "请先审核" not in response.content.decode()


@pytest.mark.parametrize(
    "who, key",
    [
        ("other_county_official", "a1"),
        ("township_official", "a2"),
        ("township_official", "b1"),
        ("county_official", "cross"),
        ("township_cadre_user", "a1"),
    ],
)
@pytest.mark.parametrize("action", ["approve", "return"])
def test_approve_and_return_of_another_areas_visit_is_404(client_as, visits, who, key, action):
    visit = visits[key]

    response = client_as(who).post(f"/visits/{visit.pk}/{action}/", {"comment": "不行"})

    visit.refresh_from_db()
    assert response.status_code == 404
    assert NOT_FOUND_TEXT in response.content.decode()
    assert visit.state == Visit.State.SUBMITTED


@pytest.mark.parametrize("who", ["city_viewer", "cadre_user"])
def test_approve_by_someone_who_sees_but_may_not_review_is_403(client_as, visits, who):
    visit = visits["a1"]

    response = client_as(who).post(f"/visits/{visit.pk}/approve/")

    visit.refresh_from_db()
    assert response.status_code == 403
    assert visit.state == Visit.State.SUBMITTED


def test_approve_and_return_answer_only_post(client_as, visits):
    client = client_as("county_official")

    assert client.get(f"/visits/{visits['a1'].pk}/approve/").status_code == 405
    assert client.get(f"/visits/{visits['a1'].pk}/return/").status_code == 405


def test_anonymous_approve_goes_to_login(client, visits):
    response = client.post(f"/visits/{visits['a1'].pk}/approve/")

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    visits["a1"].refresh_from_db()
    assert visits["a1"].state == Visit.State.SUBMITTED


def test_bulk_approve_approves_only_the_users_submitted_visits(client_as, area, users, visits):
    # given: one more A1 visit already returned
    returned = log(users["cadre_user"], area.villages["a1v1"], D(2024, 5, 20))
    visit_return(actor=users["county_official"], visit=returned, comment="缺少照片")
    chosen = [visits["a1"].pk, visits["a2"].pk, visits["b1"].pk, returned.pk]

    # when
    response = client_as("county_official").post(
        "/visits/review/approve/", {"visit": chosen, "next": "/visits/review/"}, follow=True
    )

    # then
    states = dict(Visit.objects.values_list("pk", "state"))
    assert states[visits["a1"].pk] == states[visits["a2"].pk] == Visit.State.APPROVED
    assert states[visits["b1"].pk] == Visit.State.SUBMITTED
    assert states[returned.pk] == Visit.State.RETURNED
    assert response.redirect_chain[-1][0] == "/visits/review/"
    assert "已审核通过 2 条下沉记录。" in messages_of(response)
    assert any("2 条记录未能审核" in m for m in messages_of(response))


def test_bulk_approve_ignores_a_foreign_next_url(client_as, visits):
    response = client_as("county_official").post(
        "/visits/review/approve/", {"visit": [visits["a1"].pk], "next": "https://evil.example/"}
    )

    assert response["Location"] == "/visits/review/"


@pytest.mark.parametrize("who", ["city_viewer", "cadre_user"])
def test_bulk_approve_is_for_reviewers_only(client_as, visits, who):
    response = client_as(who).post("/visits/review/approve/", {"visit": [visits["a1"].pk]})

    assert response.status_code == 403
    visits["a1"].refresh_from_db()
    assert visits["a1"].state == Visit.State.SUBMITTED


# ----- workday compliance -----


@pytest.mark.parametrize(
    "who, status",
    [
        ("township_official", 200),
        ("county_official", 200),
        ("other_county_official", 200),
        ("city_admin", 200),
        ("city_viewer", 200),
        ("superuser", 200),
        ("cadre_user", 403),
        ("township_cadre_user", 403),
        ("no_role_user", 403),
    ],
)
def test_compliance_page_roles(client_as, area, who, status):
    response = client_as(who).get("/visits/compliance/")

    assert response.status_code == status
    if status == 200:
        assert "双十工作日达标情况" in response.content.decode()


def test_compliance_page_sends_anonymous_visitors_to_login(client, area):
    response = client.get("/visits/compliance/")

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


@pytest.fixture
def may_days(area, users):
    """May 2024: 甲一干部 on 8 distinct full days plus two half days on a 9th date (9 days,
    below the rule); 联乡干部 on 10 days (met); 乙一干部 on 3 days; 跨县干部 none."""
    cadre = users["cadre_user"]
    for day in MAY[:8]:
        log(cadre, area.villages["a1v1"], day)
    log(cadre, area.villages["a1v1"], MAY[8], part="half")
    log(cadre, area.villages["a1v1"], MAY[8], part="half")
    for day in MAY[:10]:
        log(users["township_cadre_user"], area.villages["a2v1"], day)
    for day in MAY[:3]:
        log(login_for(area.cadres["b1v1"]), area.villages["b1v1"], day)


def below_rows(response) -> dict[str, str]:
    """Names in the 按乡镇 below-rule table with their "days / required" text."""
    html = response.content.decode()
    if 'id="below-township"' not in html:
        return {}
    pane = html.split('id="below-township"', 1)[1].split('id="below-unit"', 1)[0]
    return dict(re.findall(r"<tr><td>([^<]+)</td>.*?(\d+ / \d+) 天</td>", pane, re.S))


def test_compliance_counts_distinct_days_and_judges_by_the_rule(client_as, may_days):
    response = client_as("county_official").get("/visits/compliance/?day=2024-05-01")

    ctx = response.context
    assert ctx["result"]["label"] == "2024年5月"
    assert ctx["result"]["total"] == 2
    assert ctx["result"]["met"] == 1
    assert below_rows(response) == {"甲一干部": "9 / 10"}
    html = response.content.decode()
    assert "每月 10 天" in html
    assert "50.0%" in html


def test_compliance_for_the_city_counts_every_cadre(client_as, may_days):
    response = client_as("city_viewer").get("/visits/compliance/?day=2024-05-15")

    result = response.context["result"]
    assert (result["met"], result["total"]) == (1, 4)
    assert below_rows(response) == {
        "甲一干部": "9 / 10",
        "乙一干部": "3 / 10",
        "跨县干部": "0 / 10",
    }
    chart = response.context["chart"]
    assert set(chart["labels"]) == {"甲县 甲一镇", "甲县 甲二街道", "乙县 乙一乡"}
    assert 'data-chart="stacked_rate"' in response.content.decode()


def test_compliance_for_a_township_official_counts_their_township_only(client_as, may_days):
    response = client_as("township_official").get("/visits/compliance/?day=2024-05")

    assert response.context["result"]["total"] == 1
    assert below_rows(response) == {"甲一干部": "9 / 10"}


def test_compliance_groups_the_below_rule_cadres_by_work_unit(client_as, may_days):
    html = client_as("city_admin").get("/visits/compliance/?day=2024-05-01").content.decode()
    pane = html.split('id="below-unit"', 1)[1]

    assert "甲县测试局 <span" in pane and "· 2 人" in pane
    assert "乙县测试局 <span" in pane and "· 1 人" in pane


def test_one_more_day_meets_the_rule(client_as, area, users, may_days):
    log(users["cadre_user"], area.villages["a1v1"], MAY[20])

    response = client_as("county_official").get("/visits/compliance/?day=2024-05-01")

    assert response.context["result"]["met"] == 2
    assert below_rows(response) == {}
    assert "全部达标" in response.content.decode()


@pytest.mark.parametrize("day", ["2024-13-01", "abc", "2999-01-01"])
def test_compliance_with_a_bad_day_falls_back_to_the_current_period_with_a_message(
    client_as, area, day
):
    response = client_as("county_official").get(f"/visits/compliance/?day={day}")

    assert response.status_code == 200
    assert "已显示本期情况" in response.content.decode()
    # the period pages open on: today's, or the last worked one once the work year is over
    from visits.selectors import reference_day

    assert response.context["day"] == reference_day().replace(day=1)


def test_compliance_opens_on_the_last_worked_period_after_the_work_year(client_as, area):
    # given: the area's assignments ended before today (the demo's 2023 year seen in 2026)
    from villages.models import Assignment
    from visits.selectors import reference_day

    last_day = Assignment.objects.order_by("-end_date").values_list("end_date", flat=True).first()
    if last_day >= timezone.localdate():
        pytest.skip("the fixture's assignments still cover today")

    # when
    response = client_as("county_official").get("/visits/compliance/")

    # then
    assert reference_day() == last_day
    assert response.context["day"] == last_day.replace(day=1)


def test_compliance_offers_the_recent_periods(client_as, area, today_is):
    today_is(D(2024, 5, 20))

    html = client_as("county_official").get("/visits/compliance/").content.decode()

    for label in ("2024年5月", "2024年4月", "2023年12月"):
        assert label in html
    assert 'href="?day=2024-04-01"' in html


def test_rule_form_is_shown_to_city_admins_only(client_as, area):
    assert 'action="/visits/compliance/rule/"' in (
        client_as("city_admin").get("/visits/compliance/").content.decode()
    )
    for who in ("city_viewer", "county_official", "township_official"):
        html = client_as(who).get("/visits/compliance/").content.decode()
        assert "/visits/compliance/rule/" not in html


def test_a_rule_change_effective_next_month_does_not_rejudge_this_month(
    client_as, area, users, today_is
):
    # given: today is 20 May 2024 and 甲一干部 has worked 9 days in May
    today_is(D(2024, 5, 20))
    for day in MAY[:9]:
        log(users["cadre_user"], area.villages["a1v1"], day)
    client = client_as("city_admin")

    # when: the city admin sets 8 days a month from 1 June
    response = client.post(
        "/visits/compliance/rule/",
        {"required_days": 8, "period": "month", "effective_from": "2024-06-01", "note": "试行"},
        follow=True,
    )

    # then: saved, May still judged by 10 days
    assert "已设置：自 2024年6月1日 起每月 8 天。" in messages_of(response)
    rule = WorkdayRule.objects.get()
    assert (rule.required_days, rule.period, rule.effective_from) == (8, "month", D(2024, 6, 1))
    may = client.get("/visits/compliance/?day=2024-05-01")
    assert may.context["rule"].required_days == 10
    assert below_rows(may)["甲一干部"] == "9 / 10"
    assert "待生效" in may.content.decode()

    # when: June comes and the cadre works 8 days
    today_is(D(2024, 6, 28))
    for day in range(3, 11):
        log(users["cadre_user"], area.villages["a1v1"], D(2024, 6, day))
    client = client_as("city_admin")  # the May session has expired by late June
    june = client.get("/visits/compliance/?day=2024-06-01")
    may_again = client.get("/visits/compliance/?day=2024-05-01")

    # then: June is judged by 8 days, May still by 10
    assert june.context["rule"].required_days == 8
    assert "甲一干部" not in below_rows(june)
    assert below_rows(may_again)["甲一干部"] == "9 / 10"


@pytest.mark.parametrize("effective_from", ["2024-05-01", "2024-05-20"])
def test_rule_form_refuses_a_past_or_todays_effective_date(
    client_as, area, today_is, effective_from
):
    today_is(D(2024, 5, 20))

    response = client_as("city_admin").post(
        "/visits/compliance/rule/",
        {"required_days": 8, "period": "month", "effective_from": effective_from},
    )

    assert response.status_code == 200
    assert "生效日期须晚于今天" in response.content.decode()
    assert not WorkdayRule.objects.exists()


@pytest.mark.parametrize(
    "data, message",
    [
        ({"required_days": 0, "period": "month", "effective_from": "2024-06-01"}, "1"),
        ({"required_days": 8, "period": "year", "effective_from": "2024-06-01"}, "year"),
        ({"required_days": 8, "period": "month", "effective_from": ""}, "该字段是必填项。"),
    ],
)
def test_rule_form_refuses_bad_input_in_chinese(client_as, area, today_is, data, message):
    today_is(D(2024, 5, 20))

    response = client_as("city_admin").post("/visits/compliance/rule/", data)

    assert response.status_code == 200
    assert message in response.content.decode()
    assert "is-invalid" in response.content.decode()
    assert not WorkdayRule.objects.exists()


@pytest.mark.parametrize("who", ["county_official", "city_viewer", "cadre_user"])
def test_only_city_admins_may_change_the_rule(client_as, area, who):
    response = client_as(who).post(
        "/visits/compliance/rule/",
        {"required_days": 5, "period": "month", "effective_from": "2999-01-01"},
    )

    assert response.status_code == 403
    assert not WorkdayRule.objects.exists()


def test_compliance_page_has_an_export_button_for_the_period(client_as, may_days):
    html = client_as("county_official").get("/visits/compliance/?day=2024-05-17").content.decode()

    form = re.search(
        r'<form method="post" action="/exports/new/compliance/">(.*?)</form>', html, re.S
    )
    assert form
    assert 'name="day" value="2024-05-01"' in form.group(1)


# ----- navigation -----


@pytest.mark.parametrize(
    "who, links",
    [
        ("township_official", {"/visits/review/", "/visits/compliance/", "/problems/"}),
        ("city_admin", {"/visits/review/", "/visits/compliance/", "/problems/"}),
        ("city_viewer", {"/visits/compliance/", "/problems/"}),
        ("cadre_user", {"/problems/"}),
    ],
)
def test_navbar_links_only_the_pages_the_role_can_use(client_as, area, who, links):
    html = client_as(who).get("/villages/").content.decode()
    nav = html.split("</nav>", 1)[0]

    found = {
        href
        for href in ("/visits/review/", "/visits/compliance/", "/problems/")
        if f'href="{href}"' in nav
    }
    assert found == links


@pytest.mark.parametrize(
    "who, review_link",
    [("county_official", True), ("city_admin", True), ("city_viewer", False)],
)
def test_officials_home_links_the_review_compliance_and_problem_pages(
    client_as, area, who, review_link
):
    html = client_as(who).get("/").content.decode()
    links = html.split('class="card-body d-flex flex-wrap gap-2 official-links"', 1)[1]
    links = links.split("</div>", 1)[0]

    assert ('href="/visits/review/"' in links) is review_link
    assert 'href="/visits/compliance/"' in links
    assert 'href="/problems/"' in links
    assert 'href="/problems/?overdue=true"' in links


# ----- in a real browser -----

PASSWORD = "test-pass-123"  # tests.factories.UserFactory


@pytest.mark.browser
def test_compliance_and_review_in_a_browser(
    live_server, page, browser, browser_context_args, users, may_days, screenshot_dir
):
    base = live_server.url
    violations = watch_csp(page)
    sign_in(page, base, users["county_official"].username, PASSWORD)

    # the compliance page of May 2024, from the menu, with its chart and both groupings
    page.get_by_role("navigation").get_by_role("link", name="双十达标").click()
    page.goto(f"{base}/visits/compliance/?day=2024-05-01")
    expect(page.get_by_role("heading", name=re.compile("双十工作日达标情况"))).to_be_visible()
    expect(page.locator("[data-chart] canvas")).to_have_count(1)
    below = page.locator("#below-township")
    expect(below.get_by_text("甲一干部")).to_be_visible()
    expect(below.get_by_text("9 / 10 天")).to_be_visible()
    page.get_by_role("tab", name="按派出单位").click()
    expect(page.locator("#below-unit").get_by_text("甲县测试局")).to_be_visible()
    page.get_by_role("tab", name="按乡镇(街道)").click()
    page.wait_for_timeout(1100)  # ECharts' entry animation
    page.screenshot(path=str(screenshot_dir / "visits_compliance.png"), full_page=True)

    # the review list: select all, confirm, approve
    page.goto(f"{base}/visits/review/")
    rows = page.locator(".review-table tbody tr")
    expect(rows).to_have_count(20)  # 9 + 1 days of 甲一干部 (one twice) and 10 of 联乡干部
    page.screenshot(path=str(screenshot_dir / "visits_review_list.png"), full_page=True)
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_label("全选本页").check()
    page.get_by_role("button", name="批量审核通过所选").click()
    expect(page.get_by_text("已审核通过 20 条下沉记录。")).to_be_visible()
    expect(page.get_by_text("没有符合条件的下沉记录。")).to_be_visible()
    assert Visit.objects.filter(state=Visit.State.APPROVED).count() == 20

    # the compliance page on a phone
    phone = browser.new_context(
        **{**browser_context_args, "viewport": {"width": 375, "height": 800}},
        storage_state=page.context.storage_state(),
    )
    try:
        mobile = phone.new_page()
        violations += watch_csp(mobile)
        mobile.goto(f"{base}/visits/compliance/?day=2024-05-01")
        expect(mobile.get_by_text("甲一干部").first).to_be_visible()
        width = mobile.evaluate("document.documentElement.scrollWidth")
        assert width <= 375, f"the page scrolls sideways on a phone ({width}px)"
        mobile.wait_for_timeout(1100)
        mobile.screenshot(path=str(screenshot_dir / "visits_compliance_phone.png"), full_page=True)
    finally:
        phone.close()

    assert violations == []
