"""Writes for 双十工作日: logging a visit, editing it, reviewing it, the workday rule and
the problem ledger. Who may, what is refused (and that nothing is left behind), and the
audit trail (history rows and review events).

The world is the `area` fixture (tests/conftest.py): `cadre_user` is the 帮村 cadre of a1v1
(township A1, county A), `township_cadre_user` the 联乡 cadre of township A2; their
assignments cover 2024, so most visits here are dated `DAY` (2024-05-14).
"""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image

from tests.factories import AssignmentFactory, CadreFactory, UserFactory, UserRoleFactory
from tests.visits.helpers import (
    DAY,
    ProblemFactory,
    WorkdayRuleFactory,
    assignment_covering,
    cadre_login,
    pixel_bomb_upload,
    png_bytes,
    png_upload,
    visit_fields,
)
from visits.models import Problem, Visit, VisitEvent, VisitPhoto, WorkdayRule
from visits.services import (
    problem_create,
    problem_update,
    visit_approve,
    visit_create,
    visit_return,
    visit_update,
    workday_rule_set,
)

pytestmark = pytest.mark.django_db


def _reload(obj):
    return type(obj).objects.get(pk=obj.pk)


def _events(visit):
    return list(VisitEvent.objects.filter(visit=visit).values_list("action", "actor", "comment"))


def _nothing_stored():
    return (
        Visit.objects.count(),
        VisitEvent.objects.count(),
        VisitPhoto.objects.count(),
        Visit.history.count(),
    ) == (0, 0, 0, 0)


def _files_under(root):
    return [p for p in root.rglob("*") if p.is_file()]


def _place(village, latitude, longitude):
    village.latitude, village.longitude = Decimal(latitude), Decimal(longitude)
    village.save(update_fields=["latitude", "longitude"])
    return village


@pytest.fixture
def a1v1(area):
    return area.villages["a1v1"]


@pytest.fixture
def my_visit(cadre_user, a1v1):
    """A submitted visit of `cadre_user` at a1v1, logged through the service."""
    visit, _ = visit_create(actor=cadre_user, **visit_fields(a1v1))
    return visit


@pytest.fixture
def media(settings, tmp_path):
    """This test's own MEDIA_ROOT, so "no files were written" can be checked."""
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


# ----- visit_create: who, where, when -----


def test_cadre_logs_a_visit_to_their_bangcun_village(area, cadre_user, a1v1):
    # given
    fields = visit_fields(a1v1, meetings=2, people_reached=30, households_visited=6)

    # when
    visit, created = visit_create(actor=cadre_user, **fields)

    # then
    assert created is True
    visit = _reload(visit)
    assert visit.cadre == area.cadres["a1v1"]
    assert visit.village == a1v1
    assert visit.created_by == cadre_user
    assert visit.client_uuid == fields["client_uuid"]
    assert (visit.date, visit.state) == (DAY, Visit.State.SUBMITTED)
    assert (visit.meetings, visit.people_reached, visit.households_visited) == (2, 30, 6)


def test_creating_a_visit_records_a_submit_event_and_a_history_row(cadre_user, a1v1):
    # when
    visit, _ = visit_create(actor=cadre_user, **visit_fields(a1v1))

    # then
    assert _events(visit) == [(VisitEvent.Action.SUBMIT, cadre_user.pk, "")]
    history = list(visit.history.all())
    assert len(history) == 1
    assert history[0].history_type == "+"
    assert history[0].history_user == cadre_user


@pytest.mark.parametrize("label", ["a2v1", "a2v2", "a2v3"])
def test_lianxiang_cadre_logs_a_visit_to_any_village_of_their_township(
    area, township_cadre_user, label
):
    # when
    visit, created = visit_create(actor=township_cadre_user, **visit_fields(area.villages[label]))

    # then
    assert created is True
    assert _reload(visit).cadre == area.cadres["lx_a2"]


@pytest.mark.parametrize(
    "who",
    [
        "city_admin",
        "city_viewer",
        "county_official",
        "township_official",
        "no_role_user",
        "superuser",
        "anonymous",
    ],
)
def test_only_cadres_may_log_a_visit(users, a1v1, who):
    # when / then
    with pytest.raises(PermissionDenied):
        visit_create(actor=users[who], **visit_fields(a1v1))
    assert _nothing_stored()


def test_cadre_role_without_a_cadre_record_may_not_log_a_visit(area, a1v1):
    # given: the role says "cadre" but no Cadre row points at the login
    user = UserFactory(username="orphan_cadre")
    UserRoleFactory(user=user, role="cadre")

    # when / then
    with pytest.raises(PermissionDenied):
        visit_create(actor=user, **visit_fields(a1v1))
    assert _nothing_stored()


@pytest.mark.parametrize(
    "who, label",
    [
        ("cadre_user", "a1v2"),  # same township, not their village
        ("cadre_user", "b1v1"),  # another county
        ("township_cadre_user", "a1v1"),  # outside the 联乡 township
    ],
)
def test_visit_must_be_to_one_of_the_cadres_contact_points(users, area, who, label):
    # when / then
    with pytest.raises(ValidationError) as exc:
        visit_create(actor=users[who], **visit_fields(area.villages[label]))
    assert "village" in exc.value.message_dict
    assert _nothing_stored()


