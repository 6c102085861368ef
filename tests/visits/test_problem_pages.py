"""The problem ledger (问题台账) pages through the Django test client: the list with its
filters, overdue rows and 办结率, raising a problem (on its own or from a visit), the
detail page with its status form and history, and scoping (out of area = 404).

The world is the `area` fixture (tests/conftest.py): county A (甲县) with townships A1
(甲一镇: a1v1, a1v2, a1v3) and A2 (甲二街道: a2v1, a2v2, a2v3); county B (乙县) with B1
(乙一乡: b1v1, b1v2). Problems and visits are written through `visits.services`.
"""

import datetime
import re
import uuid

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from playwright.sync_api import expect

from tests.browser_helpers import watch_csp
from tests.factories import AssignmentFactory, CadreFactory, UserFactory, UserRoleFactory
from visits.models import Problem
from visits.services import problem_create, problem_update, visit_create

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.filterwarnings("ignore:No directory at:UserWarning"),
]

D = datetime.date
NOT_FOUND_TEXT = "页面或记录不存在"
ALL = {"a1_pending", "a1_resolved", "a2_progress", "a2_explained", "a2_resolved", "b1_overdue"}
A1 = {"a1_pending", "a1_resolved"}
A2 = {"a2_progress", "a2_explained", "a2_resolved"}
B1 = {"b1_overdue"}
VISIBLE = {
    "city_admin": ALL,
    "city_viewer": ALL,
    "superuser": ALL,
    "county_official": A1 | A2,
    "other_county_official": B1,
    "township_official": A1,
    "cadre_user": {"a1_pending"},
    "township_cadre_user": A2,
}


@pytest.fixture
def client_as(users, client):
    def _as(who):
        if who != "anonymous":
            client.force_login(users[who])
        return client

    return _as


def raise_problem(actor, village, category="infrastructure", **fields):
    return problem_create(
        actor=actor,
        village=village,
        category=category,
        description=fields.pop("description", f"{village.name}的道路破损"),
        **fields,
    )


@pytest.fixture
def problems(area, users):
    """Six problems: A1 pending (at a1v1) and resolved; A2 in progress, explained and
    resolved; B1 pending and overdue."""
    v = area.villages
    today = timezone.localdate()
    county_a, county_b = users["county_official"], users["other_county_official"]
    made = {
        "a1_pending": raise_problem(
            users["cadre_user"], v["a1v1"], handler="村委会", deadline=today + datetime.timedelta(9)
        ),
        "a1_resolved": raise_problem(county_a, v["a1v2"], category="employment"),
        "a2_progress": raise_problem(users["township_cadre_user"], v["a2v1"], "insurance"),
        "a2_explained": raise_problem(county_a, v["a2v3"], "policy"),
        "a2_resolved": raise_problem(county_a, v["a2v2"]),
        "b1_overdue": raise_problem(
            county_b, v["b1v1"], "safety", deadline=today - datetime.timedelta(days=3)
        ),
    }
    problem_update(actor=county_a, problem=made["a1_resolved"], status="resolved")
    problem_update(actor=county_a, problem=made["a2_progress"], status="in_progress")
    problem_update(
        actor=county_a, problem=made["a2_explained"], status="explained", explanation="政策不允许"
    )
    problem_update(actor=county_a, problem=made["a2_resolved"], status="resolved")
    return {k: Problem.objects.get(pk=p.pk) for k, p in made.items()}


def listed(response, problems) -> set[str]:
    ids = {int(pk) for pk in re.findall(r'href="/problems/(\d+)/"', response.content.decode())}
    return {k for k, p in problems.items() if p.pk in ids}


def stat(response, name) -> str:
    match = re.search(rf'data-stat="{name}">([^<]*)<', response.content.decode())
    return match.group(1) if match else None


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


# ----- the list -----


@pytest.mark.parametrize("who", sorted(VISIBLE))
def test_problem_list_shows_exactly_the_users_area(client_as, problems, who):
    response = client_as(who).get("/problems/")

    assert response.status_code == 200
    assert listed(response, problems) == VISIBLE[who]


