"""The award chain, step by step, for every role: who may take each step, in which
order, in which area, with the 公示 period, the foundation star switch and the yearly lock;
withdrawal; the key-task checklist; the rules; and the 软弱涣散 case workflow.

World: the `area` fixture (roster 2024): county A with townships A1 (a1v1, a1v2 行政村,
a1v3 农村社区) and A2 (a2v1, a2v2 行政村, a2v3 城市社区); county B with B1 (b1v1, b1v2).
The township official is A1's, the county official A's.

The clock is pinned (time_machine) at NOW, late in the roster year; a 公示 whose period is
over was published, with the clock, PUBLICITY_DAYS days before.
"""

import datetime
from contextlib import nullcontext
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError

from stars import services
from stars.models import RatingYear, StarAward, StarAwardEvent, StarSettings, WeakBranchCase
from stars.selectors import award_actions, branch_level
from tests.factories import UserFactory, UserRoleFactory
from tests.stars.factories import YEAR, StarAwardFactory, WeakCaseFactory, hold, star

pytestmark = pytest.mark.django_db

S = StarAward.State
Step = StarAwardEvent.Step
SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime.datetime(2024, 12, 20, 10, 0, tzinfo=SHANGHAI)
TODAY = NOW.date()
PUBLICITY_DAYS = 5  # the default rule
PUBLISHED = NOW - datetime.timedelta(days=PUBLICITY_DAYS)
ALL_USERS = [
    "city_admin",
    "city_viewer",
    "county_official",
    "other_county_official",
    "township_official",
    "cadre_user",
    "township_cadre_user",
    "no_role_user",
    "superuser",
]


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False):
        yield


def _apply(users, area, code="branch", label="a1v1"):
    return services.award_apply(
        actor=users["township_official"],
        branch=area.branches[label],
        year=YEAR,
        star_type=star("rural", code),
    )


def _to(users, area, state, code="branch", label="a1v1"):
    """An award of `code` for branch `label` brought to `state` by the right people. From
    公示 on, the chain ran PUBLICITY_DAYS days ago, so the 公示 period is over now."""
    township, county = users["township_official"], users["county_official"]
    published = state in (S.PUBLICIZED, S.AWARDED)
    with time_machine.travel(PUBLISHED, tick=False) if published else nullcontext():
        award = _apply(users, area, code, label)
        if state == S.APPLIED:
            return award
        award = services.award_township_review(actor=township, award=award)
        if state == S.TOWNSHIP_APPROVED:
            return award
        award = services.award_county_rate(actor=county, award=award)
        if state == S.COUNTY_RATED:
            return award
        award = services.award_publicize(actor=county, award=award)
    if state == S.PUBLICIZED:
        return award
    return services.award_grant(actor=county, award=award)


def _state(award):
    award.refresh_from_db()
    return award.state


# ----- the whole chain by the right people -----


def test_the_chain_by_the_right_roles_awards_the_star(users, area):
    township, county = users["township_official"], users["county_official"]
    branch = area.branches["a1v1"]

    with time_machine.travel(PUBLISHED - datetime.timedelta(days=10), tick=False):
        award = services.award_apply(
            actor=township,
            branch=branch,
            year=YEAR,
            star_type=star("rural", "branch"),
            comment="自评达标",
        )
        assert award.state == S.APPLIED
        assert award_actions(user=township, award=award) == [Step.TOWNSHIP_REVIEW, Step.REJECT]
        assert award_actions(user=county, award=award) == []
        award = services.award_township_review(actor=township, award=award, comment="材料齐全")
        assert award.state == S.TOWNSHIP_APPROVED
    with time_machine.travel(PUBLISHED - datetime.timedelta(days=2), tick=False):
        award = services.award_county_rate(actor=county, award=award, comment="符合标准")
        assert award.state == S.COUNTY_RATED
    with time_machine.travel(PUBLISHED, tick=False):
        award = services.award_publicize(actor=county, award=award, start=PUBLISHED.date())
        assert award.state == S.PUBLICIZED
        assert award.publicity_end == TODAY  # 5 days by default
    award = services.award_grant(actor=county, award=award, comment="公示无异议")

    assert award.state == S.AWARDED
    assert award.awarded_on == TODAY
    assert branch_level(branch_id=branch.pk, year=YEAR) == 1
    steps = list(
        award.events.order_by("at", "id").values_list("step", "actor__username", "comment")
    )
    assert steps == [
        ("apply", "township_a1", "自评达标"),
        ("township_review", "township_a1", "材料齐全"),
        ("county_rate", "county_a", "符合标准"),
        ("publicize", "county_a", f"公示期 5 天，至 {TODAY.isoformat()}"),
        ("award", "county_a", "公示无异议"),
    ]
    assert all(e.at is not None for e in award.events.all())
    assert award.history.count() >= 5  # audited: one history row per change


