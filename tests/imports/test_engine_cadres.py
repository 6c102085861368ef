"""The 帮扶干部及联系点 sheet through the engine: a cadre is identified by 手机号, an
assignment by (cadre, 联系点, 年度); a missing 派出单位 is created.

The world (tests/imports/builders.build_world, villages_per_township=2): 甲县 (甲一镇, 甲二乡)
and 乙县 (乙一街道, 乙二镇), two villages each; for 2024 one 帮村 cadre per village (县级,
unit 甲县民政局 or 乙县财政局) and one 联乡 cadre per township (市级, 市农业农村局). Data
rows start at Excel row 2.
"""

import datetime

import pytest

from core.importing.engine import CHANGED, NEW, UNCHANGED
from tests.imports.builders import (
    assignment_values,
    build_world,
    by_row,
    cadre_values,
    cadres_xlsx,
    city_admin_user,
    commit_plan,
    free_township_code,
    free_village_code,
    issue_strings,
    plan_of,
)
from villages.models import Assignment, Cadre, WorkUnit

pytestmark = pytest.mark.django_db

D = datetime.date


# What a commit reports of the cadres' logins (accounts.import_kinds) when it opens none.
NO_LOGIN_CHANGES = {
    "accounts_created": 0,
    "accounts_linked": 0,
    "accounts_reactivated": 0,
    "accounts_deactivated": 0,
    "notes": [],
}


@pytest.fixture
def world():
    return build_world(villages_per_township=2)


@pytest.fixture
def admin(world):
    return city_admin_user()


def _plan(rows, **kwargs):
    return plan_of("cadres", cadres_xlsx(rows), **kwargs)


def _village_row(world, label="a1v1", **values):
    return cadre_values(联系点区划代码=world.villages[label].code, **values)


# ----- classification --------------------------------------------------------------


def test_rows_matching_the_database_are_unchanged(world):
    # given
    rows = [assignment_values(a) for a in world.assignments.values()]

    # when
    plan, _ = _plan(rows)

    # then
    assert plan.issues == []
    assert [i.status for i in plan.items] == [UNCHANGED] * 12
    assert all(i.changes == {} for i in plan.items)


def test_changed_dates_are_listed_old_and_new(world):
    # given
    assignment = world.assignments["a2v1"]
    row = assignment_values(assignment, 结束日期=D(2024, 6, 30))

    # when
    plan, _ = _plan([row])

    # then
    [item] = plan.items
    assert item.status == CHANGED
    assert item.target == assignment
    assert item.changes == {"结束日期": [assignment.end_date.isoformat(), "2024-06-30"]}


def test_changed_person_data_is_listed_with_labels(world):
    # given: 干部b1v1 is 县级, without a position, at 乙县财政局
    assignment = world.assignments["b1v1"]
    row = assignment_values(
        assignment, 姓名="李四", 派出单位="甲县民政局", 职务="科长", 干部层级="乡级"
    )

    # when
    plan, _ = _plan([row])

    # then
    [item] = plan.items
    assert item.status == CHANGED
    assert item.changes == {
        "姓名": ["干部b1v1", "李四"],
        "派出单位": ["乙县财政局", "甲县民政局"],
        "职务": ["", "科长"],
        "干部层级": ["县级", "乡级"],
    }
    assert item.label == f"李四（{assignment.cadre.phone}）帮村 乙一1村 2024年"


def test_known_cadre_with_a_new_year_is_a_new_assignment(world):
    # given
    row = assignment_values(
        world.assignments["a1v1"], 年度=2025, 开始日期=D(2025, 1, 1), 结束日期=D(2025, 12, 31)
    )

    # when
    plan, _ = _plan([row])

    # then
    [item] = plan.items
    assert (item.status, item.target, item.changes) == (NEW, None, {})


def test_township_assignment_is_matched_by_the_nine_digit_code(world):
    # given
    assignment = world.assignments["lx_B2"]

    # when
    plan, _ = _plan([assignment_values(assignment, 开始日期=D(2024, 2, 1))])

    # then
    [item] = plan.items
    assert item.target == assignment
    assert item.changes == {"开始日期": ["2024-01-01", "2024-02-01"]}
    assert item.label.endswith("联乡 乙二镇 2024年")


# ----- errors -------------------------------------------------------------------------


def test_unknown_area_code_is_an_error(world):
    # given
    code = free_village_code(world.townships["A1"].code)

    # when
    plan, _ = _plan([cadre_values(联系点区划代码=code)])

    # then
    assert issue_strings(plan) == [
        f"第2行 联系点区划代码: 联系点区划代码 {code} 不存在或不在您的辖区内（新的村(社区)请先导入村(社区)花名册）"
    ]


