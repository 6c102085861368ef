"""Builders for import tests: messy workbooks and CSV files as bytes, rows in the two
roster layouts, and a small world made with the shared factories.

The headers below are written out from the spec on purpose (not imported from the code),
so a renamed column in the code shows up as a failing test.
"""

from __future__ import annotations

import csv
import datetime
import io
import re
import zipfile
from dataclasses import dataclass
from types import SimpleNamespace
from xml.sax.saxutils import escape

from django.core.files import File
from openpyxl import Workbook
from openpyxl.styles import Border, Font, PatternFill, Side
from openpyxl.utils import get_column_letter

VILLAGE_HEADERS = (
    "县(市、区)",
    "乡镇(街道)",
    "村(社区)名称",
    "统计用区划代码",
    "类型",
    "户数",
    "人口",
    "党组织书记",
    "联系电话",
    "原区划代码",
)
CADRE_HEADERS = (
    "姓名",
    "手机号",
    "派出单位",
    "职务",
    "干部层级",
    "联系类型",
    "联系点区划代码",
    "年度",
    "开始日期",
    "结束日期",
)
KIND_LABELS = {"village": "行政村", "rural_community": "农村社区", "urban_community": "城市社区"}
LEVEL_LABELS = {"city": "市级", "county": "县级", "township": "乡级"}
ASSIGNMENT_LABELS = {"township": "联乡", "village": "帮村"}

_YELLOW = PatternFill("solid", fgColor="FFF2CC")
_THIN = Side(style="thin", color="999999")
_BOX = Border(left=_THIN, right=_THIN, top=_THIN, bottom=_THIN)


# ----- workbooks ---------------------------------------------------------------------


@dataclass(frozen=True)
class Formula:
    """A formula cell whose cached value is written into the file, the way Excel saves it
    (openpyxl writes formulas with an empty cached value; `SheetBuilder.to_bytes` patches
    the value in)."""

    formula: str  # with the leading "="
    cached: object  # int, float or str


class SheetBuilder:
    """One worksheet, written top to bottom. Every method that writes a row returns that
    row's Excel number, so tests can name the rows they expect errors on."""

    def __init__(self, title: str = "Sheet1"):
        self.wb = Workbook()
        self.ws = self.wb.active
        self.ws.title = title
        self.row_number = 0
        self._formulas: dict[str, Formula] = {}

    def _next(self) -> int:
        self.row_number += 1
        return self.row_number

    def title(self, text: str, span: int = 9) -> int:
        """A title across `span` columns in one merged cell."""
        number = self._next()
        cell = self.ws.cell(row=number, column=1, value=text)
        cell.font = Font(bold=True, size=16)
        self.ws.merge_cells(start_row=number, start_column=1, end_row=number, end_column=span)
        return number

    def blank(self, count: int = 1) -> None:
        """Rows with nothing in them at all."""
        self.row_number += count

    def formatted_blank(self, count: int, span: int = 12) -> tuple[int, int]:
        """Rows that carry fills, borders and number formats (and a few cells holding only
        spaces) but no values: what is left after someone clears a range in Excel."""
        first = self.row_number + 1
        for _ in range(count):
            number = self._next()
            for column in range(1, span + 1):
                cell = self.ws.cell(row=number, column=column)
                cell.fill = _YELLOW
                cell.border = _BOX
                cell.number_format = "@"
            if number % 7 == 0:
                self.ws.cell(row=number, column=2, value="\u3000 ")
            if number % 11 == 0:
                self.ws.cell(row=number, column=3, value="")
        return first, self.row_number

    def row(self, values, *, hidden: bool = False) -> int:
        number = self._next()
        for column, value in enumerate(values, start=1):
            if value is None:
                continue
            cell = self.ws.cell(row=number, column=column)
            if isinstance(value, Formula):
                cell.value = value.formula
                self._formulas[cell.coordinate] = value
            else:
                cell.value = value
        if hidden:
            self.ws.row_dimensions[number].hidden = True
        return number

    def to_bytes(self) -> bytes:
        out = io.BytesIO()
        self.wb.save(out)
        data = out.getvalue()
        return _inject_cached_values(data, self._formulas) if self._formulas else data


def _inject_cached_values(data: bytes, formulas: dict[str, Formula]) -> bytes:
    """Put each formula's cached value into sheet1.xml, as Excel would have saved it."""
    source = zipfile.ZipFile(io.BytesIO(data))
    name = "xl/worksheets/sheet1.xml"
    xml = source.read(name).decode("utf-8")
    for ref, formula in formulas.items():
        pattern = re.compile(rf'(<c r="{ref}"[^>]*)><f>(.*?)</f><v\s*/>')
        if isinstance(formula.cached, str):
            cell_type, value = ' t="str"', escape(formula.cached)
        else:
            cell_type, value = "", repr(formula.cached)
        xml, count = pattern.subn(
            lambda m, t=cell_type, v=value: f"{m.group(1)}{t}><f>{m.group(2)}</f><v>{v}</v>",
            xml,
        )
        assert count == 1, f"formula cell {ref} not found in the sheet XML"
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            payload = xml.encode("utf-8") if item.filename == name else source.read(item)
            target.writestr(item, payload)
    return out.getvalue()


