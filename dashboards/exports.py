"""The whole dashboard as one workbook: a summary sheet, then one formatted sheet per
indicator (the area itself and each sub-area), Chinese headers."""

from __future__ import annotations

import io

from django.utils import timezone
from openpyxl import Workbook
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter

from core.excel import safe_cell
from dashboards.indicators import SPECS, TARGET_CODES, VOLUME_CODES
from dashboards.selectors import LEVEL_NAMES

HEADER_FONT = Font(bold=True, color="FFFFFF")
HEADER_FILL = PatternFill("solid", fgColor="B71C1C")
TITLE_FONT = Font(bold=True, size=14)
THIN = Side(style="thin", color="BDBDBD")
BORDER = Border(left=THIN, right=THIN, top=THIN, bottom=THIN)
STATUS_FILL = {
    "met": "C8E6C9",
    "on_track": "BBDEFB",
    "at_risk": "FFE0B2",
    "missed": "FFCDD2",
}


def _sheet(wb, title: str, caption: str, headers: list[str], rows: list[list], widths: list[int]):
    ws = wb.create_sheet(title=title[:31])
    ws.append([caption])
    ws["A1"].font = TITLE_FONT
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(headers))
    ws.append(headers)
    for col, _h in enumerate(headers, start=1):
        cell = ws.cell(row=2, column=col)
        cell.font = HEADER_FONT
        cell.fill = HEADER_FILL
        cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
        cell.border = BORDER
    for row in rows:
        ws.append([safe_cell(v) for v in row])
    for r in ws.iter_rows(min_row=3, max_row=ws.max_row):
        for cell in r:
            cell.border = BORDER
    for i, width in enumerate(widths, start=1):
        ws.column_dimensions[get_column_letter(i)].width = width
    ws.freeze_panes = "B3"
    return ws


def _has_denominator(spec) -> bool:
    """A count with no base (下沉走访) has no 分子/分母 columns: its label is a dash."""
    return spec.denominator_label not in ("", "—")


def _value_header(spec) -> str:
    """The value column's header with its unit once: 下沉走访(次) already names it."""
    unit = "%" if spec.kind == "rate" else spec.unit
    label = spec.label
    if label.endswith((f"({unit})", f"（{unit}）")):
        return label
    return f"{label}（{unit}）"


def dashboard_workbook(*, area, board: dict) -> bytes:
    wb = Workbook()
    wb.remove(wb.active)
    year = board["year"]
    computed_at = timezone.localtime(board["computed_at"])
    stamp = f"统计截至 {board['as_of']:%Y-%m-%d}，数据更新于 {computed_at:%Y-%m-%d %H:%M}"
    summary_rows = []
    for f in board["cards"] + board["volumes"]:
        summary_rows.append(
            [
                f.label,
                float(f.value) if f.value is not None else None,
                "%" if f.spec.kind == "rate" else f.spec.unit,
                f.num,
                f.den if _has_denominator(f.spec) else None,
                f.target_text,
                f.status_label,
                float(f.projected) if f.projected is not None else None,
                float(f.change) if f.change is not None else None,
                f.previous_label,
            ]
        )
    ws = _sheet(
        wb,
        "目标完成情况",
        f"{year}年{area.name}目标完成情况（{stamp}）",
        [
            "指标",
            "完成值",
            "单位",
            "分子",
            "分母",
            "目标",
            "状态",
            "预计年末值",
            "同比变化",
            "同比基期",
        ],
        summary_rows,
        [26, 12, 8, 12, 12, 18, 12, 14, 12, 16],
    )
    for i, f in enumerate(board["cards"] + board["volumes"], start=3):
        fill = STATUS_FILL.get(f.status)
        if fill:
            ws.cell(row=i, column=7).fill = PatternFill("solid", fgColor=fill)
        fmt = "0.00" if f.spec.kind == "rate" else "#,##0"
        for col in (2, 8, 9):
            ws.cell(row=i, column=col).number_format = fmt
    child = LEVEL_NAMES.get(board.get("child_level") or "", "")
    for code in TARGET_CODES + VOLUME_CODES:
        spec = SPECS[code]
        f = board["figures"][code]
        with_den = _has_denominator(spec)
        rows = [(area.name, f.num, f.den, float(f.value) if f.value is not None else None)]
        for c in board["children"]:
            num, den = c["values"].get(code, (0, 0))
            value = round(num * 100 / den, 4) if spec.kind == "rate" and den else None
            if spec.kind != "rate":
                value = num
            rows.append((c["name"], num, den, value))
        # A count with no base is one column: its numerator is the value itself.
        headers = ["地区" if not child else f"地区（{child}）"]
        if with_den:
            headers += [spec.numerator_label, spec.denominator_label]
        headers.append(_value_header(spec))
        sheet = _sheet(
            wb,
            spec.label.replace("(", "（").replace(")", "）"),
            f"{year}年{area.name}{spec.label}（目标：{f.target_text}；{stamp}）",
            headers,
            [
                [name, num, den, value] if with_den else [name, value]
                for name, num, den, value in rows
            ],
            [22, 14, 14, 18] if with_den else [22, 18],
        )
        fmt = "0.00" if spec.kind == "rate" else "#,##0"
        value_col = len(headers)
        for r in range(3, sheet.max_row + 1):
            for col in range(2, value_col):
                sheet.cell(row=r, column=col).number_format = "#,##0"
            sheet.cell(row=r, column=value_col).number_format = fmt
        sheet.cell(row=3, column=1).font = Font(bold=True)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
