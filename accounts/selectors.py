"""Reads, scoped. Whose account a user may manage: a city admin anyone's (a superuser's
only if they are one); a county official the township officials of their county and the
cadres linked to it (villages.selectors.cadre_list_for_user); a township official the
cadres linked to their township; nobody else anyone's. Out of reach is a 404."""

from __future__ import annotations

import datetime

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX
from django.db.models import Case, CharField, OuterRef, Q, QuerySet, Subquery, Value, When
from django.db.models.functions import Coalesce
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils import timezone

from accounts.crypto import unseal
from accounts.models import Account, AccountEvent, CredentialSheet, UserSession
from villages.models import Assignment, Cadre, County, UserRole
from villages.selectors import (
    assignment_list_for_user,
    cadre_list_for_user,
    current_programme_year,
    scope_for_user,
)

Role = UserRole.Role
MANAGER_ROLES = (Role.CITY_ADMIN, Role.COUNTY_OFFICIAL, Role.TOWNSHIP_OFFICIAL)


def can_manage_accounts(*, user) -> bool:
    return scope_for_user(user).role in MANAGER_ROLES


def account_list_for_user(*, user) -> QuerySet:
    """The logins `user` may reset, deactivate and hand first passwords to (never their
    own: that is 个人中心)."""
    User = get_user_model()
    scope = scope_for_user(user)
    users = User.objects.select_related(
        "account", "cadre__work_unit", "portal_role__county", "portal_role__township__county"
    ).exclude(pk=user.pk)
    if scope.role == Role.CITY_ADMIN:
        return users if user.is_superuser else users.filter(is_superuser=False)
    if scope.role not in (Role.COUNTY_OFFICIAL, Role.TOWNSHIP_OFFICIAL):
        return users.none()
    cadres = Q(cadre__in=cadre_list_for_user(user=user).values("pk"))
    if scope.role == Role.COUNTY_OFFICIAL:
        officials = Q(
            portal_role__role=Role.TOWNSHIP_OFFICIAL,
            portal_role__township__county_id=scope.county_id,
        )
        return users.filter(cadres | officials, is_superuser=False, is_staff=False)
    return users.filter(cadres, is_superuser=False, is_staff=False)


def account_get_for_user(*, user, user_id):
    return get_object_or_404(account_list_for_user(user=user), pk=user_id)


# A login nobody can sign in with yet: opened without a password (or with an unusable one).
NO_PASSWORD = Q(password="") | Q(password__startswith=UNUSABLE_PASSWORD_PREFIX)
AWAITING = (
    Q(is_active=True)
    & (Q(account__isnull=True) | Q(account__first_password_issued_at__isnull=True))
    & NO_PASSWORD
)
ISSUED_UNUSED = Q(
    is_active=True,
    account__first_password_issued_at__isnull=False,
    account__must_change_password=True,
    last_login__isnull=True,
)


def accounts_awaiting_first_password(*, user) -> QuerySet:
    """Opened accounts whose first password has not been handed out yet. A login that
    already has a password of its own is never among them, Account row or not: a sheet
    must not replace a password someone uses (that is a reset, one by one, with a reason)."""
    return account_list_for_user(user=user).filter(AWAITING)


def accounts_issued_unused(*, user) -> QuerySet:
    """Accounts whose first password went out but that have never signed in: a new sheet
    for them replaces the old passwords."""
    return account_list_for_user(user=user).filter(ISSUED_UNUSED)


# ----- the account list (账号管理) -----

STATES = {
    "awaiting": "待下发首次密码",
    "issued": "待首次登录",
    "active": "正常",
    "disabled": "已停用",
    "must_change": "须改密",
}


