"""三零创建 in the Django admin: every model scoped and view-only, another area's row a 404,
ID and phone numbers left out for roles that may not see them."""

import pytest

from tests.disputes.factories import (
    DisputeFactory,
    HazardFactory,
    IncidentFactory,
    PetitionFactory,
    UnitFactory,
)
from villages.demo import role_groups
from villages.models import UserRole

pytestmark = pytest.mark.django_db
MODELS = {
    "dispute": DisputeFactory,
    "petition": PetitionFactory,
    "incident": IncidentFactory,
    "hazardcheck": HazardFactory,
    "threezerounit": UnitFactory,
}


def staff_client(client, user, role):
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    user.groups.add(role_groups()[role])
    client.force_login(user)
    return client


@pytest.fixture
def rows(area):
    return {
        m: {k: f(village=area.villages[k]) for k in ("a1v1", "b1v1")} for m, f in MODELS.items()
    }


@pytest.mark.parametrize("model", list(MODELS))
def test_admin_is_scoped_and_view_only(client, county_official, rows, model):
    client = staff_client(client, county_official, UserRole.Role.COUNTY_OFFICIAL)
    listing = client.get(f"/admin/disputes/{model}/")
    assert listing.status_code == 200
    own, other = rows[model]["a1v1"], rows[model]["b1v1"]
    assert f"/admin/disputes/{model}/{own.pk}/change/" in listing.content.decode()
    assert f"/admin/disputes/{model}/{other.pk}/change/" not in listing.content.decode()
    assert client.get(f"/admin/disputes/{model}/{own.pk}/change/").status_code == 200
    assert client.get(f"/admin/disputes/{model}/{other.pk}/change/").status_code == 404
    assert client.get(f"/admin/disputes/{model}/{other.pk}/history/").status_code == 404
    assert client.get(f"/admin/disputes/{model}/add/").status_code == 403


def test_personal_numbers_only_for_officials(client, county_official, city_viewer, rows):
    pk = rows["dispute"]["a1v1"].pk
    official = staff_client(client, county_official, UserRole.Role.COUNTY_OFFICIAL)
    assert "13812345678" in official.get(f"/admin/disputes/dispute/{pk}/change/").content.decode()
    viewer = staff_client(client, city_viewer, UserRole.Role.CITY_VIEWER)
    page = viewer.get(f"/admin/disputes/dispute/{pk}/change/").content.decode()
    assert "13812345678" not in page and "411024199001011234" not in page


@pytest.mark.parametrize(
    ("role", "who", "reveal"),
    [
        (UserRole.Role.COUNTY_OFFICIAL, "county_official", True),
        (UserRole.Role.CITY_VIEWER, "city_viewer", False),
    ],
)
def test_history_page_masks_numbers_for_roles_that_may_not_see_them(
    client, users, area, role, who, reveal
):
    from disputes.services import ledger_update

    dispute = DisputeFactory(village=area.villages["a1v1"])
    ledger_update(actor=users["county_official"], record=dispute, party_phones="13700001111")
    page = staff_client(client, users[who], role).get(
        f"/admin/disputes/dispute/{dispute.pk}/history/"
    )
    assert page.status_code == 200
    text = page.content.decode()
    assert ("13812345678" in text) is reveal and ("13700001111" in text) is reveal
    if not reveal:
        assert "138****5678" in text and "137****1111" in text


def test_json_lists_read_in_chinese(client, users, area):
    from disputes.models import SanlingStatus
    from disputes.services import sanling_recompute

    hazard = HazardFactory(village=area.villages["a1v1"], regulated_items=["chemicals"])
    PetitionFactory(village=area.villages["a1v1"], level_reached="county", is_skip_level=True)
    sanling_recompute(year=2024)
    status = SanlingStatus.objects.get(village=area.villages["a1v1"])
    admin = staff_client(client, users["city_admin"], UserRole.Role.CITY_ADMIN)
    page = admin.get(f"/admin/disputes/hazardcheck/{hazard.pk}/change/").content.decode()
    assert "危险化学品" in page and "chemicals" not in page
    page = admin.get(f"/admin/disputes/sanlingstatus/{status.pk}/change/").content.decode()
    assert "2024-03-05 县级越级信访" in page and "&quot;ledger&quot;" not in page
