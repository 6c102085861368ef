"""The 五星支部 pages: who may open each, 404 for another area's objects, the steps and
weak-case actions through the pages, the board's filters and Excel export (scoped, in the
import layout), and query counts that do not grow with the rows."""

import datetime
import io
import re

import pytest
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from core.models import ExportJob
from stars.models import RatingYear, StarAward, StarSettings, WeakBranchCase
from tests.factories import RosterEntryFactory, VillageFactory
from tests.stars.factories import (
    YEAR,
    StarAwardEventFactory,
    StarAwardFactory,
    WeakCaseFactory,
    hold,
    star,
)

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.filterwarnings("ignore:No directory at:UserWarning"),
]

PAGES = ["stars:levels", "stars:board", "stars:weak_list", "stars:years"]
HEADINGS = {
    "stars:levels": "五星支部星级分布",
    "stars:board": "评星台账",
    "stars:weak_list": "软弱涣散村党组织整顿",
    "stars:years": "年度评定与规则",
}
ROLES = [
    "city_admin",
    "city_viewer",
    "county_official",
    "township_official",
    "cadre_user",
    "superuser",
]


@pytest.mark.parametrize("name", PAGES)
@pytest.mark.parametrize("who", ROLES)
def test_pages_open_for_every_role(client, login, users, area, name, who):
    response = login(client, users[who]).get(reverse(name))
    assert response.status_code == 200
    heading = re.search(r"<h1[^>]*>(.*?)</h1>", response.content.decode(), re.S).group(1)
    assert HEADINGS[name] in heading


@pytest.mark.parametrize("name", PAGES + ["stars:review"])
def test_pages_need_a_role(client, login, users, name):
    assert client.get(reverse(name)).status_code == 302
    assert login(client, users["no_role_user"]).get(reverse(name)).status_code == 403


def test_the_review_list_is_for_officials_and_the_city(client, login, users):
    assert login(client, users["cadre_user"]).get(reverse("stars:review")).status_code == 403
    for who in ("township_official", "county_official", "city_viewer"):
        assert login(client, users[who]).get(reverse("stars:review")).status_code == 200


@pytest.mark.parametrize(
    ("who", "label", "status"),
    [
        ("county_official", "a2v1", 200),
        ("county_official", "b1v1", 404),
        ("township_official", "a1v2", 200),
        ("township_official", "a2v1", 404),
        ("cadre_user", "a1v1", 200),
        ("cadre_user", "a1v2", 404),
        ("other_county_official", "a1v1", 404),
        ("city_viewer", "b1v2", 200),
    ],
)
def test_the_star_card_is_scoped(client, login, users, area, who, label, status):
    url = reverse("stars:card", args=[area.branches[label].pk])
    assert login(client, users[who]).get(url).status_code == status


def test_the_star_card_shows_held_stars_tasks_and_history(client, login, users, area):
    hold(area.branches["a1v1"], "branch", "industry")
    page = login(client, users["township_official"]).get(
        reverse("stars:card", args=[area.branches["a1v1"].pk]) + f"?year={YEAR}"
    )
    html = page.content.decode()
    assert page.context["level"] == 2
    assert "★ 支部过硬星" in html and "★ 产业兴旺星" in html and "☆ 生态宜居星" in html
    assert "一村一品" in html  # the key tasks of 产业兴旺星
    assert html.count('name="comment" placeholder="申报说明') == 3  # the three not held


def test_the_chain_through_the_pages(client, login, users, area, rules):
    rules.publicity_days = 0
    rules.save()
    branch = area.branches["a1v1"]
    township = login(client, users["township_official"])
    response = township.post(
        reverse("stars:apply", args=[branch.pk]),
        {"star_type": star("rural", "branch").pk, "year": YEAR, "comment": "自评达标"},
    )
    assert response.status_code == 302
    award = StarAward.objects.get(branch=branch)
    # the township may not do the county's step: refused, not done
    assert (
        township.post(reverse("stars:award_step", args=[award.pk, "county_rate"])).status_code
        == 403
    )
    township.post(reverse("stars:award_step", args=[award.pk, "township_review"]))
    county = login(client, users["county_official"])
    county.post(reverse("stars:award_step", args=[award.pk, "county_rate"]), {"comment": "同意"})
    county.post(
        reverse("stars:award_step", args=[award.pk, "publicize"]), {"start": timezone.localdate()}
    )
    county.post(reverse("stars:award_step", args=[award.pk, "award"]))
    award.refresh_from_db()
    assert award.state == "awarded"
    # another county cannot even see it
    other = login(client, users["other_county_official"])
    assert (
        other.post(
            reverse("stars:award_step", args=[award.pk, "withdraw"]), {"reason": "x"}
        ).status_code
        == 404
    )


