"""accounts' export kinds. The roster kinds, each in the layout of its import sheet
(accounts.import_kinds), so what is exported re-imports unchanged: the officials' 干部账号与角色,
and villages' 帮扶干部及联系点 with the cadres' 工号 added (replacing villages' kind under its
key). The account log's kind, read through the same selector and filters as its page (the
city admin's whole log, nobody else's any of it). And the workbook of a first-password sheet."""

import io
from collections.abc import Sequence
from types import SimpleNamespace

from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from openpyxl import Workbook
from openpyxl.styles import Font

import villages.exports  # noqa: F401  (registers the "cadres" kind extended below)
from accounts.filters import EventFilter
from accounts.selectors import account_list_for_user, can_read_event_log, event_list_for_user
from core.excel import safe_cell
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


def filtered_events(*, user, params: dict) -> QuerySet:
    """The log as the page shows it with these filters; a bad filter is refused, never
    ignored (an export is never wider than asked)."""
    if not can_read_event_log(user=user):
        raise PermissionDenied("只有市级管理员可以查看和导出账号日志。")
    events = event_list_for_user(user=user).order_by("-at", "-id")
    filterset = EventFilter(params or {}, queryset=events, request=SimpleNamespace(user=user))
    if not filterset.is_valid():
        raise ValidationError(
            {field: [str(e) for e in errors] for field, errors in filterset.errors.items()}
        )
    return filterset.qs


EVENT_HEADERS = (
    "时间",
    "事件",
    "登录名",
    "姓名",
    "县(市、区)",
    "操作人",
    "原因/说明",
    "IP 地址",
    "浏览器",
)


def event_row(e) -> Sequence:
    actor = e.actor
    return (
        e.at,
        e.get_kind_display(),
        e.username,
        e.user.first_name if e.user_id else "",
        e.county_name or "",
        (actor.first_name or actor.get_username()) if actor is not None else "",
        e.reason,
        e.ip or "",
        e.user_agent,
    )


register(
    ExportKind(
        key="account_events",
        label="账号日志",
        headers=EVENT_HEADERS,
        widths=(18, 12, 16, 12, 14, 12, 36, 16, 40),
        queryset=filtered_events,
        row=event_row,
    )
)


# ----- the first-password workbook (开通通知), built on request and never stored -----

SHEET_HEADERS = ("姓名", "单位", "职务", "角色", "辖区", "手机号", "登录名", "首次密码")
SHEET_KEYS = ("name", "unit", "position", "role", "area", "phone", "username", "password")


def credential_workbook(rows: list[dict]) -> bytes:
    """The rows of a sheet as an .xlsx: every cell through safe_cell (a name starting with
    "=" stays text), the login and password columns as text so Excel keeps leading zeros."""
    book = Workbook()
    sheet = book.active
    sheet.title = "开通通知"
    sheet.append(list(SHEET_HEADERS))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append([safe_cell(str(row.get(key, "") or "")) for key in SHEET_KEYS])
    for column, width in zip("ABCDEFGH", (10, 24, 14, 12, 24, 14, 16, 14), strict=True):
        sheet.column_dimensions[column].width = width
        for cell in sheet[column][1:]:
            cell.number_format = "@"
    sheet.freeze_panes = "A2"
    data = io.BytesIO()
    book.save(data)
    return data.getvalue()
