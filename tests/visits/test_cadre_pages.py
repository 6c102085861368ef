"""The cadre side of 双十工作日 through the Django test client: log a visit (the page and
its no-JavaScript POST), my visits, one visit, edit it, and the cadre's home page.

The world is the `area` fixture (tests/conftest.py): 甲一干部 (`cadre_user`) 帮村 a1v1 in
甲一镇; 联乡干部 (`township_cadre_user`) 联乡 甲二街道 (a2v1–a2v3); county A's official
sees 甲一镇 and 甲二街道, county B's official sees 乙一乡. Assignments cover 2024, so the
clock is held at 2024-06-20 10:00 (Asia/Shanghai) unless a test moves it.
"""

import datetime
import io
import re
import uuid
from types import SimpleNamespace
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from PIL import Image

from visits.models import Problem, Visit, VisitEvent, WorkdayRule
from visits.services import visit_approve, visit_create, visit_return

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.filterwarnings("ignore:No directory at:UserWarning"),
]

SHANGHAI = ZoneInfo("Asia/Shanghai")
TODAY = datetime.date(2024, 6, 20)
NOT_FOUND_TEXT = "页面或记录不存在"


@pytest.fixture(autouse=True)
def clock():
    """Hold Django's clock (timezone.now / localdate) at 2024-06-20 10:00; tests can move
    `clock.now`."""
    state = SimpleNamespace(now=datetime.datetime(2024, 6, 20, 10, 0, tzinfo=SHANGHAI))
    with mock.patch("django.utils.timezone.now", side_effect=lambda: state.now):
        yield state


@pytest.fixture
def client_as(users, client):
    def _as(who):
        if who != "anonymous":
            client.force_login(users[who])
        return client

    return _as


def log_visit(user, village, date=TODAY, **fields):
    defaults = {
        "day_part": Visit.DayPart.FULL,
        "activities": [Visit.Activity.HOUSEHOLD],
        "meetings": 1,
        "people_reached": 10,
        "households_visited": 4,
    }
    visit, created = visit_create(
        actor=user,
        client_uuid=fields.pop("client_uuid", uuid.uuid4()),
        village=village,
        date=date,
        **(defaults | fields),
    )
    assert created
    return visit


def form_data(village, **overrides):
    data = {
        "client_uuid": str(uuid.uuid4()),
        "village": village.pk,
        "date": TODAY.isoformat(),
        "day_part": "full",
        "activities": ["meeting", "household"],
        "meetings": "1",
        "people_reached": "23",
        "households_visited": "8",
        "notes": "走访脱贫户，了解灌溉用水问题。",
        "latitude": "",
        "longitude": "",
    }
    return data | overrides


def png_bytes() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 30, 30)).save(out, format="PNG")
    return out.getvalue()


def html_of(response) -> str:
    return response.content.decode()


# ----- who may open which page -----

CADRE_PAGES = ["/visits/", "/visits/new/", "/visits/{visit}/", "/visits/{visit}/edit/"]


@pytest.mark.parametrize("url", CADRE_PAGES)
def test_anonymous_visitors_are_sent_to_login(client, area, cadre_user, url):
    visit = log_visit(cadre_user, area.villages["a1v1"])

    response = client.get(url.format(visit=visit.pk))

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")


@pytest.mark.parametrize(
    "who", ["county_official", "township_official", "city_admin", "city_viewer"]
)
def test_officials_cannot_log_visits(client_as, area, who):
    response = client_as(who).get("/visits/new/")

    assert response.status_code == 403
    assert client_as(who).post("/visits/new/", form_data(area.villages["a1v1"])).status_code == 403
    assert Visit.objects.count() == 0


@pytest.mark.parametrize(
    "who", ["county_official", "township_official", "city_admin", "city_viewer", "no_role_user"]
)
def test_non_cadres_visiting_my_visits_go_to_the_review_list(client_as, area, who):
    response = client_as(who).get("/visits/")

    assert response.status_code == 302
    assert response["Location"] == "/visits/review/"