def test_an_out_of_order_step_comes_back_as_a_message(client, login, users, area):
    award = StarAwardFactory(branch=area.branches["a1v1"], state="applied")
    county = login(client, users["county_official"])
    response = county.post(reverse("stars:award_step", args=[award.pk, "award"]), follow=True)
    assert "不能进行“授星”" in response.content.decode()
    award.refresh_from_db()
    assert award.state == "applied"


def test_ticking_a_task_from_the_card(client, login, users, area):
    task = star("rural", "ecology").tasks.first()
    branch = area.branches["a1v1"]
    login(client, users["township_official"]).post(
        reverse("stars:task_check", args=[branch.pk, task.pk]),
        {"year": YEAR, "met": "on", "evidence": "村庄规划已批复"},
    )
    assert task.checks.get(branch=branch).evidence == "村庄规划已批复"
    response = login(client, users["cadre_user"]).post(
        reverse("stars:task_check", args=[branch.pk, task.pk]), {"year": YEAR}
    )
    assert response.status_code == 403


def test_the_board_filters_by_level_and_scheme(client, login, users, area):
    hold(area.branches["a1v1"], "branch", "industry", "ecology")
    hold(area.branches["a2v3"], "branch", scheme="urban")
    admin = login(client, users["city_admin"])
    page = admin.get(reverse("stars:board"), {"year": YEAR, "level": 3})
    assert [r["entry"].village.name for r in page.context["table"]] == ["a1v1村"]
    urban = admin.get(reverse("stars:board"), {"year": YEAR, "scheme": "urban"})
    assert [r["entry"].village.name for r in urban.context["table"]] == ["a2v3村"]
    assert [s.name for s in urban.context["stars"]][1] == "宜业兴业星"
    township = login(client, users["township_official"]).get(reverse("stars:board"), {"year": YEAR})
    assert [r["entry"].village.name for r in township.context["table"]] == [
        "a1v1村",
        "a1v2村",
        "a1v3村",
    ]
    other = login(client, users["township_official"]).get(
        reverse("stars:board"), {"township": area.townships["B1"].pk}
    )
    assert other.status_code == 404


def test_the_board_export_is_scoped_and_in_the_import_layout(
    client, login, users, area, django_capture_on_commit_callbacks
):
    hold(area.branches["a1v1"], "branch", "industry")
    county = login(client, users["county_official"])
    with django_capture_on_commit_callbacks(execute=True):
        response = county.post(
            reverse("villages:export_create", args=["star_ratings"]),
            {"year": YEAR, "scheme": "rural"},
        )
    assert response.status_code == 302
    job = ExportJob.objects.get()
    assert job.state == "done", job.error
    ws = load_workbook(io.BytesIO(job.file.read())).active
    rows = list(ws.iter_rows(values_only=True))
    header = rows[0] if rows[0][0] == "年度" else rows[1]
    assert list(header[:5]) == ["年度", "统计用区划代码", "村(社区)", "支部过硬星", "产业兴旺星"]
    body = [r for r in rows if r and r[0] == YEAR]
    assert {r[2] for r in body} == {"a1v1村", "a1v2村", "a1v3村", "a2v1村", "a2v2村"}
    a1v1 = next(r for r in body if r[2] == "a1v1村")
    assert a1v1[3:5] == ("是", "是") and a1v1[5] == "否"
    bad = county.post(reverse("villages:export_create", args=["star_ratings"]), {"level": "9"})
    assert bad.status_code == 302 and ExportJob.objects.count() == 1


