"""The one place that reads, normalises, validates, diffs and commits a sheet.

A sheet kind declares columns and four hooks (parse a row, load what exists in bulk,
check and diff a row against it, write the plan). The engine does the rest: finding the
header under title rows, naming missing columns, duplicate keys inside the file, row
limits, scope limits, the plan, and the annotated error workbook. The number of queries
does not depend on the number of rows.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.comments import Comment
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import get_column_letter

from core.excel import safe_cell
from core.importing.normalise import CellError, header_key
from core.importing.reader import MAX_ROWS, FileProblem, RawSheet, read_bytes

HEADER_SCAN_ROWS = 30
ERROR_FILL = PatternFill("solid", fgColor="FFC7CE")
ERROR_HEADER = "错误说明"
COMMENT_AUTHOR = "联乡帮村工作平台"
# Hover notes on the first this many bad cells only: each costs more to write than its row
# (60,000 of them more than doubled the time of a 20,000-row workbook), and the error column at the
# end of every bad row already says it all.
MAX_COMMENTS = 1000

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
    # What a kind adds to the preview beyond the rows (SheetKind.finish): each a dict with
    # "text" and, optionally, "names" (cut at the preview's limit) and "more".
    notes: list[dict] = field(default_factory=list)
    # The rows with an issue, kept up to date by add_issue: checking a row against it costs
    # the same whatever the number of issues (was rebuilt from every issue per row).
    _error_rows: set[int] = field(default_factory=set, init=False, repr=False)
    _counted: int = field(default=0, init=False, repr=False)

    def add_issue(self, issue: Issue) -> None:
        self.issues.append(issue)
        if self._counted == len(self.issues) - 1:
            self._counted += 1
            if issue.row:
                self._error_rows.add(issue.row)

    @property
    def error_rows(self) -> set[int]:
        if self._counted != len(self.issues):  # issues appended by hand: count them again
            self._error_rows = {i.row for i in self.issues if i.row}
            self._counted = len(self.issues)
        return self._error_rows

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

    def finish(self, plan: Plan, ctx: Context) -> None:
        """After every row is checked: flag what only the whole file shows (plan.add_issue)
        and add notes to the preview (plan.notes). Optional."""

    def commit(self, items: list[Item], ctx: Context) -> dict:
        """Write the plan's valid items; return counts (and, under "notes", lines for the
        result page). Runs inside the caller's transaction."""
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


def register(kind: SheetKind, *, replace: bool = False) -> SheetKind:
    """Add `kind` to the registry. A key is registered once; an app that extends another
    app's kind (accounts' cadre roster, which also opens the logins) says so with
    `replace=True`, which needs the key to be registered already (the app it extends has
    to be loaded first), and keeps its place in the list."""
    if replace and kind.key not in KINDS:
        raise ImproperlyConfigured(f"导入类型 {kind.key} 尚未注册，无法替换。")
    if not replace and kind.key in KINDS:
        raise ImproperlyConfigured(
            f"导入类型 {kind.key} 已由 {type(KINDS[kind.key]).__module__} 注册；"
            "替换须写明 replace=True。"
        )
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
        plan.add_issue(Issue(0, "", str(exc)))
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
        plan.add_issue(Issue(0, "", message))
        return plan
    sheet, header_index, found, _ = complete[0]
    plan.sheet_name, plan.fmt = sheet.name, sheet.fmt
    plan.header_row = sheet.rows[header_index][0]
    plan.columns = found
    data_rows = sheet.rows[header_index + 1 :]
    if len(data_rows) > MAX_ROWS:
        plan.add_issue(Issue(0, "", f"数据超过 {MAX_ROWS:,} 行上限，请拆分后再上传。"))
        return plan

    headers = {c.key: c.header for c in kind.columns}
    parsed: list[Item] = []
    for number, values in data_rows:
        cells = {key: (values[i] if i < len(values) else None) for key, i in found.items()}

        def add_error(column_key: str, message: str, _row=number) -> None:
            plan.add_issue(Issue(_row, headers.get(column_key, column_key), message))

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
    bad = set(plan.error_rows)  # the parse errors: those rows are not checked further
    kind.load([i.data for i in parsed if i.row not in bad], ctx)
    report(70)
    for item in parsed:
        if item.row in bad:
            continue

        def add_error(column_key: str, message: str, _row=item.row) -> None:
            plan.add_issue(Issue(_row, headers.get(column_key, column_key), message))

        kind.check(item, ctx, add_error)
    plan.items = parsed
    kind.finish(plan, ctx)
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
            plan.add_issue(Issue(other, column, f"{label}（{shown}）与第{item.row}行重复"))
            plan.add_issue(Issue(item.row, column, f"{label}（{shown}）与第{other}行重复"))
        else:
            first_seen[key] = item.row


