"""Read an uploaded table into rows, bounded whatever the file says about itself.

This module runs in a child process with hard memory and CPU limits (see
`reader.parse_in_child`), so it imports nothing of Django: only the standard library and
calamine. Every problem with the file raises FileProblem with a Chinese message.

An .xlsx is measured before calamine reads it. Every zip member is decompressed as a stream
and its real bytes counted (the sizes in the zip headers may lie). Every part is measured
from its text, wherever it stands and whatever its name or root element says (calamine
reads cells after any <sheetData> of a part its relationships call a sheet): each cell with
a value is placed by its r="B7", and a part with a cell it cannot place that way (no r=,
namespace prefixes, unusual quoting) is read again with expat, placing a cell without r=
the way calamine does (the next column; a row without r= the next row). A sheet's extent
is then bounded before calamine builds its dense grid. <dimension> and the shared strings'
counts are not trusted, and a DTD or entity declaration is refused anywhere.

CSV is checked the same way: control characters (NUL and the like) at any offset, lines
and cells longer than any roster needs and rows with too many columns are refused, naming
the row.
"""

from __future__ import annotations

import csv
import io
import json
import pickle
import pyexpat
import re
import resource
import struct
import sys
import zipfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

MAX_ROWS = 100_000  # data rows in a file (non-blank rows)
# calamine builds a dense grid from A1 to the farthest cell with a value: rows × columns of
# every sheet together, and each sheet's last row and column, are bounded.
MAX_CELLS = 3_000_000
MAX_SHEET_ROWS = 200_000
MAX_COLUMNS = 1_000
MAX_UNZIPPED = 300 * 1024 * 1024  # bytes actually decompressed, every member together

ZIP_MAGIC = b"PK\x03\x04"
EXCEL_ROWS, EXCEL_COLUMNS = 1_048_576, 16_384
# C0 control characters other than tab, line feed and carriage return. PostgreSQL refuses
# NUL in text; none of them belongs in a roster.
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
# The same characters as core.importing.normalise._SPACES (a test keeps them equal).
BLANK = re.compile(r"[\s\u3000\u00a0\u200b\ufeff]+")
_CHUNK = 64 * 1024
# No cell holds more than 32,767 characters: a longer run of text between two tags is junk.
MAX_TEXT_RUN = 1024 * 1024

TOO_LARGE = "文件过大或已损坏：读取时超出了内存或时间的限制。请删除多余的内容或拆分后再上传。"
NOT_A_WORKBOOK = "文件不是 Excel 工作簿（.xlsx）。请上传 .xlsx 或 CSV 表格。"
UNZIPPED_TOO_LARGE = "工作簿解压后过大，请删除多余的内容后再上传。"
CONTROL_HINT = "文件可能已损坏，或不是文本表格。请检查后重新上传。"


class FileProblem(ValueError):
    """The file as a whole cannot be read."""


@dataclass(frozen=True)
class Limits:
    """What a file may hold. The parent process sends these to the child, so a test that
    lowers reader.MAX_ROWS lowers it in the child too."""

    max_rows: int = MAX_ROWS
    max_cells: int = MAX_CELLS
    max_sheet_rows: int = MAX_SHEET_ROWS
    max_columns: int = MAX_COLUMNS
    max_unzipped: int = MAX_UNZIPPED
    max_members: int = 1_000  # a workbook has a few dozen
    max_directory_bytes: int = 1024 * 1024  # the zip's central directory
    max_ratio: int = 200  # decompressed ÷ compressed bytes of one member…
    ratio_floor: int = 4 * 1024 * 1024  # …counted once it has produced this much
    max_xml_cells: int = 4_000_000  # <c> elements, with a value or not
    max_xml_rows: int = EXCEL_ROWS  # <row> elements
    max_elements: int = 10_000_000  # XML elements in every part together
    max_shared_strings: int = 1_000_000
    max_shared_strings_bytes: int = 100 * 1024 * 1024
    max_field_chars: int = 32_767  # Excel's own limit for one cell
    max_line_chars: int = 1024 * 1024  # one line of a CSV file


# ----- entry points --------------------------------------------------------------------


