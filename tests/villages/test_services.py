"""Writes: who may change what, validation on the way in, the audit trail, and exports."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from openpyxl import load_workbook

from core.excel import safe_cell
from core.models import ExportJob
from tests.factories import UserFactory, VillageFactory
from villages import selectors
from villages.exports import VILLAGE_HEADERS
from villages.models import RosterEntry, UserRole, Village
from villages.services import (
    export_job_create,
    record_delete,
    record_save,
    roster_freeze,
    user_role_set,
)

pytestmark = pytest.mark.django_db


def _reload(obj):
    return type(obj).objects.get(pk=obj.pk)


# ----- record_save: who may write where -----


@pytest.mark.parametrize("label", ["a1v1", "b1v2"])
def test_city_admin_can_save_a_village_anywhere(area, city_admin, label):
    # given
    village = _reload(area.villages[label])
    village.households = 777

    # when
    record_save(actor=city_admin, instance=village)

    # then
    assert _reload(village).households == 777


def test_county_official_can_save_a_village_in_their_county(area, county_official):
    # given
    village = _reload(area.villages["a2v3"])
    village.secretary_name = "王书记"

    # when
    record_save(actor=county_official, instance=village)

    # then
    assert _reload(village).secretary_name == "王书记"


def test_county_official_can_create_a_village_in_their_county(area, county_official):
    # given
    township = area.townships["A1"]
    village = Village(code=f"{township.code}998", name="新建村", kind="village", township=township)

    # when
    record_save(actor=county_official, instance=village)

    # then
    assert Village.objects.filter(code=f"{township.code}998", township=township).exists()


def test_county_official_cannot_save_a_village_in_another_county(area, county_official):
    # given
    village = _reload(area.villages["b1v1"])
    village.households = 1

    # when / then
    with pytest.raises(PermissionDenied):
        record_save(actor=county_official, instance=village)
    assert _reload(village).households != 1


def test_county_official_cannot_create_a_village_in_another_county(area, county_official):
    # given
    township = area.townships["B1"]
    village = Village(code=f"{township.code}998", name="越界村", kind="village", township=township)

    # when / then
    with pytest.raises(PermissionDenied):
        record_save(actor=county_official, instance=village)
    assert not Village.objects.filter(name="越界村").exists()


def test_county_official_cannot_move_a_village_out_of_their_county(area, county_official):
    # given: a1v2 re-homed to township B1 (with a code that nests there)
    village = _reload(area.villages["a1v2"])
    village.township = area.townships["B1"]
    village.code = f"{area.townships['B1'].code}997"

    # when / then
    with pytest.raises(PermissionDenied):
        record_save(actor=county_official, instance=village)
    assert _reload(village).township == area.townships["A1"]


def test_county_official_cannot_pull_a_village_into_their_county(area, county_official):
    # given: b1v2 (county B) re-homed to township A1 by county A's official
    village = _reload(area.villages["b1v2"])
    village.township = area.townships["A1"]
    village.code = f"{area.townships['A1'].code}997"

    # when / then
    with pytest.raises(PermissionDenied):
        record_save(actor=county_official, instance=village)
    assert _reload(village).township == area.townships["B1"]


@pytest.mark.parametrize(
    "who", ["city_viewer", "township_official", "cadre_user", "no_role_user", "anonymous"]
)
def test_read_only_roles_cannot_save(area, users, who):
    # given: a village every one of them can see or not, it does not matter
    village = _reload(area.villages["a1v1"])
    village.households = 1

    # when / then
    with pytest.raises(PermissionDenied):
        record_save(actor=users[who], instance=village)
    assert _reload(village).households != 1


def test_record_save_surfaces_validation_errors_and_writes_nothing(area, county_official):
    # given: a code that does not nest under the village's township
    village = _reload(area.villages["a1v1"])
    old_code = village.code
    village.code = f"{area.townships['A2'].code}001"
    history_before = village.history.count()

    # when
    with pytest.raises(ValidationError) as excinfo:
        record_save(actor=county_official, instance=village)

    # then
    assert "必须以所属乡镇的代码" in excinfo.value.message_dict["code"][0]
    assert _reload(village).code == old_code
    assert village.history.count() == history_before


# ----- record_save / record_delete: the audit trail -----


def test_record_save_records_the_actor_in_history(area, county_official):
    # given
    village = _reload(area.villages["a1v3"])
    village.population = 4321

    # when
    record_save(actor=county_official, instance=village)

    # then
    latest = village.history.latest()
    assert latest.history_type == "~"
    assert latest.history_user == county_official
    assert latest.population == 4321


def test_record_save_records_the_actor_on_create(area, city_admin):
    # given
    township = area.townships["B1"]
    village = Village(code=f"{township.code}996", name="审计村", kind="village", township=township)

    # when
    record_save(actor=city_admin, instance=village)

    # then
    (created,) = village.history.all()
    assert created.history_type == "+"
    assert created.history_user == city_admin


def test_record_delete_is_scoped_and_audited(area, city_admin, county_official):
    # given: a village with nothing pointing at it, in county B
    village = VillageFactory(township=area.townships["B1"])
    village_id = village.pk

    # when / then: county A's official may not delete it
    with pytest.raises(PermissionDenied):
        record_delete(actor=county_official, instance=village)
    assert Village.objects.filter(pk=village.pk).exists()

    # when: the city admin does
    record_delete(actor=city_admin, instance=village)

    # then
    assert not Village.objects.filter(pk=village_id).exists()
    deleted = Village.history.filter(id=village_id).latest()
    assert deleted.history_type == "-"
    assert deleted.history_user == city_admin


# ----- rosters -----


def test_city_admin_freezes_a_roster_once(area, city_admin):
    # given
    roster = area.roster

    # when
    roster_freeze(actor=city_admin, roster=roster)
    first_frozen_at = _reload(roster).frozen_at
    roster_freeze(actor=city_admin, roster=_reload(roster))

    # then
    assert _reload(roster).is_frozen is True
    assert first_frozen_at is not None
    assert _reload(roster).frozen_at == first_frozen_at


@pytest.mark.parametrize("who", ["city_viewer", "county_official", "township_official"])
def test_only_city_admin_may_freeze_a_roster(area, users, who):
    # when / then
    with pytest.raises(PermissionDenied):
        roster_freeze(actor=users[who], roster=area.roster)
    assert _reload(area.roster).is_frozen is False


def test_frozen_roster_entries_cannot_be_changed(area, city_admin):
    # given
    roster_freeze(actor=city_admin, roster=area.roster)
    entry = RosterEntry.objects.get(pk=area.entries["a1v1"].pk)
    entry.branch = area.branches["a1v2"]

    # when / then
    with pytest.raises(ValidationError, match="2024年度名册已冻结"):
        record_save(actor=city_admin, instance=entry)
    assert _reload(entry).branch == area.branches["a1v1"]


def test_open_roster_entries_can_be_changed(area, county_official):
    # given
    entry = RosterEntry.objects.get(pk=area.entries["a1v1"].pk)
    entry.branch = area.branches["a1v2"]

    # when
    record_save(actor=county_official, instance=entry)

    # then
    assert _reload(entry).branch == area.branches["a1v2"]


# ----- roles -----


def test_city_admin_sets_a_role_and_the_new_scope_applies_at_once(area, city_admin, no_role_user):
    # given: the user's (empty) scope has already been resolved and memoised
    assert not selectors.village_list_for_user(user=no_role_user).exists()

    # when
    user_role = user_role_set(
        actor=city_admin,
        user=no_role_user,
        role=UserRole.Role.COUNTY_OFFICIAL,
        county=area.county_b,
    )

    # then
    assert _reload(user_role).county == area.county_b
    assert user_role.history.latest().history_user == city_admin
    visible = set(selectors.village_list_for_user(user=no_role_user))
    assert visible == {area.villages["b1v1"], area.villages["b1v2"]}


def test_user_role_set_replaces_an_existing_role(area, city_admin, county_official):
    # when
    user_role_set(
        actor=city_admin,
        user=county_official,
        role=UserRole.Role.TOWNSHIP_OFFICIAL,
        township=area.townships["A2"],
    )

    # then
    (role,) = UserRole.objects.filter(user=county_official)
    assert (role.role, role.county, role.township) == (
        "township_official",
        None,
        area.townships["A2"],
    )


@pytest.mark.parametrize("who", ["city_viewer", "county_official", "township_official"])
def test_only_city_admin_may_set_roles(area, users, who, no_role_user):
    # when / then
    with pytest.raises(PermissionDenied):
        user_role_set(actor=users[who], user=no_role_user, role=UserRole.Role.CITY_ADMIN)
    assert not UserRole.objects.filter(user=no_role_user).exists()


def test_user_role_set_rejects_a_role_without_its_area(area, city_admin, no_role_user):
    # when / then: a county official needs a county
    with pytest.raises(ValidationError) as excinfo:
        user_role_set(actor=city_admin, user=no_role_user, role=UserRole.Role.COUNTY_OFFICIAL)
    assert "县级干部须指定县(市、区)" in str(excinfo.value)
    assert not UserRole.objects.filter(user=no_role_user).exists()


# ----- exports -----


def _run_export(actor, django_capture_on_commit_callbacks, params=None) -> ExportJob:
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        job = export_job_create(actor=actor, kind="villages", params=params)
    assert len(callbacks) == 1  # the worker is only asked once the job row is committed
    return _reload(job)


def _sheet_rows(job: ExportJob) -> list[tuple]:
    with job.file.open("rb") as fh:
        sheet = load_workbook(fh, read_only=True).active
        return [tuple(cell.value for cell in row) for row in sheet.iter_rows()]


def test_export_job_builds_a_workbook_of_the_actors_villages(
    area, county_official, django_capture_on_commit_callbacks
):
    # when
    job = _run_export(county_official, django_capture_on_commit_callbacks)

    # then: the job is finished ...
    assert (job.state, job.progress, job.row_count) == (ExportJob.State.DONE, 100, 6)
    assert job.finished_at is not None and job.file.name.endswith(".xlsx")
    # ... and the sheet holds county A's six villages and nothing of county B
    header, *rows = _sheet_rows(job)
    assert header == VILLAGE_HEADERS
    codes = {row[3] for row in rows}
    assert codes == {v.code for label, v in area.villages.items() if label[0] == "a"}
    assert {row[0] for row in rows} == {"甲县"}


def test_export_job_for_city_admin_holds_every_village(
    area, city_admin, django_capture_on_commit_callbacks
):
    # when
    job = _run_export(city_admin, django_capture_on_commit_callbacks)

    # then
    header, *rows = _sheet_rows(job)
    assert job.row_count == len(rows) == 8
    assert {row[0] for row in rows} == {"甲县", "乙县"}


def test_export_job_for_a_cadre_holds_only_their_village(
    area, cadre_user, django_capture_on_commit_callbacks
):
    # when
    job = _run_export(cadre_user, django_capture_on_commit_callbacks)

    # then
    header, *rows = _sheet_rows(job)
    assert [row[3] for row in rows] == [area.villages["a1v1"].code]


def test_export_job_applies_filters_within_the_scope(
    area, county_official, django_capture_on_commit_callbacks
):
    # when: a filter on the official's own township
    own = _run_export(
        county_official, django_capture_on_commit_callbacks, {"township": area.townships["A1"].pk}
    )

    # then: it narrows to A1
    assert {row[3] for row in _sheet_rows(own)[1:]} == {
        area.villages[label].code for label in ("a1v1", "a1v2", "a1v3")
    }


def test_export_job_refuses_a_filter_outside_the_scope(area, county_official):
    # when / then: naming another county's id is refused, never silently widened or narrowed
    with pytest.raises(ValidationError) as exc:
        export_job_create(
            actor=county_official, kind="villages", params={"county": area.county_b.pk}
        )
    assert "county" in exc.value.message_dict
    assert not ExportJob.objects.exists()


def test_export_job_neutralises_formulas_in_cells(
    area, city_admin, django_capture_on_commit_callbacks
):
    # given: text that a spreadsheet would run as a formula
    village = _reload(area.villages["b1v1"])
    village.name = '=HYPERLINK("http://x")'
    village.secretary_name = "@SUM(A1)"
    village.secretary_phone = "+8613800000000"
    village.save()

    # when
    job = _run_export(city_admin, django_capture_on_commit_callbacks)

    # then: stored as plain text with a leading apostrophe
    (row,) = [row for row in _sheet_rows(job)[1:] if row[3] == village.code]
    assert row[2] == '\'=HYPERLINK("http://x")'
    assert row[7] == "'@SUM(A1)"
    assert row[8] == "'+8613800000000"


def test_export_job_create_rejects_unknown_kinds_and_users_without_role(
    area, city_admin, no_role_user
):
    # when / then
    with pytest.raises(ValidationError) as excinfo:
        export_job_create(actor=city_admin, kind="nonsense")
    assert "kind" in excinfo.value.message_dict
    with pytest.raises(PermissionDenied):
        export_job_create(actor=no_role_user, kind="villages")
    assert not ExportJob.objects.exists()


def test_export_job_create_drops_empty_params_and_the_page(area, city_admin):
    # when
    job = export_job_create(
        actor=city_admin, kind="villages", params={"q": "甲", "kind": "", "page": 3, "x": None}
    )

    # then: stored, not yet run (on_commit has not fired inside the test transaction)
    assert job.params == {"q": "甲"}
    assert _reload(job).state == ExportJob.State.PENDING


@pytest.mark.parametrize(
    "value, expected",
    [
        ("=1+1", "'=1+1"),
        ("+86 138", "'+86 138"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1:A2)", "'@SUM(A1:A2)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("张桥镇", "张桥镇"),
        ("1=1", "1=1"),
        ("", ""),
        (-5, -5),
        (3.5, 3.5),
        (None, None),
    ],
)
def test_safe_cell(value, expected):
    # when / then
    assert safe_cell(value) == expected


def test_export_job_failure_is_recorded_on_the_job(
    area, city_admin, django_capture_on_commit_callbacks, monkeypatch
):
    # given: the workbook writer breaks
    def broken_write(*args, **kwargs):
        raise OSError("磁盘已满")

    monkeypatch.setattr("core.jobs._write", broken_write)

    # when: the task propagates the error (eager mode) ...
    with pytest.raises(OSError), django_capture_on_commit_callbacks(execute=True):
        export_job_create(actor=city_admin, kind="villages")

    # then: ... and the job row says, in Chinese, that it failed (the details go to the log)
    job = ExportJob.objects.get(user=city_admin)
    assert job.state == ExportJob.State.FAILED
    assert job.error == "生成文件时出错，请稍后重试。"
    assert job.finished_at is not None and not job.file


def test_export_jobs_are_visible_only_to_their_creator(area, county_official):
    # given
    stranger = UserFactory()

    # when
    job = export_job_create(actor=county_official, kind="villages")

    # then
    assert job.user == county_official
    assert not selectors.export_job_list_for_user(user=stranger).exists()


@pytest.mark.parametrize(
    "params", [{"q\x00": "甲"}, {"q": "甲\x00"}, {"\ud800": "甲"}, {"x": "\udfff"}]
)
def test_export_job_create_refuses_params_no_database_can_keep(area, city_admin, params):
    # a NUL byte in a filter's name made PostgreSQL fail the insert (a 500 from the API)
    with pytest.raises(ValidationError) as excinfo:
        export_job_create(actor=city_admin, kind="villages", params=params)

    assert excinfo.value.message_dict["params"] == ["筛选条件中含有无法保存的字符（如空字符）。"]
    assert not ExportJob.objects.exists()