def test_visit_dated_in_the_future_is_refused(area, cadre_user, a1v1):
    # given: an assignment that covers tomorrow, so only "the future" is wrong
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)
    assignment_covering(area.cadres["a1v1"], a1v1, tomorrow)

    # when / then
    with pytest.raises(ValidationError) as exc:
        visit_create(actor=cadre_user, **visit_fields(a1v1, date=tomorrow))
    assert exc.value.message_dict == {"date": ["日期不能晚于今天。"]}
    assert _nothing_stored()


def test_visit_dated_today_is_accepted(area, cadre_user, a1v1):
    # given
    today = timezone.localdate()
    assignment_covering(area.cadres["a1v1"], a1v1, today)

    # when
    visit, created = visit_create(actor=cadre_user, **visit_fields(a1v1, date=today))

    # then
    assert created is True
    assert _reload(visit).date == today


@pytest.mark.parametrize(
    "day, accepted",
    [
        (datetime.date(2024, 2, 29), False),  # before the assignment starts
        (datetime.date(2024, 3, 1), True),  # first day
        (datetime.date(2024, 6, 30), True),  # last day
        (datetime.date(2024, 7, 1), False),  # after it ends
    ],
)
def test_visit_date_must_fall_inside_an_assignment_covering_the_village(
    area, township_cadre_user, day, accepted
):
    # given: the 联乡 assignment narrowed to March..June 2024
    type(area.assignments["lx_a2"]).objects.filter(pk=area.assignments["lx_a2"].pk).update(
        start_date=datetime.date(2024, 3, 1), end_date=datetime.date(2024, 6, 30)
    )
    fields = visit_fields(area.villages["a2v1"], date=day)

    # when / then
    if accepted:
        visit_create(actor=township_cadre_user, **fields)
        assert Visit.objects.filter(date=day).count() == 1
    else:
        with pytest.raises(ValidationError) as exc:
            visit_create(actor=township_cadre_user, **fields)
        assert list(exc.value.message_dict) == ["date"]
        assert _nothing_stored()


def test_an_assignment_of_an_earlier_year_does_not_cover_a_later_visit(cadre_user, a1v1):
    # given: a1v1's only assignment is for 2024

    # when / then
    with pytest.raises(ValidationError) as exc:
        visit_create(actor=cadre_user, **visit_fields(a1v1, date=datetime.date(2025, 1, 2)))
    assert list(exc.value.message_dict) == ["date"]


# ----- visit_create: the content -----


@pytest.mark.parametrize("activities", [[], None])
def test_activities_are_required(cadre_user, a1v1, activities):
    # when / then
    with pytest.raises(ValidationError) as exc:
        visit_create(actor=cadre_user, **visit_fields(a1v1, activities=activities))
    assert list(exc.value.message_dict) == ["activities"]
    assert _nothing_stored()


def test_unknown_activities_are_refused_by_name(cadre_user, a1v1):
    # when / then
    with pytest.raises(ValidationError) as exc:
        visit_create(actor=cadre_user, **visit_fields(a1v1, activities=["meeting", "dancing"]))
    assert "dancing" in exc.value.message_dict["activities"][0]
    assert _nothing_stored()


def test_every_known_activity_is_accepted_and_duplicates_are_dropped(cadre_user, a1v1):
    # given
    every = list(Visit.Activity.values)

    # when
    visit, _ = visit_create(actor=cadre_user, **visit_fields(a1v1, activities=every + every))

    # then
    assert _reload(visit).activities == every


@pytest.mark.parametrize("field", ["meetings", "people_reached", "households_visited"])
def test_a_negative_count_is_refused_naming_the_field(cadre_user, a1v1, field):
    # when / then
    with pytest.raises(ValidationError) as exc:
        visit_create(actor=cadre_user, **visit_fields(a1v1, **{field: -1}))
    assert list(exc.value.message_dict) == [field]
    assert _nothing_stored()


def test_zero_counts_are_accepted(cadre_user, a1v1):
    # when
    visit, _ = visit_create(
        actor=cadre_user,
        **visit_fields(a1v1, meetings=0, people_reached=0, households_visited=0),
    )

    # then
    assert (visit.meetings, visit.people_reached, visit.households_visited) == (0, 0, 0)


@pytest.mark.parametrize(
    "latitude, longitude",
    [(Decimal("34.020000"), None), (None, Decimal("113.850000"))],
)
def test_a_gps_fix_needs_both_latitude_and_longitude(cadre_user, a1v1, latitude, longitude):
    # when / then
    with pytest.raises(ValidationError) as exc:
        visit_create(actor=cadre_user, **visit_fields(a1v1, latitude=latitude, longitude=longitude))
    assert "latitude" in exc.value.message_dict
    assert _nothing_stored()


