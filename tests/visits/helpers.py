"""Factories and small builders for the visits tests (services and selectors).

Dates: the `area` fixture's assignments run from 2024-01-01 to 2024-12-31, so the tests use
days of 2024 (all in the past) unless they are about "today" or "the future"; those build
assignments for the years they need with `assignment_covering`.
"""

import datetime
import io
import struct
import uuid
import zlib

import factory
from django.core.files.uploadedfile import SimpleUploadedFile
from factory.django import DjangoModelFactory
from PIL import Image

from tests.factories import (
    AssignmentFactory,
    CadreFactory,
    UserFactory,
    UserRoleFactory,
    VillageFactory,
)
from visits.models import Problem, Visit, WorkdayRule

# A Tuesday in May 2024: inside every assignment of the `area` fixture.
DAY = datetime.date(2024, 5, 14)


class VisitFactory(DjangoModelFactory):
    """A stored visit, straight into the table (for selector tests; services tests go
    through `visit_create`)."""

    class Meta:
        model = Visit

    cadre = factory.SubFactory(CadreFactory)
    village = factory.SubFactory(VillageFactory)
    date = DAY
    day_part = Visit.DayPart.FULL
    activities = factory.LazyFunction(lambda: [Visit.Activity.HOUSEHOLD.value])
    state = Visit.State.SUBMITTED


class ProblemFactory(DjangoModelFactory):
    class Meta:
        model = Problem

    village = factory.SubFactory(VillageFactory)
    category = Problem.Category.OTHER
    description = factory.Sequence(lambda n: f"测试问题{n}")
    status = Problem.Status.PENDING


class WorkdayRuleFactory(DjangoModelFactory):
    class Meta:
        model = WorkdayRule

    required_days = 10
    period = WorkdayRule.Period.MONTH
    effective_from = datetime.date(2024, 1, 1)


def cadre_login(cadre, username: str | None = None):
    """Give `cadre` a login with the cadre role; returns the user."""
    user = UserFactory(username=username or f"cadre_login_{cadre.pk}")
    UserRoleFactory(user=user, role="cadre")
    cadre.user = user
    cadre.save(update_fields=["user"])
    return user


def assignment_covering(cadre, village, *days):
    """A whole-year 帮村 assignment of `cadre` to `village` for each year among `days`."""
    return [
        AssignmentFactory(cadre=cadre, village=village, year=year)
        for year in sorted({d.year for d in days})
    ]


def visit_fields(village, **overrides) -> dict:
    """Keyword arguments of a valid `visit_create` call (a fresh client UUID)."""
    return {
        "client_uuid": uuid.uuid4(),
        "village": village,
        "date": DAY,
        "day_part": Visit.DayPart.FULL,
        "activities": [Visit.Activity.HOUSEHOLD.value],
        "meetings": 1,
        "people_reached": 12,
        "households_visited": 4,
        "notes": "入户走访，了解群众诉求。",
    } | overrides


def png_bytes(size=(64, 48), color=(200, 30, 30)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, format="PNG")
    return buffer.getvalue()


def png_upload(name: str = "photo.png", **kwargs) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, png_bytes(**kwargs), content_type="image/png")


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def pixel_bomb_upload(side: int = 20000) -> SimpleUploadedFile:
    """A 68-byte PNG that claims `side` × `side` pixels (a decompression bomb)."""
    header = struct.pack(">IIBBBBB", side, side, 1, 0, 0, 0, 0)
    data = (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", zlib.compress(b"\0" * 16))
        + _png_chunk(b"IEND", b"")
    )
    return SimpleUploadedFile("bomb.png", data, content_type="image/png")


def days_of(year: int, month: int, count: int, first: int = 1) -> list[datetime.date]:
    """`count` consecutive dates from the `first` of the month."""
    return [datetime.date(year, month, first + i) for i in range(count)]
