"""The review events and photos of a visit keep history too (issue 15, point 5): each is
a history row with who made it, when and from where, and deleting a visit leaves their
"deleted" rows behind. Those rows are audit rows: no delete through the ORM removes them.

The world is the `area` fixture: `cadre_user` is the 帮村 cadre of a1v1 (township A1),
`township_official` reviews A1's visits.
"""

from __future__ import annotations

import io

import pytest
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test import RequestFactory
from PIL import Image
from simple_history.models import HistoricalRecords

from tests.visits.helpers import visit_fields
from visits.models import Visit, VisitEvent, VisitPhoto
from visits.services import visit_approve, visit_create, visit_return, visit_update

pytestmark = pytest.mark.django_db

IP = "198.51.100.23"


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def photo(name="现场.png") -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", (32, 24), (10, 120, 30)).save(buffer, format="PNG")
    return SimpleUploadedFile(name, buffer.getvalue(), content_type="image/png")


def test_a_new_visit_s_event_and_photo_have_history_rows_by_the_cadre(area, cadre_user):
    # when
    visit, _ = visit_create(
        actor=cadre_user, photos=[photo()], **visit_fields(area.villages["a1v1"])
    )

    # then
    (event,) = VisitEvent.objects.filter(visit=visit)
    (event_row,) = event.history.all()
    assert (event_row.history_type, event_row.action) == ("+", "submit")
    assert event_row.history_user == cadre_user
    assert event_row.history_user_name == "cadre_a1v1"
    (stored,) = VisitPhoto.objects.filter(visit=visit)
    (photo_row,) = stored.history.all()
    assert photo_row.history_type == "+"
    assert photo_row.image == stored.image.name  # the path, never a copy of the file
    assert photo_row.history_user == cadre_user


def test_review_steps_and_an_edit_each_leave_an_event_history_row(
    area, cadre_user, township_official
):
    # given
    visit, _ = visit_create(actor=cadre_user, **visit_fields(area.villages["a1v1"]))

    # when
    visit_return(actor=township_official, visit=visit, comment="请补充走访内容")
    visit = visit_update(actor=cadre_user, visit=visit, notes="补充：入户 4 户。", photos=[photo()])
    visit_approve(actor=township_official, visit=visit)

    # then
    history = VisitEvent.history.model.objects.filter(visit_id=visit.pk).order_by("history_id")
    assert [(r.action, r.history_user, r.comment) for r in history] == [
        ("submit", cadre_user, ""),
        ("return", township_official, "请补充走访内容"),
        ("resubmit", cadre_user, ""),
        ("approve", township_official, ""),
    ]
    assert VisitPhoto.history.model.objects.filter(visit_id=visit.pk).count() == 1


def test_an_event_row_names_the_request_that_made_it(area, cadre_user, township_official):
    # given
    visit, _ = visit_create(actor=cadre_user, **visit_fields(area.villages["a1v1"]))
    request = RequestFactory().post(f"/visits/{visit.pk}/review/", REMOTE_ADDR=IP)
    request.user = township_official
    HistoricalRecords.context.request = request

    # when
    try:
        visit_approve(actor=township_official, visit=visit)
    finally:
        del HistoricalRecords.context.request

    # then
    row = VisitEvent.history.model.objects.filter(visit_id=visit.pk, action="approve").get()
    assert (row.history_source, row.history_request_method) == ("web", "POST")
    assert row.history_request_path == f"/visits/{visit.pk}/review/"
    assert row.history_ip == IP


def test_deleting_a_visit_leaves_deleted_rows_for_its_events_and_photos(area, cadre_user):
    # given
    visit, _ = visit_create(
        actor=cadre_user, photos=[photo()], **visit_fields(area.villages["a1v1"])
    )
    pk = visit.pk

    # when
    Visit.objects.get(pk=pk).delete()

    # then
    events = VisitEvent.history.model.objects.filter(visit_id=pk)
    photos = VisitPhoto.history.model.objects.filter(visit_id=pk)
    assert sorted(events.values_list("history_type", flat=True)) == ["+", "-"]
    assert sorted(photos.values_list("history_type", flat=True)) == ["+", "-"]


def test_event_and_photo_history_cannot_be_deleted(area, cadre_user):
    # given
    visit, _ = visit_create(
        actor=cadre_user, photos=[photo()], **visit_fields(area.villages["a1v1"])
    )

    # when / then
    for model in (VisitEvent, VisitPhoto):
        with pytest.raises(PermissionDenied, match="历史记录是审计记录，不能删除"):
            with transaction.atomic():
                model.history.model.objects.filter(visit_id=visit.pk).delete()
        assert model.history.model.objects.filter(visit_id=visit.pk).count() == 1
