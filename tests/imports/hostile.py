"""Hostile upload files, generated (never committed): each one small enough to upload and
built to make a naive reader allocate gigabytes, spin for minutes, read a file off the
server or store a NUL byte. Shared by tests/imports/test_hostile_files.py and bench/hostile.py.

`CORPUS` maps a case name to a builder returning (file name, bytes, a fragment of the Chinese
refusal expected for it)."""

from __future__ import annotations

import functools
import io
import itertools
import struct
import zipfile
import zlib
from collections.abc import Callable, Iterable

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG = "http://schemas.openxmlformats.org/package/2006/relationships"
DECL = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
HEADER_CELLS = (
    "县(市、区)",
    "乡镇(街道)",
    "村(社区)名称",
    "统计用区划代码",
    "类型",
    "户数",
    "人口",
)

TOO_LARGE = "文件过大或已损坏"
RANGE = "数据范围过大"
DTD = "DTD 或实体声明"
BOMB_BYTES = 64 * 1024 * 1024


def inline(text: str, ref: str | None = None) -> str:
    r = f' r="{ref}"' if ref else ""
    return f'<c{r} t="inlineStr"><is><t>{text}</t></is></c>'


def header_row(number: int = 1, refs: bool = True) -> str:
    cells = "".join(
        inline(h, f"{chr(65 + i)}{number}" if refs else None) for i, h in enumerate(HEADER_CELLS)
    )
    return f'<row r="{number}">{cells}</row>' if refs else f"<row>{cells}</row>"


def sheet_xml(sheet_data: str, *, prolog: str = "", extra: str = "") -> bytes:
    return (
        f'{DECL}{prolog}<worksheet xmlns="{MAIN}" xmlns:r="{REL}">'
        f"<sheetData>{sheet_data}</sheetData>{extra}</worksheet>"
    ).encode()


def package(
    sheet: bytes | Iterable[bytes],
    *,
    shared_strings: bytes | Iterable[bytes] | None = None,
    extra: dict[str, bytes] | None = None,
) -> bytes:
    """A minimal .xlsx around one worksheet. A part may be given as an iterable of chunks,
    compressed as a stream, so a bomb of hundreds of MB never sits in memory."""
    rels = [f'<Relationship Id="rId1" Type="{REL}/worksheet" Target="worksheets/sheet1.xml"/>']
    if shared_strings is not None:
        rels.append(
            f'<Relationship Id="rId2" Type="{REL}/sharedStrings" Target="sharedStrings.xml"/>'
        )
    parts: dict[str, bytes | Iterable[bytes]] = {
        "[Content_Types].xml": (
            f'{DECL}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
            'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
            "</Types>"
        ).encode(),
        "_rels/.rels": (
            f'{DECL}<Relationships xmlns="{PKG}"><Relationship Id="rId1" '
            f'Type="{REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>'
        ).encode(),
        "xl/workbook.xml": (
            f'{DECL}<workbook xmlns="{MAIN}" xmlns:r="{REL}"><sheets>'
            '<sheet name="村名册" sheetId="1" r:id="rId1"/></sheets></workbook>'
        ).encode(),
        "xl/_rels/workbook.xml.rels": (
            f'{DECL}<Relationships xmlns="{PKG}">{"".join(rels)}</Relationships>'
        ).encode(),
        "xl/worksheets/sheet1.xml": sheet,
    }
    if shared_strings is not None:
        parts["xl/sharedStrings.xml"] = shared_strings
    parts.update(extra or {})
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, content in parts.items():
            if isinstance(content, bytes):
                zf.writestr(name, content)
            else:
                with zf.open(name, "w", force_zip64=False) as stream:
                    for chunk in content:
                        stream.write(chunk)
    return out.getvalue()


