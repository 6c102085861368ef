"""Programme years: open (previewed, roster frozen, links carried forward, targets copied),
the counties' confirmation of the links, close (blockers named, final snapshots) and
reopen with a written reason. The clock is pinned: the `area` world is the year 2024, and
"today" is early 2025, when the city opens 2025."""

import datetime
import json
from io import StringIO

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import CommandError, call_command
from django.urls import reverse

from dashboards.models import IndicatorSnapshot, Target
from dashboards.selectors import dashboard_years, default_dashboard_year
from dashboards.services import compute_snapshots, target_save
from tests.visits.helpers import VisitFactory
from villages.models import Assignment, AssignmentProposal, ProgrammeYear, Roster
from villages.selectors import current_programme_year, default_year
from villages.services import (
    programme_year_close,
    programme_year_close_preview,
    programme_year_open,
    programme_year_open_preview,
    programme_year_reopen,
    proposal_change,
    proposal_end,
    proposals_confirm,
    proposals_end,
)
from visits.models import Visit

TODAY = datetime.datetime(2025, 1, 6, 10, 0, tzinfo=datetime.UTC)


@pytest.fixture(autouse=True)
def _clock():
    with time_machine.travel(TODAY, tick=False):
        yield


@pytest.fixture
def year_2024(area):
    ProgrammeYear.objects.create(year=2024)
    Target.objects.create(
        year=2024, indicator="sanling_village_rate", comparison="gte", threshold=80
    )
    return area


def _counts():
    return (
        ProgrammeYear.objects.count(),
        Roster.objects.count(),
        AssignmentProposal.objects.count(),
        Assignment.objects.count(),
        Target.objects.count(),
    )


def test_preview_says_what_opening_does_and_writes_nothing(year_2024):
    before = _counts()
    plan = programme_year_open_preview(year=2025)
    assert plan.blockers == []
    text = "\n".join(plan.lines)
    assert "沿用2024年度名册（8 个村(社区)" in text
    assert "1 个联乡、3 个帮村" in text
    assert "复制2024年度的 1 项目标" in text
    assert "双十工作日规则" in text
    assert _counts() == before


def test_open_freezes_roster_proposes_links_copies_targets(year_2024, city_admin):
    plan = programme_year_open(actor=city_admin, year=2025)
    assert plan.changed
    roster = Roster.objects.get(year=2025)
    assert roster.is_frozen and roster.entries.count() == 8
    proposals = AssignmentProposal.objects.filter(year=2025)
    assert proposals.count() == 4
    assert set(proposals.values_list("decision", flat=True)) == {"pending"}
    assert Target.objects.filter(year=2025).count() == 1
    py = ProgrammeYear.objects.get(year=2025)
    assert py.status == "open"
    record = py.history.get()
    assert record.history_user == city_admin and "开启2025年度" in record.history_change_reason
    # the open year that holds today is where pages and dashboards open
    assert current_programme_year() == 2025
    assert default_year() == 2025
    assert default_dashboard_year() == 2025
    assert dashboard_years() == [2025, 2024]


def test_opening_twice_is_refused_and_writes_nothing(year_2024, city_admin):
    programme_year_open(actor=city_admin, year=2025)
    before = _counts()
    with pytest.raises(ValidationError) as exc:
        programme_year_open(actor=city_admin, year=2025)
    assert "2025年度已开启（进行中），不能重复开启。" in exc.value.messages
    assert _counts() == before


def test_open_refusals_list_every_blocker(area, city_admin):
    Roster.objects.all().delete()
    with pytest.raises(ValidationError) as exc:
        programme_year_open(actor=city_admin, year=2027)
    messages = exc.value.messages
    assert any("只能开启本年度或下一年度" in m for m in messages)
    assert any("没有可沿用的名册" in m for m in messages)
    assert not ProgrammeYear.objects.exists()


