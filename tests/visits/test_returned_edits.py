"""The 7-day edit window judges only first edits of visits still awaiting review: a visit a
reviewer returned (退回) stays open to its cadre at any age, on the page and the API, until
the cadre resubmits it; from then on the window applies again.

The world is the `area` fixture (tests/conftest.py): `cadre_user` 帮村 a1v1 (assignments
cover 2024), A1's township official reviews. The clock is pinned with time_machine at
2024-06-20 10:00 (Asia/Shanghai); the visit below was logged 40 days before, on 2024-05-11,
and returned the day before, on 2024-06-19.
"""

import datetime
import re
import uuid
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import ValidationError
from rest_framework.test import APIClient

from visits.models import Visit, VisitEvent
from visits.selectors import visit_edit_refusal, visit_editable
from visits.services import visit_create, visit_return, visit_update

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.filterwarnings("ignore:No directory at:UserWarning"),
]

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime.datetime(2024, 6, 20, 10, 0, tzinfo=SHANGHAI)
LOGGED = datetime.datetime(2024, 5, 11, 18, 30, tzinfo=SHANGHAI)  # 40 days before NOW
RETURNED = datetime.datetime(2024, 6, 19, 15, 0, tzinfo=SHANGHAI)  # yesterday
OLD_TEXT = "这条记录填报于 2024年5月11日，已超过 7 天，待审核期间不能再修改"


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False):
        yield


def _log(cadre_user, village, when):
    with time_machine.travel(when, tick=False):
        visit, created = visit_create(
            actor=cadre_user,
            client_uuid=uuid.uuid4(),
            village=village,
            date=when.date(),
            day_part=Visit.DayPart.FULL,
            activities=[Visit.Activity.HOUSEHOLD.value],
            meetings=1,
            people_reached=10,
            households_visited=4,
        )
    assert created
    return visit


@pytest.fixture
def old_returned(area, cadre_user, township_official):
    """A visit dated and logged 40 days ago, returned by the township yesterday."""
    visit = _log(cadre_user, area.villages["a1v1"], LOGGED)
    with time_machine.travel(RETURNED, tick=False):
        visit_return(actor=township_official, visit=visit, comment="请补充入户名单")
    visit.refresh_from_db()
    assert visit.state == Visit.State.RETURNED
    return visit


@pytest.fixture
def old_unreviewed(area, cadre_user):
    """A visit logged 8 days ago and never reviewed."""
    return _log(cadre_user, area.villages["a1v1"], NOW - datetime.timedelta(days=8))


def _form(visit, **overrides):
    data = {
        "village": visit.village_id,
        "date": visit.date.isoformat(),
        "day_part": "full",
        "activities": ["household", "meeting"],
        "meetings": "1",
        "people_reached": "10",
        "households_visited": "4",
        "notes": "",
        "latitude": "",
        "longitude": "",
    }
    return data | overrides


def _written(visit):
    """What an edit leaves behind: the row's history and the review events."""
    return (
        Visit.history.filter(id=visit.pk).count(),
        VisitEvent.objects.filter(visit=visit).count(),
    )


def _api(user):
    client = APIClient()
    client.force_login(user)
    return client


# ----- the rule, in one place -----


def test_a_returned_visit_is_editable_at_any_age_until_it_is_resubmitted(cadre_user, old_returned):
    assert visit_edit_refusal(old_returned) is None

    visit_update(actor=cadre_user, visit=old_returned, households_visited=9)

    old_returned.refresh_from_db()
    assert old_returned.state == Visit.State.SUBMITTED
    assert old_returned.households_visited == 9
    assert list(old_returned.events.values_list("action", flat=True)) == [
        "submit",
        "return",
        "resubmit",
    ]
    # resubmitted: no longer returned, so the 7-day rule judges it again
    assert OLD_TEXT in visit_edit_refusal(old_returned)
    before = _written(old_returned)
    with pytest.raises(ValidationError) as exc:
        visit_update(actor=cadre_user, visit=old_returned, households_visited=1)
    assert OLD_TEXT in exc.value.messages[0] and "退回" in exc.value.messages[0]
    old_returned.refresh_from_db()
    assert old_returned.households_visited == 9
    assert _written(old_returned) == before


def test_an_unreviewed_visit_older_than_7_days_stays_closed(cadre_user, old_unreviewed):
    assert not visit_editable(old_unreviewed)
    assert visit_editable(old_unreviewed, now=NOW - datetime.timedelta(days=2))
    before = _written(old_unreviewed)

    with pytest.raises(ValidationError) as exc:
        visit_update(actor=cadre_user, visit=old_unreviewed, notes="过期修改")

    assert exc.value.messages == [
        "这条记录填报于 2024年6月12日，已超过 7 天，待审核期间不能再修改；"
        "如需更正，请联系审核人退回后再修改。"
    ]
    old_unreviewed.refresh_from_db()
    assert old_unreviewed.notes == ""
    assert _written(old_unreviewed) == before


