"""Excel writing helpers shared by every export."""

import datetime
from collections.abc import Iterable, Sequence

from django.utils import timezone
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value):
    """Neutralise formula injection: text that Excel would run as a formula is kept as text.

    A moment in time is written as Beijing time (TIME_ZONE): Excel keeps no time zone, and
    the reader expects the clock on the office wall, not UTC."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    if isinstance(value, datetime.datetime) and timezone.is_aware(value):
        return timezone.make_naive(value)
    return value


def write_workbook(
    path,
    *,
    title: str,
    headers: Sequence[str],
    rows: Iterable[Sequence],
    widths: Sequence[int] | None = None,
    on_row=None,
) -> int:
    """Stream `rows` into a one-sheet workbook at `path`; returns the number of data rows.

    `on_row(n)` is called after each row so callers can report progress.
    """
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(title=title[:31])
    for i, width in enumerate(widths or [], start=1):
        ws.column_dimensions[get_column_letter(i)].width = width
    ws.freeze_panes = "A2"
    header_font = Font(bold=True, color="FFFFFF")
    header_fill = PatternFill("solid", fgColor="B71C1C")
    header_cells = []
    for h in headers:
        cell = WriteOnlyCell(ws, value=h)
        cell.font = header_font
        cell.fill = header_fill
        header_cells.append(cell)
    ws.append(header_cells)
    n = 0
    for row in rows:
        ws.append([safe_cell(v) for v in row])
        n += 1
        if on_row is not None:
            on_row(n)
    wb.save(path)
    return n
