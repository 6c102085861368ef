"""The number of SQL queries of an import does not grow with its rows.

For each kind, one world per size (100 and 1,000 rows, in two counties), the same mix of
unchanged, changed, moved (villages) and new rows, new townships (villages) and new work
units (cadres). The bound is the 100-row count plus a small margin; the 1,000-row run must
stay within it.

SQLite: Django 5.2 splits bulk writes so that no statement has more than 999 parameters
(`DatabaseFeatures.max_query_params`, the compile-time default of old SQLite builds), which
makes a 1,000-row bulk insert about a dozen statements there whatever the code does. The
commit tests raise that number to the limit the linked SQLite library really has (read
with `getlimit`; 32766 or more on any SQLite since 3.32). Without that, the 1,000-row
commit takes 44 (villages) and 52 (cadres) queries instead of 29 and 39. On PostgreSQL
nothing is changed.
"""

import datetime
import sqlite3

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.models import ImportJob
from tests.factories import CountyFactory, TownshipFactory
from tests.imports.builders import (
    as_upload,
    cadre_values,
    cadres_xlsx,
    city_admin_user,
    commit_plan,
    free_township_code,
    plan_of,
    villages_xlsx,
)
from villages.services import import_job_run_now

pytestmark = pytest.mark.django_db

MARGIN = 2
SIZES = (100, 1000)
D = datetime.date


@pytest.fixture
def admin():
    return city_admin_user()


@pytest.fixture
def real_sqlite_parameter_limit(monkeypatch):
    """On SQLite, let Django use the parameter limit of the SQLite library it runs on."""
    if connection.vendor == "sqlite":
        connection.ensure_connection()
        limit = connection.connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
        assert limit >= 32766, "this SQLite build has a small parameter limit"
        monkeypatch.setattr(connection.features, "max_query_params", limit)


def _fresh(user):
    """The same login as a new object: no scope memoised from an earlier run."""
    return get_user_model().objects.get(pk=user.pk)


def _count(run) -> int:
    with CaptureQueriesContext(connection) as captured:
        run()
    return len(captured.captured_queries)


# ----- villages ----------------------------------------------------------------------


def _village_row(county, township, code, name, **values) -> dict:
    row = {
        "县(市、区)": county.name,
        "乡镇(街道)": township.name if township else "新设乡",
        "村(社区)名称": name,
        "统计用区划代码": code,
        "类型": "行政村",
        "户数": 100,
        "人口": 400,
        "党组织书记": "书记",
        "联系电话": "13900000000",
    }
    row.update(values)
    return row


