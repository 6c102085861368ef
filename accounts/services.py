"""Writes about logins. Keyword-only, `actor=` first where a person acts, atomic, and
written to the account log (AccountEvent) as well as to the history of the rows they
change."""

from __future__ import annotations

import datetime

from django.conf import settings
from django.contrib.auth import get_user_model, logout, update_session_auth_hash
from django.contrib.auth.hashers import make_password
from django.contrib.auth.password_validation import validate_password
from django.contrib.sessions.backends.base import SessionBase
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from accounts import selectors
from accounts.crypto import seal
from accounts.models import Account, AccountEvent, CredentialSheet, UserSession
from accounts.passwords import generate_password
from accounts.rosters import BACK_ON_ROSTER, LEFT_ROSTER, Login
from core.client_ip import client_ip
from core.importing.bulk import create_with_history, update_with_history
from villages.auth import forget_logins
from villages.models import UserRole
from villages.selectors import scope_for_user

# What a session remembers for the account policy (accounts.middleware).
MUST_CHANGE = "accounts.must_change"  # "first" / "reset" / "expired"
LAST_SEEN = "accounts.seen"  # epoch seconds of the last request that refreshed it
ISSUED_HASHER = "pbkdf2_sha256_issued"


def _ua(request) -> str:
    return (request.META.get("HTTP_USER_AGENT", "") if request is not None else "")[:200]


def _ip(request) -> str | None:
    return client_ip(request) if request is not None else None


def _county_of(user) -> int | None:
    """The county a login belongs to, for filtering the log by area."""
    if user is None or user.pk is None:
        return None
    return selectors.county_ids_of([user])[user.pk]


def record_event(*, kind: str, user=None, username: str = "", actor=None, reason="", request=None):
    return AccountEvent.objects.create(
        kind=kind,
        user=user if user is not None and user.pk else None,
        username=(username or (user.get_username() if user is not None else ""))[:150],
        actor=actor if actor is not None and getattr(actor, "pk", None) else None,
        reason=reason[:200],
        ip=_ip(request),
        user_agent=_ua(request),
        county_id_at=_county_of(user),
    )


def issued_password_hash(password: str) -> str:
    """The hash of a password the portal drew (accounts.hashers), or the default hash where
    the deployment does not list that hasher."""
    hashers = [import_string(path).algorithm for path in settings.PASSWORD_HASHERS]
    return make_password(password, hasher=ISSUED_HASHER if ISSUED_HASHER in hashers else "default")


def _account(user) -> Account:
    account = Account.objects.filter(user=user).first()
    return account if account is not None else Account.objects.create(user=user)


def _end_sessions(user, *, keep: str | None = None) -> int:
    """End every signed-in session of `user` but `keep`: the session rows go from the
    session store (and its cache), and their UserSession rows are closed."""
    open_sessions = UserSession.objects.filter(user=user, ended_at__isnull=True)
    if keep:
        open_sessions = open_sessions.exclude(session_key=keep)
    return _close_sessions(open_sessions)


def _close_sessions(open_sessions) -> int:
    engine = import_string(f"{settings.SESSION_ENGINE}.SessionStore")
    keys = list(open_sessions.values_list("session_key", flat=True))
    for key in keys:
        store: SessionBase = engine(session_key=key)
        store.delete()
    open_sessions.update(ended_at=timezone.now())
    return len(keys)


# ----- signing in and out (called by accounts.receivers and accounts.middleware) -----


@transaction.atomic
def session_started(*, user, request, sso: bool = False) -> None:
    """A sign-in: remember the browser, and what the session must do first (a first,
    reset or expired password is changed first, unless the sign-in was a single sign-on)."""
    session = request.session
    now = timezone.now()
    session[LAST_SEEN] = now.timestamp()
    account = Account.objects.filter(user=user).first()
    if sso:
        # signed in by the single sign-on provider: the local password plays no part
        session.pop(MUST_CHANGE, None)
    elif account is not None and account.must_change_password:
        session[MUST_CHANGE] = "first" if account.password_changed_at is None else "reset"
    elif selectors.password_expired(account, now):
        session[MUST_CHANGE] = "expired"
    else:
        session.pop(MUST_CHANGE, None)
    if session.session_key is None:
        session.save()
    UserSession.objects.update_or_create(
        session_key=session.session_key,
        defaults={
            "user": user,
            "created_at": now,
            "last_seen_at": now,
            "ip": _ip(request),
            "user_agent": _ua(request),
            "ended_at": None,
        },
    )
    record_event(
        kind=AccountEvent.Kind.SSO_LOGIN if sso else AccountEvent.Kind.LOGIN,
        user=user,
        request=request,
    )


