"""The 三零 pages: who sees what, 404 outside the area on every page, the forms, masking
of ID and phone numbers per role, and list pages whose query count does not grow."""

import datetime

import pytest

from disputes.models import Dispute, Incident, SanlingStatus, ThreeZeroUnit, ZeroReport
from tests.disputes.factories import (
    DisputeFactory,
    HazardFactory,
    IncidentFactory,
    PetitionFactory,
    UnitFactory,
)
from tests.factories import VillageFactory

pytestmark = pytest.mark.django_db
D = datetime.date
LEDGERS = ("disputes", "petitions", "incidents", "hazards")
FACTORIES = {
    "disputes": DisputeFactory,
    "petitions": PetitionFactory,
    "incidents": IncidentFactory,
    "hazards": HazardFactory,
}


@pytest.fixture
def rows(area):
    """One row of each ledger in a1v1 (county A, A1) and in b1v1 (county B)."""
    return {
        key: {label: make(village=area.villages[label]) for label in ("a1v1", "b1v1")}
        for key, make in FACTORIES.items()
    }


@pytest.mark.parametrize("ledger", LEDGERS)
@pytest.mark.parametrize(
    ("who", "sees_a", "sees_b"),
    [
        ("city_admin", True, True),
        ("city_viewer", True, True),
        ("county_official", True, False),
        ("other_county_official", False, True),
        ("township_official", True, False),
        ("cadre_user", True, False),
        ("township_cadre_user", False, False),
    ],
)
def test_detail_pages_are_404_outside_the_area(client_as, rows, ledger, who, sees_a, sees_b):
    client = client_as(who)
    for label, sees in (("a1v1", sees_a), ("b1v1", sees_b)):
        pk = rows[ledger][label].pk
        assert client.get(f"/disputes/{ledger}/{pk}/").status_code == (200 if sees else 404)
        listing = client.get(f"/disputes/{ledger}/").content.decode()
        assert (f"/disputes/{ledger}/{pk}/" in listing) is sees
        if not sees:
            assert client.get(f"/disputes/{ledger}/{pk}/edit/").status_code == 404
            assert client.post(f"/disputes/{ledger}/{pk}/delete/").status_code == 404
            assert (
                client.post(f"/disputes/{ledger}/{pk}/", {"status": "resolved"}).status_code == 404
            )


@pytest.mark.parametrize(
    "url",
    ["/disputes/disputes/", "/disputes/sanling/", "/disputes/units/", "/disputes/zero-reports/"],
)
def test_pages_need_a_role(client_as, client, area, url):
    assert client.get(url).status_code == 302  # anonymous: to the login page
    assert client_as("no_role_user").get(url).status_code == 403
    assert client_as("city_viewer").get(url).status_code == 200


def test_cadre_registers_a_dispute_in_own_village(
    client_as, area, django_capture_on_commit_callbacks
):
    client = client_as("cadre_user")
    form = client.get("/disputes/disputes/new/").content.decode()
    assert "a1v1村" in form and "a1v2村" not in form  # only the cadre's own villages offered
    data = {
        "village": area.villages["a1v1"].pk,
        "dispute_type": "homestead",
        "source": "screening",
        "registered_on": "2024-05-06",
        "summary": "宅基地边界争议",
        "parties": "张三、李四",
        "party_id_numbers": "411024199001011234",
        "party_phones": "13812345678",
        "people_involved": "2",
        "risk_level": "orange",
        "responsible": "村调委会",
    }
    response = client.post("/disputes/disputes/new/", data)
    assert response.status_code == 302
    dispute = Dispute.objects.get()
    assert dispute.village == area.villages["a1v1"] and dispute.party_phones == "13812345678"
    # Another village (out of the cadre's area) is a 404 and nothing is saved.
    outside = client.post("/disputes/disputes/new/", data | {"village": area.villages["a1v2"].pk})
    assert outside.status_code == 404
    assert Dispute.objects.count() == 1