@pytest.mark.parametrize(
    "latitude, longitude",
    [
        (Decimal("90.000001"), Decimal("113.850000")),
        (Decimal("-91"), Decimal("113.850000")),
        (Decimal("34.020000"), Decimal("180.000001")),
        (Decimal("34.020000"), Decimal("-181")),
    ],
)
def test_a_gps_fix_out_of_range_is_refused(cadre_user, a1v1, latitude, longitude):
    # when / then
    with pytest.raises(ValidationError):
        visit_create(actor=cadre_user, **visit_fields(a1v1, latitude=latitude, longitude=longitude))
    assert _nothing_stored()


@pytest.mark.parametrize(
    "latitude, longitude",
    [(Decimal("90"), Decimal("180")), (Decimal("-90"), Decimal("-180"))],
)
def test_a_gps_fix_on_the_edge_of_the_range_is_accepted(cadre_user, a1v1, latitude, longitude):
    # when
    visit, created = visit_create(
        actor=cadre_user, **visit_fields(a1v1, latitude=latitude, longitude=longitude)
    )

    # then
    assert created is True
    assert (_reload(visit).latitude, _reload(visit).longitude) == (latitude, longitude)


# ----- visit_create: photos -----


def test_a_png_photo_is_stored_re_encoded_as_jpeg(cadre_user, a1v1, media):
    # when
    visit, _ = visit_create(
        actor=cadre_user, photos=[png_upload(size=(64, 48))], **visit_fields(a1v1)
    )

    # then
    photos = list(VisitPhoto.objects.filter(visit=visit))
    assert len(photos) == 1
    assert photos[0].image.name.endswith(".jpg")
    path = media / photos[0].image.name
    assert path.read_bytes()[:3] == b"\xff\xd8\xff"  # JPEG start-of-image marker
    with Image.open(path) as stored:
        assert (stored.format, stored.size) == ("JPEG", (64, 48))


def test_a_large_photo_is_scaled_down(cadre_user, a1v1, media):
    # when
    visit, _ = visit_create(
        actor=cadre_user, photos=[png_upload(size=(3200, 800))], **visit_fields(a1v1)
    )

    # then
    with Image.open(media / visit.photos.get().image.name) as stored:
        assert stored.size == (1600, 400)


def test_a_file_that_is_not_an_image_is_refused_and_nothing_is_saved(cadre_user, a1v1, media):
    # given
    fake = SimpleUploadedFile("photo.png", b"<?php echo 'hi'; ?>", content_type="image/png")

    # when / then
    with pytest.raises(ValidationError) as exc:
        visit_create(actor=cadre_user, photos=[png_upload(), fake], **visit_fields(a1v1))
    assert list(exc.value.message_dict) == ["photos"]
    assert _nothing_stored()
    assert _files_under(media) == []


def test_an_oversized_photo_is_refused_and_nothing_is_saved(cadre_user, a1v1, media):
    # given: a real PNG padded past 8 MB (an image, only too big)
    big = SimpleUploadedFile(
        "big.png", png_bytes() + b"\0" * (8 * 1024 * 1024), content_type="image/png"
    )

    # when / then
    with pytest.raises(ValidationError) as exc:
        visit_create(actor=cadre_user, photos=[png_upload(), big], **visit_fields(a1v1))
    assert list(exc.value.message_dict) == ["photos"]
    assert "8 MB" in exc.value.message_dict["photos"][0]
    assert _nothing_stored()
    assert _files_under(media) == []


def test_more_than_three_photos_are_refused(cadre_user, a1v1, media):
    # when / then
    with pytest.raises(ValidationError) as exc:
        visit_create(
            actor=cadre_user, photos=[png_upload() for _ in range(4)], **visit_fields(a1v1)
        )
    assert list(exc.value.message_dict) == ["photos"]
    assert _nothing_stored()
    assert _files_under(media) == []


def test_a_decompression_bomb_is_refused_as_a_validation_error(cadre_user, a1v1, media):
    # when / then
    with pytest.raises(ValidationError) as exc:
        visit_create(actor=cadre_user, photos=[pixel_bomb_upload()], **visit_fields(a1v1))
    assert list(exc.value.message_dict) == ["photos"]
    assert _nothing_stored()


# ----- visit_create: idempotency -----


def test_the_same_client_uuid_twice_returns_the_first_visit(cadre_user, a1v1):
    # given
    fields = visit_fields(a1v1, notes="第一次")
    first, first_created = visit_create(actor=cadre_user, **fields)

    # when: a retry (even with other content) after a time-out
    again, again_created = visit_create(actor=cadre_user, **fields | {"notes": "重试"})

    # then
    assert (first_created, again_created) == (True, False)
    assert again.pk == first.pk
    assert Visit.objects.count() == 1
    assert _reload(first).notes == "第一次"
    assert VisitEvent.objects.count() == 1
    assert first.history.count() == 1


