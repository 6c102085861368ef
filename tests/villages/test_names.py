"""One reading of a village's name for the demo and the import: the official NBS roster
(villages/data, names as published: 裴庄村委会, 金地社区居委会) imported into the seeded
demo changes nothing, and the demo stores what the import would read.

The villages demo is seeded once for the module (a few seconds) and rolled back after it.
"""

import csv
import datetime
import io
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command
from django.db import connection

from core.importing.normalise import village_name
from core.models import ImportJob
from tests.helpers import module_data
from tests.imports.builders import KIND_LABELS, as_upload, counts, issue_strings, plan_of
from villages.demo import DATA_DIR
from villages.models import Village
from villages.services import import_job_run_now

pytestmark = pytest.mark.django_db

ROSTER_VILLAGES = 2505
HEADERS = ["县(市、区)", "乡镇(街道)", "村(社区)名称", "统计用区划代码"]


def _read(name: str) -> list[dict]:
    with open(DATA_DIR / name, encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def _nbs_roster(kinds: dict[str, str] | None = None) -> bytes:
    """The NBS 2023 roster of 许昌市 as a 村(社区)花名册 CSV, every name as published.
    With `kinds` (code -> Village.Kind) it also has a 类型 column."""
    counties = {c["code"]: c["name"] for c in _read("xuchang_2023_counties.csv")}
    townships = {t["code"]: t for t in _read("xuchang_2023_townships.csv")}
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADERS + (["类型"] if kinds else []))
    for v in _read("xuchang_2023_villages.csv"):
        township = townships[v["township_code"]]
        row = [counties[township["county_code"]], township["name"], v["name"], v["code"]]
        if kinds:
            row.append(KIND_LABELS[kinds[v["code"]]])
        writer.writerow(row)
    return out.getvalue().encode("utf-8")


@pytest.fixture(scope="module")
def seeded(django_db_setup, django_db_blocker):
    # A date in the demo's own year: the seed adds no present year, only the roster.
    with (
        time_machine.travel(datetime.datetime(2023, 9, 15, 10, 0), tick=False),
        module_data(django_db_blocker),
    ):
        call_command("seed_demo", apps=["villages"], stdout=StringIO())
        connection.check_constraints()
        yield


@pytest.mark.parametrize("with_kind", [False, True], ids=["as-published", "with-类型"])
def test_the_nbs_roster_imports_into_the_demo_with_no_change(seeded, with_kind):
    # given: the roster as published, and the same with the demo's own 类型 written in
    kinds = dict(Village.objects.values_list("code", "kind")) if with_kind else None
    data = _nbs_roster(kinds)
    before = counts()

    # when
    plan, _ = plan_of("villages", data, filename="nbs_2023.csv")
    job = import_job_run_now(actor=None, kind="villages", upload=as_upload(data, "nbs_2023.csv"))

    # then: every village of the roster is unchanged, and the import writes nothing
    assert issue_strings(plan) == []
    assert {k: v for k, v in plan.counts().items() if k != "rows"} == {
        "new": 0,
        "changed": 0,
        "unchanged": ROSTER_VILLAGES,
        "moved": 0,
        "errors": 0,
        "error_rows": 0,
    }
    assert job.state == ImportJob.State.DONE
    assert counts() == before


def test_the_demo_stores_the_names_the_import_reads(seeded):
    # given
    published = {v["code"]: v["name"] for v in _read("xuchang_2023_villages.csv")}

    # when
    stored = {
        code: (name, official, kind)
        for code, name, official, kind in Village.objects.filter(code__in=published).values_list(
            "code", "name", "official_name", "kind"
        )
    }

    # then: the short name is village_name's, the official name is the published one,
    # and the kind follows the name (城市社区 being a community the demo chose)
    assert len(stored) == ROSTER_VILLAGES
    for code, raw in published.items():
        name, official, kind = stored[code]
        read = village_name(raw)
        assert (name, official) == (read.name, raw)
        assert (kind == Village.Kind.VILLAGE) is read.is_village
    assert not any(name.endswith(("委会", "委员会")) for name, _, _ in stored.values())
