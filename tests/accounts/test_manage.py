"""账号管理 (issue 16, points 2-4): the officials' account list, resets and deactivation with
a reason that is kept, the first-password sheets (开通通知), and the city admin's account log.

The world is tests/conftest.py's: county A (甲县: townships A1, A2) and county B (乙县)."""

import datetime
import io
import re
from urllib.parse import unquote

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from accounts import services
from accounts.models import Account, AccountEvent, CredentialSheet
from accounts.tasks import credential_sheets_wipe_due
from core.models import ExportJob
from tests.factories import AssignmentFactory, CadreFactory, UserRoleFactory
from villages.models import UserRole

pytestmark = pytest.mark.django_db

User = get_user_model()
NOW = datetime.datetime(2024, 6, 3, 9, 0, tzinfo=datetime.UTC)
MANAGERS = ("city_admin", "county_official", "other_county_official", "township_official")
NOT_MANAGERS = ("city_viewer", "cadre_user", "township_cadre_user", "no_role_user")
SIGNED_IN = (*MANAGERS, *NOT_MANAGERS)


def opened_login(cadre, username: str | None = None):
    """A cadre's login as the roster import opens it: no password yet, an Account waiting
    for its first password."""
    user = User(username=username or cadre.phone, first_name=cadre.name)
    user.set_unusable_password()
    user.save()
    UserRoleFactory(user=user, role=UserRole.Role.CADRE)
    cadre.user = user
    cadre.save(update_fields=["user"])
    Account.objects.create(user=user, phone=cadre.phone, source=Account.Source.CADRE_ROSTER)
    return user


def can_sign_in(username: str, password: str) -> bool:
    response = Client().post("/accounts/login/", {"username": username, "password": password})
    return response.status_code == 302


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def one_time_password(response) -> str:
    found = re.search(r'id="one-time-password">([^<]+)<', response.content.decode())
    assert found, "no one-time password on the page"
    return found.group(1)


def first_passwords(sheet) -> dict[str, str]:
    from accounts.selectors import credential_sheet_rows

    return {row["username"]: row["password"] for row in credential_sheet_rows(sheet)}


@pytest.fixture
def b_cadre(area):
    """A login in county B (a cadre of b1v1): out of county A's reach."""
    return opened_login(area.cadres["b1v1"], "b1v1-login")


@pytest.fixture
def a_cadre(area):
    """A login in county A, township A1 (a cadre linked to a1v2), waiting for its first
    password."""
    cadre = CadreFactory(name="甲一二干部", work_unit=area.units["A"])
    AssignmentFactory(cadre=cadre, village=area.villages["a1v2"])
    return opened_login(cadre, "a1v2-login")


# ----- who may open what -----


@pytest.mark.parametrize("who", SIGNED_IN)
def test_account_list_is_for_officials_and_city_admins_only(who, users):
    response = signed_in(users[who]).get(reverse("accounts:account_list"))

    assert response.status_code == (200 if who in MANAGERS else 404)


@pytest.mark.parametrize("who", SIGNED_IN)
def test_account_log_is_for_the_city_admin_only(who, users):
    response = signed_in(users[who]).get(reverse("accounts:event_list"))

    assert response.status_code == (200 if who == "city_admin" else 404)


def test_signed_out_visitors_are_sent_to_sign_in(area):
    for name in ("accounts:account_list", "accounts:event_list"):
        response = Client().get(reverse(name))
        assert response.status_code == 302 and "/accounts/login/" in response["Location"]


# Each address about a login, and how it is asked for.
ACCOUNT_ENDPOINTS = (
    ("accounts:account_detail", "get", {}),
    ("accounts:account_reset", "post", {"reason": "核实后重置"}),
    ("accounts:account_active", "post", {"reason": "调离", "active": "0"}),
)
# Who reaches county B's cadre: everyone else gets a 404 (and nothing changes).
REACHES_B = {"city_admin", "other_county_official"}


@pytest.mark.parametrize("who", SIGNED_IN)
@pytest.mark.parametrize(("name", "method", "data"), ACCOUNT_ENDPOINTS)
def test_a_login_out_of_reach_is_a_404_for_every_endpoint(who, name, method, data, users, b_cadre):
    password = b_cadre.password

    response = getattr(signed_in(users[who]), method)(reverse(name, args=[b_cadre.pk]), data)

    if who in REACHES_B:
        assert response.status_code in (200, 302)
    else:
        assert response.status_code == 404
        b_cadre.refresh_from_db()
        assert b_cadre.is_active and b_cadre.password == password
        assert not AccountEvent.objects.filter(user=b_cadre).exists()


