"""A cadre on a 375-px phone in a real browser (Playwright driving Debian's Chromium): log
a visit, lose the network, log another, get it uploaded when the network is back, and
never get two visits from one submission. Screenshots go to the `screenshot_dir` fixture.
"""

import datetime
import io
import re
import time
import uuid

import pytest
from django.utils import timezone
from PIL import Image
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
from playwright.sync_api import expect

from tests.browser_helpers import PHONE, peizhuang_cadre, watch_csp
from tests.browser_helpers import sign_in as browser_sign_in
from visits.models import Visit

pytestmark = [
    pytest.mark.browser,
    pytest.mark.filterwarnings("ignore:No directory at:UserWarning"),
]

PASSWORD = "demo12345"


@pytest.fixture
def browser_context_args(browser_context_args):
    """A phone: 375 × 800, touch."""
    return {**browser_context_args, **PHONE}


@pytest.fixture
def cadre(transactional_db):
    """裴庄村's 帮村 cadre `cadre_peizhuang`, linked for this whole year (covers today)."""
    return peizhuang_cadre(PASSWORD)


def sign_in(page, base_url):
    browser_sign_in(page, base_url, "cadre_peizhuang", PASSWORD)


def png(color=(30, 120, 60)) -> dict:
    out = io.BytesIO()
    Image.new("RGB", (1200, 900), color).save(out, format="PNG")
    return {"name": "现场.png", "mimeType": "image/png", "buffer": out.getvalue()}


def fill_visit(page, *, date=None, people="30", households="6", notes="入户走访"):
    if date is not None:
        page.get_by_label("日期").fill(date.isoformat())
    page.get_by_text("入户走访", exact=True).click()
    page.get_by_text("政策宣讲", exact=True).click()
    page.get_by_label("走访群众(人次)").fill(people)
    page.get_by_label("入户(户)").fill(households)
    page.get_by_label("工作记录").fill(notes)


def form_uuid(page) -> uuid.UUID:
    return uuid.UUID(page.locator('input[name="client_uuid"]').input_value())


