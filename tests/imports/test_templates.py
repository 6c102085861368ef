"""Blank import templates (core.importing.workbook.template_workbook) and the export
files that re-import: declared headers in row 1, a note on each header, drop-down lists on
the enumerated columns, text format on code and phone columns, and no formula injection in
exported cells."""

import datetime
import io

import pytest
from openpyxl import load_workbook

from core.importing.engine import get_kind
from core.importing.workbook import MAX_TEMPLATE_ROWS, template_workbook
from core.models import ExportJob
from tests.factories import AssignmentFactory, CadreFactory, VillageFactory
from tests.imports.builders import (
    CADRE_HEADERS,
    VILLAGE_HEADERS,
    city_admin_user,
    column_letter,
    plan_of,
)
from villages.services import export_job_create

ENUMERATED = {
    "villages": {"类型": ("行政村", "农村社区", "城市社区"), "坐标系": ("WGS-84", "GCJ-02")},
    "cadres": {"干部层级": ("市级", "县级", "乡级"), "联系类型": ("联乡", "帮村")},
}
# The cadre roster's template and export end with the optional 工号 (accounts.import_kinds:
# the login name when ACCOUNT_USERNAME is "staff_no").
CADRE_LAYOUT = (*CADRE_HEADERS, "工号")
# The village roster's end with the optional coordinates (issue 17).
COORDINATES = ("经度", "纬度", "坐标系")
VILLAGE_LAYOUT = (*VILLAGE_HEADERS, *COORDINATES)
HEADERS = {"villages": VILLAGE_LAYOUT, "cadres": CADRE_LAYOUT}
TEXT_COLUMNS = {
    "villages": {"统计用区划代码", "联系电话", "原区划代码"},
    "cadres": {"手机号", "联系点区划代码", "工号"},
}
OPTIONAL = {
    "villages": {"类型", "户数", "人口", "党组织书记", "联系电话", "原区划代码", *COORDINATES},
    "cadres": {"职务", "工号"},
}


def _template(kind_key):
    return load_workbook(io.BytesIO(template_workbook(get_kind(kind_key))))


@pytest.mark.parametrize("kind_key", ["villages", "cadres"])
def test_template_has_the_declared_headers_in_row_1(kind_key):
    # when
    wb = _template(kind_key)

    # then
    ws = wb.worksheets[0]
    assert ws.title == get_kind(kind_key).label
    assert tuple(c.value for c in ws[1]) == HEADERS[kind_key]
    assert ws.max_row == 1
    assert ws.freeze_panes == "A2"


@pytest.mark.parametrize("kind_key", ["villages", "cadres"])
def test_every_header_cell_has_a_note_saying_whether_it_is_required(kind_key):
    # when
    ws = _template(kind_key).worksheets[0]

    # then
    for cell in ws[1]:
        assert cell.comment is not None, cell.value
        last_line = cell.comment.text.splitlines()[-1]
        expected = "可选列，可删除" if cell.value in OPTIONAL[kind_key] else "必填列"
        assert last_line == expected, cell.value


def test_header_notes_explain_the_codes():
    # when
    villages = _template("villages").worksheets[0]
    cadres = _template("cadres").worksheets[0]

    # then
    code = villages[f"{column_letter(VILLAGE_HEADERS, '统计用区划代码')}1"].comment.text
    assert "12 位数字" in code and "前 6 位为县级代码" in code and "前 9 位为乡级代码" in code
    area = cadres[f"{column_letter(CADRE_HEADERS, '联系点区划代码')}1"].comment.text
    assert "联乡填 9 位" in area and "帮村填 12 位" in area
    unit = cadres[f"{column_letter(CADRE_HEADERS, '派出单位')}1"].comment.text
    assert "自动新建" in unit


def test_old_code_is_the_last_column_before_the_coordinates_and_its_note_says_when_to_fill_it():
    # when
    ws = _template("villages").worksheets[0]

    # then
    last = ws[1][-1 - len(COORDINATES)]
    assert last.value == "原区划代码"
    note = last.comment.text
    assert "改隶其他乡镇" in note and "原来的 12 位代码" in note and "否则留空" in note


