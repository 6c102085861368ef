"""Model rules: bad input gives a Chinese message on the right field, and the database
refuses malformed rows even when validation is skipped."""

import datetime

import pytest
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import IntegrityError, transaction

from tests.factories import (
    AssignmentFactory,
    CadreFactory,
    CountyFactory,
    TownshipFactory,
    UserFactory,
    VillageFactory,
    WorkUnitFactory,
)
from villages.models import Assignment, Cadre, County, Township, UserRole, Village

pytestmark = pytest.mark.django_db


def _errors(instance) -> dict[str, list[str]]:
    with pytest.raises(ValidationError) as excinfo:
        instance.full_clean()
    return excinfo.value.message_dict


def test_factories_build_valid_nested_rows():
    # given: rows from the factories, as every other test uses them
    assignment = AssignmentFactory()
    lianxiang = AssignmentFactory(for_township=True)
    village = assignment.village

    # when / then: they pass the models' own validation ...
    for obj in (village, village.township, village.township.county, assignment.cadre):
        obj.full_clean()
    assignment.full_clean()
    lianxiang.full_clean()
    # ... and their codes nest
    assert village.code[:9] == village.township.code
    assert village.township.code[:6] == village.township.county.code


# ----- area codes: length -----


@pytest.mark.parametrize("suffix", ["01", "0001", "00X", "0 1"])
def test_village_code_must_be_12_digits(suffix):
    # given: a code that starts with its township's code but is not 12 digits
    township = TownshipFactory()
    code = township.code + suffix
    village = Village(code=code, name="新村", kind=Village.Kind.VILLAGE, township=township)

    # when
    errors = _errors(village)

    # then: the error is on `code` and says, in Chinese, what the code must look like
    assert list(errors) == ["code"]
    assert "统计用区划代码必须是 12 位数字。" in errors["code"]


def test_township_code_must_be_9_digits():
    # given
    county = CountyFactory()
    township = Township(code=f"{county.code}1X", name="新镇", kind="town", county=county)

    # when
    errors = _errors(township)

    # then
    assert errors == {"code": ["乡级区划代码必须是 9 位数字。"]}


def test_county_code_must_be_6_digits():
    # given
    county = County(code="4110", name="新县", kind=County.Kind.COUNTY)

    # when
    errors = _errors(county)

    # then
    assert errors == {"code": ["县级区划代码必须是 6 位数字。"]}


# ----- area codes: nesting -----


def test_village_code_must_nest_under_its_township():
    # given: a well-formed code that belongs to another township
    township = TownshipFactory()
    other = TownshipFactory()
    code = f"{other.code}001"
    village = Village(code=code, name="错位村", kind=Village.Kind.VILLAGE, township=township)

    # when
    errors = _errors(village)

    # then: the message is on `code`, in Chinese, and names both codes
    assert list(errors) == ["code"]
    (message,) = errors["code"]
    assert "必须以所属乡镇的代码" in message
    assert code in message and township.code in message


def test_village_code_that_nests_is_accepted():
    # given
    township = TownshipFactory()
    village = Village(
        code=f"{township.code}001", name="好村", kind=Village.Kind.VILLAGE, township=township
    )

    # when / then: no error
    village.full_clean()


def test_township_code_must_nest_under_its_county():
    # given
    county = CountyFactory()
    other = CountyFactory()
    township = Township(code=f"{other.code}001", name="错位镇", kind="town", county=county)

    # when
    errors = _errors(township)

    # then
    assert list(errors) == ["code"]
    (message,) = errors["code"]
    assert "必须以所属县的代码" in message and county.code in message


# ----- the database has the last word -----


@pytest.mark.parametrize("bad_code", ["41102410722", "41102410722X", "４１１０２４１０７２２５"])
def test_database_rejects_malformed_village_code_even_without_validation(bad_code):
    # given
    township = TownshipFactory()
    village = Village(code=bad_code, name="坏村", kind=Village.Kind.VILLAGE, township=township)

    # when / then: save() skips full_clean(), the CHECK constraint still refuses the row
    with pytest.raises(IntegrityError), transaction.atomic():
        village.save()
    assert not Village.objects.filter(name="坏村").exists()


def test_database_rejects_malformed_township_and_county_codes():
    # given
    county = CountyFactory()

    # when / then
    with pytest.raises(IntegrityError), transaction.atomic():
        Township.objects.create(code="41102410", name="坏镇", kind="town", county=county)
    with pytest.raises(IntegrityError), transaction.atomic():
        County.objects.create(code="41A024", name="坏县", kind=County.Kind.COUNTY)
    assert not Township.objects.filter(name="坏镇").exists()
    assert not County.objects.filter(name="坏县").exists()


