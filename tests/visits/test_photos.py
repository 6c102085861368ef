"""Visit photos keep pixels only (issue 15, point 4).

An uploaded photo is re-encoded as a JPEG rebuilt from its pixels: the uploader's JPEG
comment, EXIF (GPS, camera, time), XMP, ICC profile and PNG text chunks never reach the
stored file, and the EXIF orientation is applied before it is dropped. An image claiming
far more pixels than a photo has (a decompression bomb: huge dimensions in a tiny file) is
refused with a Chinese message before it is decoded, and nothing is stored.

Every upload here is generated in the test; each piece of metadata carries a marker text
that is then looked for in the stored file's raw bytes as well as through Pillow.
"""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import ExifTags, Image, PngImagePlugin
from rest_framework.test import APIClient

from tests.visits.helpers import visit_fields
from visits.models import Visit, VisitPhoto
from visits.services import visit_create

pytestmark = pytest.mark.django_db

COLOR = (200, 30, 30)
MARKERS = (
    b"SECRET-COMMENT",
    b"SECRET-CAMERA",
    b"SECRET-XMP",
    b"SECRET-ICC",
    b"SECRET-PNG-TEXT",
    b"SECRET-PNG-ITXT",
    b"SECRET-PNG-ZTXT",
)
# What metadata looks like inside a JPEG, whatever it says.
SEGMENT_SIGNATURES = (b"Exif\x00\x00", b"http://ns.adobe.com/xap/1.0/", b"ICC_PROFILE", b"GPS")


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


@pytest.fixture
def a1v1(area):
    return area.villages["a1v1"]


@pytest.fixture
def cadre_api(cadre_user):
    client = APIClient()
    client.force_login(cadre_user)
    return client


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def header_only_png(width: int, height: int, name: str = "bomb.png") -> SimpleUploadedFile:
    """A valid PNG of a few dozen bytes whose header claims `width` × `height` pixels."""
    data = (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0))
        + _chunk(b"IDAT", zlib.compress(b"\0" * 16))
        + _chunk(b"IEND", b"")
    )
    return SimpleUploadedFile(name, data, content_type="image/png")


def _exif(orientation: int = 1) -> Image.Exif:
    """EXIF with a camera model, a time, a GPS position (near 许昌) and an orientation."""
    exif = Image.Exif()
    exif[ExifTags.Base.Model] = "SECRET-CAMERA"
    exif[ExifTags.Base.DateTime] = "2024:05:14 09:30:00"
    exif[ExifTags.Base.Orientation] = orientation
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (34.0, 1.0, 30.0)
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = (113.0, 49.0, 12.0)
    return exif


def _xmp() -> bytes:
    return (
        b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF '
        b'xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        b'<rdf:Description xmlns:dc="http://purl.org/dc/elements/1.1/">'
        b"<dc:creator>SECRET-XMP</dc:creator></rdf:Description></rdf:RDF></x:xmpmeta>"
    )


def jpeg_with_metadata(size=(64, 48), orientation: int = 1) -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", size, COLOR).save(
        buffer,
        format="JPEG",
        quality=95,
        comment=b"SECRET-COMMENT",
        exif=_exif(orientation),
        xmp=_xmp(),
        icc_profile=b"SECRET-ICC" * 20,
    )
    data = buffer.getvalue()
    # the upload really carries what the test says it does
    for marker in (b"SECRET-COMMENT", b"SECRET-CAMERA", b"SECRET-XMP", b"SECRET-ICC"):
        assert marker in data
    with Image.open(io.BytesIO(data)) as check:
        assert check.getexif().get_ifd(ExifTags.IFD.GPSInfo)
    return SimpleUploadedFile("现场.jpg", data, content_type="image/jpeg")


def png_with_text(size=(64, 48)) -> SimpleUploadedFile:
    text = PngImagePlugin.PngInfo()
    text.add_text("Comment", "SECRET-PNG-TEXT")
    text.add_itxt("Description", "SECRET-PNG-ITXT", lang="zh", tkey="说明")
    text.add_text("Author", "SECRET-PNG-ZTXT" * 10, zip=True)
    buffer = io.BytesIO()
    Image.new("RGB", size, COLOR).save(buffer, format="PNG", pnginfo=text, exif=_exif())
    data = buffer.getvalue()
    assert b"tEXt" in data and b"iTXt" in data and b"zTXt" in data and b"eXIf" in data
    return SimpleUploadedFile("现场.png", data, content_type="image/png")


def _stored(media, visit) -> bytes:
    return (media / visit.photos.get().image.name).read_bytes()