def test_the_client_uuid_may_come_as_a_string(cadre_user, a1v1):
    # given
    fields = visit_fields(a1v1)
    first, _ = visit_create(actor=cadre_user, **fields)

    # when
    again, created = visit_create(
        actor=cadre_user, **fields | {"client_uuid": str(fields["client_uuid"]).upper()}
    )

    # then
    assert (again.pk, created) == (first.pk, False)


def test_another_cadre_reusing_a_client_uuid_is_refused(area, cadre_user, township_cadre_user):
    # given
    fields = visit_fields(area.villages["a1v1"])
    visit_create(actor=cadre_user, **fields)

    # when / then
    with pytest.raises(ValidationError) as exc:
        visit_create(actor=township_cadre_user, **fields | {"village": area.villages["a2v1"]})
    assert list(exc.value.message_dict) == ["client_uuid"]
    assert Visit.objects.count() == 1
    assert Visit.objects.get().cadre == area.cadres["a1v1"]


# ----- visit_create: the location flag -----


@pytest.mark.parametrize(
    "latitude, distance, flagged",
    [
        ("34.050000", Decimal("5.56"), True),  # 0.05° north: 5.56 km
        ("34.045100", Decimal("5.01"), True),  # just over 5 km
        ("34.044900", Decimal("4.99"), False),  # just under 5 km
        ("34.040000", Decimal("4.45"), False),
        ("34.000000", Decimal("0.00"), False),  # at the village committee
    ],
)
def test_a_fix_more_than_5_km_from_the_village_is_flagged(
    cadre_user, a1v1, latitude, distance, flagged
):
    # given
    _place(a1v1, "34.000000", "113.800000")

    # when
    visit, _ = visit_create(
        actor=cadre_user,
        **visit_fields(a1v1, latitude=Decimal(latitude), longitude=Decimal("113.800000")),
    )

    # then
    visit = _reload(visit)
    assert visit.location_flag is flagged
    assert visit.distance_km == distance


def test_a_flagged_fix_does_not_block_saving(cadre_user, a1v1):
    # given: the fix is in another province
    _place(a1v1, "34.000000", "113.800000")

    # when
    visit, created = visit_create(
        actor=cadre_user,
        **visit_fields(a1v1, latitude=Decimal("39.900000"), longitude=Decimal("116.400000")),
    )

    # then
    assert created is True
    visit = _reload(visit)
    assert visit.location_flag is True
    assert visit.distance_km > 500
    assert visit.state == Visit.State.SUBMITTED
    assert _events(visit) == [(VisitEvent.Action.SUBMIT, cadre_user.pk, "")]


def test_no_flag_when_the_village_has_no_coordinates(cadre_user, a1v1):
    # given: a1v1 has no coordinates (the factory leaves them empty)

    # when
    visit, _ = visit_create(
        actor=cadre_user,
        **visit_fields(a1v1, latitude=Decimal("39.900000"), longitude=Decimal("116.400000")),
    )

    # then
    visit = _reload(visit)
    assert (visit.location_flag, visit.distance_km) == (False, None)


def test_no_flag_when_the_visit_has_no_fix(cadre_user, a1v1):
    # given
    _place(a1v1, "34.000000", "113.800000")

    # when
    visit, _ = visit_create(actor=cadre_user, **visit_fields(a1v1))

    # then
    visit = _reload(visit)
    assert (visit.location_flag, visit.distance_km) == (False, None)


# ----- visit_update -----


def test_owner_edits_their_visit_and_history_keeps_each_version(cadre_user, my_visit):
    # when
    visit_update(actor=cadre_user, visit=my_visit, notes="补充：走访 5 户")
    visit_update(actor=cadre_user, visit=my_visit, meetings=3)

    # then
    visit = _reload(my_visit)
    assert (visit.notes, visit.meetings) == ("补充：走访 5 户", 3)
    history = list(visit.history.order_by("history_date", "history_id"))
    assert [h.history_type for h in history] == ["+", "~", "~"]
    assert [h.history_user for h in history] == [cadre_user] * 3
    assert [h.notes for h in history][1:] == ["补充：走访 5 户", "补充：走访 5 户"]
    assert [h.meetings for h in history] == [1, 1, 3]
    assert [e[0] for e in _events(visit)] == ["submit", "edit", "edit"]


def test_an_edit_keeps_the_state_of_a_submitted_visit(cadre_user, my_visit):
    # when
    visit_update(actor=cadre_user, visit=my_visit, notes="改")

    # then
    assert _reload(my_visit).state == Visit.State.SUBMITTED


@pytest.mark.parametrize("who", ["township_cadre_user", "township_official", "city_admin"])
def test_only_the_owner_may_edit_a_visit(users, my_visit, who):
    # when / then
    with pytest.raises(PermissionDenied):
        visit_update(actor=users[who], visit=my_visit, notes="别人改的")
    assert _reload(my_visit).notes != "别人改的"
    assert my_visit.history.count() == 1


def test_an_approved_visit_cannot_be_edited(cadre_user, township_official, my_visit):
    # given
    visit_approve(actor=township_official, visit=my_visit)

    # when / then
    with pytest.raises(ValidationError):
        visit_update(actor=cadre_user, visit=my_visit, notes="通过后再改")
    assert _reload(my_visit).notes != "通过后再改"


