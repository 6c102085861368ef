"""三零 rules as effective-dated rows: which rule judges what, the service that writes
them (city admins only, never into a closed programme year, recomputing the years they
decide), and the admin page.

The clock is pinned to mid-June 2026, "this year"; the area's roster is 2024's.
"""

import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError

from disputes import sanling, selectors
from disputes.models import Dispute, Petition, SanlingRule, SanlingStatus
from disputes.services import sanling_recompute, sanling_rule_delete, sanling_rule_save
from tests.disputes.factories import DisputeFactory, PetitionFactory, set_rule
from tests.factories import RosterFactory
from villages.demo import role_groups
from villages.models import ProgrammeYear, UserRole

pytestmark = pytest.mark.django_db
D = datetime.date
THIS_YEAR = 2026
NOW = datetime.datetime(THIS_YEAR, 6, 15, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
BASE = D(2000, 1, 1)
MIGRATION = "disputes.migrations.0003_sanling_rule"


@pytest.fixture(autouse=True)
def pinned_clock():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture(autouse=True)
def base_rule(db):
    """The migration's default row. A browser test elsewhere (transactional_db) empties
    every table after it runs, so it is made sure of here."""
    return SanlingRule.objects.get_or_create(effective_from=BASE)[0]


def status_of(village, year):
    return SanlingStatus.objects.filter(year=year, village=village).first()


def new_rule(effective_from, **fields) -> SanlingRule:
    return SanlingRule(effective_from=effective_from, note="测试", **fields)


def close(year):
    ProgrammeYear.objects.update_or_create(year=year, defaults={"status": "closed"})


# ----- which rule is in force -----


def test_the_migration_writes_todays_defaults_from_2000():
    from importlib import import_module

    from django.apps import apps

    SanlingRule.objects.all().delete()
    import_module(MIGRATION).default_rule(apps, None)

    rule = SanlingRule.objects.get()
    assert rule.effective_from == BASE
    coded = SanlingRule()
    for field in SanlingRule._meta.concrete_fields:
        if field.name not in ("id", "effective_from", "note"):
            assert getattr(rule, field.name) == getattr(coded, field.name), field.name


def test_a_year_is_judged_by_the_rule_in_force_on_its_first_day():
    set_rule(D(2025, 1, 1), petition_min_level="city")
    set_rule(D(2026, 3, 1), petition_min_level="province")
    rules = sanling.rule_list()

    assert sanling.rule_for(2024).effective_from == BASE
    assert sanling.rule_for(2025).petition_min_level == "city"
    # A rule from 1 March judges the years after it, not the year it starts in ...
    assert sanling.rule_for(2026).petition_min_level == "city"
    assert sanling.rule_for(2027).petition_min_level == "province"
    # ... while a day is judged by the rule in force that day.
    assert sanling.rule_on(D(2026, 2, 28)).petition_min_level == "city"
    assert sanling.rule_on(D(2026, 3, 1)).petition_min_level == "province"
    # The same answers from rules already read, without a query.
    assert sanling.rule_for(2026, rules=rules).petition_min_level == "city"
    assert sanling.rule_on(D(2026, 3, 1), rules=rules).petition_min_level == "province"


def test_no_rule_at_all_falls_back_to_the_coded_defaults(area):
    SanlingRule.objects.all().delete()
    rule = sanling.rule_for(2024)
    assert rule.pk is None and rule.petition_min_level == "county"
    assert rule.describe()[-1] == "以上为系统默认规则"
    p = PetitionFactory(village=area.villages["a1v1"], received_on=D(2024, 3, 5))
    assert p.due_on == D(2024, 3, 20)


def test_describe_reads_the_rule_shown():
    set_rule(D(2026, 1, 1), petition_skip_level_only=False, accident_min_casualties=3)
    assert sanling.rule_for(2025).describe()[0] == "零上访：年内发生县级及以上越级访即不达标"
    lines = sanling.rule_for(THIS_YEAR).describe()
    assert lines[0] == "零上访：年内发生县级及以上信访即不达标"
    assert "死亡+受伤≥3人" in lines[1]
    assert lines[-1] == "以上为2026年1月1日起施行的规则"


# ----- a rule change from this year leaves past years alone -----


def test_a_rule_change_from_this_year_moves_this_year_and_not_2022(
    area, city_admin, django_capture_on_commit_callbacks
):
    # given: the same records in 2022 and this year, both 达标 under the old rule
    village = area.villages["a1v1"]
    for year in (2022, THIS_YEAR):
        PetitionFactory(
            village=village, received_on=D(year, 2, 1), level_reached="county", is_skip_level=False
        )
        DisputeFactory(village=village, registered_on=D(year, 2, 1), people_involved=6)
    for year in (2022, THIS_YEAR):
        sanling_recompute(year=year, village_ids=[village.pk], unit_ids=[])
        assert status_of(village, year).derived_met is True
    before_2022 = list(SanlingStatus.history.filter(year=2022).values_list("history_id"))

    # when: from 1 January this year every county-level petition counts, and 群体性 is 10+
    with django_capture_on_commit_callbacks(execute=True):
        sanling_rule_save(
            actor=city_admin,
            rule=new_rule(
                D(THIS_YEAR, 1, 1), petition_skip_level_only=False, dispute_collective_threshold=10
            ),
        )

    # then: this year was recomputed on commit and is now 不达标 ...
    assert status_of(village, THIS_YEAR).derived_met is False
    # ... and 2022, recomputed again by hand, keeps the result of its own rule
    assert sanling_recompute(year=2022, village_ids=[village.pk], unit_ids=[]) == {
        "created": 0,
        "changed": 0,
    }
    assert status_of(village, 2022).derived_met is True
    assert list(SanlingStatus.history.filter(year=2022).values_list("history_id")) == before_2022
    assert sanling.derive(year=2022) == ({}, {})
    collective = {
        d.registered_on.year: d.is_collective
        for d in selectors.dispute_list_for_user(user=city_admin)
    }
    assert collective == {2022: True, THIS_YEAR: False}


def test_ledger_parameters_follow_the_rule_of_each_records_date(area, city_admin):
    set_rule(D(2026, 3, 1), petition_accept_days=30, dispute_high_risk_levels=["red", "orange"])
    village = area.villages["a1v1"]
    early = PetitionFactory(village=village, received_on=D(2026, 2, 20))
    late = PetitionFactory(village=village, received_on=D(2026, 3, 10))
    DisputeFactory(village=village, registered_on=D(2026, 2, 20), risk_level="orange")
    DisputeFactory(village=village, registered_on=D(2026, 3, 10), risk_level="orange")

    assert early.due_on == D(2026, 3, 7) and late.due_on == D(2026, 4, 9)
    # Both are long past due on 15 June; on 1 April only the first is.
    overdue = Petition.objects.filter(selectors.petitions_overdue_q(D(2026, 4, 1)))
    assert list(overdue) == [early]
    assert selectors.overdue_petitions_by_area(year=2026)[("city", None)] == (2, 2)
    # Only the dispute found after the change is 高风险 (orange counts from 1 March).
    assert selectors.open_high_risk_disputes_by_area(year=2026)[("city", None)] == (1, 1)
    listed = {p.pk: p.due_on for p in selectors.petition_list_for_user(user=city_admin)}
    assert listed == {early.pk: D(2026, 3, 7), late.pk: D(2026, 4, 9)}


def test_listed_records_read_their_rule_without_a_query_each(
    area, city_admin, django_assert_num_queries
):
    set_rule(D(2025, 1, 1), petition_accept_days=20, dispute_collective_threshold=3)
    for day in (D(2024, 5, 1), D(2025, 5, 1), D(2026, 5, 1)):
        PetitionFactory(village=area.villages["a1v1"], received_on=day)
        DisputeFactory(village=area.villages["a1v1"], registered_on=day, people_involved=4)

    selectors.petition_list_for_user(user=city_admin)  # the user's scope, read once
    with django_assert_num_queries(4):  # the rules once per selector, the rows once each
        petitions = list(selectors.petition_list_for_user(user=city_admin))
        disputes = list(selectors.dispute_list_for_user(user=city_admin))
        due = sorted((p.received_on, p.due_on, p.clock) for p in petitions)
        collective = sorted((d.registered_on, d.is_collective) for d in disputes)

    assert [(r, d) for r, d, _clock in due] == [
        (D(2024, 5, 1), D(2024, 5, 16)),
        (D(2025, 5, 1), D(2025, 5, 21)),
        (D(2026, 5, 1), D(2026, 5, 21)),
    ]
    assert collective == [(D(2024, 5, 1), False), (D(2025, 5, 1), True), (D(2026, 5, 1), True)]


def test_a_record_moved_to_another_date_reads_that_dates_rule(area, city_admin):
    set_rule(D(2025, 1, 1), petition_accept_days=20)
    PetitionFactory(village=area.villages["a1v1"], received_on=D(2024, 5, 1))
    petition = selectors.petition_list_for_user(user=city_admin).get()
    assert petition.due_on == D(2024, 5, 16)
    petition.received_on = D(2025, 5, 1)
    assert petition.due_on == D(2025, 5, 21)


# ----- the service: who, and never into a closed year -----


def test_city_admin_adds_a_rule_audited_and_recomputes_from_its_year_on(
    area, city_admin, django_capture_on_commit_callbacks, monkeypatch
):
    queued = []
    monkeypatch.setattr(
        "disputes.services.enqueue_sanling_recompute", lambda **kw: queued.append(kw)
    )
    SanlingStatus.objects.create(year=2022, village=area.villages["a1v1"])
    SanlingStatus.objects.create(year=2027, village=area.villages["a1v1"])

    with django_capture_on_commit_callbacks(execute=True):
        rule = sanling_rule_save(actor=city_admin, rule=new_rule(D(2024, 7, 1)))

    assert rule.history.get().history_user == city_admin
    # 2022 lies before the rule; 2024 (the roster), 2026 (today) and 2027 (statuses) after.
    assert queued == [{"year": 2024}, {"year": 2026}, {"year": 2027}]


def test_a_later_rule_bounds_the_years_recomputed(
    area, city_admin, django_capture_on_commit_callbacks, monkeypatch
):
    queued = []
    monkeypatch.setattr(
        "disputes.services.enqueue_sanling_recompute", lambda **kw: queued.append(kw)
    )
    set_rule(D(2026, 1, 1))

    with django_capture_on_commit_callbacks(execute=True):
        sanling_rule_save(actor=city_admin, rule=new_rule(D(2024, 7, 1), petition_accept_days=9))

    # 2024 (the roster) and 2025 lie before the next rule; only 2024 has anything to judge.
    assert queued == [{"year": 2024}]


@pytest.mark.parametrize("who", ["county_official", "city_viewer", "township_official"])
def test_only_city_admins_set_rules(users, who):
    with pytest.raises(PermissionDenied) as exc:
        sanling_rule_save(actor=users[who], rule=new_rule(D(THIS_YEAR, 7, 1)))
    assert "市级管理员" in str(exc.value)
    assert SanlingRule.objects.count() == 1
    base = SanlingRule.objects.get()
    with pytest.raises(PermissionDenied):
        sanling_rule_delete(actor=users[who], rule=base)
    assert SanlingRule.objects.filter(pk=base.pk).exists()


def test_a_rule_dated_in_a_closed_year_is_refused_and_writes_nothing(
    area, city_admin, django_capture_on_commit_callbacks
):
    close(2025)
    history = SanlingRule.history.count()

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(ValidationError) as exc:
            sanling_rule_save(actor=city_admin, rule=new_rule(D(2025, 7, 1)))

    assert exc.value.message_dict["effective_from"] == [
        "2025年度已结账，不能再修改该年度的三零规则；如确需修改，请市级管理员先重新开启该年度。"
    ]
    assert SanlingRule.objects.count() == 1 and SanlingRule.history.count() == history
    assert callbacks == []


def test_a_rule_reaching_into_a_closed_year_is_refused(area, city_admin):
    close(2025)
    # From 2024 on, with no later rule, it would judge 2025 too.
    with pytest.raises(ValidationError) as exc:
        sanling_rule_save(actor=city_admin, rule=new_rule(D(2024, 7, 1)))
    assert "2024年7月1日起的三零规则适用到2025年度" in exc.value.messages[0]
    # With a rule from 2025-01-01 taking over, 2024's stays inside the open years.
    set_rule(D(2025, 1, 1))
    sanling_rule_save(actor=city_admin, rule=new_rule(D(2024, 7, 1)))
    assert SanlingRule.objects.filter(effective_from=D(2024, 7, 1)).exists()


def test_a_rule_in_a_closed_year_is_neither_changed_nor_deleted(area, city_admin):
    close(2022)
    base = SanlingRule.objects.get(effective_from=BASE)
    base.petition_accept_days = 20
    with pytest.raises(ValidationError):
        sanling_rule_save(actor=city_admin, rule=base)
    with pytest.raises(ValidationError):
        sanling_rule_delete(actor=city_admin, rule=SanlingRule.objects.get(pk=base.pk))
    base.refresh_from_db()
    assert base.petition_accept_days == 15


def test_a_rule_of_an_open_year_is_changed_and_deleted(
    area, city_admin, django_capture_on_commit_callbacks
):
    close(2022)
    village = area.villages["a1v1"]
    PetitionFactory(
        village=village, received_on=D(THIS_YEAR, 2, 1), level_reached="city", is_skip_level=False
    )
    rule = set_rule(D(THIS_YEAR, 1, 1))
    rule.petition_skip_level_only = False
    with django_capture_on_commit_callbacks(execute=True):
        sanling_rule_save(actor=city_admin, rule=rule)
    assert status_of(village, THIS_YEAR).derived_met is False

    pk = rule.pk
    with django_capture_on_commit_callbacks(execute=True):
        sanling_rule_delete(actor=city_admin, rule=rule)
    assert not SanlingRule.objects.filter(pk=pk).exists()
    assert status_of(village, THIS_YEAR).derived_met is True
    deleted = SanlingRule.history.get(id=pk, history_type="-")
    assert deleted.history_user == city_admin


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"accident_kinds": []}, "accident_kinds"),
        ({"case_kinds": ["traffic"]}, "case_kinds"),
        ({"dispute_high_risk_levels": ["purple"]}, "dispute_high_risk_levels"),
        ({"dispute_collective_threshold": 1}, "dispute_collective_threshold"),
        ({"petition_accept_days": 0}, "petition_accept_days"),
    ],
)
def test_bad_values_are_refused_in_chinese(city_admin, fields, field):
    with pytest.raises(ValidationError) as exc:
        sanling_rule_save(actor=city_admin, rule=new_rule(D(THIS_YEAR, 7, 1), **fields))
    assert field in exc.value.message_dict
    assert all(ord(ch) > 127 for ch in exc.value.message_dict[field][0][:2])
    assert SanlingRule.objects.count() == 1