# ----- log a visit -----


def test_visit_form_offers_only_the_cadres_village_preselected(client_as, area):
    response = client_as("cadre_user").get("/visits/new/")

    html = html_of(response)
    assert response.status_code == 200
    assert "记一次下沉" in html
    village = area.villages["a1v1"]
    assert re.search(rf'<option value="{village.pk}" selected>a1v1村', html)
    for other in ("a1v2村", "a2v1村", "b1v1村"):
        assert other not in html
    assert 'value="2024-06-20"' in html and 'max="2024-06-20"' in html
    for label in (
        "座谈会",
        "入户走访",
        "政策宣讲",
        "矛盾调解",
        "隐患排查",
        "办实事",
        "技术指导",
        "其他",
    ):
        assert f">{label}</label>" in html
    assert html.count('inputmode="numeric"') == 3
    assert "获取定位" in html
    assert 'accept="image/*" capture="environment"' in html
    assert "条待上传" in html and "立即上传" in html


def test_after_the_assignment_the_form_opens_on_its_last_day_for_catching_up(
    client_as, area, clock
):
    # given: the fixture's assignments end with 2024; it is now January 2025
    clock.now = datetime.datetime(2025, 1, 8, 10, 0, tzinfo=SHANGHAI)

    # when
    html = html_of(client_as("cadre_user").get("/visits/new/"))

    # then: the date is the assignment's last day, and the cadre is told why
    assert 'value="2024-12-31"' in html and 'max="2025-01-08"' in html
    assert "您的联系期已于 2024年12月31日 结束" in html


def test_inside_the_assignment_the_form_says_nothing_about_catching_up(client_as, area):
    html = html_of(client_as("cadre_user").get("/visits/new/"))

    assert 'value="2024-06-20"' in html
    assert "联系期已于" not in html


def test_township_cadre_picks_any_village_of_their_township(client_as, area):
    html = html_of(client_as("township_cadre_user").get("/visits/new/"))

    for label in ("a2v1", "a2v2", "a2v3"):
        assert f'<option value="{area.villages[label].pk}">{label}村' in html
    assert '<option value="" selected>请选择村(社区)</option>' in html
    assert "a1v1村" not in html


def test_cadre_pages_have_no_inline_script_or_style(client_as, area, cadre_user):
    visit = log_visit(cadre_user, area.villages["a1v1"])
    client = client_as("cadre_user")

    for url in (
        "/",
        "/visits/",
        "/visits/new/",
        f"/visits/{visit.pk}/",
        f"/visits/{visit.pk}/edit/",
    ):
        html = html_of(client.get(url))
        assert " style=" not in html, url
        for tag in re.findall(r"<script[^>]*>", html):
            assert " src=" in tag and " nonce=" in tag, (url, tag)


def test_plain_post_stores_the_visit_once_per_uuid(client_as, area):
    client = client_as("cadre_user")
    data = form_data(area.villages["a1v1"])

    first = client.post("/visits/new/", data)
    again = client.post("/visits/new/", data)

    visit = Visit.objects.get()
    assert str(visit.client_uuid) == data["client_uuid"]
    assert first.status_code == again.status_code == 302
    assert first["Location"] == again["Location"] == f"/visits/{visit.pk}/"
    assert visit.activities == ["meeting", "household"]
    assert (visit.people_reached, visit.households_visited) == (23, 8)
    assert visit.state == Visit.State.SUBMITTED


def test_plain_post_shows_chinese_errors_and_stores_nothing(client_as, area):
    client = client_as("cadre_user")

    response = client.post(
        "/visits/new/",
        form_data(area.villages["a1v1"], activities=[], date="2024-06-21", meetings="-1"),
    )

    html = html_of(response)
    assert response.status_code == 200
    assert "请至少选择一项工作内容。" in html
    assert "召开座谈会(场)不能为负数。" in html
    assert Visit.objects.count() == 0