def read_sheets(data: bytes, filename: str, limits: Limits | None = None) -> list[tuple]:
    """(format, sheet name, [(row number, cell values), …] without blank rows) for each
    sheet of an .xlsx (cached values for formulas) or for a CSV file (UTF-8 with or without
    BOM, or GBK/GB18030). Raises FileProblem, and nothing else, for a file it cannot read."""
    limits = limits or Limits()
    try:
        if data.startswith(ZIP_MAGIC):
            return read_xlsx(data, limits)
        return [("csv", filename, read_csv(data, limits))]
    except FileProblem:
        raise
    except MemoryError:
        raise FileProblem(TOO_LARGE) from None


def child_main() -> None:
    """The child process: limits first, then from stdin one line of JSON (file name and
    limits) and the file's bytes; the answer goes to stdout as a pickle of plain values:
    ("ok", sheets, peak KB) or ("problem", message, peak KB)."""
    memory, cpu = int(sys.argv[1]), int(sys.argv[2])
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_FSIZE, (0, 0))
    header, _, data = sys.stdin.buffer.read().partition(b"\n")
    request = json.loads(header)
    filename, limits = request["filename"], request["limits"]
    answer: tuple
    try:
        answer = ("ok", read_sheets(data, filename, Limits(**limits)))
    except FileProblem as exc:
        answer = ("problem", str(exc))
    except MemoryError:  # even while the refusal was being made
        answer = ("problem", TOO_LARGE)
    except Exception as exc:  # a bug here must still fail only this file
        answer = ("problem", f"无法读取该文件（{type(exc).__name__}），文件可能已损坏。")
    del data
    sys.stdout.buffer.write(pickle.dumps((*answer, peak_kb()), protocol=pickle.HIGHEST_PROTOCOL))
    sys.stdout.buffer.flush()


