"""A cadre on a 375-px phone, offline: a problem queued from the problem form and a visit
with one 发现问题 row queued from the visit form wait in the same queue; back online, the
server holds exactly one problem on its own and one visit with its one linked problem.
"""

import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from tests.browser import test_visit_offline as visit_offline
from tests.browser_helpers import watch_csp
from visits.models import Problem, Visit

# the visit queue's fixtures: a 375-px phone, and 裴庄村's cadre `cadre_peizhuang`
browser_context_args = visit_offline.browser_context_args
cadre = visit_offline.cadre
fill_visit, sign_in = visit_offline.fill_visit, visit_offline.sign_in

pytestmark = [
    pytest.mark.browser,
    pytest.mark.filterwarnings("ignore:No directory at:UserWarning"),
]


def test_a_problem_and_a_visit_with_a_found_problem_queued_offline_arrive_once(
    live_server, page, context, cadre, screenshot_dir
):
    base = live_server.url
    violations = watch_csp(page)
    sign_in(page, base)

    # given: the problem form opened, then the network gone
    page.goto(f"{base}/problems/new/")
    context.set_offline(True)

    # when: a problem is registered offline
    page.get_by_label("村(社区)").select_option(str(cadre["village"].pk))
    page.get_by_label("类别").select_option("infrastructure")
    page.get_by_label("问题描述").fill("村东头道路塌陷，雨天无法通行")
    page.get_by_role("button", name="登记").click()

    # then: it waits in the browser
    expect(page.get_by_text("1 条待上传")).to_be_visible()
    expect(page.get_by_text(re.compile("网络不通"))).to_be_visible()
    expect(page.get_by_label("问题描述")).to_have_value("")
    page.screenshot(path=str(screenshot_dir / "cadre_problem_offline_queued.png"), full_page=True)

    # when: the visit form is opened (the page needs the network until the service worker
    # of the app shell caches it; the server stays unreachable meanwhile), then offline
    # again a visit with one 发现问题 row is logged, after a row added and removed
    page.route("**/api/**", lambda route: route.abort("internetdisconnected"))
    context.set_offline(False)
    page.goto(f"{base}/visits/new/")
    expect(page.get_by_text("1 条待上传")).to_be_visible()
    context.set_offline(True)
    page.unroute("**/api/**")
    fill_visit(page, notes="入户走访，发现问题")
    add = page.get_by_role("button", name="+ 发现问题")
    add.click()
    add.click()
    rows = page.locator("[data-problem-list] [data-problem-row]")
    expect(rows).to_have_count(2)
    rows.nth(0).get_by_role("button", name="删除").click()
    expect(rows).to_have_count(1)
    row = rows.first
    expect(row.get_by_text("发现问题 1")).to_be_visible()
    row.get_by_label("问题类别").select_option("environment")
    page.screenshot(path=str(screenshot_dir / "cadre_visit_problem_row_375.png"), full_page=True)
    page.get_by_role("button", name="提交").click()

    # then: the missing description is named by its row, nothing queued yet
    expect(page.get_by_text("发现问题第1行：请填写问题描述。")).to_be_visible()
    row.get_by_label("问题描述").fill("垃圾堆放无人清运")
    page.get_by_role("button", name="提交").click()
    expect(page.get_by_text("2 条待上传")).to_be_visible()
    expect(rows).to_have_count(0)
    assert (Visit.objects.count(), Problem.objects.count()) == (0, 0)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375, f"the page scrolls sideways on a phone ({width}px)"

    # when: the network is back
    context.set_offline(False)

    # then: both arrive, once
    expect(page.locator("[data-queue-pending]")).to_be_hidden(timeout=10_000)
    expect(page.get_by_text(re.compile("已上传 2 条暂存的记录"))).to_be_visible()
    visit = Visit.objects.get()
    linked = visit.problems.get()
    alone = Problem.objects.get(visit__isnull=True)
    assert Problem.objects.count() == 2
    assert (linked.category, linked.description) == ("environment", "垃圾堆放无人清运")
    assert (alone.category, alone.village) == ("infrastructure", cadre["village"])
    assert visit.date == timezone.localdate()

    # and: the ledger shows where the visit's problem came from
    page.goto(f"{base}/problems/")
    source = page.locator(".problem-source")
    expect(source).to_have_count(1)
    expect(source.get_by_role("link")).to_have_attribute("href", f"/visits/{visit.pk}/")
    page.screenshot(
        path=str(screenshot_dir / "cadre_problem_ledger_source_375.png"), full_page=True
    )
    assert violations == []
