"""`seed_demo --scale N` gives each roster copy "…（扩k）" its own year of visits, on top of
the real roster's, which stays exactly as at scale 1.

A scale-2 seed of the whole city is too slow for the suite, so this runs the visits demo
on a tiny world built with factories: one township with two real villages and a 联乡
leader, their copies "（扩2）" and one "（扩3）", each with its own 帮村 cadre. The
published totals are scaled down to the size of that world (the real proportions), so the
planner works as it does on the city.
"""

import datetime
import uuid
from io import StringIO

import pytest
import time_machine
from django.core.management import call_command
from django.db import connection
from django.db.models import Count, Exists, OuterRef, Q, Sum
from django.test.utils import CaptureQueriesContext

from tests.factories import AssignmentFactory, TownshipFactory, VillageFactory
from villages.models import Assignment
from visits import demo
from visits.models import Problem, Visit, VisitEvent

pytestmark = pytest.mark.django_db

YEAR = 2023
PRESENT = datetime.datetime(
    2027, 3, 15, 18, 30, tzinfo=datetime.timezone(datetime.timedelta(hours=8))
)
# The 2023 totals at a thousandth: about what three cadres' year can hold.
TINY = demo.PUBLISHED.scaled(1 / 1000)


@pytest.fixture
def world(monkeypatch):
    monkeypatch.setattr(demo, "PUBLISHED", TINY)
    township = TownshipFactory()
    real = [VillageFactory(township=township, name=n) for n in ("东村", "西村")]
    copies = {
        2: [VillageFactory(township=township, name=f"{v.name}（扩2）") for v in real],
        3: [VillageFactory(township=township, name=f"{real[0].name}（扩3）")],
    }
    for village in real + copies[2] + copies[3]:
        AssignmentFactory(village=village, year=YEAR)
    AssignmentFactory(for_township=True, township=township, year=YEAR)
    return {"real": real, **copies}


def _seed(scale: int) -> str:
    out = StringIO()
    call_command("seed_demo", "--scale", str(scale), "--apps", "visits", stdout=out)
    return out.getvalue()


def _of(villages):
    return Visit.objects.filter(village__in=villages)


def _totals(visits) -> dict:
    return visits.aggregate(n=Count("id"), meetings=Sum("meetings"), people=Sum("people_reached"))


def _problems(visits) -> dict:
    problems = Problem.objects.filter(visit__in=visits)
    return dict(problems.values_list("status").annotate(n=Count("id")))


def _rows(visits) -> set:
    fields = ("client_uuid", "cadre_id", "village_id", "date", "meetings", "people_reached")
    return set(visits.values_list(*fields))


def test_each_copy_gets_its_own_year_and_the_real_roster_keeps_the_published_one(world):
    # given the real roster's year, seeded at scale 1
    _seed(1)
    real = _of(world["real"])
    assert Visit.objects.count() == real.count() > 300
    assert (_totals(real)["meetings"], _totals(real)["people"]) == (TINY.meetings, TINY.people)
    assert _problems(real) == TINY.problems
    before = _rows(real)

    # when the roster is seeded at scale 2
    _seed(2)

    # then the real roster's visits are exactly those of scale 1
    assert _rows(_of(world["real"])) == before
    # and copy 2 has its own year, in proportion to its visits; copy 3 is beyond the scale
    copy = _of(world[2])
    assert not _of(world[3]).exists()
    assert Visit.objects.count() == len(before) + copy.count()
    ratio = copy.count() / len(before)
    assert 0.6 < ratio < 1  # the 联乡 leader's visits stay with the real roster
    expected = TINY.scaled(ratio)
    assert _totals(copy) == {
        "n": copy.count(),
        "meetings": expected.meetings,
        "people": expected.people,
    }
    assert _problems(copy) == {status: n for status, n in expected.problems.items() if n}
    assert VisitEvent.objects.filter(visit__in=copy, action="submit").count() == copy.count()


