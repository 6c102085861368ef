"""Issue 15, item 2: validation is linear in rows and errors, and its queries do not grow.

`build_plan` used to rebuild the set of rows with errors from every issue once per row
(`Plan.error_rows`), so a file whose every row is bad took quadratic time (95 s for 20,000
rows). The suite never times anything (bench/import_errors.py does); here the work is
counted instead: how often the list of issues is walked while a plan is built, which must
not depend on the number of rows. The queries of the whole background job (validation and
the annotated workbook step) must not either (tests/imports/test_query_counts.py style).
"""

from dataclasses import dataclass

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.importing import engine
from core.models import ImportJob
from tests.imports.builders import VILLAGE_HEADERS, city_admin_user, plan_of, xlsx_bytes
from villages.services import import_job_create

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.filterwarnings("ignore:No directory at:UserWarning"),
]

SIZES = (200, 2000)
MARGIN = 2


def _all_bad(rows: int) -> bytes:
    """`rows` rows, each with two errors (a code of the wrong length, an unknown type)."""
    return xlsx_bytes(
        [
            ["甲县", "甲一镇", f"村{i}", f"{i:05d}", "乡村", 100, 400, "书记", "13900000000"]
            for i in range(rows)
        ],
        headers=list(VILLAGE_HEADERS[:-1]),
    )


class _CountingList(list):
    walks = 0

    def __iter__(self):
        type(self).walks += 1
        return super().__iter__()


@dataclass
class _CountingPlan(engine.Plan):
    def __post_init__(self):
        self.issues = _CountingList()


def _walks(monkeypatch, rows: int) -> int:
    monkeypatch.setattr(engine, "Plan", _CountingPlan)
    monkeypatch.setattr(_CountingList, "walks", 0)
    plan, _ = plan_of("villages", _all_bad(rows))
    counts = plan.counts()
    assert plan.valid_items() == []
    assert (counts["error_rows"], counts["errors"]) == (rows, 2 * rows)
    return _CountingList.walks


def test_building_a_plan_walks_the_issues_a_fixed_number_of_times(monkeypatch):
    # when
    small = _walks(monkeypatch, SIZES[0])
    large = _walks(monkeypatch, SIZES[1])

    # then: the same number of walks for ten times the rows and errors (it was one per row)
    print(f"walks over the issues: {SIZES[0]} rows {small}, {SIZES[1]} rows {large}")
    assert large == small
    assert small <= 3


def _job_queries(capture, actor, rows: int) -> int:
    data = _all_bad(rows)
    with CaptureQueriesContext(connection) as queries, capture(execute=True):
        job = import_job_create(
            actor=actor, kind="villages", upload=SimpleUploadedFile("x.xlsx", data)
        )
    job.refresh_from_db()
    assert (job.state, job.annotated_state) == ("previewed", "done")
    assert job.summary["error_rows"] == rows
    ImportJob.objects.filter(pk=job.pk).update(state=ImportJob.State.CANCELLED)
    return len(queries.captured_queries)


def test_the_validation_job_and_its_workbook_step_take_the_same_queries_for_more_rows(
    django_capture_on_commit_callbacks, django_assert_max_num_queries
):
    # given
    actor = city_admin_user()
    small = _job_queries(django_capture_on_commit_callbacks, actor, SIZES[0])

    # when / then
    with django_assert_max_num_queries(small + MARGIN):
        large = _job_queries(django_capture_on_commit_callbacks, actor, SIZES[1])
    print(f"validate + annotate queries: {SIZES[0]} rows {small}, {SIZES[1]} rows {large}")
