"""A structural fuzzer of the upload reader (issue 15, point 7): Hypothesis builds random
.xlsx files (rows and cells with and without r=, far references, shared and inline strings,
lying counts and dimensions, formulas, escapes of control characters, stray fragments of
XML) and random CSV files (quotes, delimiters, line breaks, control characters, encodings).

Properties: reading returns rows or raises FileProblem, never anything else; rows keep
their numbers in order; and the measured extent of a sheet is never smaller than the grid
calamine really builds for it (the measure is what guards the dense read).

Most examples run the reader in this process with small limits (the generated extents are
small too, so a wrong measure could not hurt here); a few go through read_bytes and its
child process. Derandomized and bounded, so CI time stays small."""

from __future__ import annotations

import io

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from python_calamine import CalamineWorkbook

from core.importing import parse
from core.importing.reader import FileProblem, read_bytes
from tests.imports import hostile

SMALL = parse.Limits(
    max_rows=40, max_cells=12_000, max_sheet_rows=1_000, max_columns=60, max_xml_cells=20_000
)
FUZZ = settings(
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

TEXT = st.lists(
    st.sampled_from([*"甲县村ab1 ,;\"'<>&\t\n", "_x0000_", "_x001B_", "_x0041_"]), max_size=12
).map("".join)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _column(number: int) -> str:
    letters = ""
    while number:
        number, rest = divmod(number - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


@st.composite
def cells(draw, row_number: int, shared: int) -> str:
    pick = draw(st.integers(0, 99))  # mostly plausible places, now and then a broken one
    if pick < 35:
        ref = None
    elif pick < 70:
        ref = f"{_column(draw(st.integers(1, 12)))}{row_number}"
    elif pick < 99:
        ref = f"{_column(draw(st.integers(1, 40)))}{draw(st.integers(1, 300))}"
    else:
        ref = draw(st.sampled_from(["A0", "$A$1", "a1", "XFD1", "A1048577", ""]))
    r = "" if ref is None else f' r="{ref}"'
    kinds = ["empty", "styled", "v", "empty_v", "inline", "formula"] + ["shared"] * bool(shared)
    kind = draw(st.sampled_from(kinds))
    if kind == "empty":
        return f"<c{r}/>"
    if kind == "styled":
        return f'<c{r} s="1"></c>'
    if kind == "v":
        return f"<c{r}><v>{draw(st.integers(-5, 10**6))}</v></c>"
    if kind == "empty_v":
        return f'<c{r} t="str"><v/></c>'
    if kind == "inline":
        return f'<c{r} t="inlineStr"><is><t>{_escape(draw(TEXT))}</t></is></c>'
    if kind == "shared":
        index = draw(st.integers(0, shared if draw(st.integers(0, 19)) == 0 else shared - 1))
        return f'<c{r} t="s"><v>{index}</v></c>'
    return f'<c{r} t="str"><f>HYPERLINK("x")</f><v>{_escape(draw(TEXT))}</v></c>'


@st.composite
def sheet_data(draw, shared: int) -> str:
    rows = []
    number = 0
    for _ in range(draw(st.integers(0, 12))):
        pick = draw(st.integers(0, 59))
        explicit = None if pick < 30 else 1_048_576 if pick == 59 else draw(st.integers(1, 300))
        number = explicit or number + 1
        r = "" if explicit is None else f' r="{explicit}"'
        row_cells = "".join(draw(cells(number, shared)) for _ in range(draw(st.integers(0, 8))))
        rows.append(f"<row{r}>{row_cells}</row>")
    if draw(st.integers(0, 3)) == 0:
        rows.insert(draw(st.integers(0, len(rows))), draw(st.sampled_from(STRAY)))
    return "".join(rows)


STRAY = [
    "<c><v>1</v></c>",  # a cell outside any row
    "<!-- <c r='XFD1'><v>1</v></c> -->",
    "<![CDATA[<row>]]>",
    '<row r="x"/>',
    "<row><c r='B2'><v>2</v></c></row>",
    '<x:row xmlns:x="urn:x"><x:c><x:v>1</x:v></x:c></x:row>',
    '<row><名:c xmlns:名="urn:x" r="C3"><名:v>1</名:v></名:c></row>',
    '<row><c r="A2" r="AZ2"><v>1</v></c></row>',
    '<row><c r="A2" s=">"><v>1</v></c></row>',
    "<v>9</v>",
]


@st.composite
def workbooks(draw) -> bytes:
    strings = draw(st.one_of(st.none(), st.lists(TEXT, min_size=1, max_size=5)))
    extra = ""
    if draw(st.booleans()):
        extra = f'<dimension ref="A1:{draw(st.sampled_from(["A1", "XFD1048576", "B2"]))}"/>'
    data = draw(sheet_data(len(strings or ())))
    xml = hostile.sheet_xml(data).replace(b"<sheetData>", extra.encode() + b"<sheetData>")
    shared = None
    if strings is not None:
        lies = draw(st.integers(0, 9)) == 0
        unique = draw(st.integers(0, 3_000_000)) if lies else len(strings)
        items = "".join(f"<si><t>{_escape(s)}</t></si>" for s in strings)
        shared = (
            f'{hostile.DECL}<sst xmlns="{hostile.MAIN}" uniqueCount="{unique}">{items}</sst>'
        ).encode()
    return hostile.package(xml, shared_strings=shared)


def _assert_rows(sheets) -> None:
    for fmt, _name, rows in sheets:
        assert fmt in ("xlsx", "csv")
        numbers = [number for number, _ in rows]
        assert numbers == sorted(set(numbers)) and all(n >= 1 for n in numbers)
        assert all(isinstance(values, tuple) for _, values in rows)


@settings(FUZZ, max_examples=80)
@given(workbooks())
def test_a_random_workbook_is_read_or_refused_and_its_extent_is_never_underestimated(data):
    try:
        sheets = parse.read_sheets(data, "fuzz.xlsx", SMALL)
    except FileProblem as exc:
        assert str(exc)
        event("refused", str(exc)[:12])
        return
    event("read")
    _assert_rows(sheets)
    extents = parse.measure_workbook(data, SMALL)
    rows = max((r for r, _ in extents), default=0)
    columns = max((c for _, c in extents), default=0)
    sheet = CalamineWorkbook.from_filelike(io.BytesIO(data)).get_sheet_by_index(0)
    if sheet.end is not None:
        assert sheet.end[0] + 1 <= rows and sheet.end[1] + 1 <= columns, (sheet.end, rows, columns)


FRAGMENTS = [
    b"<c>",
    b"</row>",
    b'<c r="XFD1048576"><v>1</v></c>',
    b"<v>",
    b"&#0;",
    b"<!DOCTYPE x>",
    b"_x0000_",
    b"\x00",
    b"<row/>",
    b'"',
    b">",
]


@settings(FUZZ, max_examples=50)
@given(
    workbooks(),
    st.lists(
        st.tuples(st.integers(0, 10**6), st.sampled_from(FRAGMENTS), st.booleans()), max_size=4
    ),
)
def test_a_mangled_workbook_is_read_or_refused(data, edits):
    # given: the sheet's XML cut and spliced with stray fragments
    import zipfile

    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            payload = source.read(item)
            if item.filename == "xl/worksheets/sheet1.xml":
                for at, fragment, replace in edits:
                    at %= len(payload) + 1
                    end = at + len(fragment) if replace else at
                    payload = payload[:at] + fragment + payload[end:]
            target.writestr(item, payload)

    # when / then
    try:
        _assert_rows(parse.read_sheets(out.getvalue(), "fuzz.xlsx", SMALL))
    except FileProblem as exc:
        assert str(exc)


CSV_CELL = st.text(
    alphabet=st.sampled_from(list("甲县村ab1 ,;\t\"'\r\n\x00\x01\x1b\x7f\x1a") + ["，"]),
    max_size=10,
)


@st.composite
def csv_files(draw) -> bytes:
    rows = draw(st.lists(st.lists(CSV_CELL, max_size=6), max_size=10))
    delimiter = draw(st.sampled_from([",", "\t", ";"]))
    text = "\r\n".join(delimiter.join(cells) for cells in rows)
    encoding = draw(st.sampled_from(["utf-8", "utf-8-sig", "gb18030"]))
    data = text.encode(encoding)
    if draw(st.booleans()):
        data += draw(st.binary(max_size=20))
    return data


@settings(FUZZ, max_examples=120)
@given(csv_files())
def test_a_random_csv_is_read_or_refused(data):
    try:
        sheets = parse.read_sheets(data, "fuzz.csv", SMALL)
    except FileProblem as exc:
        assert str(exc)
        return
    _assert_rows(sheets)
    for _, _, rows in sheets:
        for _, values in rows:
            assert not any(parse.CONTROL.search(v) for v in values if isinstance(v, str))


@settings(FUZZ, max_examples=10)
@given(st.one_of(workbooks(), csv_files()))
def test_read_bytes_in_its_child_returns_rows_or_raises_file_problem(data):
    try:
        sheets = read_bytes(data, "fuzz.xlsx" if data.startswith(b"PK") else "fuzz.csv")
    except FileProblem as exc:
        assert str(exc)
        return
    _assert_rows([(s.fmt, s.name, s.rows) for s in sheets])


def test_the_blank_test_matches_the_normaliser():
    from core.importing.normalise import is_blank

    for value in ["", " ", "\u3000", "\u00a0", "\u200b", "\ufeff", "\t\r\n", "a", " a ", None, 0]:
        assert parse.is_blank(value) == is_blank(value), repr(value)


@pytest.mark.parametrize("letters, number", [("A", 1), ("Z", 26), ("AA", 27), ("XFD", 16384)])
def test_cell_references_are_read_as_excel_numbers(letters, number):
    assert parse._cell_ref(f"{letters}7") == (7, number)
    assert parse._cell_ref(f"{letters.lower()}7") == (7, number)