def test_county_marks_resolved_and_bad_date_is_refused(client_as, area):
    dispute = DisputeFactory(village=area.villages["a1v1"], registered_on=D(2024, 5, 6))
    client = client_as("county_official")
    bad = client.post(
        f"/disputes/disputes/{dispute.pk}/", {"status": "resolved", "resolved_on": "2024-05-01"}
    )
    assert bad.status_code == 200
    assert "化解日期不能早于排查日期。" in bad.content.decode()
    dispute.refresh_from_db()
    assert dispute.status == "registered"
    ok = client.post(
        f"/disputes/disputes/{dispute.pk}/",
        {"status": "resolved", "resolved_on": "2024-05-10", "method": "people"},
    )
    assert ok.status_code == 302
    dispute.refresh_from_db()
    assert dispute.status == "resolved" and dispute.resolved_on == D(2024, 5, 10)
    detail = client.get(f"/disputes/disputes/{dispute.pk}/").content.decode()
    assert "化解状态：登记 → 已化解" in detail


def test_negative_casualties_on_the_page(client_as, area):
    client = client_as("county_official")
    response = client.post(
        "/disputes/incidents/new/",
        {"village": area.villages["a1v1"].pk, "kind": "traffic", "occurred_on": "2024-05-06",
         "place": "村口", "summary": "剐蹭", "deaths": "-1", "injuries": "0", "source": "police"},
    )  # fmt: skip
    assert response.status_code == 200
    assert "不能为负数。" in response.content.decode()
    assert not Incident.objects.exists()


def test_override_page_needs_a_reason(client_as, area):
    client = client_as("county_official")
    url = f"/disputes/sanling/village/{area.villages['a1v1'].pk}/2024/"
    response = client.post(url, {"value": "not_met", "reason": ""})
    assert response.status_code == 200 and "必须填写理由" in response.content.decode()
    assert not SanlingStatus.objects.exists()
    assert client.post(url, {"value": "not_met", "reason": "县里复核"}).status_code == 302
    page = client.get(url).content.decode()
    assert "县里复核" in page and 'data-value="derived">达标' in page
    assert client_as("other_county_official").get(url).status_code == 404
    assert "保存认定" not in client_as("township_official").get(url).content.decode()


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
def test_id_and_phone_numbers_per_role(client_as, rows, who, reveal):
    client = client_as(who)
    dispute = client.get(f"/disputes/disputes/{rows['disputes']['a1v1'].pk}/").content.decode()
    petition = client.get(f"/disputes/petitions/{rows['petitions']['a1v1'].pk}/").content.decode()
    assert ("411024199001011234" in dispute) is reveal
    assert ("13812345678" in dispute) is reveal
    assert ("411024198502023456" in petition) is reveal
    assert ("13900001111" in petition) is reveal
    if not reveal:
        assert "411024********1234" in dispute and "138****5678" in dispute
        assert "139****1111" in petition


def test_zero_report_page(client_as, area):
    client = client_as("cadre_user")
    DisputeFactory(village=area.villages["a1v1"], registered_on=D(2024, 3, 2))
    page = client.get("/disputes/zero-reports/?month=2024-03").content.decode()
    assert "有纠纷 1 件" in page
    refused = client.post(
        "/disputes/zero-reports/", {"village": area.villages["a1v1"].pk, "month": "2024-03"}
    )
    assert refused.status_code == 200 and "不能报告" in refused.content.decode()
    assert (
        client.post(
            "/disputes/zero-reports/", {"village": area.villages["a1v1"].pk, "month": "2024-04"}
        ).status_code
        == 302
    )
    assert ZeroReport.objects.count() == 1
    county = (
        client_as("county_official").get("/disputes/zero-reports/?month=2024-04").content.decode()
    )
    assert county.count("未报告</span>") == 5 and "零报告</span>" in county