def test_plain_post_refuses_a_future_date_and_a_foreign_village(client_as, area):
    client = client_as("cadre_user")

    future = client.post("/visits/new/", form_data(area.villages["a1v1"], date="2024-06-21"))
    foreign = client.post("/visits/new/", form_data(area.villages["a1v2"]))

    assert "日期不能晚于今天。" in html_of(future)
    assert "只能为自己的联系点填报。" in html_of(foreign)
    assert Visit.objects.count() == 0


def test_plain_post_with_a_broken_id_asks_to_fill_in_again(client_as, area):
    response = client_as("cadre_user").post(
        "/visits/new/", form_data(area.villages["a1v1"], client_uuid="not-a-uuid")
    )

    assert response.status_code == 200
    assert "表单已失效，请重新填写。" in html_of(response)
    assert Visit.objects.count() == 0


def test_cadre_without_contact_points_is_told_so(client_as, area, cadre_user):
    cadre_user.cadre.assignments.all().delete()

    html = html_of(client_as("cadre_user").get("/visits/new/"))

    assert "您目前没有联系点安排" in html


def test_plain_post_keeps_a_photo(client_as, area):
    client = client_as("cadre_user")
    data = form_data(area.villages["a1v1"])
    photo = io.BytesIO(png_bytes())
    photo.name = "现场.png"

    response = client.post("/visits/new/", {**data, "photos": [photo]})

    visit = Visit.objects.get()
    assert response.status_code == 302
    assert visit.photos.count() == 1
    detail = html_of(client.get(f"/visits/{visit.pk}/"))
    photo = visit.photos.get()
    assert photo.scoped_url in detail
    assert photo.image.url not in detail  # media files are never linked directly


def test_visit_photos_are_served_only_to_those_who_may_see_the_visit(client_as, area):
    # given: a visit with a photo by the a1v1 cadre
    owner = client_as("cadre_user")
    photo = io.BytesIO(png_bytes())
    photo.name = "现场.png"
    owner.post("/visits/new/", {**form_data(area.villages["a1v1"]), "photos": [photo]})
    url = Visit.objects.get().photos.get().scoped_url

    # then: the owner and the township's official get the JPEG; another county does not
    ok = owner.get(url)
    assert ok.status_code == 200 and ok["Content-Type"] == "image/jpeg"
    assert b"".join(ok.streaming_content)[:2] == b"\xff\xd8"
    assert client_as("township_official").get(url).status_code == 200
    assert client_as("other_county_official").get(url).status_code == 404


# ----- my visits -----


def test_my_visits_newest_first_with_states_comment_and_location_flag(
    client_as, area, cadre_user, township_cadre_user, county_official
):
    a1v1 = area.villages["a1v1"]
    a1v1.latitude, a1v1.longitude = 34.0, 113.8
    a1v1.save(update_fields=["latitude", "longitude"])
    older = log_visit(cadre_user, a1v1, datetime.date(2024, 6, 3))
    returned = log_visit(cadre_user, a1v1, datetime.date(2024, 6, 10))
    visit_return(actor=county_official, visit=returned, comment="照片与村名不符，请补充说明")
    far = log_visit(
        cadre_user, a1v1, datetime.date(2024, 6, 18), latitude="34.300000", longitude="113.800000"
    )
    approved = log_visit(cadre_user, a1v1, datetime.date(2024, 6, 19))
    visit_approve(actor=county_official, visit=approved)
    log_visit(township_cadre_user, area.villages["a2v1"], notes="别人的记录")

    html = html_of(client_as("cadre_user").get("/visits/"))

    order = [int(pk) for pk in re.findall(r'href="/visits/(\d+)/"', html)]
    assert order == [approved.pk, far.pk, returned.pk, older.pk]
    assert "共 4 条" in html
    assert html.count("visit-state-submitted") == 2
    assert "已退回" in html and "已通过" in html and "待审核" in html
    assert "退回意见：照片与村名不符，请补充说明" in html
    assert html.count("位置存疑") == 1
    assert "a2v1村" not in html


