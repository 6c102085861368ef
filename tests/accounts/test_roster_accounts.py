"""Logins from the rosters (issue 16, point 1): the cadre roster (import kind "cadres")
opens or links one login per cadre, the role roster (kind "roles") one per official; a
re-import changes nothing; who left the roster is deactivated (never deleted) and comes
back reactivated; a phone, login name or 工号 that is another person's is a row error; the
number of queries does not grow with the rows.

Worlds: `roster_world` (below) is an empty portal but for its areas (甲县 with 甲一镇 and
甲二镇, three villages each; 乙县 with 乙一镇) and a city admin; the role tests use the
`area` world of tests/conftest.py (甲县: A1, A2; 乙县: B1) and its logins.
"""

import datetime
import sqlite3
from io import BytesIO
from types import SimpleNamespace

import pytest
from django.contrib.auth import get_user_model
from django.core.exceptions import ImproperlyConfigured, PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from openpyxl import load_workbook

from accounts.import_kinds import CadreLoginSheet, RoleSheet
from accounts.models import Account, AccountEvent, UserSession
from accounts.rosters import LEFT_ROSTER
from accounts.selectors import accounts_awaiting_first_password
from core.exports import EXPORT_KINDS
from core.exports import register as register_export
from core.importing.engine import KINDS, NEW, UNCHANGED, register
from core.models import ExportJob, ImportJob
from tests.factories import (
    AssignmentFactory,
    CadreFactory,
    CountyFactory,
    TownshipFactory,
    UserFactory,
    UserRoleFactory,
    VillageFactory,
)
from tests.imports.builders import (
    CADRE_HEADERS,
    as_upload,
    cadre_values,
    city_admin_user,
    commit_plan,
    county_official_user,
    issue_strings,
    ordered,
    plan_of,
    xlsx_bytes,
)
from villages.models import Assignment, Cadre, UserRole
from villages.services import export_job_create, import_job_create, import_job_run_now

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.filterwarnings("ignore:No directory at:UserWarning"),
]

D = datetime.date
User = get_user_model()
STAFF_HEADERS = (*CADRE_HEADERS, "工号")
ROLE_HEADERS = ("姓名", "手机号", "角色", "辖区", "工号")


# ----- builders -----


@pytest.fixture
def roster_world():
    county_a = CountyFactory(name="甲县")
    county_b = CountyFactory(name="乙县")
    townships = {
        "A1": TownshipFactory(county=county_a, name="甲一镇"),
        "A2": TownshipFactory(county=county_a, name="甲二镇"),
        "B1": TownshipFactory(county=county_b, name="乙一镇"),
    }
    villages = {
        f"{label.lower()}v{i}": VillageFactory(township=t, name=f"{t.name}{i}村")
        for label, t in townships.items()
        for i in (1, 2, 3)
    }
    return SimpleNamespace(
        county_a=county_a,
        county_b=county_b,
        townships=townships,
        villages=villages,
        admin=city_admin_user("roster_admin"),
    )


def _cadres(rows, headers=CADRE_HEADERS) -> bytes:
    return xlsx_bytes([ordered(r, headers) for r in rows], headers=list(headers))


def _roles(rows) -> bytes:
    return xlsx_bytes([[r.get(h) for h in ROLE_HEADERS] for r in rows], headers=list(ROLE_HEADERS))


def _demo_rows(w) -> list[dict]:
    """A demo-like roster for 2024: five cadres on eight rows (联乡 and 帮村, some
    cadres with two places), all in 甲县."""
    v, t = w.villages, w.townships

    def row(name, phone, code, kind="帮村", **more):
        return cadre_values(
            姓名=name,
            手机号=phone,
            联系点区划代码=code,
            联系类型=kind,
            派出单位="市农业农村局",
            **more,
        )

    return [
        row("张一", "13800000001", t["A1"].code, "联乡"),
        row("张一", "13800000001", v["a1v1"].code),
        row("李二", "13800000002", v["a1v2"].code),
        row("王三", "13800000003", v["a1v3"].code),
        row("王三", "13800000003", v["a2v1"].code),
        row("赵四", "13800000004", t["A2"].code, "联乡"),
        row("钱五", "13800000005", v["a2v2"].code),
        row("钱五", "13800000005", v["a2v3"].code),
    ]