@pytest.mark.parametrize(("name", "method", "data"), ACCOUNT_ENDPOINTS)
def test_a_missing_login_is_the_same_404(name, method, data, users):
    response = getattr(signed_in(users["city_admin"]), method)(reverse(name, args=[987654]), data)

    assert response.status_code == 404


@pytest.mark.parametrize(("name", "method", "data"), ACCOUNT_ENDPOINTS)
def test_nobody_manages_their_own_login_here(name, method, data, users):
    official = users["county_official"]

    response = getattr(signed_in(official), method)(reverse(name, args=[official.pk]), data)

    assert response.status_code == 404


def test_a_township_official_manages_the_cadres_of_their_township_only(users, a_cadre):
    client = signed_in(users["township_official"])
    a2_cadre = users["township_cadre_user"]  # 联乡 A2, not A1

    assert client.get(reverse("accounts:account_detail", args=[a_cadre.pk])).status_code == 200
    assert client.get(reverse("accounts:account_detail", args=[a2_cadre.pk])).status_code == 404
    other_official = users["county_official"]
    url = reverse("accounts:account_detail", args=[other_official.pk])
    assert client.get(url).status_code == 404


def test_a_county_official_manages_the_township_officials_of_their_county(users):
    client = signed_in(users["county_official"])

    url = reverse("accounts:account_detail", args=[users["township_official"].pk])
    assert client.get(url).status_code == 200
    url = reverse("accounts:account_detail", args=[users["other_county_official"].pk])
    assert client.get(url).status_code == 404


def test_the_list_shows_only_the_logins_in_reach(users, a_cadre, b_cadre):
    page = signed_in(users["county_official"]).get(reverse("accounts:account_list"))

    text = page.content.decode()
    assert "a1v2-login" in text and "甲一二干部" in text
    assert "b1v1-login" not in text and "乙一干部" not in text


# ----- the list: states, search, pages -----


def test_the_list_shows_each_state_and_filters_by_it(users, a_cadre, b_cadre, area):
    admin = users["city_admin"]
    services.account_set_active(actor=admin, user=b_cadre, active=False, reason="调离")
    client = signed_in(admin)

    page = client.get(reverse("accounts:account_list"), {"state": "awaiting"}).content.decode()
    assert "a1v2-login" in page and "b1v1-login" not in page
    assert "待下发首次密码" in page
    page = client.get(reverse("accounts:account_list"), {"state": "disabled"}).content.decode()
    assert "b1v1-login" in page and "a1v2-login" not in page
    services.credentials_issue(actor=admin)
    page = client.get(reverse("accounts:account_list"), {"state": "issued"}).content.decode()
    assert "a1v2-login" in page
    services.password_reset(actor=admin, user=users["cadre_user"], reason="忘记密码")
    users["cadre_user"].last_login = timezone.now()
    users["cadre_user"].save(update_fields=["last_login"])
    page = client.get(reverse("accounts:account_list"), {"state": "must_change"}).content.decode()
    assert "cadre_a1v1" in page and "a1v2-login" not in page
    page = client.get(reverse("accounts:account_list"), {"state": "active"}).content.decode()
    assert "county_a" in page and "cadre_a1v1" not in page


def test_an_unknown_state_is_said_and_filters_nothing(users, a_cadre):
    page = signed_in(users["county_official"]).get(
        reverse("accounts:account_list"), {"state": "gone"}
    )

    assert page.status_code == 200
    assert "没有“gone”这种状态" in page.content.decode()
    assert "a1v2-login" in page.content.decode()


@pytest.mark.parametrize("query", ["甲一二", "a1v2-lo", "A1V2"])
def test_the_list_searches_name_login_and_phone(query, users, a_cadre):
    client = signed_in(users["county_official"])

    page = client.get(reverse("accounts:account_list"), {"q": query}).content.decode()

    assert "a1v2-login" in page
    assert "cadre_a1v1" not in page


def test_the_list_searches_phone_numbers(users, a_cadre):
    phone = a_cadre.account.phone

    page = signed_in(users["county_official"]).get(
        reverse("accounts:account_list"), {"q": phone[-6:]}
    )

    assert "a1v2-login" in page.content.decode()