def test_my_visits_are_paginated(client_as, area, cadre_user):
    for day in range(1, 23):
        log_visit(cadre_user, area.villages["a1v1"], datetime.date(2024, 5, day))

    client = client_as("cadre_user")
    first = html_of(client.get("/visits/"))
    second = html_of(client.get("/visits/?page=2"))

    assert len(re.findall(r'href="/visits/\d+/"', first)) == 20
    assert len(re.findall(r'href="/visits/\d+/"', second)) == 2
    assert "第 1 / 2 页" in first and "下一页" in first


# ----- one visit -----

DETAIL_STATUS = {
    "cadre_user": 200,
    "township_cadre_user": 404,
    "county_official": 200,
    "township_official": 200,
    "other_county_official": 404,
    "city_admin": 200,
    "city_viewer": 200,
    "no_role_user": 404,
}


@pytest.mark.parametrize("who, status", DETAIL_STATUS.items())
def test_visit_detail_is_scoped(client_as, area, cadre_user, who, status):
    visit = log_visit(cadre_user, area.villages["a1v1"])

    response = client_as(who).get(f"/visits/{visit.pk}/")

    assert response.status_code == status
    if status == 404:
        assert NOT_FOUND_TEXT in html_of(response)
    else:
        assert "a1v1村" in html_of(response)


def test_missing_visit_is_404(client_as, area):
    assert client_as("cadre_user").get("/visits/999999/").status_code == 404
    assert client_as("cadre_user").get("/visits/999999/edit/").status_code == 404


@pytest.mark.parametrize(
    "who, status",
    [
        ("cadre_user", 200),
        ("township_cadre_user", 404),
        ("other_county_official", 404),
        ("no_role_user", 404),
        ("county_official", 403),
        ("city_admin", 403),
    ],
)
def test_only_the_cadre_edits_their_visit(client_as, area, cadre_user, who, status):
    visit = log_visit(cadre_user, area.villages["a1v1"])
    client = client_as(who)

    assert client.get(f"/visits/{visit.pk}/edit/").status_code == status
    posted = client.post(
        f"/visits/{visit.pk}/edit/", form_data(area.villages["a1v1"], people_reached="99")
    )

    visit.refresh_from_db()
    assert visit.people_reached == (99 if who == "cadre_user" else 10)
    assert posted.status_code == (302 if who == "cadre_user" else status)


def test_detail_shows_data_and_the_review_exchange(client_as, area, cadre_user, county_official):
    county_official.first_name = "甲县审核员"
    county_official.save(update_fields=["first_name"])
    visit = log_visit(cadre_user, area.villages["a1v1"], notes="帮助修通机井")
    visit_return(actor=county_official, visit=visit, comment="请补充入户名单")

    own = html_of(client_as("cadre_user").get(f"/visits/{visit.pk}/"))

    assert "甲一干部" in own and "帮助修通机井" in own
    assert "2024年6月20日（全天）" in own
    assert "入户走访" in own
    assert re.search(r"提交</span>\s*<span[^>]*>· 甲一干部 ·", own)
    assert re.search(r"退回</span>\s*<span[^>]*>· 甲县审核员 ·", own)
    assert "意见：请补充入户名单" in own
    assert f'href="/visits/{visit.pk}/edit/"' in own and "编辑并重新提交" in own


@pytest.mark.parametrize(
    "who, reviews",
    [("county_official", True), ("township_official", True), ("city_viewer", False)],
)
def test_officials_see_no_edit_link_and_reviewers_the_review_form(
    client_as, area, cadre_user, who, reviews
):
    visit = log_visit(cadre_user, area.villages["a1v1"])

    html = html_of(client_as(who).get(f"/visits/{visit.pk}/"))

    assert f"/visits/{visit.pk}/edit/" not in html
    assert "审核记录" in html
    assert (f'action="/visits/{visit.pk}/approve/"' in html) is reviews