@pytest.mark.parametrize("age_days, editable", [(6, True), (8, False)])
def test_a_visit_can_be_edited_for_7_days_after_it_was_logged(
    cadre_user, my_visit, age_days, editable
):
    # given
    logged_at = timezone.now() - datetime.timedelta(days=age_days)
    Visit.objects.filter(pk=my_visit.pk).update(created_at=logged_at)

    # when / then
    if editable:
        visit_update(actor=cadre_user, visit=my_visit, notes="一周内修改")
        assert _reload(my_visit).notes == "一周内修改"
    else:
        with pytest.raises(ValidationError):
            visit_update(actor=cadre_user, visit=my_visit, notes="过期修改")
        assert _reload(my_visit).notes != "过期修改"


def test_an_edit_is_checked_like_a_new_visit(cadre_user, area, my_visit):
    # when / then
    with pytest.raises(ValidationError) as exc:
        visit_update(actor=cadre_user, visit=my_visit, village=area.villages["b1v1"])
    assert "village" in exc.value.message_dict
    with pytest.raises(ValidationError) as exc:
        visit_update(actor=cadre_user, visit=my_visit, households_visited=-3)
    assert list(exc.value.message_dict) == ["households_visited"]
    assert _reload(my_visit).village == area.villages["a1v1"]
    assert my_visit.history.count() == 1


def test_an_edit_recomputes_the_location_flag(cadre_user, a1v1, my_visit):
    # given
    _place(a1v1, "34.000000", "113.800000")

    # when
    visit_update(
        actor=cadre_user, visit=my_visit, latitude=Decimal("34.1"), longitude=Decimal("113.8")
    )

    # then
    visit = _reload(my_visit)
    assert visit.location_flag is True
    assert visit.distance_km == Decimal("11.12")


def test_editing_a_returned_visit_resubmits_it(cadre_user, township_official, my_visit):
    # given
    visit_return(actor=township_official, visit=my_visit, comment="请补充入户户数")

    # when
    visit_update(actor=cadre_user, visit=my_visit, households_visited=8)

    # then
    visit = _reload(my_visit)
    assert visit.state == Visit.State.SUBMITTED
    assert visit.households_visited == 8
    assert _events(visit)[-1] == (VisitEvent.Action.RESUBMIT, cadre_user.pk, "")


def test_a_photo_added_by_an_edit_is_checked_and_a_bad_one_undoes_the_edit(
    cadre_user, my_visit, media
):
    # given
    fake = SimpleUploadedFile("x.jpg", b"not a jpeg", content_type="image/jpeg")

    # when / then
    with pytest.raises(ValidationError) as exc:
        visit_update(actor=cadre_user, visit=my_visit, notes="加照片", photos=[fake])
    assert list(exc.value.message_dict) == ["photos"]
    assert _reload(my_visit).notes != "加照片"
    assert my_visit.history.count() == 1
    assert _files_under(media) == []


# ----- review: visit_return / visit_approve -----


@pytest.mark.parametrize("comment", ["", "   ", None])
def test_returning_a_visit_needs_a_comment(township_official, my_visit, comment):
    # when / then
    with pytest.raises(ValidationError) as exc:
        visit_return(actor=township_official, visit=my_visit, comment=comment)
    assert list(exc.value.message_dict) == ["comment"]
    assert _reload(my_visit).state == Visit.State.SUBMITTED


@pytest.mark.parametrize("who", ["township_official", "county_official", "city_admin", "superuser"])
def test_officials_whose_area_holds_the_village_approve(users, my_visit, who):
    # given
    reviewer = users[who]

    # when
    visit_approve(actor=reviewer, visit=my_visit, comment=" 情况属实 ")

    # then
    visit = _reload(my_visit)
    assert visit.state == Visit.State.APPROVED
    assert (visit.reviewed_by, visit.review_comment) == (reviewer, "情况属实")
    assert visit.reviewed_at is not None
    assert _events(visit)[-1] == (VisitEvent.Action.APPROVE, reviewer.pk, "情况属实")
    assert visit.history.first().history_user == reviewer


@pytest.mark.parametrize("who", ["township_official", "county_official", "city_admin"])
def test_officials_whose_area_holds_the_village_return(users, my_visit, who):
    # when
    visit_return(actor=users[who], visit=my_visit, comment="照片不清楚")

    # then
    visit = _reload(my_visit)
    assert (visit.state, visit.review_comment) == (Visit.State.RETURNED, "照片不清楚")
    assert _events(visit)[-1] == (VisitEvent.Action.RETURN, users[who].pk, "照片不清楚")


