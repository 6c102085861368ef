"""The Excel exports of 三零创建, through the villages export flow (POST /exports/new/<kind>/,
the job, the download): Chinese headers, the rows of the user's area only, the list's
filters, ID and phone numbers masked for roles that may not see them."""

import io

import openpyxl
import pytest

from core.models import ExportJob
from disputes.exports import (
    DISPUTE_HEADERS,
    HAZARD_HEADERS,
    INCIDENT_HEADERS,
    PETITION_HEADERS,
    STATUS_HEADERS,
    UNIT_HEADERS,
)
from disputes.services import sanling_recompute
from tests.disputes.factories import (
    DisputeFactory,
    HazardFactory,
    IncidentFactory,
    PetitionFactory,
    UnitFactory,
)

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.filterwarnings("ignore:No directory at:UserWarning"),
]


@pytest.fixture
def world(area):
    for label in ("a1v1", "a1v2", "b1v1"):
        village = area.villages[label]
        DisputeFactory(village=village)
        PetitionFactory(village=village)
        IncidentFactory(village=village)
        HazardFactory(village=village)
        UnitFactory(village=village)
    DisputeFactory(village=area.villages["a1v1"], dispute_type="marriage")
    PetitionFactory(village=area.villages["a1v2"], level_reached="county", is_skip_level=True)
    sanling_recompute(year=2024)


def export(client, kind, data, capture):
    with capture(execute=True):
        posted = client.post(f"/exports/new/{kind}/", data)
    assert posted.status_code == 302, posted.content[:300]
    job = ExportJob.objects.order_by("-pk").first()
    assert job.state == "done", job.error
    download = client.get(f"/exports/{job.pk}/download/")
    assert download.status_code == 200
    sheet = openpyxl.load_workbook(io.BytesIO(b"".join(download.streaming_content))).active
    return [tuple(r) for r in sheet.iter_rows(values_only=True)]


@pytest.mark.parametrize(
    ("kind", "headers", "county_rows"),
    [
        ("disputes", DISPUTE_HEADERS, 3),
        ("petitions", PETITION_HEADERS, 3),
        ("incidents", INCIDENT_HEADERS, 2),
        ("hazards", HAZARD_HEADERS, 2),
        ("units", UNIT_HEADERS, 2),
        ("sanling_villages", STATUS_HEADERS, 6),
        ("sanling_units", STATUS_HEADERS, 2),
    ],
)
def test_exports_open_with_chinese_headers_and_area_counts(
    client_as, world, kind, headers, county_rows, django_capture_on_commit_callbacks
):
    rows = export(
        client_as("county_official"), kind, {"year": "2024"}, django_capture_on_commit_callbacks
    )
    header = rows[0]
    assert header == tuple(headers)
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in h) or h.isdigit() for h in header)
    assert len(rows) - 1 == county_rows
    assert not any("b1v1村" in str(cell) for row in rows[1:] for cell in row)


def test_export_follows_the_filters(client_as, world, django_capture_on_commit_callbacks):
    rows = export(
        client_as("city_admin"),
        "disputes",
        {"dispute_type": "marriage"},
        django_capture_on_commit_callbacks,
    )
    assert len(rows) == 2 and rows[1][DISPUTE_HEADERS.index("纠纷类型")] == "婚姻家庭(继承)纠纷"
    before = ExportJob.objects.count()
    client_as("city_admin").post("/exports/new/disputes/", {"month": "2024-13"})
    assert ExportJob.objects.count() == before  # a bad filter is refused, never widened


def test_village_status_export_shows_both_values(
    client_as, world, django_capture_on_commit_callbacks, county_official, area
):
    from disputes.services import sanling_override_set

    sanling_override_set(
        actor=county_official, year=2024, village=area.villages["a1v2"], value="met", reason="复核"
    )
    rows = export(
        client_as("county_official"),
        "sanling_villages",
        {"year": "2024"},
        django_capture_on_commit_callbacks,
    )
    a1v2 = next(r for r in rows if r[3] == "a1v2村")
    assert a1v2[5:10] == ("达标", "不达标", a1v2[7], "达标", "复核")
    assert "县级越级信访" in a1v2[7]


@pytest.mark.parametrize(
    ("who", "reveal"),
    [
        ("city_admin", True),
        ("county_official", True),
        ("township_official", True),
        ("city_viewer", False),
        ("cadre_user", False),
    ],
)
def test_personal_numbers_masked_per_role(
    client_as, world, who, reveal, django_capture_on_commit_callbacks
):
    disputes = export(client_as(who), "disputes", {}, django_capture_on_commit_callbacks)
    ids = {r[DISPUTE_HEADERS.index("当事人身份证号")] for r in disputes[1:]}
    phones = {r[DISPUTE_HEADERS.index("当事人联系电话")] for r in disputes[1:]}
    assert ids == ({"411024199001011234"} if reveal else {"411024********1234"})
    assert phones == ({"13812345678"} if reveal else {"138****5678"})
    petitions = export(client_as(who), "petitions", {}, django_capture_on_commit_callbacks)
    phones = {r[PETITION_HEADERS.index("信访人联系电话")] for r in petitions[1:]}
    assert phones == ({"13900001111"} if reveal else {"139****1111"})


@pytest.mark.parametrize("kind", ["disputes", "petitions", "incidents", "hazards", "units"])
def test_another_countys_area_in_the_filter_is_refused(client_as, world, area, kind):
    client = client_as("county_official")
    before = ExportJob.objects.count()
    for params in ({"township": area.townships["B1"].pk}, {"village": area.villages["b1v1"].pk}):
        if kind == "units" and "village" in params:
            continue  # the unit list filters by township only
        response = client.post(f"/exports/new/{kind}/", params)
        assert response.status_code == 302
        assert ExportJob.objects.count() == before  # refused, never widened nor narrowed away
