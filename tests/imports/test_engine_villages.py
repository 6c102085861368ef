"""The 村(社区)花名册 sheet through the engine: build_plan classifies every row as new,
changed, unchanged or moved (with old → new per field) or reports an error; the kind's
commit writes the plan with history rows carrying the actor.

The world (tests/imports/builders.build_world, villages_per_township=3): 甲县 with 甲一镇
(甲一1村 行政村, 甲一2村 农村社区, 甲一3村 城市社区) and 甲二乡 (甲二1村…), 乙县 with 乙一街道
and 乙二镇 likewise. Data rows start at Excel row 2 (the header is row 1).
"""

import pytest

from core.importing.engine import CHANGED, MOVED, NEW, UNCHANGED
from tests.factories import TownshipFactory, VillageFactory
from tests.imports.builders import (
    VILLAGE_HEADERS,
    build_world,
    by_row,
    city_admin_user,
    commit_plan,
    free_township_code,
    free_village_code,
    free_village_codes,
    issue_strings,
    plan_of,
    shown,
    village_values,
    villages_xlsx,
)
from villages.models import County, Township, Village

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    return build_world(villages_per_township=3)


@pytest.fixture
def admin(world):
    return city_admin_user()


def _plan(rows, **kwargs):
    return plan_of("villages", villages_xlsx(rows), **kwargs)


def _free_code(township) -> str:
    return free_village_code(township.code)


# ----- classification --------------------------------------------------------------


def test_rows_matching_the_database_are_unchanged(world):
    # given
    rows = [village_values(v) for v in world.villages.values()]

    # when
    plan, _ = _plan(rows)

    # then
    assert plan.issues == []
    assert [i.status for i in plan.items] == [UNCHANGED] * len(world.villages)
    assert all(i.changes == {} for i in plan.items)
    assert plan.counts()["unchanged"] == 12


def test_changed_row_lists_old_and_new_per_field(world):
    # given
    village = world.villages["a1v1"]
    row = village_values(village, 人口=455, 户数=None, 党组织书记="王五", 联系电话="0374-6012345")

    # when
    plan, _ = _plan([row])

    # then
    [item] = plan.items
    assert plan.issues == []
    assert item.status == CHANGED
    assert item.target == village
    assert shown(item.changes) == {
        "户数": ["100", ""],
        "人口": ["400", "455"],
        "党组织书记": ["书记A10", "王五"],
        "联系电话": [village.secretary_phone, "0374-6012345"],
    }
    assert item.label == f"甲县 甲一镇 {village.name}（{village.code}）"


def test_renamed_village_is_a_change_of_name(world):
    # given
    village = world.villages["b2v2"]

    # when
    plan, _ = _plan([village_values(village, **{"村(社区)名称": "新名村"})])

    # then
    [item] = plan.items
    assert (item.status, item.changes) == (CHANGED, {"名称": [village.name, "新名村"]})


def test_changed_kind_is_shown_with_its_chinese_labels(world):
    # given: 甲一1村 is a 行政村
    village = world.villages["a1v1"]

    # when
    plan, _ = _plan([village_values(village, 类型="农村社区")])

    # then
    [item] = plan.items
    assert item.changes == {"类型": ["行政村", "农村社区"]}


def test_changed_kind_is_detected(world):
    # given
    village = world.villages["a1v1"]

    # when
    plan, _ = _plan([village_values(village, 类型="城市社区")])

    # then
    [item] = plan.items
    assert item.status == CHANGED
    assert list(item.changes) == ["类型"]


def test_leaving_out_optional_columns_keeps_what_is_stored(world):
    # given: a file with only the five required columns
    headers = VILLAGE_HEADERS[:5]
    rows = [village_values(v) for v in world.villages.values()]

    # when
    plan, _ = plan_of("villages", villages_xlsx(rows, headers=headers))

    # then
    assert {i.status for i in plan.items} == {UNCHANGED}


def test_new_code_under_an_existing_township_is_new(world):
    # given
    township = world.townships["A2"]
    code = _free_code(township)
    row = {
        "县(市、区)": "甲县",
        "乡镇(街道)": "甲二乡",
        "村(社区)名称": "新建村",
        "统计用区划代码": code,
        "类型": "行政村",
    }

    # when
    plan, _ = _plan([row])

    # then
    [item] = plan.items
    assert (item.status, item.target, item.changes) == (NEW, None, {})
    assert item.label == f"甲县 甲二乡 新建村（{code}）"