def xlsx_bytes(rows, *, headers=None, title_rows=(), sheet_title: str = "Sheet1") -> bytes:
    """A plain workbook: optional title rows, optional header, then `rows`."""
    sheet = SheetBuilder(sheet_title)
    for text in title_rows:
        sheet.title(text, span=len(headers or rows[0]))
    if headers is not None:
        sheet.row(headers)
    for values in rows:
        sheet.row(values)
    return sheet.to_bytes()


def csv_bytes(
    rows, *, headers=None, encoding: str = "utf-8", bom: bool = False, delimiter: str = ","
) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    if headers is not None:
        writer.writerow(headers)
    for values in rows:
        writer.writerow(["" if v is None else v for v in values])
    data = out.getvalue().encode(encoding)
    return (b"\xef\xbb\xbf" + data) if bom else data


def as_upload(data: bytes, name: str = "roster.xlsx") -> File:
    return File(io.BytesIO(data), name=name)


# ----- rows in the roster layouts -------------------------------------------------------


def village_values(village, **override) -> dict:
    """One 村(社区)花名册 row for `village`, header -> cell, as the export writes it."""
    values = {
        "县(市、区)": village.township.county.name,
        "乡镇(街道)": village.township.name,
        "村(社区)名称": village.name,
        "统计用区划代码": village.code,
        "类型": KIND_LABELS[village.kind],
        "户数": village.households,
        "人口": village.population,
        "党组织书记": village.secretary_name,
        "联系电话": village.secretary_phone,
        "原区划代码": "",  # filled in only to declare a move to another township
    }
    values.update(override)
    return values


def assignment_values(assignment, **override) -> dict:
    """One 帮扶干部及联系点 row for `assignment`, header -> cell."""
    cadre = assignment.cadre
    area = assignment.village if assignment.village_id else assignment.township
    values = {
        "姓名": cadre.name,
        "手机号": cadre.phone,
        "派出单位": cadre.work_unit.name,
        "职务": cadre.position,
        "干部层级": LEVEL_LABELS[cadre.level],
        "联系类型": ASSIGNMENT_LABELS[assignment.kind],
        "联系点区划代码": area.code,
        "年度": assignment.year,
        "开始日期": assignment.start_date,
        "结束日期": assignment.end_date,
    }
    values.update(override)
    return values


def cadre_values(**values) -> dict:
    """A 帮扶干部及联系点 row from scratch; every column has a sensible default."""
    row = {
        "姓名": "张三",
        "手机号": "13800000001",
        "派出单位": "市测试局",
        "职务": "科员",
        "干部层级": "市级",
        "联系类型": "帮村",
        "联系点区划代码": "",
        "年度": 2024,
        "开始日期": datetime.date(2024, 1, 1),
        "结束日期": datetime.date(2024, 12, 31),
    }
    row.update(values)
    return row


def ordered(values: dict, headers) -> list:
    """The cells of `values` in the order of `headers` (a header it lacks gives None)."""
    return [values.get(h) for h in headers]


def villages_xlsx(rows: list[dict], headers=VILLAGE_HEADERS, **kwargs) -> bytes:
    return xlsx_bytes([ordered(r, headers) for r in rows], headers=list(headers), **kwargs)


def cadres_xlsx(rows: list[dict], headers=CADRE_HEADERS, **kwargs) -> bytes:
    return xlsx_bytes([ordered(r, headers) for r in rows], headers=list(headers), **kwargs)


def column_letter(headers, header: str) -> str:
    return get_column_letter(list(headers).index(header) + 1)


# ----- a small world ------------------------------------------------------------------