@pytest.mark.parametrize(
    ("who", "params"),
    [
        ("county_official", lambda a: {"county": a.county_b.pk}),
        ("county_official", lambda a: {"township": a.townships["B1"].pk}),
        ("township_official", lambda a: {"township": a.townships["A2"].pk}),
        ("other_county_official", lambda a: {"county": a.county_a.pk}),
    ],
)
def test_the_board_and_its_export_are_404_for_another_area(
    client, login, users, area, who, params, django_capture_on_commit_callbacks
):
    hold(area.branches["a1v1"], "branch")
    hold(area.branches["b1v1"], "branch")
    user = login(client, users[who])
    query = {"year": YEAR, **params(area)}
    assert user.get(reverse("stars:board"), query).status_code == 404
    with django_capture_on_commit_callbacks(execute=True):
        response = user.post(reverse("villages:export_create", args=["star_ratings"]), query)
    assert response.status_code == 404
    assert not ExportJob.objects.exists()


def test_the_levels_page_is_404_for_another_county(client, login, users, area):
    county = login(client, users["county_official"])
    assert county.get(reverse("stars:levels"), {"county": area.county_b.pk}).status_code == 404
    assert county.get(reverse("stars:levels"), {"county": area.county_a.pk}).status_code == 200
    assert county.get(reverse("stars:levels"), {"county": "x"}).status_code == 404


def test_reading_the_pages_writes_nothing(client, login, users, area):
    # no rules row saved yet: the pages show the defaults and do not create one
    township = login(client, users["township_official"])
    card = township.get(reverse("stars:card", args=[area.branches["a1v1"].pk]), {"year": YEAR})
    assert "公示期 5 天" in card.content.decode()
    assert township.get(reverse("stars:years")).status_code == 200
    assert not StarSettings.objects.exists()


@pytest.mark.parametrize("n", [3, 30])
def test_page_queries_do_not_grow_with_rows(
    client, login, users, area, django_assert_max_num_queries, n
):
    # the same bound at 3 and at 30 extra villages: no query per row
    for _ in range(n):
        entry = RosterEntryFactory(
            roster=area.roster, village=VillageFactory(township=area.townships["A1"])
        )
        hold(entry.branch, "branch", "industry")
        StarAwardFactory(
            branch=entry.branch, star_type=star("rural", "ecology"), state="township_ok"
        )
        WeakCaseFactory(branch=entry.branch)
    card_award = StarAwardFactory(branch=area.branches["a1v1"], state="applied")
    for _ in range(n):
        StarAwardEventFactory(award=card_award, actor=users["township_official"])
    admin = login(client, users["city_admin"])
    with django_assert_max_num_queries(16):
        board = admin.get(reverse("stars:board"), {"year": YEAR})
    assert board.context["total"] == n + 7  # the rural villages
    with django_assert_max_num_queries(16):
        admin.get(reverse("stars:levels"), {"year": YEAR})
    county = login(client, users["county_official"])
    with django_assert_max_num_queries(16):
        response = county.get(reverse("stars:review"), {"year": YEAR})
    assert len(response.context["items"]) == n
    with django_assert_max_num_queries(16):
        weak = county.get(reverse("stars:weak_list"), {"year": YEAR})
    assert len(weak.context["items"]) == n
    township = login(client, users["township_official"])
    with django_assert_max_num_queries(20):
        card = township.get(reverse("stars:card", args=[area.branches["a1v1"].pk]), {"year": YEAR})
    assert len(card.context["events"]) == n


def test_bulk_steps_from_the_review_list(client, login, users, area):
    awards = [
        StarAwardFactory(branch=area.branches[label], state="applied") for label in ("a1v1", "a1v2")
    ]
    township = login(client, users["township_official"])
    response = township.post(
        reverse("stars:review_bulk"),
        {"step": "township_review", "award": [a.pk for a in awards]},
        follow=True,
    )
    assert "已办理 2 项" in response.content.decode()
    assert set(StarAward.objects.filter(state="township_ok")) == set(awards)