def test_a_second_return_reopens_a_resubmitted_old_visit(
    cadre_user, township_official, old_returned
):
    visit_update(actor=cadre_user, visit=old_returned, notes="已补充")
    old_returned.refresh_from_db()
    assert not visit_editable(old_returned)

    visit_return(actor=township_official, visit=old_returned, comment="名单仍不完整")

    old_returned.refresh_from_db()
    assert visit_editable(old_returned)
    visit_update(actor=cadre_user, visit=old_returned, notes="已补全名单")
    old_returned.refresh_from_db()
    assert (old_returned.state, old_returned.notes) == (Visit.State.SUBMITTED, "已补全名单")


# ----- the pages -----


def test_the_home_page_leads_to_a_working_form_for_an_old_returned_visit(
    client, cadre_user, old_returned
):
    client.force_login(cadre_user)
    home = client.get("/").content.decode()
    assert "已退回 1 条，请修改后重新提交" in home
    assert "退回意见：请补充入户名单" in home
    detail_url = f"/visits/{old_returned.pk}/"
    assert f'href="{detail_url}"' in home

    detail = client.get(detail_url).content.decode()
    edit_url = f"/visits/{old_returned.pk}/edit/"
    assert f'href="{edit_url}"' in detail and "编辑并重新提交" in detail
    assert "不能再修改" not in detail

    form = client.get(edit_url)
    assert form.status_code == 200
    assert "保存并重新提交" in form.content.decode()

    posted = client.post(edit_url, _form(old_returned, notes="补充：入户 6 户"))

    assert posted.status_code == 302 and posted["Location"] == detail_url
    old_returned.refresh_from_db()
    assert (old_returned.state, old_returned.notes) == (Visit.State.SUBMITTED, "补充：入户 6 户")
    assert old_returned.events.last().action == VisitEvent.Action.RESUBMIT
    after = client.get(detail_url).content.decode()
    assert "已修改并重新提交审核。" in after
    assert f'href="{edit_url}"' not in after
    assert OLD_TEXT in after
    assert "已退回" not in client.get("/").content.decode()


def test_the_edit_page_refuses_an_old_unreviewed_visit_in_chinese(
    client, cadre_user, old_unreviewed
):
    client.force_login(cadre_user)
    detail_url = f"/visits/{old_unreviewed.pk}/"
    edit_url = f"/visits/{old_unreviewed.pk}/edit/"
    before = _written(old_unreviewed)

    detail = client.get(detail_url).content.decode()
    shown = client.get(edit_url)
    posted = client.post(edit_url, _form(old_unreviewed, notes="过期修改"))

    assert f'href="{edit_url}"' not in detail
    assert "已超过 7 天，待审核期间不能再修改" in detail
    for response in (shown, posted):
        assert response.status_code == 302 and response["Location"] == detail_url
    old_unreviewed.refresh_from_db()
    assert old_unreviewed.notes == ""
    assert _written(old_unreviewed) == before
    message = client.get(detail_url).content.decode()
    assert re.search("这条记录填报于 2024年6月12日，已超过 7 天.*请联系审核人退回后再修改", message)


# ----- the API -----


def test_the_api_lets_the_cadre_fix_an_old_returned_visit_once(cadre_user, old_returned):
    api = _api(cadre_user)
    url = f"/api/visits/{old_returned.pk}/"
    assert api.get(url).json()["editable"] is True

    fixed = api.patch(url, {"households_visited": 7, "notes": "已补充"}, format="json")

    assert fixed.status_code == 200, fixed.content
    body = fixed.json()
    assert (body["state"], body["households_visited"], body["editable"]) == ("submitted", 7, False)
    assert [e["action"] for e in body["events"]] == ["submit", "return", "resubmit"]

    before = _written(old_returned)
    again = api.patch(url, {"households_visited": 1}, format="json")
    assert again.status_code == 400
    assert OLD_TEXT in again.json()["detail"][0]
    old_returned.refresh_from_db()
    assert old_returned.households_visited == 7
    assert _written(old_returned) == before


def test_the_api_refuses_an_old_unreviewed_visit_in_chinese(cadre_user, old_unreviewed):
    api = _api(cadre_user)
    url = f"/api/visits/{old_unreviewed.pk}/"
    assert api.get(url).json()["editable"] is False
    before = _written(old_unreviewed)

    response = api.patch(url, {"notes": "过期修改"}, format="json")

    assert response.status_code == 400
    assert response.json()["detail"] == [
        "这条记录填报于 2024年6月12日，已超过 7 天，待审核期间不能再修改；"
        "如需更正，请联系审核人退回后再修改。"
    ]
    assert _written(old_unreviewed) == before


def test_the_reviewer_sees_the_old_returned_visit_as_not_theirs_to_edit(
    township_official, old_returned
):
    body = _api(township_official).get(f"/api/visits/{old_returned.pk}/").json()
    assert body["editable"] is False