# ----- wrong role, wrong area -----


@pytest.mark.parametrize("who", [u for u in ALL_USERS if u != "township_official"])
def test_only_the_township_official_applies(users, area, who):
    with pytest.raises(PermissionDenied):
        services.award_apply(
            actor=users[who],
            branch=area.branches["a1v1"],
            year=YEAR,
            star_type=star("rural", "branch"),
        )
    assert not StarAward.objects.exists()


@pytest.mark.parametrize("who", [u for u in ALL_USERS if u != "township_official"])
def test_only_the_township_official_reviews_first(users, area, who):
    award = _to(users, area, S.APPLIED)
    with pytest.raises(PermissionDenied):
        services.award_township_review(actor=users[who], award=award)
    assert _state(award) == S.APPLIED


@pytest.mark.parametrize("who", [u for u in ALL_USERS if u != "county_official"])
@pytest.mark.parametrize(
    ("service", "before"),
    [
        (services.award_county_rate, S.TOWNSHIP_APPROVED),
        (services.award_publicize, S.COUNTY_RATED),
        (services.award_grant, S.PUBLICIZED),
    ],
    ids=["county_rate", "publicize", "award"],
)
def test_only_the_county_official_rates_publishes_and_awards(users, area, who, service, before):
    award = _to(users, area, before)
    with pytest.raises(PermissionDenied):
        service(actor=users[who], award=award)
    assert _state(award) == before


def test_a_township_official_of_another_township_is_refused(users, area):
    # A2's branch: the A1 township official may not apply for it
    with pytest.raises(PermissionDenied):
        services.award_apply(
            actor=users["township_official"],
            branch=area.branches["a2v1"],
            year=YEAR,
            star_type=star("rural", "branch"),
        )


def test_a_county_official_of_another_county_is_refused_at_every_county_step(users, area):
    other = users["other_county_official"]
    for before, service in (
        (S.TOWNSHIP_APPROVED, services.award_county_rate),
        (S.COUNTY_RATED, services.award_publicize),
        (S.PUBLICIZED, services.award_grant),
    ):
        StarAward.objects.all().delete()
        award = _to(users, area, before)
        with pytest.raises(PermissionDenied):
            service(actor=other, award=award)
        assert _state(award) == before
    StarAward.objects.all().delete()
    held = _to(users, area, S.AWARDED)
    with pytest.raises(PermissionDenied):
        services.award_withdraw(actor=other, award=held, reason="x")


# ----- out of order -----


@pytest.mark.parametrize(
    ("state", "who", "service"),
    [
        (S.APPLIED, "county_official", services.award_county_rate),
        (S.APPLIED, "county_official", services.award_publicize),
        (S.APPLIED, "county_official", services.award_grant),
        (S.TOWNSHIP_APPROVED, "township_official", services.award_township_review),
        (S.TOWNSHIP_APPROVED, "county_official", services.award_publicize),
        (S.TOWNSHIP_APPROVED, "county_official", services.award_grant),
        (S.COUNTY_RATED, "county_official", services.award_county_rate),
        (S.COUNTY_RATED, "county_official", services.award_grant),
        (S.PUBLICIZED, "county_official", services.award_publicize),
        (S.AWARDED, "county_official", services.award_grant),
        (S.AWARDED, "township_official", services.award_township_review),
    ],
)
def test_a_step_out_of_order_is_refused(users, area, state, who, service):
    award = _to(users, area, state)
    with pytest.raises(ValidationError, match="不能进行"):
        service(actor=users[who], award=award)
    assert _state(award) == state


