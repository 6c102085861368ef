"""The demo lives in the present: on a day that is not in 2023, `cadre_peizhuang` on a
375-px phone finds the form pre-filled with today, logs a visit, sees the month's progress
move, and fixes and resubmits a visit the demo had returned to him.

"Today" is pinned on both sides: the server's clock (time-machine, which the live server's
thread shares) and the browser's (Playwright's clock), to a Wednesday in June 2025. The
demo (villages and visits) is seeded under that clock, as `make run` would seed it on that
day."""

import datetime
import re

import pytest
import time_machine
from django.core.management import call_command
from playwright.sync_api import expect

from tests.browser_helpers import PHONE, sign_in, watch_csp
from villages.models import Cadre, ProgrammeYear
from visits.models import Visit

pytestmark = [
    pytest.mark.embedded_pass,
    pytest.mark.browser,
    pytest.mark.filterwarnings("ignore:No directory at:UserWarning"),
]

NOW = datetime.datetime(2025, 6, 18, 9, 30, tzinfo=datetime.timezone(datetime.timedelta(hours=8)))
TODAY = NOW.date()


@pytest.fixture
def browser_context_args(browser_context_args):
    """A phone: 375 × 800, touch."""
    return {**browser_context_args, **PHONE}


@pytest.fixture
def present_demo(transactional_db):
    with time_machine.travel(NOW, tick=False):
        call_command("seed_demo", "--apps", "villages", "visits", verbosity=0)
        yield


def test_cadre_logs_today_and_fixes_a_returned_visit(
    present_demo, live_server, page, screenshot_dir
):
    base = live_server.url
    page.clock.set_fixed_time(NOW)
    violations = watch_csp(page)
    cadre = Cadre.objects.get(user__username="cadre_peizhuang")
    assert ProgrammeYear.objects.get(year=2025).status == "open"
    days_before = len(
        set(
            Visit.objects.filter(
                cadre=cadre, date__year=2025, date__month=6, date__lte=TODAY
            ).values_list("date", flat=True)
        )
    )
    assert days_before < 10
    assert not Visit.objects.filter(cadre=cadre, date=TODAY).exists()
    returned = (
        Visit.objects.filter(cadre=cadre, state=Visit.State.RETURNED).order_by("date").first()
    )
    assert returned is not None, "the demo returns some of 裴庄村's visits"

    # given: signed in on the pinned day
    sign_in(page, base, "cadre_peizhuang")
    expect(page.get_by_text(re.compile(rf"本月已下沉\s*{days_before}/10\s*天"))).to_be_visible()
    page.screenshot(path=str(screenshot_dir / "present_cadre_home.png"), full_page=True)

    # when: logging a visit
    page.get_by_role("link", name="记一次下沉").click()
    expect(page.get_by_label("日期")).to_have_value(TODAY.isoformat())
    expect(page.get_by_text("联系期已于")).to_have_count(0)
    page.get_by_text("入户走访", exact=True).click()
    page.get_by_label("走访群众(人次)").fill("18")
    page.get_by_label("入户(户)").fill("5")
    page.get_by_label("工作记录").fill("走访裴庄村脱贫户，了解夏粮收购情况。")
    page.get_by_role("button", name="提交").click()

    # then: saved for today, and the month's progress moved by one day
    expect(page.get_by_text(re.compile("已保存：裴庄村"))).to_be_visible()
    assert Visit.objects.filter(cadre=cadre, date=TODAY).count() == 1
    page.goto(f"{base}/")
    expect(page.get_by_text(re.compile(rf"本月已下沉\s*{days_before + 1}/10\s*天"))).to_be_visible()

    # when: opening the returned visit from the home page, fixing and resubmitting it
    page.locator(f'a[href="/visits/{returned.pk}/"]').first.click()
    page.get_by_role("link", name="编辑").click()
    page.get_by_label("工作记录").fill("已按退回意见补充：座谈会 1 场，参会群众 12 人。")
    page.screenshot(path=str(screenshot_dir / "present_returned_edit.png"), full_page=True)
    page.get_by_role("button", name=re.compile("提交|保存")).click()

    # then: it waits for review again with the fixed text
    returned.refresh_from_db()
    assert returned.state == Visit.State.SUBMITTED
    assert "已按退回意见补充" in returned.notes
    page.goto(f"{base}/")
    expect(page.get_by_text(re.compile(r"本月已下沉"))).to_be_visible()
    returned_card = page.locator(".card.border-danger")
    expect(returned_card.locator(f'a[href="/visits/{returned.pk}/"]')).to_have_count(0)
    page.goto(f"{base}/visits/{returned.pk}/")
    expect(page.get_by_text("待审核").first).to_be_visible()
    page.screenshot(path=str(screenshot_dir / "present_cadre_home_after.png"), full_page=True)
    assert violations == []