def test_zero_report_page_pages_and_filters_a_county_of_many_villages(client_as, area):
    # given: county A with 60 more villages (66 in all), one 零报告 and one dispute in April
    VillageFactory.create_batch(60, township=area.townships["A1"])
    ZeroReport.objects.create(village=area.villages["a1v2"], month=D(2024, 4, 1))
    DisputeFactory(village=area.villages["a1v1"], registered_on=D(2024, 4, 3))
    client = client_as("county_official")

    # when: the whole month
    first = client.get("/disputes/zero-reports/?month=2024-04").content.decode()

    # then: the counts cover every village, the table one page of 50
    assert 'data-stat="missing">64<' in first and 'data-stat="zero">1<' in first
    assert first.count('<tr class="zero-') == 50 and "第 1 / 2 页" in first
    assert "?month=2024-04&amp;page=2" in first
    second = client.get("/disputes/zero-reports/?month=2024-04&page=2").content.decode()
    assert second.count('<tr class="zero-') == 16

    # when: only the villages that reported nothing
    missing = client.get("/disputes/zero-reports/?month=2024-04&state=missing").content.decode()
    assert missing.count('<tr class="zero-missing">') == 50 and "zero-zero" not in missing
    assert "?month=2024-04&amp;state=missing&amp;page=2" in missing
    zero = client.get("/disputes/zero-reports/?month=2024-04&state=zero").content.decode()
    assert zero.count('<tr class="zero-') == 1 and "a1v2村" in zero
    assert 'data-stat="missing">64<' in zero  # the counts stay the month's
    # an unknown state is ignored
    assert client.get("/disputes/zero-reports/?state=bogus").status_code == 200


def test_unit_pages(client_as, area):
    client = client_as("county_official")
    response = client.post(
        "/disputes/units/new/",
        {"township": area.townships["A1"].pk, "village": area.villages["a1v2"].pk, "name": "甲一小学",
         "unit_type": "school", "year_from": "2024"},
    )  # fmt: skip
    assert response.status_code == 302
    unit = ThreeZeroUnit.objects.get()
    assert client.get(f"/disputes/units/{unit.pk}/").status_code == 200
    assert client_as("other_county_official").get(f"/disputes/units/{unit.pk}/").status_code == 404
    assert client_as("township_official").get("/disputes/units/new/").status_code == 403


def test_sanling_page_lists_the_roster_with_both_values(client_as, area, county_official):
    from disputes.services import sanling_override_set, sanling_recompute

    PetitionFactory(village=area.villages["a1v2"], level_reached="county", is_skip_level=True)
    sanling_recompute(year=2024)
    sanling_override_set(
        actor=county_official,
        year=2024,
        village=area.villages["a1v3"],
        value="not_met",
        reason="复核",
    )
    page = client_as("county_official").get("/disputes/sanling/?year=2024").content.decode()
    assert page.count('class="sanling-row"') == 6
    assert "b1v1村" not in page
    assert 'data-stat="village_rate">66.7%' in page  # 4 of 6
    not_met = (
        client_as("county_official").get("/disputes/sanling/?year=2024&not_met=1").content.decode()
    )
    assert not_met.count('class="sanling-row"') == 2


def test_list_query_count_does_not_grow(client_as, area, django_assert_max_num_queries):
    client = client_as("county_official")
    for ledger, make in FACTORIES.items():
        make(village=area.villages["a1v1"])
        client.get(f"/disputes/{ledger}/")
        with django_assert_max_num_queries(40) as few:
            client.get(f"/disputes/{ledger}/")
        for _ in range(25):
            make(village=VillageFactory(township=area.townships["A1"]))
        with django_assert_max_num_queries(len(few.captured_queries)):
            assert client.get(f"/disputes/{ledger}/").status_code == 200
    UnitFactory(village=area.villages["a1v1"])


def test_home_card_for_officials(client_as, area):
    DisputeFactory(village=area.villages["a1v1"], status="resolved", resolved_on=D(2024, 3, 9))
    DisputeFactory(village=area.villages["a1v1"])
    page = client_as("county_official").get("/").content.decode()
    assert "disputes-home-card" in page and "纠纷化解率 50.0%（1/2）" in page


