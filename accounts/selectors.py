"""Reads, scoped. Whose account a user may manage: a city admin anyone's (a superuser's
only if they are one); a county official the township officials of their county and the
cadres linked to it (villages.selectors.cadre_list_for_user); a township official the
cadres linked to their township; nobody else anyone's. Out of reach is a 404."""

from __future__ import annotations

import datetime

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Q, QuerySet
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils import timezone

from accounts.crypto import unseal
from accounts.models import Account, AccountEvent, CredentialSheet, UserSession
from villages.models import UserRole
from villages.selectors import cadre_list_for_user, scope_for_user

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
        "account", "cadre", "portal_role__county", "portal_role__township__county"
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


def accounts_awaiting_first_password(*, user) -> QuerySet:
    """Opened accounts whose first password has not been handed out yet."""
    return account_list_for_user(user=user).filter(
        is_active=True, account__first_password_issued_at__isnull=True
    )


def accounts_issued_unused(*, user) -> QuerySet:
    """Accounts whose first password went out but that have never signed in: a new sheet
    for them replaces the old passwords."""
    return account_list_for_user(user=user).filter(
        is_active=True,
        account__first_password_issued_at__isnull=False,
        account__must_change_password=True,
        last_login__isnull=True,
    )


def own_account(*, user) -> Account | None:
    return Account.objects.filter(user=user).first()


def own_sessions(*, user) -> list[UserSession]:
    return list(UserSession.objects.filter(user=user, ended_at__isnull=True))


def own_events(*, user, limit: int = 20) -> list[AccountEvent]:
    return list(
        AccountEvent.objects.filter(user=user).select_related("actor").order_by("-at")[:limit]
    )


def event_list_for_user(*, user) -> QuerySet[AccountEvent]:
    """The account log: a city admin reads all of it; nobody else any of it."""
    events = AccountEvent.objects.select_related("user", "actor")
    if scope_for_user(user).role == Role.CITY_ADMIN:
        return events
    return events.none()


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
