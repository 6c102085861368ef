"""A new cadre and their official on 375-px phones in a real browser (Playwright driving
Debian's Chromium): the cadre signs in with the first password the roster import handed
out, is made to change it, then logs a visit; an official of the county resets the cadre's
password, which signs the cadre's browser out, and the one-time password must be changed
again. Screenshots go to the `screenshot_dir` fixture."""

import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from accounts.models import Account, AccountEvent, UserSession
from accounts.services import issued_password_hash
from tests.browser_helpers import PHONE as PHONE_CONTEXT
from tests.browser_helpers import sign_in as browser_sign_in
from tests.browser_helpers import watch_csp
from tests.factories import (
    AssignmentFactory,
    CadreFactory,
    CountyFactory,
    TownshipFactory,
    UserFactory,
    UserRoleFactory,
    VillageFactory,
)
from visits.models import Visit

pytestmark = [
    pytest.mark.browser,
    pytest.mark.filterwarnings("ignore:No directory at:UserWarning"),
]

FIRST_PASSWORD = "Kp7mQ2xR9z"  # as accounts.passwords.generate_password draws them
CHOSEN = "Bangcun#2026"
CHOSEN_AGAIN = "Lianxiang#2027"
OFFICIAL_PASSWORD = "Yanling#2026"
PHONE = "13700001234"


@pytest.fixture
def browser_context_args(browser_context_args):
    """A phone: 375 × 800, touch."""
    return {**browser_context_args, **PHONE_CONTEXT}


@pytest.fixture
def world(transactional_db):
    """鄢陵县张桥镇裴庄村; a new 帮村 cadre opened as the cadre roster import opens one
    (login named by the phone, first password handed out and to be changed, linked to the
    village for this whole year); and `county_yanling`, the county's official."""
    county = CountyFactory(code="411024", name="鄢陵县")
    township = TownshipFactory(county=county, code="411024107", name="张桥镇")
    village = VillageFactory(township=township, code="411024107225", name="裴庄村")
    person = CadreFactory(name="王新帮", phone=PHONE)
    user = UserFactory(username=PHONE, first_name=person.name)
    user.password = issued_password_hash(FIRST_PASSWORD)
    user.save()
    UserRoleFactory(user=user, role="cadre")
    person.user = user
    person.save(update_fields=["user"])
    Account.objects.create(
        user=user,
        phone=PHONE,
        source=Account.Source.CADRE_ROSTER,
        must_change_password=True,
        first_password_issued_at=timezone.now(),
    )
    AssignmentFactory(cadre=person, village=village, year=timezone.localdate().year)
    official = UserFactory(username="county_yanling", first_name="鄢陵县干部")
    official.set_password(OFFICIAL_PASSWORD)
    official.save()
    UserRoleFactory(user=official, role="county_official", county=county)
    return {"user": user, "cadre": person, "village": village, "official": official}


def sign_in_to_change(page, base, password, notice):
    """Sign in as the cadre and land on the password change, with `notice` shown."""
    page.goto(f"{base}/accounts/login/")
    page.get_by_label("用户名").fill(PHONE)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录").click()
    expect(page).to_have_url(f"{base}/me/password/")
    expect(page.get_by_text(notice)).to_be_visible()


def change_password(page, base, old, new):
    page.get_by_label("原密码").fill(old)
    page.get_by_label("新密码", exact=True).fill(new)
    page.get_by_label("再次输入新密码").fill(new)
    page.get_by_role("button", name="确认修改").click()
    expect(page).to_have_url(f"{base}/")
    expect(page.get_by_text("密码已修改。其他设备上的登录已退出。")).to_be_visible()


def cadre_signed_in_with_a_changed_password(page, base):
    sign_in_to_change(page, base, FIRST_PASSWORD, "首次登录，请先修改密码。")
    change_password(page, base, FIRST_PASSWORD, CHOSEN)