def test_problem_list_refuses_a_login_without_role(client_as, problems):
    response = client_as("no_role_user").get("/problems/")

    assert response.status_code == 403


def test_problem_pages_send_anonymous_visitors_to_login(client, problems):
    for url in ("/problems/", "/problems/new/", f"/problems/{problems['a1_pending'].pk}/"):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize(
    "query, expected",
    [
        ("status=resolved", {"a1_resolved", "a2_resolved"}),
        ("status=pending", {"a1_pending"}),
        ("category=infrastructure", {"a1_pending", "a2_resolved"}),
        ("township={A2}", A2),
        ("township={A2}&village={a2v3}", {"a2_explained"}),
        ("village={a1v1}", {"a1_pending"}),
        ("overdue=true", set()),
        ("month={this_month}", A1 | A2),
        ("month=2020-01", set()),
        ("status=in_progress&township={A2}", {"a2_progress"}),
    ],
)
def test_problem_list_filters(client_as, area, problems, query, expected):
    query = query.format(
        A2=area.townships["A2"].pk,
        a2v3=area.villages["a2v3"].pk,
        a1v1=area.villages["a1v1"].pk,
        this_month=timezone.localdate().strftime("%Y-%m"),
    )

    response = client_as("county_official").get(f"/problems/?{query}")

    assert listed(response, problems) == expected


def test_month_filter_uses_the_local_registration_month(client_as, area, problems):
    # given: one problem registered at 23:30 on 31 March 2024, 许昌 time (15:30 UTC)
    when = datetime.datetime(2024, 3, 31, 15, 30, tzinfo=datetime.UTC)
    Problem.objects.filter(pk=problems["a1_pending"].pk).update(created_at=when)
    client = client_as("township_official")

    # then
    assert listed(client.get("/problems/?month=2024-03"), problems) == {"a1_pending"}
    assert listed(client.get("/problems/?month=2024-04"), problems) == set()


def test_overdue_filter_and_rows(client_as, problems):
    client = client_as("city_admin")

    only_overdue = client.get("/problems/?overdue=true")
    every = client.get("/problems/").content.decode()

    assert listed(only_overdue, problems) == {"b1_overdue"}
    rows = re.findall(r'<tr class="problem-row([^"]*)">.*?href="/problems/(\d+)/"', every, re.S)
    overdue_rows = {int(pk) for classes, pk in rows if "problem-overdue" in classes}
    assert overdue_rows == {problems["b1_overdue"].pk}
    assert len(rows) == 6


def test_a_closed_problem_past_its_deadline_is_not_overdue(client_as, area, users, problems):
    late = raise_problem(users["county_official"], area.villages["a1v3"], deadline=D(2024, 1, 1))
    problem_update(actor=users["county_official"], problem=late, status="resolved")

    response = client_as("county_official").get("/problems/?overdue=true")

    assert listed(response, problems) == set()
    assert stat(response, "overdue") == "0"


@pytest.mark.parametrize(
    "query",
    [
        "township={B1}",
        "village={b1v1}",
        "village=999999",
        "month=2024-13",
        "month=三月",
        "status=closed",
        "category=weather",
    ],
)
def test_problem_list_with_bad_or_out_of_area_filter_is_empty_with_a_message(
    client_as, area, problems, query
):
    query = query.format(B1=area.townships["B1"].pk, b1v1=area.villages["b1v1"].pk)

    response = client_as("county_official").get(f"/problems/?{query}")

    assert response.status_code == 200
    assert listed(response, problems) == set()
    assert "筛选条件无效" in response.content.decode()
    assert stat(response, "total") == "0"