def session_ended(*, user, request, kind: str = AccountEvent.Kind.LOGOUT) -> None:
    """A sign-out: once per request, so an idle sign-out (which then calls Django's logout,
    whose signal comes here too) is one line of the log, not two."""
    if request is not None:
        if getattr(request, "_accounts_session_ended", False):
            return
        request._accounts_session_ended = True
    key = getattr(getattr(request, "session", None), "session_key", None)
    if key:
        UserSession.objects.filter(session_key=key, ended_at__isnull=True).update(
            ended_at=timezone.now()
        )
    if user is not None and getattr(user, "pk", None):
        record_event(kind=kind, user=user, request=request)


def session_seen(*, request) -> None:
    """A request in a signed-in session, at most once a minute (accounts.middleware)."""
    key = request.session.session_key
    if key:
        UserSession.objects.filter(session_key=key).update(last_seen_at=timezone.now())


def session_idle_out(*, request) -> None:
    """Sign out a session left idle longer than SESSION_IDLE_MINUTES."""
    user = request.user
    session_ended(user=user, request=request, kind=AccountEvent.Kind.IDLE_TIMEOUT)
    logout(request)


def login_failed(*, username: str, request, reason: str = "") -> None:
    User = get_user_model()
    user = User.objects.filter(**{User.USERNAME_FIELD: username}).first() if username else None
    record_event(
        kind=AccountEvent.Kind.LOGIN_FAILED,
        user=user,
        username=username or "",
        reason=reason,
        request=request,
    )


def locked_out(*, username: str, request) -> None:
    User = get_user_model()
    user = User.objects.filter(**{User.USERNAME_FIELD: username}).first() if username else None
    record_event(
        kind=AccountEvent.Kind.LOCKED_OUT, user=user, username=username or "", request=request
    )


def token_refusal(user) -> str | None:
    """Why `user` may not have an API token yet (core.api.auth, API_TOKEN_REFUSAL): a
    first or reset password, or an expired one, is changed in the portal first."""
    account = Account.objects.filter(user=user).first()
    if account is not None and (
        account.must_change_password or selectors.password_expired(account)
    ):
        return "请先登录网页修改密码，再获取接口令牌。"
    return None


# ----- self-service (个人中心) -----


@transaction.atomic
def password_change(*, actor, request, old_password: str, new_password: str) -> None:
    """The signed-in user changes their own password. Their other sessions end; this one
    stays signed in."""
    if not actor.check_password(old_password):
        raise ValidationError({"old_password": "原密码不正确。"})
    if old_password == new_password:
        raise ValidationError({"new_password": "新密码不能与原密码相同。"})
    try:
        validate_password(new_password, user=actor)
    except ValidationError as exc:
        raise ValidationError({"new_password": exc.messages}) from exc
    actor.set_password(new_password)
    actor._history_user = actor
    actor.save()
    account = _account(actor)
    account.must_change_password = False
    account.password_changed_at = timezone.now()
    if account.first_password_issued_at is None:
        account.first_password_issued_at = account.password_changed_at
    account._history_user = actor
    account.save()
    signed_in_as = request.session.session_key
    update_session_auth_hash(request, actor)  # a new session key for this browser
    if signed_in_as and signed_in_as != request.session.session_key:
        UserSession.objects.filter(session_key=signed_in_as).update(
            session_key=request.session.session_key
        )
    request.session.pop(MUST_CHANGE, None)
    _end_sessions(actor, keep=request.session.session_key)
    record_event(kind=AccountEvent.Kind.PASSWORD_CHANGED, user=actor, actor=actor, request=request)