def assert_pixels_only(data: bytes, size) -> None:
    for marker in MARKERS + SEGMENT_SIGNATURES:
        assert marker not in data, marker
    with Image.open(io.BytesIO(data)) as stored:
        assert (stored.format, stored.mode, stored.size) == ("JPEG", "RGB", size)
        assert not {"comment", "exif", "xmp", "icc_profile"} & set(stored.info), stored.info
        assert not stored.getexif()
        assert [marker for marker, _ in stored.applist] == ["APP0"]  # JFIF only
        # and the pixels are still the photo's
        r, g, b = stored.convert("RGB").getpixel((size[0] // 2, size[1] // 2))
        assert abs(r - COLOR[0]) < 12 and abs(g - COLOR[1]) < 12 and abs(b - COLOR[2]) < 12


def test_a_jpeg_keeps_no_comment_exif_gps_xmp_or_icc(cadre_user, a1v1, media):
    # when
    visit, _ = visit_create(actor=cadre_user, photos=[jpeg_with_metadata()], **visit_fields(a1v1))

    # then
    assert_pixels_only(_stored(media, visit), (64, 48))


def test_a_png_keeps_no_text_chunks_or_exif(cadre_user, a1v1, media):
    # when
    visit, _ = visit_create(actor=cadre_user, photos=[png_with_text()], **visit_fields(a1v1))

    # then
    assert_pixels_only(_stored(media, visit), (64, 48))


def test_the_exif_orientation_is_applied_before_it_is_dropped(cadre_user, a1v1, media):
    # given: a 64 × 48 picture taken with the phone turned (orientation 6: rotate 90°)
    upload = jpeg_with_metadata(size=(64, 48), orientation=6)

    # when
    visit, _ = visit_create(actor=cadre_user, photos=[upload], **visit_fields(a1v1))

    # then: it is stored standing up, and without the tag that said so
    assert_pixels_only(_stored(media, visit), (48, 64))


def test_a_photo_sent_through_the_api_keeps_pixels_only(cadre_api, area, media):
    # given
    body = {
        "client_uuid": "6f1e0c52-9a1f-4d5e-9a55-0d8f0a8c1a01",
        "village": area.villages["a1v1"].pk,
        "date": "2024-05-14",
        "activities": [Visit.Activity.HOUSEHOLD.value],
        "photos": [jpeg_with_metadata(), png_with_text()],
    }

    # when
    response = cadre_api.post("/api/visits/", body, format="multipart")

    # then
    assert response.status_code == 201, response.json()
    photos = VisitPhoto.objects.filter(visit_id=response.json()["id"])
    assert photos.count() == 2
    for photo in photos:
        assert_pixels_only((media / photo.image.name).read_bytes(), (64, 48))


def test_an_image_bomb_is_refused_in_chinese_before_it_is_decoded(cadre_user, a1v1, media):
    # given: a 68-byte PNG claiming 20,000 × 20,000 pixels (400 million)
    bomb = header_only_png(20000, 20000)
    assert bomb.size < 100

    # when / then
    with pytest.raises(ValidationError) as exc:
        visit_create(actor=cadre_user, photos=[bomb], **visit_fields(a1v1))
    (message,) = exc.value.message_dict["photos"]
    assert message == "照片“bomb.png”像素过大（超过 4000 万像素），请缩小后再上传。"
    assert not Visit.objects.exists()
    assert not VisitPhoto.objects.exists()
    assert [p for p in media.rglob("*") if p.is_file()] == []


def test_an_image_just_over_the_photo_limit_is_refused_the_same_way(cadre_user, a1v1, media):
    # given: 8,000 × 6,000 = 48 million pixels, under Pillow's own bomb limit
    big = header_only_png(8000, 6000, name="big.png")

    # when / then: the size is read from the header; nothing is decoded
    with pytest.raises(ValidationError) as exc:
        visit_create(actor=cadre_user, photos=[big], **visit_fields(a1v1))
    assert "像素过大" in exc.value.message_dict["photos"][0]


def test_an_image_bomb_through_the_api_is_a_400_in_chinese(cadre_api, area, media):
    # given
    body = {
        "client_uuid": "6f1e0c52-9a1f-4d5e-9a55-0d8f0a8c1a02",
        "village": area.villages["a1v1"].pk,
        "date": "2024-05-14",
        "activities": [Visit.Activity.HOUSEHOLD.value],
        "photos": [header_only_png(60000, 60000)],
    }

    # when
    response = cadre_api.post("/api/visits/", body, format="multipart")

    # then
    assert response.status_code == 400
    assert any("像素过大" in m for m in response.json()["photos"]), response.json()
    assert not Visit.objects.exists()
    # and the portal still answers
    assert APIClient().get("/healthz/").status_code == 200