def test_a_star_is_declared_once_a_year(users, area):
    _apply(users, area)
    with pytest.raises(ValidationError, match="已申报"):
        _apply(users, area)


def test_awarding_waits_for_the_publicity_period(users, area, rules):
    county = users["county_official"]
    award = _to(users, area, S.COUNTY_RATED)
    award = services.award_publicize(actor=county, award=award)  # from today, 5 days
    assert award.publicity_end == TODAY + datetime.timedelta(days=5)
    assert Step.AWARD not in award_actions(user=county, award=award)
    with pytest.raises(ValidationError, match="期满后才能授星"):
        services.award_grant(actor=county, award=award)
    assert _state(award) == S.PUBLICIZED


def test_the_publicity_period_is_a_setting(users, area, rules):
    # 0 days: an admin's explicit choice to publish and award on the same day
    services.star_settings_update(
        actor=users["city_admin"], foundation_required=True, publicity_days=0
    )
    county = users["county_official"]
    award = services.award_publicize(actor=county, award=_to(users, area, S.COUNTY_RATED))
    assert award.publicity_end == TODAY
    assert services.award_grant(actor=county, award=award).state == S.AWARDED


def test_a_publicity_cannot_start_in_the_future(users, area):
    award = _to(users, area, S.COUNTY_RATED)
    with pytest.raises(ValidationError) as exc:
        services.award_publicize(
            actor=users["county_official"], award=award, start=TODAY + datetime.timedelta(days=1)
        )
    assert exc.value.message_dict == {
        "start": ["公示开始日期 2024-12-21 晚于今天（2024-12-20）：请在公示开始当天办理。"]
    }
    assert _state(award) == S.COUNTY_RATED


def _written(award):
    """Everything a step leaves behind: the award's history rows and chain events."""
    return (award.history.count(), award.events.count())


def test_a_publicity_cannot_be_backdated_so_rate_publicize_award_at_once_is_refused(
    users, area, rules
):
    county = users["county_official"]
    award = _to(users, area, S.COUNTY_RATED)  # rated today
    before = _written(award)
    three_weeks_ago = TODAY - datetime.timedelta(weeks=3)

    with pytest.raises(ValidationError) as exc:
        services.award_publicize(actor=county, award=award, start=three_weeks_ago)
    assert exc.value.message_dict == {
        "start": [
            "公示开始日期 2024-11-29 早于今天（2024-12-20）：公示期从办理公示的当天算起，"
            "不能补记为过去的日期。",
            "公示开始日期 2024-11-29 早于县级评定日期 2024-12-20：须先评定、后公示。",
        ]
    }
    award.refresh_from_db()
    assert (award.state, award.publicity_start, award.publicity_end) == (S.COUNTY_RATED, None, None)
    assert _written(award) == before

    # a minute later, 授星 is out of order: nothing was published
    with time_machine.travel(NOW + datetime.timedelta(minutes=1), tick=False):
        with pytest.raises(ValidationError, match="不能进行“授星”"):
            services.award_grant(actor=county, award=award)
    assert _state(award) == S.COUNTY_RATED and _written(award) == before


def test_a_publicity_cannot_start_before_the_county_rating(users, area):
    county = users["county_official"]
    with time_machine.travel(NOW + datetime.timedelta(days=1), tick=False):
        award = _to(users, area, S.COUNTY_RATED)  # its 县级评定 is dated tomorrow
    before = _written(award)

    with pytest.raises(ValidationError) as exc:
        services.award_publicize(actor=county, award=award)

    assert exc.value.message_dict == {
        "start": ["公示开始日期 2024-12-20 早于县级评定日期 2024-12-21：须先评定、后公示。"]
    }
    assert _state(award) == S.COUNTY_RATED and _written(award) == before