def test_village_under_a_new_code_in_another_township_is_moved(world):
    # given: 甲一2村 now belongs to 甲二乡 with a new code; its old code is not in the file,
    # which still lists 甲一镇 (甲一1村), as a full roster does
    village = world.villages["a1v2"]
    new_code = _free_code(world.townships["A2"])
    row = village_values(village)
    row.update({"乡镇(街道)": "甲二乡", "统计用区划代码": new_code})

    # when
    plan, _ = _plan([village_values(world.villages["a1v1"]), row])

    # then
    assert plan.issues == []
    assert [(i.row, i.status) for i in plan.items] == [(2, UNCHANGED), (3, MOVED)]
    item = by_row(plan)[3]
    assert item.target == village
    assert item.changes == {
        "统计用区划代码": [village.code, new_code],
        "乡镇(街道)": ["甲一镇", "甲二乡"],
    }


def test_moved_village_may_change_other_fields_too(world):
    # given: a move declared in 原区划代码
    village = world.villages["a1v2"]
    new_code = _free_code(world.townships["A2"])
    row = village_values(village, 人口=999, 原区划代码=village.code)
    row.update({"乡镇(街道)": "", "统计用区划代码": new_code})

    # when
    plan, _ = _plan([row])

    # then: a blank township name shows the new township's code
    [item] = plan.items
    assert item.status == MOVED
    assert shown(item.changes) == {
        "统计用区划代码": [village.code, new_code],
        "乡镇(街道)": ["甲一镇", new_code[:9]],
        "人口": ["410", "999"],
    }


def test_not_moved_when_the_old_code_is_also_in_the_file(world):
    # given
    village = world.villages["a1v2"]
    moved = village_values(village)
    moved.update({"乡镇(街道)": "甲二乡", "统计用区划代码": _free_code(world.townships["A2"])})

    # when
    plan, _ = _plan([village_values(village), moved])

    # then
    assert [(i.row, i.status) for i in plan.items] == [(2, UNCHANGED), (3, NEW)]


def test_not_moved_when_the_name_matches_two_villages(world):
    # given: a second 甲一2村 in another township of 甲县; the file lists both townships
    third = TownshipFactory(county=world.county_a, name="甲三镇")
    VillageFactory(township=world.townships["A2"], name="甲一2村")
    row = village_values(world.villages["a1v2"])
    row.update({"乡镇(街道)": "甲三镇", "统计用区划代码": _free_code(third)})
    others = [village_values(world.villages["a1v1"]), village_values(world.villages["a2v1"])]

    # when
    plan, _ = _plan([row, *others])

    # then
    assert [i.status for i in plan.items] == [NEW, UNCHANGED, UNCHANGED]


def test_not_moved_within_the_same_township(world):
    # given: same township, new code
    village = world.villages["a1v2"]
    row = village_values(village, 统计用区划代码=_free_code(world.townships["A1"]))

    # when
    plan, _ = _plan([row])

    # then
    assert [i.status for i in plan.items] == [NEW]


def test_not_moved_across_counties(world):
    # given: 甲一2村's name, but under 乙县 (the file lists 甲一镇 too)
    row = village_values(world.villages["a1v2"])
    row.update(
        {
            "县(市、区)": "乙县",
            "乡镇(街道)": "乙一街道",
            "统计用区划代码": _free_code(world.townships["B1"]),
        }
    )

    # when
    plan, _ = _plan([row, village_values(world.villages["a1v1"])])

    # then
    assert [i.status for i in plan.items] == [NEW, UNCHANGED]


def test_not_moved_when_the_old_code_is_on_a_row_with_an_error(world):
    # given
    village = world.villages["a1v2"]
    moved = village_values(village)
    moved.update({"乡镇(街道)": "甲二乡", "统计用区划代码": _free_code(world.townships["A2"])})

    # when
    plan, _ = _plan([village_values(village, 类型="自然村"), moved])

    # then
    assert issue_strings(plan) == [
        "第2行 类型: 类型“自然村”不在可选范围内（可选：行政村、农村社区、城市社区）"
    ]
    assert by_row(plan)[3].status == NEW