def test_unknown_township_code_is_an_error(world):
    # given
    code = free_township_code(world.county_a)

    # when
    plan, _ = _plan([cadre_values(联系类型="联乡", 联系点区划代码=code)])

    # then
    assert issue_strings(plan) == [
        f"第2行 联系点区划代码: 联系点区划代码 {code} 不存在或不在您的辖区内（新的村(社区)请先导入村(社区)花名册）"
    ]


def test_village_code_on_a_township_row_is_an_error(world):
    # given
    code = world.villages["a1v1"].code

    # when
    plan, _ = _plan([cadre_values(联系类型="联乡", 联系点区划代码=code)])

    # then
    assert issue_strings(plan) == [
        f"第2行 联系点区划代码: “{code}”与联系类型不符：联乡应填 9 位乡镇(街道)代码"
    ]


def test_township_code_on_a_village_row_is_an_error(world):
    # given
    code = world.townships["A1"].code

    # when
    plan, _ = _plan([cadre_values(联系类型="帮村", 联系点区划代码=int(code))])

    # then
    assert issue_strings(plan) == [
        f"第2行 联系点区划代码: “{code}”与联系类型不符：帮村应填 12 位村(社区)代码"
    ]


def test_end_before_start_is_an_error(world):
    # when
    plan, _ = _plan([_village_row(world, 开始日期=D(2024, 5, 1), 结束日期=D(2024, 4, 30))])

    # then
    assert issue_strings(plan) == ["第2行 结束日期: 结束日期不能早于开始日期"]


def test_start_outside_the_year_is_an_error(world):
    # when
    plan, _ = _plan([_village_row(world, 开始日期="2023/12/1")])

    # then
    assert issue_strings(plan) == ["第2行 开始日期: 开始日期 2023-12-01 不在 2024 年度内"]


def test_same_day_start_and_end_is_fine(world):
    # when
    plan, _ = _plan([_village_row(world, 开始日期=D(2024, 5, 1), 结束日期=D(2024, 5, 1))])

    # then
    assert plan.issues == []


@pytest.mark.parametrize(
    "override, expected",
    [
        ({"手机号": "1380000001"}, "手机号: 手机号“1380000001”应为 11 位数字，实际 10 位"),
        ({"手机号": 23800000001}, "手机号: 手机号“23800000001”应以 1 开头"),
        ({"手机号": None}, "手机号: 手机号不能为空"),
        ({"姓名": "\u3000"}, "姓名: 姓名不能为空"),
        ({"派出单位": ""}, "派出单位: 派出单位不能为空"),
        ({"干部层级": "省级"}, "干部层级: 干部层级“省级”不在可选范围内（可选：市级、县级、乡级）"),
        ({"联系类型": "联村"}, "联系类型: 联系类型“联村”不在可选范围内（可选：联乡、帮村）"),
        ({"年度": None}, "年度: 年度不能为空"),
        ({"年度": "2024年"}, "年度: 年度“2024年”必须是整数"),
        (
            {"开始日期": "下月"},
            "开始日期: 开始日期“下月”不是有效的日期（示例：2023-03-01、2023/3/1、2023年3月1日）",
        ),
        ({"结束日期": None}, "结束日期: 结束日期不能为空"),
    ],
)
def test_unreadable_cell_is_an_error_on_its_column(world, override, expected):
    # when
    plan, _ = _plan([_village_row(world, **override)])

    # then
    assert issue_strings(plan) == [f"第2行 {expected}"]
    assert plan.valid_items() == []


def test_year_out_of_range_is_an_error(world):
    # given: the dates are in 1999 too, so only the year is wrong
    row = _village_row(world, 年度=1999, 开始日期=D(1999, 1, 1), 结束日期=D(1999, 2, 1))

    # when
    plan, _ = _plan([row])

    # then
    assert issue_strings(plan) == ["第2行 年度: 年度“1999”不在 2000–2100 之间"]


def test_same_phone_with_conflicting_person_data_is_an_error_on_the_later_row(world):
    # given
    rows = [
        _village_row(world, "a1v1", 姓名="张三"),
        _village_row(world, "a1v2", 姓名="张山"),
        _village_row(world, "a2v1", 姓名="张三"),
    ]

    # when
    plan, _ = _plan(rows)

    # then
    assert issue_strings(plan) == [
        "第3行 手机号: 同一手机号在第2行填写的姓名、单位、职务或层级与本行不一致"
    ]
    assert [i.row for i in plan.valid_items()] == [2, 4]