def test_copy_visits_are_by_the_copys_own_cadres_at_their_own_villages(world):
    _seed(2)
    copy = _of(world[2]).select_related("cadre")

    # every visit lies inside an assignment of its cadre to its own village
    covering = Assignment.objects.filter(
        cadre=OuterRef("cadre"), start_date__lte=OuterRef("date"), end_date__gte=OuterRef("date")
    ).filter(Q(village=OuterRef("village")) | Q(township=OuterRef("village__township")))
    assert not Visit.objects.exclude(Exists(covering)).exists()
    copy_cadres = set(
        Assignment.objects.filter(village__in=world[2]).values_list("cadre_id", flat=True)
    )
    assert set(copy.values_list("cadre_id", flat=True)) == copy_cadres
    # the client_uuid names the copy, so a copy never collides with the real roster
    for visit in copy[:50]:
        names = [f"{visit.cadre.phone}/{visit.date.isoformat()}/{p}/2" for p in (1, 2)]
        assert visit.client_uuid in {uuid.uuid5(demo.NAMESPACE, n) for n in names}
    assert not copy.filter(date__lt=datetime.date(YEAR, 1, 1)).exists()


def test_a_rerun_at_scale_2_writes_nothing(world):
    # given
    _seed(2)
    before = Visit.objects.aggregate(n=Count("id"), events=Count("events"))

    # when
    with CaptureQueriesContext(connection) as ctx:
        out = _seed(2)

    # then
    assert "已是最新" in out and "新建" not in out
    writes = [
        q["sql"]
        for q in ctx.captured_queries
        if q["sql"].lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE", "COPY"))
    ]
    assert writes == []
    assert Visit.objects.aggregate(n=Count("id"), events=Count("events")) == before


def test_a_copy_seeded_later_is_added_without_touching_what_is_stored(world):
    # given the visits of scale 2
    _seed(2)
    before = _rows(Visit.objects.all())

    # when the seed grows to scale 3
    _seed(3)

    # then copy 3 has its year, the rest is as it was
    assert _rows(Visit.objects.exclude(village__in=world[3])) == before
    assert _of(world[3]).count() > 100


@pytest.fixture
def present_world(world):
    """The same links carried into 2027, as opening the year does."""
    for assignment in Assignment.objects.filter(year=YEAR):
        AssignmentFactory(
            cadre=assignment.cadre,
            kind=assignment.kind,
            village=assignment.village,
            township=assignment.township,
            year=PRESENT.year,
        )
    return world


def test_copies_get_the_present_year_too(present_world):
    world = present_world
    with time_machine.travel(PRESENT, tick=False):
        # given the real roster's present year, seeded at scale 1
        _seed(1)
        present = Visit.objects.filter(date__year=PRESENT.year)
        real = present.filter(village__in=world["real"])
        assert present.count() == real.count() > 50
        before = _rows(real)

        # when the roster is seeded at scale 2
        _seed(2)

    # then the real roster's present year is as it was, and copy 2 has its own up to today
    assert _rows(present.filter(village__in=world["real"])) == before
    copy = present.filter(village__in=world[2])
    assert copy.exists() and not present.filter(village__in=world[3]).exists()
    assert present.latest("date").date <= PRESENT.date()
    assert copy.earliest("date").date >= datetime.date(PRESENT.year, 1, 1)
    # in 2023's proportions, like the real roster's: about one meeting in eight visits. The
    # tiny world's present year holds some 60 visits a roster, so three standard deviations
    # span 0 to 24 %: the bound asks for some meetings and not too many, no more (0.08 failed
    # at 4 of 64 on a factory world whose names differ from run to run).
    for visits in (real, copy):
        totals = _totals(visits)
        assert 0 < totals["meetings"] / totals["n"] < 0.25
        assert 1.0 < totals["people"] / totals["n"] < 1.6
    copy_cadres = set(
        Assignment.objects.filter(village__in=world[2]).values_list("cadre_id", flat=True)
    )
    assert set(copy.values_list("cadre_id", flat=True)) == copy_cadres