def test_the_list_is_paged(users, area):
    for n in range(55):
        opened_login(CadreFactory(work_unit=area.units["A"]), f"paged-{n:02d}")
    client = signed_in(users["county_official"])

    first = client.get(reverse("accounts:account_list")).content.decode()
    second = client.get(reverse("accounts:account_list"), {"page": 2}).content.decode()

    assert "第 1 / 2 页" in first and "paged-00" in first
    assert "paged-54" in second and "paged-00" not in second


@pytest.mark.parametrize("many", [2, 20])
def test_the_list_costs_the_same_queries_for_2_or_20_logins(
    many, users, area, django_assert_max_num_queries
):
    for n in range(many):
        cadre = CadreFactory(work_unit=area.units["A"])
        AssignmentFactory(cadre=cadre, village=area.villages["a1v1"])
        opened_login(cadre, f"many-{n:02d}")
    client = signed_in(users["county_official"])
    client.get(reverse("accounts:account_list"))  # the session and the cached navigation

    with django_assert_max_num_queries(11):
        response = client.get(reverse("accounts:account_list"))

    assert response.content.decode().count("many-") >= many


@pytest.mark.parametrize("many", [3, 30])
def test_a_sheet_costs_the_same_queries_for_3_or_30_logins(
    many, users, area, django_assert_max_num_queries
):
    """Drawing a county's first passwords does not query once per person (2,000 cadres
    would wait minutes): the log's county of each cadre is looked up for all at once."""
    for n in range(many):
        cadre = CadreFactory(work_unit=area.units["A"])
        AssignmentFactory(cadre=cadre, village=area.villages["a1v1"])
        opened_login(cadre, f"many-{n:02d}")

    with django_assert_max_num_queries(16):
        sheet = services.credentials_issue(actor=users["county_official"])

    assert sheet.accounts == many
    events = AccountEvent.objects.filter(kind=AccountEvent.Kind.CREDENTIALS_ISSUED)
    assert events.count() == many
    assert set(events.values_list("county_id_at", flat=True)) == {area.county_a.pk}


# ----- a reset -----


def test_a_reset_shows_a_one_time_password_once_and_ends_the_old_sessions(users):
    official, cadre = users["county_official"], users["cadre_user"]
    cadre_browser = signed_in(cadre)
    assert cadre_browser.get(reverse("home")).status_code == 200

    response = signed_in(official).post(
        reverse("accounts:account_reset", args=[cadre.pk]), {"reason": "本人忘记密码，电话核实"}
    )

    assert response.status_code == 200
    password = one_time_password(response)
    text = response.content.decode()
    assert "下次登录时必须先修改密码" in text and "已经退出" in text
    assert "no-store" in response["Cache-Control"]
    # the old session is over: the cadre's browser is sent to sign in
    after = cadre_browser.get(reverse("home"))
    assert after.status_code == 302 and "/accounts/login/" in after["Location"]
    # the reason is kept, in the account log and in the history
    event = AccountEvent.objects.get(user=cadre, kind=AccountEvent.Kind.PASSWORD_RESET)
    assert (event.actor, event.reason) == (official, "本人忘记密码，电话核实")
    assert cadre.account.history.filter(history_user=official).exists()
    # the old password is gone; the one-time one signs in and must be changed first
    assert not can_sign_in(cadre.username, "test-pass-123")
    browser = Client()
    signed = browser.post(
        "/accounts/login/", {"username": cadre.username, "password": password}, follow=True
    )
    assert signed.redirect_chain[-1][0] == reverse("accounts:password_change")
    assert browser.get(reverse("home"))["Location"] == reverse("accounts:password_change")


def test_the_reset_page_shows_the_password_only_on_the_answer(users):
    official, cadre = users["county_official"], users["cadre_user"]
    client = signed_in(official)
    password = one_time_password(
        client.post(reverse("accounts:account_reset", args=[cadre.pk]), {"reason": "忘记"})
    )

    detail = client.get(reverse("accounts:account_detail", args=[cadre.pk])).content.decode()

    assert password not in detail
    assert "重置密码" in detail and "忘记" in detail  # the event and its reason