def _run(actor, kind, data, **kwargs) -> ImportJob:
    job = import_job_run_now(actor=actor, kind=kind, upload=as_upload(data), **kwargs)
    assert job.state == ImportJob.State.DONE, (job.error, job.preview.get("issues"))
    return job


def _history_counts() -> dict:
    return {
        "users": User.history.count(),
        "accounts": Account.history.count(),
        "roles": UserRole.history.count(),
        "cadres": Cadre.history.count(),
        "assignments": Assignment.history.count(),
        "events": AccountEvent.objects.count(),
    }


def _notes(plan) -> list[str]:
    return [note["text"] for note in plan.notes]


def _note(plan, prefix: str) -> dict:
    return next(note for note in plan.notes if note["text"].startswith(prefix))


# ----- the registry -----


def test_the_cadre_sheet_is_replaced_by_the_login_opening_one_explicitly():
    # given: the apps are loaded

    # then
    assert type(KINDS["cadres"]) is CadreLoginSheet
    assert type(KINDS["roles"]) is RoleSheet
    assert EXPORT_KINDS["cadres"].headers[-1] == "工号"
    with pytest.raises(ImproperlyConfigured, match="replace=True"):
        register(CadreLoginSheet())
    with pytest.raises(ImproperlyConfigured, match="尚未注册"):
        register(type("Nowhere", (RoleSheet,), {"key": "nowhere"})(), replace=True)
    with pytest.raises(ImproperlyConfigured, match="replace=True"):
        register_export(EXPORT_KINDS["roles"])


# ----- the cadre roster -----


def test_demo_like_roster_on_an_empty_portal_opens_one_login_per_cadre(roster_world):
    # given
    w = roster_world
    assert not Account.objects.exists()

    # when
    job = _run(w.admin, "cadres", _cadres(_demo_rows(w)))

    # then
    cadres = Cadre.objects.select_related("user__account", "user__portal_role")
    assert cadres.count() == 5
    for cadre in cadres:
        user = cadre.user
        assert user is not None, cadre.name
        assert (user.username, user.first_name, user.is_active) == (cadre.phone, cadre.name, True)
        assert not user.has_usable_password()
        assert (user.account.phone, user.account.source) == (cadre.phone, "cadre_roster")
        assert user.account.first_password_issued_at is None
        assert user.portal_role.role == UserRole.Role.CADRE
    assert User.objects.count() == 6  # the admin and five cadres
    assert job.summary["accounts_created"] == 5
    assert "新建账号 5 个" in job.summary["notes"]
    created = AccountEvent.objects.filter(kind=AccountEvent.Kind.CREATED)
    assert created.count() == 5
    assert set(created.values_list("actor", flat=True)) == {w.admin.pk}
    assert set(created.values_list("county_id_at", flat=True)) == {w.county_a.pk}
    assert User.history.filter(history_user=w.admin, history_type="+").count() == 5
    assert accounts_awaiting_first_password(user=w.admin).count() == 5


def test_preview_page_shows_the_new_accounts_before_confirming(
    roster_world, client, login, django_capture_on_commit_callbacks
):
    # given
    w = roster_world
    with django_capture_on_commit_callbacks(execute=True):
        job = import_job_create(
            actor=w.admin,
            kind="cadres",
            upload=SimpleUploadedFile("干部.xlsx", _cadres(_demo_rows(w))),
        )
    login(client, w.admin)

    # when
    html = client.get(f"/imports/{job.pk}/").content.decode()

    # then
    job.refresh_from_db()
    assert job.state == ImportJob.State.PREVIEWED
    assert "新建账号 5 个" in html
    assert "张一（13800000001）" in html
    assert not User.objects.filter(username="13800000001").exists()


def test_a_cadre_with_a_login_is_linked_not_duplicated(roster_world):
    # given: 李二 is on file with a login of their own (no account yet), and 王三's
    # login exists under their phone but is not linked to a cadre record
    w = roster_world
    li = CadreFactory(name="李二", phone="13800000002", user=UserFactory(username="li_er"))
    UserRoleFactory(user=li.user, role=UserRole.Role.CADRE)
    wang = UserFactory(username="13800000003", first_name="王三")

    # when
    plan, ctx = plan_of("cadres", _cadres(_demo_rows(w)), actor=w.admin)
    written = commit_plan(plan, ctx)

    # then
    assert plan.issues == []
    assert _notes(plan)[:2] == ["新建账号 3 个", "关联已有账号 1 个"]
    assert written["accounts_created"] == 3 and written["accounts_linked"] == 1
    li.refresh_from_db()
    assert li.user.username == "li_er"
    assert li.user.account.phone == "13800000002"
    assert li.user.account.first_password_issued_at is not None  # keeps their password
    assert Cadre.objects.get(phone="13800000003").user == wang
    assert Account.objects.get(user=wang).phone == "13800000003"
    assert UserRole.objects.get(user=wang).role == UserRole.Role.CADRE
    assert User.objects.count() == 1 + 5