@pytest.mark.parametrize(
    "field, value", [("派出单位", "别的局"), ("职务", ""), ("干部层级", "县级")]
)
def test_same_phone_conflict_covers_unit_position_and_level(world, field, value):
    # when
    plan, _ = _plan([_village_row(world, "a1v1"), _village_row(world, "a1v2", **{field: value})])

    # then
    assert [(i.row, i.column) for i in plan.issues] == [(3, "手机号")]


def test_duplicate_assignment_in_the_file_names_both_rows(world):
    # given: the same phone, 联系点 and year, the phone once with spaces
    code = world.villages["b2v2"].code
    rows = [
        _village_row(world, "b2v2"),
        _village_row(world, "a1v1", 手机号="13800000002"),
        _village_row(world, "b2v2", 手机号="138 0000 0001"),
    ]

    # when
    plan, _ = _plan(rows)

    # then
    assert issue_strings(plan) == [
        f"第2行: 手机号、联系点区划代码、年度（13800000001 / {code} / 2024）与第4行重复",
        f"第4行: 手机号、联系点区划代码、年度（13800000001 / {code} / 2024）与第2行重复",
    ]


def test_same_cadre_and_place_in_two_years_is_no_duplicate(world):
    # given
    rows = [
        _village_row(world),
        _village_row(world, 年度=2025, 开始日期=D(2025, 1, 1), 结束日期=D(2025, 12, 31)),
    ]

    # when
    plan, _ = _plan(rows)

    # then
    assert plan.issues == []


def test_county_scope_turns_other_counties_places_into_errors(world, admin):
    # given
    b_village = world.villages["b1v1"]
    b_township = world.townships["B2"]
    rows = [
        _village_row(world, "a1v1"),
        _village_row(world, "b1v1", 手机号="13800000002"),
        cadre_values(手机号="13800000003", 联系类型="联乡", 联系点区划代码=b_township.code),
    ]

    # when
    plan, _ = _plan(rows, actor=admin, county=world.county_a)

    # then
    assert issue_strings(plan) == [
        f"第3行 联系点区划代码: 联系点区划代码 {b_village.code} 不存在或不在您的辖区内（新的村(社区)请先导入村(社区)花名册）",
        f"第4行 联系点区划代码: 联系点区划代码 {b_township.code} 不存在或不在您的辖区内（新的村(社区)请先导入村(社区)花名册）",
    ]
    assert [i.row for i in plan.valid_items()] == [2]


# ----- commit -----------------------------------------------------------------------------


def test_commit_creates_cadres_units_and_assignments_with_history_by_the_actor(world, admin):
    # given: two rows for one new cadre from a new county-level unit, one new city cadre
    rows = [
        _village_row(world, "a1v1", 派出单位="甲县新设局", 干部层级="县级", 职务=""),
        cadre_values(
            派出单位="甲县新设局",
            干部层级="县级",
            职务="",
            联系类型="联乡",
            联系点区划代码=world.townships["A2"].code,
            开始日期=D(2024, 3, 1),
        ),
        _village_row(world, "b2v1", 姓名="王五", 手机号="13800000009", 派出单位="市新设办"),
    ]
    plan, ctx = _plan(rows, actor=admin)
    assert plan.issues == []

    # when
    written = commit_plan(plan, ctx)

    # then
    assert written == {
        "work_units_created": 2,
        "cadres_created": 2,
        "cadres_updated": 0,
        **NO_LOGIN_CHANGES,
        "accounts_created": 2,  # one login per new cadre
        "notes": ["新建账号 2 个"],
    }
    county_unit = WorkUnit.objects.get(name="甲县新设局")
    assert (county_unit.level, county_unit.county) == (WorkUnit.Level.COUNTY, world.county_a)
    city_unit = WorkUnit.objects.get(name="市新设办")
    assert (city_unit.level, city_unit.county) == (WorkUnit.Level.CITY, None)
    zhang = Cadre.objects.get(phone="13800000001")
    assert (zhang.name, zhang.work_unit, zhang.level, zhang.position) == (
        "张三",
        county_unit,
        Cadre.Level.COUNTY,
        "",
    )
    assert {
        (a.kind, a.village_id, a.township_id, a.year, a.start_date, a.end_date)
        for a in zhang.assignments.all()
    } == {
        ("village", world.villages["a1v1"].pk, None, 2024, D(2024, 1, 1), D(2024, 12, 31)),
        ("township", None, world.townships["A2"].pk, 2024, D(2024, 3, 1), D(2024, 12, 31)),
    }
    for model, expected in ((WorkUnit, 2), (Cadre, 2), (Assignment, 3)):
        history = model.history.filter(history_user=admin)
        assert history.count() == expected, model
        assert set(history.values_list("history_type", flat=True)) == {"+"}
        assert set(history.values_list("history_change_reason", flat=True)) == {
            "Excel 导入：帮扶干部及联系点"
        }


