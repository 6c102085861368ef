"""Logins from the rosters, the part both roster sheets share (accounts.import_kinds):
who a row's person is among the existing logins, the clashes that stop a row, what their
login needs (opened, linked, renamed, reactivated), and who left the roster.

A person is matched by what identifies a login: the account's phone, the login name the
username rule (settings.ACCOUNT_USERNAME) gives them, their 工号, and, on the cadre roster,
the login their cadre record already has. When these point at two different logins, or at
a login that is plainly someone else's (another name, another cadre, an official's login on
the cadre roster or a cadre's on the role roster), the row is refused and names that login:
a roster never takes over another person's account."""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ImproperlyConfigured
from django.db.models import Q

from core.importing import normalise as n
from core.importing.engine import Issue, Plan
from villages.models import County, Township, UserRole

Role = UserRole.Role

LEFT_ROSTER = "不在新导入的花名册中"
BACK_ON_ROSTER = "重新列入导入的花名册"
STAFF_NO = re.compile(r"^[A-Za-z0-9._@+-]{1,30}$")
ROLE_LABELS = dict(Role.choices)


def username_rule() -> str:
    """The username rule, settings.ACCOUNT_USERNAME: "phone" or "staff_no"."""
    rule = settings.ACCOUNT_USERNAME
    if rule not in ("phone", "staff_no"):
        raise ImproperlyConfigured(
            f'ACCOUNT_USERNAME 只能是 "phone" 或 "staff_no"，现在是 "{rule}"。'
        )
    return rule


def staff_no_required() -> bool:
    return username_rule() == "staff_no"


def parse_staff_no(cells: dict, add_error) -> str:
    """The optional 工号 cell; with ACCOUNT_USERNAME = "staff_no" every row needs one."""
    value = n.text(cells.get("staff_no"))
    if not value:
        if staff_no_required():
            add_error("staff_no", "工号不能为空（本系统以工号作为登录名）")
        return ""
    if not STAFF_NO.match(value):
        add_error("staff_no", f"工号“{value}”只能由字母、数字和 . _ @ + - 组成，且不超过 30 个字符")
        return ""
    return value


def username_for(phone: str, staff_no: str) -> str:
    return staff_no if username_rule() == "staff_no" else phone


def person_name(user) -> str:
    cadre = getattr(user, "cadre", None)
    return user.first_name or (cadre.name if cadre is not None else "") or "未填姓名"


def describe(user) -> str:
    """A login as a clash message names it: 登录名 x（姓名，角色）."""
    role = getattr(user, "portal_role", None)
    who = person_name(user)
    if role is not None:
        who += f"，{ROLE_LABELS.get(role.role, role.role)}"
    elif getattr(user, "cadre", None) is not None:
        who += "，帮扶干部"
    return f"登录名 {user.get_username()}（{who}）"


@dataclass
class Login:
    """One person of a roster file and the login they are to have."""

    phone: str
    name: str
    staff_no: str
    rows: list[int]
    county_id: int | None  # for the account log
    user: object = None  # the existing login; None: one is opened
    role: str = Role.CADRE
    county: County | None = None
    township: Township | None = None
    set_role: bool = False  # the role roster sets the role; the cadre roster only adds one
    linked: bool = True  # False: an existing login the cadre record is not linked to yet

    @property
    def username(self) -> str:
        return username_for(self.phone, self.staff_no)

    @property
    def reactivate(self) -> bool:
        account = getattr(self.user, "account", None)
        return (
            self.user is not None
            and not self.user.is_active
            and account is not None
            and account.status_reason == LEFT_ROSTER
        )

    @property
    def stays_inactive(self) -> bool:
        """Deactivated by an official (not for leaving the roster): a roster does not
        undo that."""
        return self.user is not None and not self.user.is_active and not self.reactivate

    def role_wanted(self) -> tuple:
        return (
            self.role,
            self.county.pk if self.county is not None else None,
            self.township.pk if self.township is not None else None,
        )

    def changes(self) -> dict:
        """{label: [old, new]} of what the login's rows change (none for a new login)."""
        user = self.user
        if user is None:
            return {}
        account = getattr(user, "account", None)
        changes = {}
        if user.first_name != self.name:
            changes["姓名"] = [user.first_name, self.name]
        if account is None or account.phone != self.phone:
            changes["手机号"] = [getattr(account, "phone", None) or "", self.phone]
        if self.staff_no and getattr(account, "staff_no", "") != self.staff_no:
            changes["工号"] = [getattr(account, "staff_no", ""), self.staff_no]
        role = getattr(user, "portal_role", None)
        if role is None or (
            self.set_role and (role.role, role.county_id, role.township_id) != self.role_wanted()
        ):
            old = "" if role is None else f"{role.get_role_display()} {area_name(role)}".strip()
            changes["角色"] = [old, f"{ROLE_LABELS[self.role]} {self.area_label()}".strip()]
        if self.reactivate:
            changes["账号状态"] = ["停用", "启用"]
        return changes

    def area_label(self) -> str:
        if self.township is not None:
            return f"{self.township.county.name}{self.township.name}"
        if self.county is not None:
            return self.county.name
        return ""


