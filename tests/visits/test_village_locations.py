"""A village without a coordinate learns one from its approved visits' GPS fixes (the
median, once there are VILLAGE_LOCATION_MIN_FIXES), which an official of its area
confirms or rejects on 村庄位置."""

from decimal import Decimal

import pytest
from django.urls import reverse

from tests.visits.helpers import VisitFactory
from villages.models import LocationProposal, LocationSource
from villages.services import location_proposal_confirm, location_proposal_reject
from visits.models import Visit
from visits.services import village_locations_learn
from visits.tasks import village_locations_learn as learn_task

pytestmark = pytest.mark.django_db
APPROVED, SUBMITTED, RETURNED = Visit.State.APPROVED, Visit.State.SUBMITTED, Visit.State.RETURNED


def _fixes(village, cadre, points, state=APPROVED):
    for lat, lon in points:
        VisitFactory(
            village=village,
            cadre=cadre,
            state=state,
            latitude=Decimal(str(lat)),
            longitude=Decimal(str(lon)),
        )


FIVE = [(34.01, 113.81), (34.02, 113.82), (34.03, 113.83), (34.04, 113.84), (36.5, 116.0)]


@pytest.fixture
def a1v1(area):
    return area.villages["a1v1"]


def test_median_of_approved_fixes_once_there_are_enough(area, a1v1, settings):
    settings.VILLAGE_LOCATION_MIN_FIXES = 5
    _fixes(a1v1, area.cadres["a1v1"], FIVE)

    assert village_locations_learn() == 1

    proposal = LocationProposal.objects.get(village=a1v1)
    # the median shrugs off the one fix taken 300 km away
    assert (proposal.latitude, proposal.longitude) == (Decimal("34.030000"), Decimal("113.830000"))
    assert proposal.fixes == 5
    assert proposal.decision == LocationProposal.Decision.PENDING
    a1v1.refresh_from_db()
    assert a1v1.latitude is None  # only proposed


def test_even_number_of_fixes_takes_the_middle_pair(area, a1v1, settings):
    settings.VILLAGE_LOCATION_MIN_FIXES = 4
    _fixes(a1v1, area.cadres["a1v1"], FIVE[:4])

    village_locations_learn()

    proposal = LocationProposal.objects.get(village=a1v1)
    assert (proposal.latitude, proposal.longitude) == (Decimal("34.025000"), Decimal("113.825000"))


def test_below_the_threshold_nothing_is_proposed(area, a1v1, settings):
    settings.VILLAGE_LOCATION_MIN_FIXES = 5
    _fixes(a1v1, area.cadres["a1v1"], FIVE[:4])

    assert village_locations_learn() == 0
    assert not LocationProposal.objects.exists()


def test_only_approved_visits_count(area, a1v1, settings):
    settings.VILLAGE_LOCATION_MIN_FIXES = 5
    _fixes(a1v1, area.cadres["a1v1"], FIVE[:3])
    _fixes(a1v1, area.cadres["a1v1"], FIVE[3:4], state=SUBMITTED)
    _fixes(a1v1, area.cadres["a1v1"], FIVE[4:], state=RETURNED)
    VisitFactory(village=a1v1, cadre=area.cadres["a1v1"], state=APPROVED)  # no fix

    assert village_locations_learn() == 0


def test_villages_with_a_coordinate_learn_nothing(area, a1v1, settings):
    settings.VILLAGE_LOCATION_MIN_FIXES = 5
    a1v1.latitude, a1v1.longitude = Decimal("34.1"), Decimal("113.9")
    a1v1.save()
    _fixes(a1v1, area.cadres["a1v1"], FIVE)

    assert village_locations_learn() == 0


def test_a_rejected_proposal_returns_only_with_more_fixes(area, a1v1, settings, county_official):
    settings.VILLAGE_LOCATION_MIN_FIXES = 2
    _fixes(a1v1, area.cadres["a1v1"], FIVE[:2])
    village_locations_learn()
    location_proposal_reject(actor=county_official, village=a1v1)

    _fixes(a1v1, area.cadres["a1v1"], FIVE[2:3])
    assert village_locations_learn() == 0  # 3 < 2 + 2
    _fixes(a1v1, area.cadres["a1v1"], FIVE[3:4])
    assert village_locations_learn() == 1

    proposal = LocationProposal.objects.get(village=a1v1)
    assert proposal.decision == LocationProposal.Decision.PENDING
    assert proposal.fixes == 4


def test_the_task_calls_the_service_for_the_given_villages(area, a1v1, settings):
    settings.VILLAGE_LOCATION_MIN_FIXES = 5
    other = area.villages["a1v2"]
    _fixes(a1v1, area.cadres["a1v1"], FIVE)
    _fixes(other, area.cadres["a1v1"], FIVE)

    assert learn_task.delay(village_ids=[other.pk]).get() == 1

    assert list(LocationProposal.objects.values_list("village_id", flat=True)) == [other.pk]


