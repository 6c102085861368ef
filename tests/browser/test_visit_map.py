"""The visits map in a real browser (Playwright driving Debian's Chromium) at desktop size:
鄢陵县张桥镇's official `township_zhangqiao` sees the day's visits drawn on a canvas over
鄢陵县's outline, and clicking the flagged visit's point opens that visit. Screenshots go to
the `screenshot_dir` fixture.
"""

import re
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from tests.browser_helpers import sign_in, watch_csp
from tests.factories import (
    AssignmentFactory,
    CadreFactory,
    CountyFactory,
    TownshipFactory,
    UserFactory,
    UserRoleFactory,
    VillageFactory,
)
from tests.visits.helpers import VisitFactory
from villages.models import County

pytestmark = [
    pytest.mark.browser,
    pytest.mark.filterwarnings("ignore:No directory at:UserWarning"),
]


@pytest.fixture
def zhangqiao(transactional_db):
    """张桥镇 of 鄢陵县 with two villages at points inside 鄢陵县's outline, the official
    `township_zhangqiao`, and today's visits: one at 裴庄村, one flagged 8 km away."""
    county = CountyFactory(code="411024", name="鄢陵县", kind=County.Kind.COUNTY)
    township = TownshipFactory(county=county, code="411024107", name="张桥镇")
    peizhuang = VillageFactory(
        township=township,
        code="411024107225",
        name="裴庄村",
        latitude=Decimal("34.100000"),
        longitude=Decimal("114.180000"),
    )
    VillageFactory(
        township=township,
        code="411024107210",
        name="大王庄村",
        latitude=Decimal("34.080000"),
        longitude=Decimal("114.150000"),
    )
    user = UserFactory(username="township_zhangqiao", first_name="张桥镇干部")
    user.set_password("demo12345")
    user.save()
    UserRoleFactory(user=user, role="township_official", township=township)
    cadre = CadreFactory(name="王帮扶")
    today = timezone.localdate()
    AssignmentFactory(cadre=cadre, village=peizhuang, year=today.year)
    on_site = VisitFactory(
        cadre=cadre,
        village=peizhuang,
        date=today,
        latitude=Decimal("34.101000"),
        longitude=Decimal("114.181000"),
        distance_km=Decimal("0.15"),
    )
    far = VisitFactory(
        cadre=cadre,
        village=peizhuang,
        date=today,
        latitude=Decimal("34.170000"),
        longitude=Decimal("114.100000"),
        distance_km=Decimal("10.12"),
        location_flag=True,
    )
    return {"on_site": on_site, "far": far}


def test_township_official_clicks_the_flagged_point_and_opens_the_visit(
    live_server, page, zhangqiao, screenshot_dir
):
    base = live_server.url
    violations = watch_csp(page)
    far = zhangqiao["far"]

    # given: signed in; the map from the menu
    sign_in(page, base, "township_zhangqiao")
    page.get_by_role("navigation").get_by_role("link", name="走访地图").click()
    expect(page).to_have_url(f"{base}/visits/map/")

    # then: the chart is drawn on a canvas, with today's counts and the flagged visit listed
    expect(page.locator("#visit-map canvas").first).to_be_visible()
    expect(page.locator("#visit-map[data-ready='1']")).to_have_count(1)
    expect(page.locator("[data-count=located]")).to_have_text("2")
    expect(page.locator("[data-count=flagged]")).to_have_text("1")
    flagged_table = page.locator("table.visit-map-flagged")
    expect(flagged_table.get_by_role("link", name="查看")).to_have_attribute(
        "href", f"/visits/{far.pk}/"
    )
    page.screenshot(path=str(screenshot_dir / "visit-map-desktop.png"), full_page=True)

    # when: the flagged point is clicked where the chart drew it
    spot = page.evaluate(f"window.visitMap.pixelOf({far.pk})")
    box = page.locator("#visit-map").bounding_box()
    assert box["x"] < spot["x"] < box["x"] + box["width"]
    assert box["y"] < spot["y"] < box["y"] + box["height"]
    page.mouse.click(spot["x"], spot["y"])

    # then: the visit opens
    expect(page).to_have_url(f"{base}/visits/{far.pk}/")
    expect(page.get_by_text(re.compile("王帮扶")).first).to_be_visible()

    # and the hook does what a click does
    page.goto(f"{base}/visits/map/")
    expect(page.locator("#visit-map[data-ready='1']")).to_have_count(1)
    page.evaluate(f"window.visitMap.open({zhangqiao['on_site'].pk})")
    expect(page).to_have_url(f"{base}/visits/{zhangqiao['on_site'].pk}/")
    assert violations == []