def test_list_filters_by_village_type_status_and_month(client_as, area):
    a1v1, a1v2 = area.villages["a1v1"], area.villages["a1v2"]
    DisputeFactory(village=a1v1, dispute_type="marriage", registered_on=D(2024, 3, 2))
    DisputeFactory(village=a1v2, dispute_type="marriage", registered_on=D(2024, 4, 2))
    DisputeFactory(
        village=a1v2, status="resolved", resolved_on=D(2024, 4, 9), registered_on=D(2024, 4, 3)
    )
    client = client_as("county_official")

    def count(query):
        return (
            client.get(f"/disputes/disputes/?{query}").content.decode().count('class="dispute-row"')
        )

    township = area.townships["A1"].pk
    assert count(f"township={township}") == 3
    assert count(f"township={township}&village={a1v2.pk}") == 2
    assert count("dispute_type=marriage") == 2
    assert count("status=resolved") == 1
    assert count("month=2024-04") == 2
    assert count(f"village={area.villages['b1v1'].pk}") == 0  # another county: invalid choice
    page = client.get(f"/disputes/disputes/?township={township}").content.decode()
    assert 'id="f_village"' in page and "a1v3村" in page


def test_unit_edit_and_sanling_pages_are_404_outside_the_area(client_as, area):
    unit = UnitFactory(village=area.villages["b1v1"])
    client = client_as("county_official")
    assert client.get(f"/disputes/units/{unit.pk}/edit/").status_code == 404
    assert client.post(f"/disputes/units/{unit.pk}/edit/", {"name": "x"}).status_code == 404
    assert client.get(f"/disputes/sanling/unit/{unit.pk}/2024/").status_code == 404
    assert (
        client.get(f"/disputes/sanling/village/{area.villages['b1v1'].pk}/2024/").status_code == 404
    )
    assert client.get("/disputes/sanling/other/1/2024/").status_code == 404
    assert (
        client_as("other_county_official").get(f"/disputes/units/{unit.pk}/edit/").status_code
        == 200
    )


def test_recompute_button_is_for_officials(client_as, area):
    PetitionFactory(village=area.villages["a1v1"], level_reached="county", is_skip_level=True)
    assert (
        client_as("cadre_user").post("/disputes/sanling/recompute/", {"year": "2024"}).status_code
        == 403
    )
    assert (
        client_as("city_viewer").post("/disputes/sanling/recompute/", {"year": "2024"}).status_code
        == 403
    )
    assert (
        client_as("township_official")
        .post("/disputes/sanling/recompute/", {"year": "2024"})
        .status_code
        == 302
    )
    assert SanlingStatus.objects.get(village=area.villages["a1v1"]).met is False
    assert not SanlingStatus.objects.filter(village=area.villages["a2v1"]).exists()  # not theirs
    assert (
        client_as("county_official")
        .post("/disputes/sanling/recompute/", {"year": "1999"})
        .status_code
        == 404
    )