def peak_kb() -> int:
    """This process's own peak RSS. Not ru_maxrss: Linux carries the parent's peak over
    into a child's ru_maxrss across fork and exec."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


# ----- .xlsx ----------------------------------------------------------------------------


def read_xlsx(data: bytes, limits: Limits) -> list[tuple]:
    from python_calamine import CalamineWorkbook

    try:
        measure_workbook(data, limits)
        workbook = CalamineWorkbook.from_filelike(io.BytesIO(data))
        sheets = []
        for name in workbook.sheet_names:
            if CONTROL.search(name):
                raise FileProblem("工作表名称中含有控制字符，文件可能已损坏。")
            # skip_empty_area=False: row 0 is Excel row 1, so row numbers stay true.
            rows = workbook.get_sheet_by_name(name).to_python(skip_empty_area=False)
            cells = (  # "" = empty
                tuple([None if v == "" else v for v in r]) if "" in r else tuple(r) for r in rows
            )
            sheets.append(("xlsx", name, non_blank(cells, limits, check_controls=True)))
            del rows, cells
    except (FileProblem, MemoryError, KeyboardInterrupt, SystemExit):
        raise
    except BaseException as exc:  # damaged archives, broken XML; a panic in calamine
        raise FileProblem(
            f"无法读取该 Excel 文件（{type(exc).__name__}），文件可能已损坏。"
        ) from exc
    return sheets


def measure_workbook(data: bytes, limits: Limits) -> list[tuple[int, int]]:
    """Refuse a workbook whose package or sheets exceed `limits`, from what it really holds
    (see the module docstring). Reads every member once, as a stream. Returns each sheet's
    extent (last row, last column with a value), in the order of the package."""
    _check_directory(data, limits)
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        members = zf.infolist()
        if len(members) > limits.max_members:
            raise FileProblem(
                f"工作簿中的文件多达 {len(members):,} 个（上限 {limits.max_members:,}），"
                "文件可能已损坏。"
            )
        if "xl/workbook.xml" not in {m.filename for m in members}:
            raise FileProblem(NOT_A_WORKBOOK)
        tally = _Tally(limits, len(data))
        for member in members:
            if not member.is_dir():
                _measure_member(zf, member, tally)
    tally.finish()
    return tally.extents


def _check_directory(data: bytes, limits: Limits) -> None:
    """zipfile reads the whole central directory up front: bound its size first (a 10 MB
    file can list hundreds of thousands of members)."""
    end = data.rfind(b"PK\x05\x06", max(0, len(data) - 65_557))
    if end < 0 or len(data) < end + 22:
        return  # zipfile finds no end record either and says so
    directory_size = struct.unpack_from("<L", data, end + 12)[0]
    if directory_size == 0xFFFFFFFF:  # ZIP64: the size is in the record the locator names
        locator = end - 20
        if locator < 0 or data[locator : locator + 4] != b"PK\x06\x07":
            return
        record = struct.unpack_from("<Q", data, locator + 8)[0]
        if data[record : record + 4] != b"PK\x06\x06" or len(data) < record + 56:
            return
        directory_size = struct.unpack_from("<Q", data, record + 40)[0]
    if directory_size > limits.max_directory_bytes:
        raise FileProblem("工作簿的目录过大（文件数量异常），文件可能已损坏。")


class _Tally:
    """What the members hold, summed over the package."""

    def __init__(self, limits: Limits, package_bytes: int):
        self.limits = limits
        self.package_bytes = package_bytes
        self.unzipped = 0
        self.elements = 0
        self.xml_cells = 0
        self.xml_rows = 0
        self.extents: list[tuple[int, int]] = []

    def snapshot(self) -> tuple:
        return (self.unzipped, self.elements, self.xml_cells, self.xml_rows, len(self.extents))

    def restore(self, saved: tuple) -> None:
        self.unzipped, self.elements, self.xml_cells, self.xml_rows, extents = saved
        del self.extents[extents:]

    def count_elements(self, n: int = 1) -> None:
        self.elements += n
        if self.elements > self.limits.max_elements:
            raise FileProblem(
                f"工作簿的内容过多（超过 {self.limits.max_elements:,} 个 XML 元素），"
                "请删除多余的内容后再上传。"
            )

    def finish(self) -> None:
        total = sum(rows * columns for rows, columns in self.extents)
        if total > self.limits.max_cells:
            raise FileProblem(
                f"工作簿各工作表的数据范围合计 {total:,} 个单元格，超过 "
                f"{self.limits.max_cells:,} 的上限。请删除多余的工作表或内容后再上传。"
            )


def _measure_member(zf: zipfile.ZipFile, member: zipfile.ZipInfo, tally: _Tally) -> None:
    """Stream one member through. A part the quick text measure cannot place (a cell
    without r=, namespace prefixes, unusual quoting, UTF-16) is read again with expat."""
    before = tally.snapshot()
    try:
        _stream_member(zf, member, tally, exact=False)
    except _NeedsExactPass:
        tally.restore(before)
        _stream_member(zf, member, tally, exact=True)


def _stream_member(zf: zipfile.ZipFile, member: zipfile.ZipInfo, tally: _Tally, exact: bool):
    limits = tally.limits
    compressed = max(min(member.compress_size, tally.package_bytes), 1)  # it may lie
    allowed = max(limits.ratio_floor, limits.max_ratio * compressed)
    produced = 0
    with zf.open(member) as stream:
        chunk = stream.read(_CHUNK)
        scan: _Scan
        if exact:
            scan = _ExactScan(member.filename, tally)
        elif chunk.startswith((b"\xff\xfe", b"\xfe\xff", b"<\x00", b"\x00<")):  # UTF-16
            raise _NeedsExactPass
        elif b"\x00" in chunk:
            scan = _BinaryScan(member.filename, tally)
        else:
            scan = _TextScan(member.filename, tally)
        while chunk:
            produced += len(chunk)
            tally.unzipped += len(chunk)
            if tally.unzipped > limits.max_unzipped:
                raise FileProblem(UNZIPPED_TOO_LARGE)
            if produced > allowed:
                raise FileProblem(
                    f"工作簿中的“{member.filename[:80]}”解压后异常地大（压缩比超过 "
                    f"{limits.max_ratio}:1），文件可能是压缩炸弹或已损坏。"
                )
            scan.feed(chunk)
            chunk = stream.read(_CHUNK)
    scan.close()


class _NeedsExactPass(Exception):
    """The quick measure met something it cannot place from the text: measure again."""


_LOCAL_NAMES: dict[str, str] = {}


def _local(tag: str) -> str:
    """ "x:row" → "row"; cached, since a part repeats a handful of tag names."""
    local = _LOCAL_NAMES.get(tag)
    if local is None:
        local = _LOCAL_NAMES[tag] = tag[tag.find(":") + 1 :]
    return local


# calamine decides nothing by a part's name or root element: it reads cells after any
# <sheetData> of a part its relationships call a sheet, and strings after any <sst>. So
# every part is measured for cells and shared strings, wherever they stand.
# A cell's tag name ends, for calamine's quick-xml, at a space, tab, line break, "/" or ">".
_ODD_CELL_START = re.compile(rb"<c[>/\t\n\r]")
# A cell start tag as Excel, WPS, openpyxl and calamine write it: r= first and only once
# (calamine takes the last), double quotes, no "<", ">" or "/" in any value (so the tag
# really ends at the ">" found).
_PLAIN_CELL = re.compile(rb'<c r="([A-Za-z]{1,3})([0-9]{1,7})"(?: (?!r=)[\w:]+="[^"<>/]*")*(/?)>')
# Any namespace prefix, in any script: calamine matches local names only.
_PREFIXED = re.compile(rb"<[^\s/>!?:<]*:(?:c|row|v|is|si|sst|sheetData)[\s/>]")
_DECLARATION = re.compile(rb"<!(?:DOCTYPE|ENTITY)", re.I)
_SHARED_STRINGS = re.compile(rb"<sst[\s/>]([^<>]*)")
_UNIQUE_COUNT = re.compile(rb"""uniqueCount\s*=\s*["']\s*([0-9]+)""")
_SHARED_STRING = re.compile(rb"<si[\s/>]")
_READ_BY_CALAMINE = re.compile(rb"<(?:[^\s/>!?:<]*:)?(?:sheetData|sst)[\s/>]")