@pytest.mark.parametrize(
    "who",
    [
        "cadre_user",  # the visit's own cadre
        "township_cadre_user",
        "city_viewer",
        "other_county_official",
        "no_role_user",
        "anonymous",
    ],
)
def test_others_may_not_review(users, my_visit, who):
    # when / then
    with pytest.raises(PermissionDenied):
        visit_approve(actor=users[who], visit=my_visit)
    with pytest.raises(PermissionDenied):
        visit_return(actor=users[who], visit=my_visit, comment="退回")
    visit = _reload(my_visit)
    assert (visit.state, visit.reviewed_by) == (Visit.State.SUBMITTED, None)
    assert [e[0] for e in _events(visit)] == ["submit"]


def test_a_township_official_may_not_review_another_townships_visit(
    area, township_cadre_user, township_official
):
    # given: a visit in A2; the official is A1's
    visit, _ = visit_create(actor=township_cadre_user, **visit_fields(area.villages["a2v1"]))

    # when / then
    with pytest.raises(PermissionDenied):
        visit_approve(actor=township_official, visit=visit)
    assert _reload(visit).state == Visit.State.SUBMITTED


@pytest.mark.parametrize(
    "first, then",
    [
        ("approve", "approve"),
        ("approve", "return"),
        ("return", "approve"),
        ("return", "return"),
    ],
)
def test_only_a_submitted_visit_can_be_reviewed(township_official, my_visit, first, then):
    # given
    review = {"approve": visit_approve, "return": visit_return}
    review[first](actor=township_official, visit=my_visit, comment="第一次")
    state = _reload(my_visit).state

    # when / then
    with pytest.raises(ValidationError):
        review[then](actor=township_official, visit=my_visit, comment="第二次")
    assert _reload(my_visit).state == state
    assert len(_events(my_visit)) == 2


def test_events_record_the_whole_review_exchange_in_order(
    cadre_user, township_official, county_official, my_visit
):
    # when
    visit_return(actor=township_official, visit=my_visit, comment="请补充照片")
    visit_update(actor=cadre_user, visit=my_visit, photos=[png_upload()])
    visit_approve(actor=county_official, visit=my_visit, comment="同意")

    # then
    assert _events(my_visit) == [
        (VisitEvent.Action.SUBMIT, cadre_user.pk, ""),
        (VisitEvent.Action.RETURN, township_official.pk, "请补充照片"),
        (VisitEvent.Action.RESUBMIT, cadre_user.pk, ""),
        (VisitEvent.Action.APPROVE, county_official.pk, "同意"),
    ]
    history = my_visit.history.order_by("history_date", "history_id")
    assert [(h.state, h.history_user) for h in history] == [
        (Visit.State.SUBMITTED, cadre_user),
        (Visit.State.RETURNED, township_official),
        (Visit.State.SUBMITTED, cadre_user),
        (Visit.State.APPROVED, county_official),
    ]


# ----- the workday rule -----


def test_city_admin_sets_a_workday_rule_with_history(city_admin):
    # given
    starts = timezone.localdate() + datetime.timedelta(days=40)

    # when
    rule = workday_rule_set(
        actor=city_admin,
        required_days=8,
        period=WorkdayRule.Period.MONTH,
        effective_from=starts,
        note="农忙调整",
    )

    # then
    rule = _reload(rule)
    assert (rule.required_days, rule.period, rule.effective_from) == (8, "month", starts)
    assert rule.history.get().history_user == city_admin


@pytest.mark.parametrize(
    "who",
    [
        "city_viewer",
        "county_official",
        "township_official",
        "cadre_user",
        "no_role_user",
        "anonymous",
    ],
)
def test_only_city_admins_set_the_workday_rule(users, who):
    # when / then
    with pytest.raises(PermissionDenied):
        workday_rule_set(
            actor=users[who],
            required_days=5,
            period=WorkdayRule.Period.MONTH,
            effective_from=timezone.localdate() + datetime.timedelta(days=40),
        )
    assert WorkdayRule.objects.count() == 0


def test_a_rule_not_yet_in_force_may_be_changed(city_admin):
    # given
    starts = timezone.localdate() + datetime.timedelta(days=40)
    WorkdayRuleFactory(effective_from=starts, required_days=12)

    # when
    workday_rule_set(
        actor=city_admin, required_days=20, period=WorkdayRule.Period.QUARTER, effective_from=starts
    )

    # then
    rule = WorkdayRule.objects.get()
    assert (rule.required_days, rule.period) == (20, "quarter")


@pytest.mark.parametrize("days_ago", [0, 30])
def test_a_rule_already_in_force_cannot_be_changed(city_admin, days_ago):
    # given
    starts = timezone.localdate() - datetime.timedelta(days=days_ago)
    WorkdayRuleFactory(effective_from=starts, required_days=12)

    # when / then
    with pytest.raises(ValidationError) as exc:
        workday_rule_set(
            actor=city_admin,
            required_days=5,
            period=WorkdayRule.Period.MONTH,
            effective_from=starts,
        )
    assert list(exc.value.message_dict) == ["effective_from"]
    assert WorkdayRule.objects.get().required_days == 12


