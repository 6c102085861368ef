"""`seed_demo` gives every demo cadre and a 县级/乡级干部 of every county and township a
login with the first password demo12345, to be changed at the first sign-in; the README's
six logins keep demo12345 with no forced change; and a second run changes nothing.

`seed_demo` (villages and accounts) runs once for the module, on a pinned day; the data
lives in an outer transaction rolled back when the module is done."""

import datetime
import hashlib
from io import StringIO

import pytest
import time_machine
from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.urls import reverse

from accounts import selectors
from accounts.models import Account, AccountEvent
from tests.helpers import module_data
from villages.demo import DEMO_USERS
from villages.models import Cadre, County, Township, UserRole

pytestmark = pytest.mark.django_db

SEEDED_ON = datetime.datetime(2026, 6, 15, 9, 0, tzinfo=datetime.UTC)
README = [u[0] for u in DEMO_USERS]


@pytest.fixture(scope="module")
def seeded(django_db_setup, django_db_blocker):
    with module_data(django_db_blocker), time_machine.travel(SEEDED_ON, tick=False):
        out = StringIO()
        call_command("seed_demo", apps=["villages", "accounts"], stdout=out)
        connection.check_constraints()
        yield out.getvalue()


def sign_in(client, username, password="demo12345"):
    return client.post(reverse("login"), {"username": username, "password": password})


def test_every_demo_cadre_has_a_login_named_by_their_phone(seeded):
    cadres = Cadre.objects.select_related("user__account", "user__portal_role")

    assert not cadres.filter(user=None).exists()
    for cadre in cadres.exclude(user__username="cadre_peizhuang"):
        user = cadre.user
        assert user.username == cadre.phone
        assert user.first_name == cadre.name
        assert (user.is_active, user.is_staff, user.is_superuser) == (True, False, False)
        assert user.portal_role.role == UserRole.Role.CADRE
        account = user.account
        assert account.phone == cadre.phone
        assert account.source == Account.Source.DEMO
        assert account.must_change_password is True
        assert account.first_password_issued_at == SEEDED_ON
        assert account.password_changed_at is None


def test_each_password_is_demo12345_with_its_own_salt(seeded):
    hashes = list(
        get_user_model()
        .objects.filter(account__must_change_password=True)
        .values_list("password", flat=True)
    )

    assert len(hashes) == Cadre.objects.count() - 1 + County.objects.count() + 105
    assert len(set(hashes)) == len(hashes)
    assert all(h.startswith("pbkdf2_sha256_issued$1000$") for h in hashes)
    sample = get_user_model().objects.filter(account__must_change_password=True)[::500]
    assert sample and all(u.check_password("demo12345") for u in sample)


def test_every_county_and_township_has_a_demo_official(seeded):
    roles = UserRole.objects.filter(user__account__source=Account.Source.DEMO)
    officials = roles.exclude(user__username__in=README)

    county = officials.filter(role=UserRole.Role.COUNTY_OFFICIAL)
    township = officials.filter(role=UserRole.Role.TOWNSHIP_OFFICIAL)
    assert sorted(county.values_list("county_id", flat=True)) == sorted(
        County.objects.values_list("pk", flat=True)
    )
    assert sorted(township.values_list("township_id", flat=True)) == sorted(
        Township.objects.values_list("pk", flat=True)
    )
    for role in officials.exclude(role=UserRole.Role.CADRE).select_related("user__account"):
        assert role.user.username == role.user.account.phone
        assert role.user.first_name
        assert role.user.account.must_change_password is True
        assert not role.user.is_staff


def test_the_readme_logins_work_without_a_forced_change(seeded):
    for username in README:
        account = Account.objects.get(user__username=username)
        assert account.must_change_password is False
        assert account.first_password_issued_at is not None
        client = Client()
        assert sign_in(client, username).status_code == 302
        assert client.get("/").status_code == 200, username
    assert Account.objects.get(user__username="cadre_peizhuang").phone == (
        Cadre.objects.get(user__username="cadre_peizhuang").phone
    )


def test_a_demo_cadre_signs_in_and_must_change_the_password(seeded):
    cadre = Cadre.objects.exclude(user__username="cadre_peizhuang").order_by("phone").first()
    client = Client()

    sign_in(client, cadre.phone)

    assert client.get("/")["Location"] == reverse("accounts:password_change")