class _Scan:
    """Runs of text between tags stay short: quick-xml (in calamine) holds a run whole, and
    300 MB of blanks would fit under the ratio limit."""

    def __init__(self, name: str, tally: _Tally):
        self.name = name
        self.tally = tally
        self.limits = tally.limits
        self.since_tag = 0  # bytes since the last "<"

    def feed(self, chunk: bytes) -> None:
        last_tag = chunk.rfind(b"<")
        self.since_tag = len(chunk) - last_tag - 1 if last_tag >= 0 else self.since_tag + len(chunk)
        if self.since_tag > MAX_TEXT_RUN:
            raise FileProblem(
                f"工作簿中的“{self.name[:80]}”有一段超过 {MAX_TEXT_RUN // 1024 // 1024} MB "
                "的内容不含任何 XML 标记，文件可能已损坏。"
            )

    def close(self) -> None:
        pass

    def refuse_declaration(self):
        raise FileProblem(
            f"工作簿中的“{self.name[:80]}”含有 DTD 或实体声明（Excel 从不写这些），"
            "文件可能被篡改，已拒绝读取。"
        )

    def check_unique_count(self, declared: int) -> None:
        limit = self.limits.max_shared_strings
        if declared > limit:  # calamine reserves memory for them before reading any
            raise FileProblem(
                f"共享字符串表声称有 {declared:,} 个字符串，超过 {limit:,} 的上限，文件可能已损坏。"
            )

    def count_strings(self, strings: int) -> None:
        if strings > self.limits.max_shared_strings:
            raise FileProblem(
                f"共享字符串表超过 {self.limits.max_shared_strings:,} 个字符串的上限，"
                "请删除多余的内容或拆分后再上传。"
            )


class _BinaryScan(_Scan):
    """A member with NUL bytes (images, printer settings, macros) is no XML; but calamine
    would still read cells or strings from it if its relationships named it a sheet, so
    one holding <sheetData> or <sst> is refused. Runs of text are not its concern."""

    def __init__(self, name: str, tally: _Tally):
        super().__init__(name, tally)
        self.tail = b""

    def feed(self, chunk: bytes) -> None:
        if _READ_BY_CALAMINE.search(self.tail + chunk):
            raise FileProblem(
                f"工作簿中的“{self.name[:80]}”是二进制内容，却含有工作表或共享字符串的标记，"
                "文件可能被篡改，已拒绝读取。"
            )
        self.tail = chunk[-64:]