def test_reimporting_the_same_roster_changes_nothing(roster_world):
    # given
    w = roster_world
    data = _cadres(_demo_rows(w))
    _run(w.admin, "cadres", data)
    before = _history_counts()

    # when
    plan, _ = plan_of("cadres", data, actor=w.admin)
    job = _run(w.admin, "cadres", data)

    # then
    assert {item.status for item in plan.items} == {UNCHANGED}
    assert plan.notes == []
    assert job.summary["notes"] == []
    assert _history_counts() == before


def test_a_cadre_who_left_is_deactivated_kept_and_reactivated_when_back(roster_world):
    # given: the roster of 2024, then the same roster without 王三
    w = roster_world
    rows = _demo_rows(w)
    _run(w.admin, "cadres", _cadres(rows))
    wang = Cadre.objects.get(phone="13800000003")
    session = UserSession.objects.create(user=wang.user, session_key="wang-phone")
    without = [r for r in rows if r["姓名"] != "王三"]

    # when
    plan, _ = plan_of("cadres", _cadres(without), actor=w.admin)
    job = _run(w.admin, "cadres", _cadres(without))

    # then: the preview named them, the login is off, nothing is deleted
    leaving = _note(plan, "停用账号")
    assert leaving["text"].startswith("停用账号 1 个")
    assert leaving["names"] == ["王三（13800000003）"]
    assert job.summary["accounts_deactivated"] == 1
    wang.refresh_from_db()
    assert wang.user.is_active is False
    assert wang.user.account.status_reason == LEFT_ROSTER
    assert wang.assignments.count() == 2
    session.refresh_from_db()
    assert session.ended_at is not None  # signed out everywhere
    event = AccountEvent.objects.get(kind=AccountEvent.Kind.DEACTIVATED)
    assert (event.user, event.reason, event.actor) == (wang.user, LEFT_ROSTER, w.admin)

    # when: they are back on the roster
    back, _ = plan_of("cadres", _cadres(rows), actor=w.admin)
    again = _run(w.admin, "cadres", _cadres(rows))

    # then
    assert _note(back, "恢复账号")["names"] == ["王三（13800000003）"]
    assert again.summary["accounts_reactivated"] == 1
    wang.user.refresh_from_db()
    assert wang.user.is_active is True
    assert AccountEvent.objects.filter(kind=AccountEvent.Kind.REACTIVATED).count() == 1


def test_leaving_the_roster_is_decided_narrowly(roster_world):
    # given: a roster of 甲一镇 for 2024 (张一 and 李二), and cadres with logins who are
    # not on it: 周 (only in 甲一镇: leaves), 吴 (also in 甲二镇, which the file does not
    # cover), 郑 (only in 乙一镇), 冯 (2025 in 甲二镇), 陈 (named on a row with an error)
    w = roster_world
    v = w.villages
    _run(w.admin, "cadres", _cadres(_demo_rows(w)[:3]))

    def cadre_with_login(name, *places):
        cadre = CadreFactory(name=name, user=UserFactory(username=f"u_{name}", first_name=name))
        UserRoleFactory(user=cadre.user, role=UserRole.Role.CADRE)
        for village, year in places:
            AssignmentFactory(cadre=cadre, village=village, year=year)
        return cadre

    zhou = cadre_with_login("周", (v["a1v2"], 2024))
    wu = cadre_with_login("吴", (v["a1v3"], 2024), (v["a2v1"], 2024))
    zheng = cadre_with_login("郑", (v["b1v1"], 2024))
    feng = cadre_with_login("冯", (v["a1v1"], 2024), (v["a2v2"], 2025))
    chen = cadre_with_login("陈", (v["a1v3"], 2024))
    rows = _demo_rows(w)[:3] + [
        cadre_values(姓名="陈", 手机号=chen.phone, 联系点区划代码="12345", 派出单位="市农业农村局")
    ]

    # when
    plan, ctx = plan_of("cadres", _cadres(rows), actor=w.admin, filename="roster.xlsx")
    commit_plan(plan, ctx)

    # then
    assert [i.row for i in plan.issues] == [5]
    assert _note(plan, "停用账号")["names"] == [f"周（{zhou.user.username}）"]
    assert User.objects.get(pk=zhou.user_id).is_active is False
    for kept in (wu, zheng, feng, chen):
        assert User.objects.get(pk=kept.user_id).is_active is True, kept.name


