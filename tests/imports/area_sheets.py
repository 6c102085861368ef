"""Small village-roster workbooks about the `area` fixture (tests/conftest.py), shared by
the import workflow tests (services, pages, admin)."""

import io

from openpyxl import Workbook

from villages.models import Village

HEADERS = ("县(市、区)", "乡镇(街道)", "村(社区)名称", "统计用区划代码", "类型", "户数", "人口")
# The same, plus the optional column that declares a move to another township: a row
# built by `village_row` gets that cell by appending the old code to it.
HEADERS_WITH_OLD_CODE = (*HEADERS, "原区划代码")


def roster_xlsx(rows, *, headers=HEADERS, title: str | None = None) -> bytes:
    """An .xlsx with an optional title row above `headers`, then `rows`."""
    wb = Workbook()
    ws = wb.active
    ws.title = "村名册"
    if title:
        ws.append([title])
    ws.append(list(headers))
    for row in rows:
        ws.append(list(row))
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def village_row(village, **changes) -> list:
    """A sheet row describing `village` as it is in the database, with `changes` applied."""
    values = {
        "county": village.township.county.name,
        "township": village.township.name,
        "name": village.name,
        "code": village.code,
        "kind": str(Village.Kind(village.kind).label),
        "households": village.households,
        "population": village.population,
    } | changes
    return list(values.values())


def free_codes(township, count: int = 1) -> list[str]:
    """`count` village codes in `township` that no village uses yet."""
    used = set(Village.objects.values_list("code", flat=True))
    free = (code for n in range(999, 0, -1) if (code := f"{township.code}{n:03d}") not in used)
    return [next(free) for _ in range(count)]


def free_code(township) -> str:
    return free_codes(township)[0]