class _TextScan(_Scan):
    """The quick measure of an XML part, from its text, buffer by buffer (each ends before
    the last "<" of its chunk, and no tag holds a "<", so no tag is cut in two):

    - a DTD or an entity declaration is refused;
    - cells: every cell carries its place and is written plainly (`_PLAIN_CELL`), and one
      that is not self-closing is taken to hold a value;
    - shared strings: the declared uniqueCount and the <si> elements are counted.

    Anything else (prefixes, a cell without r=, other quoting) raises _NeedsExactPass."""

    def __init__(self, name: str, tally: _Tally):
        super().__init__(name, tally)
        self.tail = b""
        self.size = 0
        self.shared = False
        self.strings = 0
        self.cells = False
        self.max_row = self.max_column = 0
        self.letters: set[bytes] = set()
        self.rows: set[bytes] = set()  # the rows holding a value

    def feed(self, chunk: bytes) -> None:
        super().feed(chunk)
        chunk = self.tail + chunk
        cut = chunk.rfind(b"<")
        if cut <= 0:
            self.tail = chunk  # bounded: a run without a tag is refused above
            return
        self.measure(chunk[:cut])
        self.tail = chunk[cut:]

    def close(self) -> None:
        self.measure(self.tail)
        self.tail = b""
        if self.cells:
            self.tally.extents.append((self.max_row, self.max_column))

    def measure(self, buffer: bytes) -> None:
        self.size += len(buffer)
        if b"<!" in buffer and _DECLARATION.search(buffer):
            self.refuse_declaration()
        if _PREFIXED.search(buffer):
            raise _NeedsExactPass
        if not self.shared and (found := _SHARED_STRINGS.search(buffer)):
            self.shared = True
            for declared in _UNIQUE_COUNT.findall(found.group(1)):
                self.check_unique_count(int(declared))
        if self.shared:
            if self.size > self.limits.max_shared_strings_bytes:
                raise FileProblem("共享字符串表过大，请删除多余的内容或拆分后再上传。")
            self.tally.count_elements(buffer.count(b"<") - 2 * buffer.count(b"</"))
            self.strings += len(_SHARED_STRING.findall(buffer))
            self.count_strings(self.strings)
        if b"<c" in buffer:
            self.measure_cells(buffer)

    def measure_cells(self, buffer: bytes) -> None:
        plain = _PLAIN_CELL.findall(buffer)
        cells = len(plain)
        if buffer.count(b"<c ") != cells or _ODD_CELL_START.search(buffer):
            raise _NeedsExactPass
        if not cells:
            return
        self.cells = True
        tally = self.tally
        tally.xml_cells += cells
        if tally.xml_cells > self.limits.max_xml_cells:
            _SheetMeasure.too_many_cells(self.limits)
        tally.xml_rows += buffer.count(b"<row ") + buffer.count(b"<row>")
        if tally.xml_rows > self.limits.max_xml_rows:
            _SheetMeasure.too_many_rows()
        valued = [cell for cell in plain if not cell[2]]
        if not valued:
            return
        new_letters = {cell[0] for cell in valued} - self.letters
        self.letters |= new_letters
        fresh = {cell[1] for cell in valued}
        fresh -= self.rows
        self.rows |= fresh
        if len(self.rows) > _SheetMeasure.row_limit(self.limits):
            _SheetMeasure.too_many_data_rows(self.limits)
        row = max(map(int, fresh), default=0)
        column = max((_cell_ref(letters.decode() + "1")[1] for letters in new_letters), default=0)
        self.max_row = max(self.max_row, row)
        self.max_column = max(self.max_column, column)
        _SheetMeasure.check_extent(self.limits, self.max_row, self.max_column)