def test_a_cadre_deactivated_by_an_official_stays_off_and_is_listed(roster_world):
    # given
    w = roster_world
    _run(w.admin, "cadres", _cadres(_demo_rows(w)))
    user = User.objects.get(username="13800000002")
    User.objects.filter(pk=user.pk).update(is_active=False)
    Account.objects.filter(user=user).update(status_reason="调离")

    # when
    plan, ctx = plan_of("cadres", _cadres(_demo_rows(w)), actor=w.admin)
    commit_plan(plan, ctx)

    # then
    assert _note(plan, "已停用的账号 1 个")["names"] == ["李二（13800000002）"]
    assert User.objects.get(pk=user.pk).is_active is False


# ----- clashes (bad input) -----


def test_cadre_row_whose_phone_is_an_officials_login_is_refused_naming_it(roster_world):
    # given: 13800000002 is the phone of a township official's account
    w = roster_world
    official = UserFactory(username="zhen_li", first_name="李镇长")
    UserRoleFactory(user=official, role=UserRole.Role.TOWNSHIP_OFFICIAL, township=w.townships["A1"])
    Account.objects.create(user=official, phone="13800000002")
    before = _history_counts()

    # when
    plan, ctx = plan_of("cadres", _cadres(_demo_rows(w)), actor=w.admin)

    # then
    assert issue_strings(plan) == [
        "第4行 手机号: 手机号 13800000002 已属于另一个人的账号：登录名 zhen_li（李镇长，乡级干部）"
        "；该账号不是帮扶干部的账号。本行不能覆盖它"
    ]
    commit_plan(plan, ctx)  # valid rows only
    official.refresh_from_db()
    assert (official.first_name, official.portal_role.role) == ("李镇长", "township_official")
    assert not Cadre.objects.filter(phone="13800000002").exists()
    assert _history_counts()["users"] == before["users"] + 4


def test_cadre_row_whose_phone_is_another_persons_login_name_is_refused(roster_world):
    # given: a login named 13800000004 belongs to someone called 孙六
    w = roster_world
    UserFactory(username="13800000004", first_name="孙六")

    # when
    plan, _ = plan_of("cadres", _cadres(_demo_rows(w)), actor=w.admin)

    # then
    assert issue_strings(plan) == [
        "第7行 手机号: 登录名 13800000004 已属于另一个人的账号：登录名 13800000004（孙六）"
        "；该账号的姓名是“孙六”，不是“赵四”。本行不能覆盖它"
    ]


def test_role_row_whose_phone_is_a_cadres_is_refused(area, city_admin):
    # given
    cadre = area.cadres["a1v1"]

    # when
    plan, _ = plan_of(
        "roles",
        _roles([{"姓名": "某某", "手机号": cadre.phone, "角色": "市级查看"}]),
        actor=city_admin,
    )

    # then
    assert issue_strings(plan) == [
        f"第2行 手机号: 手机号 {cadre.phone} 已登记为帮扶干部 甲一干部；"
        "帮扶干部的账号由“帮扶干部及联系点”名册管理，不能覆盖"
    ]


def test_one_staff_no_for_two_people_names_both_rows(roster_world, settings):
    # given
    settings.ACCOUNT_USERNAME = "staff_no"
    w = roster_world
    rows = [
        {**r, "工号": "G001" if r["姓名"] in ("张一", "李二") else f"G{r['手机号'][-3:]}"}
        for r in _demo_rows(w)
    ]

    # when
    plan, _ = plan_of("cadres", _cadres(rows, STAFF_HEADERS), actor=w.admin)

    # then
    assert issue_strings(plan) == [
        "第2行 工号: 工号 G001 与第4行的李二（13800000002）重复",
        "第3行 工号: 工号 G001 与第4行的李二（13800000002）重复",
        "第4行 工号: 工号 G001 与第2、3行的张一（13800000001）重复",
    ]


