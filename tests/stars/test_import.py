"""The 星级评定结果 import (kind `star_ratings`) on the villages pipeline: errors name the
row and the column, nothing is half-written, the preview shows level changes, 是 makes
an award 已授星 (created or updated), 否 withdraws a held star, the county limit, the
lock and the foundation rule hold, and a 联合党支部's villages must agree."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from openpyxl import Workbook, load_workbook

from core.importing.engine import KINDS
from core.models import ImportJob
from stars.models import StarAward, StarAwardEvent
from tests.stars.factories import YEAR, StarAwardFactory, hold, star
from villages.services import (
    import_job_create,
    import_job_run_now,
    import_preview,
)

pytestmark = pytest.mark.django_db

HEADERS = (
    "年度",
    "统计用区划代码",
    "村(社区)",
    "支部过硬星",
    "产业兴旺星",
    "生态宜居星",
    "宜业兴业星",
)


def workbook(rows, headers=HEADERS, title_rows=()) -> bytes:
    wb = Workbook()
    ws = wb.active
    for row in title_rows:
        ws.append(row)
    ws.append(list(headers))
    for row in rows:
        ws.append(list(row))
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def upload(data: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile("星级评定结果.xlsx", data)


def _issues(plan):
    return {(i.row, i.column): i.message for i in plan.issues}


def test_the_kind_is_registered_with_one_column_per_star():
    kind = KINDS["star_ratings"]
    headers = [c.header for c in kind.columns]
    assert headers[:3] == ["年度", "统计用区划代码", "村(社区)"]
    assert headers[3:] == [
        "支部过硬星",
        "产业兴旺星",
        "生态宜居星",
        "平安法治星",
        "文明幸福星",
        "宜业兴业星",
        "共建共享星",
        "幸福和谐星",
    ]


def test_a_wrong_scheme_star_and_an_unknown_code_are_both_reported_and_nothing_is_written(
    area, city_admin, django_capture_on_commit_callbacks
):
    a1v1, a1v2 = area.villages["a1v1"], area.villages["a1v2"]
    data = workbook(
        [
            (YEAR, a1v1.code, a1v1.name, "是", "√", "", ""),
            (YEAR, a1v2.code, a1v2.name, "是", "", "", "是"),  # an urban star for a 行政村
            (YEAR, "999999999999", "不存在村", "是", "", "", ""),
        ]
    )
    plan = import_preview(actor=city_admin, kind="star_ratings", data=data, filename="x.xlsx")
    issues = _issues(plan)
    assert set(issues) == {(3, "宜业兴业星"), (4, "统计用区划代码")}
    assert "城市社区的星" in issues[(3, "宜业兴业星")] and "a1v2村" in issues[(3, "宜业兴业星")]
    assert "999999999999 不存在" in issues[(4, "统计用区划代码")]

    with django_capture_on_commit_callbacks(execute=True):  # the annotated workbook's step
        job = import_job_run_now(actor=city_admin, kind="star_ratings", upload=upload(data))
    job.refresh_from_db()
    assert job.state == ImportJob.State.FAILED
    assert not StarAward.objects.exists()
    with job.annotated.open("rb") as fh:
        annotated = load_workbook(io.BytesIO(fh.read()))
    ws = annotated.active
    assert ws.cell(row=3, column=7).comment is not None  # 宜业兴业星, row 3
    assert ws.cell(row=4, column=2).comment is not None  # 统计用区划代码, row 4


def test_a_clean_sheet_previews_level_changes_and_awards_the_stars(area, city_admin):
    a1v1, a1v2, a2v3 = area.villages["a1v1"], area.villages["a1v2"], area.villages["a2v3"]
    hold(area.branches["a1v2"], "branch", "industry", "ecology")
    in_progress = StarAwardFactory(
        branch=area.branches["a1v1"], star_type=star("rural", "industry"), state="publicized"
    )
    data = workbook(
        [
            (YEAR, a1v1.code, a1v1.name, "是", 1, "×", ""),
            (YEAR, a1v2.code, "", "√", "否", "是", None),
            (YEAR, a2v3.code, a2v3.name, "是", "", "", "是"),
        ],
        title_rows=[("2024年度五星支部评定结果",), ()],
    )
    plan = import_preview(actor=city_admin, kind="star_ratings", data=data, filename="x.xlsx")
    assert plan.issues == []
    changes = {i.row: i.changes for i in plan.items}
    assert changes[4] == {
        "星级": ["0星", "2星"],
        "支部过硬星": ["否", "是"],
        "产业兴旺星": ["否", "是"],
    }
    assert changes[5] == {"星级": ["3星", "2星"], "产业兴旺星": ["是", "否"]}
    assert changes[6] == {
        "星级": ["0星", "2星"],
        "支部过硬星": ["否", "是"],
        "宜业兴业星": ["否", "是"],
    }
    assert "0星 → 2星" in next(i.label for i in plan.items if i.row == 4)

    job = import_job_run_now(actor=city_admin, kind="star_ratings", upload=upload(data))
    assert job.state == ImportJob.State.DONE, job.error
    held = set(
        StarAward.objects.filter(state="awarded").values_list(
            "branch__roster_entries__village__name", "star_type__name"
        )
    )
    assert held == {
        ("a1v1村", "支部过硬星"),
        ("a1v1村", "产业兴旺星"),
        ("a1v2村", "支部过硬星"),
        ("a1v2村", "生态宜居星"),
        ("a2v3村", "支部过硬星"),
        ("a2v3村", "宜业兴业星"),
    }
    in_progress.refresh_from_db()
    assert in_progress.state == "awarded"  # updated, not duplicated
    withdrawn = StarAward.objects.get(branch=area.branches["a1v2"], star_type__code="industry")
    assert withdrawn.state == "withdrawn" and "导入" in withdrawn.withdrawn_reason
    assert StarAwardEvent.objects.filter(step="import", actor=city_admin).count() == 5
    assert StarAward.history.filter(history_user=city_admin).count() == 5

    again = import_job_run_now(actor=city_admin, kind="star_ratings", upload=upload(data))
    assert again.summary["unchanged"] == 3 and again.summary.get("awards_created") == 0


def test_a_county_official_imports_only_their_county(area, county_official):
    a1v1, b1v1 = area.villages["a1v1"], area.villages["b1v1"]
    data = workbook(
        [
            (YEAR, a1v1.code, a1v1.name, "是", "", "", ""),
            (YEAR, b1v1.code, b1v1.name, "是", "", "", ""),
        ]
    )
    plan = import_preview(actor=county_official, kind="star_ratings", data=data, filename="x.xlsx")
    assert set(_issues(plan)) == {(3, "统计用区划代码")}
    assert "不在您的辖区" in _issues(plan)[(3, "统计用区划代码")]


def test_bad_cells_locked_years_missing_rosters_and_the_foundation_rule(area, city_admin):
    from stars.services import rating_year_lock

    a1v1, a1v2, a1v3 = area.villages["a1v1"], area.villages["a1v2"], area.villages["a1v3"]
    data = workbook(
        [
            (YEAR, a1v1.code, a1v1.name, "也许", "", "", ""),
            (YEAR, a1v2.code, a1v2.name, "否", "是", "", ""),
            (2031, a1v3.code, a1v3.name, "是", "", "", ""),
            (YEAR, a1v3.code, "别的村", "是", "", "", ""),
            ("", a1v3.code, a1v3.name, "是", "", "", ""),
        ]
    )
    issues = _issues(
        import_preview(actor=city_admin, kind="star_ratings", data=data, filename="x.xlsx")
    )
    assert "只能填" in issues[(2, "支部过硬星")]
    assert "基础星" in issues[(3, "支部过硬星")]
    assert "没有村(社区)名册" in issues[(4, "年度")]
    assert "不符" in issues[(5, "村(社区)")]
    assert "年度不能为空" in issues[(6, "年度")]

    rating_year_lock(actor=city_admin, year=YEAR)
    ok = workbook([(YEAR, a1v1.code, a1v1.name, "是", "", "", "")])
    issues = _issues(
        import_preview(actor=city_admin, kind="star_ratings", data=ok, filename="x.xlsx")
    )
    assert "已锁定" in issues[(2, "年度")]


def test_the_villages_of_a_joint_branch_must_agree(area, city_admin):
    from tests.factories import BranchFactory, RosterEntryFactory, RosterFactory

    roster = RosterFactory(year=2025)
    joint = BranchFactory(township=area.townships["A1"], kind="joint")
    a1v1, a1v2 = area.villages["a1v1"], area.villages["a1v2"]
    RosterEntryFactory(roster=roster, village=a1v1, branch=joint)
    RosterEntryFactory(roster=roster, village=a1v2, branch=joint)
    data = workbook(
        [(2025, a1v1.code, "", "是", "是", "", ""), (2025, a1v2.code, "", "是", "", "", "")]
    )
    issues = _issues(
        import_preview(actor=city_admin, kind="star_ratings", data=data, filename="x.xlsx")
    )
    assert "不一致" in issues[(3, "统计用区划代码")]
    same = workbook(
        [(2025, a1v1.code, "", "是", "是", "", ""), (2025, a1v2.code, "", "是", "是", "", "")]
    )
    job = import_job_run_now(actor=city_admin, kind="star_ratings", upload=upload(same))
    assert job.state == ImportJob.State.DONE
    assert StarAward.objects.filter(branch=joint, year=2025, state="awarded").count() == 2


def test_the_portal_upload_runs_the_same_pipeline(
    area, city_admin, django_capture_on_commit_callbacks
):
    a1v1 = area.villages["a1v1"]
    data = workbook([(YEAR, a1v1.code, a1v1.name, "是", "", "", "")])
    with django_capture_on_commit_callbacks(execute=True):
        job = import_job_create(actor=city_admin, kind="star_ratings", upload=upload(data))
    job.refresh_from_db()
    assert job.state == ImportJob.State.PREVIEWED
    assert job.preview["counts"]["new"] == 1
    assert not StarAward.objects.exists()  # nothing before the confirmation


def test_taking_away_the_foundation_star_cannot_leave_the_others_standing(area, city_admin):
    # the branch holds 支部过硬星 and 产业兴旺星; the sheet only has the 支部过硬星 column
    a1v2 = area.villages["a1v2"]
    hold(area.branches["a1v2"], "branch", "industry")
    data = workbook([(YEAR, a1v2.code, a1v2.name, "否")], headers=HEADERS[:4])
    issues = _issues(
        import_preview(actor=city_admin, kind="star_ratings", data=data, filename="x.xlsx")
    )
    assert set(issues) == {(2, "支部过硬星")}
    assert "基础星" in issues[(2, "支部过硬星")] and "产业兴旺星" in issues[(2, "支部过硬星")]
    job = import_job_run_now(actor=city_admin, kind="star_ratings", upload=upload(data))
    assert job.state == ImportJob.State.FAILED
    assert StarAward.objects.filter(state="awarded").count() == 2
    # with both taken away in the same row it is a correction, and goes through
    both = workbook([(YEAR, a1v2.code, a1v2.name, "否", "否")], headers=HEADERS[:5])
    job = import_job_run_now(actor=city_admin, kind="star_ratings", upload=upload(both))
    assert job.state == ImportJob.State.DONE, job.error
    assert not StarAward.objects.filter(state="awarded").exists()
