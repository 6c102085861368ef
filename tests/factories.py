"""factory_boy factories for the village hierarchy and the people in it.

Area codes nest the way the real ones do: a township's 9-digit code is its county's
6-digit code plus three digits, a village's 12-digit code is its township's plus three.
County codes start with 9 so they can never collide with the real 411xxx codes that
`seed_demo` loads.
"""

import datetime

import factory
from django.contrib.auth import get_user_model
from factory.django import DjangoModelFactory

from villages.models import (
    Assignment,
    Branch,
    Cadre,
    County,
    Roster,
    RosterEntry,
    Township,
    UserRole,
    Village,
    WorkUnit,
)

DEFAULT_YEAR = 2024


def _serial(n: int) -> str:
    """001..999: the three digits a level adds to its parent's code."""
    return f"{n % 999 + 1:03d}"


class UserFactory(DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n:04d}")
    first_name = factory.Sequence(lambda n: f"用户{n}")
    password = factory.django.Password("test-pass-123")


class CountyFactory(DjangoModelFactory):
    class Meta:
        model = County

    code = factory.Sequence(lambda n: f"{900000 + n % 100000:06d}")
    name = factory.Sequence(lambda n: f"测试{n}县")
    kind = County.Kind.COUNTY


class TownshipFactory(DjangoModelFactory):
    class Meta:
        model = Township

    county = factory.SubFactory(CountyFactory)
    code = factory.LazyAttributeSequence(lambda o, n: f"{o.county.code}{_serial(n)}")
    name = factory.Sequence(lambda n: f"测试{n}镇")
    kind = Township.Kind.TOWN


class VillageFactory(DjangoModelFactory):
    class Meta:
        model = Village

    township = factory.SubFactory(TownshipFactory)
    code = factory.LazyAttributeSequence(lambda o, n: f"{o.township.code}{_serial(n)}")
    name = factory.Sequence(lambda n: f"测试{n}村")
    kind = Village.Kind.VILLAGE
    households = 300
    population = 1000


class BranchFactory(DjangoModelFactory):
    class Meta:
        model = Branch

    code = factory.Sequence(lambda n: f"T{n:08d}")
    name = factory.Sequence(lambda n: f"测试{n}党支部")
    kind = Branch.Kind.BRANCH
    township = factory.SubFactory(TownshipFactory)


class RosterFactory(DjangoModelFactory):
    class Meta:
        model = Roster
        django_get_or_create = ("year",)

    year = DEFAULT_YEAR


class RosterEntryFactory(DjangoModelFactory):
    class Meta:
        model = RosterEntry

    roster = factory.SubFactory(RosterFactory)
    village = factory.SubFactory(VillageFactory)
    branch = factory.SubFactory(
        BranchFactory,
        township=factory.SelfAttribute("..village.township"),
        name=factory.LazyAttribute(lambda b: f"{b.factory_parent.village.name}党支部"),
    )


class WorkUnitFactory(DjangoModelFactory):
    class Meta:
        model = WorkUnit

    name = factory.Sequence(lambda n: f"测试单位{n}")
    level = WorkUnit.Level.CITY
    county = None


class CadreFactory(DjangoModelFactory):
    class Meta:
        model = Cadre

    name = factory.Sequence(lambda n: f"干部{n}")
    phone = factory.Sequence(lambda n: f"139{n % 10**8:08d}")
    work_unit = factory.SubFactory(WorkUnitFactory)
    position = "科员"
    level = Cadre.Level.CITY
    user = None


class AssignmentFactory(DjangoModelFactory):
    """A 帮村 assignment by default; `AssignmentFactory(for_township=True)` gives 联乡."""

    class Meta:
        model = Assignment

    class Params:
        for_township = factory.Trait(
            kind=Assignment.Kind.TOWNSHIP,
            village=None,
            township=factory.SubFactory(TownshipFactory),
        )

    cadre = factory.SubFactory(CadreFactory)
    kind = Assignment.Kind.VILLAGE
    village = factory.SubFactory(VillageFactory)
    township = None
    year = DEFAULT_YEAR
    start_date = factory.LazyAttribute(lambda o: datetime.date(o.year, 1, 1))
    end_date = factory.LazyAttribute(lambda o: datetime.date(o.year, 12, 31))


class UserRoleFactory(DjangoModelFactory):
    """A city viewer by default; pass `role=` plus `county=`/`township=` as the role needs."""

    class Meta:
        model = UserRole

    user = factory.SubFactory(UserFactory)
    role = UserRole.Role.CITY_VIEWER
    county = None
    township = None