def test_a_second_rule_on_the_same_day_is_refused(city_admin):
    with pytest.raises(ValidationError) as exc:
        sanling_rule_save(actor=city_admin, rule=new_rule(BASE))
    assert "effective_from" in exc.value.message_dict


# ----- the admin page -----


def staff_client(client, user, role):
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    user.groups.add(role_groups()[role])
    client.force_login(user)
    return client


def rule_form(day: datetime.date, **changes) -> dict:
    form = {
        "effective_from": day.isoformat(),
        "note": "市委政法委通知",
        "petition_min_level": "county",
        "accident_kinds": ["production", "traffic", "fire"],
        "accident_min_casualties": "1",
        "case_kinds": ["criminal", "major_public_order"],
        "petition_accept_days": "15",
        "petition_handle_days": "60",
        "petition_extension_days": "30",
        "petition_due_soon_days": "5",
        "dispute_collective_threshold": "8",
        "dispute_high_risk_levels": ["red"],
        "_save": "保存",
    }
    return form | changes


def test_city_admin_adds_a_rule_on_the_chinese_admin_page(client, city_admin):
    admin = staff_client(client, city_admin, UserRole.Role.CITY_ADMIN)

    page = admin.get("/admin/disputes/sanlingrule/add/").content.decode()
    for label in (
        "增加 三零规则",
        "生效日期",
        "零上访：计入的信访层级",
        "零事故",
        "信访受理时限(日)",
    ):
        assert label in page, label
    assert "生产安全事故" in page and "刑事案件" in page

    response = admin.post("/admin/disputes/sanlingrule/add/", rule_form(D(THIS_YEAR, 7, 1)))

    assert response.status_code == 302, response.content.decode()[:3000]
    rule = SanlingRule.objects.get(effective_from=D(THIS_YEAR, 7, 1))
    assert rule.dispute_collective_threshold == 8
    assert rule.accident_kinds == ["production", "traffic", "fire"]
    assert rule.petition_skip_level_only is False  # the box was left unticked
    assert rule.history.get().history_user == city_admin
    listing = admin.get("/admin/disputes/sanlingrule/").content.decode()
    assert "市委政法委通知" in listing