def area_name(role) -> str:
    if role.role in (Role.CITY_ADMIN, Role.CITY_VIEWER, Role.CADRE):
        return ""
    return role.area_name


class People:
    """The existing logins a file's rows can meet, loaded in one query: by account phone,
    by login name, by 工号 and by the phone of their cadre record."""

    def __init__(self, users):
        self.users = list(users)
        self.by_phone, self.by_username, self.by_staff_no, self.by_cadre_phone = {}, {}, {}, {}
        for user in self.users:
            account = getattr(user, "account", None)
            cadre = getattr(user, "cadre", None)
            if account is not None and account.phone:
                self.by_phone[account.phone] = user
            if account is not None and account.staff_no:
                self.by_staff_no[account.staff_no] = user
            if cadre is not None:
                self.by_cadre_phone[cadre.phone] = user
            self.by_username[user.get_username()] = user

    @classmethod
    def load(cls, *, phones, usernames, staff_nos) -> People:
        User = get_user_model()
        users = User.objects.filter(
            Q(account__phone__in=list(phones))
            | Q(**{f"{User.USERNAME_FIELD}__in": list(usernames)})
            | Q(account__staff_no__in=[s for s in staff_nos if s])
            | Q(cadre__phone__in=list(phones))
        ).select_related("account", "cadre", "portal_role__county", "portal_role__township__county")
        return cls(users)

    def match(self, *, phone, staff_no, linked=None, refuse=None, hidden=None):
        """(the login the row's person is, or None; or a clash as (column key, message)).

        `linked`: the login the person's cadre record has. `refuse(user)`: why a login
        found by phone, login name or 工号 cannot be this person's (None: it can).
        `hidden(user)`: True when the importing official may not be told whose it is."""
        found = []
        for column, what, value, index in (
            ("phone", "手机号", phone, self.by_phone),
            (_name_column(), "登录名", username_for(phone, staff_no), self.by_username),
            ("staff_no", "工号", staff_no, self.by_staff_no),
        ):
            user = index.get(value) if value else None
            if user is not None:
                found.append((column, what, value, user))
        person = linked
        for column, what, value, user in found:
            if person is None:
                why = refuse(user) if refuse is not None else None
                if why is None:
                    person = user
                    continue
            elif user.pk == person.pk:
                continue
            else:
                why = ""
            return None, (column, _clash(what, value, user, why, hidden))
        return person, None


def _name_column() -> str:
    return "staff_no" if username_rule() == "staff_no" else "phone"


def _clash(what, value, user, why, hidden) -> str:
    if hidden is not None and hidden(user):
        return f"{what} {value} 已被其他辖区的账号使用，请联系市级管理员处理"
    tail = f"；{why}" if why else ""
    return f"{what} {value} 已属于另一个人的账号：{describe(user)}{tail}。本行不能覆盖它"


def refuse_for_name(user, name: str) -> str | None:
    if user.first_name and user.first_name != name:
        return f"该账号的姓名是“{user.first_name}”，不是“{name}”"
    return None