@pytest.mark.parametrize("declared", [False, True], ids=["inferred", "declared"])
def test_one_village_is_not_moved_to_two_new_codes(world, admin, declared):
    # given: two rows move 甲一2村, by name (the file lists 甲一镇) or by 原区划代码
    third = TownshipFactory(county=world.county_a, name="甲三镇")
    village = world.villages["a1v2"]
    old_code = {"原区划代码": village.code} if declared else {}
    first = village_values(village, **old_code)
    first.update({"乡镇(街道)": "甲二乡", "统计用区划代码": _free_code(world.townships["A2"])})
    second = village_values(village, **old_code)
    second.update({"乡镇(街道)": "甲三镇", "统计用区划代码": _free_code(third)})
    rows = [first, second] if declared else [first, second, village_values(world.villages["a1v1"])]
    plan, ctx = _plan(rows)

    # when
    commit_plan(plan, ctx)

    # then: at most one row moves the village, the other is an error naming the first,
    # and every row the plan would import exists afterwards (none is silently lost)
    assert issue_strings(plan) == [
        f"第3行 村(社区)名称: 甲一2村（{village.code}）已由第2行迁移，同一村(社区)不能迁移到两个代码"
    ]
    assert by_row(plan)[2].status == MOVED
    assert [i.target for i in plan.valid_items() if i.status == MOVED] == [village]
    written = {i.data["code"] for i in plan.valid_items()}
    assert set(Village.objects.filter(code__in=written).values_list("code", flat=True)) == written


# ----- moves: inferred only when the file speaks for the old township, or declared -------


def _new_villages_in_a2(world) -> list[dict]:
    """Two new villages of 甲二乡, one of them named like 甲一镇's 甲一2村."""
    first, second = free_village_codes(world.townships["A2"].code, 2)
    base = {"县(市、区)": "甲县", "乡镇(街道)": "甲二乡", "类型": "行政村"}
    return [
        {**base, "村(社区)名称": "新建村", "统计用区划代码": first},
        {**base, "村(社区)名称": "甲一2村", "统计用区划代码": second, "户数": 50},
    ]


def test_partial_file_of_new_villages_does_not_move_a_namesake_elsewhere(world, admin):
    # given: only new villages of 甲二乡; nothing in the file is in 甲一镇
    namesake = world.villages["a1v2"]
    before = (namesake.code, namesake.township_id, namesake.households)
    history_before = namesake.history.count()
    rows = _new_villages_in_a2(world)
    plan, ctx = _plan(rows, actor=admin)

    # when
    commit_plan(plan, ctx)

    # then: both rows are new villages, and 甲一2村 of 甲一镇 is left as it was
    assert plan.issues == []
    assert [i.status for i in plan.items] == [NEW, NEW]
    assert by_row(plan)[3].target is None
    namesake.refresh_from_db()
    assert (namesake.code, namesake.township_id, namesake.households) == before
    assert namesake.history.count() == history_before
    created = Village.objects.get(code=rows[1]["统计用区划代码"])
    assert (created.name, created.township) == ("甲一2村", world.townships["A2"])
    assert created.pk != namesake.pk


@pytest.mark.parametrize(
    "township_row",
    ["unchanged", "with_an_error", "new_village"],
)
def test_the_same_file_with_a_row_of_the_namesakes_township_moves_it(world, township_row):
    # given: the new villages of 甲二乡, plus one row of 甲一镇 that is not 甲一2村's
    namesake = world.villages["a1v2"]
    other = {
        "unchanged": village_values(world.villages["a1v1"]),
        "with_an_error": village_values(world.villages["a1v1"], 类型="自然村"),
        "new_village": {
            "县(市、区)": "甲县",
            "乡镇(街道)": "甲一镇",
            "村(社区)名称": "甲一新村",
            "统计用区划代码": _free_code(world.townships["A1"]),
            "类型": "行政村",
        },
    }[township_row]
    rows = [*_new_villages_in_a2(world), other]

    # when
    plan, _ = _plan(rows)

    # then
    moved = by_row(plan)[3]
    assert [by_row(plan)[2].status, moved.status] == [NEW, MOVED]
    assert moved.target == namesake
    changes = shown(moved.changes)
    assert changes["统计用区划代码"] == [namesake.code, rows[1]["统计用区划代码"]]
    assert changes["乡镇(街道)"] == ["甲一镇", "甲二乡"]
    assert changes["户数"] == ["101", "50"]