def test_the_admin_page_shows_the_closed_year_refusal_and_saves_nothing(client, city_admin):
    close(2025)
    admin = staff_client(client, city_admin, UserRole.Role.CITY_ADMIN)

    response = admin.post("/admin/disputes/sanlingrule/add/", rule_form(D(2025, 3, 1)), follow=True)

    shown = [str(m) for m in response.context["messages"]]
    assert shown == [
        "2025年度已结账，不能再修改该年度的三零规则；如确需修改，请市级管理员先重新开启该年度。"
    ]
    assert SanlingRule.objects.count() == 1


def test_a_rule_reaching_a_closed_year_is_read_only_in_the_admin(client, city_admin):
    close(2022)
    admin = staff_client(client, city_admin, UserRole.Role.CITY_ADMIN)
    base = SanlingRule.objects.get()

    page = admin.get(f"/admin/disputes/sanlingrule/{base.pk}/change/")
    post = admin.post(f"/admin/disputes/sanlingrule/{base.pk}/change/", rule_form(BASE))
    delete = admin.post(f"/admin/disputes/sanlingrule/{base.pk}/delete/", {"post": "yes"})

    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()
    assert "生产安全事故、道路交通事故" in page.content.decode()  # the lists, in words
    assert post.status_code == 403 and delete.status_code == 403
    base.refresh_from_db()
    assert base.dispute_collective_threshold == 5