def test_a_bulk_step_with_another_areas_award_is_404_and_changes_nothing(
    client, login, users, area
):
    mine = StarAwardFactory(branch=area.branches["a1v1"], state="applied")
    foreign = StarAwardFactory(branch=area.branches["a2v1"], state="applied")
    township = login(client, users["township_official"])
    response = township.post(
        reverse("stars:review_bulk"), {"step": "township_review", "award": [mine.pk, foreign.pk]}
    )
    assert response.status_code == 404
    assert set(StarAward.objects.values_list("state", flat=True)) == {"applied"}


def test_a_bulk_step_is_all_or_nothing(client, login, users, area):
    ready = StarAwardFactory(branch=area.branches["a1v1"], state="applied")
    ahead = StarAwardFactory(branch=area.branches["a1v2"], state="township_ok")
    township = login(client, users["township_official"])
    response = township.post(
        reverse("stars:review_bulk"),
        {"step": "township_review", "award": [ready.pk, ahead.pk]},
        follow=True,
    )
    html = response.content.decode()
    assert "均未办理" in html and "a1v2村党支部 支部过硬星" in html and "不能进行" in html
    ready.refresh_from_db()
    ahead.refresh_from_db()
    assert (ready.state, ahead.state) == ("applied", "township_ok")
    assert not ready.events.exists()
    bad_step = township.post(
        reverse("stars:review_bulk"), {"step": "withdraw", "award": [ready.pk]}, follow=True
    )
    assert "请选择要办理的环节" in bad_step.content.decode()
    nothing = township.post(reverse("stars:review_bulk"), {"step": "township_review"}, follow=True)
    assert "请先勾选申报" in nothing.content.decode()


def test_years_page_locks_and_unlocks_for_city_admins_only(client, login, users, area):
    admin = login(client, users["city_admin"])
    admin.post(reverse("stars:years"), {"action": "lock", "year": YEAR})
    assert RatingYear.objects.get(year=YEAR).locked
    admin.post(reverse("stars:years"), {"action": "unlock", "year": YEAR, "reason": ""})
    assert RatingYear.objects.get(year=YEAR).locked
    admin.post(reverse("stars:years"), {"action": "unlock", "year": YEAR, "reason": "更正"})
    assert not RatingYear.objects.get(year=YEAR).locked
    admin.post(
        reverse("stars:years"),
        {"action": "settings", "publicity_days": 7, "foundation_required": ""},
    )
    assert (
        StarSettings.current().publicity_days == 7
        and not StarSettings.current().foundation_required
    )
    county = login(client, users["county_official"])
    assert county.post(reverse("stars:years"), {"action": "lock", "year": YEAR}).status_code == 403


def test_weak_cases_through_the_pages(client, login, users, area):
    township = login(client, users["township_official"])
    response = township.post(
        reverse("stars:weak_new"),
        {
            "branch": area.branches["a1v2"].pk,
            "year": YEAR,
            "identified_on": f"{YEAR}-02-01",
            "reasons": ["disunity", "petitions"],
        },
    )
    case = WeakBranchCase.objects.get()
    assert response.status_code == 302 and case.reasons == ["disunity", "petitions"]
    foreign = township.post(
        reverse("stars:weak_new"),
        {
            "branch": area.branches["b1v1"].pk,
            "year": YEAR,
            "identified_on": f"{YEAR}-02-01",
            "reasons": ["disunity"],
        },
    )
    assert "不在您的辖区" in foreign.content.decode()
    township.post(
        reverse("stars:weak_action", args=[case.pk, "rectify"]),
        {"plan": "配齐班子", "responsible_leader": "张副镇长", "first_secretary": "刘伟"},
    )
    case.refresh_from_db()
    assert case.status == "rectifying"
    assert (
        township.post(
            reverse("stars:weak_action", args=[case.pk, "accept"]), {"accepted_on": f"{YEAR}-05-01"}
        ).status_code
        == 403
    )
    county = login(client, users["county_official"])
    county.post(
        reverse("stars:weak_action", args=[case.pk, "accept"]), {"accepted_on": f"{YEAR}-05-01"}
    )
    case.refresh_from_db()
    assert case.status == "accepted"
    listing = county.get(reverse("stars:weak_list"), {"year": YEAR, "status": ""})
    assert (
        listing.context["items"][0]["days"]
        == (datetime.date(YEAR, 5, 1) - datetime.date(YEAR, 2, 1)).days
    )
    other = login(client, users["other_county_official"])
    assert other.get(reverse("stars:weak_detail", args=[case.pk])).status_code == 404


