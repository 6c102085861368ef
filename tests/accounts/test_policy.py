"""The account policy of the foundation: the password rule (accounts.passwords), the
forced change and idle sign-out (accounts.middleware), 个人中心 and the password change
(accounts.views), the API token refusal, password expiry, and the account log of signing
in and out."""

import datetime

import pytest
import time_machine
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from accounts import services
from accounts.models import Account, AccountEvent, UserSession
from accounts.passwords import PolicyValidator, character_classes, generate_password
from tests.factories import CadreFactory, UserFactory, UserRoleFactory

pytestmark = pytest.mark.django_db

T0 = datetime.datetime(2026, 6, 15, 9, 0, tzinfo=datetime.UTC)
GOOD = "Xuchang#2026"
NEW = "Lianxiang-Bangcun9"


@pytest.fixture
def cadre_login(area):
    """A 帮村 cadre of village a1v1 with a password they chose (no change pending)."""
    user = UserFactory(username="13912345678", first_name="甲一干部")
    user.set_password(GOOD)
    user.save()
    UserRoleFactory(user=user, role="cadre")
    cadre = area.cadres["a1v1"]
    cadre.user = user
    cadre.save(update_fields=["user"])
    Account.objects.create(user=user, phone=cadre.phone, password_changed_at=timezone.now())
    return user


@pytest.fixture
def first_login(area):
    """A cadre as the roster import opens them: a first password handed out, to be changed."""
    cadre = CadreFactory(name="新干部", phone="13800001111", work_unit=area.units["A"])
    user = UserFactory(username=cadre.phone, first_name=cadre.name)
    user.password = services.issued_password_hash("Kp7mQ2xR9z")
    user.save()
    UserRoleFactory(user=user, role="cadre")
    cadre.user = user
    cadre.save(update_fields=["user"])
    Account.objects.create(
        user=user,
        phone=cadre.phone,
        source=Account.Source.CADRE_ROSTER,
        must_change_password=True,
        first_password_issued_at=timezone.now(),
    )
    return user


def sign_in(client, username, password):
    return client.post(reverse("login"), {"username": username, "password": password})


def change_password(client, old, new, again=None):
    return client.post(
        reverse("accounts:password_change"),
        {"old_password": old, "new_password": new, "new_password2": again or new},
    )


# ----- the password rule -----


@pytest.mark.parametrize(
    "password, reason",
    [
        ("Ab3$x", "密码至少需要 8 个字符。"),
        ("abcdefgh12", "密码须包含大写字母、小写字母、数字、其他符号这四类中的至少 3 类。"),
        ("ABCDEFGHIJ", "密码须包含大写字母、小写字母、数字、其他符号这四类中的至少 3 类。"),
    ],
)
def test_weak_password_is_refused_with_the_reason_in_chinese(password, reason):
    with pytest.raises(ValidationError) as refused:
        PolicyValidator().validate(password)

    assert reason in refused.value.messages


def test_a_password_holding_the_login_or_the_phone_is_refused(cadre_login):
    # the login name (here the phone number) inside, in any case
    with pytest.raises(ValidationError) as refused:
        PolicyValidator().validate("Aa!13912345678", user=cadre_login)
    assert refused.value.messages == ["密码不能包含登录名或手机号。"]

    # the phone number of the cadre record, for a login named otherwise
    cadre_login.username = "jiayi"
    cadre_login.save()
    phone = cadre_login.cadre.phone
    with pytest.raises(ValidationError) as refused:
        PolicyValidator().validate(f"Xy#{phone}", user=cadre_login)
    assert refused.value.messages == ["密码不能包含登录名或手机号。"]
    with pytest.raises(ValidationError):
        PolicyValidator().validate("JIAYI-pass-9", user=cadre_login)


def test_every_reason_is_given_at_once():
    with pytest.raises(ValidationError) as refused:
        PolicyValidator().validate("abc")

    assert [e.code for e in refused.value.error_list] == ["too_short", "too_simple"]


def test_the_settings_move_the_rule(settings):
    settings.PASSWORD_MIN_LENGTH = 12
    settings.PASSWORD_MIN_CLASSES = 4

    with pytest.raises(ValidationError) as refused:
        PolicyValidator().validate("Abcdefgh123")

    assert refused.value.messages == [
        "密码至少需要 12 个字符。",
        "密码须包含大写字母、小写字母、数字、其他符号这四类中的至少 4 类。",
    ]
    PolicyValidator().validate("Abcdefgh123!")


def test_the_rule_is_one_of_the_sites_validators():
    with pytest.raises(ValidationError) as refused:
        validate_password("abcdefgh12")

    assert any("四类" in m for m in refused.value.messages)
    validate_password(GOOD)


