"""The dashboard workbook as a person reads it: times in Beijing time, one unit per header,
no column without a meaning."""

import datetime
import io

import pytest
import time_machine
from openpyxl import load_workbook

from dashboards.services import compute_snapshots
from tests.dashboards.conftest import YEAR

# 11:25 UTC is 19:25 in Beijing, on a date that is the same in both.
COMPUTED_UTC = datetime.datetime(YEAR + 1, 6, 1, 11, 25, tzinfo=datetime.UTC)


@pytest.fixture
def workbook(world, county_official, client, login):
    with time_machine.travel(COMPUTED_UTC, tick=False):
        compute_snapshots(year=YEAR, today=COMPUTED_UTC.date())
        compute_snapshots(year=YEAR - 1, today=COMPUTED_UTC.date())
        login(client, county_official)
        response = client.get(f"/dashboards/county/{world.county_a.pk}/export/?year={YEAR}")
    assert response.status_code == 200
    return load_workbook(io.BytesIO(response.content))


def headers(ws) -> list:
    return [c.value for c in ws[2] if c.value is not None]


def test_title_rows_give_the_update_time_in_beijing_time(workbook):
    for ws in workbook.worksheets:
        title = ws["A1"].value
        assert f"数据更新于 {YEAR + 1}-06-01 19:25" in title, (ws.title, title)
        assert "11:25" not in title


def test_visits_sheet_has_no_dash_column_and_names_its_unit_once(workbook):
    ws = workbook["下沉走访（次）"]
    assert headers(ws) == ["地区（乡镇(街道)）", "下沉走访(次)"]
    assert ws.max_column == 2
    county = [ws.cell(row=3, column=c).value for c in (1, 2)]
    assert county == ["甲县", 10]


def test_no_sheet_header_is_a_dash_or_doubles_its_unit(workbook):
    for ws in workbook.worksheets:
        for header in headers(ws):
            assert header not in ("—", "-", ""), (ws.title, headers(ws))
            for unit in ("次", "场", "人次", "件", "个", "%"):
                assert f"({unit})（{unit}）" not in header, (ws.title, header)
    meetings = workbook["召开座谈会（场）"]
    assert headers(meetings) == ["地区（乡镇(街道)）", "座谈会", "下沉走访", "召开座谈会(场)"]
    rate = workbook["三星及以上党组织占比"]
    assert headers(rate)[-1] == "三星及以上党组织占比（%）"
    assert rate["D3"].number_format == "0.00"


def test_summary_leaves_the_base_of_a_count_without_one_empty(workbook):
    ws = workbook["目标完成情况"]
    rows = {ws.cell(row=r, column=1).value: r for r in range(3, ws.max_row + 1)}
    assert ws.cell(row=rows["下沉走访(次)"], column=5).value is None
    assert ws.cell(row=rows["召开座谈会(场)"], column=5).value == 10