@transaction.atomic
def sessions_end_others(*, actor, request) -> int:
    ended = _end_sessions(actor, keep=request.session.session_key)
    record_event(
        kind=AccountEvent.Kind.SESSIONS_ENDED,
        user=actor,
        actor=actor,
        reason=f"结束 {ended} 个会话",
        request=request,
    )
    return ended


# ----- scoped help: resets, deactivation -----


def _managed(actor, user):
    if not selectors.account_list_for_user(user=actor).filter(pk=user.pk).exists():
        raise PermissionDenied("该账号不存在，或不在您的管辖范围内。")


def _reason(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": "请填写原因。"})
    return reason[:200]


@transaction.atomic
def password_reset(*, actor, user, reason: str, request=None) -> str:
    """A one-time password for `user`, which their next sign-in must change. Their
    sessions end. The password is returned once and kept nowhere."""
    _managed(actor, user)
    reason = _reason(reason)
    password = generate_password()
    user.password = issued_password_hash(password)
    user._history_user = actor
    user.save()
    account = _account(user)
    account.must_change_password = True
    account.first_password_issued_at = account.first_password_issued_at or timezone.now()
    account._history_user = actor
    account.save()
    _end_sessions(user)
    record_event(
        kind=AccountEvent.Kind.PASSWORD_RESET,
        user=user,
        actor=actor,
        reason=reason,
        request=request,
    )
    return password


@transaction.atomic
def account_set_active(*, actor, user, active: bool, reason: str, request=None) -> None:
    """Deactivate (never delete) or reactivate a login. A deactivated login's sessions end
    at once; its records stay."""
    _managed(actor, user)
    reason = _reason(reason)
    if user.is_active == active:
        return
    user.is_active = active
    user._history_user = actor
    user.save(update_fields=["is_active"])
    account = _account(user)
    account.status_reason = reason
    account._history_user = actor
    account.save()
    if not active:
        _end_sessions(user)
    record_event(
        kind=AccountEvent.Kind.REACTIVATED if active else AccountEvent.Kind.DEACTIVATED,
        user=user,
        actor=actor,
        reason=reason,
        request=request,
    )


# ----- first passwords, handed out once -----


def _sheet_row(user, area: str) -> dict:
    cadre = getattr(user, "cadre", None)
    role = getattr(user, "portal_role", None)
    if cadre is not None:
        unit, post = cadre.work_unit.name, cadre.position
    else:
        unit, post = "", ""
    return {
        "name": user.first_name or (cadre.name if cadre is not None else user.get_username()),
        "username": user.get_username(),
        "phone": selectors.phone_of(user),
        "role": str(role.get_role_display()) if role is not None else "",
        "area": area,
        "unit": unit,
        "position": post,
    }


@transaction.atomic
def credentials_issue(*, actor, regenerate: bool = False, request=None) -> CredentialSheet:
    """Draw the first passwords of the accounts in `actor`'s area that are waiting for one
    (and, with `regenerate`, new ones for those handed out but never used: the earlier
    sheet's passwords stop working). They can be downloaded, as a workbook and as printable
    slips, by `actor` alone for CREDENTIAL_SHEET_MINUTES; then only the fact remains."""
    if not selectors.can_manage_accounts(user=actor):
        raise PermissionDenied("您无权下发账号密码。")
    waiting = list(selectors.accounts_awaiting_first_password(user=actor).order_by("username"))
    again = (
        list(selectors.accounts_issued_unused(user=actor).order_by("username"))
        if regenerate
        else []
    )
    users = waiting + again
    if not users:
        raise ValidationError("没有需要下发首次密码的账号。")
    now = timezone.now()
    areas = selectors.account_areas(user=actor, users=users)
    rows, accounts = [], []
    for user in users:
        password = generate_password()
        user.password = issued_password_hash(password)
        account = getattr(user, "account", None) or Account(user=user)
        account.must_change_password = True
        account.first_password_issued_at = now
        accounts.append(account)
        rows.append({**_sheet_row(user, areas.get(user.pk, "")), "password": password})
    update_with_history(get_user_model(), users, ["password"], actor=actor, reason="下发首次密码")
    new_accounts = [a for a in accounts if a.pk is None]
    for account in new_accounts:
        account._history_user = actor
        account.save()
    update_with_history(
        Account,
        [a for a in accounts if a not in new_accounts],
        ["must_change_password", "first_password_issued_at"],
        actor=actor,
        reason="下发首次密码",
    )
    forget_logins([u.pk for u in users])
    sheet = CredentialSheet.objects.create(
        created_by=actor,
        created_at=now,
        expires_at=now + datetime.timedelta(minutes=settings.CREDENTIAL_SHEET_MINUTES),
        accounts=len(users),
        regenerated=len(again),
        payload=seal(rows),
    )
    counties = selectors.county_ids_of(users)
    again_ids = {u.pk for u in again}
    AccountEvent.objects.bulk_create(
        [
            AccountEvent(
                kind=AccountEvent.Kind.CREDENTIALS_ISSUED,
                user=user,
                username=user.get_username(),
                actor=actor,
                reason=f"开通通知 #{sheet.pk}" + ("（重新生成）" if user.pk in again_ids else ""),
                ip=_ip(request),
                user_agent=_ua(request),
                county_id_at=counties.get(user.pk),
            )
            for user in users
        ]
    )
    return sheet


def credential_sheet_downloaded(*, actor, sheet: CredentialSheet, fmt: str, request=None):
    """Each download of a sheet is a line of the log."""
    record_event(
        kind=AccountEvent.Kind.CREDENTIALS_ISSUED,
        user=actor,
        actor=actor,
        reason=f"下载开通通知 #{sheet.pk}（{fmt}，{sheet.accounts} 个账号）",
        request=request,
    )


def credential_sheets_wipe(now: datetime.datetime | None = None) -> int:
    """Wipe the passwords of the sheets whose time is up (Celery beat, and before any
    sheet is read)."""
    now = now or timezone.now()
    due = list(selectors.sheets_to_wipe(now).values_list("pk", flat=True))
    if not due:
        return 0  # the common case: one read, nothing written
    return selectors.sheets_to_wipe(now).filter(pk__in=due).update(payload="", wiped_at=now)


# ----- logins from the rosters (accounts.import_kinds) -----


def _roles_in_reach(actor, logins: list[Login]) -> None:
    """A county official gives roles to township officials of their own county only (the
    sheet refuses anything else row by row; this is the service's own guard)."""
    scope = scope_for_user(actor) if actor is not None else None
    if scope is not None and not scope.can_import:
        raise PermissionDenied("只有市级管理员和县级干部可以导入账号。")
    if scope is None or scope.role == UserRole.Role.CITY_ADMIN:
        return
    for login in logins:
        if login.set_role and (
            login.role != UserRole.Role.TOWNSHIP_OFFICIAL
            or login.township is None
            or login.township.county_id != scope.county_id
        ):
            raise PermissionDenied("县级干部只能为本县(市、区)的乡级干部分配角色。")


@transaction.atomic
def roster_logins_write(
    *, actor, logins: list[Login], leaving: list[tuple], source: str, reason: str
) -> dict:
    """Open, update and reactivate the logins of a roster's people, and deactivate those
    who left it (`leaving`: (user, county id) pairs); never delete. In a number of
    queries that does not grow with the people.

    A new login has no usable password and no first password yet
    (first_password_issued_at empty): the official hands those out with
    `credentials_issue`. An existing login keeps its name and password. Returns
    {"users": {phone: user id}} and the counts."""
    _roles_in_reach(actor, logins)
    User = get_user_model()
    now = timezone.now()
    new = [login for login in logins if login.user is None]
    create_with_history(
        User,
        [
            User(
                **{User.USERNAME_FIELD: login.username},
                first_name=login.name,
                password=make_password(None),
                date_joined=now,
            )
            for login in new
        ],
        actor=actor,
        reason=reason,
    )
    made = (
        {
            u.get_username(): u
            for u in User.objects.filter(
                **{f"{User.USERNAME_FIELD}__in": [login.username for login in new]}
            )
        }
        if new
        else {}
    )

    accounts_new, roles_new, users_changed, accounts_changed, roles_changed = [], [], {}, {}, []
    user_fields, account_fields = set(), set()
    events, users, reactivated = [], {}, 0
    for login in logins:
        back = login.reactivate  # read before the login below is changed
        reactivated += back
        user = login.user if login.user is not None else made[login.username]
        users[login.phone] = user.pk
        account = getattr(login.user, "account", None)
        if account is None:
            accounts_new.append(
                Account(
                    user=user,
                    phone=login.phone,
                    staff_no=login.staff_no,
                    source=source,
                    first_password_issued_at=(
                        user.date_joined
                        if login.user is not None and user.has_usable_password()
                        else None
                    ),
                )
            )
        else:
            wanted = {"phone": login.phone}
            if login.staff_no:
                wanted["staff_no"] = login.staff_no
            if back:
                wanted["status_reason"] = BACK_ON_ROSTER
            for name, value in wanted.items():
                if getattr(account, name) != value:
                    setattr(account, name, value)
                    account_fields.add(name)
                    accounts_changed[account.pk] = account
        if login.user is not None:
            for name, value in (("first_name", login.name), ("is_active", True)):
                if name == "is_active" and not back:
                    continue
                if getattr(user, name) != value:
                    setattr(user, name, value)
                    user_fields.add(name)
                    users_changed[user.pk] = user
        role = getattr(login.user, "portal_role", None)
        if role is None:
            roles_new.append(
                UserRole(user=user, role=login.role, county=login.county, township=login.township)
            )
        elif (
            login.set_role and (role.role, role.county_id, role.township_id) != login.role_wanted()
        ):
            role.role, role.county, role.township = login.role, login.county, login.township
            roles_changed.append(role)
        if login.user is None or back:
            events.append(
                _event(
                    AccountEvent.Kind.CREATED
                    if login.user is None
                    else AccountEvent.Kind.REACTIVATED,
                    user,
                    actor,
                    reason if login.user is None else BACK_ON_ROSTER,
                    login.county_id,
                )
            )

    for user, county_id in leaving:
        user.is_active = False
        user_fields.add("is_active")
        users_changed[user.pk] = user
        account = getattr(user, "account", None)
        if account is not None:
            account.status_reason = LEFT_ROSTER
            account_fields.add("status_reason")
            accounts_changed[account.pk] = account
        events.append(_event(AccountEvent.Kind.DEACTIVATED, user, actor, LEFT_ROSTER, county_id))

    create_with_history(Account, accounts_new, actor=actor, reason=reason)
    create_with_history(UserRole, roles_new, actor=actor, reason=reason)
    update_with_history(
        User, list(users_changed.values()), sorted(user_fields), actor=actor, reason=reason
    )
    update_with_history(
        Account, list(accounts_changed.values()), sorted(account_fields), actor=actor, reason=reason
    )
    update_with_history(
        UserRole, roles_changed, ["role", "county", "township"], actor=actor, reason=reason
    )
    AccountEvent.objects.bulk_create(events)
    gone = [user.pk for user, _ in leaving]
    if gone:
        _close_sessions(UserSession.objects.filter(user_id__in=gone, ended_at__isnull=True))
    forget_logins(
        set(users_changed) | {r.user_id for r in roles_changed} | {r.user_id for r in roles_new}
    )
    return {
        "users": users,
        "accounts_created": len(new),
        "accounts_linked": sum(
            1 for login in logins if login.user is not None and not login.linked
        ),
        "accounts_reactivated": reactivated,
        "accounts_deactivated": len(leaving),
    }


def _event(kind, user, actor, reason, county_id) -> AccountEvent:
    return AccountEvent(
        kind=kind,
        user=user,
        username=user.get_username(),
        actor=actor if actor is not None and actor.pk else None,
        reason=reason[:200],
        county_id_at=county_id,
    )