class _ExactScan(_Scan):
    """The exact pass: expat over the whole part, every cell placed by `_SheetMeasure` and
    every <sst> and <si> counted, wherever they stand and whatever their prefix."""

    def __init__(self, name: str, tally: _Tally):
        super().__init__(name, tally)
        # VML drawings are often not well-formed XML and calamine never reads them.
        self.lenient = name.lower().endswith(".vml")
        self.failed = False
        self.strings = 0
        self.sheet = _SheetMeasure(tally)
        parser = pyexpat.ParserCreate()
        parser.SetParamEntityParsing(pyexpat.XML_PARAM_ENTITY_PARSING_NEVER)
        parser.StartDoctypeDeclHandler = self.refuse_declaration
        parser.EntityDeclHandler = self.refuse_declaration
        parser.ExternalEntityRefHandler = self.refuse_declaration
        parser.StartElementHandler = self.start
        parser.EndElementHandler = self.sheet.end_exact
        self.parser = parser

    def refuse_declaration(self, *args):
        super().refuse_declaration()

    def start(self, tag: str, attrs: dict) -> None:
        local = _LOCAL_NAMES.get(tag) or _local(tag)
        if local == "si":
            self.strings += 1
            self.count_strings(self.strings)
        elif local == "sst":
            declared = attrs.get("uniqueCount", "").strip()
            if declared.isdigit():
                self.check_unique_count(int(declared))
        self.sheet.start_exact(tag, attrs)

    def feed(self, chunk: bytes) -> None:
        super().feed(chunk)
        self._parse(chunk, False)

    def close(self) -> None:
        self._parse(b"", True)
        if self.sheet.max_row or self.sheet.max_column:
            self.sheet.finish()

    def _parse(self, chunk: bytes, final: bool) -> None:
        if self.failed:
            return
        try:
            self.parser.Parse(chunk, final)
        except pyexpat.ExpatError as exc:
            if self.lenient and not self.sheet.max_row:
                self.failed = True  # a drawing calamine does not read
                return
            raise FileProblem(
                f"工作簿中的“{self.name[:80]}”不是有效的 XML（{exc}），文件可能已损坏。"
            ) from None


class _SheetMeasure:
    """The exact measure of a worksheet, with expat, placing cells as calamine does: a cell
    with r="B7" at B7; a cell without r in the current row, one column right of the cell
    before it. <row r="7"> makes row 7 current and </row> the next one (a <row> without r
    keeps it); </row> also starts again at column A. The extent is the last row and column
    of a cell with a value (<v> or <is>, even empty: calamine counts those)."""

    def __init__(self, tally: _Tally):
        self.tally = tally
        self.limits = tally.limits
        self.pending: tuple[int, int] | None = None  # the open <c>, not yet seen valued
        self.max_row = self.max_column = 0
        self.rows: set[int] = set()  # the rows holding a value
        self.row = 1  # where a cell without r goes
        self.column = 0  # the last cell's column; back to 0 at </row>

    def start_exact(self, tag: str, attrs: dict) -> None:
        tally = self.tally
        tally.elements += 1
        if tally.elements > self.limits.max_elements:
            tally.count_elements(0)
        local = _LOCAL_NAMES.get(tag) or _local(tag)
        if local == "c":
            tally.xml_cells += 1
            if tally.xml_cells > self.limits.max_xml_cells:
                self.too_many_cells(self.limits)
            ref = attrs.get("r")
            if ref is None:
                self.column += 1
                row = self.row
            else:
                row, self.column = _cell_ref(ref)
            self.pending = (row, self.column)
        elif local == "v" or local == "is":
            if self.pending:
                row, column = self.pending
                self.rows.add(row)
                if len(self.rows) > self.row_limit(self.limits):
                    self.too_many_data_rows(self.limits)
                self.max_row = max(self.max_row, row)
                self.max_column = max(self.max_column, column)
                self.check_extent(self.limits, self.max_row, self.max_column)
                self.pending = None
        elif local == "row":
            tally.xml_rows += 1
            if tally.xml_rows > self.limits.max_xml_rows:
                self.too_many_rows()
            number = attrs.get("r")
            if number is not None:
                self.row = _row_number(number)

    def end_exact(self, tag: str) -> None:
        local = _LOCAL_NAMES.get(tag) or _local(tag)
        if local == "row":
            self.row += 1
            self.column = 0
        elif local == "c":
            self.pending = None

    def finish(self) -> None:
        self.tally.extents.append((self.max_row, self.max_column))

    @staticmethod
    def check_extent(limits: Limits, max_row: int, max_column: int) -> None:
        if max_row > limits.max_sheet_rows:
            raise FileProblem(
                f"工作表的数据范围过大：第 {max_row:,} 行还有内容，超过 "
                f"{limits.max_sheet_rows:,} 行。请删除表格下方多余的内容后再上传。"
            )
        if max_column > limits.max_columns:
            raise FileProblem(
                f"工作表的数据范围过大：第 {max_column:,} 列还有内容，超过 "
                f"{limits.max_columns:,} 列。请删除表格右侧多余的内容后再上传。"
            )
        if max_row * max_column > limits.max_cells:
            raise FileProblem(
                f"工作表的数据范围过大（最远的单元格在第 {max_row:,} 行、第 "
                f"{max_column:,} 列），请删除表格右侧和下方多余的内容后再上传。"
            )

    @staticmethod
    def too_many_cells(limits: Limits):
        raise FileProblem(
            f"工作表的单元格多达 {limits.max_xml_cells:,} 个以上（含只有格式的空单元格），"
            "请删除多余的内容后再上传。"
        )

    @staticmethod
    def row_limit(limits: Limits) -> int:
        """Rows with a value that certainly exceed max_rows, before calamine reads them
        (a value of only spaces makes no row, so a tenth more is allowed here)."""
        return limits.max_rows + limits.max_rows // 10 + 50

    @staticmethod
    def too_many_data_rows(limits: Limits):
        raise FileProblem(f"数据超过 {limits.max_rows:,} 行上限，请拆分后再上传。")

    @staticmethod
    def too_many_rows():
        raise FileProblem("工作表的行数超过 Excel 的上限，文件可能已损坏。")