def test_declared_move_to_another_township_keeps_the_village_and_its_history(world, admin):
    # given: a file of just one row, declaring 甲一2村's old code
    village = world.villages["a1v2"]
    assignment = world.assignments["a1v2"]
    new_code = _free_code(world.townships["A2"])
    row = village_values(village, 原区划代码=village.code)
    row.update({"乡镇(街道)": "甲二乡", "统计用区划代码": new_code})
    plan, ctx = _plan([row], actor=admin)
    history_before = list(village.history.values_list("history_id", flat=True))

    # when
    commit_plan(plan, ctx)

    # then
    [item] = plan.items
    assert plan.issues == []
    assert (item.status, item.target) == (MOVED, village)
    moved = Village.objects.get(pk=village.pk)
    assert (moved.code, moved.township) == (new_code, world.townships["A2"])
    assert not Village.objects.filter(code=village.code).exists()
    history = list(moved.history.order_by("history_id"))
    assert [h.history_id for h in history[:-1]] == sorted(history_before)
    last = history[-1]
    assert (last.history_type, last.code, last.history_user) == ("~", new_code, admin)
    assignment.refresh_from_db()
    assert assignment.village_id == village.pk


def test_declared_old_code_that_does_not_exist_is_an_error(world):
    # given
    unknown = _free_code(world.townships["A1"])
    row = {
        "县(市、区)": "甲县",
        "乡镇(街道)": "甲二乡",
        "村(社区)名称": "甲一2村",
        "统计用区划代码": _free_code(world.townships["A2"]),
        "类型": "农村社区",
        "原区划代码": unknown,
    }

    # when
    plan, _ = _plan([row, village_values(world.villages["a1v1"])])

    # then: no fallback to the namesake, although the file lists its township
    assert issue_strings(plan) == [f"第2行 原区划代码: 原区划代码 {unknown} 不存在或不在您的辖区内"]
    assert [i.row for i in plan.valid_items()] == [3]


def test_declared_old_code_still_listed_in_the_file_is_an_error(world, admin):
    # given: 甲一2村 keeps its row, and another row declares it moved
    village = world.villages["a1v2"]
    moved = village_values(village, 原区划代码=village.code)
    moved.update({"乡镇(街道)": "甲二乡", "统计用区划代码": _free_code(world.townships["A2"])})
    plan, ctx = _plan([village_values(village), moved], actor=admin)

    # when
    commit_plan(plan, ctx)

    # then
    assert issue_strings(plan) == [
        f"第3行 原区划代码: 原区划代码 {village.code} 在本文件中另有一行，不能同时迁移"
    ]
    assert [(i.row, i.status) for i in plan.valid_items()] == [(2, UNCHANGED)]
    village.refresh_from_db()
    assert village.township == world.townships["A1"]
    assert not Village.objects.filter(code=moved["统计用区划代码"]).exists()


def test_county_official_cannot_declare_an_old_code_of_another_county(world, admin):
    # given: 甲县's official claims 乙县's 乙一2村 as the old code of a row in 甲二乡
    other = world.villages["b1v2"]
    unknown = free_village_code(world.townships["B1"].code)
    rows = [
        {
            "县(市、区)": "甲县",
            "乡镇(街道)": "甲二乡",
            "村(社区)名称": other.name,
            "统计用区划代码": code,
            "类型": "行政村",
            "原区划代码": old_code,
        }
        for code, old_code in zip(
            free_village_codes(world.townships["A2"].code, 2), (other.code, unknown), strict=True
        )
    ]

    # when
    plan, _ = _plan(rows, actor=admin, county=world.county_a)

    # then: the same words as for a code that does not exist, nothing about 乙县's village
    assert issue_strings(plan) == [
        f"第2行 原区划代码: 原区划代码 {other.code} 不存在或不在您的辖区内",
        f"第3行 原区划代码: 原区划代码 {unknown} 不存在或不在您的辖区内",
    ]
    message = plan.issues[0].message
    for detail in (other.name, "乙县", other.township.name):
        assert detail not in message
    assert plan.valid_items() == []


# ----- names against codes ------------------------------------------------------------


def test_county_name_contradicting_the_code_is_an_error(world):
    # given
    row = village_values(world.villages["a1v1"], **{"县(市、区)": "乙县"})

    # when
    plan, _ = _plan([row])

    # then
    assert issue_strings(plan) == [
        f"第2行 县(市、区): “乙县”与县级代码 {world.county_a.code} 对应的“甲县”不符"
    ]
    assert plan.valid_items() == []