def wait_until(page, condition, timeout=10.0):
    """Let Playwright run (route handlers only run inside its calls) until `condition()`."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        page.wait_for_timeout(100)


def month_progress(page, base_url, days: int):
    page.goto(f"{base_url}/")
    expect(page.get_by_text(re.compile(rf"本月已下沉\s*{days}/10\s*天"))).to_be_visible()


def test_visit_logged_online_then_offline_is_uploaded_once(
    live_server, page, context, cadre, screenshot_dir
):
    base = live_server.url
    violations = watch_csp(page)
    today = timezone.localdate()
    # the offline visit is on another day of this month when there is one, so the
    # month's progress visibly moves again
    second_day = today - datetime.timedelta(days=1) if today.day > 1 else today

    # given: signed in on a phone; nothing logged this month
    sign_in(page, base)
    expect(page.get_by_text(re.compile(r"本月已下沉\s*0/10\s*天"))).to_be_visible()
    page.get_by_role("link", name="记一次下沉").click()
    expect(page).to_have_url(f"{base}/visits/new/")
    expect(page.get_by_label("联系点")).to_have_value(str(cadre["village"].pk))
    expect(page.get_by_label("日期")).to_have_value(today.isoformat())
    first_uuid = form_uuid(page)

    # when: filling the form with a photo and the phone's location, and tapping 提交
    # twice in a row
    context.grant_permissions(["geolocation"])
    context.set_geolocation({"latitude": 34.0512341, "longitude": 113.9012349, "accuracy": 20})
    fill_visit(page, notes="走访脱贫户 6 户，宣讲医保政策。")
    page.get_by_role("button", name="获取定位").click()
    expect(page.get_by_text("已定位：34.051234, 113.901235（精度约 20 米）")).to_be_visible()
    page.locator("input[data-photo-input]:not([capture])").set_input_files(png())
    expect(page.locator("[data-photo-list] img")).to_have_count(1)
    page.screenshot(path=str(screenshot_dir / "cadre_visit_form_375.png"), full_page=True)
    page.get_by_role("button", name="提交").dblclick()

    # then: stored once, the form is fresh with a new id
    expect(page.get_by_text(re.compile("已保存：裴庄村"))).to_be_visible()
    visit = Visit.objects.get()
    assert visit.client_uuid == first_uuid
    assert visit.activities == ["household", "policy"]
    assert (visit.people_reached, visit.households_visited) == (30, 6)
    assert visit.photos.count() == 1
    assert (str(visit.latitude), str(visit.longitude)) == ("34.051234", "113.901235")
    assert form_uuid(page) != first_uuid
    expect(page.get_by_label("工作记录")).to_have_value("")
    expect(page.locator("[data-queue-pending]")).to_be_hidden()

    # when: the network drops and another visit is logged
    context.set_offline(True)
    fill_visit(page, date=second_day, people="12", households="3", notes="离线填报")
    offline_uuid = form_uuid(page)
    page.get_by_role("button", name="提交").click()

    # then: it waits in the browser, nothing reached the server
    expect(page.get_by_text("1 条待上传")).to_be_visible()
    expect(page.get_by_text(re.compile("网络不通"))).to_be_visible()
    assert Visit.objects.count() == 1
    page.screenshot(path=str(screenshot_dir / "cadre_visit_offline_queued.png"), full_page=True)

    # when: the network is back
    context.set_offline(False)

    # then: the queue empties by itself and the server holds exactly one visit for it
    expect(page.locator("[data-queue-pending]")).to_be_hidden(timeout=10_000)
    expect(page.get_by_text(re.compile("已上传 1 条"))).to_be_visible()
    assert Visit.objects.count() == 2
    uploaded = Visit.objects.get(client_uuid=offline_uuid)
    assert (uploaded.date, uploaded.people_reached, uploaded.notes) == (second_day, 12, "离线填报")

    # and: the month's progress moved
    month_progress(page, base, 2 if second_day != today else 1)
    expect(page.get_by_text("条待上传")).to_be_hidden()
    page.screenshot(path=str(screenshot_dir / "cadre_home_after_upload.png"), full_page=True)
    page.get_by_role("link", name="我的下沉记录").click()
    expect(page.get_by_text("共 2 条")).to_be_visible()
    expect(page.get_by_text("待审核")).to_have_count(2)
    page.screenshot(path=str(screenshot_dir / "cadre_visit_list_375.png"), full_page=True)
    page.locator(f'a[href="/visits/{visit.pk}/"]').click()
    expect(page.get_by_text("走访脱贫户 6 户，宣讲医保政策。")).to_be_visible()
    expect(page.get_by_role("link", name="编辑")).to_be_visible()
    page.screenshot(path=str(screenshot_dir / "cadre_visit_detail_375.png"), full_page=True)
    assert violations == []


def test_queue_survives_closing_the_tab_and_a_lost_answer(
    live_server, page, context, cadre, screenshot_dir
):
    base = live_server.url
    sign_in(page, base)
    page.goto(f"{base}/visits/new/")

    # given: a visit logged offline, then the tab closed
    context.set_offline(True)
    fill_visit(page, notes="关掉页面前填的")
    queued_uuid = form_uuid(page)
    page.get_by_role("button", name="提交").click()
    expect(page.get_by_text("1 条待上传")).to_be_visible()
    page.close()
    context.set_offline(False)

    # when: the cadre opens the list again, and the server's answer to the first upload
    # is lost on the way back (the server stored it, the phone does not know)
    again = context.new_page()
    answers = []

    def lose_first_answer(route):
        response = route.fetch()
        answers.append(response.status)
        if len(answers) == 1:
            route.abort("connectionreset")
        else:
            route.fulfill(response=response)

    again.route("**/api/visits/", lose_first_answer)
    again.goto(f"{base}/visits/")

    # then: still queued after the lost answer, although the server has it
    wait_until(again, lambda: answers)
    expect(again.get_by_text("1 条待上传")).to_be_visible()
    assert answers == [201]
    assert Visit.objects.filter(client_uuid=queued_uuid).count() == 1

    # when: 立即上传
    again.get_by_role("button", name="立即上传").click()

    # then: the server recognises the id (200), the queue empties, still one visit
    expect(again.locator("[data-queue-pending]")).to_be_hidden()
    assert answers == [201, 200]
    assert Visit.objects.count() == 1
    assert Visit.objects.get().notes == "关掉页面前填的"


def test_server_refusal_shows_chinese_errors_and_queues_nothing(live_server, page, cadre):
    base = live_server.url
    sign_in(page, base)
    page.goto(f"{base}/visits/new/")
    before = timezone.localdate().replace(month=1, day=1) - datetime.timedelta(days=1)

    # when: a date outside the cadre's 联系期, and no activity at first
    page.get_by_role("button", name="提交").click()
    expect(page.get_by_text("请至少选择一项工作内容。")).to_be_visible()
    fill_visit(page, date=before)
    page.get_by_role("button", name="提交").click()

    # then
    expect(page.get_by_text("该日期不在您对这个联系点的联系期内。")).to_be_visible()
    expect(page.locator("[data-queue-pending]")).to_be_hidden()
    expect(page.locator("[data-queue-rejected]")).to_be_hidden()
    assert Visit.objects.count() == 0
    expect(page.get_by_label("工作记录")).to_have_value("入户走访")


def test_a_queued_visit_the_server_refuses_waits_for_correction(live_server, page, context, cadre):
    base = live_server.url
    sign_in(page, base)
    page.goto(f"{base}/visits/new/")
    last_year = (
        timezone.localdate().replace(month=6, day=1).replace(year=timezone.localdate().year - 1)
    )

    # given: a visit queued offline whose date lies outside the cadre's 联系期
    context.set_offline(True)
    fill_visit(page, date=last_year, notes="日期填错了")
    queued_uuid = form_uuid(page)
    page.get_by_role("button", name="提交").click()
    expect(page.get_by_text("1 条待上传")).to_be_visible()

    # when: back online, but the server is still unreachable, the cadre opens the home page
    page.route("**/api/visits/", lambda route: route.abort("connectionrefused"))
    context.set_offline(False)
    page.goto(f"{base}/")

    # then: the badge is on the home page too
    expect(page.get_by_text("1 条待上传")).to_be_visible()

    # when: the server is reachable again and the cadre taps 立即上传
    page.unroute("**/api/visits/")
    flush = page.get_by_role("button", name="立即上传")
    try:
        flush.click(timeout=5000)
    except PlaywrightTimeoutError:
        # The queue's own retry (page visible again, or its timer) sent it first and
        # the button went away with the pending entry: the outcome below is the same.
        pass

    # then: refused with the reason; nothing stored; kept for correction
    rejected = page.locator("[data-queue-rejected]")
    expect(rejected.get_by_text(re.compile("该日期不在您对这个联系点的联系期内"))).to_be_visible()
    expect(page.locator("[data-queue-pending]")).to_be_hidden()
    assert Visit.objects.count() == 0

    # when: 修改 opens it in the form, the date is corrected and it is sent again
    rejected.get_by_role("link", name="修改").click()
    expect(page.get_by_label("工作记录")).to_have_value("日期填错了")
    expect(page.locator('[data-error-for="date"]')).to_have_text(
        "该日期不在您对这个联系点的联系期内。"
    )
    assert form_uuid(page) == queued_uuid
    page.get_by_label("日期").fill(timezone.localdate().isoformat())
    page.get_by_role("button", name="提交").click()

    # then: stored under the id it was first given, and nothing is left in the queue
    expect(page.get_by_text(re.compile("已保存：裴庄村"))).to_be_visible()
    expect(page.locator("[data-queue-rejected]")).to_be_hidden()
    assert Visit.objects.get().client_uuid == queued_uuid