def test_awarding_is_refused_until_the_period_is_over_naming_the_dates(users, area, rules):
    county = users["county_official"]
    award = services.award_publicize(actor=county, award=_to(users, area, S.COUNTY_RATED))
    before = _written(award)
    for days in (0, 4):
        with time_machine.travel(NOW + datetime.timedelta(days=days, hours=13), tick=False):
            with pytest.raises(ValidationError) as exc:
                services.award_grant(actor=county, award=award)
        today = (TODAY + datetime.timedelta(days=days)).isoformat()
        assert exc.value.messages == [
            "公示期自 2024-12-20 起，至 2024-12-25 截止，期满后才能授星"
            f"（今天是 {today}，2024-12-25 起可以授星）。"
        ]
        assert _state(award) == S.PUBLICIZED and _written(award) == before

    with time_machine.travel(NOW + datetime.timedelta(days=PUBLICITY_DAYS), tick=False):
        award = services.award_grant(actor=county, award=award)
    assert (award.state, award.awarded_on) == (S.AWARDED, datetime.date(2024, 12, 25))


def test_an_objection_upheld_during_the_publicity_stops_the_award(users, area):
    county = users["county_official"]
    award = _to(users, area, S.PUBLICIZED)
    assert Step.AWARD in award_actions(user=county, award=award)

    services.award_reject(actor=county, award=award, comment="公示期间群众反映问题属实")

    with pytest.raises(ValidationError, match="不能进行“授星”"):
        services.award_grant(actor=county, award=award)
    assert _state(award) == S.REJECTED


def test_a_bulk_publicity_starts_today_and_a_bulk_award_waits_for_it(users, area, rules):
    county = users["county_official"]
    awards = [_to(users, area, S.COUNTY_RATED, label=label) for label in ("a1v1", "a1v2")]
    assert services.award_step_many(actor=county, awards=awards, step=Step.PUBLICIZE) == 2
    with pytest.raises(ValidationError, match="期满后才能授星"):
        services.award_step_many(actor=county, awards=awards, step=Step.AWARD)
    assert {_state(a) for a in awards} == {S.PUBLICIZED}
    assert {a.publicity_start for a in StarAward.objects.all()} == {TODAY}


# ----- the foundation star -----


def test_no_other_star_without_the_foundation_star_while_the_switch_is_on(users, area, rules):
    award = _to(users, area, S.PUBLICIZED, code="industry")
    with pytest.raises(ValidationError, match="支部过硬星"):
        services.award_grant(actor=users["county_official"], award=award)
    assert _state(award) == S.PUBLICIZED

    _to(users, area, S.AWARDED, code="branch")
    assert services.award_grant(actor=users["county_official"], award=award).state == S.AWARDED
    assert branch_level(branch_id=area.branches["a1v1"].pk, year=YEAR) == 2


def test_with_the_switch_off_other_stars_need_no_foundation(users, area, rules):
    services.star_settings_update(
        actor=users["city_admin"], foundation_required=False, publicity_days=5
    )
    award = _to(users, area, S.AWARDED, code="ecology")
    assert award.state == S.AWARDED


# ----- schemes and the roster -----


def test_a_star_of_the_other_scheme_is_refused(users, area):
    with pytest.raises(ValidationError, match="不适用"):
        services.award_apply(
            actor=users["township_official"],
            branch=area.branches["a1v1"],
            year=YEAR,
            star_type=star("urban", "business"),
        )