def test_new_cadre_changes_the_first_password_then_logs_a_visit(
    live_server, page, world, screenshot_dir
):
    base = live_server.url
    violations = watch_csp(page)

    # when: the cadre signs in with the first password from the slip
    sign_in_to_change(page, base, FIRST_PASSWORD, "首次登录，请先修改密码。")
    page.screenshot(path=str(screenshot_dir / "cadre_first_login_375.png"), full_page=True)

    # then: nothing else opens before the password is changed
    page.goto(f"{base}/visits/new/")
    expect(page).to_have_url(f"{base}/me/password/")

    # when: a weak password is tried, then a good one
    page.get_by_label("原密码").fill(FIRST_PASSWORD)
    page.get_by_label("新密码", exact=True).fill("12345678")
    page.get_by_label("再次输入新密码").fill("12345678")
    page.get_by_role("button", name="确认修改").click()
    expect(page.get_by_text(re.compile("四类中的至少 3 类"))).to_be_visible()
    page.screenshot(path=str(screenshot_dir / "cadre_weak_password_375.png"), full_page=True)
    change_password(page, base, FIRST_PASSWORD, CHOSEN)

    # then: the portal opens, and a visit is logged
    account = Account.objects.get(user=world["user"])
    assert account.must_change_password is False and account.password_changed_at
    page.get_by_role("link", name="记一次下沉").click()
    expect(page).to_have_url(f"{base}/visits/new/")
    expect(page.get_by_label("联系点")).to_have_value(str(world["village"].pk))
    page.get_by_text("入户走访", exact=True).click()
    page.get_by_label("走访群众(人次)").fill("20")
    page.get_by_label("入户(户)").fill("5")
    page.get_by_label("工作记录").fill("第一次下沉：走访脱贫户 5 户。")
    page.get_by_role("button", name="提交").click()
    expect(page.get_by_text(re.compile("已保存：裴庄村"))).to_be_visible()
    page.screenshot(path=str(screenshot_dir / "cadre_first_visit_375.png"), full_page=True)
    visit = Visit.objects.get()
    assert (visit.cadre_id, visit.village_id) == (world["cadre"].pk, world["village"].pk)
    assert visit.notes == "第一次下沉：走访脱贫户 5 户。"
    assert violations == []


def test_official_reset_signs_the_cadre_out_and_forces_a_change_again(
    live_server, page, browser, browser_context_args, world, screenshot_dir
):
    base = live_server.url
    user = world["user"]

    # given: the cadre has changed the first password and is signed in on their phone
    cadre_signed_in_with_a_changed_password(page, base)
    page.goto(f"{base}/visits/new/")
    expect(page).to_have_url(f"{base}/visits/new/")

    # when: the county's official, on their own phone, resets the cadre's password
    official_context = browser.new_context(**browser_context_args)
    try:
        official = official_context.new_page()
        official_violations = watch_csp(official)
        browser_sign_in(official, base, "county_yanling", OFFICIAL_PASSWORD)
        # the login's page holds the reset form, which posts to accounts:account_reset
        official.goto(f"{base}/accounts/manage/{user.pk}/")
        reset = official.locator(f'form[action="/accounts/manage/{user.pk}/reset/"]')
        reset.locator('[name="reason"]').fill("干部忘记密码，电话申请重置")
        official.screenshot(path=str(screenshot_dir / "official_reset_form_375.png"))
        reset.locator('[type="submit"]').click()
        one_time = official.locator("#one-time-password")
        expect(one_time).to_be_visible()
        one_time_password = one_time.inner_text().strip()
        official.screenshot(
            path=str(screenshot_dir / "official_reset_result_375.png"), full_page=True
        )
        assert official_violations == []
    finally:
        official_context.close()

    # then: the reset is in the account log with its reason, and the cadre's sessions ended
    assert re.fullmatch(r"\S{8,}", one_time_password)
    assert AccountEvent.objects.filter(
        kind=AccountEvent.Kind.PASSWORD_RESET,
        user=user,
        actor=world["official"],
        reason="干部忘记密码，电话申请重置",
    ).exists()
    assert not UserSession.objects.filter(user=user, ended_at__isnull=True).exists()

    # and: the cadre's next tap lands on the login page
    page.goto(f"{base}/visits/new/")
    expect(page).to_have_url(re.compile(rf"^{re.escape(base)}/accounts/login/"))
    page.screenshot(path=str(screenshot_dir / "cadre_signed_out_after_reset_375.png"))

    # and: the old password no longer works; the one-time one must be changed at once
    page.get_by_label("用户名").fill(PHONE)
    page.get_by_label("密码").fill(CHOSEN)
    page.get_by_role("button", name="登录").click()
    expect(page).to_have_url(re.compile(rf"^{re.escape(base)}/accounts/login/"))
    sign_in_to_change(page, base, one_time_password, "密码已被重置，请先修改密码。")
    page.goto(f"{base}/visits/new/")
    expect(page).to_have_url(f"{base}/me/password/")
    change_password(page, base, one_time_password, CHOSEN_AGAIN)
    page.goto(f"{base}/visits/new/")
    expect(page).to_have_url(f"{base}/visits/new/")
    assert Account.objects.get(user=user).must_change_password is False