def test_commit_updates_person_data_and_dates_in_place(world, admin):
    # given
    assignment = world.assignments["b1v1"]
    cadre = assignment.cadre
    rows = [
        assignment_values(assignment, 姓名="李四", 派出单位="甲县民政局", 结束日期=D(2024, 9, 30))
    ]
    plan, ctx = _plan(rows, actor=admin)

    # when
    written = commit_plan(plan, ctx)

    # then
    assert written == {
        "work_units_created": 0,
        "cadres_created": 0,
        "cadres_updated": 1,
        **NO_LOGIN_CHANGES,
        "accounts_created": 1,  # the world's cadres have no login yet
        "notes": ["新建账号 1 个"],
    }
    cadre.refresh_from_db()
    assignment.refresh_from_db()
    assert (cadre.name, cadre.work_unit) == ("李四", world.units["A"])
    assert assignment.end_date == D(2024, 9, 30)
    assert Cadre.objects.count() == 12 and Assignment.objects.count() == 12
    assert cadre.history.latest().history_user == admin
    assert assignment.history.latest().history_user == admin
    assert assignment.history.latest().history_type == "~"


def test_commit_of_person_change_leaves_the_dates_alone(world, admin):
    # given
    assignment = world.assignments["a2v2"]
    plan, ctx = _plan([assignment_values(assignment, 职务="主任")], actor=admin)
    assignment_history = Assignment.history.count()

    # when
    commit_plan(plan, ctx)

    # then
    assert Cadre.objects.get(pk=assignment.cadre_id).position == "主任"
    assert Assignment.history.count() == assignment_history


def test_commit_of_an_unchanged_file_writes_nothing(world, admin):
    # given: the cadres' logins, opened by the file's first import
    rows = [assignment_values(a) for a in world.assignments.values()]
    commit_plan(*_plan(rows, actor=admin))
    plan, ctx = _plan(rows, actor=admin)
    before = (Cadre.history.count(), Assignment.history.count(), WorkUnit.history.count())

    # when
    written = commit_plan(plan, ctx)

    # then
    assert written == {
        "work_units_created": 0,
        "cadres_created": 0,
        "cadres_updated": 0,
        **NO_LOGIN_CHANGES,
    }
    assert (Cadre.history.count(), Assignment.history.count(), WorkUnit.history.count()) == before


def test_commit_skips_the_unit_of_a_row_with_an_error(world, admin):
    # given: the only row naming 幽灵局 has an unknown 联系点
    rows = [
        _village_row(world, "a1v1"),
        cadre_values(手机号="13800000002", 派出单位="幽灵局", 联系点区划代码="900000000000"),
    ]
    plan, ctx = _plan(rows, actor=admin)

    # when
    commit_plan(plan, ctx)

    # then
    assert [i.row for i in plan.issues] == [3]
    assert not WorkUnit.objects.filter(name="幽灵局").exists()
    assert not Cadre.objects.filter(phone="13800000002").exists()
    assert by_row(plan)[2].status == NEW
    assert Cadre.objects.filter(phone="13800000001").exists()


def test_committing_a_renamed_cadre_retires_their_cached_login(world, admin, settings):
    # given: 干部b1v1 has a login, whose copy sits in the shared cache
    from django.core.cache import cache

    from tests.factories import UserFactory, UserRoleFactory
    from villages.auth import PortalModelBackend, login_cache_key

    settings.LOGIN_CACHE_SECONDS = 120
    cadre = world.assignments["b1v1"].cadre
    user = UserFactory(username="cadre_b1v1")
    UserRoleFactory(user=user, role="cadre")
    cadre.user = user
    cadre.save(update_fields=["user"])
    cache.delete(login_cache_key(user.pk))
    assert PortalModelBackend().get_user(user.pk).cadre.name == "干部b1v1"
    row = assignment_values(world.assignments["b1v1"], 姓名="李四")
    plan, ctx = _plan([row], actor=admin)

    # when: the import renames them (a bulk update: no save() signal)
    assert commit_plan(plan, ctx)["cadres_updated"] == 1

    # then: the next request loads the login again, with the new name
    assert PortalModelBackend().get_user(user.pk).cadre.name == "李四"
    cache.delete(login_cache_key(user.pk))