def test_only_city_admins_open_close_and_reopen(year_2024, county_official):
    with pytest.raises(PermissionDenied):
        programme_year_open(actor=county_official, year=2025)
    with pytest.raises(PermissionDenied):
        programme_year_close(actor=county_official, year=2024)
    with pytest.raises(PermissionDenied):
        programme_year_reopen(actor=county_official, year=2024, reason="统计有误需更正")
    assert not ProgrammeYear.objects.filter(year=2025).exists()


def test_county_confirms_its_own_links_only(year_2024, city_admin, county_official):
    programme_year_open(actor=city_admin, year=2025)
    own = AssignmentProposal.objects.filter(year=2025, county=year_2024.county_a)
    other = AssignmentProposal.objects.filter(year=2025, county=year_2024.county_b)
    assert own.count() == 2 and other.count() == 2
    with pytest.raises(PermissionDenied):
        proposals_confirm(actor=county_official, proposals=list(other))
    assert proposals_confirm(actor=county_official, proposals=list(own)) == 2
    made = Assignment.objects.filter(year=2025)
    assert made.count() == 2
    assert {(a.start_date, a.end_date) for a in made} == {
        (datetime.date(2025, 1, 1), datetime.date(2025, 12, 31))
    }
    assert set(own.values_list("decision", flat=True)) == {"confirmed"}
    # confirming again changes nothing
    assert proposals_confirm(actor=county_official, proposals=list(own)) == 0
    assert Assignment.objects.filter(year=2025).count() == 2


def test_a_link_to_a_village_outside_the_new_roster_is_refused_by_name(year_2024, city_admin):
    programme_year_open(actor=city_admin, year=2025)
    Roster.objects.filter(year=2025).update(is_frozen=False)
    Roster.objects.get(year=2025).entries.filter(village=year_2024.villages["b1v1"]).delete()
    rows = list(AssignmentProposal.objects.filter(year=2025))
    with pytest.raises(ValidationError) as exc:
        proposals_confirm(actor=city_admin, proposals=rows)
    assert any("乙一干部" in m and "不在2025年度名册中" in m for m in exc.value.messages)
    assert not Assignment.objects.filter(year=2025).exists()


def test_change_then_confirm_and_end(year_2024, city_admin, county_official):
    programme_year_open(actor=city_admin, year=2025)
    a1v1 = AssignmentProposal.objects.get(year=2025, village=year_2024.villages["a1v1"])
    with pytest.raises(ValidationError):
        proposal_change(actor=county_official, proposal=a1v1, village=year_2024.villages["b1v2"])
    proposal_change(actor=county_official, proposal=a1v1, village=year_2024.villages["a1v2"])
    a1v1.refresh_from_db()
    assert a1v1.decision == "confirmed" and a1v1.assignment.village == year_2024.villages["a1v2"]
    township = AssignmentProposal.objects.get(year=2025, kind="township")
    proposal_end(actor=county_official, proposal=township)
    township.refresh_from_db()
    assert township.decision == "ended" and township.assignment is None


def test_bulk_end_is_all_or_nothing(year_2024, city_admin, county_official):
    programme_year_open(actor=city_admin, year=2025)
    own = list(AssignmentProposal.objects.filter(year=2025, county=year_2024.county_a))
    other = AssignmentProposal.objects.filter(year=2025, county=year_2024.county_b).first()
    # one row of another county refuses the lot: none of the own rows is ended either
    with pytest.raises(PermissionDenied):
        proposals_end(actor=county_official, proposals=[*own, other])
    assert set(AssignmentProposal.objects.filter(year=2025).values_list("decision", flat=True)) == {
        "pending"
    }
    assert proposals_end(actor=county_official, proposals=own) == 2
    assert proposals_end(actor=county_official, proposals=own) == 0  # idempotent