def test_drawn_passwords_pass_the_rule_and_are_random():
    drawn = {generate_password() for _ in range(50)}

    assert len(drawn) == 50
    for password in drawn:
        PolicyValidator().validate(password)
        assert character_classes(password) >= 3
        assert not set(password) & set("0O1lI")


# ----- the forced change -----


def test_first_sign_in_leads_every_page_to_the_password_change(client, first_login):
    # when
    answer = sign_in(client, first_login.username, "Kp7mQ2xR9z")

    # then: signed in, but every page leads to the change
    assert answer.status_code == 302
    home = client.get("/", follow=True)
    assert home.redirect_chain[-1][0] == reverse("accounts:password_change")
    assert "首次登录，请先修改密码。" in home.content.decode()
    for path in ("/villages/", reverse("accounts:profile"), "/visits/new/"):
        assert client.get(path)["Location"] == reverse("accounts:password_change")
    assert client.get(reverse("accounts:password_change")).status_code == 200


def test_first_sign_in_gets_403_in_chinese_from_the_api(client, first_login):
    client.force_login(first_login)

    answer = client.get("/api/villages/")

    assert answer.status_code == 403
    assert answer.json() == {"detail": "首次登录，请先修改密码。"}


def test_first_sign_in_from_htmx_is_redirected_by_header(client, first_login):
    client.force_login(first_login)

    answer = client.get("/villages/", headers={"HX-Request": "true"})

    assert answer.status_code == 403
    assert answer["HX-Redirect"] == reverse("accounts:password_change")


def test_signing_out_is_still_allowed(client, first_login):
    client.force_login(first_login)

    answer = client.post(reverse("logout"))

    assert answer.status_code == 302
    assert answer["Location"] == reverse("login")
    assert "_auth_user_id" not in client.session


def test_a_reset_password_says_so(client, first_login):
    Account.objects.filter(user=first_login).update(password_changed_at=timezone.now())
    client.force_login(first_login)

    answer = client.get("/api/villages/")

    assert answer.json() == {"detail": "密码已被重置，请先修改密码。"}


def test_changing_the_password_ends_the_forced_change(client, first_login):
    sign_in(client, first_login.username, "Kp7mQ2xR9z")

    answer = change_password(client, "Kp7mQ2xR9z", NEW)

    assert answer.status_code == 302 and answer["Location"] == reverse("home")
    assert client.get("/").status_code == 200
    account = Account.objects.get(user=first_login)
    assert account.must_change_password is False
    assert account.password_changed_at is not None
    first_login.refresh_from_db()
    assert first_login.check_password(NEW)


# ----- idle sign-out and the session's last activity -----


def test_an_idle_session_is_signed_out(client, cadre_login, settings):
    settings.SESSION_IDLE_MINUTES = 30
    with time_machine.travel(T0, tick=False) as clock:
        client.force_login(cadre_login)
        assert client.get("/").status_code == 200

        # 29 minutes later: still signed in
        clock.shift(datetime.timedelta(minutes=29))
        assert client.get("/").status_code == 200

        # another 31 minutes without a request: signed out
        clock.shift(datetime.timedelta(minutes=31))
        answer = client.get("/villages/?q=裴")

    assert answer.status_code == 302
    assert answer["Location"].startswith(reverse("login") + "?next=")
    assert "%2Fvillages%2F%3Fq%3D" in answer["Location"]
    assert "_auth_user_id" not in client.session
    assert client.get("/")["Location"].startswith(reverse("login"))
    kinds = list(AccountEvent.objects.filter(user=cadre_login).values_list("kind", flat=True))
    assert kinds.count(AccountEvent.Kind.IDLE_TIMEOUT) == 1
    assert AccountEvent.Kind.LOGOUT not in kinds  # one line in the log, not two
    session = UserSession.objects.get(user=cadre_login)
    assert session.ended_at is not None


def test_an_idle_api_session_gets_401_in_chinese(client, cadre_login, settings):
    settings.SESSION_IDLE_MINUTES = 30
    with time_machine.travel(T0, tick=False) as clock:
        client.force_login(cadre_login)
        clock.shift(datetime.timedelta(minutes=31))
        answer = client.get("/api/villages/")

    assert answer.status_code == 401
    assert answer.json() == {"detail": "超过 30 分钟未操作，已自动退出，请重新登录。"}


def test_idle_sign_out_can_be_turned_off(client, cadre_login, settings):
    settings.SESSION_IDLE_MINUTES = 0
    with time_machine.travel(T0, tick=False) as clock:
        client.force_login(cadre_login)
        clock.shift(datetime.timedelta(hours=5))
        assert client.get("/").status_code == 200


