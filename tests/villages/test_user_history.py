"""Logins keep history (issue 15, point 5): a password set, an account activated or
deactivated, made superuser, or given groups or permissions is a history row with who,
when and from where, and no history row holds the password hash, only that it changed.
A sign-in (last_login) writes no row.
"""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.test import RequestFactory
from simple_history.models import HistoricalRecords

from core.history import UserHistoryMeta
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

User = get_user_model()
IP = "203.0.113.9"


def rows(user) -> list:
    return list(user.history.order_by("history_id"))


def changes(row, previous) -> dict:
    return {c.field: (c.old, c.new) for c in row.diff_against(previous).changes}


def all_history_text() -> str:
    """Every value of every login history row, as the database holds it."""
    tables = [User.history.model._meta.db_table]
    tables += [m._meta.db_table for f, m in HistoricalRecords.m2m_models.items() if f.model is User]
    text = []
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")  # nosec B608 # table names come from model _meta
            text += [repr(value) for row in cursor.fetchall() for value in row]
    return "\n".join(text)


def assert_not_kept(password_hash: str) -> None:
    """Neither the hash nor its salt or digest is in any login history row."""
    text = all_history_text()
    assert password_hash not in text
    for part in password_hash.split("$")[1:]:
        if len(part) >= 8:
            assert part not in text


@pytest.fixture
def admin_user(db):
    return UserFactory(username="admin_h", is_staff=True, is_superuser=True)


@pytest.fixture
def person(db):
    return UserFactory(username="zhang_san")


def test_the_history_model_has_no_password_or_last_login_column():
    names = {f.name for f in User.history.model._meta.fields}
    assert "password" not in names and "last_login" not in names
    assert {"is_active", "is_superuser", "is_staff", "password_changed"} <= names
    assert issubclass(User.history.model, UserHistoryMeta)


def test_setting_a_password_is_recorded_without_the_hash(person, admin_user):
    # given
    before = len(rows(person))

    # when
    person.set_password("新的密码-Abc123!")
    person._history_user = admin_user
    person.save()

    # then
    *_, row = rows(person)
    assert len(rows(person)) == before + 1
    assert row.history_type == "~"
    assert row.password_changed is True
    assert row.history_change_reason == "修改密码"
    assert row.history_user == admin_user
    # no history row, of any login, holds the hash (nor its salt)
    person.refresh_from_db()
    assert_not_kept(person.password)


def test_a_hash_replaced_without_set_password_is_still_marked(person):
    # given: the hash assigned directly (as a restore script might)
    other = UserFactory(username="li_si")
    other.set_password("别人的密码-Xyz789!")
    other.save()

    # when
    person.password = other.password
    person.save(update_fields=["password"])

    # then
    row = rows(person)[-1]
    assert row.password_changed is True
    assert row.history_change_reason == "更新密码哈希"
    assert_not_kept(other.password)


def test_toggling_is_active_and_superuser_are_rows_with_the_change(person):
    # when
    person.is_active = False
    person.save()
    person.is_superuser = True
    person.is_staff = True
    person.save()

    # then
    *_, previous, deactivated, promoted = rows(person)
    assert changes(deactivated, previous) == {"is_active": (True, False)}
    assert deactivated.password_changed is False
    assert deactivated.history_change_reason is None
    assert changes(promoted, deactivated) == {
        "is_superuser": (False, True),
        "is_staff": (False, True),
    }


def test_group_and_permission_changes_are_rows(person):
    # given
    officials = Group.objects.create(name="县级干部")
    permission = Permission.objects.get(codename="view_village")

    # when
    person.groups.add(officials)
    person.user_permissions.add(permission)
    person.groups.remove(officials)

    # then
    *_, before, joined, permitted, left = rows(person)
    assert list(joined.groups.values_list("group_id", flat=True)) == [officials.pk]
    assert changes(joined, before).keys() == {"groups"}
    assert list(permitted.user_permissions.values_list("permission_id", flat=True)) == [
        permission.pk
    ]
    assert list(left.groups.all()) == []
    assert changes(left, permitted).keys() == {"groups"}
    assert not (joined.password_changed or permitted.password_changed or left.password_changed)


def test_a_group_change_after_a_password_change_is_not_marked_as_one(person):
    # when
    person.set_password("另一个密码-Def456!")
    person.save()
    person.groups.add(Group.objects.create(name="乡级干部"))

    # then
    *_, password_row, group_row = rows(person)
    assert password_row.password_changed is True
    assert group_row.password_changed is False
    assert group_row.history_change_reason is None


def test_a_sign_in_writes_no_history_row(person, client):
    # given
    person.set_password("登录用的密码-Ghi789!")
    person.save()
    count = len(rows(person))

    # when: a real sign-in, which saves last_login
    assert client.login(username="zhang_san", password="登录用的密码-Ghi789!")

    # then
    person.refresh_from_db()
    assert person.last_login is not None
    assert len(rows(person)) == count


def test_the_admin_password_page_is_recorded_with_who_and_from_where(person, admin_user, client):
    # given
    client.force_login(admin_user)
    url = f"/admin/auth/user/{person.pk}/password/"

    # when
    response = client.post(
        url,
        {"password1": "管理员设置-Jkl012!", "password2": "管理员设置-Jkl012!"},
        REMOTE_ADDR=IP,
    )

    # then
    assert response.status_code == 302, response.content.decode()[:2000]
    row = rows(person)[-1]
    assert row.password_changed is True
    assert row.history_change_reason == "修改密码"
    assert row.history_user == admin_user
    assert (row.history_source, row.history_request_method) == ("web", "POST")
    assert row.history_request_path == url
    assert row.history_ip == IP
    person.refresh_from_db()
    assert_not_kept(person.password)


def test_a_request_deactivating_an_account_names_the_request(person, admin_user):
    # given: the request HistoryRequestMiddleware would keep for the thread
    request = RequestFactory().post("/admin/auth/user/1/change/", REMOTE_ADDR=IP)
    request.user = admin_user
    HistoricalRecords.context.request = request
    try:
        # when
        person.is_active = False
        person.save()
    finally:
        del HistoricalRecords.context.request

    # then
    row = rows(person)[-1]
    assert row.history_user == admin_user
    assert row.history_user_name == "admin_h"
    assert row.history_ip == IP