def test_handle_form_offers_only_allowed_steps(client_as, area):
    dispute = DisputeFactory(
        village=area.villages["a1v1"], status="resolved", resolved_on=D(2024, 3, 9)
    )
    page = client_as("county_official").get(f"/disputes/disputes/{dispute.pk}/").content.decode()
    status_select = page.split('name="status"')[1].split("</select>")[0]
    assert "已化解" in status_select and "化解中" not in status_select
    assert (
        client_as("county_official")
        .post("/disputes/sanling/recompute/", {"year": "abc"})
        .status_code
        == 404
    )


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
def test_history_masks_changed_numbers_per_role(client_as, area, users, who, reveal):
    from disputes.services import ledger_update

    dispute = DisputeFactory(village=area.villages["a1v1"])
    petition = PetitionFactory(village=area.villages["a1v1"])
    official = users["county_official"]
    ledger_update(actor=official, record=dispute, party_phones="13700001111", party_id_numbers="")
    ledger_update(actor=official, record=petition, petitioner_id_number="411024197001015678")
    client = client_as(who)
    dispute_page = client.get(f"/disputes/disputes/{dispute.pk}/").content.decode()
    petition_page = client.get(f"/disputes/petitions/{petition.pk}/").content.decode()
    history = dispute_page.split("变更记录")[1]
    assert "当事人联系电话：" in history  # the change itself is listed
    for number, page in (
        ("13812345678", dispute_page),  # the old phone, now only in the history
        ("411024199001011234", dispute_page),  # the old ID number, now only in the history
        ("411024198502023456", petition_page),
        ("411024197001015678", petition_page),
    ):
        assert (number in page) is reveal
    if not reveal:
        assert "138****5678 → 137****1111" in history


def test_duplicate_unit_name_is_refused_with_a_message(client_as, area):
    client = client_as("county_official")
    data = {"township": area.townships["A1"].pk, "name": "甲一小学", "unit_type": "school",
            "year_from": "2024"}  # fmt: skip
    assert client.post("/disputes/units/new/", data).status_code == 302
    again = client.post("/disputes/units/new/", data | {"unit_type": "kindergarten"})
    assert again.status_code == 200
    assert "本乡镇(街道)已有同名单位。" in again.content.decode()
    assert ThreeZeroUnit.objects.count() == 1
    other = ThreeZeroUnit.objects.create(
        name="甲一幼儿园", unit_type="kindergarten", township=area.townships["A1"], year_from=2024
    )
    renamed = client.post(f"/disputes/units/{other.pk}/edit/", data)
    assert renamed.status_code == 200 and "本乡镇(街道)已有同名单位。" in renamed.content.decode()
    other.refresh_from_db()
    assert other.name == "甲一幼儿园"


NEW_RECORD = {
    "disputes": {"dispute_type": "homestead", "source": "screening", "registered_on": "2024-05-06",
                 "summary": "宅基地边界争议", "parties": "张三、李四", "people_involved": "2",
                 "risk_level": "orange", "responsible": "村调委会"},
    "petitions": {"channel": "visit", "received_on": "2024-05-06", "petitioner_name": "王五",
                  "people_involved": "1", "subject": "反映问题", "level_reached": "county",
                  "is_skip_level": "on"},
    "incidents": {"kind": "criminal", "occurred_on": "2024-05-06", "place": "村口",
                  "summary": "盗窃", "deaths": "0", "injuries": "0", "source": "police"},
    "hazards": {"site_type": "school", "site_name": "村小学", "checked_on": "2024-05-06",
                "hazard": "灭火器过期", "responsible": "赵六", "deadline": "2024-05-20"},
}  # fmt: skip


@pytest.mark.parametrize("ledger", LEDGERS)
def test_another_countys_village_or_unit_is_404_on_create_and_edit(client_as, area, ledger):
    model = FACTORIES[ledger]._meta.model
    client = client_as("county_official")
    own, other = area.villages["a1v1"], area.villages["b1v1"]
    other_unit = UnitFactory(village=other)
    data = NEW_RECORD[ledger]
    assert client.post(f"/disputes/{ledger}/new/", data | {"village": other.pk}).status_code == 404
    assert (
        client.post(f"/disputes/{ledger}/new/", data | {"unit": other_unit.pk}).status_code == 404
    )
    assert not model.objects.exists()
    assert client.post(f"/disputes/{ledger}/new/", data | {"village": own.pk}).status_code == 302
    record = model.objects.get()
    moved = client.post(f"/disputes/{ledger}/{record.pk}/edit/", data | {"village": other.pk})
    assert moved.status_code == 404
    record.refresh_from_db()
    assert record.village == own and record.history.count() == 1