def test_resolution_rate_matches_a_hand_count(client_as, area, problems):
    # county A: a1 pending, a1 resolved, a2 in progress, a2 explained, a2 resolved
    client = client_as("county_official")

    response = client.get("/problems/")

    assert stat(response, "total") == "5"
    assert stat(response, "rate") == "40.0%"  # 2 resolved ÷ 5
    assert stat(response, "open") == "2"
    townships = {t["township"]: t for t in response.context["townships"]}
    assert (townships["甲一镇"]["resolved"], townships["甲一镇"]["total"]) == (1, 2)
    assert townships["甲一镇"]["percent"] == 50.0
    assert (townships["甲二街道"]["resolved"], townships["甲二街道"]["total"]) == (1, 3)
    assert townships["甲二街道"]["percent"] == 33.3
    html = response.content.decode()
    assert 'data-chart="stacked_rate"' in html
    assert "33.3%" in html


def test_the_rate_follows_the_area_filters_but_not_the_status_filter(client_as, area, problems):
    client = client_as("county_official")
    a2 = area.townships["A2"].pk

    in_a2 = client.get(f"/problems/?township={a2}")
    resolved_only = client.get("/problems/?status=resolved")

    assert (stat(in_a2, "total"), stat(in_a2, "rate")) == ("3", "33.3%")
    assert (stat(resolved_only, "total"), stat(resolved_only, "rate")) == ("5", "40.0%")
    assert listed(resolved_only, problems) == {"a1_resolved", "a2_resolved"}


def test_city_roles_see_every_township_with_its_county(client_as, problems):
    response = client_as("city_viewer").get("/problems/")

    assert stat(response, "rate") == "33.3%"  # 2 ÷ 6
    names = [(t["county"], t["township"]) for t in response.context["townships"]]
    assert names == [("甲县", "甲一镇"), ("甲县", "甲二街道"), ("乙县", "乙一乡")]  # code order
    assert stat(response, "overdue") == "1"


def test_cadres_get_the_list_without_the_township_table(client_as, problems):
    response = client_as("cadre_user").get("/problems/")

    assert "townships" not in response.context
    assert stat(response, "total") == "1"
    assert "各乡镇(街道)办结情况" not in response.content.decode()


def test_raise_button_only_for_those_who_may_raise(client_as, problems):
    assert 'href="/problems/new/"' in client_as("cadre_user").get("/problems/").content.decode()
    assert 'href="/problems/new/"' not in (
        client_as("city_viewer").get("/problems/").content.decode()
    )


def test_problem_list_query_count_does_not_grow_with_the_rows(client_as, area, users):
    client = client_as("county_official")
    official = users["county_official"]

    def count_queries():
        with CaptureQueriesContext(connection) as ctx:
            response = client.get("/problems/")
        assert response.status_code == 200
        return len(ctx.captured_queries)

    raise_problem(official, area.villages["a1v1"])
    count_queries()  # the first request also loads the login (then cached, with Redis)
    small = count_queries()
    visit, _ = visit_create(
        actor=users["cadre_user"],
        client_uuid=uuid.uuid4(),
        village=area.villages["a1v1"],
        date=D(2024, 5, 6),
        activities=["household"],
    )
    for i in range(30):
        village = area.villages[["a1v1", "a1v2", "a2v1", "a2v3"][i % 4]]
        problem = raise_problem(
            official,
            village,
            deadline=D(2024, 1, 1) if i % 3 else None,
            visit=visit if village == visit.village else None,
        )
        if i % 2:
            problem_update(actor=official, problem=problem, status="in_progress")
    large = count_queries()

    assert small == large


# ----- raising a problem -----


def test_raise_form_offers_only_the_users_villages(client_as, area, problems):
    html = client_as("cadre_user").get("/problems/new/").content.decode()
    select = re.search(r'<select[^>]*name="village"[^>]*>(.*?)</select>', html, re.S).group(1)

    assert set(re.findall(r'<option value="(\d+)"', select)) == {str(area.villages["a1v1"].pk)}