def build_world(*, villages_per_township: int = 4, year: int = 2024) -> SimpleNamespace:
    """Two counties with two townships each (甲县: 甲一镇, 甲二乡; 乙县: 乙一街道, 乙二镇),
    `villages_per_township` villages in each township with varied fields, three work units
    and, for `year`, one 帮村 cadre per village plus one 联乡 cadre per township.

    Built with the shared factories only."""
    from tests.factories import (
        AssignmentFactory,
        CadreFactory,
        CountyFactory,
        TownshipFactory,
        VillageFactory,
        WorkUnitFactory,
    )
    from villages.models import Cadre, Township, Village, WorkUnit

    county_a = CountyFactory(name="甲县")
    county_b = CountyFactory(name="乙县")
    townships = {
        "A1": TownshipFactory(county=county_a, name="甲一镇"),
        "A2": TownshipFactory(county=county_a, name="甲二乡", kind=Township.Kind.TOWNSHIP),
        "B1": TownshipFactory(county=county_b, name="乙一街道", kind=Township.Kind.SUBDISTRICT),
        "B2": TownshipFactory(county=county_b, name="乙二镇"),
    }
    kinds = list(Village.Kind.values)
    villages = {}
    for t_label, township in townships.items():
        for i in range(villages_per_township):
            label = f"{t_label.lower()}v{i + 1}"
            villages[label] = VillageFactory(
                township=township,
                name=f"{township.name[:2]}{i + 1}村",
                kind=kinds[i % len(kinds)],
                households=None if i % 4 == 3 else 100 + i,
                population=None if i % 4 == 3 else 400 + 10 * i,
                secretary_name="" if i % 3 == 2 else f"书记{t_label}{i}",
                secretary_phone="" if i % 3 == 2 else f"1370000{len(villages):04d}",
            )
    units = {
        "city": WorkUnitFactory(name="市农业农村局", level=WorkUnit.Level.CITY),
        "A": WorkUnitFactory(name="甲县民政局", level=WorkUnit.Level.COUNTY, county=county_a),
        "B": WorkUnitFactory(name="乙县财政局", level=WorkUnit.Level.COUNTY, county=county_b),
    }
    cadres, assignments = {}, {}
    for n, (label, village) in enumerate(villages.items()):
        unit = units["A" if village.township.county == county_a else "B"]
        cadres[label] = CadreFactory(
            name=f"干部{label}",
            work_unit=unit,
            level=Cadre.Level.COUNTY,
            position="" if n % 5 == 4 else "副科长",
        )
        assignments[label] = AssignmentFactory(
            cadre=cadres[label],
            village=village,
            year=year,
            start_date=datetime.date(year, 1 + n % 6, 1),
            end_date=datetime.date(year, 12, 31 - n % 3),
        )
    for t_label, township in townships.items():
        label = f"lx_{t_label}"
        cadres[label] = CadreFactory(name=f"联乡{t_label}", work_unit=units["city"])
        assignments[label] = AssignmentFactory(
            cadre=cadres[label], for_township=True, township=township, year=year
        )
    return SimpleNamespace(
        county_a=county_a,
        county_b=county_b,
        townships=townships,
        villages=villages,
        units=units,
        cadres=cadres,
        assignments=assignments,
        year=year,
    )


def city_admin_user(username: str = "import_admin"):
    from tests.factories import UserFactory, UserRoleFactory
    from villages.models import UserRole

    user = UserFactory(username=username)
    UserRoleFactory(user=user, role=UserRole.Role.CITY_ADMIN)
    return user


def county_official_user(county, username: str = "import_county"):
    from tests.factories import UserFactory, UserRoleFactory
    from villages.models import UserRole

    user = UserFactory(username=username)
    UserRoleFactory(user=user, role=UserRole.Role.COUNTY_OFFICIAL, county=county)
    return user


def counts() -> dict:
    """Row counts of everything an import may write, history included."""
    from villages.models import Assignment, Cadre, County, Township, Village, WorkUnit

    models = (County, Township, Village, WorkUnit, Cadre, Assignment)
    result = {m.__name__: m.objects.count() for m in models}
    result.update({f"{m.__name__}.history": m.history.count() for m in models})
    return result


# ----- running the engine -------------------------------------------------------------


def plan_of(kind_key: str, data: bytes, *, actor=None, county=None, filename="roster.xlsx"):
    """(plan, ctx) for `data`, exactly as the services build it."""
    import villages.import_kinds  # noqa: F401  (registers the two sheets)
    from core.importing.engine import Context, build_plan, get_kind

    ctx = Context(actor=actor, county=county)
    return build_plan(get_kind(kind_key), data, filename, ctx), ctx


def commit_plan(plan, ctx) -> dict:
    """Write the plan's valid rows the way import_job_commit does: in one transaction."""
    from django.db import transaction

    with transaction.atomic():
        return plan.kind.commit(plan.valid_items(), ctx)


def by_row(plan) -> dict:
    return {item.row: item for item in plan.items}


def issue_strings(plan) -> list[str]:
    return [str(issue) for issue in plan.issues]


def shown(changes: dict) -> dict:
    """An item's changes as text, the way the preview page prints them ("" for empty), so a
    test pins old → new without caring whether a count is kept as 400 or "400"."""
    return {
        label: ["" if value is None else str(value) for value in pair]
        for label, pair in changes.items()
    }


def free_township_code(county, taken=()) -> str:
    """A 9-digit code under `county` that no township has (factory codes are sequential, so
    a fixed suffix could collide in a long run)."""
    from villages.models import Township

    used = set(Township.objects.filter(code__startswith=county.code).values_list("code", flat=True))
    used.update(taken)
    return next(code for n in range(999, 0, -1) if (code := f"{county.code}{n:03d}") not in used)


def free_village_codes(township_code: str, count: int = 1) -> list[str]:
    """`count` 12-digit codes under `township_code` that no village has."""
    from villages.models import Village

    used = set(
        Village.objects.filter(code__startswith=township_code).values_list("code", flat=True)
    )
    codes = [code for n in range(999, 0, -1) if (code := f"{township_code}{n:03d}") not in used]
    return codes[:count]


def free_village_code(township_code: str) -> str:
    return free_village_codes(township_code)[0]