@pytest.mark.parametrize("kind_key", ["villages", "cadres"])
def test_enumerated_columns_have_drop_down_lists(kind_key):
    # when
    ws = _template(kind_key).worksheets[0]

    # then
    found = {
        str(dv.sqref): (dv.type, dv.formula1, dv.showErrorMessage)
        for dv in ws.data_validations.dataValidation
    }
    expected = {}
    for header, options in ENUMERATED[kind_key].items():
        letter = column_letter(HEADERS[kind_key], header)
        expected[f"{letter}2:{letter}{MAX_TEMPLATE_ROWS}"] = (
            "list",
            '"' + ",".join(options) + '"',
            True,
        )
    assert found == expected
    assert MAX_TEMPLATE_ROWS > 100_000  # the lists cover as many rows as an import may have


@pytest.mark.parametrize("kind_key", ["villages", "cadres"])
def test_codes_and_phones_are_formatted_as_text(kind_key):
    # when
    ws = _template(kind_key).worksheets[0]

    # then
    text_columns = {
        header
        for header in HEADERS[kind_key]
        if ws.column_dimensions[column_letter(HEADERS[kind_key], header)].number_format == "@"
    }
    assert text_columns == TEXT_COLUMNS[kind_key]


@pytest.mark.parametrize("kind_key", ["villages", "cadres"])
def test_template_has_a_guide_sheet_naming_every_column(kind_key):
    # when
    guide = _template(kind_key)["填表说明"]

    # then
    names = [row[0] for row in guide.iter_rows(min_row=2, values_only=True) if row[0]]
    assert names[: len(HEADERS[kind_key])] == list(HEADERS[kind_key])
    assert names[-1] == "提示"


@pytest.mark.django_db
@pytest.mark.parametrize("kind_key", ["villages", "cadres"])
def test_the_blank_template_is_recognised_by_the_importer(kind_key):
    # when
    plan, _ = plan_of(kind_key, template_workbook(get_kind(kind_key)))

    # then
    assert plan.issues == []
    assert plan.header_row == 1
    assert plan.items == []
    assert set(plan.columns) == {c.key for c in get_kind(kind_key).columns}


# ----- exports ------------------------------------------------------------------------


def _export_sheet(actor, kind, capture):
    with capture(execute=True):
        job = export_job_create(actor=actor, kind=kind)
    job.refresh_from_db()
    assert job.state == ExportJob.State.DONE, job.error
    with job.file.open("rb") as fh:
        return load_workbook(io.BytesIO(fh.read())).active


@pytest.mark.django_db
def test_village_export_escapes_formula_injection(django_capture_on_commit_callbacks):
    # given
    VillageFactory(name='=HYPERLINK("http://evil.example","点我")', secretary_name="+1+1")
    VillageFactory(name="@SUM(A1)", secretary_name="-2+3", secretary_phone="0374-1234567")
    admin = city_admin_user()

    # when
    ws = _export_sheet(admin, "villages", django_capture_on_commit_callbacks)

    # then
    assert tuple(c.value for c in ws[1]) == VILLAGE_LAYOUT
    rows = list(ws.iter_rows(min_row=2))
    names = [r[2] for r in rows]
    assert [c.value for c in names] == ['\'=HYPERLINK("http://evil.example","点我")', "'@SUM(A1)"]
    assert {c.data_type for c in names} == {"s"}
    assert [r[7].value for r in rows] == ["'+1+1", "'-2+3"]
    assert rows[1][8].value == "0374-1234567"  # only a leading formula character is escaped
    assert isinstance(rows[0][6].value, int)  # numbers stay numbers
    assert [r[9].value for r in rows] == [None, None]  # 原区划代码 is always left empty


@pytest.mark.django_db
def test_cadre_export_escapes_formula_injection_and_keeps_dates(
    django_capture_on_commit_callbacks,
):
    # given
    cadre = CadreFactory(name="=1+2", position="\t隐藏", work_unit__name="@单位")
    AssignmentFactory(cadre=cadre)
    admin = city_admin_user()

    # when
    ws = _export_sheet(admin, "cadres", django_capture_on_commit_callbacks)

    # then
    assert tuple(c.value for c in ws[1]) == CADRE_LAYOUT
    [row] = list(ws.iter_rows(min_row=2, values_only=True))
    assert row[0] == "'=1+2"
    assert row[2] == "'@单位"
    assert row[3] == "'\t隐藏"
    assert row[8:] == (datetime.datetime(2024, 1, 1), datetime.datetime(2024, 12, 31), None)