@pytest.mark.parametrize("days_ago", [0, 30, 400])
def test_a_new_rule_cannot_be_back_dated_into_a_period_already_begun(city_admin, days_ago):
    # given
    starts = timezone.localdate() - datetime.timedelta(days=days_ago)

    # when / then
    with pytest.raises(ValidationError) as exc:
        workday_rule_set(
            actor=city_admin,
            required_days=5,
            period=WorkdayRule.Period.MONTH,
            effective_from=starts,
        )
    assert list(exc.value.message_dict) == ["effective_from"]
    assert WorkdayRule.objects.count() == 0


@pytest.mark.parametrize("required_days", [0, 93])
def test_required_days_must_fit_a_period(city_admin, required_days):
    # when / then
    with pytest.raises(ValidationError) as exc:
        workday_rule_set(
            actor=city_admin,
            required_days=required_days,
            period=WorkdayRule.Period.QUARTER,
            effective_from=timezone.localdate() + datetime.timedelta(days=40),
        )
    assert "required_days" in exc.value.message_dict
    assert WorkdayRule.objects.count() == 0


# ----- problems: problem_create -----


@pytest.mark.parametrize(
    "who, label",
    [
        ("cadre_user", "a1v1"),
        ("township_cadre_user", "a2v3"),
        ("township_official", "a1v2"),
        ("county_official", "a2v1"),
        ("other_county_official", "b1v2"),
        ("city_admin", "b1v1"),
    ],
)
def test_problem_is_registered_for_a_visible_village(users, area, who, label):
    # when
    problem = problem_create(
        actor=users[who],
        village=area.villages[label],
        category=Problem.Category.INFRASTRUCTURE,
        description="  村道破损  ",
        handler=" 乡交通办 ",
        deadline=datetime.date(2024, 6, 30),
    )

    # then
    problem = _reload(problem)
    assert (problem.village, problem.status) == (area.villages[label], Problem.Status.PENDING)
    assert (problem.description, problem.handler) == ("村道破损", "乡交通办")
    assert problem.created_by == users[who]
    assert problem.history.get().history_user == users[who]


@pytest.mark.parametrize(
    "who, label",
    [
        ("cadre_user", "a1v2"),
        ("township_cadre_user", "a1v1"),
        ("township_official", "a2v1"),
        ("county_official", "b1v1"),
        ("other_county_official", "a1v1"),
    ],
)
def test_problem_outside_ones_area_is_refused(users, area, who, label):
    # when / then
    with pytest.raises(ValidationError) as exc:
        problem_create(
            actor=users[who],
            village=area.villages[label],
            category=Problem.Category.OTHER,
            description="越界登记",
        )
    assert list(exc.value.message_dict) == ["village"]
    assert Problem.objects.count() == 0


@pytest.mark.parametrize("who", ["city_viewer", "no_role_user", "anonymous"])
def test_viewers_and_role_less_logins_may_not_register_problems(users, area, who):
    # when / then
    with pytest.raises(PermissionDenied):
        problem_create(
            actor=users[who],
            village=area.villages["a1v1"],
            category=Problem.Category.OTHER,
            description="只读账号",
        )
    assert Problem.objects.count() == 0


def test_problem_may_come_from_a_visit_to_the_same_village(cadre_user, a1v1, my_visit):
    # when
    problem = problem_create(
        actor=cadre_user,
        village=a1v1,
        visit=my_visit,
        category=Problem.Category.EMPLOYMENT,
        description="返乡青年就业难",
    )

    # then
    assert _reload(problem).visit == my_visit


def test_problem_visit_must_be_of_the_same_village(area, county_official, my_visit):
    # when / then: the visit was at a1v1
    with pytest.raises(ValidationError) as exc:
        problem_create(
            actor=county_official,
            village=area.villages["a1v2"],
            visit=my_visit,
            category=Problem.Category.OTHER,
            description="张冠李戴",
        )
    assert list(exc.value.message_dict) == ["visit"]
    assert Problem.objects.count() == 0


@pytest.mark.parametrize("field, value", [("category", "weather"), ("description", "   ")])
def test_problem_needs_a_known_category_and_a_description(cadre_user, a1v1, field, value):
    # given
    fields = {"category": Problem.Category.OTHER, "description": "正常描述"} | {field: value}

    # when / then
    with pytest.raises(ValidationError) as exc:
        problem_create(actor=cadre_user, village=a1v1, **fields)
    assert field in exc.value.message_dict
    assert Problem.objects.count() == 0


# ----- problems: problem_update -----


@pytest.fixture
def problem(area):
    return ProblemFactory(village=area.villages["a1v1"])


@pytest.mark.parametrize(
    "path",
    [
        ["in_progress"],
        ["in_progress", "resolved"],
        ["resolved"],
        ["in_progress", "explained"],
        ["explained"],
    ],
)
def test_allowed_status_transitions(township_official, problem, path):
    # when
    for status in path:
        problem_update(
            actor=township_official, problem=problem, status=status, explanation="已向群众说明"
        )

    # then
    assert _reload(problem).status == path[-1]
    assert problem.history.count() == 1 + len(path)


