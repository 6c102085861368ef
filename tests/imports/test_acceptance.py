"""The headline acceptance tests of the Excel/CSV import pipeline.

1. Round trip: what the export writes (villages.exports kinds "villages" and "cadres", via
   export_job_create with eager Celery) re-imports with zero changes and writes nothing.
2. A messy workbook with every quirk government spreadsheets have, plus exactly five bad
   rows, gives exactly those five errors with their Excel row numbers; run through
   import_job_run_now it writes nothing, unless the admin chose "valid rows only", in
   which case the good rows land and the bad ones do not.
"""

import datetime
import io

import pytest
from openpyxl import load_workbook

from core.models import ExportJob, ImportJob
from tests.imports.builders import (
    Formula,
    SheetBuilder,
    as_upload,
    build_world,
    city_admin_user,
    counts,
    free_township_code,
    free_village_code,
    free_village_codes,
    issue_strings,
    plan_of,
    shown,
)
from villages.models import Assignment, Cadre, Township, Village, WorkUnit
from villages.services import export_job_create, import_job_run_now

pytestmark = pytest.mark.django_db

D = datetime.date
FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


def _full_width(code: str) -> str:
    return code.translate(FULL_WIDTH)


def _spaced(code: str) -> str:
    return f" {code[:4]} {code[4:8]}\u3000{code[8:]} "


def _serial(day: datetime.date) -> int:
    return (day - D(1899, 12, 30)).days


@pytest.fixture
def world():
    return build_world(villages_per_township=8)


@pytest.fixture
def admin(world):
    return city_admin_user()


def _export(actor, kind, capture) -> bytes:
    with capture(execute=True):
        job = export_job_create(actor=actor, kind=kind)
    job.refresh_from_db()
    assert job.state == ExportJob.State.DONE, job.error
    with job.file.open("rb") as fh:
        return fh.read()


# ----- 1. the round trip -------------------------------------------------------------


@pytest.mark.parametrize("kind, rows", [("villages", 32), ("cadres", 36)])
def test_export_reimports_with_zero_changes_and_writes_nothing(
    world, admin, django_capture_on_commit_callbacks, kind, rows
):
    # given: (the cadres' logins are opened by the roster's first import, which is not
    # the round trip's concern)
    if kind == "cadres":
        first = _export(admin, kind, django_capture_on_commit_callbacks)
        import_job_run_now(actor=admin, kind=kind, upload=as_upload(first, "first.xlsx"))
    data = _export(admin, kind, django_capture_on_commit_callbacks)
    before = counts()

    # when
    plan, _ = plan_of(kind, data, actor=admin, filename="export.xlsx")
    job = import_job_run_now(actor=admin, kind=kind, upload=as_upload(data, "export.xlsx"))

    # then
    assert issue_strings(plan) == []
    assert {k: v for k, v in plan.counts().items() if k != "rows"} == {
        "new": 0,
        "changed": 0,
        "unchanged": rows,
        "moved": 0,
        "errors": 0,
        "error_rows": 0,
    }
    assert job.state == ImportJob.State.DONE
    assert (job.summary["unchanged"], job.summary["errors"]) == (rows, 0)
    assert counts() == before


def test_export_after_an_import_round_trips_the_imported_rows(
    world, admin, django_capture_on_commit_callbacks
):
    # given: an import that changes, moves and creates villages
    exported = _export(admin, "villages", django_capture_on_commit_callbacks)
    sheet = SheetBuilder()
    source = load_workbook(io.BytesIO(exported)).active
    rows = [list(r) for r in source.iter_rows(values_only=True)]
    rows[1][6] = 9999  # 人口 of the first village
    rows[2][3] = free_village_code(world.townships["A2"].code)  # moves the second one
    rows[2][1] = "甲二乡"
    new_code = free_township_code(world.county_b) + "001"  # in a new township
    rows.append(["乙县", "乙三乡", "新村", new_code, "行政村", None, None, "", ""])
    for values in rows:
        sheet.row(values)
    job = import_job_run_now(actor=admin, kind="villages", upload=as_upload(sheet.to_bytes()))
    assert (job.state, job.summary["changed"], job.summary["moved"], job.summary["new"]) == (
        ImportJob.State.DONE,
        1,
        1,
        1,
    )

    # when
    again = _export(admin, "villages", django_capture_on_commit_callbacks)
    plan, _ = plan_of("villages", again, actor=admin)

    # then
    assert plan.issues == []
    assert plan.counts()["unchanged"] == 33
    assert {i.status for i in plan.items} == {"unchanged"}