def test_raise_a_problem(client_as, area, users):
    response = client_as("township_official").post(
        "/problems/new/",
        {
            "village": area.villages["a1v3"].pk,
            "category": "environment",
            "description": "村口垃圾堆放",
            "raised_by": "张大爷",
            "handler": "镇环卫所",
            "deadline": "2030-01-31",
        },
        follow=True,
    )

    problem = Problem.objects.get()
    assert response.redirect_chain[-1][0] == f"/problems/{problem.pk}/"
    assert "问题已登记。" in messages_of(response)
    assert problem.village == area.villages["a1v3"]
    assert (problem.category, problem.raised_by, problem.handler) == (
        "environment",
        "张大爷",
        "镇环卫所",
    )
    assert problem.deadline == D(2030, 1, 31)
    assert problem.created_by == users["township_official"]
    assert "村口垃圾堆放" in response.content.decode()


def test_raise_a_problem_for_a_village_outside_the_area_is_refused(client_as, area):
    response = client_as("township_official").post(
        "/problems/new/",
        {"village": area.villages["a2v1"].pk, "category": "other", "description": "越界"},
    )

    assert response.status_code == 200
    assert "选择一个有效的选项" in response.content.decode()
    assert not Problem.objects.exists()


def test_raise_a_problem_needs_category_and_description(client_as, area):
    response = client_as("cadre_user").post(
        "/problems/new/", {"village": area.villages["a1v1"].pk, "description": "   "}
    )

    html = response.content.decode()
    assert html.count("is-invalid") == 2
    assert "该字段是必填项。" in html
    assert not Problem.objects.exists()


@pytest.mark.parametrize("who", ["city_viewer", "no_role_user"])
def test_raising_a_problem_is_refused_to_viewers(client_as, area, who):
    client = client_as(who)

    assert client.get("/problems/new/").status_code == 403
    response = client.post(
        "/problems/new/",
        {"village": area.villages["a1v1"].pk, "category": "other", "description": "看看"},
    )
    assert response.status_code == 403
    assert not Problem.objects.exists()


@pytest.fixture
def a1_visit(area, users):
    visit, _ = visit_create(
        actor=users["cadre_user"],
        client_uuid=uuid.uuid4(),
        village=area.villages["a1v1"],
        date=D(2024, 5, 6),
        activities=["household"],
    )
    return visit


@pytest.mark.parametrize("who", ["cadre_user", "township_official", "county_official"])
def test_raise_a_problem_from_a_visit_fixes_the_village(client_as, area, a1_visit, who):
    client = client_as(who)

    page = client.get(f"/problems/new/?visit={a1_visit.pk}").content.decode()
    response = client.post(
        f"/problems/new/?visit={a1_visit.pk}",
        # a village in the post is ignored: the visit decides
        {"village": area.villages["a1v2"].pk, "category": "dispute", "description": "邻里纠纷"},
    )

    assert 'name="village"' not in page
    assert "a1v1村" in page
    problem = Problem.objects.get()
    assert response["Location"] == f"/problems/{problem.pk}/"
    assert (problem.visit, problem.village) == (a1_visit, area.villages["a1v1"])


@pytest.mark.parametrize("who", ["other_county_official", "township_cadre_user"])
def test_raise_a_problem_from_an_invisible_visit_is_404(client_as, area, a1_visit, who):
    client = client_as(who)

    assert client.get(f"/problems/new/?visit={a1_visit.pk}").status_code == 404
    response = client.post(
        f"/problems/new/?visit={a1_visit.pk}", {"category": "dispute", "description": "x"}
    )
    assert response.status_code == 404
    assert not Problem.objects.exists()


def test_raise_a_problem_with_a_malformed_visit_is_404(client_as, area):
    assert client_as("county_official").get("/problems/new/?visit=abc").status_code == 404


# ----- detail, status and history -----


@pytest.mark.parametrize("who", sorted(VISIBLE))
def test_problem_detail_outside_the_area_is_404(client_as, problems, who):
    client = client_as(who)

    for key, problem in problems.items():
        response = client.get(f"/problems/{problem.pk}/")
        if key in VISIBLE[who]:
            assert response.status_code == 200
            assert problem.description in response.content.decode()
        else:
            assert response.status_code == 404
            assert NOT_FOUND_TEXT in response.content.decode()


