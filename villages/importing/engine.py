"""The one place that reads, normalises, validates, diffs and commits a sheet.

A sheet kind declares columns and four hooks (parse a row, load what exists in bulk,
check and diff a row against it, write the plan). The engine does the rest: finding the
header under title rows, naming missing columns, duplicate keys inside the file, row
limits, scope limits, the plan, and the annotated error workbook. The number of queries
does not depend on the number of rows.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from openpyxl import Workbook, load_workbook
from openpyxl.comments import Comment
from openpyxl.styles import Font, PatternFill

from villages.excel import safe_cell
from villages.importing.normalise import CellError, header_key
from villages.importing.reader import MAX_ROWS, FileProblem, RawSheet, read_bytes

HEADER_SCAN_ROWS = 30
ERROR_FILL = PatternFill("solid", fgColor="FFC7CE")
ERROR_HEADER = "错误说明"

NEW, CHANGED, UNCHANGED, MOVED = "new", "changed", "unchanged", "moved"
STATUS_LABELS = {NEW: "新增", CHANGED: "修改", UNCHANGED: "无变化", MOVED: "迁移"}


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    required: bool = True  # the column must be present (its cells may still be optional)
    aliases: tuple[str, ...] = ()
    note: str = ""
    options: tuple[str, ...] = ()  # drop-down values in the template
    width: int = 14
    is_text: bool = False  # codes and phone numbers: formatted as text in the template

    def matches(self, cell) -> bool:
        key = header_key(cell)
        return bool(key) and key in {header_key(h) for h in (self.header, *self.aliases)}


@dataclass
class Issue:
    row: int  # Excel row number; 0 for file-level problems
    column: str  # header text, or "" when the problem is the whole row or file
    message: str

    def __str__(self) -> str:
        if not self.row:
            return self.message
        where = f"第{self.row}行"
        return (
            f"{where} {self.column}: {self.message}" if self.column else f"{where}: {self.message}"
        )

    def as_dict(self) -> dict:
        return {"row": self.row, "column": self.column, "message": self.message}


@dataclass
class Item:
    row: int
    data: dict
    status: str = NEW
    changes: dict = field(default_factory=dict)  # field label -> [old, new]
    target: Any = None  # the existing object, if any
    label: str = ""


@dataclass
class Plan:
    kind: SheetKind
    items: list[Item] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)
    sheet_name: str = ""
    header_row: int = 0
    columns: dict[str, int] = field(default_factory=dict)  # column key -> 0-based index
    fmt: str = "xlsx"

    @property
    def error_rows(self) -> set[int]:
        return {i.row for i in self.issues if i.row}

    @property
    def file_error(self) -> bool:
        return any(i.row == 0 for i in self.issues)

    def valid_items(self) -> list[Item]:
        bad = self.error_rows
        return [i for i in self.items if i.row not in bad]

    def counts(self) -> dict:
        valid = self.valid_items()
        counts = {s: 0 for s in STATUS_LABELS}
        for item in valid:
            counts[item.status] += 1
        counts["errors"] = len(self.issues)
        counts["error_rows"] = len(self.error_rows)
        counts["rows"] = len(self.items) + len(self.error_rows - {i.row for i in self.items})
        return counts


class Context:
    """What a sheet kind may consult while checking rows: the actor's scope and whatever
    it loaded in bulk."""

    def __init__(self, *, actor, county=None):
        self.actor = actor
        self.county = county  # County when a county official imports, else None
        self.cache: dict[str, Any] = {}
        self.all_rows: list[dict] = []


class SheetKind:
    key: str = ""
    label: str = ""
    columns: Sequence[Column] = ()
    key_columns: Sequence[str] = ()  # duplicate check inside the file

    # Hooks -----------------------------------------------------------------
    def parse(self, cells: dict[str, Any], add_error: Callable[[str, str], None]) -> dict:
        """Normalise one row's raw cells; report problems with add_error(column_key, msg)."""
        raise NotImplementedError

    def load(self, rows: list[dict], ctx: Context) -> None:
        """Fetch, in a constant number of queries, everything the checks need."""
        raise NotImplementedError

    def check(self, item: Item, ctx: Context, add_error: Callable[[str, str], None]) -> None:
        """Check one parsed row against the database and scope; set status and changes."""
        raise NotImplementedError

    def commit(self, items: list[Item], ctx: Context) -> dict:
        """Write the plan's valid items; return counts. Runs inside the caller's transaction."""
        raise NotImplementedError

    # Helpers ---------------------------------------------------------------
    def display(self, key: str, value) -> str | int:
        """A parsed value as a person would write it in the sheet."""
        if value is None:
            return ""
        if hasattr(value, "isoformat"):
            return value.isoformat()
        if isinstance(value, int):
            return value
        labels = getattr(self, "display_labels", {}).get(key)
        return str(labels.get(value, value)) if labels else str(value)

    def column(self, key: str) -> Column:
        return next(c for c in self.columns if c.key == key)

    def row_key(self, data: dict) -> tuple:
        return tuple(data.get(k) for k in self.key_columns)