@pytest.mark.parametrize("kind", ["villages", "cadres"])
def test_values_escaped_by_the_export_round_trip_unchanged(
    world, admin, django_capture_on_commit_callbacks, kind
):
    # given
    Village.objects.filter(pk=world.villages["a1v1"].pk).update(secretary_name="-")
    Cadre.objects.filter(pk=world.cadres["a1v1"].pk).update(position="-")
    data = _export(admin, kind, django_capture_on_commit_callbacks)

    # when
    plan, _ = plan_of(kind, data, actor=admin)

    # then
    assert [(i.row, i.changes) for i in plan.items if i.changes] == []


# ----- 2. the messy villages workbook ---------------------------------------------------

VILLAGE_LAYOUT = [
    "序号",
    "统计用区划代码",
    "村(社区)名称",
    "乡镇（街道）",
    "县（市、区）",
    "备注",
    " 类 型 ",
    "人口",
    "户数",
    "党组织书记",
    "联系电话",
]


def _village_cells(v, number, **override) -> list:
    values = {
        "序号": number,
        "统计用区划代码": v.code,
        "村(社区)名称": v.name,
        "乡镇（街道）": v.township.name,
        "县（市、区）": v.township.county.name,
        "备注": "已核实",
        " 类 型 ": {
            "village": "行政村",
            "rural_community": "农村社区",
            "urban_community": "城市社区",
        }[v.kind],
        "人口": v.population,
        "户数": v.households,
        "党组织书记": v.secretary_name,
        "联系电话": v.secretary_phone,
    }
    values.update(override)
    return [values[h] for h in VILLAGE_LAYOUT]