# The error workbook -------------------------------------------------------------


def annotated_sheet_rows(layout: dict, data: bytes, filename: str) -> list[tuple[int, tuple]]:
    """The rows of the sheet a preview was built from (`layout` as plan_preview stored it),
    read again from the uploaded file."""
    for sheet in read_bytes(data, filename):
        if sheet.fmt != "xlsx" or sheet.name == layout["sheet"]:
            return sheet.rows
    raise FileProblem(f"工作簿中没有名为“{layout['sheet']}”的工作表。")


def annotated_workbook(
    kind: SheetKind,
    layout: dict,
    issues: list[dict],
    rows: list[tuple[int, tuple]],
    target,
    on_row: Callable[[int], None] | None = None,
) -> int:
    """The uploaded sheet back, rebuilt from its values, with every bad cell filled red (and
    commented, up to MAX_COMMENTS cells), and an error column at the end of the header row
    holding every message of its row; written as .xlsx to `target` (a path or a binary
    file). Returns the number of rows written.

    `layout` and `issues` are what `plan_preview` stored, so the workbook shows exactly the
    errors the preview showed; `rows` are the sheet's rows (annotated_sheet_rows). Built from
    values (never from the uploaded file's own XML), so the uploader's formulas, styles and
    hidden parts stay behind: text Excel would run as a formula ("=HYPERLINK(…)", "=cmd|…")
    is kept as text, as in every export (safe_cell). Rows keep their numbers, so "第N行" in
    the messages is the row in the workbook. `on_row(n)` is called after each row written,
    so the job can report progress."""
    columns = layout["columns"]  # column key -> 0-based index
    header_row = layout["header_row"]
    keys = {c.header: c.key for c in kind.columns}
    by_cell: dict[tuple[int, int], list[str]] = {}
    notes: dict[int, list[str]] = {}
    for raw in issues:
        issue = Issue(**raw)
        if not issue.row:
            continue
        notes.setdefault(issue.row, []).append(
            f"{issue.column}: {issue.message}" if issue.column else issue.message
        )
        index = columns.get(keys.get(issue.column, ""))
        if index is not None:
            by_cell.setdefault((issue.row, index), []).append(issue.message)
    width = max((len(values) for _, values in rows), default=0)
    error_index = max(width, *(i + 1 for i in columns.values()), 1)

    wb = Workbook(write_only=True)
    ws = wb.create_sheet(title=(layout["sheet"] if layout["fmt"] == "xlsx" else "") or "导入数据")
    for key, index in columns.items():
        ws.column_dimensions[get_column_letter(index + 1)].width = kind.column(key).width
    ws.column_dimensions[get_column_letter(error_index + 1)].width = 60
    ws.freeze_panes = f"A{header_row + 1}"
    header_font, note_font = Font(bold=True, color="9C0006"), Font(color="9C0006")
    written = comments = 0
    for number, values in rows:
        while written < number - 1:  # blank rows the reader dropped
            ws.append([])
            written += 1
        cells: list = [_inert(value) for value in values]
        if number in notes:
            for index, value in enumerate(cells):
                if messages := by_cell.get((number, index)):
                    cell = cells[index] = WriteOnlyCell(ws, value=value)
                    cell.fill = ERROR_FILL
                    if comments < MAX_COMMENTS:
                        cell.comment = Comment(_inert("\n".join(messages)), COMMENT_AUTHOR)
                        comments += 1
        if number == header_row or number in notes:
            cells += [None] * (error_index - len(cells))
            if number == header_row:
                cell = WriteOnlyCell(ws, value=ERROR_HEADER)
                cell.font, cell.fill = header_font, ERROR_FILL
            else:
                cell = WriteOnlyCell(ws, value=_inert("；".join(notes[number])))
                cell.font = note_font
            cells.append(cell)
        ws.append(cells)
        written += 1
        if on_row is not None:
            on_row(written)
    wb.save(target)
    return written


def _inert(value):
    """A value as the annotated workbook may hold it: formulas as text (safe_cell), and no
    control characters, which the .xlsx format cannot carry."""
    value = safe_cell(value)
    if isinstance(value, str):
        return ILLEGAL_CHARACTERS_RE.sub("", value)
    return value


def _note(note: dict, limit: int) -> dict:
    names = [str(name) for name in note.get("names", ())]
    return {
        "text": str(note["text"]),
        "names": names[:limit],
        "more": max(0, len(names) - limit) + int(note.get("more", 0)),
    }


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
        "notes": [_note(note, limit) for note in plan.notes],
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
