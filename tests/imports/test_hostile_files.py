"""The hostile-file corpus (issue 15, points 1 and 7): files built to make a naive reader
allocate gigabytes, spin, read a file off the server or store a NUL byte, each generated
here (tests/imports/hostile.py), never committed.

Every case ends in a Chinese refusal (or, for formulas, in rows read by their cached
values), read by a child process that stays within its memory limit, while this process's
memory does not grow. Through the real upload page, each fails its own job only: the server
still answers /healthz/ afterwards, and another county's import of the same kind proceeds.
The defence in depth is tested too: a file that slips past the measuring (limits lifted
here) kills only the child, and the caller gets "文件过大或已损坏".

Runs on SQLite and, with the normal fixtures, in CI's PostgreSQL pass (where a NUL byte
reaching the database would fail the job's save).
"""

from __future__ import annotations

import re
import time

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from core.importing import parse, reader
from core.importing.reader import FileProblem, read_bytes
from core.models import ImportJob
from tests.imports import hostile
from tests.imports.area_sheets import roster_xlsx, village_row
from tests.visits.helpers import visit_fields

CHINESE = re.compile(r"[\u4e00-\u9fff]")
BUDGET_MB = reader.CHILD_MEMORY_BYTES / 1024 / 1024
CASES = sorted(hostile.CORPUS)
REFUSED = [c for c in CASES if c not in hostile.READ]


def _parent_peak_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM in /proc/self/status")


def _read(data: bytes, name: str) -> reader.ChildParse:
    """What read_bytes does, with the child's figures: the parent's refusal first."""
    if problem := reader.refusal(data):
        return reader.ChildParse(None, problem, None, 0.0, None)
    return reader.parse_in_child(data, name)


# ----- the reader --------------------------------------------------------------------


@pytest.mark.parametrize("case", REFUSED)
def test_each_hostile_file_is_refused_in_chinese_within_the_memory_budget(case):
    # given
    name, data, expected = hostile.CORPUS[case]()
    parent_before = _parent_peak_mb()

    # when
    result = _read(data, name)

    # then
    assert result.sheets is None
    assert expected in result.problem
    assert CHINESE.search(result.problem)
    assert result.problem != parse.TOO_LARGE, "refused by the measuring, not by a dead child"
    if result.peak_rss_mb is not None:
        assert result.peak_rss_mb < BUDGET_MB
    assert _parent_peak_mb() - parent_before < 100


def test_read_bytes_raises_file_problem_for_a_hostile_file():
    # given
    name, data, expected = hostile.far_row_without_ref()

    # when / then
    with pytest.raises(FileProblem, match=expected):
        read_bytes(data, name)


def test_defect_1_a_tiny_xlsx_with_a_far_cell_without_reference_is_refused():
    # given: 1.7 KB; one cell without r= in a row with r="1048576" (the old guard counted
    # only cells carrying r=, and calamine then built a grid of the whole range)
    name, data, _ = hostile.far_row_without_ref()
    assert len(data) < 2048

    # when
    result = reader.parse_in_child(data, name)

    # then
    assert result.problem == (
        "工作表的数据范围过大：第 1,048,576 行还有内容，超过 200,000 行。"
        "请删除表格下方多余的内容后再上传。"
    )
    assert result.returncode == 0  # the child answered; nothing was killed


@pytest.mark.parametrize(
    "case",
    ["far_corner_mixed_refs", "rows_near_2000_wide", "no_refs_at_all"],
)
def test_a_file_that_slips_past_the_measuring_kills_only_the_child(case, monkeypatch):
    # given: the extent limits lifted, so only the child's hard memory limit stands between
    # calamine's dense grid (up to 17 billion cells) and this process
    monkeypatch.setattr(reader, "MAX_CELLS", 10**12)
    monkeypatch.setattr(reader, "MAX_SHEET_ROWS", parse.EXCEL_ROWS)
    monkeypatch.setattr(reader, "MAX_COLUMNS", parse.EXCEL_COLUMNS)
    name, data, _ = hostile.CORPUS[case]()

    # when
    with pytest.raises(FileProblem) as excinfo:
        read_bytes(data, name)

    # then
    assert str(excinfo.value) == parse.TOO_LARGE
    assert str(excinfo.value).startswith("文件过大或已损坏")


