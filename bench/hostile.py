"""Hostile-upload bench (issue 15): the worst files we could build under the 10 MB upload
limit, each read as an import job reads it (core.importing.reader.parse_in_child: a
child process with RLIMIT_AS 512 MB, RLIMIT_CPU and a wall-clock limit), and the cost of
that child for ordinary files.

    .venv/bin/python bench/hostile.py          # make bench runs it too

For each file: the wall time until it is refused or read (the parent's view, the child's
start included), the peak RSS of the parsing process (its own VmHWM; a child killed at its
limit has none to report and stayed under RLIMIT_AS) and the outcome. Budgets, each file:
peak RSS ≤ 512 MB, refused or read in ≤ 10 s. A visit photo of the largest size accepted
(40 megapixels, 37 KB of PNG) is re-encoded in a process of its own as the web process
does it, for reference. The exit code is 1 when a budget is missed. Needs no database.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "xuchang_portal.settings.test")

from core.importing import parse, reader  # noqa: E402
from tests.imports import hostile  # noqa: E402

BUDGET = {"rss_mb": 512.0, "seconds": 10.0, "child_overhead_s": 0.3}
MB = 1024 * 1024
HEADER = "".join(hostile.inline(h, f"{chr(65 + i)}1") for i, h in enumerate(hostile.HEADER_CELLS))


def _column(number: int) -> str:
    letters = ""
    while number:
        number, rest = divmod(number - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _sheet(rows) -> list[bytes]:
    """A worksheet as chunks: the header row, then `rows` (an iterable of row XML)."""
    head = hostile.sheet_xml(f'<row r="1">{HEADER}</row>')[: -len(b"</sheetData></worksheet>")]
    chunks, batch = [head], []
    for row in rows:
        batch.append(row)
        if len(batch) == 5000:
            chunks.append("".join(batch).encode())
            batch = []
    chunks.append("".join(batch).encode() + b"</sheetData></worksheet>")
    return chunks


# ----- the files -----------------------------------------------------------------------


def roster_100k():
    """The largest legitimate file: 100,000 villages, ten columns (openpyxl, as Excel)."""
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("村名册")
    ws.append([*hostile.HEADER_CELLS, "党组织书记", "联系电话", "原区划代码"])
    for i in range(100_000):
        ws.append(
            [
                "鄢陵县",
                f"张桥镇{i % 100}",
                f"测试{i}村",
                411024107000 + i,
                "行政村",
                300 + i % 50,
                1000 + i % 700,
                f"王{i}",
                f"138{i:08d}",
                None,
            ]
        )
    out = io.BytesIO()
    wb.save(out)
    return "roster.xlsx", out.getvalue()


def styled_empty_cells():
    """4 million formatted, empty cells (each with its r=): the most cells the quick text
    measure has to look at before refusing."""
    rows = (
        f'<row r="{r}">'
        + "".join(f'<c r="{_column(c)}{r}" s="1"/>' for c in range(1, 41))
        + "</row>"
        for r in range(2, 100_003)
    )
    return "styled.xlsx", hostile.package(_sheet(rows))


def cells_without_references():
    """4 million formatted cells without r=: the exact measure (expat) has to place each."""
    rng = random.Random(2)
    rows = (
        "<row>" + "".join(f'<c s="{rng.randrange(8)}"/>' for _ in range(40)) + "</row>"
        for _ in range(100_001)
    )
    return "norefs.xlsx", hostile.package(_sheet(rows))


def dense_extent_at_the_limit():
    """100,000 rows × 30 columns, every cell with a value: within every limit, so calamine
    builds the whole 3-million-cell grid and all of it comes back."""
    rows = (
        f'<row r="{r}">'
        + "".join(f'<c r="{_column(c)}{r}"><v>{c}</v></c>' for c in range(1, 31))
        + "</row>"
        for r in range(2, 100_001)
    )
    return "dense.xlsx", hostile.package(_sheet(rows))


def sparse_extent_at_the_limit():
    """Two values, A1 and O200000: a 3-million-cell grid from a file of 1.6 KB."""
    return "sparse.xlsx", hostile.package(
        _sheet(['<row r="200000"><c r="O200000"><v>1</v></c></row>'])
    )


def shared_strings_at_the_limit():
    """1,000,000 distinct shared strings (the limit), all loaded by calamine."""
    rng = random.Random(3)
    head = f'{hostile.DECL}<sst xmlns="{hostile.MAIN}" uniqueCount="1000000">'.encode()
    batches = (
        "".join(f"<si><t>{rng.getrandbits(40):x}</t></si>" for _ in range(10_000)).encode()
        for _ in range(100)
    )
    sst = [head, *batches, b"</sst>"]
    sheet = hostile.sheet_xml('<row r="1"><c r="A1" t="s"><v>999999</v></c></row>')
    return "strings.xlsx", hostile.package(sheet, shared_strings=sst)


def unzips_to_the_limit():
    """A sheet that unzips to 290 MB (blanks, a tag every 64 KB), compressed just under
    the 200:1 ratio allowed."""
    rng = random.Random(4)
    block = bytearray(b" " * MB)
    for _ in range(1600):
        block[rng.randrange(MB)] = ord(rng.choice("\t\r\n"))
    for at in range(0, MB, 64 * 1024):  # a tag now and then: no text run over 1 MB
        block[at : at + 4] = b"<x/>"
    head = hostile.sheet_xml(f'<row r="1">{HEADER}</row>')[: -len(b"</sheetData></worksheet>")]
    chunks = [head] + [bytes(block)] * 290 + [b"</sheetData></worksheet>"]
    return "whitespace.xlsx", hostile.package(chunks)


def attribute_bomb():
    """One element of the styles part with 4 million attributes."""
    attrs = (
        "".join(f'a{i}="" ' for i in range(start, start + 100_000)).encode()
        for start in range(0, 4_000_000, 100_000)
    )
    styles = [
        f'{hostile.DECL}<styleSheet xmlns="{hostile.MAIN}"><x '.encode(),
        *attrs,
        b"/></styleSheet>",
    ]
    return "attrs.xlsx", hostile.package(
        hostile.sheet_xml(f'<row r="1">{HEADER}</row>'), extra={"xl/styles.xml": styles}
    )


def deep_nesting():
    """Two million nested elements in the styles part (names varied, against the ratio)."""
    rng = random.Random(5)
    names = [f"a{rng.randrange(10_000)}" for _ in range(2_000_000)]
    styles = [
        f'{hostile.DECL}<styleSheet xmlns="{hostile.MAIN}">'.encode(),
        "".join(f"<{n}>" for n in names).encode(),
        "".join(f"</{n}>" for n in reversed(names)).encode(),
        b"</styleSheet>",
    ]
    return "deep.xlsx", hostile.package(
        hostile.sheet_xml(f'<row r="1">{HEADER}</row>'), extra={"xl/styles.xml": styles}
    )


def csv_nul_in_the_last_row():
    """10 MB of good rows (95,000), then a NUL in the last one: read to the end, refused."""
    row = "鄢陵县,张桥镇,测试村,411024107225,行政村,300,1000,村委会办公楼一楼东侧第三间办公室\r\n".encode()
    body = hostile.csv_header() + row * ((10 * MB - 200) // len(row) - 1)
    return "nul.csv", body + "鄢陵县,张桥镇,李\x00庄村,411024107226,行政村,300,1000\r\n".encode()


def csv_wide_rows():
    """Rows of 1,000 columns (the limit), until the 3-million-cell limit refuses them."""
    line = (",".join(["12345678"] * 1000) + "\r\n").encode()
    return "wide.csv", hostile.csv_header() + line * ((10 * MB) // len(line) - 1)


CASES = {
    "largest legitimate roster (100,000 rows)": roster_100k,
    "4 million formatted empty cells": styled_empty_cells,
    "4 million cells without r=": cells_without_references,
    "widest sheet: 100,000 rows × 30 columns (3 M cells)": dense_extent_at_the_limit,
    "sparse extent at the limit (3 M cells)": sparse_extent_at_the_limit,
    "1 million shared strings": shared_strings_at_the_limit,
    "unzips to 290 MB at 190:1": unzips_to_the_limit,
    "4 million attributes on one element": attribute_bomb,
    "2 million nested elements": deep_nesting,
    "CSV, 10 MB, NUL in the last row": csv_nul_in_the_last_row,
    "CSV, 1,000 columns a row": csv_wide_rows,
    **{f"corpus: {name}": (lambda b=build: b()[:2]) for name, build in hostile.CORPUS.items()},
}


# ----- measuring -----------------------------------------------------------------------


def measure(name: str, data: bytes) -> dict:
    if problem := reader.refusal(data):
        start = time.perf_counter()
        reader.refusal(data)
        return {"seconds": time.perf_counter() - start, "peak_mb": 0.0, "outcome": problem}
    result = reader.parse_in_child(data, name)
    if result.problem:
        outcome = result.problem
    else:
        outcome = f"read: {sum(len(s.rows) for s in result.sheets):,} rows"
    return {"seconds": result.seconds, "peak_mb": result.peak_rss_mb, "outcome": outcome}


def child_overhead() -> dict:
    """In-process parse vs the child, for a 10-row and a 25,000-row roster."""
    from openpyxl import Workbook

    figures = {}
    for rows in (10, 25_000):
        wb = Workbook(write_only=True)
        ws = wb.create_sheet("村名册")
        ws.append(list(hostile.HEADER_CELLS))
        for i in range(rows):
            ws.append(["鄢陵县", "张桥镇", f"测试{i}村", 411024107000 + i, "行政村", 300, 1000])
        out = io.BytesIO()
        wb.save(out)
        data = out.getvalue()
        inline, child = [], []
        for _ in range(5):
            start = time.perf_counter()
            parse.read_sheets(data, "x.xlsx", reader.limits())
            inline.append(time.perf_counter() - start)
            start = time.perf_counter()
            reader.parse_in_child(data, "x.xlsx")
            child.append(time.perf_counter() - start)
        figures[rows] = (sorted(inline)[2], sorted(child)[2])
    return figures


def photo() -> None:
    """--photo: re-encode the largest accepted photo here, as the web process does."""
    import django

    django.setup()
    from django.core.files.uploadedfile import SimpleUploadedFile
    from PIL import Image

    from visits.services import MAX_PHOTO_PIXELS, _photo_jpeg

    side = int(MAX_PHOTO_PIXELS**0.5)
    out = io.BytesIO()
    Image.new("L", (side, side)).save(out, format="PNG")
    data = out.getvalue()
    before = _peak_mb()
    start = time.perf_counter()
    _photo_jpeg(SimpleUploadedFile("photo.png", data))
    seconds = time.perf_counter() - start
    print(
        json.dumps(
            {
                "seconds": seconds,
                "peak_mb": _peak_mb(),
                "base_mb": before,
                "kb": len(data) / 1024,
                "side": side,
            }
        )
    )


def _peak_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--photo", action="store_true")
    args = parser.parse_args()
    if args.photo:
        photo()
        return 0

    print(
        f"Hostile uploads: each read in a child with RLIMIT_AS {reader.CHILD_MEMORY_BYTES // MB} MB, "
        f"RLIMIT_CPU {reader.CHILD_CPU_SECONDS} s, wall {reader.CHILD_WALL_SECONDS} s"
    )
    rows = []
    ok = True
    for label, build in CASES.items():
        name, data = build()
        assert len(data) <= reader.MAX_BYTES, (
            f"{label}: {len(data) / MB:.1f} MB is over the upload limit"
        )
        m = measure(name, data)
        peak = "killed" if m["peak_mb"] is None else f"{m['peak_mb']:.0f} MB"
        passed = m["seconds"] <= BUDGET["seconds"] and (m["peak_mb"] or 0) <= BUDGET["rss_mb"]
        ok &= passed
        rows.append(
            (
                label,
                f"{len(data) / 1024:,.0f} KB",
                f"{m['seconds']:.2f} s",
                peak,
                "ok" if passed else "MISSED",
                m["outcome"][:60],
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(5)]
    print(
        f"{'file':<{widths[0]}}  {'size':>{widths[1]}}  {'time':>{widths[2]}}  {'peak RSS':>{widths[3]}}  budget ≤ {BUDGET['seconds']:g} s, ≤ {BUDGET['rss_mb']:g} MB"
    )
    for r in rows:
        print(
            f"{r[0]:<{widths[0]}}  {r[1]:>{widths[1]}}  {r[2]:>{widths[2]}}  {r[3]:>{widths[3]}}  {r[4]:<6}  {r[5]}"
        )

    print()
    for n, (inline, child) in child_overhead().items():
        over = child - inline
        passed = n > 10 or over <= BUDGET["child_overhead_s"]
        ok &= passed
        budget = f"≤ {BUDGET['child_overhead_s']} s" if n == 10 else "—"
        print(
            f"{n:,}-row roster: in-process {inline:.3f} s, in the child {child:.3f} s "
            f"(overhead {over:.3f} s, budget {budget}) {'ok' if passed else 'MISSED'}"
        )

    out = subprocess.run(
        [sys.executable, __file__, "--photo"], capture_output=True, text=True, check=True, cwd=ROOT
    )
    p = json.loads(out.stdout.strip().splitlines()[-1])
    grew = p["peak_mb"] - p["base_mb"]
    passed = p["seconds"] <= BUDGET["seconds"] and p["peak_mb"] <= BUDGET["rss_mb"]
    ok &= passed
    print(
        f"\nvisit photo, {p['side']}×{p['side']} PNG of {p['kb']:.0f} KB (40 megapixels, the limit): "
        f"re-encoded in {p['seconds']:.2f} s, process peak {p['peak_mb']:.0f} MB (+{grew:.0f} MB) "
        f"{'ok' if passed else 'MISSED'}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