def test_the_cadre_sees_no_review_form(client_as, area, cadre_user):
    visit = log_visit(cadre_user, area.villages["a1v1"])

    html = html_of(client_as("cadre_user").get(f"/visits/{visit.pk}/"))

    assert "/approve/" not in html and "退回修改" not in html


# ----- edit rules -----


def test_edit_within_seven_days_saves_and_logs_an_edit(client_as, area, cadre_user, clock):
    visit = log_visit(cadre_user, area.villages["a1v1"])
    clock.now += datetime.timedelta(days=6, hours=23)
    client = client_as("cadre_user")

    form = html_of(client.get(f"/visits/{visit.pk}/edit/"))
    response = client.post(
        f"/visits/{visit.pk}/edit/",
        form_data(area.villages["a1v1"], activities=["policy"], people_reached="40"),
    )

    assert 'value="10"' in form and "保存修改" in form
    assert response.status_code == 302 and response["Location"] == f"/visits/{visit.pk}/"
    visit.refresh_from_db()
    assert (visit.activities, visit.people_reached) == (["policy"], 40)
    assert visit.state == Visit.State.SUBMITTED
    assert list(visit.events.values_list("action", flat=True)) == ["submit", "edit"]
    assert "已保存修改。" in html_of(client.get(response["Location"]))


def test_editing_a_returned_visit_resubmits_it(client_as, area, cadre_user, county_official):
    visit = log_visit(cadre_user, area.villages["a1v1"])
    visit_return(actor=county_official, visit=visit, comment="活动内容写得不清楚")
    client = client_as("cadre_user")

    form = html_of(client.get(f"/visits/{visit.pk}/edit/"))
    response = client.post(f"/visits/{visit.pk}/edit/", form_data(area.villages["a1v1"]))

    assert "退回意见：活动内容写得不清楚" in form and "保存并重新提交" in form
    visit.refresh_from_db()
    assert visit.state == Visit.State.SUBMITTED
    assert visit.events.last().action == VisitEvent.Action.RESUBMIT
    assert "已修改并重新提交审核。" in html_of(client.get(response["Location"]))


@pytest.mark.parametrize("why", ["approved", "eight_days_old"])
def test_approved_or_old_visits_cannot_be_edited(
    client_as, area, cadre_user, county_official, clock, why
):
    visit = log_visit(cadre_user, area.villages["a1v1"])
    if why == "approved":
        visit_approve(actor=county_official, visit=visit)
    else:
        clock.now += datetime.timedelta(days=7, minutes=1)
    client = client_as("cadre_user")

    detail = html_of(client.get(f"/visits/{visit.pk}/"))
    shown = client.get(f"/visits/{visit.pk}/edit/")
    posted = client.post(
        f"/visits/{visit.pk}/edit/", form_data(area.villages["a1v1"], people_reached="99")
    )

    assert f"/visits/{visit.pk}/edit/" not in detail
    assert "不能再修改" in detail
    for response in (shown, posted):
        assert response.status_code == 302 and response["Location"] == f"/visits/{visit.pk}/"
    visit.refresh_from_db()
    assert visit.people_reached == 10
    refusal = {
        "approved": "已审核通过的记录不能再修改。",
        "eight_days_old": "这条记录填报于 2024年6月20日，已超过 7 天，待审核期间不能再修改；"
        "如需更正，请联系审核人退回后再修改。",
    }[why]
    assert refusal in detail
    assert refusal in html_of(client.get(f"/visits/{visit.pk}/"))


