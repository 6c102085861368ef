"""`manage.py import_roster PATH --kind villages|cadres [--dry-run] [--valid-only] [--user]`:
a summary on stdout, every error on stderr as `第N行 列名: 说明`, exit code 1 when there
are errors (the command raises SystemExit(1)), 0 when clean."""

import io
import re

import pytest
from django.core.management import CommandError, call_command

from core.models import ImportJob
from tests.factories import UserFactory
from tests.imports.builders import (
    VILLAGE_HEADERS,
    assignment_values,
    build_world,
    cadres_xlsx,
    city_admin_user,
    counts,
    county_official_user,
    csv_bytes,
    ordered,
    village_values,
    villages_xlsx,
)
from villages.models import Village

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    return build_world(villages_per_township=2)


def _run(path, *args) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of the command."""
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("import_roster", str(path), *args, stdout=out, stderr=err, no_color=True)
        code = 0
    except SystemExit as exc:
        code = exc.code
    return code, out.getvalue(), err.getvalue()


def _file(tmp_path, data: bytes, name="roster.xlsx"):
    path = tmp_path / name
    path.write_bytes(data)
    return path


def _mixed_villages(world):
    """Row 2 changes a 甲县 village, row 3 a 乙县 one, row 4 has a bad 类型."""
    a, b = world.villages["a1v1"], world.villages["b1v1"]
    rows = [
        village_values(a, 人口=1111),
        village_values(b, 人口=2222),
        village_values(world.villages["a2v1"], 类型="自然村"),
    ]
    return villages_xlsx(rows)


BAD_KIND = "第4行 类型: 类型“自然村”不在可选范围内（可选：行政村、农村社区、城市社区）"


def test_clean_file_prints_a_summary_and_exits_0(world, tmp_path):
    # given
    rows = [village_values(v) for v in world.villages.values()]
    rows[0]["人口"] = 1
    path = _file(tmp_path, villages_xlsx(rows))

    # when
    code, out, err = _run(path, "--kind", "villages")

    # then
    job = ImportJob.objects.get()
    assert code == 0
    assert err == ""
    assert out.splitlines() == [
        f"导入记录 #{job.pk}（已完成）：新增 0 行，修改 1 行，迁移 0 行，无变化 7 行，错误 0 处。",
        "导入完成。",
    ]
    assert Village.objects.get(pk=world.villages["a1v1"].pk).population == 1
    assert (job.user, job.state, job.original_name) == (None, ImportJob.State.DONE, "roster.xlsx")


def test_import_without_user_is_recorded_as_the_system(world, tmp_path):
    # given
    path = _file(tmp_path, villages_xlsx([village_values(world.villages["a1v1"], 人口=5)]))

    # when
    _run(path, "--kind", "villages")

    # then
    latest = Village.history.filter(id=world.villages["a1v1"].pk).latest()
    assert (latest.population, latest.history_user) == (5, None)


def test_errors_go_to_stderr_and_exit_1_writing_nothing(world, tmp_path):
    # given
    path = _file(tmp_path, _mixed_villages(world))
    before = counts()

    # when
    code, out, err = _run(path, "--kind", "villages")

    # then
    assert code == 1
    assert err.splitlines() == [BAD_KIND, "存在错误，未写入任何数据。"]
    assert "（失败）" in out and "错误 1 处" in out
    assert "导入完成" not in out
    assert counts() == before


def test_dry_run_writes_nothing(world, tmp_path):
    # given
    rows = [village_values(world.villages["a1v1"], 人口=1)]
    path = _file(tmp_path, villages_xlsx(rows))
    before = counts()

    # when
    code, out, err = _run(path, "--kind", "villages", "--dry-run")

    # then
    assert code == 0
    assert err == ""
    assert "修改 1 行" in out
    assert out.splitlines()[-1] == "试运行：未写入任何数据。"
    assert counts() == before
    assert ImportJob.objects.get().state == ImportJob.State.CANCELLED


def test_dry_run_with_errors_exits_1(world, tmp_path):
    # given
    path = _file(tmp_path, _mixed_villages(world))
    before = counts()

    # when
    code, out, err = _run(path, "--kind", "villages", "--dry-run")

    # then
    assert code == 1
    assert err.splitlines() == [BAD_KIND]
    assert counts() == before


def test_valid_only_imports_the_valid_rows_and_still_exits_1(world, tmp_path):
    # given
    path = _file(tmp_path, _mixed_villages(world))

    # when
    code, out, err = _run(path, "--kind", "villages", "--valid-only")

    # then
    assert code == 1
    assert err.splitlines() == [BAD_KIND]
    assert "导入完成。" in out
    populations = dict(Village.objects.values_list("name", "population"))
    assert (populations["甲一1村"], populations["乙一1村"]) == (1111, 2222)
    assert Village.objects.get(pk=world.villages["a2v1"].pk).kind == "village"


def test_user_who_is_a_county_official_is_limited_to_their_county(world, tmp_path):
    # given
    official = county_official_user(world.county_a, "jia_official")
    path = _file(tmp_path, _mixed_villages(world))
    b_code = world.villages["b1v1"].code

    # when
    code, out, err = _run(path, "--kind", "villages", "--valid-only", "--user", "jia_official")

    # then
    assert code == 1
    assert err.splitlines() == [
        f"第3行 统计用区划代码: 区划代码 {b_code} 不在您的辖区（甲县）内",
        BAD_KIND,
    ]
    assert Village.objects.get(pk=world.villages["a1v1"].pk).population == 1111
    assert Village.objects.get(pk=world.villages["b1v1"].pk).population != 2222
    job = ImportJob.objects.get()
    assert (job.user, job.county) == (official, world.county_a)
    assert Village.history.filter(id=world.villages["a1v1"].pk).latest().history_user == official


def test_user_who_is_a_city_admin_imports_city_wide(world, tmp_path):
    # given
    city_admin_user("city_boss")
    path = _file(tmp_path, _mixed_villages(world))

    # when
    code, _, err = _run(path, "--kind", "villages", "--valid-only", "--user", "city_boss")

    # then
    assert err.splitlines() == [BAD_KIND]
    assert Village.objects.get(pk=world.villages["b1v1"].pk).population == 2222


def test_cadres_kind(world, tmp_path):
    # given
    rows = [assignment_values(a) for a in world.assignments.values()]
    path = _file(tmp_path, cadres_xlsx(rows), "干部.xlsx")

    # when
    code, out, err = _run(path, "--kind", "cadres")

    # then
    assert (code, err) == (0, "")
    assert "无变化 12 行，错误 0 处。" in out


def test_csv_file(world, tmp_path):
    # given
    rows = [ordered(village_values(world.villages["a1v1"], 人口=77), VILLAGE_HEADERS)]
    path = _file(tmp_path, csv_bytes(rows, headers=VILLAGE_HEADERS, encoding="gbk"), "花名册.csv")

    # when
    code, _, err = _run(path, "--kind", "villages")

    # then
    assert (code, err) == (0, "")
    assert Village.objects.get(pk=world.villages["a1v1"].pk).population == 77


def test_file_level_problem_exits_1(world, tmp_path):
    # given
    path = _file(tmp_path, b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "photo.xlsx")

    # when
    code, out, err = _run(path, "--kind", "villages")

    # then
    assert code == 1
    assert "文件不是表格（既不是 .xlsx，也不是 CSV 文本）。" in err
    assert ImportJob.objects.get().state == ImportJob.State.FAILED


def test_whole_row_and_file_issues_print_like_issue_str(world, tmp_path):
    # given: the same assignment twice (a duplicate is a whole-row issue for cadres)
    a = world.assignments["a1v1"]
    code = a.village.code
    path = _file(tmp_path, cadres_xlsx([assignment_values(a), assignment_values(a)]))
    png = _file(tmp_path, b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "photo.xlsx")

    # when
    _, _, err = _run(path, "--kind", "cadres")
    _, _, file_err = _run(png, "--kind", "cadres")

    # then
    key = f"{a.cadre.phone} / {code} / 2024"
    assert err.splitlines()[:2] == [
        f"第2行: 手机号、联系点区划代码、年度（{key}）与第3行重复",
        f"第3行: 手机号、联系点区划代码、年度（{key}）与第2行重复",
    ]
    assert file_err.count("文件不是表格") == 1


def test_unknown_user_is_a_command_error(world, tmp_path):
    # given
    path = _file(tmp_path, villages_xlsx([]))

    # when / then
    with pytest.raises(CommandError, match="^用户 nobody 不存在。$"):
        call_command("import_roster", str(path), "--kind", "villages", "--user", "nobody")
    assert not ImportJob.objects.exists()


def test_user_without_import_rights_is_a_command_error(world, tmp_path):
    # given
    UserFactory(username="plain")
    path = _file(tmp_path, villages_xlsx([]))

    # when / then
    with pytest.raises(CommandError, match="只有市级管理员和县级干部可以导入数据。"):
        call_command("import_roster", str(path), "--kind", "villages", "--user", "plain")


def test_missing_file_is_a_command_error(tmp_path):
    # given
    path = tmp_path / "nope.xlsx"

    # when / then
    with pytest.raises(CommandError, match=f"^找不到文件：{re.escape(str(path))}$"):
        call_command("import_roster", str(path), "--kind", "villages")


def test_unknown_kind_is_refused_by_the_parser(tmp_path):
    # given
    path = _file(tmp_path, b"a,b\n")

    # when / then
    with pytest.raises(CommandError, match="invalid choice"):
        call_command("import_roster", str(path), "--kind", "stars")
