"""HTML pages through the Django test client: sign-in, the per-role home page, the village
list (filters, pagination, htmx partial), village detail scoping and the Excel export flow.

The world is the `area` fixture (tests/conftest.py): county A (甲县) with townships A1
(甲一镇: a1v1, a1v2 行政村, a1v3 农村社区) and A2 (甲二街道: a2v1, a2v2 行政村, a2v3 城市社区);
county B (乙县) with township B1 (乙一乡: b1v1, b1v2 行政村). 2024 cadres: 甲一干部 帮村
a1v1, 联乡干部 联乡 A2, 乙一干部 帮村 b1v1, 跨县干部 (a county-A unit) 帮村 b1v2.
"""

import io
import re
from html.parser import HTMLParser

import openpyxl
import pytest
from django.test import Client
from django.urls import reverse

from core.models import ExportJob
from tests.factories import VillageFactory
from villages.exports import VILLAGE_HEADERS

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.filterwarnings("ignore:No directory at:UserWarning"),
]

ALL_VILLAGES = {"a1v1", "a1v2", "a1v3", "a2v1", "a2v2", "a2v3", "b1v1", "b1v2"}
A1_VILLAGES = {"a1v1", "a1v2", "a1v3"}
A2_VILLAGES = {"a2v1", "a2v2", "a2v3"}
B1_VILLAGES = {"b1v1", "b1v2"}
VISIBLE_VILLAGES = {
    "city_admin": ALL_VILLAGES,
    "city_viewer": ALL_VILLAGES,
    "superuser": ALL_VILLAGES,
    "county_official": A1_VILLAGES | A2_VILLAGES,
    "other_county_official": B1_VILLAGES,
    "township_official": A1_VILLAGES,
    "cadre_user": {"a1v1"},
    "township_cadre_user": A2_VILLAGES,
    "no_role_user": set(),
}
NON_CITY = [
    "county_official",
    "other_county_official",
    "township_official",
    "cadre_user",
    "township_cadre_user",
    "no_role_user",
]
NOT_FOUND_TEXT = "页面或记录不存在"


# ----- helpers -----


class _Tables(HTMLParser):
    """Every <table> as a list of rows, each row a list of stripped cell texts."""

    def __init__(self):
        super().__init__()
        self.tables: list[list[list[str]]] = []
        self._row: list[str] | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "table":
            self.tables.append([])
        elif tag == "tr":
            self._row = []
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._cell is not None and self._row is not None:
            self._row.append("".join(self._cell).strip())
            self._cell = None
        elif tag == "tr" and self._row is not None and self.tables:
            self.tables[-1].append(self._row)
            self._row = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def tables_of(response) -> list[list[list[str]]]:
    parser = _Tables()
    parser.feed(response.content.decode())
    return parser.tables


def body_rows(response) -> dict[str, list[str]]:
    """The first table's body rows keyed by their first cell (the header row dropped)."""
    table = tables_of(response)[0]
    return {row[0]: row[1:] for row in table[1:]}


def listed_village_ids(response) -> set[int]:
    """Ids of the villages linked from the village table."""
    return {int(pk) for pk in re.findall(r'href="/villages/(\d+)/"', response.content.decode())}


def select_options(html: str, name: str) -> set[str]:
    """The option values of the <select name=…> in `html`."""
    select = re.search(rf'<select[^>]*name="{name}"[^>]*>(.*?)</select>', html, re.S)
    assert select, f"no <select name={name}>"
    return set(re.findall(r'<option value="([^"]*)"', select.group(1)))


def labels(area, ids: set[int]) -> set[str]:
    by_id = {v.pk: label for label, v in area.villages.items()}
    return {by_id.get(i, f"<id {i}>") for i in ids}


@pytest.fixture
def client_as(users, client):
    def _as(who):
        if who != "anonymous":
            client.force_login(users[who])
        return client

    return _as


# ----- sign-in and anonymous access -----


def test_login_page_is_public_and_chinese(client):
    response = client.get("/accounts/login/")

    assert response.status_code == 200
    html = response.content.decode()
    assert '<html lang="zh-CN">' in html
    for text in ("用户名", "密码", "登录", "许昌市“联乡帮村”工作平台"):
        assert text in html


def test_login_with_wrong_password_shows_a_chinese_error(area):
    # given
    from tests.factories import UserFactory

    UserFactory(username="someone", password="right-pass-456")

    # when
    wrong = Client().post("/accounts/login/", {"username": "someone", "password": "nope"})
    right = Client().post("/accounts/login/", {"username": "someone", "password": "right-pass-456"})

    # then
    assert wrong.status_code == 200
    assert "请输入一个正确的" in wrong.content.decode()
    assert right.status_code == 302
    assert right["Location"] == "/"