def test_the_childs_memory_limit_is_hard(monkeypatch):
    # given: a 2 KB workbook within every limit whose extent (A1 to O200000) makes calamine
    # build a grid of 3 million cells, about 150 MB; the child may have 64 MB
    monkeypatch.setattr(reader, "CHILD_MEMORY_BYTES", 64 * 1024 * 1024)
    data = hostile.package(
        hostile.sheet_xml(
            hostile.header_row() + '<row r="200000"><c r="O200000"><v>1</v></c></row>'
        )
    )

    # when
    result = reader.parse_in_child(data, "sparse.xlsx")

    # then: a MemoryError inside the child, or the child killed; never this process
    assert result.problem == parse.TOO_LARGE
    # and with the real limit the same file reads
    monkeypatch.undo()
    [sheet] = read_bytes(data, "sparse.xlsx")
    assert [number for number, _ in sheet.rows] == [1, 200_000]


def test_a_child_over_its_wall_clock_limit_is_killed(monkeypatch):
    # given
    monkeypatch.setattr(reader, "CHILD_WALL_SECONDS", 0.001)
    start = time.monotonic()

    # when
    result = reader.parse_in_child(b"a,b\r\n1,2\r\n", "x.csv")

    # then
    assert result.problem == parse.TOO_LARGE
    assert result.returncode is None
    assert time.monotonic() - start < 5


def test_the_child_imports_no_django():
    # The child starts a fresh interpreter for every upload: it must stay cheap.
    import subprocess
    import sys

    code = (
        f"import sys; sys.path.insert(0, {reader._ROOT!r}); import core.importing.parse; "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('django', 'openpyxl')))"
    )
    out = subprocess.run([sys.executable, "-I", "-c", code], capture_output=True, check=True)
    assert out.stdout.strip() == b"[]"


def test_a_zip64_end_record_is_followed_to_the_directory_size(monkeypatch):
    # given: a package with ZIP64 end records (written once there are over 50 members) whose
    # classic end record gives the directory size as 0xFFFFFFFF, as streaming writers do
    import struct
    import zipfile

    monkeypatch.setattr(zipfile, "ZIP_FILECOUNT_LIMIT", 50)
    _, data, _ = hostile.huge_central_directory()
    monkeypatch.undo()
    end = data.rfind(b"PK\x05\x06")
    assert data[end - 20 : end - 16] == b"PK\x06\x07"
    data = data[: end + 12] + struct.pack("<L", 0xFFFFFFFF) + data[end + 16 :]

    # when / then
    with pytest.raises(FileProblem, match="目录过大"):
        read_bytes(data, "zip64.xlsx")


def test_formulas_are_read_by_their_cached_values_only():
    # given
    name, data, _ = hostile.formulas()

    # when
    [sheet] = read_bytes(data, name)

    # then
    cells = ("甲县", "甲一镇", "点我", "411024107225", "=cmd|' /C calc'!A0", None, None)
    assert sheet.rows[1] == (2, cells)
    assert "HYPERLINK" not in repr(sheet.rows)


def test_a_sheet_without_references_is_placed_as_calamine_places_it():
    # given: no r= at all, an empty row, and a row whose r= skips ahead
    data = hostile.package(
        hostile.sheet_xml(
            "<row><c><v>1</v></c><c/><c><v>3</v></c></row><row/>"
            '<row r="7"><c><v>7</v></c></row><row><c/><c><v>8</v></c></row>'
        )
    )

    # when
    [sheet] = read_bytes(data, "x.xlsx")

    # then
    assert sheet.rows == [(1, (1, None, 3)), (7, (7, None, None)), (8, (None, 8, None))]
    assert parse.measure_workbook(data, parse.Limits()) == [(8, 3)]


def test_defect_3_nul_bytes_after_the_first_4_kb_of_a_csv_are_refused_naming_row_and_column():
    # given
    name, data, _ = hostile.nul_after_4_kb()
    assert data.index(b"\x00") > 4096

    # when
    with pytest.raises(FileProblem) as excinfo:
        read_bytes(data, name)

    # then
    assert str(excinfo.value) == (
        "第102行第3列含有控制字符 U+0000（NUL，空字符），文件可能已损坏，或不是文本表格。"
        "请检查后重新上传。"
    )


def test_a_nul_inside_a_quoted_multiline_csv_cell_names_its_record():
    # given: past the first 4 KB, the record of row 102 spans two lines
    data = (
        hostile.csv_header()
        + "甲县,甲一镇,张庄村,411024107225,行政村,300,1000\r\n".encode() * 100
        + '甲县,"甲一镇\r\n第二行",李\x00庄村,411024107226,行政村,300,1000\r\n'.encode()
    )

    # when / then
    with pytest.raises(FileProblem, match="^第102行第3列含有控制字符 U\\+0000"):
        read_bytes(data, "x.csv")