def test_staff_no_of_another_persons_account_is_refused(roster_world):
    # given
    w = roster_world
    other = UserFactory(username="other", first_name="周七")
    Account.objects.create(user=other, phone="13900000009", staff_no="G777")
    rows = _demo_rows(w)[:1]
    rows[0]["工号"] = "G777"

    # when
    plan, _ = plan_of("cadres", _cadres(rows, STAFF_HEADERS), actor=w.admin)

    # then
    assert issue_strings(plan) == [
        "第2行 工号: 工号 G777 已属于另一个人的账号：登录名 other（周七）"
        "；该账号的姓名是“周七”，不是“张一”。本行不能覆盖它"
    ]


def test_a_county_official_is_not_told_whose_login_is_out_of_their_reach(roster_world):
    # given: the phone belongs to 乙县's county official
    w = roster_world
    official = county_official_user(w.county_a, username="jia_county")
    other = UserFactory(username="yi_county", first_name="乙县长")
    UserRoleFactory(user=other, role=UserRole.Role.COUNTY_OFFICIAL, county=w.county_b)
    Account.objects.create(user=other, phone="13800000004")

    # when
    plan, _ = plan_of("cadres", _cadres(_demo_rows(w)), actor=official, county=w.county_a)

    # then
    assert issue_strings(plan) == [
        "第7行 手机号: 手机号 13800000004 已被其他辖区的账号使用，请联系市级管理员处理"
    ]


def test_the_command_line_prints_the_account_lines_of_a_dry_run(roster_world, tmp_path):
    # given
    from io import StringIO

    from django.core.management import call_command

    path = tmp_path / "干部.xlsx"
    path.write_bytes(_cadres(_demo_rows(roster_world)))
    out = StringIO()

    # when
    call_command("import_roster", str(path), "--kind", "cadres", "--dry-run", stdout=out)

    # then
    assert "新建账号 5 个：张一（13800000001）、李二（13800000002）" in out.getvalue()
    assert not Account.objects.exists()


# ----- the username rule -----


def test_with_staff_no_logins_the_staff_no_is_the_username_and_required(roster_world, settings):
    # given
    settings.ACCOUNT_USERNAME = "staff_no"
    w = roster_world
    rows = [{**r, "工号": f"G{r['手机号'][-3:]}"} for r in _demo_rows(w)]
    rows[2]["工号"] = ""

    # when
    plan, ctx = plan_of("cadres", _cadres(rows, STAFF_HEADERS), actor=w.admin)
    commit_plan(plan, ctx)
    missing, _ = plan_of("cadres", _cadres(_demo_rows(w)), actor=w.admin)

    # then
    assert issue_strings(plan) == ["第4行 工号: 工号不能为空（本系统以工号作为登录名）"]
    user = User.objects.get(username="G001")
    assert (user.first_name, user.account.phone, user.account.staff_no) == (
        "张一",
        "13800000001",
        "G001",
    )
    assert issue_strings(missing) == ["缺少必填列：“工号”"]


def test_with_phone_logins_the_staff_no_is_optional_and_kept(roster_world):
    # given
    w = roster_world
    rows = _demo_rows(w)
    rows[0]["工号"] = rows[1]["工号"] = "G001"

    # when
    plan, ctx = plan_of("cadres", _cadres(rows, STAFF_HEADERS), actor=w.admin)
    commit_plan(plan, ctx)

    # then
    assert plan.issues == []
    assert Account.objects.get(phone="13800000001").staff_no == "G001"
    assert Account.objects.get(phone="13800000002").staff_no == ""


# ----- the role roster -----


def test_city_admin_imports_officials_with_their_roles(area, city_admin):
    # given
    rows = [
        {"姓名": "甲县长", "手机号": "13700000001", "角色": "县级干部", "辖区": area.county_a.code},
        {
            "姓名": "甲镇长",
            "手机号": "13700000002",
            "角色": "乡级干部",
            "辖区": area.townships["A1"].code,
        },
        {"姓名": "市查看", "手机号": "13700000003", "角色": "市级查看"},
    ]

    # when
    plan, ctx = plan_of("roles", _roles(rows), actor=city_admin)
    written = commit_plan(plan, ctx)

    # then
    assert plan.issues == [] and [i.status for i in plan.items] == [NEW] * 3
    assert _notes(plan) == ["新建账号 3 个"]
    assert written["accounts_created"] == 3
    roles = {
        r.user.first_name: (r.role, r.county, r.township)
        for r in UserRole.objects.filter(user__username__startswith="137").select_related("user")
    }
    assert roles == {
        "甲县长": ("county_official", area.county_a, None),
        "甲镇长": ("township_official", None, area.townships["A1"]),
        "市查看": ("city_viewer", None, None),
    }
    for user in User.objects.filter(username__startswith="137"):
        assert (user.account.source, user.is_staff, user.has_usable_password()) == (
            "role_roster",
            False,
            False,
        )
        assert user.portal_role.history.latest().history_user == city_admin