def test_county_code_in_full_width_digits_is_an_error_on_the_code_field():
    # given: "411024" typed with a Chinese IME in full-width mode
    county = County(code="４１１０２４", name="全角县", kind=County.Kind.COUNTY)

    # when
    errors = _errors(county)

    # then: today only the DB check constraint catches it, as a form-wide (__all__) error
    assert errors == {"code": ["县级区划代码必须是 6 位数字。"]}


def test_cadre_phone_in_full_width_digits_is_rejected():
    # given: there is no DB constraint behind the phone validator, so today this is stored
    cadre = Cadre(
        name="张三", phone="1３８００１３８０００", work_unit=WorkUnitFactory(), level="city"
    )

    # when
    errors = _errors(cadre)

    # then
    assert errors == {"phone": ["手机号必须是 11 位数字，以 1 开头。"]}


def test_cadre_phone_must_be_a_mobile_number():
    # given
    cadre = Cadre(name="张三", phone="0374123456", work_unit=WorkUnitFactory(), level="city")

    # when
    errors = _errors(cadre)

    # then
    assert errors == {"phone": ["手机号必须是 11 位数字，以 1 开头。"]}


# ----- assignments -----


def _assignment(**overrides) -> Assignment:
    values = {
        "cadre": CadreFactory(),
        "kind": Assignment.Kind.VILLAGE,
        "year": 2024,
        "start_date": datetime.date(2024, 1, 1),
        "end_date": datetime.date(2024, 12, 31),
    }
    values.update(overrides)
    return Assignment(**values)


@pytest.mark.parametrize(
    "target",
    [
        "village_kind_without_village",
        "village_kind_with_township_too",
        "township_kind_with_village",
    ],
)
def test_assignment_target_must_match_its_kind(target):
    # given
    village = VillageFactory()
    assignment = {
        "village_kind_without_village": lambda: _assignment(),
        "village_kind_with_township_too": lambda: _assignment(
            village=village, township=village.township
        ),
        "township_kind_with_village": lambda: _assignment(
            kind=Assignment.Kind.TOWNSHIP, village=village
        ),
    }[target]()

    # when
    errors = _errors(assignment)

    # then: validation explains it in Chinese ...
    assert errors == {NON_FIELD_ERRORS: ["联乡须填写乡镇，帮村须填写村(社区)，二者只能填一个。"]}
    # ... and the database refuses it when validation is skipped
    with pytest.raises(IntegrityError), transaction.atomic():
        assignment.save()


def test_assignment_cannot_end_before_it_starts():
    # given
    assignment = _assignment(
        village=VillageFactory(),
        start_date=datetime.date(2024, 6, 1),
        end_date=datetime.date(2024, 5, 31),
    )

    # when
    errors = _errors(assignment)

    # then
    assert errors == {NON_FIELD_ERRORS: ["结束日期不能早于开始日期。"]}
    with pytest.raises(IntegrityError), transaction.atomic():
        assignment.save()


def test_assignment_must_start_in_its_year():
    # given
    assignment = _assignment(village=VillageFactory(), start_date=datetime.date(2023, 12, 1))

    # when
    errors = _errors(assignment)

    # then
    assert errors == {"start_date": ["开始日期须在所填年度内。"]}


def test_well_formed_assignments_of_both_kinds_are_valid():
    # given
    village = VillageFactory()

    # when / then: neither raises
    _assignment(village=village).full_clean()
    _assignment(kind=Assignment.Kind.TOWNSHIP, township=village.township).full_clean()


def test_cadre_cannot_be_linked_to_the_same_village_twice_in_a_year():
    # given
    existing = AssignmentFactory()
    duplicate = _assignment(cadre=existing.cadre, village=existing.village)

    # when
    errors = _errors(duplicate)

    # then
    assert errors == {NON_FIELD_ERRORS: ["该干部本年度已联系此村(社区)。"]}


# ----- roles -----


@pytest.mark.parametrize(
    "role, area",
    [
        (UserRole.Role.COUNTY_OFFICIAL, None),
        (UserRole.Role.TOWNSHIP_OFFICIAL, "county"),
        (UserRole.Role.CITY_ADMIN, "county"),
        (UserRole.Role.CADRE, "township"),
    ],
)
def test_user_role_area_must_match_the_role(role, area):
    # given
    township = TownshipFactory()
    values = {"county": township.county} if area == "county" else {}
    if area == "township":
        values = {"township": township}
    user_role = UserRole(user=UserFactory(), role=role, **values)

    # when
    errors = _errors(user_role)

    # then
    assert errors == {
        NON_FIELD_ERRORS: ["县级干部须指定县(市、区)，乡级干部须指定乡镇，其他角色不指定辖区。"]
    }
    with pytest.raises(IntegrityError), transaction.atomic():
        user_role.save()
