"""Logins for the demo's people (seed_demo runs it right after villages.demo).

Every demo cadre, and a 县级干部 for each county and a 乡级干部 for each township, gets a
login as the rosters would open it: the login name by ACCOUNT_USERNAME (the phone number,
or a 工号), an Account (source 演示数据) with the phone, a role, and the first password
demo12345, each with its own salted hash, which the first sign-in must change. The six
README logins (villages.demo.DEMO_USERS) get their Account too, but keep demo12345 with no
forced change.

Idempotent: a person is matched on their cadre record's login, then on the account's
phone, then on the login name; a login that exists is never given a password again, so a
second run writes nothing.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from accounts.models import Account, AccountEvent
from accounts.services import issued_password_hash
from core.importing.bulk import create_with_history, update_with_history
from villages.auth import forget_logins
from villages.demo import DEMO_PASSWORD, DEMO_USERS, GIVEN, SURNAMES, SyncStats
from villages.models import Cadre, County, Township, UserRole

FIRST_PASSWORD = DEMO_PASSWORD
REASON = "演示数据"
Role = UserRole.Role


def note() -> str:
    login = "手机号" if settings.ACCOUNT_USERNAME != "staff_no" else "工号（YS 加手机号）"
    return (
        f"其他演示干部（帮扶干部，各县、乡镇的县级、乡级干部）的账号见管理后台“用户”，"
        f"登录名为{login}，首次密码均为 {FIRST_PASSWORD}，首次登录须修改密码。"
    )


@dataclass
class Person:
    phone: str
    name: str
    role: str
    county_id: int | None = None
    township_id: int | None = None
    township_county_id: int | None = None
    cadre_id: int | None = None
    user_id: int | None = None  # the login already linked to the cadre record

    @property
    def staff_no(self) -> str:
        """The demo's 工号, used as the login name when ACCOUNT_USERNAME is "staff_no"."""
        return f"YS{self.phone}" if settings.ACCOUNT_USERNAME == "staff_no" else ""

    @property
    def username(self) -> str:
        return self.staff_no or self.phone

    @property
    def role_row(self) -> dict:
        return {"role": self.role, "county_id": self.county_id, "township_id": self.township_id}


def _officials(seed: int) -> list[Person]:
    """A 县级干部 for each county and a 乡级干部 for each township, named at random."""
    rng = random.Random(f"accounts.demo:{seed}")
    people, serial = [], 0

    def name() -> str:
        return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))

    for pk in County.objects.order_by("code").values_list("pk", flat=True):
        serial += 1
        people.append(Person(f"18{serial:09d}", name(), Role.COUNTY_OFFICIAL, county_id=pk))
    townships = Township.objects.order_by("code").values_list("pk", "county_id")
    for pk, county_id in townships:
        serial += 1
        people.append(
            Person(
                f"18{serial:09d}",
                name(),
                Role.TOWNSHIP_OFFICIAL,
                township_id=pk,
                township_county_id=county_id,
            )
        )
    return people


def _cadres() -> list[Person]:
    rows = Cadre.objects.order_by("phone").values_list("pk", "phone", "name", "user_id")
    return [
        Person(phone, name, Role.CADRE, cadre_id=pk, user_id=user_id)
        for pk, phone, name, user_id in rows
    ]


