"""A county official in a real browser (Playwright driving Debian's Chromium): sign in,
see only their county's villages, filter with htmx under the CSP, and stay usable on a
375-px-wide phone. Screenshots go to the `screenshot_dir` fixture (tests/conftest.py).
"""

import re

import pytest
from playwright.sync_api import expect

from tests.browser_helpers import sign_in as browser_sign_in
from tests.browser_helpers import watch_csp
from tests.factories import (
    CountyFactory,
    TownshipFactory,
    UserFactory,
    UserRoleFactory,
    VillageFactory,
)
from villages.models import County, Village

pytestmark = [
    pytest.mark.browser,
    pytest.mark.filterwarnings("ignore:No directory at:UserWarning"),
]

PASSWORD = "demo12345"


@pytest.fixture
def yanling(transactional_db):
    """鄢陵县 (4 villages: 3 行政村, 1 农村社区) and 长葛市 (王买村), plus the user
    `county_yanling`, county official of 鄢陵县."""
    yanling = CountyFactory(code="411024", name="鄢陵县", kind=County.Kind.COUNTY)
    zhangqiao = TownshipFactory(county=yanling, code="411024107", name="张桥镇")
    bailiang = TownshipFactory(county=yanling, code="411024102", name="柏梁镇")
    villages = {
        "裴庄村": VillageFactory(
            township=zhangqiao, code="411024107225", name="裴庄村", kind=Village.Kind.VILLAGE
        ),
        "大王庄村": VillageFactory(
            township=zhangqiao, code="411024107210", name="大王庄村", kind=Village.Kind.VILLAGE
        ),
        "张桥社区": VillageFactory(
            township=zhangqiao,
            code="411024107001",
            name="张桥社区",
            kind=Village.Kind.RURAL_COMMUNITY,
        ),
        "柏梁村": VillageFactory(
            township=bailiang, code="411024102201", name="柏梁村", kind=Village.Kind.VILLAGE
        ),
    }
    changge = CountyFactory(code="411082", name="长葛市", kind=County.Kind.CITY)
    houhe = TownshipFactory(county=changge, code="411082104", name="后河镇")
    wangmai = VillageFactory(township=houhe, code="411082104212", name="王买村")

    user = UserFactory(username="county_yanling", first_name="鄢陵县干部")
    user.set_password(PASSWORD)
    user.save()
    UserRoleFactory(user=user, role="county_official", county=yanling)
    return {"county": yanling, "villages": villages, "other_village": wangmai}


def sign_in(page, base_url):
    browser_sign_in(page, base_url, "county_yanling", PASSWORD)


def test_county_official_sees_only_their_county(
    live_server, page, browser, browser_context_args, yanling, screenshot_dir
):
    base = live_server.url
    violations = watch_csp(page)

    # given: signed in through the real form
    sign_in(page, base)
    expect(page.get_by_role("heading", name=re.compile("鄢陵县概况"))).to_be_visible()

    # when: the village list, from the menu
    page.get_by_role("navigation").get_by_role("link", name="村(社区)", exact=True).click()

    # then: only 鄢陵县
    expect(page).to_have_url(f"{base}/villages/")
    table = page.locator("#village-table")
    expect(table.get_by_role("link", name="裴庄村")).to_be_visible()
    expect(table.get_by_text("411024107225")).to_be_visible()
    expect(page.get_by_text("王买村")).to_have_count(0)
    expect(page.get_by_text("长葛市")).to_have_count(0)
    county_villages = len(yanling["villages"])
    expect(page.get_by_text(f"共 {county_villages} 个村(社区)")).to_be_visible()
    expect(table.locator("tbody tr")).to_have_count(county_villages)

    # when: filtering by type (htmx swaps the table in place)
    page.get_by_label("类型").select_option(label="农村社区")

    # then
    expect(page.get_by_text("共 1 个村(社区)")).to_be_visible()
    expect(table.get_by_role("link", name="张桥社区")).to_be_visible()
    expect(table.get_by_role("link", name="裴庄村")).to_have_count(0)
    expect(page).to_have_url(re.compile(r"kind=rural_community"))
    page.screenshot(path=str(screenshot_dir / "county_yanling_villages.png"), full_page=True)

    # when: going straight to the other county's village
    response = page.goto(f"{base}/villages/{yanling['other_village'].pk}/")

    # then
    assert response.status == 404
    expect(page.get_by_text("页面或记录不存在")).to_be_visible()
    expect(page.get_by_text("王买村")).to_have_count(0)

    # and: the home page on a 375-px phone, same session
    phone = browser.new_context(
        **{**browser_context_args, "viewport": {"width": 375, "height": 800}},
        storage_state=page.context.storage_state(),
    )
    try:
        mobile = phone.new_page()
        violations += watch_csp(mobile)
        mobile.goto(f"{base}/")
        expect(mobile.get_by_role("heading", name=re.compile("鄢陵县概况"))).to_be_visible()
        expect(mobile.get_by_role("button", name="展开菜单")).to_be_visible()
        expect(mobile.get_by_role("link", name="张桥镇")).to_be_visible()
        scroll_width = mobile.evaluate("document.documentElement.scrollWidth")
        assert scroll_width <= 375, f"the page scrolls sideways on a phone ({scroll_width}px)"
        expect(mobile.locator("[data-chart] canvas")).to_have_count(1)
        mobile.wait_for_timeout(1100)  # let ECharts finish its 1 s entry animation
        mobile.screenshot(
            path=str(screenshot_dir / "county_yanling_home_phone.png"), full_page=True
        )
    finally:
        phone.close()

    assert violations == []