def test_a_reset_without_a_reason_changes_nothing(users):
    cadre = users["cadre_user"]
    before = User.objects.get(pk=cadre.pk).password

    response = signed_in(users["county_official"]).post(
        reverse("accounts:account_reset", args=[cadre.pk]), {"reason": "  "}
    )

    assert response.status_code == 400
    assert "请填写原因" in response.content.decode()
    assert User.objects.get(pk=cadre.pk).password == before
    assert not AccountEvent.objects.filter(kind=AccountEvent.Kind.PASSWORD_RESET).exists()


def test_reset_answers_get_with_405(users):
    url = reverse("accounts:account_reset", args=[users["cadre_user"].pk])

    assert signed_in(users["county_official"]).get(url).status_code == 405


# ----- deactivation and reactivation -----


def test_deactivation_ends_the_sessions_and_keeps_the_reason_then_reactivation(users):
    official, cadre = users["township_official"], users["cadre_user"]
    cadre_browser = signed_in(cadre)
    client = signed_in(official)
    url = reverse("accounts:account_active", args=[cadre.pk])

    response = client.post(url, {"reason": "已调离", "active": "0"})

    assert response.status_code == 302
    cadre.refresh_from_db()
    assert not cadre.is_active and cadre.account.status_reason == "已调离"
    assert "/accounts/login/" in cadre_browser.get(reverse("home"))["Location"]
    assert not can_sign_in(cadre.username, "test-pass-123")
    event = AccountEvent.objects.get(user=cadre, kind=AccountEvent.Kind.DEACTIVATED)
    assert (event.actor, event.reason) == (official, "已调离")
    page = client.get(reverse("accounts:account_detail", args=[cadre.pk])).content.decode()
    assert "已停用" in page and "已调离" in page and "启用账号" in page

    response = client.post(url, {"reason": "重新参加帮村", "active": "1"})

    assert response.status_code == 302
    cadre.refresh_from_db()
    assert cadre.is_active and cadre.account.status_reason == "重新参加帮村"
    assert AccountEvent.objects.get(user=cadre, kind=AccountEvent.Kind.REACTIVATED).reason == (
        "重新参加帮村"
    )
    assert can_sign_in(cadre.username, "test-pass-123")
    reasons = [h.status_reason for h in cadre.account.history.order_by("history_id")]
    assert reasons[-2:] == ["已调离", "重新参加帮村"]


@pytest.mark.parametrize(
    "data", [{"active": "0"}, {"reason": "调离"}, {"reason": "调离", "active": "maybe"}]
)
def test_deactivation_needs_a_reason_and_a_choice(data, users):
    cadre = users["cadre_user"]

    response = signed_in(users["county_official"]).post(
        reverse("accounts:account_active", args=[cadre.pk]), data
    )

    assert response.status_code == 400
    cadre.refresh_from_db()
    assert cadre.is_active
    assert not AccountEvent.objects.filter(kind=AccountEvent.Kind.DEACTIVATED).exists()


# ----- 开通通知: first passwords -----


def test_first_passwords_for_the_officials_own_area_only(users, a_cadre, b_cadre):
    client = signed_in(users["county_official"])
    panel = client.get(reverse("accounts:account_list")).content.decode()
    assert re.search(r'data-count="awaiting">1<', panel)

    response = client.post(reverse("accounts:sheet_create"), {"mode": "new"})

    sheet = CredentialSheet.objects.get()
    assert response["Location"] == reverse("accounts:sheet_detail", args=[sheet.pk])
    assert list(first_passwords(sheet)) == ["a1v2-login"]
    b_cadre.refresh_from_db()
    assert not b_cadre.has_usable_password()
    detail = client.get(response["Location"]).content.decode()
    assert "甲一二干部" in detail and "打印开通通知" in detail and "下载 Excel" in detail


def test_the_slips_have_everything_a_cadre_needs(users, a_cadre, settings):
    settings.PORTAL_URL = "https://xc.example.gov.cn/"
    client = signed_in(users["county_official"])
    client.post(reverse("accounts:sheet_create"), {"mode": "new"})
    sheet = CredentialSheet.objects.get()
    password = first_passwords(sheet)["a1v2-login"]

    page = client.get(reverse("accounts:sheet_print", args=[sheet.pk])).content.decode()

    for text in (
        "开通通知",
        "甲一二干部",
        "甲县测试局",
        "a1v2-login",
        password,
        "https://xc.example.gov.cn/",
        "用手机浏览器打开",
        "输入账号和首次密码",
        "至少8位，含大写字母、小写字母、数字中的三类",
        "开始记录下沉走访",
    ):
        assert text in page, text
    assert 'class="slip"' in page and "no-print" in page