KINDS: dict[str, SheetKind] = {}


def register(kind: SheetKind) -> SheetKind:
    KINDS[kind.key] = kind
    return kind


def get_kind(key: str) -> SheetKind:
    try:
        return KINDS[key]
    except KeyError:
        raise FileProblem(f"未知的导入类型：{key}") from None


# Reading ---------------------------------------------------------------------


def _find_header(kind: SheetKind, sheet: RawSheet) -> tuple[int, dict[str, int], list[str]]:
    """The header is the first of the top rows that names every required column; returns
    (index into sheet.rows, column key -> cell index, missing required headers)."""
    best = (-1, {}, [c.header for c in kind.columns if c.required])
    for index, (_, values) in enumerate(sheet.rows[:HEADER_SCAN_ROWS]):
        found: dict[str, int] = {}
        for col_index, cell in enumerate(values):
            for column in kind.columns:
                if column.key not in found and column.matches(cell):
                    found[column.key] = col_index
        missing = [c.header for c in kind.columns if c.required and c.key not in found]
        if not missing:
            return index, found, []
        if len(found) > len(best[1]):
            best = (index, found, missing)
    return best


def build_plan(kind: SheetKind, data: bytes, filename: str, ctx: Context, progress=None) -> Plan:
    """Read, normalise, validate and diff `data`. Never writes."""
    plan = Plan(kind=kind)
    report = progress or (lambda percent: None)
    try:
        sheets = read_bytes(data, filename)
    except FileProblem as exc:
        plan.issues.append(Issue(0, "", str(exc)))
        return plan
    report(30)
    candidates = [(sheet, *_find_header(kind, sheet)) for sheet in sheets]
    complete = [c for c in candidates if not c[3]]
    if not complete:
        _, _, found, missing = max(candidates, key=lambda c: len(c[2]), default=(None, -1, {}, []))
        if found:
            message = "缺少必填列：" + "、".join(f"“{m}”" for m in missing)
        else:
            message = (
                f"没有找到表头：前 {HEADER_SCAN_ROWS} 行中没有“{kind.columns[0].header}”"
                f"等列。请使用“{kind.label}”模板。"
            )
        plan.issues.append(Issue(0, "", message))
        return plan
    sheet, header_index, found, _ = complete[0]
    plan.sheet_name, plan.fmt = sheet.name, sheet.fmt
    plan.header_row = sheet.rows[header_index][0]
    plan.columns = found
    data_rows = sheet.rows[header_index + 1 :]
    if len(data_rows) > MAX_ROWS:
        plan.issues.append(Issue(0, "", f"数据超过 {MAX_ROWS:,} 行上限，请拆分后再上传。"))
        return plan

    headers = {c.key: c.header for c in kind.columns}
    parsed: list[Item] = []
    for number, values in data_rows:
        cells = {key: (values[i] if i < len(values) else None) for key, i in found.items()}

        def add_error(column_key: str, message: str, _row=number) -> None:
            plan.issues.append(Issue(_row, headers.get(column_key, column_key), message))

        try:
            row = kind.parse(cells, add_error)
        except CellError as exc:  # a kind may raise instead of reporting
            add_error("", str(exc))
            continue
        except (ValueError, TypeError, OverflowError):
            # A cell no parser foresaw must cost its row, never the whole import.
            add_error("", "本行有无法识别的内容，请检查各列的格式")
            continue
        parsed.append(Item(row=number, data=row))
    report(55)

    _flag_duplicates(kind, parsed, plan)
    ctx.all_rows = [i.data for i in parsed]  # every row of the file, errors included
    kind.load([i.data for i in parsed if i.row not in plan.error_rows], ctx)
    report(70)
    bad = plan.error_rows
    for item in parsed:
        if item.row in bad:
            continue

        def add_error(column_key: str, message: str, _row=item.row) -> None:
            plan.issues.append(Issue(_row, headers.get(column_key, column_key), message))

        kind.check(item, ctx, add_error)
    plan.items = parsed
    plan.issues.sort(key=lambda i: (i.row, i.column))
    report(90)
    return plan