def _messy_villages(world):
    """Every quirk at once. Returns (bytes, the five expected errors, what should land)."""
    v = world.villages
    a2v2, b2v3 = v["a2v2"], v["b2v3"]
    sheet = SheetBuilder("村(社区)花名册")
    sheet.title("许昌市“联乡帮村”村(社区)花名册", span=11)
    sheet.title("填报单位（盖章）：                    填报时间：2024年3月", span=11)
    sheet.title("单位：户、人", span=3)
    sheet.blank()
    assert sheet.row(VILLAGE_LAYOUT) == 5

    rows = {}
    rows["int_code"] = sheet.row(_village_cells(v["a1v1"], 1, 统计用区划代码=int(v["a1v1"].code)))
    rows["float_code"] = sheet.row(
        _village_cells(v["a1v2"], 2, 统计用区划代码=float(v["a1v2"].code), 人口=888)
    )
    rows["full_width"] = sheet.row(
        _village_cells(
            v["a1v3"],
            3,
            统计用区划代码=_full_width(v["a1v3"].code),
            **{"村(社区)名称": f"\u3000{v['a1v3'].name}\u3000"},
        )
    )
    rows["spaced_hidden"] = sheet.row(
        _village_cells(v["a2v1"], 4, 统计用区划代码=_spaced(v["a2v1"].code)), hidden=True
    )
    rows["formulas"] = sheet.row(
        _village_cells(
            a2v2,
            5,
            统计用区划代码=Formula(f"={a2v2.code[:9]}000+{int(a2v2.code[9:])}", int(a2v2.code)),
            **{
                "村(社区)名称": Formula(
                    f'=CONCATENATE("{a2v2.name[:2]}","{a2v2.name[2:]}")', a2v2.name
                )
            },
            人口=Formula("=SUM(1000,234)", 1234),
        )
    )
    bad_kind = sheet.row(_village_cells(v["a2v3"], 6, **{" 类 型 ": "自然村"}), hidden=True)
    sheet.formatted_blank(150, span=11)
    rows["trailing_spaces"] = sheet.row(
        _village_cells(
            v["b1v1"], 7, **{"村(社区)名称": v["b1v1"].name + "  ", "党组织书记": "新书记\u3000"}
        )
    )
    short_code = world.townships["B2"].code + "01"
    bad_code = sheet.row(
        _village_cells(v["b2v1"], 8, 统计用区划代码=short_code, **{"村(社区)名称": "短码村"})
    )
    new_code, moved_code, blank_name_code = free_village_codes(world.townships["B2"].code, 3)
    rows["new"] = sheet.row(
        _village_cells(
            v["b2v1"],
            9,
            统计用区划代码=int(new_code),
            **{"村(社区)名称": "新建村", "党组织书记": "", "联系电话": ""},
        )
    )
    rows["moved"] = sheet.row(
        _village_cells(
            v["b1v2"], 10, 统计用区划代码=float(moved_code), **{"乡镇（街道）": "乙二镇"}
        )
    )
    new_township_code = free_township_code(world.county_b) + "001"
    rows["new_township"] = sheet.row(
        _village_cells(
            v["b2v1"],
            11,
            统计用区划代码=_full_width(new_township_code),
            **{"村(社区)名称": "乙三村", "乡镇（街道）": "\u3000乙三乡 "},
        )
    )
    bad_county = sheet.row(_village_cells(v["b1v3"], 12, 人口=1, **{"县（市、区）": "甲县"}))
    bad_population = sheet.row(_village_cells(v["b2v1"], 13, 人口="很多"))
    rows["hidden_unchanged"] = sheet.row(_village_cells(v["b2v2"], 14), hidden=True)
    sheet.formatted_blank(60, span=11)
    bad_name = sheet.row(
        _village_cells(v["b2v2"], 15, 统计用区划代码=blank_name_code, **{"村(社区)名称": "\u3000 "})
    )
    rows["formula_households"] = sheet.row(_village_cells(b2v3, 16, 户数=Formula("=50+50", 100)))
    sheet.formatted_blank(100, span=11)

    expected = [
        f"第{bad_kind}行 类型: 类型“自然村”不在可选范围内（可选：行政村、农村社区、城市社区）",
        f"第{bad_code}行 统计用区划代码: 统计用区划代码“{short_code}”应为 12 位数字，实际 11 位",
        f"第{bad_county}行 县(市、区): “甲县”与县级代码 {world.county_b.code} 对应的“乙县”不符",
        f"第{bad_population}行 人口: 人口“很多”必须是整数",
        f"第{bad_name}行 村(社区)名称: 村(社区)名称不能为空",
    ]
    landed = {
        "new_code": new_code,
        "moved_code": moved_code,
        "new_township_code": new_township_code,
        "short_code": short_code,
        "blank_name_code": blank_name_code,
        "rows": rows,
        "bad_rows": [bad_kind, bad_code, bad_county, bad_population, bad_name],
    }
    return sheet.to_bytes(), expected, landed


def test_messy_villages_workbook_gives_exactly_the_five_errors(world, admin):
    # given
    data, expected, landed = _messy_villages(world)

    # when
    plan, _ = plan_of("villages", data, actor=admin, filename="花名册（最终版）.xlsx")

    # then
    assert issue_strings(plan) == expected
    assert [i.row for i in plan.issues] == [11, 163, 167, 168, 230]
    assert plan.header_row == 5
    statuses = {i.row: i.status for i in plan.valid_items()}
    rows = landed["rows"]
    assert statuses == {
        rows["int_code"]: "unchanged",
        rows["float_code"]: "changed",
        rows["full_width"]: "unchanged",
        rows["spaced_hidden"]: "unchanged",
        rows["formulas"]: "changed",
        rows["trailing_spaces"]: "changed",
        rows["new"]: "new",
        rows["moved"]: "moved",
        rows["new_township"]: "new",
        rows["hidden_unchanged"]: "unchanged",
        rows["formula_households"]: "changed",
    }
    by_row = {i.row: i for i in plan.items}
    assert shown(by_row[rows["float_code"]].changes) == {"人口": ["410", "888"]}
    assert shown(by_row[rows["formulas"]].changes) == {"人口": ["410", "1234"]}
    assert shown(by_row[rows["formula_households"]].changes) == {"户数": ["102", "100"]}
    assert shown(by_row[rows["trailing_spaces"]].changes) == {"党组织书记": ["书记B10", "新书记"]}
    assert by_row[rows["moved"]].target == world.villages["b1v2"]