def test_the_slips_give_the_requests_address_without_a_portal_url(users, a_cadre, settings):
    settings.PORTAL_URL = ""
    client = signed_in(users["county_official"])
    client.post(reverse("accounts:sheet_create"), {"mode": "new"})
    sheet = CredentialSheet.objects.get()

    page = client.get(reverse("accounts:sheet_print", args=[sheet.pk])).content.decode()

    assert "http://testserver/" in page


def test_the_first_password_signs_in_and_must_be_changed(users, a_cadre):
    client = signed_in(users["county_official"])
    client.post(reverse("accounts:sheet_create"), {"mode": "new"})
    password = first_passwords(CredentialSheet.objects.get())["a1v2-login"]

    browser = Client()
    signed = browser.post(
        "/accounts/login/", {"username": "a1v2-login", "password": password}, follow=True
    )

    assert signed.redirect_chain[-1][0] == reverse("accounts:password_change")
    assert "首次登录" in signed.content.decode()


def test_the_workbook_lists_the_columns_and_is_inert(users, area):
    cadre = CadreFactory(name="=1+2", work_unit=area.units["A"], position="@SUM(A1)")
    AssignmentFactory(cadre=cadre, village=area.villages["a1v2"])
    opened_login(cadre, "formula-login")
    client = signed_in(users["county_official"])
    with time_machine.travel(NOW, tick=False):
        client.post(reverse("accounts:sheet_create"), {"mode": "new"})
        sheet = CredentialSheet.objects.get()
        response = client.get(reverse("accounts:sheet_xlsx", args=[sheet.pk]))
        password = first_passwords(sheet)["formula-login"]

    assert response.status_code == 200
    assert unquote(response["Content-Disposition"]).endswith("开通通知-20240603-1700.xlsx")
    book = load_workbook(io.BytesIO(response.content))
    sheet_cells = book.active
    header = [c.value for c in sheet_cells[1]]
    assert header == ["姓名", "单位", "职务", "角色", "辖区", "手机号", "登录名", "首次密码"]
    row = [c for c in sheet_cells[2]]
    assert row[0].value == "'=1+2" and row[0].data_type != "f"
    assert row[2].value == "'@SUM(A1)" and row[2].data_type != "f"
    assert all(c.data_type != "f" for line in sheet_cells.iter_rows() for c in line)
    assert row[1].value == "甲县测试局" and row[3].value == "帮扶干部"
    assert row[4].value == "帮村：a1v2村" and row[5].value == cadre.phone
    assert row[6].value == "formula-login"
    assert row[7].value == password


def test_each_download_is_in_the_log(users, a_cadre):
    official = users["county_official"]
    client = signed_in(official)
    client.post(reverse("accounts:sheet_create"), {"mode": "new"})
    sheet = CredentialSheet.objects.get()

    client.get(reverse("accounts:sheet_print", args=[sheet.pk]))
    client.get(reverse("accounts:sheet_xlsx", args=[sheet.pk]))

    downloads = AccountEvent.objects.filter(user=official, reason__startswith="下载开通通知")
    assert sorted(e.reason for e in downloads) == [
        f"下载开通通知 #{sheet.pk}（Excel，1 个账号）",
        f"下载开通通知 #{sheet.pk}（打印页，1 个账号）",
    ]


@pytest.mark.parametrize("who", [w for w in SIGNED_IN if w != "county_official"])
@pytest.mark.parametrize(
    "name", ["accounts:sheet_detail", "accounts:sheet_print", "accounts:sheet_xlsx"]
)
def test_a_sheet_is_read_by_its_creator_only(who, name, users, a_cadre):
    signed_in(users["county_official"]).post(reverse("accounts:sheet_create"), {"mode": "new"})
    sheet = CredentialSheet.objects.get()

    response = signed_in(users[who]).get(reverse(name, args=[sheet.pk]))

    assert response.status_code == 404
    assert not AccountEvent.objects.filter(reason__startswith="下载开通通知").exists()


@pytest.mark.parametrize("who", NOT_MANAGERS)
def test_only_officials_hand_out_first_passwords(who, users, a_cadre):
    response = signed_in(users[who]).post(reverse("accounts:sheet_create"), {"mode": "new"})

    assert response.status_code == 404
    assert not CredentialSheet.objects.exists()