def test_township_name_contradicting_the_code_is_an_error(world):
    # given
    row = village_values(world.villages["a1v1"], **{"乡镇(街道)": "甲二乡"})

    # when
    plan, _ = _plan([row])

    # then
    assert issue_strings(plan) == [
        f"第2行 乡镇(街道): “甲二乡”与乡级代码 {world.townships['A1'].code} 对应的“甲一镇”不符"
    ]


def test_names_may_be_left_blank_when_the_codes_exist(world):
    # given
    row = village_values(world.villages["b1v3"], **{"县(市、区)": "", "乡镇(街道)": None})

    # when
    plan, _ = _plan([row])

    # then
    assert plan.issues == []
    assert plan.items[0].status == UNCHANGED


def test_names_are_compared_after_trimming_full_width_spaces(world):
    # given
    row = village_values(
        world.villages["b1v3"],
        **{"县(市、区)": "\u3000乙县 ", "乡镇(街道)": "乙一街道\u3000", "村(社区)名称": " 乙一3村"},
    )

    # when
    plan, _ = _plan([row])

    # then
    assert plan.issues == []
    assert plan.items[0].status == UNCHANGED


# ----- new counties and townships -------------------------------------------------------


def test_new_county_and_township_are_created_with_the_names_given(world, admin):
    # given
    rows = [
        {
            "县(市、区)": "新设县",
            "乡镇(街道)": "新城街道",
            "村(社区)名称": f"新村{i}",
            "统计用区划代码": f"81234500{i}00{i}",
            "类型": "城市社区",
        }
        for i in (1, 2)
    ]
    rows[1]["乡镇(街道)"] = "新河镇"
    plan, ctx = _plan(rows, actor=admin)

    # when
    written = commit_plan(plan, ctx)

    # then
    assert [i.status for i in plan.items] == [NEW, NEW]
    assert written == {"counties_created": 1, "townships_created": 2}
    county = County.objects.get(code="812345")
    assert (county.name, county.kind) == ("新设县", County.Kind.COUNTY)
    assert {
        (t.code, t.name, t.kind, t.county_id) for t in Township.objects.filter(county=county)
    } == {
        ("812345001", "新城街道", Township.Kind.SUBDISTRICT, county.pk),
        ("812345002", "新河镇", Township.Kind.TOWN, county.pk),
    }
    village = Village.objects.get(code="812345002002")
    assert (village.name, village.township.name, village.kind) == (
        "新村2",
        "新河镇",
        Village.Kind.URBAN_COMMUNITY,
    )


@pytest.mark.parametrize(
    "county_name, county_kind",
    [
        ("新设区", County.Kind.DISTRICT),
        ("长葛市", County.Kind.CITY),
        ("新设示范区", County.Kind.DISTRICT),
        ("东城开发区", County.Kind.ZONE),
    ],
)
def test_new_county_kind_follows_its_name(world, admin, county_name, county_kind):
    # given
    row = {
        "县(市、区)": county_name,
        "乡镇(街道)": "某乡",
        "村(社区)名称": "某村",
        "统计用区划代码": "812345001001",
        "类型": "行政村",
    }
    plan, ctx = _plan([row], actor=admin)

    # when
    commit_plan(plan, ctx)

    # then
    assert County.objects.get(code="812345").kind == county_kind
    assert Township.objects.get(code="812345001").kind == Township.Kind.TOWNSHIP


def test_new_township_needs_a_name(world):
    # given
    code = free_township_code(world.county_a) + "001"
    row = {"县(市、区)": "甲县", "村(社区)名称": "某村", "统计用区划代码": code, "类型": "行政村"}

    # when
    plan, _ = _plan([row])

    # then
    assert issue_strings(plan) == [
        f"第2行 乡镇(街道): 乡级代码 {code[:9]} 尚不存在，须填写名称才能新建"
    ]


def test_new_county_needs_a_name(world):
    # when
    plan, _ = _plan(
        [
            {
                "乡镇(街道)": "某镇",
                "村(社区)名称": "某村",
                "统计用区划代码": "812345001001",
                "类型": "行政村",
            }
        ]
    )

    # then
    assert issue_strings(plan) == ["第2行 县(市、区): 县级代码 812345 尚不存在，须填写名称才能新建"]


