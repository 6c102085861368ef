"""In a real browser (Playwright driving Debian's Chromium): `cadre_peizhuang` registers a
dispute in 裴庄村 on a phone, and `county_yanling` finds it in the county ledger and marks
it resolved. Screenshots go to the `screenshot_dir` fixture."""

import datetime

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from disputes.models import Dispute
from tests.browser_helpers import PHONE, sign_in
from tests.factories import (
    AssignmentFactory,
    CadreFactory,
    CountyFactory,
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


@pytest.fixture
def browser_context_args(browser_context_args):
    return {**browser_context_args, **PHONE}


def _login_user(username, first_name, role, **area):
    user = UserFactory(username=username, first_name=first_name)
    user.set_password(PASSWORD)
    user.save()
    UserRoleFactory(user=user, role=role, **area)
    return user


@pytest.fixture
def yanling(transactional_db):
    county = CountyFactory(code="411024", name="鄢陵县")
    other = CountyFactory(code="411082", name="长葛市")
    township = TownshipFactory(county=county, code="411024107", name="张桥镇")
    village = VillageFactory(township=township, code="411024107225", name="裴庄村")
    VillageFactory(township=township, code="411024107226", name="前庄村")
    VillageFactory(
        township=TownshipFactory(county=other, code="411082100"),
        code="411082100201",
        name="长葛某村",
    )
    cadre_user = _login_user("cadre_peizhuang", "裴庄村帮扶干部", "cadre")
    person = CadreFactory(name="王帮扶", user=cadre_user)
    AssignmentFactory(cadre=person, village=village, year=timezone.localdate().year)
    county_user = _login_user("county_yanling", "鄢陵县干部", "county_official", county=county)
    return {"village": village, "cadre": cadre_user, "county": county_user}


def assert_fits_the_phone(page):
    """Nothing runs off a 375 px screen sideways (tables scroll inside their own box)."""
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, f"{page.url} is {width}px wide on a 375px phone"


def test_cadre_registers_and_county_resolves(live_server, page, context, yanling, screenshot_dir):
    base = live_server.url
    violations: list[str] = []
    page.on(
        "console",
        lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None,
    )
    today = timezone.localdate()

    # the cadre, on a phone, registers a dispute in 裴庄村
    sign_in(page, base, "cadre_peizhuang")
    page.goto(f"{base}/disputes/disputes/")
    page.get_by_role("link", name="登记矛盾纠纷").click()
    village = page.get_by_label("村(社区)")
    expect(village.locator("option")).to_have_count(2)  # 请选择 + 裴庄村 only
    village.select_option(label="张桥镇 · 裴庄村")
    page.get_by_label("纠纷类型").select_option(label="房屋宅基地纠纷")
    page.get_by_label("来源").select_option(label="主动排查")
    expect(page.get_by_label("排查日期")).to_have_value(today.isoformat())
    page.get_by_label("简要情况").fill("两户因宅基地边界发生争执，需现场测量。")
    page.locator("#id_parties").fill("张三、李四")
    page.get_by_label("当事人联系电话").fill("13812345678")
    page.get_by_label("涉及人数").fill("2")
    page.get_by_label("风险等级").select_option(label="黄色")
    page.get_by_label("化解责任人/单位").fill("村调委会")
    page.screenshot(path=str(screenshot_dir / "disputes-cadre-form.png"), full_page=True)
    assert_fits_the_phone(page)
    for field in ("#id_village", "#id_summary", "#id_responsible"):
        box = page.locator(field).bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 375, field
    page.get_by_role("button", name="登记").click()
    expect(page.get_by_text("矛盾纠纷已登记。")).to_be_visible()
    expect(page.get_by_text("138****5678")).to_be_visible()  # a cadre sees the number masked
    assert_fits_the_phone(page)
    page.goto(f"{base}/disputes/disputes/")
    expect(page.locator("tr.dispute-row")).to_have_count(1)
    assert_fits_the_phone(page)
    dispute = Dispute.objects.get()
    assert dispute.village == yanling["village"] and dispute.created_by == yanling["cadre"]
    context.clear_cookies()  # sign out (the phone's menu is collapsed)

    # the county official sees it in the county ledger and marks it resolved
    page.set_viewport_size({"width": 1280, "height": 900})
    sign_in(page, base, "county_yanling")
    page.goto(f"{base}/disputes/disputes/")
    row = page.locator("tr.dispute-row", has_text="裴庄村")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("登记")
    row.get_by_role("link", name="房屋宅基地纠纷").click()
    expect(page.get_by_text("13812345678")).to_be_visible()  # officials of the area see it
    page.get_by_label("化解状态").select_option(label="已化解")
    page.get_by_label("化解方式").select_option(label="人民调解")
    page.get_by_label("化解措施").fill("现场测量后双方签订调解协议")
    page.locator("#id_resolved_on").fill(today.isoformat())
    page.get_by_role("button", name="保存办理情况").click()
    expect(page.get_by_text("已保存。")).to_be_visible()
    expect(page.locator(".dispute-status")).to_have_text("已化解")
    page.screenshot(path=str(screenshot_dir / "disputes-county-resolved.png"), full_page=True)
    dispute.refresh_from_db()
    assert dispute.status == "resolved" and dispute.resolved_on == today
    page.goto(f"{base}/disputes/disputes/")
    expect(page.locator('[data-stat="rate"]')).to_have_text("100.0%")
    assert violations == []
    assert dispute.registered_on <= today <= today + datetime.timedelta(days=1)