def test_city_admin_deletes_a_rule_of_an_open_year_in_the_admin(client, city_admin):
    admin = staff_client(client, city_admin, UserRole.Role.CITY_ADMIN)
    rule = set_rule(D(THIS_YEAR, 7, 1))

    response = admin.post(f"/admin/disputes/sanlingrule/{rule.pk}/delete/", {"post": "yes"})

    assert response.status_code == 302
    assert not SanlingRule.objects.filter(pk=rule.pk).exists()


def test_officials_look_at_the_rules_but_do_not_add_them(client, county_official):
    official = staff_client(client, county_official, UserRole.Role.COUNTY_OFFICIAL)

    assert official.get("/admin/disputes/sanlingrule/").status_code == 200
    response = official.post("/admin/disputes/sanlingrule/add/", rule_form(D(THIS_YEAR, 7, 1)))

    assert response.status_code == 403
    assert SanlingRule.objects.count() == 1


# ----- the pages describe the rule of the year shown -----


def test_pages_describe_the_rule_of_the_year_shown(client, city_admin, area):
    RosterFactory(year=THIS_YEAR)
    set_rule(D(THIS_YEAR, 1, 1), petition_min_level="city", dispute_collective_threshold=9)
    client.force_login(city_admin)

    old = client.get("/disputes/sanling/?year=2024").content.decode()
    new = client.get(f"/disputes/sanling/?year={THIS_YEAR}").content.decode()
    assert "县级及以上越级访" in old and "以上为2000年1月1日起施行的规则" in old
    assert "市级及以上越级访" in new and "以上为2026年1月1日起施行的规则" in new

    old_list = client.get("/disputes/disputes/?year=2024").content.decode()
    new_list = client.get("/disputes/disputes/").content.decode()
    assert "涉及 5 人及以上为群体性纠纷" in old_list
    assert "涉及 9 人及以上为群体性纠纷" in new_list
    assert "依据2026年1月1日起施行的三零规则" in new_list
    village = area.villages["a1v1"]
    subject = client.get(f"/disputes/sanling/village/{village.pk}/{THIS_YEAR}/").content.decode()
    assert "市级及以上越级访" in subject


def test_dispute_list_counts_with_the_rule_per_date(client, city_admin, area):
    # A dispute page lists 群体性 by each dispute's own date's rule.
    set_rule(D(THIS_YEAR, 1, 1), dispute_collective_threshold=9)
    DisputeFactory(village=area.villages["a1v1"], registered_on=D(2024, 5, 1), people_involved=6)
    DisputeFactory(
        village=area.villages["a1v1"], registered_on=D(THIS_YEAR, 5, 1), people_involved=6
    )
    assert {d.is_collective for d in Dispute.objects.all()} == {True, False}
    client.force_login(city_admin)
    page = client.get("/disputes/disputes/").content.decode()
    assert page.count('<span class="badge text-bg-dark">群体性</span>') == 1