_COLUMNS: dict[str, int] = {}


def _cell_ref(ref: str) -> tuple[int, int]:
    """ "B7" → (7, 2); calamine also takes lower-case letters."""
    digits = ref.lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
    letters = ref[: len(ref) - len(digits)]
    column = _COLUMNS.get(letters)
    if column is None:
        if not (1 <= len(letters) <= 3 and letters.isascii()):
            raise FileProblem(f"单元格位置“{ref[:20]}”无效，文件可能已损坏。")
        column = 0
        for ch in letters.upper():
            column = column * 26 + ord(ch) - 64
        if column > EXCEL_COLUMNS:
            raise FileProblem(f"单元格位置“{ref[:20]}”超出 Excel 的范围，文件可能已损坏。")
        _COLUMNS[letters] = column
    if not (digits.isascii() and digits.isdigit() and len(digits) <= 7):
        raise FileProblem(f"单元格位置“{ref[:20]}”无效，文件可能已损坏。")
    row = int(digits)
    if not 1 <= row <= EXCEL_ROWS:
        raise FileProblem(f"单元格位置“{ref[:20]}”超出 Excel 的范围，文件可能已损坏。")
    return row, column


def _row_number(text: str) -> int:
    if not (text.isascii() and text.isdigit() and len(text) <= 7) or not (
        1 <= int(text) <= EXCEL_ROWS
    ):
        raise FileProblem(f"行号“{text[:20]}”无效，文件可能已损坏。")
    return int(text)


# ----- CSV ------------------------------------------------------------------------------


def read_csv(data: bytes, limits: Limits) -> list[tuple[int, tuple]]:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise FileProblem("无法识别 CSV 文件的编码，请另存为 UTF-8 或 GBK 编码。")
    del data
    text = text.removesuffix("\x1a")  # the end-of-file mark of old DOS programs
    sample = text[:8192]
    try:
        delimiter = csv.Sniffer().sniff(sample, delimiters=",\t;，").delimiter
    except csv.Error:
        delimiter = ","
    _check_lines(text, limits)
    control = CONTROL.search(text)
    saved = csv.field_size_limit(limits.max_field_chars)
    try:
        records = _records(text, delimiter, limits, stop_at=control and control.start())
        return non_blank(records, limits)
    finally:
        csv.field_size_limit(saved)