def test_an_urban_community_uses_the_urban_scheme(area):
    official = UserFactory(username="township_a2")
    UserRoleFactory(user=official, role="township_official", township=area.townships["A2"])
    award = services.award_apply(
        actor=official, branch=area.branches["a2v3"], year=YEAR, star_type=star("urban", "business")
    )
    assert award.star_type.name == "宜业兴业星"
    with pytest.raises(ValidationError):
        services.award_apply(
            actor=official,
            branch=area.branches["a2v3"],
            year=YEAR,
            star_type=star("rural", "industry"),
        )


def test_a_branch_off_the_years_roster_cannot_apply(users, area):
    with pytest.raises(ValidationError, match="名册"):
        services.award_apply(
            actor=users["township_official"],
            branch=area.branches["a1v1"],
            year=YEAR + 1,
            star_type=star("rural", "branch"),
        )


# ----- reject, re-apply, withdraw -----


def test_reject_needs_a_reason_and_the_star_can_be_declared_again(users, area):
    township, county = users["township_official"], users["county_official"]
    award = _to(users, area, S.APPLIED)
    with pytest.raises(ValidationError, match="原因"):
        services.award_reject(actor=township, award=award, comment=" ")
    with pytest.raises(PermissionDenied):
        services.award_reject(actor=county, award=award, comment="x")  # 初审 is the township's
    award = services.award_reject(actor=township, award=award, comment="材料不全")
    assert award.state == S.REJECTED
    assert award_actions(user=township, award=award) == [Step.APPLY]
    again = _apply(users, area)
    assert again.pk == award.pk and again.state == S.APPLIED


@pytest.mark.parametrize(
    ("before", "allowed"),
    [
        (S.APPLIED, "township_official"),
        (S.TOWNSHIP_APPROVED, "county_official"),
        (S.COUNTY_RATED, "county_official"),
        (S.PUBLICIZED, "county_official"),
    ],
)
def test_only_the_official_of_the_step_rejects(users, area, before, allowed):
    for who in ALL_USERS:
        StarAward.objects.all().delete()
        award = _to(users, area, before)
        if who == allowed:
            assert services.award_reject(actor=users[who], award=award, comment="不符合").state == (
                S.REJECTED
            )
            continue
        with pytest.raises(PermissionDenied):
            services.award_reject(actor=users[who], award=award, comment="不符合")
        assert _state(award) == before, who


def test_the_county_rejects_after_the_first_review(users, area):
    award = _to(users, area, S.PUBLICIZED)
    with pytest.raises(PermissionDenied):
        services.award_reject(actor=users["township_official"], award=award, comment="x")
    award = services.award_reject(actor=users["county_official"], award=award, comment="公示有异议")
    assert award.state == S.REJECTED
    with pytest.raises(ValidationError):
        services.award_reject(actor=users["county_official"], award=award, comment="again")


@pytest.mark.parametrize("who", ["county_official", "city_admin", "superuser"])
def test_withdrawal_by_county_or_city_admin_needs_a_reason(users, area, who):
    award = _to(users, area, S.AWARDED)
    with pytest.raises(ValidationError, match="原因"):
        services.award_withdraw(actor=users[who], award=award, reason="")
    withdrawn = services.award_withdraw(actor=users[who], award=award, reason="发生安全事故")
    assert [a.state for a in withdrawn] == [S.WITHDRAWN]
    award.refresh_from_db()
    assert award.withdrawn_reason == "发生安全事故" and award.withdrawn_on == TODAY
    assert award.events.last().step == Step.WITHDRAW
    assert branch_level(branch_id=area.branches["a1v1"].pk, year=YEAR) == 0


@pytest.mark.parametrize(
    "who",
    ["township_official", "city_viewer", "cadre_user", "no_role_user", "other_county_official"],
)
def test_withdrawal_by_anyone_else_is_refused(users, area, who):
    award = _to(users, area, S.AWARDED)
    with pytest.raises(PermissionDenied):
        services.award_withdraw(actor=users[who], award=award, reason="x")
    assert _state(award) == S.AWARDED