def test_two_rows_naming_one_new_township_differently_is_an_error(world):
    # given
    base = {"县(市、区)": "甲县", "村(社区)名称": "某村", "类型": "行政村"}
    prefix = free_township_code(world.county_a)
    rows = [
        {**base, "乡镇(街道)": "新一镇", "统计用区划代码": prefix + "001"},
        {**base, "乡镇(街道)": "新一镇", "统计用区划代码": prefix + "002", "村(社区)名称": "二村"},
        {**base, "乡镇(街道)": "新壹镇", "统计用区划代码": prefix + "003", "村(社区)名称": "三村"},
    ]

    # when
    plan, _ = _plan(rows)

    # then
    assert issue_strings(plan) == [
        f"第4行 乡镇(街道): “新壹镇”与第2行为乡级代码 {prefix} 填写的“新一镇”不一致"
    ]


def test_valid_rows_only_create_no_county_for_a_row_with_an_error(world, admin):
    # given: a new county whose township has no name (an error on that row)
    rows = [
        village_values(world.villages["a1v1"]),
        {
            "县(市、区)": "新设县",
            "村(社区)名称": "某村",
            "统计用区划代码": "812345001001",
            "类型": "行政村",
        },
    ]
    plan, ctx = _plan(rows, actor=admin)
    assert [i.row for i in plan.issues] == [3]

    # when
    commit_plan(plan, ctx)

    # then
    assert not County.objects.filter(code="812345").exists()


# ----- scope ---------------------------------------------------------------------------


def test_county_scope_turns_other_counties_rows_into_errors(world, admin):
    # given
    rows = [
        village_values(world.villages["a1v1"], 人口=1),
        village_values(world.villages["b1v1"], 人口=2),
        {
            "县(市、区)": "新设县",
            "乡镇(街道)": "新镇",
            "村(社区)名称": "新村",
            "统计用区划代码": "812345001001",
            "类型": "行政村",
        },
    ]

    # when
    plan, _ = _plan(rows, actor=admin, county=world.county_a)

    # then
    b_code = world.villages["b1v1"].code
    assert issue_strings(plan) == [
        f"第3行 统计用区划代码: 区划代码 {b_code} 不在您的辖区（甲县）内",
        "第4行 统计用区划代码: 区划代码 812345001001 不在您的辖区（甲县）内",
    ]
    assert [(i.row, i.status) for i in plan.valid_items()] == [(2, CHANGED)]


def test_county_scope_does_not_block_its_own_county(world, admin):
    # given
    rows = [village_values(v) for k, v in world.villages.items() if k.startswith("b")]

    # when
    plan, _ = _plan(rows, actor=admin, county=world.county_b)

    # then
    assert plan.issues == []


# ----- rows that cannot be read ----------------------------------------------------------


@pytest.mark.parametrize(
    "override, expected",
    [
        (
            {"统计用区划代码": "41102410722"},
            "统计用区划代码: 统计用区划代码“41102410722”应为 12 位数字，实际 11 位",
        ),
        ({"统计用区划代码": None}, "统计用区划代码: 统计用区划代码不能为空"),
        (
            {"类型": "自然村"},
            "类型: 类型“自然村”不在可选范围内（可选：行政村、农村社区、城市社区）",
        ),
        ({"村(社区)名称": "\u3000"}, "村(社区)名称: 村(社区)名称不能为空"),
        ({"村(社区)名称": "村" * 61}, "村(社区)名称: 村(社区)名称不能超过 60 个字"),
        ({"户数": -3}, "户数: 户数不能为负数"),
        (
            {"原区划代码": "41102410722"},
            "原区划代码: 原区划代码“41102410722”应为 12 位数字，实际 11 位",
        ),
        ({"人口": "约两千"}, "人口: 人口“约两千”必须是整数"),
        (
            {"联系电话": "0374-1234567 转 8888 或 13900001111"},
            "联系电话: 联系电话不能超过 20 个字符",
        ),
    ],
)
def test_unreadable_cell_is_an_error_on_its_column(world, override, expected):
    # given
    row = village_values(world.villages["a2v1"], **override)

    # when
    plan, _ = _plan([row])

    # then
    assert issue_strings(plan) == [f"第2行 {expected}"]
    assert plan.valid_items() == []


