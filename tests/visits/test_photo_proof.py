"""Photos that prove the visit (issue 17, point 2, the server's part).

The browser reads each photo's capture time and GPS fix from its EXIF and posts them beside
the photos (`photo_taken_at`, `photo_latitude`, `photo_longitude`, one value per photo, in
their order). The server keeps them as fields of the photo (a broken value is dropped,
never the photo), burns a 水印相机-style band into the stored image (time, township and
village, cadre, coordinates; nothing else of the upload survives), flags a photo taken more
than 24 h before the visit's day or more than 5 km from the village, and makes a thumbnail
once.

The world is the `area` fixture (tests/conftest.py): the cadre `cadre_user` (甲一干部) 帮村
a1v1村 of 甲一镇 in 2024; the village is put at 34.0 N, 113.8 E where a test needs it.
"""

from __future__ import annotations

import datetime
import io
import logging
import os
import uuid
from decimal import Decimal
from unittest import mock
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import ExifTags, Image, ImageChops, ImageStat
from rest_framework.test import APIClient

from tests.visits.helpers import DAY, visit_fields
from visits import watermark
from visits.models import VisitPhoto
from visits.services import (
    THUMBNAIL_SIDE,
    _thumbnail_jpeg,
    _watermark_lines,
    photo_exif,
    visit_create,
    visit_update,
)

pytestmark = pytest.mark.django_db

XUCHANG = ZoneInfo("Asia/Shanghai")
SOURCE_COLOR = (60, 150, 210)
SIZE = (800, 600)
# what metadata looks like inside a JPEG, whatever it says
METADATA_SIGNATURES = (b"Exif\x00\x00", b"http://ns.adobe.com/xap/1.0/", b"ICC_PROFILE", b"GPS")


@pytest.fixture
def a1v1(area):
    return area.villages["a1v1"]


@pytest.fixture
def located_a1v1(a1v1):
    a1v1.latitude, a1v1.longitude = Decimal("34.0"), Decimal("113.8")
    a1v1.save(update_fields=["latitude", "longitude"])
    return a1v1


@pytest.fixture
def cadre_api(cadre_user):
    client = APIClient()
    client.force_login(cadre_user)
    return client


@pytest.fixture
def fresh_fonts():
    """The watermark font looked up again for this test and after it."""
    watermark._font_source.cache_clear()
    watermark.font.cache_clear()
    yield
    watermark._font_source.cache_clear()
    watermark.font.cache_clear()


def camera_jpeg(name: str = "IMG_0001.jpg") -> SimpleUploadedFile:
    """A plain-coloured phone photo with EXIF (camera, time, GPS), a comment and an ICC
    profile."""
    exif = Image.Exif()
    exif[ExifTags.Base.Model] = "SECRET-CAMERA"
    exif[ExifTags.Base.DateTime] = "2024:05:14 09:30:00"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (34.0, 1.0, 30.0)
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = (113.0, 49.0, 12.0)
    buffer = io.BytesIO()
    Image.new("RGB", SIZE, SOURCE_COLOR).save(
        buffer,
        format="JPEG",
        quality=95,
        exif=exif,
        comment=b"SECRET-COMMENT",
        icc_profile=b"SECRET-ICC" * 20,
    )
    data = buffer.getvalue()
    assert b"SECRET-CAMERA" in data and b"Exif\x00\x00" in data  # the upload carries them
    return SimpleUploadedFile(name, data, content_type="image/jpeg")


def log_with_photos(user, village, *, photos=None, day=DAY, **exif):
    visit, created = visit_create(
        actor=user,
        photos=photos if photos is not None else [camera_jpeg()],
        **visit_fields(village, date=day),
        **exif,
    )
    assert created
    return visit


def stored_image(photo: VisitPhoto, field: str = "image") -> tuple[bytes, Image.Image]:
    with getattr(photo, field).open("rb") as f:
        data = f.read()
    img = Image.open(io.BytesIO(data))
    img.load()
    return data, img