@pytest.mark.parametrize(
    "method, url",
    [
        ("get", "/"),
        ("get", "/villages/"),
        ("get", "/villages/{village}/"),
        ("post", "/villages/export/"),
        ("get", "/exports/{job}/"),
        ("get", "/exports/{job}/download/"),
    ],
)
def test_every_page_sends_anonymous_visitors_to_login(client, area, county_official, method, url):
    # given
    job = ExportJob.objects.create(kind="villages", user=county_official)
    path = url.format(village=area.villages["a1v1"].pk, job=job.pk)

    # when
    response = getattr(client, method)(path)

    # then
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/?next=")
    assert ExportJob.objects.count() == 1


# ----- home page per role -----


def test_home_for_cadre_shows_their_contact_village(client_as, area):
    response = client_as("cadre_user").get("/")

    html = response.content.decode()
    assert response.status_code == 200
    assert "我的联系点" in html
    assert "a1v1村" in html
    assert f'href="/villages/{area.villages["a1v1"].pk}/"' in html
    assert "甲县 · 甲一镇" in html
    for other in ("a1v2村", "b1v1村", "乙县", "尚未分配角色"):
        assert other not in html


def test_home_for_township_cadre_shows_their_township(client_as, area):
    response = client_as("township_cadre_user").get("/")

    html = response.content.decode()
    assert "我的联系点" in html
    assert "联乡" in html
    assert f'href="/villages/?township={area.townships["A2"].pk}"' in html
    assert "甲二街道" in html
    assert "甲一镇" not in html


@pytest.mark.parametrize(
    "who, expected_rows, absent",
    [
        (
            "county_official",
            # 乡镇: 行政村, 社区, 联系干部, 无帮村干部
            {"甲一镇": ["2", "1", "1", "2"], "甲二街道": ["2", "1", "1", "3"]},
            ["乙一乡", "乙县"],
        ),
        (
            "other_county_official",
            {"乙一乡": ["2", "0", "2", "0"]},
            ["甲一镇", "甲二街道", "甲县"],
        ),
        ("township_official", {"甲一镇": ["2", "1", "1", "2"]}, ["甲二街道", "乙一乡", "乙县"]),
    ],
)
def test_home_for_official_counts_per_township_in_their_area_only(
    client_as, area, who, expected_rows, absent
):
    # when
    response = client_as(who).get("/")

    # then
    assert response.status_code == 200
    assert body_rows(response) == expected_rows
    html = response.content.decode()
    for name in absent:
        assert name not in html
    assert "2024年度" in html
    assert 'href="/admin/villages/village/"' not in html


def test_home_totals_for_county_official(client_as, area):
    response = client_as("county_official").get("/")

    assert response.context["totals"] == {
        "villages": 4,
        "communities": 2,
        "cadres": 2,
        "uncovered": 5,
    }
    assert "甲县概况" in response.content.decode()


@pytest.mark.parametrize("who", ["city_admin", "superuser"])
def test_home_for_city_admin_links_to_admin_and_counts_per_county(client_as, area, users, who):
    # given: city admins who may use the Django admin (the demo's `admin` is staff)
    users[who].is_staff = True
    users[who].save(update_fields=["is_staff"])

    # when
    response = client_as(who).get("/")

    # then
    html = response.content.decode()
    for href in (
        "/admin/",
        "/admin/villages/village/",
        "/admin/villages/cadre/",
        "/admin/villages/assignment/",
        "/admin/villages/userrole/",
        "/api/docs/",
    ):
        assert f'href="{href}"' in html, href
    # 县: 乡镇, 行政村, 社区, 联系干部, 无帮村干部
    assert body_rows(response) == {
        "甲县": ["2", "4", "2", "2", "5"],
        "乙县": ["1", "2", "0", "2", "0"],
    }


def test_home_for_a_city_admin_without_staff_status_offers_imports_but_no_admin_links(
    client_as, area
):
    # when: the fixture's city admin is not staff
    html = client_as("city_admin").get("/").content.decode()

    # then: imports yes, links into the Django admin (which would refuse them) no
    assert 'href="/imports/"' in html
    assert 'href="/admin/"' not in html


def test_home_for_city_viewer_has_no_admin_links(client_as, area):
    response = client_as("city_viewer").get("/")

    html = response.content.decode()
    assert response.status_code == 200
    assert 'href="/admin/villages/village/"' not in html
    assert set(body_rows(response)) == {"甲县", "乙县"}