def test_the_nightly_beat_runs_the_task(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["village-locations-nightly"]
    assert entry["task"] == "visits.tasks.village_locations_learn"
    assert learn_task.name == entry["task"]


@pytest.fixture
def proposed(area, a1v1, settings):
    settings.VILLAGE_LOCATION_MIN_FIXES = 5
    _fixes(a1v1, area.cadres["a1v1"], FIVE)
    village_locations_learn()
    return a1v1


def test_confirm_writes_the_coordinate_with_history(proposed, township_official):
    location_proposal_confirm(actor=township_official, village=proposed)

    proposed.refresh_from_db()
    assert (proposed.latitude, proposed.longitude) == (Decimal("34.03"), Decimal("113.83"))
    assert proposed.location_source == LocationSource.CONFIRMED
    record = proposed.history.first()
    assert record.history_user == township_official
    assert record.latitude == Decimal("34.03")
    proposal = LocationProposal.objects.get(village=proposed)
    assert proposal.decision == LocationProposal.Decision.CONFIRMED
    assert proposal.decided_by == township_official


def test_officials_of_other_areas_and_cadres_may_not_decide(
    proposed, other_county_official, cadre_user, city_viewer
):
    from django.core.exceptions import PermissionDenied

    for user in (other_county_official, cadre_user, city_viewer):
        with pytest.raises(PermissionDenied):
            location_proposal_confirm(actor=user, village=proposed)
    proposed.refresh_from_db()
    assert proposed.latitude is None


# ----- pages -----


def test_list_shows_the_proposals_of_the_officials_area(client, proposed, county_official):
    client.force_login(county_official)

    response = client.get(reverse("locations:location_list"))

    assert response.status_code == 200
    assert proposed.name in response.content.decode()
    assert "待确认（1）" in response.content.decode()


def test_list_of_another_county_does_not_show_them(client, proposed, other_county_official):
    client.force_login(other_county_official)

    response = client.get(reverse("locations:location_list") + "?show=all")

    assert response.status_code == 200
    assert proposed.name not in response.content.decode()


def test_the_pages_refuse_cadres(client, cadre_user, area):
    client.force_login(cadre_user)
    assert client.get(reverse("locations:location_list")).status_code == 403
    village = area.villages["a1v1"]
    assert client.get(reverse("locations:location_detail", args=[village.pk])).status_code == 403


def test_village_list_links_to_the_locations_page(client, area, county_official):
    client.force_login(county_official)
    response = client.get(reverse("villages:village_list"))
    assert reverse("locations:location_list") in response.content.decode()


def test_detail_shows_the_proposal_and_the_fixes_on_a_map(
    client, proposed, township_official, django_assert_max_num_queries
):
    client.force_login(township_official)

    with django_assert_max_num_queries(20):
        response = client.get(reverse("locations:location_detail", args=[proposed.pk]))

    body = response.content.decode()
    assert response.status_code == 200
    assert "34.030000" in body and "确认此位置" in body
    assert 'id="location-data"' in body and "vendor/echarts-cities/xuchang.js" in body
    assert len(response.context["map_data"]["fixes"]) == 5


def test_confirm_from_the_page(client, proposed, township_official):
    client.force_login(township_official)

    response = client.post(
        reverse("locations:location_detail", args=[proposed.pk]), {"action": "confirm"}
    )

    assert response.status_code == 302
    proposed.refresh_from_db()
    assert proposed.location_source == LocationSource.CONFIRMED


def test_reject_from_the_page(client, proposed, county_official):
    client.force_login(county_official)

    client.post(reverse("locations:location_detail", args=[proposed.pk]), {"action": "reject"})

    proposal = LocationProposal.objects.get(village=proposed)
    assert proposal.decision == LocationProposal.Decision.REJECTED


def test_out_of_scope_village_is_404_on_get_and_post(client, proposed, other_county_official):
    client.force_login(other_county_official)
    url = reverse("locations:location_detail", args=[proposed.pk])

    assert client.get(url).status_code == 404
    assert client.post(url, {"action": "confirm"}).status_code == 404
    proposed.refresh_from_db()
    assert proposed.latitude is None


def test_relearn_button_queues_the_officials_villages(
    client, area, a1v1, county_official, settings, django_capture_on_commit_callbacks
):
    settings.VILLAGE_LOCATION_MIN_FIXES = 5
    _fixes(a1v1, area.cadres["a1v1"], FIVE)
    b1v1 = area.villages["b1v1"]
    _fixes(b1v1, area.cadres["b1v1"], FIVE)
    client.force_login(county_official)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("locations:location_list"))

    assert response.status_code == 302
    # eager Celery: only county A's village learned; county B's is not the official's
    assert list(LocationProposal.objects.values_list("village_id", flat=True)) == [a1v1.pk]


def test_a_demo_location_is_labelled_as_such(client, a1v1, county_official):
    a1v1.latitude, a1v1.longitude = Decimal("34.1"), Decimal("113.9")
    a1v1.location_source = LocationSource.DEMO
    a1v1.save()
    client.force_login(county_official)

    response = client.get(reverse("villages:village_detail", args=[a1v1.pk]))

    assert "演示位置" in response.content.decode()
