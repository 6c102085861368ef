"""Reading uploads (core.importing.reader) and finding the table in them (the engine's
file-level checks): .xlsx and CSV in the encodings people send, and a clear Chinese
refusal for everything else."""

import datetime
import io
import random
import re
import struct
import zipfile
import zlib

import pytest

from core.importing import engine, reader
from core.importing.engine import Context, build_plan, get_kind
from core.importing.reader import FileProblem, read_bytes
from tests.imports.builders import (
    VILLAGE_HEADERS,
    Formula,
    SheetBuilder,
    csv_bytes,
    villages_xlsx,
    xlsx_bytes,
)

NOT_A_SHEET = "文件不是表格（既不是 .xlsx，也不是 CSV 文本）。"
ENCRYPTED = "工作簿设置了打开密码（已加密），请在 Excel 中取消密码后另存，再上传。"
OLE_MAGIC = bytes.fromhex("d0cf11e0a1b11ae1")


def _png() -> bytes:
    """A real 1×1 PNG."""

    def chunk(tag: bytes, payload: bytes) -> bytes:
        body = tag + payload
        return struct.pack(">I", len(payload)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\x00\x00")
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


def _refusal(data: bytes, filename: str = "upload.xlsx") -> str:
    with pytest.raises(FileProblem) as excinfo:
        read_bytes(data, filename)
    return str(excinfo.value)


def _values(sheet) -> list[tuple[int, list]]:
    """(row number, cells with trailing empties dropped) for each row the reader kept."""
    result = []
    for number, values in sheet.rows:
        cells = list(values)
        while cells and cells[-1] in (None, ""):
            cells.pop()
        result.append((number, cells))
    return result


# ----- .xlsx ------------------------------------------------------------------------


def test_xlsx_rows_keep_their_excel_numbers_past_titles_blanks_and_hidden_rows():
    # given
    sheet = SheetBuilder()
    sheet.title("许昌市村(社区)花名册", span=4)
    sheet.blank(2)
    header = sheet.row(["甲", "乙"])
    sheet.formatted_blank(30, span=6)
    hidden = sheet.row(["隐藏行", 1], hidden=True)
    sheet.blank(5)
    last = sheet.row(["末行", 2])
    sheet.formatted_blank(20, span=6)

    # when
    [raw] = read_bytes(sheet.to_bytes(), "x.xlsx")

    # then
    assert raw.fmt == "xlsx"
    assert _values(raw) == [
        (1, ["许昌市村(社区)花名册"]),
        (header, ["甲", "乙"]),
        (hidden, ["隐藏行", 1]),
        (last, ["末行", 2]),
    ]
    assert (header, hidden, last) == (4, 35, 41)


def test_xlsx_merged_title_cell_gives_its_text_once():
    # given
    sheet = SheetBuilder()
    sheet.title("标题", span=5)

    # when
    [raw] = read_bytes(sheet.to_bytes(), "x.xlsx")

    # then
    first, *rest = raw.rows[0][1]
    assert first == "标题"
    assert all(v is None for v in rest)


def test_xlsx_formula_cells_are_read_by_their_cached_values():
    # given
    sheet = SheetBuilder()
    sheet.row(
        [
            Formula("=411024107000+225", 411024107225),
            Formula('=CONCATENATE("张","庄村")', "张庄村"),
            Formula("=SUM(100,20.5)", 120.5),
        ]
    )

    # when
    [raw] = read_bytes(sheet.to_bytes(), "x.xlsx")

    # then
    assert list(raw.rows[0][1]) == [411024107225, "张庄村", 120.5]


def test_xlsx_formula_without_a_cached_value_reads_as_empty():
    # given: the same formula as written by openpyxl, never opened in Excel
    wb_bytes = xlsx_bytes([["=411024107000+225", "x"]])

    # when
    [raw] = read_bytes(wb_bytes, "x.xlsx")

    # then: the reader never sees the formula text, only the (missing) value
    assert list(raw.rows[0][1]) == [None, "x"]


def test_xlsx_every_sheet_is_read():
    # given
    sheet = SheetBuilder("说明")
    sheet.row(["本表说明"])
    second = sheet.wb.create_sheet("花名册")
    second.append(["a", "b"])

    # when
    sheets = read_bytes(sheet.to_bytes(), "x.xlsx")

    # then
    assert [s.name for s in sheets] == ["说明", "花名册"]


def test_xlsx_with_a_wrong_dimension_record_is_still_read_completely():
    # given: a writer that claims the sheet is just A1
    data = xlsx_bytes([["a", "b"], ["c", "d"], ["e", "f"]])
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for item in source.infolist():
            payload = source.read(item)
            if item.filename == "xl/worksheets/sheet1.xml":
                payload, count = re.subn(
                    rb'<dimension ref="[^"]+"', b'<dimension ref="A1"', payload
                )
                assert count == 1
            target.writestr(item, payload)

    # when
    [raw] = read_bytes(out.getvalue(), "x.xlsx")

    # then
    assert [list(v) for _, v in raw.rows] == [["a", "b"], ["c", "d"], ["e", "f"]]


def test_xlsx_dates_numbers_and_text_keep_their_types():
    # given
    data = xlsx_bytes([[datetime.date(2024, 3, 1), 411024107225, 411024107225.0, "０１"]])

    # when
    [raw] = read_bytes(data, "x.xlsx")

    # then: a date cell is a date (a datetime at midnight would do as well), numbers stay
    # numbers whatever their Python type, and text stays text
    when, *rest = raw.rows[0][1]
    assert isinstance(when, datetime.date)
    assert (when.year, when.month, when.day) == (2024, 3, 1)
    assert rest == [411024107225, 411024107225, "０１"]


# ----- CSV --------------------------------------------------------------------------

ROWS = [["县(市、区)", "村(社区)名称"], ["甲县", "张庄村"], ["乙县", "䶮家村"]]


@pytest.mark.parametrize(
    "encoding, bom",
    [("utf-8", False), ("utf-8", True), ("gbk", False), ("gb18030", False)],
    ids=["utf-8", "utf-8-bom", "gbk", "gb18030"],
)
def test_csv_in_each_common_encoding(encoding, bom):
    # given
    rows = ROWS if encoding != "gbk" else ROWS[:2]  # 䶮 is not in GBK
    data = csv_bytes(rows, encoding=encoding, bom=bom)

    # when
    [raw] = read_bytes(data, "花名册.csv")

    # then
    assert raw.fmt == "csv"
    assert raw.name == "花名册.csv"
    assert [list(v) for _, v in raw.rows] == rows


def test_csv_gb18030_four_byte_characters_survive():
    # given: 𠀀 (U+20000) needs GB18030's four-byte form
    data = csv_bytes([["姓名"], ["王𠀀"]], encoding="gb18030")

    # when
    [raw] = read_bytes(data, "x.csv")

    # then
    assert raw.rows[1][1] == ("王𠀀",)


def test_csv_bom_is_not_glued_to_the_first_header():
    # given
    data = csv_bytes(ROWS, bom=True)

    # when
    [raw] = read_bytes(data, "x.csv")

    # then
    assert raw.rows[0][1][0] == "县(市、区)"


@pytest.mark.parametrize("delimiter", [",", "\t", ";"])
def test_csv_delimiter_is_sniffed(delimiter):
    # given
    data = csv_bytes(ROWS, delimiter=delimiter)

    # when
    [raw] = read_bytes(data, "x.csv")

    # then
    assert [list(v) for _, v in raw.rows] == ROWS


def test_csv_blank_lines_are_skipped_but_line_numbers_kept():
    # given
    data = "标题,,\r\n,,\r\n\r\n县,村\r\n\u3000,  \r\n甲县,张庄村\r\n".encode()

    # when
    [raw] = read_bytes(data, "x.csv")

    # then
    assert [n for n, _ in raw.rows] == [1, 4, 6]


def test_csv_quoted_cells_with_commas_and_newlines():
    # given
    data = csv_bytes([["职务", "备注"], ["副科长，驻村", "第一行\n第二行"], ["科员", "x"]])

    # when
    [raw] = read_bytes(data, "x.csv")

    # then
    assert raw.rows[1] == (2, ("副科长，驻村", "第一行\n第二行"))
    assert raw.rows[2][0] == 3  # numbered as Excel shows it: one row per record


# ----- refusals ----------------------------------------------------------------------


def test_png_is_refused_as_not_a_spreadsheet():
    # when / then
    assert _refusal(_png(), "photo.xlsx") == NOT_A_SHEET


def test_random_bytes_are_refused_as_not_a_spreadsheet():
    # given
    data = random.Random(20240301).randbytes(5000)

    # when / then
    assert _refusal(data, "roster.csv") == NOT_A_SHEET


def test_binary_without_nul_bytes_is_refused_for_its_encoding():
    # given: bytes no text encoding we accept can decode
    data = bytes([0x81, 0x30, 0xFF, 0x20] * 200)

    # when / then
    assert _refusal(data, "x.csv") == "无法识别 CSV 文件的编码，请另存为 UTF-8 或 GBK 编码。"


def test_encrypted_workbook_is_refused():
    # given: Excel saves a password-protected .xlsx as an OLE container with an
    # EncryptionInfo stream
    data = OLE_MAGIC + b"\x00" * 1024 + "EncryptionInfo".encode("utf-16-le") + b"\x00" * 512

    # when / then
    assert _refusal(data) == ENCRYPTED


def test_legacy_xls_is_refused_with_the_save_as_hint():
    # given: an OLE file without EncryptionInfo
    data = OLE_MAGIC + b"\x00" * 1024 + "Workbook".encode("utf-16-le") + b"\x00" * 512

    # when / then
    assert (
        _refusal(data, "old.xls") == "不支持旧版 .xls 格式，请在 Excel 中“另存为”.xlsx 后再上传。"
    )


def test_zip_that_is_not_a_workbook_is_refused():
    # given: a .docx-like zip
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr("word/document.xml", "<w:document/>")

    # when / then
    assert _refusal(out.getvalue()) == "文件不是 Excel 工作簿（.xlsx）。请上传 .xlsx 或 CSV 表格。"


def test_damaged_xlsx_is_refused():
    # given: the first half of a real workbook
    data = xlsx_bytes([["a"]])
    data = data[: len(data) // 2]

    # when
    message = _refusal(data)

    # then
    assert message.startswith("无法读取该 Excel 文件（")
    assert message.endswith("），文件可能已损坏。")


@pytest.mark.parametrize("data", [b"", b" \r\n\t "])
def test_empty_file_is_refused(data):
    # when / then
    assert _refusal(data, "x.csv") == "文件是空的。"


def test_file_over_10_mb_is_refused():
    # given: a real 11 MB upload, no monkeypatching
    data = b"a," * (11 * 1024 * 1024 // 2)

    # when / then
    assert _refusal(data, "x.csv") == "文件大小 11.0 MB，超过 10 MB 上限，请拆分后再上传。"


def test_file_of_exactly_10_mb_is_read():
    # given
    line = b"a," + b"b" * 10_000 + b"\r\n"
    data = line * (reader.MAX_BYTES // len(line))
    data += b"x" * (reader.MAX_BYTES - len(data))

    # when
    [raw] = read_bytes(data, "x.csv")

    # then
    assert len(data) == 10 * 1024 * 1024
    assert raw.rows[0][0] == 1
    assert raw.rows[0][1][0] == "a"


def test_size_limit_follows_max_bytes(monkeypatch):
    # given
    monkeypatch.setattr(reader, "MAX_BYTES", 100)

    # when / then
    assert _refusal(b"a,b\n" * 30, "x.csv").startswith("文件大小 0.0 MB，超过")
    assert read_bytes(b"a,b\n" * 25, "x.csv")[0].rows[-1][0] == 25


def test_reader_refuses_far_too_many_rows(monkeypatch):
    # given
    monkeypatch.setattr(reader, "MAX_ROWS", 10)
    data = csv_bytes([[f"村{i}", i] for i in range(80)])

    # when / then
    assert _refusal(data, "x.csv") == "数据超过 10 行上限，请拆分后再上传。"


# ----- finding the table (engine) --------------------------------------------------


@pytest.fixture
def villages_kind():
    return get_kind("villages")


def _plan(kind, data, filename="x.xlsx"):
    return build_plan(kind, data, filename, Context(actor=None))


@pytest.mark.django_db
def test_header_is_found_below_title_rows_with_merged_cells(villages_kind):
    # given
    sheet = SheetBuilder()
    sheet.title("许昌市“联乡帮村”村(社区)花名册", span=len(VILLAGE_HEADERS))
    sheet.title("填报单位：（盖章）        填报日期：2024年3月", span=len(VILLAGE_HEADERS))
    sheet.blank()
    header = sheet.row(list(VILLAGE_HEADERS))

    # when
    plan = _plan(villages_kind, sheet.to_bytes())

    # then
    assert plan.issues == []
    assert plan.header_row == header == 4
    assert plan.columns == {
        "county_name": 0,
        "township_name": 1,
        "name": 2,
        "code": 3,
        "kind": 4,
        "households": 5,
        "population": 6,
        "secretary_name": 7,
        "secretary_phone": 8,
        "old_code": 9,
    }


@pytest.mark.django_db
def test_columns_in_any_order_with_extra_columns_and_header_spellings(villages_kind):
    # given: full-width brackets, spaces in a header, an alias and two extra columns
    headers = ["序号", "类 型", "区划代码", "村(社区)名称", "备注", "乡镇（街道）", "县（市、区）"]

    # when
    plan = _plan(villages_kind, xlsx_bytes([], headers=headers, title_rows=["花名册"]))

    # then
    assert plan.issues == []
    assert plan.columns == {"kind": 1, "code": 2, "name": 3, "township_name": 5, "county_name": 6}


@pytest.mark.django_db
def test_missing_required_column_is_named(villages_kind):
    # given
    headers = [h for h in VILLAGE_HEADERS if h not in ("统计用区划代码", "村(社区)名称")]

    # when
    plan = _plan(villages_kind, villages_xlsx([], headers=headers))

    # then
    assert [str(i) for i in plan.issues] == ["缺少必填列：“村(社区)名称”、“统计用区划代码”"]
    assert plan.file_error


@pytest.mark.django_db
def test_optional_columns_may_be_left_out(villages_kind):
    # given
    headers = VILLAGE_HEADERS[:5]

    # when
    plan = _plan(villages_kind, villages_xlsx([], headers=headers))

    # then
    assert plan.issues == []


@pytest.mark.django_db
def test_sheet_without_any_header_says_which_template_to_use(villages_kind):
    # given
    data = xlsx_bytes([["这是一张别的表"], [1, 2, 3]])

    # when
    plan = _plan(villages_kind, data)

    # then
    assert [str(i) for i in plan.issues] == [
        "没有找到表头：前 30 行中没有“县(市、区)”等列。请使用“村(社区)花名册”模板。"
    ]


@pytest.mark.django_db
def test_header_below_the_scan_window_is_not_found(villages_kind):
    # given: 30 non-blank rows of notes before the header
    rows = [[f"说明第{i}条"] for i in range(30)] + [list(VILLAGE_HEADERS)]

    # when
    plan = _plan(villages_kind, xlsx_bytes(rows))

    # then
    assert plan.file_error
    assert str(plan.issues[0]).startswith("没有找到表头")


@pytest.mark.django_db
def test_the_first_sheet_with_a_complete_header_is_used(villages_kind):
    # given: a notes sheet first, the roster second
    sheet = SheetBuilder("填表说明")
    sheet.row(["县(市、区)", "按统计局名称填写"])
    roster = sheet.wb.create_sheet("花名册")
    roster.append(["标题"])
    roster.append(list(VILLAGE_HEADERS))

    # when
    plan = _plan(villages_kind, sheet.to_bytes())

    # then
    assert plan.issues == []
    assert (plan.sheet_name, plan.header_row) == ("花名册", 2)


@pytest.mark.django_db
def test_file_problem_becomes_a_file_level_issue(villages_kind):
    # when
    plan = _plan(villages_kind, _png())

    # then
    assert [(i.row, i.column, str(i)) for i in plan.issues] == [(0, "", NOT_A_SHEET)]
    assert plan.items == []


@pytest.mark.django_db
def test_csv_upload_goes_through_the_same_header_search(villages_kind):
    # given
    data = csv_bytes([["村(社区)花名册"], list(VILLAGE_HEADERS)], encoding="gbk")

    # when
    plan = _plan(villages_kind, data, "花名册.csv")

    # then
    assert plan.issues == []
    assert (plan.fmt, plan.header_row) == ("csv", 2)


@pytest.mark.django_db
def test_more_data_rows_than_the_limit_are_refused(villages_kind, monkeypatch):
    # given: the limit is read both by the reader and (imported by name) by the engine
    monkeypatch.setattr(reader, "MAX_ROWS", 5)
    monkeypatch.setattr(engine, "MAX_ROWS", 5)
    rows = [["甲县", "甲一镇", f"村{i}", f"90000100100{i}", "行政村"] for i in range(6)]
    data = csv_bytes([list(VILLAGE_HEADERS[:5]), *rows])

    # when
    plan = _plan(villages_kind, data, "x.csv")

    # then
    assert [str(i) for i in plan.issues] == ["数据超过 5 行上限，请拆分后再上传。"]
    assert plan.items == []


@pytest.mark.django_db
def test_exactly_the_row_limit_is_accepted(villages_kind, monkeypatch):
    # given
    monkeypatch.setattr(reader, "MAX_ROWS", 5)
    monkeypatch.setattr(engine, "MAX_ROWS", 5)
    rows = [["新县", "新镇", f"村{i}", f"90000100100{i}", "行政村"] for i in range(5)]
    data = csv_bytes([list(VILLAGE_HEADERS[:5]), *rows])

    # when
    plan = _plan(villages_kind, data, "x.csv")

    # then
    assert plan.issues == []
    assert len(plan.items) == 5


def test_the_real_limits_are_10_mb_and_100000_rows():
    # when / then: the refusals above run with smaller limits; these are the real ones
    assert reader.MAX_BYTES == 10 * 1024 * 1024
    assert reader.MAX_ROWS == engine.MAX_ROWS == 100_000