def test_home_for_user_without_role_says_so(client_as, area):
    response = client_as("no_role_user").get("/")

    html = response.content.decode()
    assert response.status_code == 200
    assert "尚未分配角色" in html
    for name in ("甲县", "乙县", "甲一镇", "a1v1村"):
        assert name not in html


def test_home_filtered_to_a_county(client_as, area):
    response = client_as("city_admin").get("/", {"county": area.county_b.pk})

    assert response.status_code == 200
    assert body_rows(response) == {"乙一乡": ["2", "0", "2", "0"]}
    assert "乙县概况" in response.content.decode()
    assert "返回全市" in response.content.decode()


def test_home_for_county_official_with_other_county_is_404(client_as, area):
    # given
    client = client_as("county_official")

    # when
    own = client.get("/", {"county": area.county_a.pk})
    other = client.get("/", {"county": area.county_b.pk})
    missing = client.get("/", {"county": 999999})

    # then
    assert own.status_code == 200
    assert other.status_code == 404
    assert NOT_FOUND_TEXT in other.content.decode()
    assert "乙一乡" not in other.content.decode()
    assert missing.status_code == 404


def test_home_with_non_numeric_county_is_not_a_server_error(users, area):
    client = Client(raise_request_exception=False)
    client.force_login(users["county_official"])

    response = client.get("/", {"county": "abc"})

    assert response.status_code == 404


# ----- village list -----


@pytest.mark.parametrize("who", [*VISIBLE_VILLAGES])
def test_village_list_shows_exactly_the_users_villages(client_as, area, who):
    response = client_as(who).get("/villages/")

    assert response.status_code == 200
    expected = VISIBLE_VILLAGES[who]
    assert labels(area, listed_village_ids(response)) == expected
    assert f"共 {len(expected)} 个村(社区)" in response.content.decode()


@pytest.mark.parametrize(
    "who, params, expected",
    [
        ("city_admin", {"county": "B"}, B1_VILLAGES),
        ("county_official", {"county": "A"}, A1_VILLAGES | A2_VILLAGES),
        ("county_official", {"township": "A2"}, A2_VILLAGES),
        ("city_viewer", {"kind": "rural_community"}, {"a1v3"}),
        ("county_official", {"kind": "village"}, {"a1v1", "a1v2", "a2v1", "a2v2"}),
        ("township_official", {"kind": "urban_community"}, set()),
        ("city_admin", {"q": "b1v"}, B1_VILLAGES),
        ("county_official", {"q": "b1v"}, set()),
        ("city_admin", {"q": "code:A2"}, A2_VILLAGES),
        ("city_admin", {"township": "A1", "kind": "village"}, {"a1v1", "a1v2"}),
    ],
)
def test_village_list_filters(client_as, area, who, params, expected):
    # given
    query = {}
    for key, value in params.items():
        if key == "county":
            value = {"A": area.county_a, "B": area.county_b}[value].pk
        elif key == "township":
            value = area.townships[value].pk
        elif key == "q" and value.startswith("code:"):
            value = area.townships[value.removeprefix("code:")].code
        query[key] = value

    # when
    response = client_as(who).get("/villages/", query)

    # then
    assert response.status_code == 200
    assert "筛选条件无效" not in response.content.decode()
    assert labels(area, listed_village_ids(response)) == expected
    assert f"共 {len(expected)} 个村(社区)" in response.content.decode()


def test_village_list_filter_options_are_the_users_area_only(client_as, area):
    response = client_as("county_official").get("/villages/")

    html = response.content.decode()
    assert select_options(html, "county") == {"", str(area.county_a.pk)}
    assert select_options(html, "township") == {
        "",
        str(area.townships["A1"].pk),
        str(area.townships["A2"].pk),
    }
    assert "甲县 · 甲二街道" in html
    assert "乙一乡" not in html
    assert "乙县" not in html


@pytest.mark.parametrize(
    "who, query",
    [
        ("city_admin", "county=999999"),
        ("city_admin", "kind=bogus"),
        ("city_admin", "county=abc"),
        ("city_admin", "township=abc"),
        ("county_official", "county={B}"),
        ("township_official", "township={A2}"),
        ("cadre_user", "county={B}"),
    ],
)
def test_village_list_with_invalid_filter_is_empty_with_a_message(client_as, area, who, query):
    # given
    query = query.format(B=area.county_b.pk, A2=area.townships["A2"].pk)

    # when
    response = client_as(who).get(f"/villages/?{query}")

    # then
    assert response.status_code == 200
    html = response.content.decode()
    assert "筛选条件无效" in html
    assert listed_village_ids(response) == set()
    assert "共 0 个村(社区)" in html