@pytest.mark.parametrize("who", ["other_county_official", "township_official", "cadre_user"])
def test_updating_a_problem_outside_the_area_is_404(client_as, problems, who):
    problem = problems["a2_progress"]

    response = client_as(who).post(f"/problems/{problem.pk}/", {"status": "resolved"})

    assert response.status_code == 404
    problem.refresh_from_db()
    assert problem.status == "in_progress"


def test_city_viewers_see_a_problem_but_cannot_handle_it(client_as, problems):
    problem = problems["a1_pending"]
    client = client_as("city_viewer")

    page = client.get(f"/problems/{problem.pk}/").content.decode()
    response = client.post(f"/problems/{problem.pk}/", {"status": "resolved"})

    assert 'name="status"' not in page
    assert response.status_code == 403
    problem.refresh_from_db()
    assert problem.status == "pending"


def test_a_problem_moves_through_its_statuses_with_history(client_as, problems, users):
    problem = problems["a1_pending"]
    client = client_as("cadre_user")
    url = f"/problems/{problem.pk}/"
    form = {"handler": "村委会", "explanation": "", "resolved_on": "", "satisfaction": ""}

    # 待办 → 办理中
    response = client.post(url, {**form, "status": "in_progress"}, follow=True)
    problem.refresh_from_db()
    assert problem.status == "in_progress"
    assert "已保存办理情况。" in messages_of(response)

    # 办理中 → 已办结, with the people's satisfaction; the date defaults to today
    client.post(
        url,
        {**form, "status": "resolved", "explanation": "已修好", "satisfaction": "satisfied"},
    )
    problem.refresh_from_db()
    assert (problem.status, problem.satisfaction) == ("resolved", "satisfied")
    assert problem.resolved_on == timezone.localdate()

    # the page shows the history of every change, newest first
    html = client.get(url).content.decode()
    history = html.split("变更记录", 1)[1]
    assert "状态：办理中 → 已办结" in history
    assert "状态：待办 → 办理中" in history
    assert "群众满意度：（空） → 满意" in history
    assert history.index("办理中 → 已办结") < history.index("待办 → 办理中")
    assert "登记" in history
    assert users["cadre_user"].first_name in history


def test_a_closed_problem_cannot_go_back(client_as, problems):
    problem = problems["a1_resolved"]

    response = client_as("county_official").post(f"/problems/{problem.pk}/", {"status": "pending"})

    assert response.status_code == 200
    assert "选择一个有效的选项" in response.content.decode()
    problem.refresh_from_db()
    assert problem.status == "resolved"


def test_the_status_choices_are_the_allowed_moves(client_as, problems):
    html = client_as("county_official").get(f"/problems/{problems['a2_progress'].pk}/")
    select = re.search(
        r'<select[^>]*name="status"[^>]*>(.*?)</select>', html.content.decode(), re.S
    ).group(1)

    assert re.findall(r'<option value="(\w+)"', select) == ["in_progress", "resolved", "explained"]


def test_explained_needs_an_explanation(client_as, problems):
    problem = problems["a2_progress"]
    client = client_as("county_official")

    refused = client.post(f"/problems/{problem.pk}/", {"status": "explained", "explanation": ""})
    problem.refresh_from_db()
    assert problem.status == "in_progress"
    assert "“无法办结已解释”必须填写解释说明。" in refused.content.decode()

    client.post(
        f"/problems/{problem.pk}/",
        {"status": "explained", "explanation": "属省级政策，已向群众解释"},
    )
    problem.refresh_from_db()
    assert (problem.status, problem.explanation) == ("explained", "属省级政策，已向群众解释")


def test_a_resolution_date_in_the_future_is_refused_in_chinese(client_as, problems):
    problem = problems["a1_pending"]
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)

    response = client_as("county_official").post(
        f"/problems/{problem.pk}/", {"status": "resolved", "resolved_on": tomorrow.isoformat()}
    )

    assert "办结日期不能晚于今天。" in response.content.decode()
    problem.refresh_from_db()
    assert problem.status == "pending"