def _session_touches(queries) -> int:
    return sum(
        1 for q in queries if "accounts_usersession" in q["sql"] and q["sql"].startswith("UPDATE")
    )


def test_last_activity_is_written_at_most_once_a_minute(
    client, cadre_login, django_assert_max_num_queries
):
    with time_machine.travel(T0, tick=False) as clock:
        client.force_login(cadre_login)
        clock.shift(datetime.timedelta(seconds=5))
        with CaptureQueriesContext(connection) as quiet:
            client.get("/healthz/")

        # within the minute: nothing written, and the request costs no more for it
        clock.shift(datetime.timedelta(seconds=50))
        with django_assert_max_num_queries(len(quiet.captured_queries)):
            with CaptureQueriesContext(connection) as again:
                client.get("/healthz/")
        assert _session_touches(quiet.captured_queries) == 0
        assert _session_touches(again.captured_queries) == 0

        # past the minute: one UPDATE of the session's row, with the login it names read
        # and the session saved (in its savepoint)
        clock.shift(datetime.timedelta(seconds=10))
        with django_assert_max_num_queries(len(quiet.captured_queries) + 5):
            with CaptureQueriesContext(connection) as touched:
                client.get("/healthz/")
        assert _session_touches(touched.captured_queries) == 1

    seen = UserSession.objects.get(user=cadre_login).last_seen_at
    assert seen == T0 + datetime.timedelta(seconds=65)


# ----- 个人中心 -----


def test_profile_shows_name_phone_and_the_signed_in_browsers(cadre_login):
    phone = Client(HTTP_USER_AGENT="Mozilla/5.0 (Linux; Android 13) 手机")
    desk = Client(HTTP_USER_AGENT="Mozilla/5.0 (Windows NT 10.0) 电脑")
    sign_in(phone, cadre_login.username, GOOD)
    sign_in(desk, cadre_login.username, GOOD)

    page = phone.get(reverse("accounts:profile"))

    text = page.content.decode()
    assert page.status_code == 200
    assert "甲一干部" in text
    assert cadre_login.cadre.phone in text
    assert "Android 13" in text and "Windows NT 10.0" in text
    assert text.count("本设备") == 1
    assert "退出其他设备" in text


def test_ending_the_other_browsers_signs_them_out(cadre_login):
    phone, desk = Client(), Client()
    sign_in(phone, cadre_login.username, GOOD)
    sign_in(desk, cadre_login.username, GOOD)

    answer = phone.post(reverse("accounts:end_others"), follow=True)

    assert "已退出其他 1 个设备上的登录。" in answer.content.decode()
    assert phone.get("/").status_code == 200
    assert desk.get("/")["Location"].startswith(reverse("login"))
    assert desk.get("/").wsgi_request.user.is_anonymous
    open_sessions = UserSession.objects.filter(user=cadre_login, ended_at__isnull=True)
    assert list(open_sessions.values_list("session_key", flat=True)) == [phone.session.session_key]
    assert AccountEvent.objects.filter(
        user=cadre_login, kind=AccountEvent.Kind.SESSIONS_ENDED, reason="结束 1 个会话"
    ).exists()


def test_the_profile_needs_a_sign_in(client):
    assert client.get(reverse("accounts:profile"))["Location"].startswith(reverse("login"))


# ----- the password change -----


def test_a_wrong_old_password_is_refused(client, cadre_login):
    sign_in(client, cadre_login.username, GOOD)

    answer = change_password(client, "not-my-Password1", NEW)

    assert answer.status_code == 400
    assert "原密码不正确。" in answer.content.decode()
    cadre_login.refresh_from_db()
    assert cadre_login.check_password(GOOD)


@pytest.mark.parametrize(
    "new, again, reason",
    [
        ("abcdefgh", None, "四类中的至少 3 类"),
        (NEW, NEW + "x", "两次输入的新密码不一致。"),
        (GOOD, None, "新密码不能与原密码相同。"),
        ("Pw-13912345678", None, "密码不能包含登录名或手机号。"),
    ],
)
def test_a_weak_or_mistyped_new_password_is_refused(client, cadre_login, new, again, reason):
    sign_in(client, cadre_login.username, GOOD)

    answer = change_password(client, GOOD, new, again)

    assert answer.status_code == 400
    assert reason in answer.content.decode()
    cadre_login.refresh_from_db()
    assert cadre_login.check_password(GOOD)