def test_open_weak_cases_show_the_days_they_have_been_open(client, login, users, area):
    identified = timezone.localdate() - datetime.timedelta(days=40)
    WeakCaseFactory(branch=area.branches["a1v1"], identified_on=identified, year=YEAR)
    response = login(client, users["county_official"]).get(
        reverse("stars:weak_list"), {"year": YEAR}
    )
    assert [i["days"] for i in response.context["items"]] == [40]
    assert response.context["open_count"] == 1


def test_the_home_card_shows_the_figures(client, login, users, area):
    hold(area.branches["a1v1"], *("branch", "industry", "ecology", "safety", "civility"))
    html = login(client, users["county_official"]).get(reverse("home")).content.decode()
    assert "五星支部" in html and "五星 1 个" in html


@pytest.mark.parametrize(
    ("name", "args", "data"),
    [
        ("stars:apply", lambda a: [a.branches["b1v1"].pk], {"star_type": 1, "year": YEAR}),
        ("stars:task_check", lambda a: [a.branches["b1v1"].pk, 1], {"year": YEAR}),
        ("stars:award_step", lambda a: [a.award.pk, "withdraw"], {"reason": "x"}),
        ("stars:award_step", lambda a: [a.award.pk, "township_review"], {}),
        ("stars:award_step", lambda a: [a.award.pk, "county_rate"], {}),
        ("stars:award_step", lambda a: [a.award.pk, "publicize"], {}),
        ("stars:award_step", lambda a: [a.award.pk, "award"], {}),
        ("stars:award_step", lambda a: [a.award.pk, "reject"], {"comment": "x"}),
        ("stars:weak_action", lambda a: [a.case.pk, "reopen"], {"reason": "x"}),
        ("stars:review_bulk", lambda a: [], lambda a: {"step": "award", "award": [a.award.pk]}),
        ("stars:weak_action", lambda a: [a.case.pk, "rectify"], {"plan": "x"}),
        ("stars:weak_action", lambda a: [a.case.pk, "accept"], {"accepted_on": f"{YEAR}-05-01"}),
    ],
)
def test_posts_on_another_areas_objects_are_404(client, login, users, area, name, args, data):
    area.award = StarAwardFactory(branch=area.branches["b1v1"])
    area.case = WeakCaseFactory(
        branch=area.branches["b1v2"], status="rectifying", rectification_plan="x"
    )
    data = data(area) if callable(data) else data
    for who in ("county_official", "township_official", "cadre_user"):
        response = login(client, users[who]).post(reverse(name, args=args(area)), data)
        assert response.status_code == 404, who
    assert StarAward.objects.get().state == "awarded"
    assert WeakBranchCase.objects.get().status == "rectifying"


def test_bad_input_on_the_card_names_the_field_in_chinese(client, login, users, area):
    branch = area.branches["a1v1"]
    township = login(client, users["township_official"])
    applied = township.post(
        reverse("stars:apply", args=[branch.pk]),
        {"star_type": star("rural", "branch").pk, "year": "明年"},
        follow=True,
    )
    assert "年度：输入整数" in applied.content.decode()
    assert not StarAward.objects.exists()
    task = star("rural", "ecology").tasks.first()
    ticked = township.post(
        reverse("stars:task_check", args=[branch.pk, task.pk]),
        {"year": YEAR, "evidence": "长" * 1001},
        follow=True,
    )
    assert "佐证说明：" in ticked.content.decode()
    assert not task.checks.exists()
    award = StarAwardFactory(branch=branch, state="county_rated")
    county = login(client, users["county_official"])
    published = county.post(
        reverse("stars:award_step", args=[award.pk, "publicize"]), {"start": "下周"}, follow=True
    )
    assert "公示开始日期：" in published.content.decode()
    award.refresh_from_db()
    assert award.state == "county_rated"