def test_messy_villages_workbook_with_errors_writes_nothing(world, admin):
    # given
    data, expected, _ = _messy_villages(world)
    before = counts()

    # when
    job = import_job_run_now(
        actor=admin, kind="villages", upload=as_upload(data, "花名册.xlsx"), valid_only=False
    )

    # then
    assert job.state == ImportJob.State.FAILED
    assert job.summary["errors"] == 5
    assert [
        f"第{i['row']}行 {i['column']}: {i['message']}" for i in job.preview["issues"]
    ] == expected
    assert counts() == before


def test_messy_villages_workbook_valid_rows_only_imports_the_rest(world, admin):
    # given
    data, _, landed = _messy_villages(world)
    v = world.villages
    untouched = {k: Village.objects.get(pk=v[k].pk) for k in ("a2v3", "b1v3", "b2v1")}

    # when
    job = import_job_run_now(
        actor=admin, kind="villages", upload=as_upload(data, "花名册.xlsx"), valid_only=True
    )

    # then
    assert job.state == ImportJob.State.DONE
    assert (job.summary["new"], job.summary["changed"], job.summary["moved"]) == (2, 4, 1)
    assert job.summary["skipped_error_rows"] == 5
    # the good rows landed
    assert Village.objects.get(pk=v["a1v2"].pk).population == 888
    assert Village.objects.get(pk=v["a2v2"].pk).population == 1234
    assert Village.objects.get(pk=v["b2v3"].pk).households == 100
    assert Village.objects.get(pk=v["b1v1"].pk).secretary_name == "新书记"
    moved = Village.objects.get(pk=v["b1v2"].pk)
    assert (moved.code, moved.township) == (landed["moved_code"], world.townships["B2"])
    assert Village.objects.get(code=landed["new_code"]).name == "新建村"
    township = Township.objects.get(code=landed["new_township_code"][:9])
    assert (township.name, township.county) == ("乙三乡", world.county_b)
    assert Village.objects.get(code=landed["new_township_code"]).township == township
    # the bad rows did not
    assert not Village.objects.filter(
        code__in=[landed["short_code"], landed["blank_name_code"]]
    ).exists()
    for key, before in untouched.items():
        after = Village.objects.get(pk=before.pk)
        assert (after.kind, after.population, after.name) == (
            before.kind,
            before.population,
            before.name,
        ), key
    assert Village.history.filter(history_user=admin).count() == 7


# ----- 2b. the messy cadres workbook ---------------------------------------------------

CADRE_LAYOUT = [
    "序号",
    "手机号码",
    "姓 名",
    "联系点区划代码",
    "联系类型",
    "派出单位",
    "职务",
    "干部层级",
    "年度",
    "开始日期",
    "结束日期",
    "备注",
]
LEVELS = {"city": "市级", "county": "县级", "township": "乡级"}


def _cadre_cells(a, number, **override) -> list:
    area = a.village if a.village_id else a.township
    values = {
        "序号": number,
        "手机号码": a.cadre.phone,
        "姓 名": a.cadre.name,
        "联系点区划代码": area.code,
        "联系类型": "帮村" if a.village_id else "联乡",
        "派出单位": a.cadre.work_unit.name,
        "职务": a.cadre.position,
        "干部层级": LEVELS[a.cadre.level],
        "年度": a.year,
        "开始日期": a.start_date,
        "结束日期": a.end_date,
        "备注": "",
    }
    values.update(override)
    return [values[h] for h in CADRE_LAYOUT]