def test_only_a_held_star_can_be_withdrawn(users, area):
    award = _to(users, area, S.PUBLICIZED)
    with pytest.raises(ValidationError, match="不能进行“摘星”"):
        services.award_withdraw(actor=users["county_official"], award=award, reason="x")


def test_withdrawing_the_foundation_star_withdraws_the_others(users, area):
    foundation, industry = hold(area.branches["a1v1"], "branch", "industry")
    done = services.award_withdraw(
        actor=users["county_official"], award=foundation, reason="书记受处分"
    )
    assert {a.pk for a in done} == {foundation.pk, industry.pk}
    industry.refresh_from_db()
    assert industry.state == S.WITHDRAWN and "基础星被摘" in industry.events.last().comment


# ----- the yearly lock -----


def test_a_locked_year_refuses_every_step_until_unlocked(users, area):
    township, county, admin = (
        users["township_official"],
        users["county_official"],
        users["city_admin"],
    )
    applied = _to(users, area, S.APPLIED)
    held = _to(users, area, S.AWARDED, code="branch", label="a1v2")
    with pytest.raises(PermissionDenied):
        services.rating_year_lock(actor=county, year=YEAR)
    services.rating_year_lock(actor=admin, year=YEAR, note="年度结果已通报")
    assert RatingYear.objects.get(year=YEAR).locked

    for call in (
        lambda: services.award_township_review(actor=township, award=applied),
        lambda: services.award_withdraw(actor=county, award=held, reason="x"),
        lambda: _apply(users, area, "industry"),
        lambda: services.task_check_set(
            actor=township,
            branch=area.branches["a1v1"],
            year=YEAR,
            task=star("rural", "branch").tasks.first(),
            met=True,
        ),
    ):
        with pytest.raises(ValidationError, match="已锁定"):
            call()
    assert award_actions(user=township, award=applied) == []

    with pytest.raises(ValidationError, match="原因"):
        services.rating_year_unlock(actor=admin, year=YEAR, reason="")
    with pytest.raises(PermissionDenied):
        services.rating_year_unlock(actor=county, year=YEAR, reason="更正")
    services.rating_year_unlock(actor=admin, year=YEAR, reason="更正一处错误")
    assert (
        services.award_township_review(actor=township, award=applied).state == S.TOWNSHIP_APPROVED
    )
    assert RatingYear.objects.get(year=YEAR).history.count() == 2


# ----- the checklist -----


def test_key_tasks_are_ticked_with_evidence_by_the_area_officials(users, area):
    task = star("rural", "industry").tasks.first()
    branch = area.branches["a1v1"]
    check = services.task_check_set(
        actor=users["township_official"],
        branch=branch,
        year=YEAR,
        task=task,
        met=True,
        evidence="种植金丝皇菊 300 亩",
    )
    assert check.met and check.evidence == "种植金丝皇菊 300 亩"
    services.task_check_set(
        actor=users["county_official"],
        branch=branch,
        year=YEAR,
        task=task,
        met=False,
        evidence="待核实",
    )
    check.refresh_from_db()
    assert not check.met and check.history.count() == 2
    for who in ("cadre_user", "city_viewer", "other_county_official"):
        with pytest.raises(PermissionDenied):
            services.task_check_set(actor=users[who], branch=branch, year=YEAR, task=task, met=True)
    with pytest.raises(ValidationError):
        services.task_check_set(
            actor=users["township_official"],
            branch=branch,
            year=YEAR,
            task=star("urban", "sharing").tasks.first(),
            met=True,
        )


def test_only_a_city_admin_changes_the_rules(users, rules):
    with pytest.raises(PermissionDenied):
        services.star_settings_update(
            actor=users["county_official"], foundation_required=False, publicity_days=3
        )
    services.star_settings_update(
        actor=users["city_admin"], foundation_required=False, publicity_days=7
    )
    current = StarSettings.current()
    assert (current.foundation_required, current.publicity_days) == (False, 7)
    assert current.history.first().history_user == users["city_admin"]
    with pytest.raises(ValidationError):
        services.star_settings_update(
            actor=users["city_admin"], foundation_required=True, publicity_days=99
        )


