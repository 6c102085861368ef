"""What villages shows on the home page (core.panels; registered in apps.py): the cadre's
contact points, and for officials their area's heading, data tools and overview (per
township, or per county city-wide, with its chart). The audiences are the home page's three:
cadres, officials (any other role) and users without a role; the other apps' panels use
the same ones."""

from django.http import Http404
from django.shortcuts import get_object_or_404

from core.panels import register_home_panel
from villages.selectors import (
    area_overview_for_user,
    cadre_contact_points,
    county_list_for_user,
    default_year,
    scope_for_user,
)


def for_cadres(user) -> bool:
    return scope_for_user(user).is_cadre


def for_officials(user) -> bool:
    """Every role but the cadre's: the city's, the county's and the township's."""
    scope = scope_for_user(user)
    return bool(scope.role) and not scope.is_cadre


def for_no_role(user) -> bool:
    return not scope_for_user(user).role


def contact_points_context(request) -> dict:
    return {"year": default_year(), "contact_points": cadre_contact_points(user=request.user)}


def area(request) -> dict:
    """The year and the county (`?county=`, one the user may see) the official's home page
    shows: read once per request, for the heading and the overview."""
    cached = getattr(request, "_home_area", None)
    if cached is not None:
        return cached
    county = None
    county_id = request.GET.get("county", "")
    if county_id:
        if not county_id.isdigit():
            raise Http404("没有这个县(市、区)。")
        county = get_object_or_404(county_list_for_user(user=request.user), pk=county_id)
    request._home_area = {"year": default_year(), "county": county}
    return request._home_area


def area_heading_context(request) -> dict:
    return dict(area(request))


def area_overview_context(request) -> dict:
    shown = area(request)
    county = shown["county"]
    ctx = area_overview_for_user(
        user=request.user, year=shown["year"], county_id=county.pk if county else None
    )
    rows = ctx["rows"]
    chart_rows = ctx.get("county_rows") or rows
    ctx["chart"] = {
        "labels": [(r["county"].name if "county" in r else r["township"].name) for r in chart_rows],
        "villages": [r["villages"] for r in chart_rows],
        "communities": [r["communities"] for r in chart_rows],
        "uncovered": [r["uncovered"] for r in chart_rows],
    }
    return ctx


def can_import(user) -> bool:
    return for_officials(user) and scope_for_user(user).can_import


def register() -> None:
    register_home_panel(
        "villages.no_role", order=0, template="villages/home/no_role.html", applies=for_no_role
    )
    register_home_panel(
        "villages.area_heading",
        order=10,
        template="villages/home/area_heading.html",
        applies=for_officials,
        context=area_heading_context,
    )
    register_home_panel(
        "villages.contact_points",
        order=20,
        template="villages/home/contact_points.html",
        applies=for_cadres,
        context=contact_points_context,
    )
    register_home_panel(
        "villages.data_tools",
        order=60,
        template="villages/home/data_tools.html",
        applies=can_import,
    )
    register_home_panel(
        "villages.area_overview",
        order=70,
        template="villages/home/area_overview.html",
        applies=for_officials,
        context=area_overview_context,
        scripts=("vendor/echarts/echarts.min.js", "js/charts.js"),
    )