def test_numeric_phone_cell_is_read_as_text(world):
    # given: Excel turned the phone into a number
    village = world.villages["a2v1"]

    # when
    plan, _ = _plan([village_values(village, 联系电话=13912345678.0)])

    # then
    [item] = plan.items
    assert item.changes == {"联系电话": [village.secretary_phone, "13912345678"]}


def test_duplicate_code_in_the_file_names_both_rows(world):
    # given
    village = world.villages["a2v1"]
    rows = [
        village_values(village),
        village_values(world.villages["a2v2"]),
        village_values(village, 人口=1),
    ]

    # when
    plan, _ = _plan(rows)

    # then
    assert issue_strings(plan) == [
        f"第2行 统计用区划代码: 统计用区划代码（{village.code}）与第4行重复",
        f"第4行 统计用区划代码: 统计用区划代码（{village.code}）与第2行重复",
    ]
    assert [i.row for i in plan.valid_items()] == [3]


def test_duplicate_code_written_two_ways_is_still_a_duplicate(world):
    # given: the same code as a number and as full-width text
    village = world.villages["a2v1"]
    full_width = village.code.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    rows = [
        village_values(village, 统计用区划代码=int(village.code)),
        village_values(village, 统计用区划代码=full_width),
    ]

    # when
    plan, _ = _plan(rows)

    # then
    assert [i.row for i in plan.issues] == [2, 3]


# ----- commit -----------------------------------------------------------------------------


def test_commit_writes_changes_moves_and_new_rows_with_history_by_the_actor(world, admin):
    # given
    changed = world.villages["a1v1"]
    moved = world.villages["a1v2"]
    unchanged = world.villages["a1v3"]
    moved_code = _free_code(world.townships["A2"])
    new_code = _free_code(world.townships["B2"])
    moved_row = village_values(moved)
    moved_row.update({"乡镇(街道)": "甲二乡", "统计用区划代码": moved_code})
    rows = [
        village_values(changed, 人口=777),
        moved_row,
        village_values(unchanged),
        {
            "县(市、区)": "乙县",
            "乡镇(街道)": "乙二镇",
            "村(社区)名称": "新建村",
            "统计用区划代码": new_code,
            "类型": "农村社区",
            "户数": 12,
            "人口": 34,
        },
    ]
    plan, ctx = _plan(rows, actor=admin)
    history_before = Village.history.count()

    # when
    commit_plan(plan, ctx)

    # then
    assert [i.status for i in plan.items] == [CHANGED, MOVED, UNCHANGED, NEW]
    changed.refresh_from_db()
    assert changed.population == 777
    moved_now = Village.objects.get(pk=moved.pk)
    assert (moved_now.code, moved_now.township) == (moved_code, world.townships["A2"])
    assert not Village.objects.filter(code=moved.code).exists()
    created = Village.objects.get(code=new_code)
    assert (
        created.name,
        created.kind,
        created.households,
        created.population,
        created.township,
    ) == (
        "新建村",
        Village.Kind.RURAL_COMMUNITY,
        12,
        34,
        world.townships["B2"],
    )
    assert Village.history.count() == history_before + 3
    written = Village.history.order_by("-history_id")[:3]
    assert {(h.id, h.history_type) for h in written} == {
        (changed.pk, "~"),
        (moved.pk, "~"),
        (created.pk, "+"),
    }
    assert {h.history_user for h in written} == {admin}
    assert {h.history_change_reason for h in written} == {"Excel 导入：村(社区)花名册"}
    assert not unchanged.history.filter(history_user=admin).exists()


def test_village_moved_into_a_new_township_lands_there(world, admin):
    # given: 乙一2村 goes to a township that does not exist yet, declared in 原区划代码
    village = world.villages["b1v2"]
    township_code = free_township_code(world.county_b)
    row = village_values(village, 原区划代码=village.code)
    row.update({"乡镇(街道)": "乙新镇", "统计用区划代码": f"{township_code}001"})
    plan, ctx = _plan([row], actor=admin)

    # when
    written = commit_plan(plan, ctx)

    # then
    assert [i.status for i in plan.items] == [MOVED]
    assert written == {"counties_created": 0, "townships_created": 1}
    moved = Village.objects.get(pk=village.pk)
    assert (moved.code, moved.township.code, moved.township.name) == (
        f"{township_code}001",
        township_code,
        "乙新镇",
    )
    assert moved.township.county == world.county_b