def test_another_countys_objects_are_404_on_the_other_forms(client_as, area):
    client = client_as("county_official")
    other = area.villages["b1v1"]
    override = client.post(
        f"/disputes/sanling/village/{other.pk}/2024/", {"value": "not_met", "reason": "复核"}
    )
    assert override.status_code == 404
    unit = UnitFactory(village=other)
    assert (
        client.post(
            f"/disputes/sanling/unit/{unit.pk}/2024/", {"value": "not_met", "reason": "复核"}
        ).status_code
        == 404
    )
    assert not SanlingStatus.objects.exists()
    new_unit = {"name": "乙小学", "unit_type": "school", "year_from": "2024"}
    assert (
        client.post(
            "/disputes/units/new/", new_unit | {"township": area.townships["B1"].pk}
        ).status_code
        == 404
    )
    assert (
        client.post(
            "/disputes/units/new/", new_unit | {"township": area.townships["B1"].pk,
                                                "village": other.pk}
        ).status_code
        == 404
    )  # fmt: skip
    own_unit = UnitFactory(village=area.villages["a1v1"])
    moved = client.post(
        f"/disputes/units/{own_unit.pk}/edit/",
        new_unit | {"name": own_unit.name, "township": area.townships["B1"].pk},
    )
    assert moved.status_code == 404
    own_unit.refresh_from_db()
    assert own_unit.township == area.townships["A1"]
    assert ThreeZeroUnit.objects.count() == 2
    zero = client.post("/disputes/zero-reports/", {"village": other.pk, "month": "2024-04"})
    assert zero.status_code == 404 and not ZeroReport.objects.exists()


@pytest.mark.parametrize("ledger", LEDGERS)
def test_edit_page_saves_every_ledger(client_as, area, ledger):
    record = FACTORIES[ledger](village=area.villages["a1v1"])
    data = NEW_RECORD[ledger] | {"village": area.villages["a1v2"].pk}
    response = client_as("county_official").post(f"/disputes/{ledger}/{record.pk}/edit/", data)
    assert response.status_code == 302
    record.refresh_from_db()
    assert record.village == area.villages["a1v2"] and record.township == area.townships["A1"]


def test_petition_list_colours_the_statutory_clock(client_as, area):
    import re

    today = datetime.date.today()
    village = area.villages["a1v1"]
    PetitionFactory(village=village, subject="已办结事项", status="concluded",
                    accepted_on=D(2024, 3, 6), concluded_on=D(2024, 4, 1))  # fmt: skip
    PetitionFactory(village=village, subject="临期事项", received_on=today - datetime.timedelta(12))
    PetitionFactory(village=village, subject="超期事项", received_on=today - datetime.timedelta(20))
    PetitionFactory(village=village, subject="正常事项", received_on=today)
    page = client_as("county_official").get("/disputes/petitions/").content.decode()
    badges = {
        subject: badge
        for subject, badge in re.findall(
            r'<tr class="petition-row[^"]*">.*?>([^<]*事项)</a>.*?'
            r'<span class="badge petition-clock ([^"]*)">',
            page,
            re.S,
        )
    }
    assert "text-bg-success" in badges["已办结事项"]
    assert "text-bg-warning" in badges["临期事项"]
    assert "text-bg-danger" in badges["超期事项"]
    assert not any(c in badges["正常事项"] for c in ("success", "warning", "danger"))
    assert 'data-stat="overdue">1<' in page