def staff_no_clashes(plan: Plan, rows_by_person: dict, headers: dict) -> None:
    """One 工号 for two different people of the file: every row of each of them is
    refused, naming the rows of the other (the engine's own duplicate check covers rows
    of one key; a 工号 is checked across people here, after every row)."""
    owners: dict[str, dict[str, list[int]]] = defaultdict(dict)
    names: dict[str, str] = {}
    for (phone, staff_no), (name, rows) in rows_by_person.items():
        if staff_no:
            owners[staff_no].setdefault(phone, []).extend(rows)
            names[phone] = name
    for staff_no, people in owners.items():
        if len(people) < 2:
            continue
        for phone, rows in people.items():
            others = "；".join(
                f"第{'、'.join(str(r) for r in sorted(their_rows))}行的{names[other]}（{other}）"
                for other, their_rows in people.items()
                if other != phone
            )
            for row in sorted(set(rows)):
                plan.add_issue(Issue(row, headers["staff_no"], f"工号 {staff_no} 与{others}重复"))


@dataclass
class Present:
    """Who a file lists, rows with errors included: nobody it names is "left"."""

    phones: set = field(default_factory=set)
    names: set = field(default_factory=set)
    usernames: set = field(default_factory=set)

    @classmethod
    def of(cls, rows: list[dict]) -> Present:
        present = cls()
        for row in rows:
            if row.get("phone"):
                present.phones.add(row["phone"])
                present.usernames.add(row["phone"])
            if row.get("name"):
                present.names.add(row["name"])
            if row.get("staff_no"):
                present.usernames.add(row["staff_no"])
        return present

    def lists(self, user) -> bool:
        account = getattr(user, "account", None)
        cadre = getattr(user, "cadre", None)
        return bool(
            user.get_username() in self.usernames
            or (user.first_name and user.first_name in self.names)
            or (account is not None and account.phone in self.phones)
            or (cadre is not None and (cadre.phone in self.phones or cadre.name in self.names))
        )


def may_leave(user, actor) -> bool:
    """Whether a roster may deactivate `user`: an active, ordinary login, never the
    importing official's own, never staff or a superuser (their access is given by hand)."""
    return (
        user.is_active
        and not user.is_staff
        and not user.is_superuser
        and (actor is None or user.pk != actor.pk)
    )


def note(text: str, names: list[str]) -> dict:
    return {"text": text, "names": names}


def login_notes(logins: list[Login], leaving: list) -> list[dict]:
    """The preview's lines about logins: opened, linked, reactivated, left alone,
    deactivated."""
    notes = []
    created = [lg for lg in logins if lg.user is None]
    linked = [lg for lg in logins if lg.user is not None and not lg.linked]
    updated = [
        lg
        for lg in logins
        if lg.user is not None and lg.linked and set(lg.changes()) - {"账号状态"}
    ]
    back = [lg for lg in logins if lg.reactivate]
    kept = [lg for lg in logins if lg.stays_inactive]
    if created:
        notes.append(note(f"新建账号 {len(created)} 个", [_who(lg) for lg in created]))
    if linked:
        notes.append(
            note(f"关联已有账号 {len(linked)} 个", [f"{_who(lg)}→{lg.user}" for lg in linked])
        )
    if updated:
        notes.append(
            note(
                f"更新账号信息 {len(updated)} 个（姓名、手机号、工号或角色）",
                [_who(lg) for lg in updated],
            )
        )
    if back:
        notes.append(note(f"恢复账号 {len(back)} 个（重新列入花名册）", [_who(lg) for lg in back]))
    if kept:
        notes.append(
            note(
                f"已停用的账号 {len(kept)} 个，本次导入不会启用（停用原因不是离开花名册，"
                "如需启用请在账号管理中操作）",
                [_who(lg) for lg in kept],
            )
        )
    if leaving:
        notes.append(
            note(
                f"停用账号 {len(leaving)} 个（{LEFT_ROSTER}，不删除，记录保留）",
                [f"{person_name(u)}（{u.get_username()}）" for u in leaving],
            )
        )
    return notes


def _who(login: Login) -> str:
    return f"{login.name}（{login.username}）"