def _check_lines(text: str, limits: Limits) -> None:
    """Refuse a line longer than max_line_chars before csv splits it into a list of
    millions of cells. The row is named by the records read before it."""
    if len(text) <= limits.max_line_chars:
        return
    start = 0
    while start < len(text):
        end = text.find("\n", start)
        end = len(text) if end < 0 else end
        if end - start > limits.max_line_chars:
            before = sum(1 for _ in csv.reader(io.StringIO(text[:start], newline="")))
            raise FileProblem(
                f"第{before + 1}行过长（超过 {limits.max_line_chars:,} 个字符），"
                "文件可能已损坏或不是名册。"
            )
        start = end + 1


def _records(text: str, delimiter: str, limits: Limits, stop_at: int | None) -> Iterator[tuple]:
    """The CSV records as tuples, refusing a record with too many columns or a cell that is
    too long. `stop_at`: the offset of a control character; the record holding it (found by
    the record that reads past it) is refused, naming its row and column."""
    stream = io.StringIO(text, newline="")
    reader = csv.reader(stream, delimiter=delimiter)
    number = 0
    while True:
        try:
            record = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            if stop_at is not None:
                _refuse_control(number + 1, None, text[stop_at])
            if "field larger than field limit" in str(exc):
                raise FileProblem(
                    f"第{number + 1}行有一个单元格超过 {limits.max_field_chars:,} 个字符"
                    "（Excel 单元格的上限），文件可能已损坏。"
                ) from None
            raise FileProblem(
                f"第{number + 1}行无法按 CSV 读取（{exc}），文件可能已损坏。"
            ) from None
        number += 1
        if stop_at is not None and stream.tell() > stop_at:
            for index, value in enumerate(record, start=1):
                if found := CONTROL.search(value):
                    _refuse_control(number, index, found.group())
            _refuse_control(number, None, text[stop_at])
        if len(record) > limits.max_columns:
            while record and not record[-1]:
                record.pop()  # trailing empty cells: Excel writes its used range's width
            if len(record) > limits.max_columns:
                raise FileProblem(
                    f"第{number}行有 {len(record):,} 列，超过 {limits.max_columns:,} 列的上限，"
                    "文件可能已损坏或不是名册。"
                )
        yield tuple(record)


def _refuse_control(row: int, column: int | None, char: str) -> None:
    where = f"第{row}行第{column}列" if column else f"第{row}行"
    name = "（NUL，空字符）" if char == "\x00" else ""
    raise FileProblem(f"{where}含有控制字符 U+{ord(char):04X}{name}，{CONTROL_HINT}")


# ----- both -----------------------------------------------------------------------------


def is_blank(value) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return not BLANK.sub("", value)
    return False


def non_blank(
    rows: Iterable[tuple], limits: Limits, check_controls: bool = False
) -> list[tuple[int, tuple]]:
    """(row number, values) of the rows that hold something; refuses more than max_rows
    (plus a handful of header and title rows) and more than max_cells kept cells."""
    kept = []
    cells = 0
    for number, values in enumerate(rows, start=1):
        if all(is_blank(v) for v in values):
            continue  # blank and formatted-but-empty rows, however many
        if check_controls:
            _check_controls(number, values)
        kept.append((number, values))
        cells += len(values)
        if len(kept) > limits.max_rows + 50:  # header and title rows are a handful
            raise FileProblem(f"数据超过 {limits.max_rows:,} 行上限，请拆分后再上传。")
        if cells > limits.max_cells:
            raise FileProblem(
                f"数据范围过大（到第 {number:,} 行已超过 {limits.max_cells:,} 个单元格），"
                "请删除多余的列或拆分后再上传。"
            )
    return kept


def _check_controls(number: int, values: tuple) -> None:
    """An .xlsx cannot hold a control character in its XML, but its _x0000_ escapes can."""
    if not CONTROL.search("".join(v for v in values if isinstance(v, str))):
        return
    for index, value in enumerate(values, start=1):
        if isinstance(value, str) and (found := CONTROL.search(value)):
            _refuse_control(number, index, found.group())