# ----- 软弱涣散 cases -----


def _identify(users, area, who="township_official", label="a1v1"):
    return services.weak_case_identify(
        actor=users[who],
        branch=area.branches[label],
        year=YEAR,
        identified_on=datetime.date(YEAR, 2, 20),
        reasons=["incomplete_team", "no_org_life"],
        situation="书记缺职 4 个月",
    )


def test_a_weak_case_goes_identified_rectifying_accepted_and_can_be_reopened(users, area):
    case = _identify(users, area)
    assert case.status == WeakBranchCase.Status.IDENTIFIED and case.is_open
    with pytest.raises(ValidationError, match="整顿"):
        services.weak_case_accept(
            actor=users["county_official"], case=case, accepted_on=datetime.date(YEAR, 6, 1)
        )
    with pytest.raises(ValidationError) as err:
        services.weak_case_rectify(
            actor=users["township_official"],
            case=case,
            plan="",
            responsible_leader="",
            first_secretary="",
        )
    assert set(err.value.message_dict) == {
        "rectification_plan",
        "responsible_leader",
        "first_secretary",
    }
    case = services.weak_case_rectify(
        actor=users["township_official"],
        case=case,
        plan="选派第一书记，配齐班子",
        responsible_leader="王副书记",
        first_secretary="李强（市教育局）",
    )
    assert case.status == WeakBranchCase.Status.RECTIFYING
    with pytest.raises(PermissionDenied):
        services.weak_case_accept(
            actor=users["township_official"], case=case, accepted_on=datetime.date(YEAR, 6, 1)
        )
    with pytest.raises(ValidationError):
        services.weak_case_accept(
            actor=users["county_official"], case=case, accepted_on=datetime.date(YEAR, 1, 1)
        )
    case = services.weak_case_accept(
        actor=users["county_official"],
        case=case,
        accepted_on=datetime.date(YEAR, 6, 1),
        note="验收合格",
    )
    assert case.status == WeakBranchCase.Status.ACCEPTED and not case.is_open
    with pytest.raises(ValidationError, match="原因"):
        services.weak_case_reopen(actor=users["county_official"], case=case, reason="")
    case = services.weak_case_reopen(actor=users["city_admin"], case=case, reason="回访发现反弹")
    assert case.status == WeakBranchCase.Status.REOPENED and case.accepted_on is None
    case = services.weak_case_accept(
        actor=users["county_official"], case=case, accepted_on=datetime.date(YEAR, 9, 1)
    )
    assert case.status == WeakBranchCase.Status.ACCEPTED
    assert case.history.count() == 5


@pytest.mark.parametrize(
    "who", ["cadre_user", "city_viewer", "other_county_official", "no_role_user"]
)
def test_weak_cases_are_identified_only_by_area_officials(users, area, who):
    with pytest.raises(PermissionDenied):
        _identify(users, area, who=who)


def test_a_weak_case_outside_the_township_is_refused_and_one_per_year(users, area):
    with pytest.raises(PermissionDenied):
        _identify(users, area, label="a2v1")
    _identify(users, area)
    with pytest.raises(ValidationError, match="已被认定"):
        _identify(users, area, who="county_official")
    with pytest.raises(ValidationError, match="认定情形"):
        services.weak_case_identify(
            actor=users["county_official"],
            branch=area.branches["a1v2"],
            year=YEAR,
            identified_on=datetime.date(YEAR, 2, 1),
            reasons=[],
        )


def test_only_accepted_cases_reopen(users, area):
    case = WeakCaseFactory(branch=area.branches["a1v1"])
    with pytest.raises(ValidationError):
        services.weak_case_reopen(actor=users["county_official"], case=case, reason="x")


def test_award_factory_sanity(area):
    # the factories the other modules use build what they say
    award = StarAwardFactory(branch=area.branches["a1v1"])
    assert award.state == S.AWARDED and award.star_type.is_foundation
