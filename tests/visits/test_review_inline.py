"""The review queue at a glance (issue 17, point 4b): each row shows the visit's photo
thumbnails, its location flag, its photo flags and the first line of its notes; approve and
return work inline, one visit (the row is replaced in place by htmx, or the page comes back
without JavaScript) or many at once with one comment. A page of 200 visits with 3 photos
each costs the same few queries as a page of one, and never makes a thumbnail.

The world is the `area` fixture (tests/conftest.py): county A (甲县) with township A1
(甲一镇, a1v1 …) and A2; county B (乙县). 甲一干部 (`cadre_user`) 帮村 a1v1村 in 2024.
"""

from __future__ import annotations

import datetime
import io
import re
from decimal import Decimal
from unittest import mock

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image
from playwright.sync_api import expect

from tests.browser_helpers import sign_in, watch_csp
from tests.visits.helpers import DAY, visit_fields
from visits.models import Visit, VisitEvent, VisitPhoto
from visits.services import visit_approve, visit_create, visit_return

pytestmark = pytest.mark.django_db

HX = {"HX-Request": "true"}


def jpeg(color=(90, 140, 60)) -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", (320, 240), color).save(buffer, format="JPEG")
    return SimpleUploadedFile("photo.jpg", buffer.getvalue(), content_type="image/jpeg")


def log(user, village, day=DAY, **fields):
    visit, created = visit_create(actor=user, **visit_fields(village, date=day, **fields))
    assert created
    return visit


@pytest.fixture
def a1v1(area):
    village = area.villages["a1v1"]
    village.latitude, village.longitude = Decimal("34.0"), Decimal("113.8")
    village.save(update_fields=["latitude", "longitude"])
    return village


@pytest.fixture
def flagged_visit(users, a1v1):
    """A visit logged 33 km from a1v1村, with a photo taken 13 days before and one fine."""
    return log(
        users["cadre_user"],
        a1v1,
        latitude=Decimal("34.3"),
        longitude=Decimal("113.8"),
        notes="入户走访五户，了解低保申请情况。\n第二行不显示在列表里。",
        photos=[jpeg(), jpeg((200, 30, 30))],
        photo_taken_at=["2024-05-01T09:00:00", "2024-05-14T09:00:00"],
        photo_latitude=["34.3", "34.0"],
        photo_longitude=["113.8", "113.8"],
    )


def row_of(html: str, visit) -> str:
    match = re.search(rf'<tr id="review-row-{visit.pk}">.*?</tr>', html, re.S)
    assert match, f"no row for visit {visit.pk}"
    return match.group(0)


# ----- what a row shows -----


def test_a_row_shows_thumbnails_flags_and_the_first_line_of_the_notes(client, users, flagged_visit):
    client.force_login(users["township_official"])

    row = row_of(client.get("/visits/review/").content.decode(), flagged_visit)

    photos = list(flagged_visit.photos.order_by("id"))
    for photo in photos:
        assert f'src="/visits/{flagged_visit.pk}/photos/{photo.pk}/thumbnail/"' in row
        assert f'href="/visits/{flagged_visit.pk}/photos/{photo.pk}/"' in row
    assert row.count("review-thumb-flagged") == 1  # the photo of 5月1日, 33 km away
    assert "位置存疑" in row  # the visit's own fix
    assert "照片时间存疑" in row and "照片地点存疑" in row
    assert "入户走访五户，了解低保申请情况。" in row
    assert "第二行" not in row


def test_a_row_without_photos_or_flags_says_so(client, users, a1v1):
    visit = log(users["cadre_user"], a1v1, notes="")
    client.force_login(users["township_official"])

    row = row_of(client.get("/visits/review/").content.decode(), visit)

    assert "无照片" in row
    assert "存疑" not in row


def test_each_waiting_row_has_its_own_approve_and_return_forms(client, users, flagged_visit):
    client.force_login(users["township_official"])

    html = client.get("/visits/review/").content.decode()

    pk = flagged_visit.pk
    approve = re.search(rf'<form id="review-approve-{pk}"[^>]*>', html).group(0)
    back = re.search(rf'<form id="review-return-{pk}"[^>]*>', html).group(0)
    assert f'action="/visits/{pk}/approve/"' in approve and 'hx-post="' in approve
    assert f'action="/visits/{pk}/return/"' in back and f'hx-target="#review-row-{pk}"' in back
    row = row_of(html, flagged_visit)
    assert f'form="review-approve-{pk}"' in row
    assert re.search(rf'<input[^>]*name="comment"[^>]*form="review-return-{pk}"', row)
    # and the bulk return, with its one comment
    assert 'formaction="/visits/review/return/"' in html
    assert 'name="bulk_comment"' in html


