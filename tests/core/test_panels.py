"""The home page is built from the panels the apps register with core (core.panels), and
the 413 answer names the upload limits they register (core.limits): core imports no app."""

import pytest
from django.test import RequestFactory

from core import panels
from core.limits import upload_limits
from core.panels import home_panels_for, panel_scripts, register_home_panel

OFFICIAL = [
    "villages.area_heading",
    "visits.official_links",
    "stars.home_card",
    "disputes.home_card",
    "dashboards.home_card",
    "villages.data_tools",
    "villages.area_overview",
]


def _request(user, **query):
    request = RequestFactory().get("/", query)
    request.user = user
    return request


@pytest.fixture
def registry(monkeypatch):
    """The registry as the apps left it, restored after the test."""
    monkeypatch.setattr(panels, "_PANELS", dict(panels._PANELS))
    return panels._PANELS


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("who", "expected"),
    [
        ("city_admin", OFFICIAL),
        ("county_official", OFFICIAL),
        ("township_official", [n for n in OFFICIAL if n != "villages.data_tools"]),
        ("city_viewer", [n for n in OFFICIAL if n != "villages.data_tools"]),
        ("no_role_user", ["villages.no_role"]),
        ("cadre_user", ["visits.cadre_progress", "villages.contact_points"]),
        ("township_cadre_user", ["visits.cadre_progress", "villages.contact_points"]),
    ],
)
def test_each_audience_sees_the_panels_the_apps_registered_for_it(users, who, expected):
    shown = home_panels_for(_request(users[who]))

    assert [panel.name for panel in shown] == expected


@pytest.mark.django_db
def test_the_cadre_page_loads_the_visit_queue_script(users):
    shown = home_panels_for(_request(users["cadre_user"]))

    assert panel_scripts(shown) == ["js/visit-queue.js"]


@pytest.mark.django_db
def test_the_official_overview_loads_the_chart_scripts_once(users):
    shown = home_panels_for(_request(users["city_admin"]))

    assert panel_scripts(shown) == ["vendor/echarts/echarts.min.js", "js/charts.js"]


def test_a_panel_is_shown_in_order_and_skipped_when_it_has_nothing_to_show(registry):
    registry.clear()
    register_home_panel("b", order=2, template="b.html", scripts=("x.js", "y.js"))
    register_home_panel("a", order=1, template="a.html", context=lambda r: {"n": 1})
    register_home_panel("c", order=3, template="c.html", context=lambda r: None)
    register_home_panel("d", order=0, template="d.html", applies=lambda user: False)
    register_home_panel("e", order=4, template="e.html", scripts=("y.js",))

    shown = home_panels_for(_request(None))

    assert [(p.name, p.context) for p in shown] == [("a", {"n": 1}), ("b", {}), ("e", {})]
    assert panel_scripts(shown) == ["x.js", "y.js"]


@pytest.mark.django_db
def test_the_home_page_renders_a_registered_panel_in_the_page_context(client, users, registry):
    registry.clear()
    register_home_panel(
        "test.hello",
        order=1,
        template="villages/home/area_heading.html",
        context=lambda request: {"year": 2031, "county": None},
    )
    client.force_login(users["county_official"])

    html = client.get("/").content.decode()

    # the panel's own context (the year), the page's (the user's area, from the role)
    assert "2031年度" in html and "甲县概况" in html


def test_the_413_answer_names_the_limits_the_apps_registered():
    assert upload_limits() == [
        "每个导入文件不超过 10 MB",
        "每张照片不超过 8 MB（每条记录最多 3 张）",
    ]