def test_a_sheet_needs_a_mode_and_something_to_hand_out(users, a_cadre):
    client = signed_in(users["county_official"])

    response = client.post(reverse("accounts:sheet_create"), {}, follow=True)
    assert "请选择生成方式" in response.content.decode()
    assert not CredentialSheet.objects.exists()

    client.post(reverse("accounts:sheet_create"), {"mode": "new"})
    response = client.post(reverse("accounts:sheet_create"), {"mode": "new"}, follow=True)
    assert "没有需要下发首次密码的账号" in response.content.decode()
    assert CredentialSheet.objects.count() == 1


def test_a_login_with_its_own_password_never_gets_a_first_password(users):
    """The logins made before the accounts existed (demo, admin-made) keep their password:
    a sheet is for the logins opened without one."""
    client = signed_in(users["county_official"])

    response = client.post(reverse("accounts:sheet_create"), {"mode": "new"}, follow=True)

    assert "没有需要下发首次密码的账号" in response.content.decode()
    assert can_sign_in("cadre_a1v1", "test-pass-123")


def test_a_sheet_expires_and_its_passwords_are_gone(users, a_cadre, settings):
    settings.CREDENTIAL_SHEET_MINUTES = 30
    client = signed_in(users["county_official"])
    with time_machine.travel(NOW, tick=False):
        client.post(reverse("accounts:sheet_create"), {"mode": "new"})
        sheet = CredentialSheet.objects.get()
        assert client.get(reverse("accounts:sheet_print", args=[sheet.pk])).status_code == 200

    with time_machine.travel(NOW + datetime.timedelta(minutes=31), tick=False):
        client = signed_in(users["county_official"])
        page = client.get(reverse("accounts:sheet_detail", args=[sheet.pk]))
        print_page = client.get(reverse("accounts:sheet_print", args=[sheet.pk]))
        workbook = client.get(reverse("accounts:sheet_xlsx", args=[sheet.pk]))

    assert page.status_code == 200
    text = page.content.decode()
    assert 'id="sheet-expired"' in text and "已被清除" in text and "生成新的开通通知" in text
    assert print_page.status_code == 404 and workbook.status_code == 404
    sheet.refresh_from_db()
    assert sheet.payload == "" and sheet.wiped_at is not None


def test_the_beat_task_wipes_sheets_whose_time_is_up(users, a_cadre, settings):
    entry = next(
        e
        for e in settings.CELERY_BEAT_SCHEDULE.values()
        if e["task"] == "accounts.tasks.credential_sheets_wipe_due"
    )
    assert entry["schedule"] <= 60
    with time_machine.travel(NOW, tick=False):
        sheet = services.credentials_issue(actor=users["county_official"])
        assert credential_sheets_wipe_due.apply().get() == 0
    with time_machine.travel(NOW + datetime.timedelta(minutes=31), tick=False):
        assert credential_sheets_wipe_due.apply().get() == 1

    sheet.refresh_from_db()
    assert sheet.payload == "" and sheet.wiped_at is not None


def test_regenerating_stops_the_earlier_passwords(users, a_cadre):
    client = signed_in(users["county_official"])
    client.post(reverse("accounts:sheet_create"), {"mode": "new"})
    first = first_passwords(CredentialSheet.objects.get())["a1v2-login"]
    panel = client.get(reverse("accounts:account_list")).content.decode()
    assert re.search(r'data-count="issued">1<', panel)
    assert "此前下发的首次密码将立即失效" in panel

    response = client.post(reverse("accounts:sheet_create"), {"mode": "regenerate"})

    second_sheet = CredentialSheet.objects.order_by("-pk").first()
    assert response["Location"] == reverse("accounts:sheet_detail", args=[second_sheet.pk])
    assert second_sheet.regenerated == 1
    second = first_passwords(second_sheet)["a1v2-login"]
    assert second != first
    assert not can_sign_in("a1v2-login", first)
    assert can_sign_in("a1v2-login", second)


def test_a_login_that_signed_in_is_not_regenerated(users, a_cadre):
    official = users["county_official"]
    services.credentials_issue(actor=official)
    User.objects.filter(pk=a_cadre.pk).update(last_login=timezone.now())
    client = signed_in(official)

    response = client.post(reverse("accounts:sheet_create"), {"mode": "regenerate"}, follow=True)

    assert "没有需要下发首次密码的账号" in response.content.decode()


