"""Blank import templates: the declared headers, notes on each header, drop-down lists for
the enumerated columns, and text format on code and phone columns."""

import io

from openpyxl import Workbook
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.worksheet.datavalidation import DataValidation

from core.importing.engine import SheetKind

MAX_TEMPLATE_ROWS = 100_001


def template_workbook(kind: SheetKind) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = kind.label[:31]
    header_fill = PatternFill("solid", fgColor="B71C1C")
    for index, column in enumerate(kind.columns, start=1):
        cell = ws.cell(row=1, column=index, value=column.header)
        cell.font = Font(bold=True, color="FFFFFF")
        cell.fill = header_fill
        cell.alignment = Alignment(horizontal="center")
        notes = [column.note] if column.note else []
        if column.options:
            notes.append("可选：" + "、".join(column.options))
        notes.append("必填列" if column.required else "可选列，可删除")
        cell.comment = Comment("\n".join(notes), "联乡帮村工作平台", width=260, height=110)
        letter = cell.column_letter
        ws.column_dimensions[letter].width = column.width
        if column.is_text:
            ws.column_dimensions[letter].number_format = "@"
        if column.options:
            dv = DataValidation(
                type="list",
                formula1='"' + ",".join(column.options) + '"',
                allow_blank=True,
                showErrorMessage=True,
                errorTitle="输入有误",
                error="请从下拉列表中选择：" + "、".join(column.options),
            )
            dv.add(f"{letter}2:{letter}{MAX_TEMPLATE_ROWS}")
            ws.add_data_validation(dv)
    ws.freeze_panes = "A2"

    guide = wb.create_sheet("填表说明")
    guide.column_dimensions["A"].width = 18
    guide.column_dimensions["B"].width = 80
    guide.append(["列名", "说明"])
    for column in kind.columns:
        text = column.note or ""
        if column.options:
            text = (text + " 可选：" + "、".join(column.options)).strip()
        guide.append([column.header, text or ("必填" if column.required else "可选")])
    guide.append([])
    guide.append(
        ["提示", "表头可以放在标题行之下，列的顺序可以调整，多余的列会被忽略；空行会被跳过。"]
    )
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
