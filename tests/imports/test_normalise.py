"""Cell parsers (core.importing.normalise): what messy government workbooks put in a
cell, and the Chinese message for what cannot be read."""

import datetime

import pytest

from core.importing import normalise as n

CODE = "统计用区划代码"


# ----- is_blank ---------------------------------------------------------------------


@pytest.mark.parametrize("value", [None, "", "   ", "\u3000", "\u00a0\u200b", "\t\r\n", "\ufeff"])
def test_is_blank_for_empty_and_whitespace_only_cells(value):
    # when / then
    assert n.is_blank(value) is True


@pytest.mark.parametrize("value", [0, 0.0, "0", "x", " 村 ", datetime.date(2024, 1, 1), False])
def test_is_blank_false_for_cells_with_content(value):
    # when / then
    assert n.is_blank(value) is False


# ----- text -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value, expected",
    [
        ("\u3000张庄村\u3000", "张庄村"),  # full-width spaces around
        ("张庄村  ", "张庄村"),  # trailing spaces
        ("\u00a0李 \u3000 庄\u200b", "李 庄"),  # inner runs collapse to one space
        ("甲县\n", "甲县"),
        (None, ""),
        (12, "12"),
        (1200.0, "1200"),  # whole floats lose the ".0"
        (12.5, "12.5"),
    ],
)
def test_text_trims_and_collapses_spaces(value, expected):
    # when
    result = n.text(value)

    # then
    assert result == expected


@pytest.mark.parametrize(
    "value, expected",
    [
        ('\'=HYPERLINK("x")', '=HYPERLINK("x")'),  # what the export wrote for "=HYPERLINK…"
        ("'-", "-"),
        ("'+86 139", "+86 139"),
        ("'@SUM(A1)", "@SUM(A1)"),
        ("\u3000'=1+1 ", "=1+1"),
        ("'张庄村", "'张庄村"),  # an apostrophe before ordinary text is kept
        ("'", "'"),
        ("=1+1", "=1+1"),
    ],
)
def test_text_takes_off_the_exports_formula_escape(value, expected):
    # when / then
    assert n.text(value) == expected


# ----- digits -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        411024107225,  # a number cell
        411024107225.0,  # a float cell
        "411024107225",
        "411024107225.0",  # a float pasted as text
        "４１１０２４１０７２２５",  # full-width digits
        " 4110 2410\u30007225 ",  # spaces, full-width ones included
        "\ufeff411024107225\u00a0",
    ],
)
def test_digits_normalises_codes_to_text(value):
    # when
    result = n.digits(value, lengths=(12,), label=CODE)

    # then
    assert result == "411024107225"


def test_digits_accepts_any_declared_length():
    # when / then
    assert n.digits(411024107, lengths=(9, 12), label="联系点区划代码") == "411024107"
    assert n.digits("411024107225", lengths=(9, 12), label="联系点区划代码") == "411024107225"


@pytest.mark.parametrize(
    "value, message",
    [
        (None, "统计用区划代码不能为空"),
        ("", "统计用区划代码不能为空"),
        ("\u3000 ", "统计用区划代码不能为空"),
        (True, "统计用区划代码必须是数字"),
        (4110241072.5, "统计用区划代码“4110241072.5”不是整数代码"),
        ("41102410722", "统计用区划代码“41102410722”应为 12 位数字，实际 11 位"),
        (4110241072251, "统计用区划代码“4110241072251”应为 12 位数字，实际 13 位"),
        ("41102410722X", "统计用区划代码“41102410722X”只能包含数字"),
        ("-41102410722", "统计用区划代码“-41102410722”只能包含数字"),
        ("4110-2410-7225", "统计用区划代码“4110-2410-7225”只能包含数字"),
    ],
)
def test_digits_rejects_bad_codes_in_chinese(value, message):
    # when
    with pytest.raises(n.CellError) as excinfo:
        n.digits(value, lengths=(12,), label=CODE)

    # then
    assert str(excinfo.value) == message


def test_digits_names_every_allowed_length():
    # when
    with pytest.raises(n.CellError) as excinfo:
        n.digits("4110241", lengths=(9, 12), label="联系点区划代码")

    # then
    assert str(excinfo.value) == "联系点区划代码“4110241”应为 9 或 12 位数字，实际 7 位"


