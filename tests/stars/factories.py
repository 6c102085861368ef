"""Factories and small builders for the stars tests (on the `area` world of tests/conftest.py,
whose roster year is 2024)."""

import datetime

import factory
from factory.django import DjangoModelFactory

from stars.models import StarAward, StarAwardEvent, StarType, WeakBranchCase

YEAR = 2024


def star(scheme: str, code: str) -> StarType:
    return StarType.objects.get(scheme=scheme, code=code)


class StarAwardFactory(DjangoModelFactory):
    class Meta:
        model = StarAward

    year = YEAR
    star_type = factory.LazyFunction(lambda: star("rural", "branch"))
    state = StarAward.State.AWARDED
    awarded_on = factory.LazyAttribute(
        lambda o: datetime.date(o.year, 12, 1) if o.state == StarAward.State.AWARDED else None
    )


class StarAwardEventFactory(DjangoModelFactory):
    class Meta:
        model = StarAwardEvent

    step = StarAwardEvent.Step.APPLY
    at = factory.LazyFunction(lambda: datetime.datetime(YEAR, 3, 1, 9, tzinfo=datetime.UTC))


class WeakCaseFactory(DjangoModelFactory):
    class Meta:
        model = WeakBranchCase

    year = YEAR
    identified_on = datetime.date(YEAR, 2, 15)
    reasons = factory.LazyFunction(lambda: ["disunity"])
    status = WeakBranchCase.Status.IDENTIFIED


def hold(branch, *codes, scheme="rural", year=YEAR):
    """Give `branch` these stars (已授星) in `year`."""
    return [
        StarAwardFactory(branch=branch, year=year, star_type=star(scheme, code)) for code in codes
    ]