def _messy_cadres(world):
    a = world.assignments
    unknown_code = free_village_code(world.townships["B1"].code)
    sheet = SheetBuilder("帮扶干部")
    sheet.title("2024年度“联乡帮村”帮扶干部及联系点一览表", span=12)
    sheet.title("（市委组织部制）", span=6)
    sheet.blank()
    assert sheet.row(CADRE_LAYOUT) == 4
    rows = {}
    rows["int_phone"] = sheet.row(_cadre_cells(a["a1v1"], 1, 手机号码=int(a["a1v1"].cadre.phone)))
    rows["serial_start"] = sheet.row(
        _cadre_cells(
            a["a1v2"],
            2,
            开始日期=_serial(D(2024, 2, 15)),
            结束日期=float(_serial(a["a1v2"].end_date)),
        )
    )
    rows["iso_end"] = sheet.row(_cadre_cells(a["a2v1"], 3, 结束日期="2024-09-30"))
    rows["slash_start_hidden"] = sheet.row(
        _cadre_cells(
            a["a2v2"], 4, 开始日期="2024/3/1", 手机号码=_full_width(a["a2v2"].cadre.phone)
        ),
        hidden=True,
    )
    rows["chinese_start"] = sheet.row(
        _cadre_cells(
            a["lx_A1"],
            5,
            开始日期="2024年4月1日",
            联系点区划代码=float(world.townships["A1"].code),
        )
    )
    bad_area = sheet.row(_cadre_cells(a["b1v1"], 6, 联系点区划代码=unknown_code))
    sheet.formatted_blank(120, span=12)
    new_phone = "13700009999"
    rows["new_cadre"] = sheet.row(
        _cadre_cells(
            a["b1v2"],
            7,
            手机号码="137 0000　9999",
            **{"姓 名": "\u3000赵六\u3000", "派出单位": "乙县新设中心 ", "职务": "干事"},
        )
    )
    rows["formulas"] = sheet.row(
        _cadre_cells(
            a["b2v1"],
            8,
            年度=Formula("=2023+1", 2024),
            联系点区划代码=Formula(
                f"={world.villages['b2v1'].code}", int(world.villages["b2v1"].code)
            ),
            **{"姓 名": Formula('="干部"&"b2v1"', "干部b2v1")},
        )
    )
    bad_kind = sheet.row(_cadre_cells(a["b2v2"], 9, 联系类型="联乡"), hidden=True)
    bad_order = sheet.row(
        _cadre_cells(
            a["a1v1"],
            10,
            联系点区划代码=world.villages["a1v2"].code,
            开始日期="2024-05-01",
            结束日期="2024年4月30日",
        )
    )
    sheet.formatted_blank(100, span=12)
    bad_year = sheet.row(_cadre_cells(a["lx_B1"], 11, 开始日期=_serial(D(2023, 12, 1))))
    bad_person = sheet.row(
        _cadre_cells(
            a["b1v2"],
            12,
            手机号码=new_phone,
            联系点区划代码=world.villages["b2v2"].code,
            **{"姓 名": "赵陆"},
        )
    )
    rows["unchanged_serial"] = sheet.row(
        _cadre_cells(
            a["lx_B2"],
            13,
            开始日期=_serial(a["lx_B2"].start_date),
            结束日期=str(_serial(a["lx_B2"].end_date)),
        )
    )
    sheet.formatted_blank(50, span=12)
    expected = [
        f"第{bad_area}行 联系点区划代码: 联系点区划代码 {unknown_code} 不存在或不在您的辖区内（新的村(社区)请先导入村(社区)花名册）",
        f"第{bad_kind}行 联系点区划代码: “{world.villages['b2v2'].code}”与联系类型不符：联乡应填 9 位乡镇(街道)代码",
        f"第{bad_order}行 结束日期: 结束日期不能早于开始日期",
        f"第{bad_year}行 开始日期: 开始日期 2023-12-01 不在 2024 年度内",
        f"第{bad_person}行 手机号: 同一手机号在第{rows['new_cadre']}行填写的姓名、单位、职务或层级与本行不一致",
    ]
    return sheet.to_bytes(), expected, rows, [bad_area, bad_kind, bad_order, bad_year, bad_person]