def test_digits_rejects_non_ascii_digits_that_nfkc_does_not_fold():
    # given: Arabic-Indic digits are str.isdigit() but not ASCII
    value = "٤١١٠٢٤١٠٧٢٢٥"

    # when / then
    with pytest.raises(n.CellError, match="只能包含数字"):
        n.digits(value, lengths=(12,), label=CODE)


# ----- optional_int -----------------------------------------------------------------


@pytest.mark.parametrize(
    "value, expected",
    [
        (None, None),
        ("", None),
        ("\u3000", None),
        (0, 0),
        (320, 320),
        (320.0, 320),
        ("320", 320),
        ("1,200", 1200),
        ("１２００", 1200),
        (" 1 200 ", 1200),
        ("320.0", 320),
    ],
)
def test_optional_int_reads_counts(value, expected):
    # when
    result = n.optional_int(value, label="户数")

    # then
    assert result == expected


@pytest.mark.parametrize(
    "value, message",
    [
        (True, "户数必须是整数"),
        (12.5, "户数“12.5”必须是整数"),
        ("12.5", "户数“12.5”必须是整数"),
        ("很多", "户数“很多”必须是整数"),
        (-1, "户数不能为负数"),
        ("-3", "户数不能为负数"),
    ],
)
def test_optional_int_rejects_non_counts_in_chinese(value, message):
    # when
    with pytest.raises(n.CellError) as excinfo:
        n.optional_int(value, label="户数")

    # then
    assert str(excinfo.value) == message


# ----- date -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        45352,  # Excel serial number
        45352.0,
        45352.75,  # a serial with a time of day
        "45352",  # a serial that became text
        datetime.date(2024, 3, 1),
        datetime.datetime(2024, 3, 1, 9, 30),
        "2024-03-01",
        "2024-3-1",
        "2024/3/1",
        "2024/03/01",
        "2024年3月1日",
        "2024年03月01日",
        "2024.3.1",
        "20240301",
        " 2024 年 3 月 1 日\u3000",
        "２０２４－０３－０１",  # full-width digits and dash
    ],
)
def test_date_reads_every_common_spelling(value):
    # when
    result = n.date(value, label="开始日期")

    # then
    assert result == datetime.date(2024, 3, 1)


def test_date_serial_uses_the_excel_epoch():
    # given: 1 is 1900-01-01 in Excel's calendar; 60 is Excel's fictitious 1900-02-29,
    # so the epoch 1899-12-30 is right from 61 (1900-03-01) on
    # when / then
    assert n.date(61, label="开始日期") == datetime.date(1900, 3, 1)
    assert n.date(2958465, label="开始日期") == datetime.date(9999, 12, 31)


@pytest.mark.parametrize(
    "value, message",
    [
        (None, "开始日期不能为空"),
        ("", "开始日期不能为空"),
        ("\u3000", "开始日期不能为空"),
        (0, "开始日期“0”不是有效的日期"),
        (-5, "开始日期“-5”不是有效的日期"),
        (2958466, "开始日期“2958466”不是有效的日期"),
        (
            "2024-02-30",
            "开始日期“2024-02-30”不是有效的日期（示例：2023-03-01、2023/3/1、2023年3月1日）",
        ),
        ("明年", "开始日期“明年”不是有效的日期（示例：2023-03-01、2023/3/1、2023年3月1日）"),
        (
            "2024-13-01",
            "开始日期“2024-13-01”不是有效的日期（示例：2023-03-01、2023/3/1、2023年3月1日）",
        ),
    ],
)
def test_date_rejects_non_dates_in_chinese(value, message):
    # when
    with pytest.raises(n.CellError) as excinfo:
        n.date(value, label="开始日期")

    # then
    assert str(excinfo.value) == message


@pytest.mark.parametrize("value", ["0", "00000", "　０"])
def test_date_refuses_serial_zero_given_as_text_like_the_number(value):
    # when: the number 0 is refused (see above); the same serial as text must be too
    with pytest.raises(n.CellError) as excinfo:
        n.date(value, label="开始日期")

    # then
    assert str(excinfo.value) == f"开始日期“{value}”不是有效的日期"


# ----- choice -----------------------------------------------------------------------

KINDS = {"行政村": "village", "农村社区": "rural_community", "城市社区": "urban_community"}


