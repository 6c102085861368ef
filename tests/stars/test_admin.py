"""The stars admin: awards and cases scoped (another area's record is a 404) and
read-only; rules and star types changed by city admins only, audited. Model permissions
come from the real role groups in villages/demo.py."""

import pytest
from django.urls import reverse

from stars.models import StarSettings
from tests.stars.factories import StarAwardFactory, WeakCaseFactory
from villages.demo import role_groups

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.filterwarnings("ignore:No directory at:UserWarning"),
]


@pytest.fixture
def staff(users):
    for who in ("city_admin", "county_official", "township_official"):
        users[who].is_staff = True
        users[who].save(update_fields=["is_staff"])
        users[who].groups.add(role_groups()[who])
    return users


def test_awards_and_cases_are_scoped_in_the_admin(client, login, staff, area):
    mine = StarAwardFactory(branch=area.branches["a1v1"])
    theirs = StarAwardFactory(branch=area.branches["b1v1"])
    case = WeakCaseFactory(branch=area.branches["b1v2"])
    county = login(client, staff["county_official"])
    listing = county.get(reverse("admin:stars_staraward_changelist"))
    assert listing.status_code == 200
    assert list(listing.context["cl"].queryset) == [mine]
    assert county.get(reverse("admin:stars_staraward_change", args=[theirs.pk])).status_code == 404
    assert county.get(reverse("admin:stars_staraward_history", args=[theirs.pk])).status_code == 404
    assert (
        county.get(reverse("admin:stars_weakbranchcase_change", args=[case.pk])).status_code == 404
    )
    page = county.get(reverse("admin:stars_staraward_change", args=[mine.pk]))
    assert page.status_code == 200 and not page.context["has_change_permission"]


def test_only_city_admins_change_the_rules_in_the_admin(client, login, staff):
    rules = StarSettings.objects.get_or_create(pk=1)[0]
    url = reverse("admin:stars_starsettings_change", args=[rules.pk])
    county = login(client, staff["county_official"])
    county.post(url, {"foundation_required": "", "publicity_days": 9})
    assert StarSettings.current().publicity_days == 5
    admin = login(client, staff["city_admin"])
    response = admin.post(url, {"publicity_days": 9})
    assert response.status_code == 302
    rules = StarSettings.current()
    assert rules.publicity_days == 9 and not rules.foundation_required
    assert rules.history.first().history_user == staff["city_admin"]


def test_a_city_admin_adds_the_rules_row_when_none_is_saved(client, login, staff):
    assert not StarSettings.objects.exists()
    admin = login(client, staff["city_admin"])
    assert admin.get(reverse("admin:stars_starsettings_changelist")).status_code == 200
    assert not StarSettings.objects.exists()  # looking writes nothing
    response = admin.post(
        reverse("admin:stars_starsettings_add"), {"foundation_required": "on", "publicity_days": 7}
    )
    assert response.status_code == 302
    rules = StarSettings.objects.get()
    assert (rules.pk, rules.publicity_days, rules.foundation_required) == (1, 7, True)
    assert rules.history.get().history_user == staff["city_admin"]