def test_village_list_paginates_by_50_and_keeps_the_filters(client_as, area):
    # given: 55 more 行政村 in A1 -> 59 行政村 in county A
    VillageFactory.create_batch(55, township=area.townships["A1"])
    client = client_as("county_official")

    # when
    first = client.get("/villages/", {"kind": "village"})
    second = client.get("/villages/", {"kind": "village", "page": 2})
    beyond = client.get("/villages/", {"kind": "village", "page": 3})

    # then
    assert len(listed_village_ids(first)) == 50
    assert len(listed_village_ids(second)) == 9
    assert not listed_village_ids(first) & listed_village_ids(second)
    first_html = first.content.decode()
    assert "共 59 个村(社区)" in first_html
    assert "第 1 / 2 页" in first_html
    assert 'href="?kind=village&amp;page=2"' in first_html
    assert "第 2 / 2 页" in second.content.decode()
    assert beyond.status_code == 404


def test_htmx_request_gets_only_the_table(client_as, area):
    # given
    client = client_as("township_official")

    # when
    partial = client.get("/villages/", {"kind": "village"}, headers={"HX-Request": "true"})
    boosted = client.get("/villages/", headers={"HX-Request": "true", "HX-Boosted": "true"})

    # then
    html = partial.content.decode()
    assert partial.status_code == 200
    assert "<html" not in html
    assert '<nav class="navbar' not in html
    assert "<form" not in html
    assert 'class="table table-sm table-hover align-middle village-table"' in html
    assert labels(area, listed_village_ids(partial)) == {"a1v1", "a1v2"}
    assert "共 2 个村(社区)" in html
    assert "<html" in boosted.content.decode()


# ----- village detail -----


@pytest.mark.parametrize("who", NON_CITY)
def test_village_detail_outside_scope_is_404(client_as, area, who):
    # given
    client = client_as(who)
    expected = {label: 200 if label in VISIBLE_VILLAGES[who] else 404 for label in area.villages}

    # when
    got = {label: client.get(f"/villages/{v.pk}/") for label, v in area.villages.items()}

    # then
    assert {label: r.status_code for label, r in got.items()} == expected
    for label, response in got.items():
        if response.status_code == 404:
            html = response.content.decode()
            assert NOT_FOUND_TEXT in html
            assert f"{label}村" not in html


@pytest.mark.parametrize("who", ["city_admin", "city_viewer", "superuser"])
def test_village_detail_is_200_everywhere_for_city_roles(client_as, area, who):
    client = client_as(who)

    statuses = {
        label: client.get(f"/villages/{v.pk}/").status_code for label, v in area.villages.items()
    }

    assert set(statuses.values()) == {200}


def test_missing_village_is_404(client_as, area):
    assert client_as("city_admin").get("/villages/987654/").status_code == 404


@pytest.mark.parametrize(
    "who, village, cadres, not_shown",
    [
        ("county_official", "a1v1", ["甲一干部", "甲县测试局"], ["联乡干部", "乙一干部"]),
        ("county_official", "a2v1", ["联乡干部", "市测试局"], ["甲一干部"]),
        ("township_official", "a1v2", [], ["甲一干部", "联乡干部"]),
        ("other_county_official", "b1v2", ["跨县干部", "甲县测试局"], ["乙一干部"]),
        ("city_viewer", "b1v1", ["乙一干部", "乙县测试局"], ["跨县干部"]),
    ],
)
def test_village_detail_shows_its_data_and_assigned_cadres(
    client_as, area, who, village, cadres, not_shown
):
    # given
    v = area.villages[village]

    # when
    response = client_as(who).get(f"/villages/{v.pk}/")

    # then
    assert response.status_code == 200
    html = response.content.decode()
    assert f"{village}村" in html
    assert v.code in html
    assert f"{v.township.county.name} {v.township.name}" in html
    assert f"{village}村党支部" in html  # its 2024 roster branch
    for text in cadres:
        assert text in html
    if not cadres:
        assert "暂无联系干部" in html
    for text in not_shown:
        assert text not in html


# ----- export flow -----


