"""What the visits demo promises, checked the same way on whatever day it was seeded
(tests/visits/test_demo.py and test_demo_present.py). Each check takes the pinned "now"
the demo was seeded at; the clock must still be pinned there."""

import datetime
import uuid

from django.contrib.auth import get_user_model
from django.db.models import Count, Q, Sum
from django.utils import timezone

from villages.models import Assignment, Cadre
from visits import demo, selectors
from visits.models import Problem, Visit, VisitEvent
from visits.services import visit_create

BEIJING = datetime.timezone(datetime.timedelta(hours=8))
ZHANGQIAO = "411024107"


def _user(username):
    return get_user_model().objects.get(username=username)


def _per_visit(visits) -> tuple[float, float]:
    totals = visits.aggregate(n=Count("id"), meetings=Sum("meetings"), people=Sum("people_reached"))
    return totals["meetings"] / totals["n"], totals["people"] / totals["n"]


def assert_2023_as_published() -> None:
    """2023 adds up to the published figures, whatever else the demo holds."""
    year = Visit.objects.filter(date__year=2023)
    totals = year.aggregate(meetings=Sum("meetings"), people=Sum("people_reached"))
    assert totals == {"meetings": 45_214, "people": 457_968}
    problems = Problem.objects.filter(visit__date__year=2023)
    assert dict(problems.values_list("status").annotate(n=Count("id"))) == demo.PROBLEMS
    assert problems.count() == 22_560


def assert_present_year_up_to_now(now: datetime.datetime, *, share_of_2023) -> None:
    """The clock's year holds what was logged from 1 January up to `now`, and nothing
    later; this month is under way; 座谈会 and 人次 per visit are 2023's."""
    today = timezone.localdate(now)
    year = Visit.objects.filter(date__year=today.year)
    assert year.latest("date").date == today  # the evening: some visits of today are in
    assert not Visit.objects.filter(date__gt=today).exists()
    assert not Visit.objects.filter(Q(created_at__gt=now) | Q(reviewed_at__gt=now)).exists()
    assert not VisitEvent.objects.filter(at__gt=now).exists()
    assert not Problem.objects.filter(Q(updated_at__gt=now) | Q(resolved_on__gt=today)).exists()
    low, high = share_of_2023
    assert low <= year.count() / Visit.objects.filter(date__year=2023).count() <= high
    # the same proportions as 2023
    for present, published in zip(
        _per_visit(year), _per_visit(Visit.objects.filter(date__year=2023)), strict=True
    ):
        assert abs(present / published - 1) < 0.05, (present, published)
    # this month's progress is partial: each cadre's days so far, against last month's
    start = today.replace(day=1)
    last_month = (start - datetime.timedelta(days=1)).replace(day=1)

    def mean_days(first, last):
        per_cadre = (
            Visit.objects.filter(date__range=(first, last), state__in=selectors.COUNTED_STATES)
            .values("cadre")
            .annotate(n=Count("date", distinct=True))
            .values_list("n", flat=True)
        )
        return sum(per_cadre) / len(per_cadre)

    elapsed = today.day / ((start + datetime.timedelta(days=32)).replace(day=1) - start).days
    ratio = mean_days(start, today) / mean_days(last_month, start - datetime.timedelta(days=1))
    assert 0.5 * elapsed <= ratio <= 1.5 * elapsed, (ratio, elapsed)


def assert_present_review_work(now: datetime.datetime) -> None:
    """`township_zhangqiao` has the last two weeks of 张桥镇 to review; elsewhere only
    the last few days wait; some of `cadre_peizhuang`'s visits were returned with a
    comment, one more than a week after its date; the year's problems are partly open,
    partly overdue."""
    today = timezone.localdate(now)
    official = _user("township_zhangqiao")
    queue = selectors.visit_list_for_user(user=official).filter(
        state=Visit.State.SUBMITTED, date__year=today.year
    )
    assert queue.count() >= 50
    assert set(queue.values_list("village__township__name", flat=True)) == {"张桥镇"}
    assert queue.earliest("date").date == today - datetime.timedelta(days=demo.QUEUE_DAYS - 1)
    assert selectors.visit_can_review(user=official, visit=queue.first())
    waiting = Visit.objects.filter(state=Visit.State.SUBMITTED, date__year=today.year)
    elsewhere = waiting.exclude(village__township__code=ZHANGQIAO)
    assert elsewhere.exists()
    assert not elsewhere.filter(date__lt=today - datetime.timedelta(days=4)).exists()

    cadre_user = _user("cadre_peizhuang")
    returned = selectors.visit_list_for_user(user=cadre_user).filter(
        state=Visit.State.RETURNED, date__year=today.year
    )
    assert 2 <= returned.count() <= demo.PRESENT_RETURNED
    assert all(returned.values_list("review_comment", flat=True))
    # one was returned more than a week after its date (and is older than the edit window)
    assert any((timezone.localdate(v.reviewed_at) - v.date).days > 7 for v in returned)
    # before this month, so that the month's days are all counted days
    assert not returned.filter(date__gte=today.replace(day=1)).exists()
    events = VisitEvent.objects.filter(visit__in=returned, action=VisitEvent.Action.RETURN)
    assert events.count() == returned.count()
    for event in events.select_related("visit", "actor"):
        assert event.actor == official and event.comment == event.visit.review_comment

    problems = Problem.objects.filter(visit__date__year=today.year)
    by_status = dict(problems.values_list("status").annotate(n=Count("id")))
    assert set(by_status) == set(Problem.Status.values), by_status
    open_ = problems.filter(status__in=[Problem.Status.PENDING, Problem.Status.IN_PROGRESS])
    overdue = problems.filter(selectors.problems_overdue_q(today))
    assert 10 <= overdue.count() < open_.count()
    resolution = selectors.problem_resolution_rate(problems)["rate"]
    assert 0.5 <= resolution <= 0.95, resolution  # lower early in the year
    assert not problems.filter(visit__state=Visit.State.SUBMITTED).exists()


def assert_peizhuang_can_log_today(now: datetime.datetime) -> None:
    """`cadre_peizhuang` has not been out today and has fewer than 10 days this month; a
    visit logged today is accepted and moves 本月已下沉 by one day."""
    today = timezone.localdate(now)
    assert timezone.localdate() == today  # the clock is still pinned
    user = _user("cadre_peizhuang")
    cadre = Cadre.objects.get(user=user)
    assert not Visit.objects.filter(cadre=cadre, date=today).exists()
    assert selectors.reference_day(cadre_id=cadre.pk) == today
    progress = selectors.cadre_progress(cadre_id=cadre.pk)
    assert progress.required == 10 and progress.days < 10
    assert progress.start == today.replace(day=1)
    month = Visit.objects.filter(cadre=cadre, date__range=(progress.start, today))
    assert len(set(month.values_list("date", flat=True))) == progress.days
    village = (
        Assignment.objects.filter(cadre=cadre, start_date__lte=today, end_date__gte=today)
        .values_list("village", flat=True)
        .get()
    )

    visit, created = visit_create(
        actor=user,
        client_uuid=uuid.uuid4(),
        village=village,
        date=today,
        day_part=Visit.DayPart.FULL,
        activities=[Visit.Activity.HOUSEHOLD],
        meetings=0,
        people_reached=6,
        households_visited=3,
        notes="走访脱贫户，了解生产生活情况。",
    )

    assert created and visit.date == today
    assert selectors.cadre_progress(cadre_id=cadre.pk).days == progress.days + 1