def test_messy_cadres_workbook_gives_exactly_the_five_errors(world, admin):
    # given
    data, expected, rows, bad_rows = _messy_cadres(world)

    # when
    plan, _ = plan_of("cadres", data, actor=admin)

    # then
    assert issue_strings(plan) == expected
    assert bad_rows == [10, 133, 134, 235, 236]
    by_row = {i.row: i for i in plan.valid_items()}
    a = world.assignments
    assert {r: (i.status, i.changes) for r, i in by_row.items()} == {
        rows["int_phone"]: ("unchanged", {}),
        rows["serial_start"]: ("changed", {"开始日期": ["2024-02-01", "2024-02-15"]}),
        rows["iso_end"]: ("changed", {"结束日期": [a["a2v1"].end_date.isoformat(), "2024-09-30"]}),
        rows["slash_start_hidden"]: (
            "changed",
            {"开始日期": [a["a2v2"].start_date.isoformat(), "2024-03-01"]},
        ),
        rows["chinese_start"]: ("changed", {"开始日期": ["2024-01-01", "2024-04-01"]}),
        rows["new_cadre"]: ("new", {}),
        rows["formulas"]: ("unchanged", {}),
        rows["unchanged_serial"]: ("unchanged", {}),
    }


def test_messy_cadres_workbook_with_errors_writes_nothing(world, admin):
    # given
    data, expected, _, _ = _messy_cadres(world)
    before = counts()

    # when
    job = import_job_run_now(actor=admin, kind="cadres", upload=as_upload(data), valid_only=False)

    # then
    assert job.state == ImportJob.State.FAILED
    assert job.summary["errors"] == 5
    assert counts() == before


def test_messy_cadres_workbook_valid_rows_only_imports_the_rest(world, admin):
    # given
    data, _, _, _ = _messy_cadres(world)
    a = world.assignments
    untouched = {k: Assignment.objects.get(pk=a[k].pk) for k in ("b1v1", "b2v2", "lx_B1")}

    # when
    job = import_job_run_now(actor=admin, kind="cadres", upload=as_upload(data), valid_only=True)

    # then
    assert job.state == ImportJob.State.DONE
    assert (job.summary["new"], job.summary["changed"], job.summary["unchanged"]) == (1, 4, 3)
    assert (job.summary["work_units_created"], job.summary["cadres_created"]) == (1, 1)
    assert Assignment.objects.get(pk=a["a1v2"].pk).start_date == D(2024, 2, 15)
    assert Assignment.objects.get(pk=a["a2v1"].pk).end_date == D(2024, 9, 30)
    assert Assignment.objects.get(pk=a["a2v2"].pk).start_date == D(2024, 3, 1)
    assert Assignment.objects.get(pk=a["lx_A1"].pk).start_date == D(2024, 4, 1)
    zhao = Cadre.objects.get(phone="13700009999")
    assert (zhao.name, zhao.work_unit.name, zhao.position, zhao.level) == (
        "赵六",
        "乙县新设中心",
        "干事",
        "county",
    )
    assert WorkUnit.objects.get(name="乙县新设中心").county == world.county_b
    assert [(x.village, x.year) for x in zhao.assignments.all()] == [(world.villages["b1v2"], 2024)]
    # the bad rows did not land
    assert not Assignment.objects.filter(
        cadre=a["a1v1"].cadre, village=world.villages["a1v2"]
    ).exists()
    for key, before in untouched.items():
        after = Assignment.objects.get(pk=before.pk)
        assert (after.start_date, after.end_date, after.kind) == (
            before.start_date,
            before.end_date,
            before.kind,
        ), key