def _flag_duplicates(kind: SheetKind, items: list[Item], plan: Plan) -> None:
    first_seen: dict[tuple, int] = {}
    label = "、".join(kind.column(k).header for k in kind.key_columns)
    column = kind.column(kind.key_columns[0]).header if len(kind.key_columns) == 1 else ""
    for item in items:
        key = kind.row_key(item.data)
        if any(part in (None, "") for part in key):
            continue
        if key in first_seen:
            other = first_seen[key]
            shown = " / ".join(str(p) for p in key)
            plan.issues.append(Issue(other, column, f"{label}（{shown}）与第{item.row}行重复"))
            plan.issues.append(Issue(item.row, column, f"{label}（{shown}）与第{other}行重复"))
        else:
            first_seen[key] = item.row


# The error workbook -------------------------------------------------------------


def annotated_workbook(kind: SheetKind, layout: dict, issues: list[dict], data: bytes) -> bytes:
    """The admin's own workbook back, every bad cell filled red with a comment, and an
    error column at the end of the header row. CSV input comes back as .xlsx.

    `layout` and `issues` are what `plan_preview` stored, so the workbook shows exactly
    the errors the preview showed."""
    by_row: dict[int, list[Issue]] = {}
    for raw in issues:
        issue = Issue(**raw)
        if issue.row:
            by_row.setdefault(issue.row, []).append(issue)
    header_to_index = {kind.column(k).header: i for k, i in layout["columns"].items()}

    if layout["fmt"] == "xlsx":
        wb = load_workbook(io.BytesIO(data))
        ws = wb[layout["sheet"]]
    else:
        wb = Workbook()
        ws = wb.active
        ws.title = "导入数据"
        sheet = read_bytes(data, layout["sheet"])[0]
        for number, values in sheet.rows:
            for col, value in enumerate(values, start=1):
                # CSV text is never a formula: keep "=…" as text in the returned workbook.
                ws.cell(row=number, column=col, value=safe_cell(value))
    error_col = (ws.max_column or 1) + 1
    head = ws.cell(row=layout["header_row"], column=error_col, value=ERROR_HEADER)
    head.font = Font(bold=True, color="9C0006")
    head.fill = ERROR_FILL
    ws.column_dimensions[head.column_letter].width = 60
    for row, issues in by_row.items():
        for issue in issues:
            col_index = header_to_index.get(issue.column)
            if col_index is None:
                continue
            cell = ws.cell(row=row, column=col_index + 1)
            cell.fill = ERROR_FILL
            cell.comment = Comment(issue.message, "联乡帮村工作平台")
        note = ws.cell(
            row=row,
            column=error_col,
            value="；".join(f"{i.column}: {i.message}" if i.column else i.message for i in issues),
        )
        note.font = Font(color="9C0006")
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def plan_preview(plan: Plan, limit: int = 500) -> dict:
    """What the preview page shows, JSON-serialisable. Lists of rows are cut at `limit`;
    every issue is kept (the annotated workbook is built from them)."""
    groups: dict[str, list] = {s: [] for s in STATUS_LABELS}
    for item in plan.valid_items():
        group = groups[item.status]
        if len(group) < limit:
            group.append({"row": item.row, "label": item.label, "changes": item.changes})
    return {
        "counts": plan.counts(),
        "groups": groups,
        "issues": [i.as_dict() for i in plan.issues],
        "limit": limit,
        **(
            {
                "layout": {
                    "sheet": plan.sheet_name,
                    "header_row": plan.header_row,
                    "columns": plan.columns,
                    "fmt": plan.fmt,
                }
            }
            if plan.header_row
            else {}
        ),
    }