def test_county_official_imports_only_township_officials_of_their_county(area, county_official):
    # given
    rows = [
        {
            "姓名": "甲镇长",
            "手机号": "13700000002",
            "角色": "乡级干部",
            "辖区": area.townships["A1"].code,
        },
        {"姓名": "新县长", "手机号": "13700000004", "角色": "县级干部", "辖区": area.county_a.code},
        {
            "姓名": "乙镇长",
            "手机号": "13700000005",
            "角色": "乡级干部",
            "辖区": area.townships["B1"].code,
        },
        {"姓名": "市管", "手机号": "13700000006", "角色": "市级管理员"},
    ]

    # when
    plan, ctx = plan_of("roles", _roles(rows), actor=county_official, county=area.county_a)
    commit_plan(plan, ctx)

    # then
    assert issue_strings(plan) == [
        "第3行 角色: 县级干部只能导入本县(市、区)乡级干部的账号，不能导入“县级干部”",
        f"第4行 辖区: 乡镇(街道)代码 {area.townships['B1'].code} 不存在或不在您的辖区内",
        "第5行 角色: 县级干部只能导入本县(市、区)乡级干部的账号，不能导入“市级管理员”",
    ]
    made = User.objects.get(username="13700000002")
    assert (made.portal_role.role, made.portal_role.township) == (
        "township_official",
        area.townships["A1"],
    )
    assert not User.objects.filter(username__in=["13700000004", "13700000005"]).exists()


def test_the_service_refuses_a_county_officials_role_out_of_reach(area, county_official):
    # given: a plan made by a city admin, committed as the county official
    from accounts.rosters import Login
    from accounts.services import roster_logins_write

    login = Login(
        phone="13700000009",
        name="越权",
        staff_no="",
        rows=[2],
        county_id=area.county_b.pk,
        role=UserRole.Role.TOWNSHIP_OFFICIAL,
        township=area.townships["B1"],
        set_role=True,
    )

    # when / then
    with pytest.raises(PermissionDenied):
        roster_logins_write(
            actor=county_official, logins=[login], leaving=[], source="role_roster", reason="x"
        )
    assert not User.objects.filter(username="13700000009").exists()


@pytest.mark.parametrize("who", ["cadre_user", "township_official", "city_viewer"])
def test_others_may_not_import_the_role_roster(client, login, users, who):
    # given
    login(client, users[who])

    # when / then
    assert client.get("/imports/").status_code == 403
    assert client.get("/imports/templates/roles/").status_code == 403
    with pytest.raises(PermissionDenied):
        import_job_create(
            actor=users[who],
            kind="roles",
            upload=SimpleUploadedFile("r.xlsx", _roles([{"姓名": "x"}])),
        )


def test_import_page_offers_the_role_roster_and_its_template(client, login, county_official):
    # given
    login(client, county_official)

    # when
    page = client.get("/imports/").content.decode()
    template = client.get("/imports/templates/roles/")

    # then
    assert '<option value="roles"' in page and "干部账号与角色" in page
    assert 'action="/exports/new/roles/"' in page
    assert template.status_code == 200
    sheet = load_workbook(BytesIO(template.content)).worksheets[0]
    assert [c.value for c in sheet[1]] == list(ROLE_HEADERS)


def test_role_roster_errors_get_the_annotated_workbook(
    area, city_admin, client, login, django_capture_on_commit_callbacks
):
    # given
    data = _roles([{"姓名": "甲县长", "手机号": "13700000001", "角色": "县级干部", "辖区": "999"}])
    with django_capture_on_commit_callbacks(execute=True):
        job = import_job_create(
            actor=city_admin, kind="roles", upload=SimpleUploadedFile("r.xlsx", data)
        )
    login(client, city_admin)

    # when
    response = client.get(f"/imports/{job.pk}/annotated/")

    # then
    assert response.status_code == 200
    sheet = load_workbook(BytesIO(b"".join(response.streaming_content))).active
    assert sheet.cell(row=1, column=6).value == "错误说明"
    assert "辖区" in sheet.cell(row=2, column=6).value