@pytest.mark.parametrize(
    "value, expected",
    [
        ("行政村", "village"),
        ("\u3000农村社区 ", "rural_community"),
        ("城市社区", "urban_community"),
    ],
)
def test_choice_maps_labels_to_stored_values(value, expected):
    # when
    result = n.choice(value, options=KINDS, label="类型")

    # then
    assert result == expected


@pytest.mark.parametrize(
    "value, message",
    [
        (None, "类型不能为空"),
        ("  ", "类型不能为空"),
        ("自然村", "类型“自然村”不在可选范围内（可选：行政村、农村社区、城市社区）"),
        ("village", "类型“village”不在可选范围内（可选：行政村、农村社区、城市社区）"),
    ],
)
def test_choice_rejects_unknown_labels_and_lists_the_options(value, message):
    # when
    with pytest.raises(n.CellError) as excinfo:
        n.choice(value, options=KINDS, label="类型")

    # then
    assert str(excinfo.value) == message


def test_choice_lists_only_chinese_options_when_stored_values_are_accepted_too():
    # given: a kind may accept its stored values as well as the labels
    options = {**KINDS, **{v: v for v in KINDS.values()}}

    # when
    with pytest.raises(n.CellError) as excinfo:
        n.choice("自然村", options=options, label="类型")

    # then
    assert n.choice("village", options=options, label="类型") == "village"
    assert str(excinfo.value).endswith("（可选：行政村、农村社区、城市社区）")


# ----- header_key -------------------------------------------------------------------


@pytest.mark.parametrize(
    "value, expected",
    [
        ("县（市、区）", "县(市、区)"),  # full-width brackets
        (" 类 型\u3000", "类型"),
        ("村(社区)\n名称", "村(社区)名称"),  # a wrapped header cell
        (None, ""),
        ("ＡＢＣ", "ABC"),
    ],
)
def test_header_key_ignores_spaces_and_width(value, expected):
    # when / then
    assert n.header_key(value) == expected


def test_header_key_keeps_different_headers_apart():
    # when / then
    assert n.header_key("乡镇(街道)") != n.header_key("县(市、区)")


# ----- village_name -----------------------------------------------------------------


@pytest.mark.parametrize(
    "value, name, official_name, is_village",
    [
        ("裴庄村委会", "裴庄村", "裴庄村委会", True),
        ("东湖村民委员会", "东湖村", "东湖村民委员会", True),
        ("金地社区居委会", "金地社区", "金地社区居委会", False),
        ("十里铺居委会", "十里铺社区", "十里铺居委会", False),
        ("东街居民委员会", "东街社区", "东街居民委员会", False),
        ("新华社区居民委员会", "新华社区", "新华社区居民委员会", False),
        ("岳寨社区居民委委会", "岳寨社区", "岳寨社区居民委委会", False),  # as published
        ("小张庄社区委员会", "小张庄社区", "小张庄社区委员会", False),
        ("益民街社区居委员会", "益民街社区", "益民街社区居委员会", False),
        ("\u3000裴庄村委会 ", "裴庄村", "裴庄村委会", True),
        ("裴庄村", "裴庄村", "", True),  # a short name is read as it is
        ("金地社区", "金地社区", "", False),
        ("产业园", "产业园", "", None),  # the name does not say
        ("村委会", "村委会", "", None),  # a suffix alone is no committee name
        ("", "", "", None),
    ],
)
def test_village_name_reads_the_committee_name_as_the_village(
    value, name, official_name, is_village
):
    # when
    result = n.village_name(value)

    # then
    assert (result.name, result.official_name, result.is_village) == (
        name,
        official_name,
        is_village,
    )


def test_village_name_of_a_short_name_is_that_name():
    # given: every village name of the 2023 roster, shortened once
    import csv

    from villages.demo import DATA_DIR

    with open(DATA_DIR / "xuchang_2023_villages.csv", encoding="utf-8") as fh:
        short = [n.village_name(r["name"]).name for r in csv.DictReader(fh)]

    # when
    again = [n.village_name(s) for s in short]

    # then: reading a short name again changes nothing and finds no official name
    assert [r.name for r in again] == short
    assert {r.official_name for r in again} == {""}
    assert None not in {r.is_village for r in again}