# ----- the query count of a full page -----


def _bulk_visits(area, count: int, photos_each: int) -> None:
    cadre, village = area.cadres["a1v1"], area.villages["a1v1"]
    visits = Visit.objects.bulk_create(
        Visit(
            cadre=cadre,
            village=village,
            date=DAY - datetime.timedelta(days=i % 100),
            activities=["household"],
            notes=f"第{i}次走访\n详情",
            location_flag=i % 2 == 0,
        )
        for i in range(count)
    )
    VisitPhoto.objects.bulk_create(
        VisitPhoto(
            visit=visit,
            image=f"visits/test/{visit.pk}-{n}.jpg",
            thumbnail=f"visits/test/thumbs/{visit.pk}-{n}.jpg",
            time_flag=n == 0,
            place_flag=n == 1,
        )
        for visit in visits
        for n in range(photos_each)
    )


def test_a_page_of_200_visits_with_3_photos_each_costs_a_fixed_number_of_queries(
    client, users, area, django_assert_max_num_queries
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.force_login(users["county_official"])
    _bulk_visits(area, 1, 3)
    client.get("/visits/review/?size=200")  # the first request also loads the login

    with CaptureQueriesContext(connection) as one_visit:
        client.get("/visits/review/?size=200")
    _bulk_visits(area, 199, 3)

    with (
        mock.patch("visits.services._thumbnail_jpeg", side_effect=AssertionError("thumbnail")),
        mock.patch("visits.watermark.burn", side_effect=AssertionError("watermark")),
        django_assert_max_num_queries(len(one_visit.captured_queries)),
    ):
        response = client.get("/visits/review/?size=200")

    html = response.content.decode()
    assert response.status_code == 200
    assert html.count('<tr id="review-row-') == 200
    assert html.count('class="review-thumb') == 600
    assert len(one_visit.captured_queries) <= 8  # session, login, count, page, photos…


def test_the_page_size_is_one_of_the_offered_sizes(client, users, area):
    _bulk_visits(area, 120, 0)
    client.force_login(users["county_official"])

    rows = {
        size: client.get(f"/visits/review/?size={size}").content.decode().count("review-row-")
        for size in ("100", "200", "7", "abc")
    }

    # each row's id is named by its row and by the two forms that target it
    assert rows == {"100": 100 * 3, "200": 120 * 3, "7": 50 * 3, "abc": 50 * 3}


# ----- one visit, inline -----


def test_approve_inline_with_htmx_replaces_the_row(client, users, flagged_visit):
    client.force_login(users["township_official"])

    response = client.post(
        f"/visits/{flagged_visit.pk}/approve/",
        {"next": "/visits/review/", "select_col": "1"},
        headers=HX,
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert html.startswith(f'<tr id="review-row-{flagged_visit.pk}">')
    assert "<html" not in html
    assert "已审核通过。" in html and "已通过" in html
    assert 'form="review-approve-' not in html  # nothing left to do on it
    assert '<td class="select-col"></td>' in html  # the column stays, empty
    assert "照片时间存疑" in html  # the rest of the row as it was
    flagged_visit.refresh_from_db()
    assert flagged_visit.state == Visit.State.APPROVED
    assert flagged_visit.reviewed_by == users["township_official"]
    # the message went into the row, not into the next page
    assert (
        "已审核通过" not in client.get("/visits/review/?state=").content.decode().split("<table")[0]
    )


def test_return_inline_with_htmx_takes_the_comment(client, users, flagged_visit):
    client.force_login(users["township_official"])

    response = client.post(
        f"/visits/{flagged_visit.pk}/return/",
        {"comment": "照片拍摄时间早于走访日期，请补充当天照片。", "select_col": "0"},
        headers=HX,
    )

    html = response.content.decode()
    assert response.status_code == 200
    assert "已退回" in html and "照片拍摄时间早于走访日期" in html
    assert "select-col" not in html
    flagged_visit.refresh_from_db()
    assert flagged_visit.state == Visit.State.RETURNED
    assert flagged_visit.review_comment == "照片拍摄时间早于走访日期，请补充当天照片。"
    assert flagged_visit.events.filter(action=VisitEvent.Action.RETURN).count() == 1


def test_return_inline_without_a_comment_says_so_in_the_row(client, users, flagged_visit):
    client.force_login(users["township_official"])

    response = client.post(f"/visits/{flagged_visit.pk}/return/", {"comment": " "}, headers=HX)

    html = response.content.decode()
    assert response.status_code == 200
    assert 'role="alert">退回时请写明原因。' in html
    assert f'form="review-return-{flagged_visit.pk}"' in html  # still open for review
    flagged_visit.refresh_from_db()
    assert flagged_visit.state == Visit.State.SUBMITTED


def test_approving_an_already_approved_visit_inline_says_so(client, users, flagged_visit):
    visit_approve(actor=users["county_official"], visit=flagged_visit)
    client.force_login(users["township_official"])

    response = client.post(f"/visits/{flagged_visit.pk}/approve/", headers=HX)

    assert "该记录当前为“已通过”，不能审核。" in response.content.decode()


def test_without_javascript_the_row_forms_come_back_to_the_queue(client, users, flagged_visit):
    client.force_login(users["township_official"])

    approved = client.post(
        f"/visits/{flagged_visit.pk}/approve/",
        {"next": "/visits/review/?state=submitted"},
        follow=True,
    )

    assert approved.redirect_chain == [("/visits/review/?state=submitted", 302)]
    assert "已审核通过。" in [str(m) for m in approved.context["messages"]]
    flagged_visit.refresh_from_db()
    assert flagged_visit.state == Visit.State.APPROVED


def test_without_javascript_a_return_with_its_comment(client, users, a1v1):
    visit = log(users["cadre_user"], a1v1)
    client.force_login(users["township_official"])

    response = client.post(
        f"/visits/{visit.pk}/return/", {"comment": "请补充记录", "next": "/visits/review/"}
    )

    assert response.status_code == 302 and response["Location"] == "/visits/review/"
    visit.refresh_from_db()
    assert (visit.state, visit.review_comment) == (Visit.State.RETURNED, "请补充记录")


@pytest.mark.parametrize("action", ["approve", "return"])
def test_inline_review_of_another_countys_visit_is_404(client, users, flagged_visit, action):
    client.force_login(users["other_county_official"])

    response = client.post(
        f"/visits/{flagged_visit.pk}/{action}/", {"comment": "不在辖区"}, headers=HX
    )

    assert response.status_code == 404
    flagged_visit.refresh_from_db()
    assert flagged_visit.state == Visit.State.SUBMITTED


# ----- many visits, one comment -----


def test_bulk_return_returns_the_chosen_visits_with_one_comment(client, users, area, a1v1):
    # given: two of A1, one of B1 (not the official's), one already approved
    cadre = users["cadre_user"]
    first, second, approved = (log(cadre, a1v1, DAY - datetime.timedelta(days=d)) for d in range(3))
    visit_approve(actor=users["county_official"], visit=approved)
    foreign_cadre = area.cadres["b1v1"]
    from tests.visits.helpers import cadre_login

    foreign = log(cadre_login(foreign_cadre), area.villages["b1v1"])
    client.force_login(users["township_official"])

    # when
    response = client.post(
        "/visits/review/return/",
        {
            "visit": [first.pk, second.pk, approved.pk, foreign.pk],
            "bulk_comment": "请补充当天的现场照片。",
            "next": "/visits/review/",
        },
        follow=True,
    )

    # then
    states = dict(Visit.objects.values_list("pk", "state"))
    assert states[first.pk] == states[second.pk] == Visit.State.RETURNED
    assert states[approved.pk] == Visit.State.APPROVED
    assert states[foreign.pk] == Visit.State.SUBMITTED
    assert set(
        Visit.objects.filter(pk__in=[first.pk, second.pk]).values_list("review_comment", flat=True)
    ) == {"请补充当天的现场照片。"}
    notes = [str(m) for m in response.context["messages"]]
    assert "已退回 2 条下沉记录，干部修改后会重新提交。" in notes
    assert "2 条记录未能退回（已被他人审核、已退回或不在您的辖区）。" in notes
    assert response.redirect_chain[-1][0] == "/visits/review/"


def test_bulk_return_without_a_comment_returns_nothing_and_says_why(client, users, a1v1):
    visits = [log(users["cadre_user"], a1v1, DAY - datetime.timedelta(days=d)) for d in range(2)]
    client.force_login(users["township_official"])

    response = client.post(
        "/visits/review/return/",
        {"visit": [v.pk for v in visits], "bulk_comment": "", "next": "/visits/review/"},
        follow=True,
    )

    assert not Visit.objects.exclude(state=Visit.State.SUBMITTED).exists()
    assert "2 条记录未能退回（退回时请写明原因。）。" in [
        str(m) for m in response.context["messages"]
    ]


def test_bulk_return_with_nothing_chosen_asks_for_a_choice(client, users, a1v1):
    client.force_login(users["township_official"])

    response = client.post("/visits/review/return/", {"bulk_comment": "x"}, follow=True)

    assert "请先勾选要退回的记录。" in [str(m) for m in response.context["messages"]]


@pytest.mark.parametrize("who", ["city_viewer", "cadre_user"])
def test_bulk_return_is_for_reviewers_only(client, users, a1v1, who):
    visit = log(users["cadre_user"], a1v1)
    client.force_login(users[who])

    response = client.post("/visits/review/return/", {"visit": [visit.pk], "bulk_comment": "x"})

    assert response.status_code == 403
    visit.refresh_from_db()
    assert visit.state == Visit.State.SUBMITTED


def test_bulk_return_by_another_county_touches_nothing(client, users, a1v1):
    visit = log(users["cadre_user"], a1v1)
    client.force_login(users["other_county_official"])

    client.post("/visits/review/return/", {"visit": [visit.pk], "bulk_comment": "x"})

    visit.refresh_from_db()
    assert visit.state == Visit.State.SUBMITTED


# ----- in a browser -----

PASSWORD = "test-pass-123"  # tests.factories.UserFactory


@pytest.mark.browser
def test_inline_review_in_a_browser(live_server, page, users, area, flagged_visit, screenshot_dir):
    # given: two more visits waiting
    cadre = users["cadre_user"]
    plain, other = (
        log(cadre, area.villages["a1v1"], DAY - datetime.timedelta(days=d)) for d in (1, 2)
    )
    base = live_server.url
    violations = watch_csp(page)
    sign_in(page, base, users["township_official"].username, PASSWORD)
    page.goto(f"{base}/visits/review/")
    expect(page.locator(".review-table tbody tr")).to_have_count(3)
    expect(page.locator("img.review-thumb")).to_have_count(2)
    page.evaluate("window.__sameDocument = true")  # gone if the page reloads
    page.screenshot(path=str(screenshot_dir / "visits_review_inline.png"), full_page=True)

    # when: one approved inline, one returned with a comment typed in its row (Enter sends)
    row = page.locator(f"#review-row-{flagged_visit.pk}")
    row.get_by_role("button", name="通过").click()
    expect(row.get_by_text("已审核通过。")).to_be_visible()
    returned = page.locator(f"#review-row-{plain.pk}")
    returned.get_by_label(re.compile("退回原因")).fill("请补充入户情况")
    returned.get_by_label(re.compile("退回原因")).press("Enter")
    expect(returned.get_by_text("已退回，干部修改后会重新提交。")).to_be_visible()

    # then: rows updated in place, no reload, the third row untouched
    assert page.evaluate("window.__sameDocument") is True
    expect(
        page.locator(f"#review-row-{other.pk}").get_by_role("button", name="通过")
    ).to_be_visible()
    states = dict(Visit.objects.values_list("pk", "state"))
    assert states[flagged_visit.pk] == Visit.State.APPROVED
    assert states[plain.pk] == Visit.State.RETURNED
    assert states[other.pk] == Visit.State.SUBMITTED
    assert Visit.objects.get(pk=plain.pk).review_comment == "请补充入户情况"
    assert violations == []


def test_a_return_comment_longer_than_the_field_is_refused_in_chinese(users, flagged_visit):
    with pytest.raises(ValidationError) as refused:
        visit_return(actor=users["township_official"], visit=flagged_visit, comment="太长" * 251)
    assert "审核意见不能超过 500 个字" in str(refused.value)
    flagged_visit.refresh_from_db()
    assert flagged_visit.state == Visit.State.SUBMITTED and flagged_visit.review_comment == ""


def test_bulk_review_ignores_ids_that_are_digits_but_not_ascii(client, users, flagged_visit):
    client.force_login(users["township_official"])
    response = client.post("/visits/review/approve/", {"visit": ["²"]})
    assert response.status_code == 302
    flagged_visit.refresh_from_db()
    assert flagged_visit.state == Visit.State.SUBMITTED
