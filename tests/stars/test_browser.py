"""In a real browser (Playwright driving Debian's Chromium): `township_zhangqiao` declares
裴庄村党支部's 支部过硬星 and passes the first review; `county_yanling` finds it in 待我审核,
evaluates it and publishes it from today; 授星 is not offered during the 5-day 公示, and
once the server's clock has moved past it (time_machine) the county awards the star; the
star card then shows it held. No CSP violation on the way.

The server's clock is pinned (ticking) at 2025-06-10 09:00 (Asia/Shanghai), so the 公示
period never straddles a year end."""

import datetime
import re
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.utils import timezone
from playwright.sync_api import expect

from tests.browser_helpers import sign_in, watch_csp
from tests.factories import (
    CountyFactory,
    RosterEntryFactory,
    RosterFactory,
    TownshipFactory,
    UserFactory,
    UserRoleFactory,
    VillageFactory,
)
from tests.stars.factories import WeakCaseFactory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.filterwarnings("ignore:No directory at:UserWarning"),
]

PASSWORD = "demo12345"
START = datetime.datetime(2025, 6, 10, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


@pytest.fixture
def clock():
    with time_machine.travel(START, tick=True):
        yield


@pytest.fixture
def zhangqiao(transactional_db, clock):
    county = CountyFactory(code="411024", name="鄢陵县")
    township = TownshipFactory(county=county, code="411024107", name="张桥镇")
    village = VillageFactory(township=township, code="411024107225", name="裴庄村")
    entry = RosterEntryFactory(
        roster=RosterFactory(year=timezone.localdate().year), village=village
    )
    for username, label, role, area in (
        ("township_zhangqiao", "张桥镇干部", "township_official", {"township": township}),
        ("county_yanling", "鄢陵县干部", "county_official", {"county": county}),
    ):
        user = UserFactory(username=username, first_name=label)
        user.set_password(PASSWORD)
        user.save()
        UserRoleFactory(user=user, role=role, **area)
    return entry.branch


def test_township_applies_and_county_awards_the_star(
    live_server, page, browser, browser_context_args, zhangqiao, screenshot_dir
):
    base = live_server.url
    violations = watch_csp(page)
    card = f"{base}/stars/branches/{zhangqiao.pk}/"

    sign_in(page, base, "township_zhangqiao")
    page.goto(card)
    expect(page.get_by_role("heading", name="裴庄村党支部")).to_be_visible()
    slot = page.get_by_role("region", name="支部过硬星")
    expect(slot.get_by_text("未申报")).to_be_visible()
    slot.get_by_placeholder("申报说明（可选）").fill("对照标准自评达标")
    slot.get_by_role("button", name="申报").click()
    expect(page.get_by_text("支部过硬星已申报，等待乡镇初审。")).to_be_visible()
    slot = page.get_by_role("region", name="支部过硬星")
    expect(slot.locator(".award-state")).to_have_text("已申报")
    slot.get_by_role("button", name="初审通过").click()
    expect(slot.locator(".award-state")).to_have_text("乡镇已初审")
    expect(slot.get_by_role("button", name="评定通过")).to_have_count(0)  # the county's step
    page.get_by_role("button", name="退出").click()

    sign_in(page, base, "county_yanling")
    page.goto(f"{base}/stars/review/")
    expect(page.get_by_role("heading", name=re.compile("待我审核"))).to_be_visible()
    page.get_by_role("link", name="裴庄村党支部").click()
    slot = page.get_by_role("region", name="支部过硬星")
    slot.get_by_role("button", name="评定通过").click()
    expect(slot.locator(".award-state")).to_have_text("县级已评定")
    expect(slot.get_by_text("自办理当天起公示 5 天，期满后授星")).to_be_visible()
    slot.get_by_role("button", name="公示").click()
    expect(slot.locator(".award-state")).to_have_text("公示中")
    expect(slot.get_by_text("公示：2025-06-10 至 2025-06-15（公示中）")).to_be_visible()
    expect(slot.get_by_role("button", name="授星")).to_have_count(0)
    expect(slot.get_by_text("公示期至 2025-06-15 截止，期满后由县级授星。")).to_be_visible()

    with time_machine.travel(START + datetime.timedelta(days=5), tick=True):
        page.reload()
        slot = page.get_by_role("region", name="支部过硬星")
        slot.get_by_role("button", name="授星").click()

        expect(page.get_by_text("支部过硬星：已授星。")).to_be_visible()
        expect(slot.locator(".award-state")).to_have_text("已授星")
        expect(page.locator(".star-level-number")).to_have_text("1")
        expect(page.locator(".held-badges .star-held")).to_have_text("★ 支部过硬星")
        history = page.locator(".star-history tbody tr")
        expect(history).to_have_count(5)
        expect(history.first).to_contain_text("授星")
        page.screenshot(path=str(screenshot_dir / "stars-card-awarded.png"), full_page=True)

    # the level distribution counts it, and its chart draws under the CSP
    page.goto(f"{base}/stars/")
    expect(page.locator(".level-table tbody tr")).to_have_count(1)
    expect(page.locator(".level-table tbody tr")).to_contain_text("张桥镇")
    expect(page.locator(".chart canvas")).to_have_count(1)
    page.goto(f"{base}/stars/board/")
    expect(page.locator(".star-board .cell-held")).to_have_count(1)

    # and: every 五星支部 page on a 375-px phone, same session, without sideways scrolling
    WeakCaseFactory(
        branch=zhangqiao, year=timezone.localdate().year, identified_on=timezone.localdate()
    )
    phone = browser.new_context(
        **{**browser_context_args, "viewport": {"width": 375, "height": 800}},
        storage_state=page.context.storage_state(),
    )
    try:
        mobile = phone.new_page()
        violations += watch_csp(mobile)
        for path, text in (
            (f"/stars/branches/{zhangqiao.pk}/", "裴庄村党支部"),
            ("/stars/", "五星支部星级分布"),
            ("/stars/board/", "评星台账"),
            ("/stars/review/", "待我审核"),
            ("/stars/weak/", "软弱涣散村党组织整顿"),
            ("/stars/years/", "年度评定与规则"),
        ):
            mobile.goto(f"{base}{path}")
            expect(mobile.get_by_role("heading", name=re.compile(text)).first).to_be_visible()
            width = mobile.evaluate("document.documentElement.scrollWidth")
            assert width <= 375, f"{path} scrolls sideways on a phone ({width}px)"
        mobile.goto(f"{base}/stars/branches/{zhangqiao.pk}/")
        mobile.screenshot(path=str(screenshot_dir / "stars-card-phone.png"), full_page=True)
    finally:
        phone.close()
    assert violations == []
