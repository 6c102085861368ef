"""公示 cannot be skipped: on the card page and over the API, a 公示 starts the day it is
recorded (never backdated, never before the 县级评定), and 授星 waits for the period to
run out, with Chinese messages naming the dates and nothing written on a refusal. The
historical import writes its own explicit events and is not held to the live chain.

World: the `area` fixture (roster 2024); the clock is pinned with time_machine at
2024-12-20 10:00 (Asia/Shanghai) unless a test moves it; the 公示 period is the default 5
days.
"""

import datetime
import io
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from openpyxl import Workbook
from rest_framework.test import APIClient

from core.models import ImportJob
from stars import services
from stars.models import StarAward, StarAwardEvent
from tests.stars.factories import YEAR, star
from villages.services import import_job_run_now

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.filterwarnings("ignore:No directory at:UserWarning"),
]

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime.datetime(2024, 12, 20, 10, 0, tzinfo=SHANGHAI)
THREE_WEEKS_AGO = "2024-11-29"
BACKDATED = [
    "公示开始日期 2024-11-29 早于今天（2024-12-20）：公示期从办理公示的当天算起，"
    "不能补记为过去的日期。",
    "公示开始日期 2024-11-29 早于县级评定日期 2024-12-20：须先评定、后公示。",
]
TOO_EARLY = (
    "公示期自 2024-12-20 起，至 2024-12-25 截止，期满后才能授星"
    "（今天是 2024-12-20，2024-12-25 起可以授星）。"
)


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def rated(users, area, rules):
    """支部过硬星 of a1v1, declared, reviewed and rated by the county today."""
    award = services.award_apply(
        actor=users["township_official"],
        branch=area.branches["a1v1"],
        year=YEAR,
        star_type=star("rural", "branch"),
    )
    services.award_township_review(actor=users["township_official"], award=award)
    return services.award_county_rate(actor=users["county_official"], award=award)


def _written(award):
    return (award.history.count(), award.events.count())


def _state(award):
    award.refresh_from_db()
    return award.state


def _api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


# ----- the card page -----


def test_the_card_offers_a_publicity_from_today_without_a_date_to_backdate(
    client, login, users, rated
):
    page = login(client, users["county_official"]).get(
        reverse("stars:card", args=[rated.branch_id]) + f"?year={YEAR}"
    )
    html = page.content.decode()
    assert "自办理当天起公示 5 天，期满后授星" in html
    assert 'name="start"' not in html


def test_rate_backdated_publicity_and_award_through_the_pages_is_refused(
    client, login, users, rated
):
    county = login(client, users["county_official"])
    before = _written(rated)

    backdated = county.post(
        reverse("stars:award_step", args=[rated.pk, "publicize"]),
        {"start": THREE_WEEKS_AGO},
        follow=True,
    )
    html = backdated.content.decode()
    assert all(message in html for message in BACKDATED)
    award = county.post(reverse("stars:award_step", args=[rated.pk, "award"]), follow=True)
    assert "不能进行“授星”" in award.content.decode()
    assert _state(rated) == StarAward.State.COUNTY_RATED
    assert _written(rated) == before

    county.post(reverse("stars:award_step", args=[rated.pk, "publicize"]))
    rated.refresh_from_db()
    assert (rated.state, rated.publicity_start, rated.publicity_end) == (
        StarAward.State.PUBLICIZED,
        datetime.date(2024, 12, 20),
        datetime.date(2024, 12, 25),
    )
    card = county.get(reverse("stars:card", args=[rated.branch_id]) + f"?year={YEAR}")
    assert "公示期至 2024-12-25 截止，期满后由县级授星。" in card.content.decode()
    assert reverse("stars:award_step", args=[rated.pk, "award"]) not in card.content.decode()
    published = _written(rated)
    with time_machine.travel(NOW + datetime.timedelta(minutes=1), tick=False):
        early = county.post(reverse("stars:award_step", args=[rated.pk, "award"]), follow=True)
    assert TOO_EARLY in early.content.decode()
    assert _state(rated) == StarAward.State.PUBLICIZED and _written(rated) == published

    with time_machine.travel(NOW + datetime.timedelta(days=5), tick=False):
        county.post(reverse("stars:award_step", args=[rated.pk, "award"]))
    assert _state(rated) == StarAward.State.AWARDED


# ----- the API -----


def test_rate_backdated_publicity_and_award_over_the_api_is_refused(users, rated):
    county = _api(users["county_official"])
    url = f"/api/star-awards/{rated.pk}"
    before = _written(rated)

    backdated = county.post(f"{url}/publicize/", {"start": THREE_WEEKS_AGO}, format="json")
    assert backdated.status_code == 400
    assert backdated.json() == {"start": BACKDATED}
    assert county.post(f"{url}/award/", {}, format="json").status_code == 400
    assert _state(rated) == StarAward.State.COUNTY_RATED and _written(rated) == before

    published = county.post(f"{url}/publicize/", {}, format="json")
    assert published.status_code == 200, published.json()
    assert (published.json()["publicity_start"], published.json()["publicity_end"]) == (
        "2024-12-20",
        "2024-12-25",
    )
    assert "award" not in published.json()["actions"]
    early = county.post(f"{url}/award/", {}, format="json")
    assert early.status_code == 400
    assert early.json() == {"detail": [TOO_EARLY]}

    with time_machine.travel(datetime.datetime(2024, 12, 25, 8, 0, tzinfo=SHANGHAI), tick=False):
        assert "award" in county.get(f"{url}/").json()["actions"]
        done = county.post(f"{url}/award/", {}, format="json")
    assert done.status_code == 200 and done.json()["state"] == "awarded"
    assert done.json()["awarded_on"] == "2024-12-25"


# ----- the historical import -----


def test_results_of_a_past_year_still_import_with_their_own_explicit_events(area, city_admin):
    a1v1 = area.villages["a1v1"]
    wb = Workbook()
    wb.active.append(["年度", "统计用区划代码", "村(社区)", "支部过硬星", "产业兴旺星"])
    wb.active.append([YEAR, a1v1.code, a1v1.name, "是", "是"])
    out = io.BytesIO()
    wb.save(out)
    with time_machine.travel(datetime.datetime(2026, 3, 2, 9, 0, tzinfo=SHANGHAI), tick=False):
        job = import_job_run_now(
            actor=city_admin,
            kind="star_ratings",
            upload=SimpleUploadedFile("2024年度星级评定结果.xlsx", out.getvalue()),
        )

    assert job.state == ImportJob.State.DONE, job.error
    awards = StarAward.objects.filter(branch=area.branches["a1v1"], year=YEAR)
    assert {a.state for a in awards} == {StarAward.State.AWARDED} and awards.count() == 2
    steps = set(StarAwardEvent.objects.filter(award__in=awards).values_list("step", flat=True))
    assert steps == {StarAwardEvent.Step.IMPORT}