def _state_case(now: datetime.datetime) -> Case:
    """Each login's state, in this order: deactivated; waiting for a first password;
    handed one but never signed in; must change a reset (or expired) password; fine."""
    must_change = Q(account__must_change_password=True)
    days = settings.PASSWORD_MAX_AGE_DAYS
    if days:
        must_change |= Q(account__password_changed_at__lt=now - datetime.timedelta(days=days))
    return Case(
        When(is_active=False, then=Value("disabled")),
        When(AWAITING, then=Value("awaiting")),
        When(ISSUED_UNUSED, then=Value("issued")),
        When(must_change, then=Value("must_change")),
        default=Value("active"),
        output_field=CharField(),
    )


def account_rows_for_user(*, user, query: str = "", state: str = "", now=None) -> QuerySet:
    """The logins `user` manages, each annotated with its `state` (a key of STATES),
    searched by name, phone or login name and filtered by state; an unknown state filters
    nothing out (the page says so)."""
    now = now or timezone.now()
    rows = (
        account_list_for_user(user=user)
        .select_related("cadre__work_unit")
        .annotate(state=_state_case(now))
    )
    query = query.strip()
    if query:
        rows = rows.filter(
            Q(username__icontains=query)
            | Q(first_name__icontains=query)
            | Q(cadre__name__icontains=query)
            | Q(account__phone__contains=query)
            | Q(cadre__phone__contains=query)
        )
    if state in STATES:
        rows = rows.filter(state=state)
    return rows.order_by("username")


def account_row_get_for_user(*, user, user_id):
    """One login `user` manages, with its `state`; else a 404."""
    return get_object_or_404(account_rows_for_user(user=user), pk=user_id)


def account_areas(*, user, users) -> dict[int, str]:
    """What each of `users` covers, as `user` may see it: an official's county or
    township; a cadre's 联系点 of the current programme year that lie in `user`'s area (one
    query for the whole page, none outside it)."""
    users = list(users)
    areas = {}
    cadre_of = {}
    for person in users:
        role = getattr(person, "portal_role", None)
        cadre = getattr(person, "cadre", None)
        if cadre is not None:
            cadre_of[cadre.pk] = person.pk
        elif role is not None and role.role != Role.CADRE:
            areas[person.pk] = role.area_name
    if cadre_of:
        links = assignment_list_for_user(user=user).filter(cadre_id__in=list(cadre_of))
        year = current_programme_year()
        if year is not None:
            links = links.filter(year=year)
        names: dict[int, list[str]] = {}
        for link in links.order_by("kind", "pk"):
            target = link.village if link.village_id else link.township
            names.setdefault(cadre_of[link.cadre_id], []).append(
                f"{link.get_kind_display()}：{target.name}"
            )
        areas.update({pk: "、".join(found) for pk, found in names.items()})
    return areas


def county_ids_of(users) -> dict[int, int | None]:
    """The county each login belongs to, for the account log: an official's own; a
    cadre's, that of their latest 联系点, else that of the unit that sent them. For many
    logins at once in two queries whatever their number (a sheet of a county's 2,000 first
    passwords)."""
    found: dict[int, int | None] = {}
    cadres: dict[int, int] = {}
    for user in users:
        scope = scope_for_user(user)
        found[user.pk] = scope.county_id
        if not scope.county_id and scope.cadre_id:
            cadres[scope.cadre_id] = user.pk
    if cadres:
        links = (
            Assignment.objects.filter(cadre_id__in=list(cadres))
            .order_by("cadre_id", "-year", "pk")
            .values_list(
                "cadre_id", Coalesce("village__township__county_id", "township__county_id")
            )
        )
        for cadre_id, county_id in links:
            found.setdefault(cadres[cadre_id], None)
            if found[cadres[cadre_id]] is None:
                found[cadres[cadre_id]] = county_id
        units = Cadre.objects.filter(
            pk__in=[c for c, u in cadres.items() if found[u] is None]
        ).values_list("pk", "work_unit__county_id")
        for cadre_id, county_id in units:
            found[cadres[cadre_id]] = county_id
    return found