def test_the_demo_officials_manage_the_logins_of_their_area(seeded):
    yanling = get_user_model().objects.get(username="county_yanling")
    changge = get_user_model().objects.get(username="county_changge")
    zhangqiao = UserRole.objects.get(
        role=UserRole.Role.TOWNSHIP_OFFICIAL,
        township__code="411024107",
        user__account__source=Account.Source.DEMO,
        user__account__must_change_password=True,
    ).user

    assert selectors.account_list_for_user(user=yanling).filter(pk=zhangqiao.pk).exists()
    assert not selectors.account_list_for_user(user=changge).filter(pk=zhangqiao.pk).exists()
    managed = selectors.account_list_for_user(user=zhangqiao)
    assert managed.filter(cadre__assignments__village__code="411024107225").exists()
    assert not managed.filter(portal_role__role=UserRole.Role.TOWNSHIP_OFFICIAL).exists()


def test_the_new_logins_are_in_the_account_log_and_the_history(seeded):
    created = AccountEvent.objects.filter(kind=AccountEvent.Kind.CREATED)

    assert created.count() == Account.objects.filter(must_change_password=True).count()
    assert set(created.values_list("actor__username", flat=True)) == {"admin"}
    history = Account.history.filter(history_type="+")
    assert history.count() == Account.objects.count()
    assert set(history.values_list("history_change_reason", flat=True)) == {"演示数据"}


def test_the_command_says_where_the_other_logins_are(seeded):
    assert "cadre_peizhuang" in seeded
    assert "其他演示干部" in seeded and "首次密码均为 demo12345，首次登录须修改密码" in seeded


def _snapshot() -> dict:
    User = get_user_model()
    models = [
        *apps.get_app_config("accounts").get_models(),
        *apps.get_app_config("villages").get_models(),
        User,
    ]
    counts = {model.__name__: model._default_manager.count() for model in models}
    digest = hashlib.sha256()
    rows = [
        User.objects.order_by("pk").values_list("pk", "username", "first_name", "password"),
        Account.objects.order_by("pk").values_list(
            "user_id", "phone", "staff_no", "must_change_password", "first_password_issued_at"
        ),
        UserRole.objects.order_by("pk").values_list("user_id", "role", "county_id", "township_id"),
        Cadre.objects.order_by("pk").values_list("pk", "user_id"),
    ]
    for row in rows:
        digest.update(repr(list(row)).encode())
    return {"counts": counts, "digest": digest.hexdigest()}


def test_second_run_changes_nothing(seeded):
    before = _snapshot()

    out = StringIO()
    with time_machine.travel(SEEDED_ON + datetime.timedelta(days=3), tick=False):
        call_command("seed_demo", apps=["villages", "accounts"], stdout=out)

    assert "已是最新" in out.getvalue()
    assert "新建" not in out.getvalue() and "更新" not in out.getvalue()
    assert _snapshot() == before


def test_a_cadre_who_changed_their_password_keeps_it(seeded):
    cadre = Cadre.objects.exclude(user__username="cadre_peizhuang").order_by("phone").last()
    client = Client()
    sign_in(client, cadre.phone)
    client.post(
        reverse("accounts:password_change"),
        {
            "old_password": "demo12345",
            "new_password": "Bangcun-2026x",
            "new_password2": "Bangcun-2026x",
        },
    )

    out = StringIO()
    call_command("seed_demo", apps=["accounts"], stdout=out)

    assert "已是最新" in out.getvalue()
    user = get_user_model().objects.get(pk=cadre.user_id)
    assert user.check_password("Bangcun-2026x")
    assert user.account.must_change_password is False


def test_the_login_name_follows_account_username(seeded, settings):
    settings.ACCOUNT_USERNAME = "staff_no"
    cadre = Cadre.objects.exclude(user__username="cadre_peizhuang").order_by("phone").first()

    call_command("seed_demo", apps=["accounts"], stdout=StringIO())

    user = get_user_model().objects.get(pk=cadre.user_id)
    assert user.username == user.account.staff_no == f"YS{cadre.phone}"
    assert user.account.phone == cadre.phone
    assert user.check_password("demo12345")