def test_role_roster_reimport_is_unchanged_and_left_officials_are_deactivated(
    area, city_admin, township_official
):
    # given: township_official (of A1, by hand) and an official of B1; a roster of two
    # township officials of A1 and one of A2
    b1 = UserFactory(username="b1_official", first_name="乙一干部")
    UserRoleFactory(user=b1, role=UserRole.Role.TOWNSHIP_OFFICIAL, township=area.townships["B1"])

    def official(name, phone, township):
        return {"姓名": name, "手机号": phone, "角色": "乡级干部", "辖区": township.code}

    rows = [
        official("甲一甲", "13700000011", area.townships["A1"]),
        official("甲一乙", "13700000012", area.townships["A1"]),
        official("甲二甲", "13700000021", area.townships["A2"]),
    ]

    # when
    first, _ = plan_of("roles", _roles(rows), actor=city_admin)
    _run(city_admin, "roles", _roles(rows))

    # then: A1's roster does not list township_official: they left it; B1 is not covered
    assert _note(first, "停用账号")["names"] == [f"{township_official.first_name}（township_a1）"]
    assert User.objects.get(pk=township_official.pk).is_active is False
    assert User.objects.get(pk=b1.pk).is_active is True
    before = _history_counts()

    # when: the same file again
    same, _ = plan_of("roles", _roles(rows), actor=city_admin)
    _run(city_admin, "roles", _roles(rows))

    # then
    assert {i.status for i in same.items} == {UNCHANGED} and same.notes == []
    assert _history_counts() == before

    # when: A1's roster without 甲一乙 (A2's officials are not in the file)
    plan, _ = plan_of("roles", _roles(rows[:1]), actor=city_admin)
    _run(city_admin, "roles", _roles(rows[:1]))

    # then
    assert _note(plan, "停用账号")["names"] == ["甲一乙（13700000012）"]
    assert User.objects.get(username="13700000012").is_active is False
    assert User.objects.get(username="13700000021").is_active is True

    # when: back on the roster, in another township
    rows[1] = {**rows[1], "辖区": area.townships["A2"].code}
    back, _ = plan_of("roles", _roles(rows), actor=city_admin)
    _run(city_admin, "roles", _roles(rows))

    # then
    [item] = [i for i in back.items if i.data["phone"] == "13700000012"]
    assert set(item.changes) == {"角色", "账号状态"}
    user = User.objects.get(username="13700000012")
    assert (user.is_active, user.portal_role.township) == (True, area.townships["A2"])
    assert User.objects.get(pk=township_official.pk).is_active is False  # not on the roster


def test_role_roster_refuses_an_existing_login_of_another_person(area, city_admin):
    # given: the county official of 甲县 has the phone 13700000001 on their account
    official = UserFactory(username="jia_xian", first_name="甲县长")
    UserRoleFactory(user=official, role=UserRole.Role.COUNTY_OFFICIAL, county=area.county_a)
    Account.objects.create(user=official, phone="13700000001")
    rows = [
        {"姓名": "甲县长", "手机号": "13700000001", "角色": "县级干部", "辖区": area.county_a.code},
        {"姓名": "冒名", "手机号": "13700000001", "角色": "市级查看"},
    ]

    # when
    plan, _ = plan_of("roles", _roles(rows[1:]), actor=city_admin)
    same, _ = plan_of("roles", _roles(rows[:1]), actor=city_admin)

    # then: another name is a clash; the same person is matched, unchanged
    assert issue_strings(plan) == [
        "第2行 手机号: 手机号 13700000001 已属于另一个人的账号：登录名 jia_xian（甲县长，县级干部）"
        "；该账号的姓名是“甲县长”，不是“冒名”。本行不能覆盖它"
    ]
    assert [(i.status, i.target) for i in same.items] == [(UNCHANGED, official)]


