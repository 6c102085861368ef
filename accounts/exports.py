"""accounts' export kinds, each in the layout of its import sheet (accounts.import_kinds),
so what is exported re-imports unchanged: the officials' 干部账号与角色, and villages'
帮扶干部及联系点 with the cadres' 工号 added (replacing villages' kind under its key)."""

from collections.abc import Sequence

from django.db.models import QuerySet

import villages.exports  # noqa: F401  (registers the "cadres" kind extended below)
from accounts.selectors import account_list_for_user
from core.exports import EXPORT_KINDS, ExportKind, register
from villages.models import UserRole
from villages.selectors import scope_for_user

Role = UserRole.Role
OFFICIAL_ROLES = (Role.CITY_ADMIN, Role.CITY_VIEWER, Role.COUNTY_OFFICIAL, Role.TOWNSHIP_OFFICIAL)


def _officials(*, user, params: dict) -> QuerySet:
    """The officials `user` may import (a city admin: all but themselves; a county
    official: the township officials of their county; anyone else: none)."""
    if not scope_for_user(user).can_import:
        return account_list_for_user(user=user).none()
    return (
        account_list_for_user(user=user)
        .filter(portal_role__role__in=OFFICIAL_ROLES)
        .order_by("portal_role__role", "username")
    )


def official_row(user) -> Sequence:
    role = user.portal_role
    account = getattr(user, "account", None)
    if role.township_id:
        area = role.township.code
    elif role.county_id:
        area = role.county.code
    else:
        area = ""
    return (
        user.first_name,
        account.phone if account is not None and account.phone else "",
        role.get_role_display(),
        area,
        account.staff_no if account is not None else "",
    )


register(
    ExportKind(
        key="roles",
        label="干部账号与角色",
        headers=("姓名", "手机号", "角色", "辖区", "工号"),
        widths=(10, 14, 12, 14, 12),
        queryset=_officials,
        row=official_row,
    )
)

_cadres = EXPORT_KINDS["cadres"]


def _assignments(*, user, params: dict) -> QuerySet:
    return _cadres.queryset(user=user, params=params).select_related("cadre__user__account")


def assignment_row(assignment) -> Sequence:
    login = assignment.cadre.user
    account = getattr(login, "account", None) if login is not None else None
    return (*_cadres.row(assignment), account.staff_no if account is not None else "")


register(
    ExportKind(
        key="cadres",
        label=_cadres.label,
        headers=(*_cadres.headers, "工号"),
        widths=(*_cadres.widths, 12),
        queryset=_assignments,
        row=assignment_row,
    ),
    replace=True,
)