def test_a_dos_end_of_file_mark_is_not_a_control_character():
    # given
    data = hostile.csv_header() + "甲县,甲一镇,张庄村\r\n".encode() + b"\x1a"

    # when
    [sheet] = read_bytes(data, "x.csv")

    # then
    assert [n for n, _ in sheet.rows] == [1, 2]


def test_trailing_empty_csv_columns_do_not_count_against_the_column_limit():
    # given: Excel writes its used range's width, here 3,000 columns
    data = hostile.csv_header() + ("甲县,甲一镇,张庄村" + "," * 3000 + "\r\n").encode()

    # when
    [sheet] = read_bytes(data, "x.csv")

    # then
    assert sheet.rows[1][1][:3] == ("甲县", "甲一镇", "张庄村")


# ----- through the upload page --------------------------------------------------------


def _upload(client, name: str, data: bytes, capture):
    with capture(execute=True):
        return client.post(
            "/imports/", {"kind": "villages", "file": SimpleUploadedFile(name, data)}
        )


@pytest.mark.django_db
@pytest.mark.parametrize("case", CASES)
def test_each_hostile_upload_fails_only_its_own_job_and_the_server_stays_up(
    case, client, login, county_official, django_capture_on_commit_callbacks
):
    # given
    name, data, expected = hostile.CORPUS[case]()
    login(client, county_official)

    # when
    response = _upload(client, name, data, django_capture_on_commit_callbacks)

    # then: the server still answers
    assert client.get("/healthz/").json() == {"status": "ok"}
    job = ImportJob.objects.filter(user=county_official).first()
    if job is None:  # refused before anything was stored, naming the file
        assert response.status_code == 200
        assert f"“{name}”：" in response.content.decode()
        assert expected in response.content.decode()
        return
    assert response.status_code == 302
    if expected is None:  # formulas: the rows are read by their values and checked
        assert job.state == ImportJob.State.PREVIEWED
        assert job.preview["issues"] and all(i["row"] for i in job.preview["issues"])
        assert "HYPERLINK" not in str(job.preview)
        return
    assert job.state == ImportJob.State.FAILED
    assert expected in job.error
    assert CHINESE.search(job.error)
    assert "\x00" not in job.error and "\x00" not in str(job.preview)


@pytest.mark.django_db
def test_after_the_killer_file_another_countys_import_of_the_same_kind_proceeds(
    client,
    login,
    area,
    county_official,
    other_county_official,
    django_capture_on_commit_callbacks,
):
    # given: county A's official uploads the 1.7 KB killer
    name, data, _ = hostile.far_row_without_ref()
    login(client, county_official)
    _upload(client, name, data, django_capture_on_commit_callbacks)
    assert ImportJob.objects.get(user=county_official).state == ImportJob.State.FAILED

    # when: county B's official imports a good roster of the same kind
    login(client, other_county_official)
    good = roster_xlsx([village_row(area.villages["b1v1"], households=321)])
    response = _upload(client, "乙县.xlsx", good, django_capture_on_commit_callbacks)

    # then
    job = ImportJob.objects.get(user=other_county_official)
    assert response.status_code == 302
    assert job.state == ImportJob.State.PREVIEWED, job.error
    assert job.summary["changed"] == 1
    assert client.get("/healthz/").status_code == 200


# ----- photos: image bombs ------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    "name, data",
    [
        ("bomb.png", hostile.png_claiming(30_000, 30_000)),
        ("bomb.gif", hostile.gif_claiming(65_535, 65_535)),
    ],
)
def test_an_image_bomb_photo_is_refused_in_chinese(
    name, data, cadre_user, area, settings, tmp_path
):
    # given
    settings.MEDIA_ROOT = tmp_path
    from visits.services import visit_create

    parent_before = _parent_peak_mb()

    # when
    with pytest.raises(ValidationError) as excinfo:
        visit_create(
            actor=cadre_user,
            photos=[SimpleUploadedFile(name, data)],
            **visit_fields(area.villages["a1v1"]),
        )

    # then
    [message] = excinfo.value.message_dict["photos"]
    assert CHINESE.search(message) and name in message
    assert _parent_peak_mb() - parent_before < 100