@pytest.mark.parametrize(
    "url",
    [
        "/disputes/units/",
        "/disputes/sanling/?year=2024",
        "/disputes/sanling/?year=2024&tab=units",
        "/disputes/zero-reports/?month=2024-04",
    ],
)
def test_other_list_pages_query_count_does_not_grow(
    client_as, area, users, url, django_assert_max_num_queries
):
    from disputes.services import sanling_override_set, sanling_recompute
    from tests.factories import RosterEntryFactory

    client = client_as("county_official")

    def grow(n):
        for _ in range(n):
            village = VillageFactory(township=area.townships["A1"])
            RosterEntryFactory(roster=area.roster, village=village)
            unit = UnitFactory(village=village, year_from=2024)
            PetitionFactory(village=village, level_reached="county", is_skip_level=True)
            IncidentFactory(unit=unit, village=village, kind="criminal")
            DisputeFactory(village=village, registered_on=D(2024, 4, 2))
            ZeroReport.objects.create(
                village=village, month=D(2024, 4, 1), reported_by=users["cadre_user"]
            )
            sanling_override_set(
                actor=users["county_official"],
                year=2024,
                village=village,
                value="met",
                reason="复核",
            )
        sanling_recompute(year=2024)

    grow(2)
    client.get(url)
    with django_assert_max_num_queries(40) as few:
        assert client.get(url).status_code == 200
    grow(20)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert client.get(url).status_code == 200


@pytest.mark.parametrize(
    ("who", "deletes"),
    [("cadre_user", False), ("city_viewer", False), ("township_official", True),
     ("county_official", True), ("city_admin", True)],
)  # fmt: skip
def test_delete_is_for_officials_of_the_area(client_as, area, who, deletes):
    dispute = DisputeFactory(village=area.villages["a1v1"])
    client = client_as(who)
    page = client.get(f"/disputes/disputes/{dispute.pk}/").content.decode()
    assert (f"/disputes/disputes/{dispute.pk}/delete/" in page) is deletes
    response = client.post(f"/disputes/disputes/{dispute.pk}/delete/")
    assert response.status_code == (302 if deletes else 403)
    assert Dispute.objects.filter(pk=dispute.pk).exists() is not deletes
    sanling = client.get("/disputes/sanling/").content.decode()
    assert ("按记录重新计算" in sanling) is deletes


def test_history_reads_in_chinese(client_as, area, users):
    from disputes.services import ledger_update

    official = users["county_official"]
    petition = PetitionFactory(village=area.villages["a1v1"])
    ledger_update(actor=official, record=petition, status="accepted",
                    accepted_on=D(2024, 3, 6), village=area.villages["a1v2"])  # fmt: skip
    ledger_update(actor=official, record=petition, extended=True)
    hazard = HazardFactory(village=area.villages["a1v1"])
    ledger_update(actor=official, record=hazard, regulated_items=["chemicals", "explosives"])
    client = client_as("county_official")
    page = client.get(f"/disputes/petitions/{petition.pk}/").content.decode()
    history = page.split("变更记录")[1]
    assert "已延期：否 → 是" in history
    assert "村(社区)：a1v1村 → a1v2村" in history
    assert "办理状态：待受理 → 办理中" in history
    page = client.get(f"/disputes/hazards/{hazard.pk}/").content.decode()
    history = page.split("变更记录")[1]
    assert "涉及管控物品：（空） → 危险化学品、民爆物品" in history
    assert "chemicals" not in history


@pytest.mark.parametrize("ledger", LEDGERS)
@pytest.mark.parametrize("query", ["year=99999", "year=0", "year=-1", "month=0000-01"])
def test_impossible_year_or_month_is_a_filter_error_not_a_500(client_as, area, ledger, query):
    DisputeFactory(village=area.villages["a1v1"])
    client = client_as("county_official")
    response = client.get(f"/disputes/{ledger}/?{query}")
    assert response.status_code == 200
    text = response.content.decode()
    assert "筛选条件无效" in text
    assert "年度应为 1900 到 2099 之间的年份。" in text or "月份格式应为" in text
    api = client.get(f"/api/{ledger}/?{query}")
    assert api.status_code == 400
    units = client.get(f"/disputes/units/?{query}")
    assert units.status_code == 200


def test_the_apps_root_address_lands_on_the_yearly_status(client, users):
    client.force_login(users["county_official"])

    response = client.get("/disputes/")

    assert response.status_code == 302
    assert response["Location"] == "/disputes/sanling/"