def band_box(img: Image.Image) -> tuple[int, int, int, int]:
    """The bottom eighth of the image: inside the watermark band, whatever its font size."""
    width, height = img.size
    return (0, height - height // 8, width, height)


def top_box(img: Image.Image) -> tuple[int, int, int, int]:
    width, height = img.size
    return (0, 0, width, height // 3)


# ----- the watermark, and nothing else of the upload -----


def test_the_stored_photo_has_a_watermark_band_and_no_metadata(cadre_user, located_a1v1):
    # when
    visit = log_with_photos(
        cadre_user,
        located_a1v1,
        photo_taken_at=["2024-05-14T09:30:00"],
        photo_latitude=["34.025"],
        photo_longitude=["113.82"],
    )

    # then: the top of the photo is the source's colour; its bottom band is darker, with
    # light text on it
    data, img = stored_image(visit.photos.get())
    assert img.size == SIZE
    top = ImageStat.Stat(img.crop(top_box(img))).mean
    assert all(abs(got - want) < 6 for got, want in zip(top, SOURCE_COLOR, strict=True))
    band = img.crop(band_box(img)).convert("L")
    source_grey = Image.new("RGB", (1, 1), SOURCE_COLOR).convert("L").getpixel((0, 0))
    darkest, lightest = band.getextrema()
    assert ImageStat.Stat(band).median[0] < source_grey * 0.6  # the semi-transparent band
    assert lightest > 200  # the text
    # and nothing of the upload's metadata
    for marker in (b"SECRET-CAMERA", b"SECRET-COMMENT", b"SECRET-ICC", *METADATA_SIGNATURES):
        assert marker not in data, marker
    assert not img.getexif()
    assert not {"exif", "comment", "icc_profile", "xmp"} & set(img.info)
    assert [marker for marker, _ in img.applist] == ["APP0"]


def test_the_watermark_says_what_the_photo_knows(cadre_user, located_a1v1):
    # given: the same picture twice, once with its EXIF time and place, once without
    visit = log_with_photos(
        cadre_user,
        located_a1v1,
        photos=[camera_jpeg("a.jpg"), camera_jpeg("b.jpg")],
        photo_taken_at=["2024-05-14T09:30:00", ""],
        photo_latitude=["34.025", ""],
        photo_longitude=["113.82", ""],
    )
    with_exif, without_exif = (stored_image(p)[1] for p in visit.photos.order_by("id"))

    # then: the pictures are the same above the band and differ in it
    assert ImageChops.difference(with_exif, without_exif).crop(top_box(with_exif)).getbbox() is None
    assert ImageChops.difference(with_exif, without_exif).crop(band_box(with_exif)).getbbox()


def test_the_watermark_lines_name_time_place_cadre_and_coordinates(cadre_user, located_a1v1):
    visit = log_with_photos(cadre_user, located_a1v1, photos=[])
    photo = VisitPhoto(
        visit=visit,
        **photo_exif(taken_at="2024-05-14T09:30:00", latitude="34.025", longitude="113.82"),
    )

    lines = _watermark_lines(visit, photo, uploaded_at=datetime.datetime.now(tz=XUCHANG))

    assert lines == [
        "09:30  2024-05-14 星期二  拍摄",
        "甲一镇 a1v1村",
        "帮扶干部：甲一干部",
        "34.025000°N 113.820000°E",
    ]


def test_without_an_exif_time_the_watermark_shows_the_upload_time(cadre_user, located_a1v1):
    visit = log_with_photos(cadre_user, located_a1v1, photos=[])
    uploaded_at = datetime.datetime(2024, 5, 16, 18, 5, tzinfo=XUCHANG)

    lines = _watermark_lines(visit, VisitPhoto(visit=visit), uploaded_at=uploaded_at)

    assert lines == ["18:05  2024-05-16 星期四  上传", "甲一镇 a1v1村", "帮扶干部：甲一干部"]


def test_without_a_cjk_font_the_photo_is_still_stored_with_a_warning(
    cadre_user, a1v1, settings, monkeypatch, caplog, fresh_fonts
):
    # given: no font where the setting or the usual places say
    settings.WATERMARK_FONT = "/nonexistent/font.ttc"
    monkeypatch.setattr(watermark, "CJK_FONT_CANDIDATES", ())

    # when
    with caplog.at_level(logging.WARNING, logger="visits.watermark"):
        visit = log_with_photos(cadre_user, a1v1)

    # then: stored, watermarked with Pillow's own font, and the operator is told
    _, img = stored_image(visit.photos.get())
    assert img.crop(band_box(img)).convert("L").getextrema()[1] > 200
    assert "No CJK font found" in caplog.text
    assert not watermark.font_is_cjk()


def test_the_font_setting_wins_and_its_simplified_chinese_face_is_chosen(settings, fresh_fonts):
    # fonts-noto-cjk (the image's package) holds a serif collection beside the default sans
    path = "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc"
    if not os.path.exists(path):
        pytest.skip("fonts-noto-cjk is not installed here")
    settings.WATERMARK_FONT = path

    assert watermark._font_source()[0] == path
    assert watermark.font(20).getname()[0] == "Noto Serif CJK SC"


def test_the_dockerfile_installs_the_cjk_font():
    from pathlib import Path

    dockerfile = (Path(__file__).resolve().parents[2] / "Dockerfile").read_text(encoding="utf-8")
    assert "fonts-noto-cjk" in dockerfile


# ----- the EXIF time and place, kept as fields -----


def test_the_exif_time_and_gps_are_stored_on_the_photo(cadre_api, a1v1):
    # when: the offline queue posts a photo with what the browser read from its EXIF
    response = cadre_api.post(
        "/api/visits/",
        {
            "client_uuid": str(uuid.uuid4()),
            "village": a1v1.pk,
            "date": DAY.isoformat(),
            "activities": ["household"],
            "photos": [camera_jpeg()],
            "photo_taken_at": ["2024-05-14T09:30:15"],
            "photo_latitude": ["34.02500012"],
            "photo_longitude": ["113.8200004"],
        },
        format="multipart",
    )

    # then
    assert response.status_code == 201, response.content
    photo = VisitPhoto.objects.get()
    assert photo.taken_at == datetime.datetime(2024, 5, 14, 9, 30, 15, tzinfo=XUCHANG)
    assert (photo.latitude, photo.longitude) == (Decimal("34.025000"), Decimal("113.820000"))
    assert photo.thumbnail


def test_the_no_js_form_post_keeps_the_exif_fields_too(client, cadre_user, a1v1):
    client.force_login(cadre_user)

    response = client.post(
        "/visits/new/",
        {
            "client_uuid": str(uuid.uuid4()),
            "village": a1v1.pk,
            "date": DAY.isoformat(),
            "day_part": "full",
            "activities": ["household"],
            "meetings": 0,
            "people_reached": 0,
            "households_visited": 0,
            "photos": [camera_jpeg("a.jpg"), camera_jpeg("b.jpg")],
            "photo_taken_at": ["", "2024:05:13 20:00:00"],
            "photo_latitude": ["34.1", ""],
            "photo_longitude": ["113.9", ""],
        },
    )

    assert response.status_code == 302, response.content.decode()
    first, second = VisitPhoto.objects.order_by("id")
    assert first.taken_at is None
    assert (first.latitude, first.longitude) == (Decimal("34.100000"), Decimal("113.900000"))
    assert second.taken_at == datetime.datetime(2024, 5, 13, 20, 0, tzinfo=XUCHANG)
    assert second.latitude is None and second.longitude is None


def test_an_edit_adds_photos_with_their_exif_fields(client, cadre_user, a1v1):
    visit = log_with_photos(cadre_user, a1v1, photos=[])
    client.force_login(cadre_user)

    response = client.post(
        f"/visits/{visit.pk}/edit/",
        {
            "village": a1v1.pk,
            "date": DAY.isoformat(),
            "day_part": "full",
            "activities": ["household"],
            "meetings": 0,
            "people_reached": 0,
            "households_visited": 0,
            "photos": [camera_jpeg()],
            "photo_taken_at": ["2024-05-14T08:00"],
            "photo_latitude": ["34.2"],
            "photo_longitude": ["113.7"],
        },
    )

    assert response.status_code == 302, response.content.decode()
    photo = visit.photos.get()
    assert photo.taken_at == datetime.datetime(2024, 5, 14, 8, 0, tzinfo=XUCHANG)
    assert photo.latitude == Decimal("34.2")


BROKEN_TIMES = [
    "昨天上午",
    "2024-13-45T09:30:00",
    "2024-05-14T25:61:00",
    "1970-01-01T00:00:00",  # a camera clock that was never set
    "2999-01-01T00:00:00",  # the future
    "2024-05-14T09:30:00" + "0" * 100,  # longer than any time is
    "NaN",
    "0",
]
BROKEN_FIXES = [
    ("abc", "113.8"),
    ("34.0", ""),  # half a fix
    ("", "113.8"),
    ("91", "113.8"),
    ("34.0", "-180.5"),
    ("NaN", "113.8"),
    ("34.0", "Infinity"),
    ("1e400", "113.8"),
    ("0", "0"),  # a receiver's blank
    ("3" + "0" * 100, "113.8"),
]


@pytest.mark.parametrize("taken_at", BROKEN_TIMES)
def test_a_broken_exif_time_is_dropped_and_the_photo_kept(cadre_api, a1v1, taken_at):
    response = cadre_api.post(
        "/api/visits/",
        {
            "client_uuid": str(uuid.uuid4()),
            "village": a1v1.pk,
            "date": DAY.isoformat(),
            "activities": ["household"],
            "photos": [camera_jpeg()],
            "photo_taken_at": [taken_at],
            "photo_latitude": ["34.02"],
            "photo_longitude": ["113.82"],
        },
        format="multipart",
    )

    assert response.status_code == 201, response.content
    photo = VisitPhoto.objects.get()
    assert photo.taken_at is None and not photo.time_flag
    assert photo.latitude == Decimal("34.02")  # the good value of the same photo stays


@pytest.mark.parametrize("latitude, longitude", BROKEN_FIXES)
def test_a_broken_exif_fix_is_dropped_and_the_photo_kept(cadre_api, a1v1, latitude, longitude):
    response = cadre_api.post(
        "/api/visits/",
        {
            "client_uuid": str(uuid.uuid4()),
            "village": a1v1.pk,
            "date": DAY.isoformat(),
            "activities": ["household"],
            "photos": [camera_jpeg()],
            "photo_taken_at": ["2024-05-14T09:30:00"],
            "photo_latitude": [latitude],
            "photo_longitude": [longitude],
        },
        format="multipart",
    )

    assert response.status_code == 201, response.content
    photo = VisitPhoto.objects.get()
    assert photo.latitude is None and photo.longitude is None
    assert photo.distance_km is None and not photo.place_flag
    assert photo.taken_at is not None


def test_fewer_exif_values_than_photos_leave_the_rest_unknown(cadre_user, a1v1):
    visit = log_with_photos(
        cadre_user,
        a1v1,
        photos=[camera_jpeg("a.jpg"), camera_jpeg("b.jpg")],
        photo_taken_at=["2024-05-14T09:30:00"],
    )

    first, second = visit.photos.order_by("id")
    assert first.taken_at is not None
    assert second.taken_at is None and second.latitude is None


def test_exif_text_as_the_camera_writes_it_is_read():
    assert photo_exif(taken_at="2024:05:14 09:30:00")["taken_at"] == datetime.datetime(
        2024, 5, 14, 9, 30, tzinfo=XUCHANG
    )


def test_an_exif_time_with_an_offset_keeps_it():
    taken = photo_exif(taken_at="2024-05-14T01:30:00+00:00")["taken_at"]
    assert taken == datetime.datetime(2024, 5, 14, 9, 30, tzinfo=XUCHANG)


# ----- flags, never refusals -----


@pytest.mark.parametrize(
    "taken_at, flagged",
    [
        ("2024-05-12T23:59:00", True),  # more than 24 h before 5月14日 began
        ("2024-05-01T10:00:00", True),
        ("2024-05-13T00:01:00", False),  # the day before: fine
        ("2024-05-14T10:00:00", False),
        ("2024-05-14T23:00:00", False),
    ],
)
def test_a_photo_taken_more_than_24_hours_before_the_visit_day_is_flagged(
    cadre_user, a1v1, taken_at, flagged
):
    visit = log_with_photos(cadre_user, a1v1, photo_taken_at=[taken_at])

    photo = visit.photos.get()
    assert photo.time_flag is flagged
    assert visit.photo_time_flag is flagged


@pytest.mark.parametrize(
    "latitude, longitude, flagged, km",
    [
        ("34.3", "113.8", True, Decimal("33.36")),  # 33 km north
        ("34.04", "113.8", False, Decimal("4.45")),
        ("34.0", "113.8", False, Decimal("0.00")),
    ],
)
def test_a_photo_taken_more_than_5_km_from_the_village_is_flagged(
    cadre_user, located_a1v1, latitude, longitude, flagged, km
):
    visit = log_with_photos(
        cadre_user, located_a1v1, photo_latitude=[latitude], photo_longitude=[longitude]
    )

    photo = visit.photos.get()
    assert photo.place_flag is flagged
    assert photo.distance_km == km
    assert visit.photo_place_flag is flagged


def test_no_place_flag_without_the_villages_coordinate(cadre_user, a1v1):
    visit = log_with_photos(cadre_user, a1v1, photo_latitude=["40.0"], photo_longitude=["116.4"])

    photo = visit.photos.get()
    assert photo.latitude == Decimal("40.0")
    assert not photo.place_flag and photo.distance_km is None


def test_editing_the_visits_date_flags_its_photos_again(cadre_user, a1v1):
    visit = log_with_photos(cadre_user, a1v1, photo_taken_at=["2024-05-14T09:00:00"])
    assert not visit.photos.get().time_flag

    visit_update(actor=cadre_user, visit=visit, date=DAY + datetime.timedelta(days=3))

    assert visit.photos.get().time_flag


def test_the_visit_page_shows_the_photo_flags_and_exif(client, cadre_user, located_a1v1):
    visit = log_with_photos(
        cadre_user,
        located_a1v1,
        photo_taken_at=["2024-05-01T09:00:00"],
        photo_latitude=["34.3"],
        photo_longitude=["113.8"],
    )
    client.force_login(cadre_user)

    html = client.get(f"/visits/{visit.pk}/").content.decode()

    assert "拍摄时间存疑" in html and "拍摄地点存疑" in html
    assert "照片时间存疑" in html and "照片地点存疑" in html
    assert "拍摄于 2024-05-01 09:00" in html
    assert "距村 33.36 公里" in html


def test_an_unflagged_photo_shows_no_flag(client, cadre_user, a1v1):
    visit = log_with_photos(cadre_user, a1v1, photo_taken_at=["2024-05-14T09:00:00"])
    client.force_login(cadre_user)

    html = client.get(f"/visits/{visit.pk}/").content.decode()

    assert "存疑" not in html
    assert "无拍摄位置" in html


# ----- the thumbnail, made once -----


def test_the_thumbnail_is_made_once_when_the_photo_is_stored(client, cadre_user, a1v1):
    # given
    with mock.patch("visits.services._thumbnail_jpeg", wraps=_thumbnail_jpeg) as made:
        visit = log_with_photos(cadre_user, a1v1)
    photo = visit.photos.get()
    assert made.call_count == 1
    _, thumb = stored_image(photo, "thumbnail")
    assert thumb.format == "JPEG" and max(thumb.size) == THUMBNAIL_SIDE
    name = photo.thumbnail.name
    client.force_login(cadre_user)

    # when: it is asked for, twice
    with (
        mock.patch("visits.services._thumbnail_jpeg", side_effect=AssertionError("made again")),
        mock.patch("visits.watermark.burn", side_effect=AssertionError("burnt again")),
    ):
        answers = [client.get(photo.thumbnail_url) for _ in range(2)]

    # then: the stored file, as it was
    photo.refresh_from_db()
    assert photo.thumbnail.name == name
    for answer in answers:
        assert answer.status_code == 200
        assert answer["Content-Type"] == "image/jpeg"
        assert b"".join(answer.streaming_content) == photo.thumbnail.open("rb").read()


def test_a_photo_stored_before_thumbnails_is_served_whole(client, cadre_user, a1v1):
    visit = log_with_photos(cadre_user, a1v1)
    photo = visit.photos.get()
    VisitPhoto.objects.filter(pk=photo.pk).update(thumbnail="")
    client.force_login(cadre_user)

    answer = client.get(photo.thumbnail_url)

    assert answer.status_code == 200
    assert b"".join(answer.streaming_content) == photo.image.open("rb").read()


@pytest.mark.parametrize(
    "who, status",
    [
        ("cadre_user", 200),  # their own visit
        ("township_official", 200),
        ("county_official", 200),
        ("city_admin", 200),
        ("other_county_official", 404),
        ("township_cadre_user", 404),  # another cadre
        ("no_role_user", 404),
    ],
)
def test_the_thumbnail_is_served_within_the_visits_scope_only(client, users, a1v1, who, status):
    visit = log_with_photos(users["cadre_user"], a1v1)
    photo = visit.photos.get()
    client.force_login(users[who])

    assert client.get(photo.thumbnail_url).status_code == status


def test_a_thumbnail_under_another_visit_is_404(client, users, area, a1v1):
    mine = log_with_photos(users["cadre_user"], a1v1)
    other = log_with_photos(
        users["township_cadre_user"], area.villages["a2v1"], photos=[camera_jpeg()]
    )
    client.force_login(users["cadre_user"])
    foreign = other.photos.get()

    assert client.get(f"/visits/{mine.pk}/photos/{foreign.pk}/thumbnail/").status_code == 404


def test_anonymous_thumbnail_goes_to_login(client, users, a1v1):
    photo = log_with_photos(users["cadre_user"], a1v1).photos.get()

    response = client.get(photo.thumbnail_url)

    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_a_photo_without_an_exif_time_is_marked_with_the_servers_clock(cadre_user, a1v1):
    burnt = []

    def spy(img, lines):
        burnt.append(lines)
        return img

    moment = datetime.datetime(2024, 6, 1, 12, 0, tzinfo=XUCHANG)
    with time_machine.travel(moment, tick=False), mock.patch("visits.watermark.burn", spy):
        log_with_photos(
            cadre_user,
            a1v1,
            photos=[camera_jpeg("a.jpg"), camera_jpeg("b.jpg")],
            photo_taken_at=["", "2024-05-14T09:30:00"],
        )

    assert [lines[0] for lines in burnt] == [
        "12:00  2024-06-01 星期六  上传",
        "09:30  2024-05-14 星期二  拍摄",
    ]


def test_the_api_tells_each_photos_exif_and_flags(cadre_api, cadre_user, located_a1v1):
    visit = log_with_photos(
        cadre_user,
        located_a1v1,
        photo_taken_at=["2024-05-01T09:00:00"],
        photo_latitude=["34.3"],
        photo_longitude=["113.8"],
    )
    photo = visit.photos.get()

    (details,) = cadre_api.get(f"/api/visits/{visit.pk}/").json()["photo_details"]

    assert details == {
        "url": f"http://testserver/visits/{visit.pk}/photos/{photo.pk}/",
        "thumbnail": f"http://testserver/visits/{visit.pk}/photos/{photo.pk}/thumbnail/",
        "taken_at": "2024-05-01T09:00:00+08:00",
        "latitude": "34.300000",
        "longitude": "113.800000",
        "distance_km": "33.36",
        "time_flag": True,
        "place_flag": True,
    }