def test_changing_the_password_ends_the_other_sessions_and_keeps_this_one(cadre_login):
    here, elsewhere = Client(), Client()
    sign_in(here, cadre_login.username, GOOD)
    sign_in(elsewhere, cadre_login.username, GOOD)

    answer = change_password(here, GOOD, NEW)

    assert answer.status_code == 302
    assert here.get("/").status_code == 200
    assert elsewhere.get("/")["Location"].startswith(reverse("login"))
    # this browser is still listed as signed in, under its new session key
    open_sessions = UserSession.objects.filter(user=cadre_login, ended_at__isnull=True)
    assert list(open_sessions.values_list("session_key", flat=True)) == [here.session.session_key]
    assert AccountEvent.objects.filter(
        user=cadre_login, actor=cadre_login, kind=AccountEvent.Kind.PASSWORD_CHANGED
    ).exists()
    assert "本设备" in here.get(reverse("accounts:profile")).content.decode()


# ----- the API token -----


def test_the_api_token_is_refused_until_the_first_password_is_changed(client, first_login):
    answer = client.post(
        "/api/auth/token/",
        {"username": first_login.username, "password": "Kp7mQ2xR9z"},
        content_type="application/json",
    )

    assert answer.status_code == 403
    assert answer.json() == {"detail": "请先登录网页修改密码，再获取接口令牌。"}

    # when the password has been changed
    sign_in(client, first_login.username, "Kp7mQ2xR9z")
    change_password(client, "Kp7mQ2xR9z", NEW)
    answer = Client().post(
        "/api/auth/token/",
        {"username": first_login.username, "password": NEW},
        content_type="application/json",
    )

    assert answer.status_code == 200 and answer.json()["token"]


# ----- password expiry -----


def test_an_expired_password_must_be_changed(client, cadre_login, settings):
    settings.PASSWORD_MAX_AGE_DAYS = 90
    Account.objects.filter(user=cadre_login).update(password_changed_at=T0)

    # 89 days on: still fine
    with time_machine.travel(T0 + datetime.timedelta(days=89), tick=False):
        sign_in(client, cadre_login.username, GOOD)
        assert client.get("/").status_code == 200
        client.post(reverse("logout"))

    # 91 days on: the change comes first
    with time_machine.travel(T0 + datetime.timedelta(days=91), tick=False):
        sign_in(client, cadre_login.username, GOOD)
        home = client.get("/", follow=True)
        assert home.redirect_chain[-1][0] == reverse("accounts:password_change")
        assert "密码已过期，请先修改密码。" in home.content.decode()
        token = Client().post(
            "/api/auth/token/",
            {"username": cadre_login.username, "password": GOOD},
            content_type="application/json",
        )
        assert token.status_code == 403

        change_password(client, GOOD, NEW)
        assert client.get("/").status_code == 200


def test_passwords_never_expire_by_default(client, cadre_login):
    Account.objects.filter(user=cadre_login).update(password_changed_at=T0)

    with time_machine.travel(T0 + datetime.timedelta(days=3650), tick=False):
        sign_in(client, cadre_login.username, GOOD)
        assert client.get("/").status_code == 200


# ----- the account log -----


def test_signing_in_and_out_and_failing_are_logged(cadre_login):
    browser = Client(HTTP_USER_AGENT="测试浏览器/1.0", REMOTE_ADDR="10.1.2.3")

    sign_in(browser, cadre_login.username, "wrong-Password1")
    sign_in(browser, "nobody-here", "wrong-Password1")
    sign_in(browser, cadre_login.username, GOOD)
    browser.post(reverse("logout"))

    events = list(AccountEvent.objects.order_by("at", "id"))
    assert [(e.kind, e.username) for e in events] == [
        (AccountEvent.Kind.LOGIN_FAILED, cadre_login.username),
        (AccountEvent.Kind.LOGIN_FAILED, "nobody-here"),
        (AccountEvent.Kind.LOGIN, cadre_login.username),
        (AccountEvent.Kind.LOGOUT, cadre_login.username),
    ]
    assert [e.user_id for e in events] == [cadre_login.pk, None, cadre_login.pk, cadre_login.pk]
    assert {(e.ip, e.user_agent) for e in events} == {("10.1.2.3", "测试浏览器/1.0")}
    session = UserSession.objects.get(user=cadre_login)
    assert session.ended_at is not None
    assert (session.ip, session.user_agent) == ("10.1.2.3", "测试浏览器/1.0")


def test_an_officials_events_carry_their_county(area, county_official):
    browser = Client()
    county_official.set_password(GOOD)
    county_official.save()

    sign_in(browser, county_official.username, GOOD)

    event = AccountEvent.objects.get(kind=AccountEvent.Kind.LOGIN)
    assert event.county_id_at == area.county_a.pk
