"""The account log's export kind, registered with core.exports (from AccountsConfig.ready()):
it reads through the same selector and filters as the page, the city admin's whole log,
nobody else's any of it. And the workbook of a first-password sheet."""

import io
from collections.abc import Sequence
from types import SimpleNamespace

from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from openpyxl import Workbook
from openpyxl.styles import Font

from accounts.filters import EventFilter
from accounts.selectors import can_read_event_log, event_list_for_user
from core.excel import safe_cell
from core.exports import ExportKind, register


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