def sheet_list_for_user(*, user, limit: int = 5) -> list[CredentialSheet]:
    """The sheets `user` generated that can still be read."""
    return list(
        CredentialSheet.objects.filter(
            created_by=user, wiped_at__isnull=True, expires_at__gt=timezone.now()
        ).order_by("-created_at")[:limit]
    )


def phone_of(user, account: Account | None = None) -> str:
    """A login's phone number: its account's, else its cadre record's (with the relations
    already loaded, no query)."""
    account = account if account is not None else getattr(user, "account", None)
    if account is not None and account.phone:
        return account.phone
    cadre = getattr(user, "cadre", None)
    return cadre.phone if cadre is not None else ""


def own_account(*, user) -> Account | None:
    return Account.objects.filter(user=user).first()


def own_sessions(*, user) -> list[UserSession]:
    return list(UserSession.objects.filter(user=user, ended_at__isnull=True))


def own_events(*, user, limit: int = 20) -> list[AccountEvent]:
    return list(
        AccountEvent.objects.filter(user=user).select_related("actor").order_by("-at")[:limit]
    )


def event_list_for_user(*, user) -> QuerySet[AccountEvent]:
    """The account log: a city admin reads all of it; nobody else any of it. Each event
    carries the name of the county its login belonged to (`county_name`)."""
    county = County.objects.filter(pk=OuterRef("county_id_at")).values("name")[:1]
    events = AccountEvent.objects.select_related("user", "actor").annotate(
        county_name=Subquery(county)
    )
    if scope_for_user(user).role == Role.CITY_ADMIN:
        return events
    return events.none()


# What an official managing a login sees of its log: what was done to the account, not
# where it signed in from.
MANAGEMENT_KINDS = (
    AccountEvent.Kind.CREATED,
    AccountEvent.Kind.CREDENTIALS_ISSUED,
    AccountEvent.Kind.PASSWORD_RESET,
    AccountEvent.Kind.PASSWORD_CHANGED,
    AccountEvent.Kind.DEACTIVATED,
    AccountEvent.Kind.REACTIVATED,
)


def account_events_for_user(*, user, target, limit: int = 30) -> list[AccountEvent]:
    """The management events of `target` (a login `user` manages: else a 404), newest
    first, with their reasons."""
    target = account_get_for_user(user=user, user_id=target.pk)
    return list(
        AccountEvent.objects.filter(user=target, kind__in=MANAGEMENT_KINDS)
        .select_related("actor")
        .order_by("-at", "-id")[:limit]
    )


def account_admin_list_for_user(*, user) -> QuerySet[Account]:
    """The Account rows, in the Django admin: a city admin's to look at, nobody else's."""
    if can_read_event_log(user=user):
        return Account.objects.select_related("user")
    return Account.objects.none()


def can_read_event_log(*, user) -> bool:
    return scope_for_user(user).role == Role.CITY_ADMIN


def credential_sheet_get_for_user(*, user, pk) -> CredentialSheet:
    """A sheet is read by the official who generated it, and nobody else."""
    return get_object_or_404(CredentialSheet.objects.filter(created_by=user), pk=pk)


def credential_sheet_rows(sheet: CredentialSheet) -> list[dict]:
    """The logins and passwords of a sheet while it can still be read; else a 404."""
    rows = unseal(sheet.payload) if sheet.readable else None
    if rows is None:
        raise Http404("开通通知已过期或已清除。")
    return rows


def sheets_to_wipe(now: datetime.datetime | None = None) -> QuerySet[CredentialSheet]:
    now = now or timezone.now()
    return CredentialSheet.objects.filter(wiped_at__isnull=True, expires_at__lte=now)


def password_expired(account: Account | None, now: datetime.datetime | None = None) -> bool:
    days = settings.PASSWORD_MAX_AGE_DAYS
    if not days or account is None or account.password_changed_at is None:
        return False
    now = now or timezone.now()
    return now - account.password_changed_at > datetime.timedelta(days=days)