@pytest.mark.parametrize(
    "start, target",
    [
        ("in_progress", "pending"),
        ("resolved", "pending"),
        ("resolved", "in_progress"),
        ("resolved", "explained"),
        ("explained", "pending"),
        ("explained", "in_progress"),
        ("explained", "resolved"),
    ],
)
def test_refused_status_transitions(township_official, problem, start, target):
    # given
    Problem.objects.filter(pk=problem.pk).update(
        status=start, explanation="已说明", resolved_on=datetime.date(2024, 5, 1)
    )

    # when / then
    with pytest.raises(ValidationError) as exc:
        problem_update(actor=township_official, problem=problem, status=target)
    assert list(exc.value.message_dict) == ["status"]
    assert _reload(problem).status == start


def test_an_unknown_status_is_refused_as_a_validation_error(township_official, problem):
    # when / then
    with pytest.raises(ValidationError) as exc:
        problem_update(actor=township_official, problem=problem, status="archived")
    assert list(exc.value.message_dict) == ["status"]
    assert _reload(problem).status == Problem.Status.PENDING


def test_explained_needs_an_explanation(township_official, problem):
    # when / then
    with pytest.raises(ValidationError) as exc:
        problem_update(actor=township_official, problem=problem, status="explained")
    assert "“无法办结已解释”必须填写解释说明。" in exc.value.messages
    assert _reload(problem).status == Problem.Status.PENDING


def test_explained_with_only_blanks_as_explanation_is_refused(township_official, problem):
    # when / then
    with pytest.raises(ValidationError):
        problem_update(
            actor=township_official, problem=problem, status="explained", explanation="  "
        )
    assert _reload(problem).status == Problem.Status.PENDING


def test_resolving_defaults_the_resolution_date_to_today(township_official, problem):
    # when
    problem_update(actor=township_official, problem=problem, status="resolved")

    # then
    assert _reload(problem).resolved_on == timezone.localdate()


def test_resolving_keeps_a_given_past_resolution_date(township_official, problem):
    # when
    problem_update(
        actor=township_official,
        problem=problem,
        status="resolved",
        resolved_on=datetime.date(2024, 6, 3),
    )

    # then
    assert _reload(problem).resolved_on == datetime.date(2024, 6, 3)


def test_resolution_date_cannot_be_in_the_future(township_official, problem):
    # given
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)

    # when / then
    with pytest.raises(ValidationError) as exc:
        problem_update(
            actor=township_official, problem=problem, status="resolved", resolved_on=tomorrow
        )
    assert list(exc.value.message_dict) == ["resolved_on"]
    problem = _reload(problem)
    assert (problem.status, problem.resolved_on) == (Problem.Status.PENDING, None)


@pytest.mark.parametrize("who", ["city_viewer", "no_role_user"])
def test_viewers_may_not_update_problems(users, problem, who):
    # when / then
    with pytest.raises(PermissionDenied):
        problem_update(actor=users[who], problem=problem, status="in_progress")
    assert _reload(problem).status == Problem.Status.PENDING


@pytest.mark.parametrize("who", ["township_cadre_user", "other_county_official"])
def test_problems_outside_ones_area_may_not_be_updated(users, problem, who):
    # when / then
    with pytest.raises(ValidationError):
        problem_update(actor=users[who], problem=problem, status="in_progress")
    assert _reload(problem).status == Problem.Status.PENDING


def test_problem_update_history_names_each_writer(cadre_user, township_official, problem):
    # when
    problem_update(actor=cadre_user, problem=problem, status="in_progress", handler="村委会")
    problem_update(
        actor=township_official, problem=problem, status="resolved", satisfaction="satisfied"
    )

    # then
    history = problem.history.order_by("history_date", "history_id")
    assert [(h.status, h.history_user) for h in history] == [
        (Problem.Status.PENDING, None),  # made by the factory, outside any request
        (Problem.Status.IN_PROGRESS, cadre_user),
        (Problem.Status.RESOLVED, township_official),
    ]


# ----- the 联系点 rule reaches every kind of assignment -----


def test_a_new_cadre_with_a_login_logs_at_their_new_village(area):
    # given: a cadre added this year to a1v2, with their own login
    cadre = CadreFactory(work_unit=area.units["A"])
    today = timezone.localdate()
    AssignmentFactory(cadre=cadre, village=area.villages["a1v2"], year=today.year)
    user = cadre_login(cadre)

    # when
    visit, created = visit_create(actor=user, **visit_fields(area.villages["a1v2"], date=today))

    # then
    assert created is True
    assert _reload(visit).cadre == cadre


def test_a_rule_set_for_tomorrow_judges_only_periods_that_begin_after_it(city_admin):
    # when
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)
    rule = workday_rule_set(
        actor=city_admin, required_days=5, period=WorkdayRule.Period.MONTH, effective_from=tomorrow
    )

    # then: stored; the period containing tomorrow keeps the default unless it starts then
    from visits.selectors import rule_for

    assert WorkdayRule.objects.get() == rule
    assert rule_for(tomorrow).required_days == (5 if tomorrow.day == 1 else 10)