def test_edit_errors_are_chinese_and_change_nothing(client_as, area, cadre_user):
    visit = log_visit(cadre_user, area.villages["a1v1"])

    response = client_as("cadre_user").post(
        f"/visits/{visit.pk}/edit/",
        form_data(area.villages["a1v1"], date="2024-06-25", activities=["household"]),
    )

    assert response.status_code == 200
    assert "日期不能晚于今天。" in html_of(response)
    visit.refresh_from_db()
    assert visit.date == TODAY
    assert list(visit.events.values_list("action", flat=True)) == ["submit"]


# ----- the cadre's home page -----


def test_home_shows_the_months_distinct_days_and_year_totals(
    client_as, area, cadre_user, county_official
):
    a1v1 = area.villages["a1v1"]
    for day in range(1, 9):
        log_visit(cadre_user, a1v1, datetime.date(2024, 6, day))
    # two half days on one date count as one day
    log_visit(cadre_user, a1v1, datetime.date(2024, 6, 12), day_part="half")
    log_visit(cadre_user, a1v1, datetime.date(2024, 6, 12), day_part="half", meetings=0)
    # a returned visit does not count; one in May counts for the year only
    returned = log_visit(cadre_user, a1v1, datetime.date(2024, 6, 15))
    visit_return(actor=county_official, visit=returned, comment="日期有误")
    may = log_visit(cadre_user, a1v1, datetime.date(2024, 5, 30), people_reached=100)
    Problem.objects.create(village=a1v1, visit=may, category="infrastructure", description="路灯")

    html = html_of(client_as("cadre_user").get("/"))

    assert re.search(r"本月已下沉 <span[^>]*>9/10</span> 天", html)
    assert '<progress max="10" value="9"' in html
    assert "还差 1 天" in html
    assert "2024年累计" in html
    totals = dict(re.findall(r'stat-label">([^<]+)</div><div class="stat-value">(\d+)<', html))
    assert totals == {
        "下沉天数": "10",
        "下沉次数": "11",
        "座谈会(场)": "10",
        "走访(人次)": "200",
        "入户(户)": "44",
        "收集问题": "1",
    }
    assert "待审核 11 条" in html
    assert "已退回 1 条" in html and "退回意见：日期有误" in html
    assert 'href="/visits/new/"' in html and "记一次下沉" in html
    assert "我的联系点" in html


def test_home_progress_follows_a_quarterly_rule(client_as, area, cadre_user):
    WorkdayRule.objects.create(
        required_days=25,
        period=WorkdayRule.Period.QUARTER,
        effective_from=datetime.date(2024, 1, 1),
    )
    log_visit(cadre_user, area.villages["a1v1"], datetime.date(2024, 4, 2))
    log_visit(cadre_user, area.villages["a1v1"], datetime.date(2024, 6, 2))

    html = html_of(client_as("cadre_user").get("/"))

    assert re.search(r"本季度已下沉 <span[^>]*>2/25</span> 天", html)
    assert "2024年第2季度" in html


def test_home_for_a_cadre_with_no_visits(client_as, area):
    html = html_of(client_as("township_cadre_user").get("/"))

    assert re.search(r"本月已下沉 <span[^>]*>0/10</span> 天", html)
    assert "待审核" not in html and "已退回" not in html
    assert "甲二街道" in html


# ----- query counts do not grow with the number of visits -----


def _queries(client, url) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured.captured_queries)


@pytest.mark.parametrize("url", ["/", "/visits/"])
def test_cadre_pages_query_count_is_constant(
    client_as, area, cadre_user, county_official, url, django_assert_max_num_queries
):
    a1v1 = area.villages["a1v1"]

    def add(days, comment):
        for day in days:
            visit = log_visit(cadre_user, a1v1, datetime.date(2024, 6, day))
            if day % 3 == 0:
                visit_return(actor=county_official, visit=visit, comment=comment)

    client = client_as("cadre_user")
    add(range(1, 4), "少")
    small = _queries(client, url)

    add(range(4, 20), "多")
    with django_assert_max_num_queries(small):
        assert client.get(url).status_code == 200