@transaction.atomic
def seed_demo(*, seed: int = 2023, scale: int = 1) -> SyncStats:
    stats = SyncStats()
    User = get_user_model()
    now = timezone.now()
    actor = User.objects.filter(username="admin").first()
    readme = set(User.objects.filter(username__in=[u[0] for u in DEMO_USERS]))
    readme_ids = {u.pk for u in readme}
    people = [p for p in _cadres() + _officials(seed) if p.user_id not in readme_ids]

    # ----- the logins -----
    accounts = {a.phone: a for a in Account.objects.filter(phone__in=[p.phone for p in people])}
    by_id = User.objects.in_bulk(
        [p.user_id for p in people if p.user_id] + [a.user_id for a in accounts.values()]
    )
    by_name = User.objects.in_bulk([p.username for p in people], field_name="username")
    logins, new_users = {}, []
    for person in people:
        account = accounts.get(person.phone)
        user = (
            by_id.get(person.user_id)
            or (by_id.get(account.user_id) if account is not None else None)
            or by_name.get(person.username)
        )
        if user is None:
            user = User(
                username=person.username,
                first_name=person.name,
                password=issued_password_hash(FIRST_PASSWORD),
                date_joined=now,
            )
            new_users.append(user)
        logins[person.phone] = user
    create_with_history(User, new_users, actor=actor, reason=REASON)
    if any(u.pk is None for u in new_users):  # no RETURNING on this database
        made = User.objects.in_bulk([u.username for u in new_users], field_name="username")
        for user in new_users:
            user.pk = made[user.username].pk
    _count(stats.created, User, new_users)
    created_ids = {u.pk for u in new_users}
    # The demo keeps the logins it made in step with the people (name, login name, role);
    # a login someone else made for a demo cadre is left as it is.
    own_ids = created_ids | set(
        Account.objects.filter(
            user__in=[u for u in logins.values() if u.pk not in created_ids],
            source=Account.Source.DEMO,
        ).values_list("user_id", flat=True)
    )
    own = [p for p in people if logins[p.phone].pk in own_ids]
    renamed = []
    for person in own:
        user = logins[person.phone]
        if (user.username, user.first_name) != (person.username, person.name):
            user.username, user.first_name = person.username, person.name
            renamed.append(user)
    update_with_history(User, renamed, ["username", "first_name"], actor=actor, reason=REASON)
    _count(stats.updated, User, renamed)

    # ----- their roles and cadre records -----
    roles = {r.user_id: r for r in UserRole.objects.filter(user__in=[logins[p.phone] for p in own])}
    new_roles, changed_roles = [], []
    for person in own:
        user = logins[person.phone]
        role = roles.get(user.pk)
        if role is None:
            new_roles.append(UserRole(user=user, **person.role_row))
        elif {k: getattr(role, k) for k in person.role_row} != person.role_row:
            for k, v in person.role_row.items():
                setattr(role, k, v)
            changed_roles.append(role)
    create_with_history(UserRole, new_roles, actor=actor, reason=REASON)
    update_with_history(
        UserRole, changed_roles, ["role", "county_id", "township_id"], actor=actor, reason=REASON
    )
    _count(stats.created, UserRole, new_roles)
    _count(stats.updated, UserRole, changed_roles)

    unlinked = {p.cadre_id: logins[p.phone].pk for p in own if p.cadre_id and not p.user_id}
    cadres = list(Cadre.objects.filter(pk__in=unlinked))
    for cadre in cadres:
        cadre.user_id = unlinked[cadre.pk]
    update_with_history(Cadre, cadres, ["user"], actor=actor, reason=REASON)
    if cadres:
        stats.updated["干部登录账号"] += len(cadres)

    # ----- their accounts (the README's too) -----
    phones = {u.pk: "" for u in readme}
    readme_cadres = Cadre.objects.filter(user__in=readme).values_list("user_id", "phone")
    phones.update(readme_cadres)
    wanted = {
        logins[p.phone].pk: (p.phone, p.staff_no, logins[p.phone].pk in created_ids) for p in people
    }
    wanted.update({pk: (phone or None, "", False) for pk, phone in phones.items()})
    existing = {a.user_id: a for a in Account.objects.filter(user_id__in=wanted)}
    new_accounts, changed_accounts = [], []
    for user_id, (phone, staff_no, first) in wanted.items():
        account = existing.get(user_id)
        if account is None:
            new_accounts.append(
                Account(
                    user_id=user_id,
                    phone=phone,
                    staff_no=staff_no,
                    source=Account.Source.DEMO,
                    must_change_password=first,
                    first_password_issued_at=now,
                )
            )
        elif (user_id in own_ids or user_id in readme_ids) and (
            account.phone,
            account.staff_no,
        ) != (phone, staff_no):
            account.phone, account.staff_no = phone, staff_no
            changed_accounts.append(account)
    create_with_history(Account, new_accounts, actor=actor, reason=REASON)
    update_with_history(
        Account, changed_accounts, ["phone", "staff_no"], actor=actor, reason=REASON
    )
    _count(stats.created, Account, new_accounts)
    _count(stats.updated, Account, changed_accounts)

    county_of = {
        logins[p.phone].pk: p.county_id or p.township_county_id
        for p in people
        if p.role != Role.CADRE
    }
    AccountEvent.objects.bulk_create(
        [
            AccountEvent(
                at=now,
                kind=AccountEvent.Kind.CREATED,
                user=user,
                username=user.username,
                actor=actor,
                reason=f"{REASON}：首次登录须修改密码",
                county_id_at=county_of.get(user.pk),
            )
            for user in new_users
        ],
        batch_size=2000,
    )
    forget_logins(
        {u.pk for u in renamed}
        | {r.user_id for r in new_roles + changed_roles}
        | set(unlinked.values())
    )
    stats.notes.append(note())
    return stats


def _count(counter: dict, model, objs: list) -> None:
    if objs:
        counter[str(model._meta.verbose_name)] += len(objs)