def _villages_file(admin, size: int, county_name: str) -> bytes:
    """A county with `size` * 0.6 villages already imported, and a file of `size` rows:
    30% unchanged, 20% changed, 10% moved to another township, 20% new in an existing
    township and 20% new in a new township."""
    county = CountyFactory(name=county_name)
    old = TownshipFactory(county=county, name=f"{county_name}老镇")
    other = TownshipFactory(county=county, name=f"{county_name}新镇")
    new_township = free_township_code(county)

    def existing(i):
        return _village_row(county, old, f"{old.code}{i:03d}", f"村{i}")

    setup, ctx = plan_of("villages", villages_xlsx([existing(i) for i in range(size * 6 // 10)]))
    assert setup.issues == []
    commit_plan(setup, ctx)

    rows = []
    for i in range(size * 3 // 10):
        rows.append(existing(i))
    for i in range(size * 3 // 10, size * 5 // 10):
        rows.append({**existing(i), "人口": 500 + i})
    for i in range(size * 5 // 10, size * 6 // 10):
        rows.append(_village_row(county, other, f"{other.code}{i:03d}", f"村{i}"))
    for i in range(size * 2 // 10):
        rows.append(_village_row(county, other, f"{other.code}{600 + i:03d}", f"新村{i}"))
        rows.append(_village_row(county, None, f"{new_township}{i:03d}", f"新设村{i}"))
    assert len(rows) == size
    return villages_xlsx(rows)


def _villages_plan(actor, data, size):
    plans = []
    queries = _count(lambda: plans.append(plan_of("villages", data, actor=actor)[0]))
    counts = plans[0].counts()
    assert (counts["errors"], counts["unchanged"], counts["changed"]) == (
        0,
        size * 3 // 10,
        size * 2 // 10,
    )
    assert (counts["moved"], counts["new"]) == (size // 10, size * 4 // 10)
    return queries


def _villages_import(actor, data, size):
    jobs = []
    queries = _count(
        lambda: jobs.append(
            import_job_run_now(actor=actor, kind="villages", upload=as_upload(data))
        )
    )
    [job] = jobs
    assert job.state == ImportJob.State.DONE, job.error
    assert (job.summary["changed"], job.summary["moved"], job.summary["new"]) == (
        size * 2 // 10,
        size // 10,
        size * 4 // 10,
    )
    assert job.summary["townships_created"] == 1
    return queries


def test_villages_plan_queries_do_not_grow_with_rows(admin, django_assert_max_num_queries):
    # given
    small_data = _villages_file(admin, SIZES[0], "小县")
    large_data = _villages_file(admin, SIZES[1], "大县")
    small = _villages_plan(_fresh(admin), small_data, SIZES[0])
    actor = _fresh(admin)

    # when
    with django_assert_max_num_queries(small + MARGIN):
        large = _villages_plan(actor, large_data, SIZES[1])

    # then
    print(f"villages build_plan queries: 100 rows {small}, 1000 rows {large}")
    assert small <= 3  # counties, townships, villages
    assert large <= small + MARGIN


def test_villages_commit_queries_do_not_grow_with_rows(
    admin, django_assert_max_num_queries, real_sqlite_parameter_limit
):
    # given
    small_data = _villages_file(admin, SIZES[0], "小县")
    large_data = _villages_file(admin, SIZES[1], "大县")
    small = _villages_import(_fresh(admin), small_data, SIZES[0])
    actor = _fresh(admin)

    # when
    with django_assert_max_num_queries(small + MARGIN):
        large = _villages_import(actor, large_data, SIZES[1])

    # then
    print(f"villages import_job_run_now queries: 100 rows {small}, 1000 rows {large}")
    assert large <= small + MARGIN


# ----- cadres -------------------------------------------------------------------------


def _cadres_file(admin, size: int, county_name: str) -> bytes:
    """`size` villages, `size` * 0.6 assignments already imported, and a file of `size`
    rows: 30% unchanged, 20% changed dates, 10% changed person data, 40% new cadres (one in
    ten of them 联乡) from one new work unit per ten rows."""
    county = CountyFactory(name=county_name)
    townships = [TownshipFactory(county=county, name=f"{county_name}{t}镇") for t in range(2)]
    codes = [f"{townships[i % 2].code}{i // 2:03d}" for i in range(size)]
    villages = [
        _village_row(county, townships[i % 2], code, f"村{i}") for i, code in enumerate(codes)
    ]
    setup, ctx = plan_of("villages", villages_xlsx(villages))
    commit_plan(setup, ctx)
    prefix = f"13{county.code[-3:]}"

    def existing(i):
        return cadre_values(
            姓名=f"干部{i}",
            手机号=f"{prefix}{i:06d}",
            派出单位=f"{county_name}单位{i % 7}",
            干部层级="县级",
            联系点区划代码=codes[i],
        )

    setup, ctx = plan_of("cadres", cadres_xlsx([existing(i) for i in range(size * 6 // 10)]))
    assert setup.issues == []
    commit_plan(setup, ctx)

    rows = [existing(i) for i in range(size * 3 // 10)]
    rows += [
        {**existing(i), "结束日期": D(2024, 6, 30)} for i in range(size * 3 // 10, size * 5 // 10)
    ]
    rows += [{**existing(i), "职务": "主任"} for i in range(size * 5 // 10, size * 6 // 10)]
    for i in range(size * 6 // 10, size):
        row = {**existing(i), "派出单位": f"{county_name}新单位{i // 10}"}
        if i % 10 == 0:  # one in ten new rows is a 联乡 assignment
            row.update({"联系类型": "联乡", "联系点区划代码": townships[i % 2].code})
        rows.append(row)
    assert len(rows) == size
    return cadres_xlsx(rows)


def _cadres_plan(actor, data, size):
    plans = []
    queries = _count(lambda: plans.append(plan_of("cadres", data, actor=actor)[0]))
    counts = plans[0].counts()
    assert (counts["errors"], counts["unchanged"], counts["changed"], counts["new"]) == (
        0,
        size * 3 // 10,
        size * 3 // 10,
        size * 4 // 10,
    )
    return queries


def _cadres_import(actor, data, size):
    jobs = []
    queries = _count(
        lambda: jobs.append(import_job_run_now(actor=actor, kind="cadres", upload=as_upload(data)))
    )
    [job] = jobs
    assert job.state == ImportJob.State.DONE, job.error
    assert (job.summary["changed"], job.summary["new"]) == (size * 3 // 10, size * 4 // 10)
    assert (job.summary["cadres_created"], job.summary["work_units_created"]) == (
        size * 4 // 10,
        size * 4 // 100,
    )
    assert job.summary["cadres_updated"] == size // 10
    return queries


def test_cadres_plan_queries_do_not_grow_with_rows(admin, django_assert_max_num_queries):
    # given
    small_data = _cadres_file(admin, SIZES[0], "小县")
    large_data = _cadres_file(admin, SIZES[1], "大县")
    small = _cadres_plan(_fresh(admin), small_data, SIZES[0])
    actor = _fresh(admin)

    # when
    with django_assert_max_num_queries(small + MARGIN):
        large = _cadres_plan(actor, large_data, SIZES[1])

    # then
    print(f"cadres build_plan queries: 100 rows {small}, 1000 rows {large}")
    # cadres, units, townships, villages, assignments; the logins the rows may meet and
    # the assignments of the places the file covers (who left the roster: accounts)
    assert small <= 7
    assert large <= small + MARGIN


def test_cadres_commit_queries_do_not_grow_with_rows(
    admin, django_assert_max_num_queries, real_sqlite_parameter_limit
):
    # given
    small_data = _cadres_file(admin, SIZES[0], "小县")
    large_data = _cadres_file(admin, SIZES[1], "大县")
    small = _cadres_import(_fresh(admin), small_data, SIZES[0])
    actor = _fresh(admin)

    # when
    with django_assert_max_num_queries(small + MARGIN):
        large = _cadres_import(actor, large_data, SIZES[1])

    # then
    print(f"cadres import_job_run_now queries: 100 rows {small}, 1000 rows {large}")
    assert large <= small + MARGIN
