"""In a real browser (Playwright driving Debian's Chromium): `county_yanling` opens the
dashboard, sees the target cards and the drawn charts (canvas elements, no console error),
drills down to 张桥镇 and then 裴庄村, and downloads the Excel export; 长葛市's dashboard
is a 404 for them. On a phone the cards stack in one column."""

import datetime
import io
import re

import pytest
from openpyxl import load_workbook
from playwright.sync_api import expect

from dashboards.services import compute_snapshots, seed_plan_targets
from stars.models import StarTask, StarType
from stars.schemes import ensure_star_types
from tests.factories import (
    AssignmentFactory,
    CadreFactory,
    CountyFactory,
    RosterEntryFactory,
    RosterFactory,
    TownshipFactory,
    UserFactory,
    UserRoleFactory,
    VillageFactory,
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.filterwarnings("ignore:No directory at:UserWarning"),
]

PASSWORD = "demo12345"
YEAR = 2023


@pytest.fixture
def yanling(transactional_db):
    from tests.disputes.factories import DisputeFactory
    from tests.stars.factories import WeakCaseFactory, hold
    from tests.visits.helpers import VisitFactory

    ensure_star_types(StarType, StarTask)
    seed_plan_targets(year=YEAR)
    yanling = CountyFactory(code="411024", name="鄢陵县")
    changge = CountyFactory(code="411082", name="长葛市")
    zhangqiao = TownshipFactory(county=yanling, code="411024107", name="张桥镇")
    other = TownshipFactory(county=yanling, code="411024100", name="安陵镇")
    TownshipFactory(county=changge, code="411082100", name="长兴街道")
    zone = CountyFactory(code="411071", name="经开区", kind="zone")
    TownshipFactory(county=zone, code="411071001", name="长村张街道")
    roster = RosterFactory(year=YEAR)
    peizhuang = VillageFactory(township=zhangqiao, code="411024107225", name="裴庄村")
    villages = [peizhuang] + [VillageFactory(township=t) for t in (zhangqiao, other, other)]
    entries = [RosterEntryFactory(roster=roster, village=v) for v in villages]
    hold(entries[0].branch, "branch", "industry", "ecology", year=YEAR)
    hold(entries[2].branch, "branch", year=YEAR)
    WeakCaseFactory(branch=entries[3].branch, year=YEAR, identified_on=datetime.date(YEAR, 3, 1))
    DisputeFactory(
        village=peizhuang,
        registered_on=datetime.date(YEAR, 4, 2),
        status="resolved",
        resolved_on=datetime.date(YEAR, 4, 9),
    )
    DisputeFactory(
        village=villages[2], registered_on=datetime.date(YEAR, 5, 2), dispute_type="land"
    )
    cadre = CadreFactory(name="王帮扶")
    AssignmentFactory(cadre=cadre, village=peizhuang, year=YEAR)
    for day in range(1, 12):
        VisitFactory(cadre=cadre, village=peizhuang, date=datetime.date(YEAR, 3, day), meetings=1)
    user = UserFactory(username="county_yanling", first_name="鄢陵县干部")
    user.set_password(PASSWORD)
    user.save()
    UserRoleFactory(user=user, role="county_official", county=yanling)
    city = UserFactory(username="city", first_name="市级查看")
    city.set_password(PASSWORD)
    city.save()
    UserRoleFactory(user=city, role="city_viewer")
    compute_snapshots(year=YEAR)
    return {"yanling": yanling, "changge": changge, "zhangqiao": zhangqiao, "peizhuang": peizhuang}


def sign_in(page, base, username="county_yanling"):
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page).to_have_url(f"{base}/")


def test_county_official_drills_down_and_exports(live_server, page, yanling, screenshot_dir):
    base = live_server.url
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    sign_in(page, base)

    page.goto(f"{base}/dashboards/")
    expect(page.get_by_role("heading", name="鄢陵县 · 2023年度目标看板")).to_be_visible()
    cards = page.locator(".dash-card")
    expect(cards).to_have_count(9)
    three = page.locator('[data-indicator="three_star_plus_rate"]')
    expect(three).to_contain_text("25.00%")  # 1 of 4 branches has three stars
    expect(three).to_contain_text("不低于50.00%")
    expect(page.get_by_text("数据更新于")).to_be_visible()
    for chart in ("chart-bars", "chart-levels", "chart-trend", "chart-types"):
        expect(page.locator(f"#{chart} canvas")).to_have_count(1)
    page.screenshot(path=str(screenshot_dir / "dashboards-county.png"), full_page=True)

    page.locator("#league").get_by_role("link", name="张桥镇").click()
    expect(page.get_by_role("heading", name="张桥镇 · 2023年度目标看板")).to_be_visible()
    expect(page.locator("#chart-levels canvas")).to_have_count(1)
    page.locator("#league").get_by_role("link", name="裴庄村").click()
    expect(page.get_by_role("heading", name="裴庄村 · 2023年度目标看板")).to_be_visible()
    expect(page.get_by_text("本村(社区)党组织 2023 年度星级：3 星")).to_be_visible()
    expect(page.locator('[data-indicator="sanling_village_rate"]')).to_contain_text("100.0%")
    expect(page.get_by_role("link", name="张桥镇")).to_be_visible()  # breadcrumb back up

    with page.expect_download() as info:
        page.get_by_role("link", name="导出 Excel").click()
    download = info.value
    assert download.suggested_filename == "2023年裴庄村目标看板.xlsx"
    wb = load_workbook(io.BytesIO(open(download.path(), "rb").read()))
    assert wb.sheetnames[0] == "目标完成情况" and "三零村（社区）达标率" in wb.sheetnames

    assert errors == []  # no script error, no CSP violation, no missing file on the way
    response = page.goto(f"{base}/dashboards/county/{yanling['changge'].pk}/")
    assert response.status == 404
    expect(page.get_by_text("长葛市")).to_have_count(0)


def test_dashboard_reads_on_a_phone(live_server, browser, yanling, screenshot_dir):
    context = browser.new_context(
        locale="zh-CN", viewport={"width": 375, "height": 800}, is_mobile=True, has_touch=True
    )
    page = context.new_page()
    sign_in(page, live_server.url)
    page.goto(f"{live_server.url}/dashboards/county/{yanling['yanling'].pk}/")
    boxes = [page.locator(".dash-card").nth(i).bounding_box() for i in range(2)]
    assert boxes[0]["width"] > 300 and boxes[1]["y"] > boxes[0]["y"]  # one column
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    page.screenshot(path=str(screenshot_dir / "dashboards-phone.png"), full_page=True)
    context.close()


def test_city_map_colours_the_counties_and_lists_the_zone_beside_it(
    live_server, page, yanling, screenshot_dir
):
    base = live_server.url
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    sign_in(page, base, "city")
    page.goto(f"{base}/dashboards/")
    expect(page.get_by_role("heading", name="许昌市 · 2023年度目标看板")).to_be_visible()
    expect(page.locator("#chart-map canvas")).to_have_count(1)
    beside = page.locator("#map-extra a")
    expect(beside).to_have_count(1)  # 经开区 has no outline of its own
    expect(beside).to_contain_text("经开区")
    page.screenshot(path=str(screenshot_dir / "dashboards-city.png"), full_page=True)
    assert errors == []
    page.locator("#map-extra").get_by_role("link", name=re.compile("经开区")).click()
    expect(page.get_by_role("heading", name="经开区 · 2023年度目标看板")).to_be_visible()