def _export(client, data, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/villages/export/", data)
    return response


def _xlsx_rows(response) -> list[tuple]:
    content = b"".join(response.streaming_content)
    sheet = openpyxl.load_workbook(io.BytesIO(content), read_only=True).active
    return [tuple(row) for row in sheet.iter_rows(values_only=True)]


@pytest.mark.parametrize(
    "who, data, expected",
    [
        ("county_official", {}, A1_VILLAGES | A2_VILLAGES),
        ("county_official", {"kind": "village"}, {"a1v1", "a1v2", "a2v1", "a2v2"}),
        ("township_cadre_user", {}, A2_VILLAGES),
        ("other_county_official", {"q": "b1v2"}, {"b1v2"}),
    ],
)
def test_export_flow_gives_an_xlsx_of_the_users_area(
    client_as, area, django_capture_on_commit_callbacks, who, data, expected
):
    # given
    client = client_as(who)

    # when
    posted = _export(client, data, django_capture_on_commit_callbacks)
    job = ExportJob.objects.get()
    page = client.get(posted["Location"])
    download = client.get(f"/exports/{job.pk}/download/")

    # then
    assert posted.status_code == 302
    assert posted["Location"] == f"/exports/{job.pk}/"
    html = page.content.decode()
    assert "已完成" in html
    assert f'href="/exports/{job.pk}/download/"' in html
    assert f"共 {len(expected)} 行" in html
    assert download.status_code == 200
    assert "attachment" in download["Content-Disposition"]
    assert ".xlsx" in download["Content-Disposition"]
    rows = _xlsx_rows(download)
    assert rows[0] == VILLAGE_HEADERS
    codes = {row[3] for row in rows[1:]}
    assert codes == {area.villages[label].code for label in expected}
    assert len(rows) - 1 == len(expected)


def test_export_page_polls_via_htmx_partial(client_as, area, county_official):
    # given: a job the worker has not picked up yet
    job = ExportJob.objects.create(kind="villages", user=county_official)
    client = client_as("county_official")

    # when
    page = client.get(f"/exports/{job.pk}/")
    partial = client.get(f"/exports/{job.pk}/", headers={"HX-Request": "true"})
    download = client.get(f"/exports/{job.pk}/download/")

    # then
    assert "排队中" in page.content.decode()
    assert 'hx-trigger="every 1s"' in partial.content.decode()
    assert "<html" not in partial.content.decode()
    assert download.status_code == 404


def test_another_users_export_page_and_download_are_404(
    client_as, area, users, django_capture_on_commit_callbacks
):
    # given
    owner = client_as("county_official")
    _export(owner, {}, django_capture_on_commit_callbacks)
    job = ExportJob.objects.get()
    assert owner.get(f"/exports/{job.pk}/download/").status_code == 200
    intruder = Client()
    intruder.force_login(users["other_county_official"])
    admin = Client()
    admin.force_login(users["city_admin"])

    # when / then
    for client in (intruder, admin):
        page = client.get(f"/exports/{job.pk}/")
        download = client.get(f"/exports/{job.pk}/download/")
        assert page.status_code == 404
        assert NOT_FOUND_TEXT in page.content.decode()
        assert download.status_code == 404


def test_export_by_user_without_role_is_refused_with_a_message(client_as, area):
    # when
    response = client_as("no_role_user").post("/villages/export/", follow=True)

    # then
    assert response.redirect_chain[0] == ("/villages/", 302)
    assert "尚未分配角色" in response.content.decode()
    assert ExportJob.objects.count() == 0


@pytest.mark.parametrize("data", [{"kind": "bogus"}, {"county": "999999"}, {"county": "B"}])
def test_export_with_invalid_filter_is_refused_not_widened(
    client_as, area, django_capture_on_commit_callbacks, data
):
    # given: the list page shows this filter as invalid and empty; the export must not
    # quietly drop it and export every village the user can see
    if data.get("county") == "B":
        data = {"county": area.county_b.pk}
    client = client_as("county_official")

    # when
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/villages/export/", data, follow=True)

    # then
    assert response.redirect_chain[0] == ("/villages/", 302)
    assert ExportJob.objects.count() == 0
    errors = [str(m) for m in response.context["messages"]]
    assert len(errors) == 1
    assert re.search(r"[\u4e00-\u9fff]", errors[0])


def test_page_titles_name_the_page_and_the_portal(client_as, area):
    html = client_as("county_official").get("/villages/").content.decode()

    assert "<title>村(社区) · 许昌市“联乡帮村”工作平台</title>" in html


def test_a_refusal_page_says_why_in_chinese(client, area, cadre_user):
    client.force_login(cadre_user)
    response = client.get(reverse("villages:import_list"))
    assert response.status_code == 403
    page = response.content.decode()
    assert "无权访问" in page and "只有市级管理员和县级干部可以导入数据。" in page