def test_commit_of_an_unchanged_file_writes_nothing(world, admin):
    # given
    plan, ctx = _plan([village_values(v) for v in world.villages.values()], actor=admin)
    history_before = Village.history.count()

    # when
    written = commit_plan(plan, ctx)

    # then
    assert written == {"counties_created": 0, "townships_created": 0}
    assert Village.history.count() == history_before


def test_commit_keeps_fields_the_file_does_not_have(world, admin):
    # given: a change of 类型 in a file without the optional columns
    village = world.villages["b1v1"]
    before = (
        village.households,
        village.population,
        village.secretary_name,
        village.secretary_phone,
    )
    data = villages_xlsx([village_values(village, 类型="城市社区")], headers=VILLAGE_HEADERS[:5])
    plan, ctx = plan_of("villages", data, actor=admin)

    # when
    commit_plan(plan, ctx)

    # then
    village.refresh_from_db()
    assert village.kind == Village.Kind.URBAN_COMMUNITY
    assert (
        village.households,
        village.population,
        village.secretary_name,
        village.secretary_phone,
    ) == before


# ----- official (NBS) names and a blank 类型 -----------------------------------------------


def test_an_official_committee_name_keeps_the_short_name_and_records_the_official_one(world, admin):
    # given: 甲一1村 as the NBS publishes it, with no 统计名称 stored yet
    village = world.villages["a1v1"]
    row = village_values(village, **{"村(社区)名称": "甲一1村委会"})

    # when
    plan, ctx = _plan([row], actor=admin)
    commit_plan(plan, ctx)

    # then: the name stays, the official name is the one change
    [item] = plan.items
    assert (item.status, item.changes) == (CHANGED, {"统计名称": ["", "甲一1村委会"]})
    village.refresh_from_db()
    assert (village.name, village.official_name) == ("甲一1村", "甲一1村委会")


def test_the_official_name_and_the_short_name_both_match_a_village_that_has_both(world):
    # given: 乙一2村's official name is on record
    village = world.villages["b1v2"]
    Village.objects.filter(pk=village.pk).update(official_name="乙一2村民委员会")

    # when: one file writes the official name, the other the portal's short name
    official, _ = _plan([village_values(village, **{"村(社区)名称": "乙一2村民委员会"})])
    short, _ = _plan([village_values(village)])

    # then
    assert [(i.status, i.changes) for i in official.items] == [(UNCHANGED, {})]
    assert [(i.status, i.changes) for i in short.items] == [(UNCHANGED, {})]


def test_a_blank_kind_keeps_the_stored_kind(world):
    # given: 甲一3村 is a 城市社区; its row leaves 类型 empty
    village = world.villages["a1v3"]

    # when
    plan, _ = _plan([village_values(village, 类型="")])

    # then
    assert plan.issues == []
    assert [(i.status, i.changes) for i in plan.items] == [(UNCHANGED, {})]


def test_a_new_village_without_kind_takes_it_from_its_official_name(world, admin):
    # given: a 村委会 and a 居委会 new to 甲二乡, without 类型
    code_v, code_c = free_village_codes(world.townships["A2"].code, 2)
    base = {"县(市、区)": "甲县", "乡镇(街道)": "甲二乡", "类型": ""}
    rows = [
        {**base, "村(社区)名称": "王庄村委会", "统计用区划代码": code_v},
        {**base, "村(社区)名称": "东关社区居委会", "统计用区划代码": code_c},
    ]

    # when
    plan, ctx = _plan(rows, actor=admin)
    commit_plan(plan, ctx)

    # then
    assert plan.issues == []
    assert {
        (v.code, v.name, v.official_name, v.kind)
        for v in Village.objects.filter(code__in=[code_v, code_c])
    } == {
        (code_v, "王庄村", "王庄村委会", Village.Kind.VILLAGE),
        (code_c, "东关社区", "东关社区居委会", Village.Kind.RURAL_COMMUNITY),
    }


def test_a_new_village_whose_name_does_not_say_needs_a_kind(world):
    # given
    code = free_village_code(world.townships["A2"].code)
    row = {"县(市、区)": "甲县", "村(社区)名称": "产业园", "统计用区划代码": code, "类型": ""}

    # when
    plan, _ = _plan([row])

    # then
    assert issue_strings(plan) == [
        "第2行 类型: 类型不能为空：新的村(社区)“产业园”从名称看不出是村还是社区"
    ]
