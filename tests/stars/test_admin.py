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


def _star_form(star, *, tasks=None, delete=(), add=(), **changes):
    """The admin change form's POST for `star` with its key tasks (inline prefix "tasks")."""
    tasks = list(star.tasks.all()) if tasks is None else tasks
    data = {
        "name": star.name,
        "order": star.order,
        "is_foundation": "on" if star.is_foundation else "",
        "description": star.description,
        "tasks-TOTAL_FORMS": len(tasks) + len(add),
        "tasks-INITIAL_FORMS": len(tasks),
        "tasks-MIN_NUM_FORMS": 0,
        "tasks-MAX_NUM_FORMS": 1000,
    }
    for i, task in enumerate(tasks):
        data |= {
            f"tasks-{i}-id": task.pk,
            f"tasks-{i}-star_type": star.pk,
            f"tasks-{i}-order": task.order,
            f"tasks-{i}-title": task.title,
        }
        if task.pk in delete:
            data[f"tasks-{i}-DELETE"] = "on"
    for j, title in enumerate(add, start=len(tasks)):
        data |= {f"tasks-{j}-star_type": star.pk, f"tasks-{j}-order": 99, f"tasks-{j}-title": title}
    data.update(changes)
    return data


def test_star_types_and_tasks_are_edited_through_the_services(client, login, staff, area):
    from stars.models import StarTask, StarType

    industry = StarType.objects.get(scheme="rural", code="industry")
    url = reverse("admin:stars_startype_change", args=[industry.pk])
    admin = login(client, staff["city_admin"])
    response = admin.post(url, _star_form(industry, add=["发展村级集体经济"], name="产业兴旺星"))
    assert response.status_code == 302, response.content.decode()[:2000]
    added = StarTask.objects.get(title="发展村级集体经济")
    assert added.star_type == industry
    assert added.history.get().history_user == staff["city_admin"]
    assert industry.history.first().history_user == staff["city_admin"]

    # a second foundation star in the same scheme is refused, and nothing of the form is kept
    page = admin.post(url, _star_form(industry, is_foundation="on", add=["不会保存"]), follow=True)
    assert "同一方案只能有一颗基础星" in page.content.decode()
    industry.refresh_from_db()
    assert not industry.is_foundation and not StarTask.objects.filter(title="不会保存").exists()

    # a task a branch has filled in is not deleted (its evidence would go with it)
    ticked = industry.tasks.first()
    from stars.services import task_check_set

    task_check_set(
        actor=staff["township_official"],
        branch=area.branches["a1v1"],
        year=2024,
        task=ticked,
        met=True,
        evidence="已完成",
    )
    page = admin.post(url, _star_form(industry, delete=[ticked.pk]), follow=True)
    assert "已有党组织填报，不能删除" in page.content.decode()
    assert StarTask.objects.filter(pk=ticked.pk).exists()
    # one nobody filled in may go
    assert admin.post(url, _star_form(industry, delete=[added.pk])).status_code == 302
    assert not StarTask.objects.filter(pk=added.pk).exists()


def test_only_city_admins_edit_star_types(users, area):
    from django.core.exceptions import PermissionDenied

    from stars.models import StarType
    from stars.services import star_task_save, star_type_save

    star = StarType.objects.get(scheme="rural", code="ecology")
    star.name = "改名"
    for who in ("county_official", "township_official", "city_viewer"):
        with pytest.raises(PermissionDenied):
            star_type_save(actor=users[who], star_type=star)
        with pytest.raises(PermissionDenied):
            star_task_save(actor=users[who], task=star.tasks.first())
    assert StarType.objects.get(pk=star.pk).name == "生态宜居星"


def test_a_weak_case_shows_its_reasons_in_words(client, login, staff, area):
    case = WeakCaseFactory(branch=area.branches["a1v1"], reasons=["disunity", "petitions"])
    page = login(client, staff["county_official"]).get(
        reverse("admin:stars_weakbranchcase_change", args=[case.pk])
    )
    html = page.content.decode()
    assert "班子不团结、内耗严重；治安问题和信访矛盾纠纷集中" in html
    assert "disunity" not in html


@pytest.mark.parametrize("n", [3, 30])
def test_admin_lists_and_an_award_page_do_not_query_per_row(
    client, login, staff, area, django_assert_max_num_queries, n
):
    from tests.factories import RosterEntryFactory, VillageFactory
    from tests.stars.factories import StarAwardEventFactory

    for _ in range(n):
        entry = RosterEntryFactory(
            roster=area.roster, village=VillageFactory(township=area.townships["A1"])
        )
        StarAwardFactory(branch=entry.branch)
        WeakCaseFactory(branch=entry.branch)
    award = StarAwardFactory(branch=area.branches["a1v1"])
    for _ in range(n):
        StarAwardEventFactory(award=award, actor=staff["county_official"])
    county = login(client, staff["county_official"])
    with django_assert_max_num_queries(20):
        awards = county.get(reverse("admin:stars_staraward_changelist"))
    assert awards.context["cl"].result_count == n + 1
    with django_assert_max_num_queries(20):
        cases = county.get(reverse("admin:stars_weakbranchcase_changelist"))
    assert cases.context["cl"].result_count == n
    with django_assert_max_num_queries(25):
        page = county.get(reverse("admin:stars_staraward_change", args=[award.pk]))
    assert page.status_code == 200


def test_a_star_type_page_is_in_chinese(client, login, staff):
    from stars.models import StarType

    industry = StarType.objects.get(scheme="rural", code="industry")
    page = login(client, staff["city_admin"]).get(
        reverse("admin:stars_startype_change", args=[industry.pk])
    )
    html = page.content.decode()
    assert "产业兴旺星" in html and "农村(行政村、农村社区)" in html
    assert ">industry<" not in html and 'value="industry"' not in html