# ----- 账号日志 -----


@pytest.fixture
def log(users, a_cadre, b_cadre):
    admin = users["city_admin"]
    with time_machine.travel(NOW, tick=False):
        services.password_reset(actor=admin, user=a_cadre, reason="甲县重置")
    with time_machine.travel(NOW + datetime.timedelta(days=2), tick=False):
        services.account_set_active(actor=admin, user=b_cadre, active=False, reason="乙县停用")
    return admin


def test_the_log_filters_by_kind_date_name_and_county(log, area):
    client = signed_in(log)
    url = reverse("accounts:event_list")

    by_kind = client.get(url, {"kind": "deactivated"}).content.decode()
    assert "乙县停用" in by_kind and "甲县重置" not in by_kind
    by_date = client.get(url, {"date_from": "2024-06-03", "date_to": "2024-06-04"})
    assert "甲县重置" in by_date.content.decode() and "乙县停用" not in by_date.content.decode()
    by_name = client.get(url, {"q": "甲一二"}).content.decode()
    assert "甲县重置" in by_name and "乙县停用" not in by_name
    by_county = client.get(url, {"county": area.county_b.pk}).content.decode()
    assert "乙县停用" in by_county and "甲县重置" not in by_county
    bad = client.get(url, {"county": "x"})
    assert bad.status_code == 200 and "筛选条件无效" in bad.content.decode()


def test_the_log_is_paged(users):
    admin = users["city_admin"]
    AccountEvent.objects.bulk_create(
        AccountEvent(kind=AccountEvent.Kind.LOGIN, username=f"u{n}") for n in range(60)
    )

    page = signed_in(admin).get(reverse("accounts:event_list")).content.decode()

    assert "第 1 / 2 页" in page


def test_the_log_exports_as_the_page_filters_it(log, django_capture_on_commit_callbacks):
    client = signed_in(log)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("villages:export_create", args=["account_events"]), {"kind": "deactivated"}
        )

    job = ExportJob.objects.get()
    assert response["Location"] == reverse("villages:export_detail", args=[job.pk])
    assert job.state == ExportJob.State.DONE and job.row_count == 1
    with job.file.open("rb") as fh:
        rows = list(load_workbook(fh).active.iter_rows(values_only=True))
    assert rows[0][:3] == ("时间", "事件", "登录名")
    assert rows[1][1:3] == ("停用账号", "b1v1-login") and "乙县停用" in rows[1]
    assert "乙县" in rows[1]  # the county of the login


@pytest.mark.parametrize("who", [w for w in SIGNED_IN if w != "city_admin"])
def test_only_the_city_admin_exports_the_log(who, users, log):
    response = signed_in(users[who]).post(
        reverse("villages:export_create", args=["account_events"])
    )

    assert response.status_code == 302
    assert not ExportJob.objects.filter(kind="account_events").exists()


# ----- navigation and the admin -----


@pytest.mark.parametrize("who", SIGNED_IN)
def test_the_navigation_shows_account_pages_to_whom_they_serve(who, users):
    page = signed_in(users[who]).get(reverse("accounts:profile")).content.decode()

    assert (reverse("accounts:account_list") in page) == (who in MANAGERS)
    assert (reverse("accounts:event_list") in page) == (who == "city_admin")
    assert f'href="{reverse("accounts:profile")}"' in page


@pytest.mark.parametrize("path", ["/admin/accounts/account/", "/admin/accounts/accountevent/"])
def test_the_admin_shows_accounts_to_city_admins_only(path, users, a_cadre):
    admin, official = users["city_admin"], users["county_official"]
    official.is_staff = True
    official.save(update_fields=["is_staff"])
    admin.is_staff = True
    admin.save(update_fields=["is_staff"])
    services.password_reset(actor=admin, user=a_cadre, reason="核实")

    assert signed_in(admin).get(path).status_code == 200
    assert signed_in(official).get(path).status_code == 403
    change = path + f"{Account.objects.get(user=a_cadre).pk}/change/"
    if "accountevent" in path:
        change = path + f"{AccountEvent.objects.first().pk}/change/"
    page = signed_in(admin).get(change)
    assert page.status_code == 200 and 'name="_save"' not in page.content.decode()
    assert signed_in(official).get(change).status_code == 403