def test_problem_detail_links_the_visit_only_for_those_who_may_open_it(
    client_as, area, users, a1_visit
):
    problem = raise_problem(users["cadre_user"], area.villages["a1v1"], visit=a1_visit)
    # a second cadre of a1v1 sees the problem but not the first cadre's visit
    other = CadreFactory(name="另一干部")
    AssignmentFactory(cadre=other, village=area.villages["a1v1"])
    other_login = UserFactory(username="other_cadre")
    UserRoleFactory(user=other_login, role="cadre")
    other.user = other_login
    other.save(update_fields=["user"])

    official = client_as("township_official").get(f"/problems/{problem.pk}/").content.decode()
    client_as("township_official").logout()
    client = client_as("anonymous")
    client.force_login(other_login)
    colleague = client.get(f"/problems/{problem.pk}/").content.decode()

    assert f'href="/visits/{a1_visit.pk}/"' in official
    assert f'href="/visits/{a1_visit.pk}/"' not in colleague
    assert "2024年5月6日" in colleague


# ----- in a real browser -----

PASSWORD = "test-pass-123"  # tests.factories.UserFactory


@pytest.mark.browser
def test_problem_ledger_in_a_browser(
    live_server, page, browser, browser_context_args, users, problems, screenshot_dir
):
    base = live_server.url
    violations = watch_csp(page)
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("用户名").fill(users["city_admin"].username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page).to_have_url(f"{base}/")

    # the ledger from the menu: stat cards, chart, township table, the overdue row coloured
    page.get_by_role("navigation").get_by_role("link", name="问题台账").click()
    expect(page).to_have_url(f"{base}/problems/")
    expect(page.locator('[data-stat="rate"]')).to_have_text("33.3%")
    expect(page.locator("[data-chart] canvas")).to_have_count(1)
    overdue = page.locator("tr.problem-overdue")
    expect(overdue).to_have_count(1)
    expect(overdue.get_by_text("乙一乡")).to_be_visible()
    colour = overdue.locator("td").nth(1).evaluate("td => getComputedStyle(td).backgroundColor")
    plain = page.locator("tr.problem-row:not(.problem-overdue) td").nth(1)
    assert colour != plain.evaluate("td => getComputedStyle(td).backgroundColor")
    page.wait_for_timeout(1100)  # ECharts' entry animation
    page.screenshot(path=str(screenshot_dir / "problems_list.png"), full_page=True)

    # filter: overdue only
    page.get_by_label("逾期").check()
    page.get_by_role("button", name="查询").click()
    expect(page).to_have_url(re.compile(r"overdue=true"))
    expect(page.locator(".problem-table tbody tr")).to_have_count(1)

    # open it and move it along
    page.locator(".problem-table").get_by_role("link").first.click()
    page.get_by_label("状态").select_option(label="办理中")
    page.get_by_label("责任人/单位").fill("乡安监站")
    page.get_by_role("button", name="保存").click()
    expect(page.get_by_text("已保存办理情况。")).to_be_visible()
    expect(page.get_by_text("状态：待办 → 办理中")).to_be_visible()
    page.screenshot(path=str(screenshot_dir / "problems_detail.png"), full_page=True)

    # the ledger on a phone
    phone = browser.new_context(
        **{**browser_context_args, "viewport": {"width": 375, "height": 800}},
        storage_state=page.context.storage_state(),
    )
    try:
        mobile = phone.new_page()
        violations += watch_csp(mobile)
        mobile.goto(f"{base}/problems/")
        expect(mobile.locator('[data-stat="total"]')).to_have_text("6")
        width = mobile.evaluate("document.documentElement.scrollWidth")
        assert width <= 375, f"the page scrolls sideways on a phone ({width}px)"
        mobile.wait_for_timeout(1100)
        mobile.screenshot(path=str(screenshot_dir / "problems_list_phone.png"), full_page=True)
    finally:
        phone.close()

    assert violations == []