def test_close_is_refused_while_anything_is_open(year_2024, city_admin, cadre_user):
    programme_year_open(actor=city_admin, year=2025)
    VisitFactory(
        cadre=year_2024.cadres["a1v1"],
        village=year_2024.villages["a1v1"],
        date=datetime.date(2025, 1, 3),
        state=Visit.State.SUBMITTED,
    )
    plan = programme_year_close_preview(year=2025)
    assert any("甲县 2 条" in b and "乙县 2 条" in b for b in plan.blockers)
    assert "还有 1 条下沉记录待审核。" in plan.blockers
    with pytest.raises(ValidationError):
        programme_year_close(actor=city_admin, year=2025)
    assert ProgrammeYear.objects.get(year=2025).status == "open"
    assert not IndicatorSnapshot.objects.filter(year=2025).exists()


def test_close_takes_final_snapshots_and_keeps_them(year_2024, city_admin):
    plan = programme_year_close(actor=city_admin, year=2024)
    assert plan.changed
    py = ProgrammeYear.objects.get(year=2024)
    assert py.is_closed
    final = IndicatorSnapshot.objects.filter(year=2024)
    assert final.exists()
    computed = set(final.values_list("computed_at", flat=True))
    # nothing recomputes a closed year: not the nightly run, not the 刷新数据 button
    assert compute_snapshots(year=2024).snapshots == 0
    assert (
        set(IndicatorSnapshot.objects.filter(year=2024).values_list("computed_at", flat=True))
        == computed
    )
    # the command shows the figures taken at closing
    out = StringIO()
    call_command("compute_targets", "--year", "2024", "--json", stdout=out, stderr=StringIO())
    shown = json.loads(out.getvalue())
    assert set(shown) == set(final.values_list("indicator", flat=True))
    # closing again changes nothing
    assert not programme_year_close(actor=city_admin, year=2024).changed
    # a target of a closed year is refused
    target = Target.objects.get(year=2024)
    target.threshold = 70
    with pytest.raises(ValidationError) as exc:
        target_save(actor=city_admin, target=target)
    assert "2024年度已结账" in exc.value.messages[0]
    assert Target.objects.get(year=2024).threshold == 80


def test_reopen_needs_a_reason_and_keeps_it_in_history(year_2024, city_admin):
    programme_year_close(actor=city_admin, year=2024)
    with pytest.raises(ValidationError) as exc:
        programme_year_reopen(actor=city_admin, year=2024, reason="  ")
    assert "请填写重新开启的理由" in exc.value.messages[0]
    assert ProgrammeYear.objects.get(year=2024).is_closed
    plan = programme_year_reopen(actor=city_admin, year=2024, reason="乙县补录12月走访记录")
    assert plan.changed
    py = ProgrammeYear.objects.get(year=2024)
    assert py.status == "open" and py.reason == "乙县补录12月走访记录"
    latest = py.history.order_by("-history_id").first()
    assert "乙县补录12月走访记录" in latest.history_change_reason
    assert latest.history_user == city_admin
    # reopening an open year changes nothing
    assert not programme_year_reopen(actor=city_admin, year=2024, reason="再次开启").changed
    assert compute_snapshots(year=2024).snapshots > 0


def test_command_open_close_reopen_idempotent(year_2024, city_admin):
    out = StringIO()
    call_command("programme_year", "open", "--year", "2025", "--preview", stdout=out)
    assert "预览：未写入任何数据。" in out.getvalue()
    assert not ProgrammeYear.objects.filter(year=2025).exists()
    call_command("programme_year", "open", "--year", "2025", stdout=StringIO())
    before = _counts()
    out = StringIO()
    call_command("programme_year", "open", "--year", "2025", stdout=out)
    assert "无需重复开启" in out.getvalue()
    assert _counts() == before
    with pytest.raises(CommandError) as exc:
        call_command("programme_year", "close", "--year", "2025", stdout=StringIO())
    assert "联系点延续建议待确认" in str(exc.value)
    proposals_confirm(actor=city_admin, proposals=AssignmentProposal.objects.filter(year=2025))
    call_command("programme_year", "close", "--year", "2025", stdout=StringIO())
    call_command("programme_year", "close", "--year", "2025", stdout=StringIO())
    assert ProgrammeYear.objects.get(year=2025).is_closed
    assert ProgrammeYear.objects.get(year=2025).history.count() == 2
    with pytest.raises(CommandError):
        call_command("programme_year", "reopen", "--year", "2025", stdout=StringIO())
    call_command(
        "programme_year", "reopen", "--year", "2025", "--reason", "补录数据", stdout=StringIO()
    )
    assert ProgrammeYear.objects.get(year=2025).status == "open"