def repeated(head: bytes, filler: bytes, total: int, tail: bytes) -> Iterable[bytes]:
    yield head
    block = filler * (1024 * 1024 // len(filler))
    for _ in range(total // len(block)):
        yield block
    yield tail


# ----- .xlsx ----------------------------------------------------------------------------


def far_row_without_ref():
    """The probe's 1.6 KB killer: a header, then one cell without r in row 1,048,576 (the
    old guard counted only cells carrying r=)."""
    return (
        "far.xlsx",
        package(sheet_xml(header_row() + '<row r="1048576"><c><v>1</v></c></row>')),
        RANGE,
    )


def far_corner_mixed_refs():
    """XFD1 with a reference, A1048576 without one: 17 billion cells for a dense grid."""
    data = '<row r="1"><c r="XFD1"><v>1</v></c></row><row r="1048576"><c><v>2</v></c></row>'
    return "corner.xlsx", package(sheet_xml(data)), RANGE


def rows_near_2000_wide():
    """Row 2000 with an empty, self-closed XFC2000 and a value after it without r: XFD2000
    (33 million cells)."""
    data = header_row() + '<row r="2000"><c r="XFC2000"/><c><v>1</v></c></row>'
    return "wide.xlsx", package(sheet_xml(data)), RANGE


def no_refs_at_all():
    """No r anywhere: 2,000 rows, the last one 16,384 cells wide with a value at its end."""
    rows = header_row(refs=False) + "<row/>" * 1998
    rows += "<row>" + "<c/>" * 16_383 + "<c><v>1</v></c></row>"
    return "norefs.xlsx", package(sheet_xml(rows)), RANGE


def prefixed_far_cell():
    """A cell under a namespace prefix in Chinese: calamine matches local names only."""
    data = header_row() + '<row r="9"><名:c xmlns:名="urn:x" r="XFD9"><名:v>1</名:v></名:c></row>'
    return "prefix.xlsx", package(sheet_xml(data)), RANGE


def reference_given_twice():
    """calamine places a cell by its last r=: A1 first, XFD9 last."""
    data = header_row() + '<row r="9"><c r="A9" r="XFD9"><v>1</v></c></row>'
    return "twice.xlsx", package(sheet_xml(data)), "不是有效的 XML"


def billion_laughs():
    entities = '<!ENTITY l0 "哈哈哈哈哈哈哈哈哈哈">' + "".join(
        f'<!ENTITY l{i} "{f"&l{i - 1};" * 10}">' for i in range(1, 10)
    )
    prolog = f"<!DOCTYPE worksheet [{entities}]>"
    data = header_row() + '<row r="2">' + inline("&l9;", "A2") + "</row>"
    return "laughs.xlsx", package(sheet_xml(data, prolog=prolog)), DTD


def external_entity():
    prolog = '<!DOCTYPE worksheet [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
    data = header_row() + '<row r="2">' + inline("&x;", "A2") + "</row>"
    return "xxe.xlsx", package(sheet_xml(data, prolog=prolog)), DTD


def external_entity_in_shared_strings():
    prolog = '<!DOCTYPE sst [<!ENTITY x SYSTEM "http://127.0.0.1:9/secret">]>'
    sst = f'{DECL}{prolog}<sst xmlns="{MAIN}"><si><t>&x;</t></si></sst>'.encode()
    data = '<row r="1"><c r="A1" t="s"><v>0</v></c></row>'
    return "xxe-sst.xlsx", package(sheet_xml(data), shared_strings=sst), DTD


def false_zip_sizes():
    """The central directory says the sheet unzips to 200 bytes; it unzips to 16 MB."""
    head = sheet_xml(header_row())[: -len(b"</sheetData></worksheet>")]
    sheet = repeated(head, b"<row/>", 16 * 1024 * 1024, b"</sheetData></worksheet>")
    return "sizes.xlsx", lie_about_sizes(package(sheet), "xl/worksheets/sheet1.xml", 200), "已损坏"


def lie_about_sizes(data: bytes, member: str, claimed: int) -> bytes:
    """Rewrite `member`'s uncompressed size in its local header and central directory."""
    out = bytearray(data)
    name = member.encode()
    for signature, size_at, name_len_at, name_at in (
        (b"PK\x03\x04", 22, 26, 30),
        (b"PK\x01\x02", 24, 28, 46),
    ):
        start = 0
        while (start := out.find(signature, start)) >= 0:
            length = struct.unpack_from("<H", out, start + name_len_at)[0]
            if bytes(out[start + name_at : start + name_at + length]) == name:
                struct.pack_into("<L", out, start + size_at, claimed)
            start += 4
    return bytes(out)


def zip_bomb_sheet():
    """A sheet that unzips to 64 MB of empty elements (64 KB compressed: 1,000 to 1)."""
    head = sheet_xml(header_row())[: -len(b"</sheetData></worksheet>")]
    sheet = repeated(head, b"<x/>" * 256, BOMB_BYTES, b"</sheetData></worksheet>")
    return "bomb.xlsx", package(sheet), "压缩炸弹"


def zip_bomb_image():
    """An "image" that unzips to 64 MB of zeros, beside a harmless sheet."""
    sheet = sheet_xml(header_row())
    image = repeated(b"\x89PNG\r\n\x1a\n", b"\x00" * 1024, BOMB_BYTES, b"")
    return "bomb-image.xlsx", package(sheet, extra={"xl/media/image1.png": image}), "压缩炸弹"


def long_text_run():
    """2 MB of blanks between two tags: calamine's XML reader would hold such a run whole
    (300 MB of them fit under the ratio limit)."""
    head = sheet_xml(header_row())[: -len(b"</sheetData></worksheet>")]
    sheet = repeated(head, b" " * 1024, 2 * 1024 * 1024, b"</sheetData></worksheet>")
    return "blanks.xlsx", package(sheet), "不含任何 XML 标记"


def many_members():
    sheet = sheet_xml(header_row())
    extra = {f"xl/media/m{i}.bin": b"\x00" for i in range(3000)}
    return "members.xlsx", package(sheet, extra=extra), "文件多达"


def huge_central_directory():
    """12,000 members with long names: a 1.7 MB central directory, which zipfile would read
    whole before anything could count the members."""
    sheet = sheet_xml(header_row())
    extra = {f"xl/media/{'m' * 90}{i:05d}.bin": b"\x00" for i in range(12_000)}
    return "directory.xlsx", package(sheet, extra=extra), "目录过大"


def shared_strings_claiming_two_billion():
    """calamine reserves 24 bytes per declared string: 48 GB, then aborts the process."""
    sst = f'{DECL}<sst xmlns="{MAIN}" count="1" uniqueCount="2000000000"><si><t>x</t></si></sst>'
    data = '<row r="1"><c r="A1" t="s"><v>0</v></c></row>'
    return "sst-count.xlsx", package(sheet_xml(data), shared_strings=sst.encode()), "共享字符串"


def huge_shared_strings_table():
    """1,000,001 distinct shared strings (the limit is 1,000,000)."""
    head = f'{DECL}<sst xmlns="{MAIN}">'.encode()
    batches = (
        "".join(f"<si><t>{i}</t></si>" for i in range(start, min(start + 10_000, 1_000_001)))
        for start in range(0, 1_000_001, 10_000)
    )
    sst = itertools.chain([head], (batch.encode() for batch in batches), [b"</sst>"])
    data = '<row r="1"><c r="A1" t="s"><v>0</v></c></row>'
    return "sst-huge.xlsx", package(sheet_xml(data), shared_strings=sst), "共享字符串"


def nul_in_xlsx_escape():
    """An XML file cannot hold NUL, but the OOXML escape _x0000_ decodes to one."""
    data = header_row() + '<row r="2">' + inline("张庄_x0000_村", "C2") + "</row>"
    return "nul.xlsx", package(sheet_xml(data)), "第2行第3列含有控制字符 U+0000"


def nul_in_xlsx_character_reference():
    data = header_row() + '<row r="2">' + inline("张庄&#0;村", "C2") + "</row>"
    return "nul-ref.xlsx", package(sheet_xml(data)), "已损坏"


def bad_cell_reference():
    data = header_row() + '<row r="2"><c r="$A$2"><v>1</v></c></row>'
    return "ref.xlsx", package(sheet_xml(data)), "单元格位置"


def html_as_xlsx():
    html = (
        '<html xmlns:o="urn:schemas-microsoft-com:office:office"><head><meta charset="utf-8">'
        "</head><body><table><tr><td>村(社区)名称</td></tr></table></body></html>"
    )
    return "roster.xlsx", html.encode(), "网页"


# ----- CSV ------------------------------------------------------------------------------


def csv_header() -> bytes:
    return (",".join(HEADER_CELLS) + "\r\n").encode()


def nul_after_4_kb():
    """The probe's other find: NUL bytes past the first 4 KB got into the preview (SQLite)
    or failed the job with a message naming no row (PostgreSQL)."""
    row = "甲县,甲一镇,张庄村,411024107225,行政村,300,1000\r\n".encode()
    body = csv_header() + row * 100  # about 5 KB
    bad = "甲县,甲一镇,李\x00庄村,411024107226,行政村,300,1000\r\n".encode()
    return "nul.csv", body + bad + row, "第102行第3列含有控制字符 U+0000"


def control_character_csv():
    row = "甲县,甲一镇,张庄村,411024107225,行政村,300,1000\r\n".encode()
    bad = "甲县,甲一镇,张庄村,411024107226,行政村\x1b,300,1000\r\n".encode()
    return "esc.csv", csv_header() + row * 3 + bad, "第5行第5列含有控制字符 U+001B"


def huge_csv_field():
    row = "甲县,甲一镇,张庄村,411024107225,行政村,300,1000\r\n".encode()
    return (
        "field.csv",
        csv_header() + row + b"x" * 40_000 + b",1\r\n",
        "第3行有一个单元格超过 32,767 个字符",
    )


def wide_csv():
    return "wide.csv", csv_header() + b",".join([b"1"] * 2000) + b"\r\n", "第2行有 2,000 列"


def absurd_csv_line():
    """One 9 MB line of short cells."""
    return "line.csv", csv_header() + b"ab," * (3 * 1024 * 1024) + b"\r\n", "第2行过长"


def formulas():
    """Formulas with cached values: only the values are read, never the formula text."""
    data = header_row() + (
        '<row r="2">'
        + inline("甲县", "A2")
        + inline("甲一镇", "B2")
        + '<c r="C2" t="str"><f>HYPERLINK("http://evil.example/","点我")</f><v>点我</v></c>'
        + '<c r="D2" t="str"><f>cmd|\' /C calc\'!A0</f><v>411024107225</v></c>'
        + inline("=cmd|' /C calc'!A0", "E2")
        + "</row>"
    )
    return "formulas.xlsx", package(sheet_xml(data)), None


# The cases that are read (their rows then checked like any others), not refused.
READ = {"formulas"}
CORPUS: dict[str, Callable[[], tuple[str, bytes, str | None]]] = {
    name: functools.lru_cache(maxsize=1)(builder)
    for name, builder in {
        "far_row_without_ref": far_row_without_ref,
        "far_corner_mixed_refs": far_corner_mixed_refs,
        "rows_near_2000_wide": rows_near_2000_wide,
        "no_refs_at_all": no_refs_at_all,
        "prefixed_far_cell": prefixed_far_cell,
        "reference_given_twice": reference_given_twice,
        "billion_laughs": billion_laughs,
        "external_entity": external_entity,
        "external_entity_in_shared_strings": external_entity_in_shared_strings,
        "false_zip_sizes": false_zip_sizes,
        "zip_bomb_sheet": zip_bomb_sheet,
        "zip_bomb_image": zip_bomb_image,
        "long_text_run": long_text_run,
        "many_members": many_members,
        "huge_central_directory": huge_central_directory,
        "shared_strings_claiming_two_billion": shared_strings_claiming_two_billion,
        "huge_shared_strings_table": huge_shared_strings_table,
        "nul_in_xlsx_escape": nul_in_xlsx_escape,
        "nul_in_xlsx_character_reference": nul_in_xlsx_character_reference,
        "bad_cell_reference": bad_cell_reference,
        "html_as_xlsx": html_as_xlsx,
        "nul_after_4_kb": nul_after_4_kb,
        "control_character_csv": control_character_csv,
        "huge_csv_field": huge_csv_field,
        "wide_csv": wide_csv,
        "absurd_csv_line": absurd_csv_line,
        "formulas": formulas,
    }.items()
}


def png_claiming(width: int, height: int) -> bytes:
    """A PNG of a few dozen bytes whose header claims width × height pixels."""

    def chunk(tag: bytes, payload: bytes) -> bytes:
        body = tag + payload
        return struct.pack(">I", len(payload)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 64))
        + chunk(b"IEND", b"")
    )


def gif_claiming(width: int, height: int) -> bytes:
    """A GIF whose logical screen and single frame claim width × height pixels."""
    screen = struct.pack("<HHBBB", width, height, 0, 0, 0)
    frame = b"\x2c" + struct.pack("<HHHHB", 0, 0, width, height, 0)
    return b"GIF89a" + screen + frame + b"\x02\x02\x4c\x01\x00" + b"\x3b"