def test_exported_role_roster_reimports_unchanged(
    area, city_admin, django_capture_on_commit_callbacks
):
    # given: officials opened by the roster, then exported
    rows = [
        {"姓名": "甲县长", "手机号": "13700000001", "角色": "县级干部", "辖区": area.county_a.code},
        {
            "姓名": "甲镇长",
            "手机号": "13700000002",
            "角色": "乡级干部",
            "辖区": area.townships["A1"].code,
        },
    ]
    _run(city_admin, "roles", _roles(rows))
    with django_capture_on_commit_callbacks(execute=True):
        export = export_job_create(actor=city_admin, kind="roles")
    export.refresh_from_db()
    assert export.state == ExportJob.State.DONE
    with export.file.open("rb") as fh:
        data = fh.read()

    # when
    plan, _ = plan_of("roles", data, actor=city_admin)

    # then
    assert plan.issues == []
    assert [(i.data["phone"], i.status) for i in plan.items] == [
        ("13700000001", UNCHANGED),
        ("13700000002", UNCHANGED),
    ]


# ----- queries do not grow with the rows -----


@pytest.fixture
def real_sqlite_parameter_limit(monkeypatch):
    """As in tests/imports/test_query_counts.py: on SQLite, let Django use the parameter
    limit of the library it runs on, so a bulk insert is not split at 999 parameters."""
    if connection.vendor == "sqlite":
        connection.ensure_connection()
        limit = connection.connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
        monkeypatch.setattr(connection.features, "max_query_params", limit)


def _count(run) -> int:
    with CaptureQueriesContext(connection) as captured:
        run()
    return len(captured.captured_queries)


def _cadre_file(admin, size: int, name: str) -> bytes:
    """A county whose one township has `size` * 0.3 cadres with logins (one in three of them
    left off the file) and `size` * 0.2 without, and a file of `size` 联乡 rows: those
    cadres, and new ones."""
    county = CountyFactory(name=name)
    township = TownshipFactory(county=county, name=f"{name}镇")
    prefix = f"15{county.code[-3:]}"

    def row(i):
        return cadre_values(
            姓名=f"干部{i}",
            手机号=f"{prefix}{i:06d}",
            联系类型="联乡",
            联系点区划代码=township.code,
            派出单位="市农业农村局",
        )

    with_login = [row(i) for i in range(size * 3 // 10)]
    _run(admin, "cadres", _cadres(with_login))
    for i in range(size * 3 // 10, size // 2):
        AssignmentFactory(
            cadre=CadreFactory(name=f"干部{i}", phone=f"{prefix}{i:06d}"),
            village=None,
            for_township=True,
            township=township,
        )
    rows = [r for i, r in enumerate(with_login) if i % 3] + [
        row(i) for i in range(size * 3 // 10, size + size // 10)
    ]
    return _cadres(rows)


def _role_file(admin, size: int, name: str) -> bytes:
    county = CountyFactory(name=name)
    townships = [TownshipFactory(county=county, name=f"{name}{t}镇") for t in range(2)]
    prefix = f"16{county.code[-3:]}"

    def row(i):
        return {
            "姓名": f"镇干部{i}",
            "手机号": f"{prefix}{i:06d}",
            "角色": "乡级干部",
            "辖区": townships[i % 2].code,
        }

    existing = [row(i) for i in range(size // 2)]
    _run(admin, "roles", _roles(existing))
    rows = [r for i, r in enumerate(existing) if i % 5] + [row(i) for i in range(size // 2, size)]
    rows[0] = {
        **rows[0],
        "辖区": townships[0].code if rows[0]["辖区"] != townships[0].code else townships[1].code,
    }
    return _roles(rows)


@pytest.mark.parametrize("kind, make", [("cadres", _cadre_file), ("roles", _role_file)])
def test_roster_import_queries_do_not_grow_with_the_rows(
    roster_world, real_sqlite_parameter_limit, django_assert_max_num_queries, kind, make
):
    # given
    admin = roster_world.admin
    small_data = make(admin, 20, "小县")
    large_data = make(admin, 200, "大县")
    jobs = []
    small = _count(lambda: jobs.append(_run(User.objects.get(pk=admin.pk), kind, small_data)))
    actor = User.objects.get(pk=admin.pk)

    # when
    with django_assert_max_num_queries(small + 2):
        jobs.append(_run(actor, kind, large_data))

    # then: logins opened and deactivated in both
    print(f"{kind} import queries: 20 rows {small}")
    for job, size in zip(jobs, (20, 200), strict=True):
        assert job.summary["accounts_created"] >= size // 2
        assert job.summary["accounts_deactivated"] >= 1