# ----- pages -----


def test_year_pages_are_for_city_admins(client, login, year_2024, county_official, city_viewer):
    for user in (county_official, city_viewer):
        login(client, user)
        assert client.get(reverse("villages:year_list")).status_code == 403
        assert client.post(reverse("villages:year_open"), {"year": 2025}).status_code == 403
        assert client.post(reverse("villages:year_close", args=[2024])).status_code == 403
    assert not ProgrammeYear.objects.filter(year=2025).exists()


def test_admin_previews_opens_closes_and_reopens_on_pages(client, login, year_2024, city_admin):
    login(client, city_admin)
    page = client.get(reverse("villages:year_list"))
    assert page.status_code == 200 and "开启新年度" in page.content.decode()
    preview = client.get(reverse("villages:year_open"), {"year": 2025}).content.decode()
    assert "沿用2024年度名册" in preview and "确认开启新年度" in preview
    assert not ProgrammeYear.objects.filter(year=2025).exists()
    client.post(reverse("villages:year_open"), {"year": 2025})
    assert ProgrammeYear.objects.filter(year=2025).exists()
    again = client.get(reverse("villages:year_open"), {"year": 2025}).content.decode()
    assert "不能重复开启" in again and "确认开启新年度" not in again
    blocked = client.get(reverse("villages:year_close", args=[2025])).content.decode()
    assert "联系点延续建议待确认" in blocked
    client.post(reverse("villages:year_close", args=[2024]))
    assert ProgrammeYear.objects.get(year=2024).is_closed
    refused = client.post(reverse("villages:year_reopen", args=[2024]), {"reason": "改"})
    assert "至少 4 个字" in refused.content.decode()
    client.post(reverse("villages:year_reopen", args=[2024]), {"reason": "更正乙县数据"})
    assert ProgrammeYear.objects.get(year=2024).reason == "更正乙县数据"
    history = client.get(reverse("villages:year_reopen", args=[2024])).content.decode()
    assert "更正乙县数据" in history


def test_proposal_pages_are_scoped_to_the_county(
    client, login, year_2024, city_admin, county_official, cadre_user
):
    programme_year_open(actor=city_admin, year=2025)
    own = AssignmentProposal.objects.filter(year=2025, county=year_2024.county_a)
    other = AssignmentProposal.objects.get(
        year=2025, county=year_2024.county_b, cadre__name="乙一干部"
    )
    login(client, county_official)
    page = client.get(reverse("villages:proposal_list", args=[2025])).content.decode()
    assert "甲一干部" in page and "乙一干部" not in page
    url = reverse("villages:proposal_change", args=[2025, other.pk])
    assert client.get(url).status_code == 404
    assert client.post(url, {"target": year_2024.villages["b1v2"].pk}).status_code == 404
    # a bulk action naming another county's row touches nothing of it
    client.post(
        reverse("villages:proposal_list", args=[2025]), {"action": "confirm", "ids": [other.pk]}
    )
    other.refresh_from_db()
    assert other.decision == "pending"
    client.post(reverse("villages:proposal_list", args=[2025]), {"action": "confirm_all"})
    assert set(own.values_list("decision", flat=True)) == {"confirmed"}
    other.refresh_from_db()
    assert other.decision == "pending"
    login(client, cadre_user)
    assert client.get(reverse("villages:proposal_list", args=[2025])).status_code == 404


def test_dashboard_says_settled_for_a_closed_year(client, login, year_2024, city_admin):
    programme_year_close(actor=city_admin, year=2024)
    login(client, city_admin)
    page = client.get(reverse("dashboards:city"), {"year": 2024}).content.decode()
    assert "已结账" in page
