"""Dashboard pages: thin. Scope → area (404 outside it), snapshots → context."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from core.jobs import task_send
from dashboards import selectors
from dashboards.exports import dashboard_workbook
from dashboards.forms import TargetForm
from dashboards.indicators import PROJECTION_TEXT, RANK_CODES, SPECS
from dashboards.models import Target
from dashboards.services import refresh_if_due, target_save


def _year(request) -> int:
    raw = request.GET.get("year", "")
    if raw.isdigit() and 2000 <= int(raw) <= 2100:
        return int(raw)
    return selectors.default_dashboard_year()


def _rank_code(request) -> str:
    code = request.GET.get("rank", "")
    return code if code in RANK_CODES else RANK_CODES[0]


def area_url(level: str, pk) -> str:
    if level == "city":
        return reverse("dashboards:city")
    return reverse(f"dashboards:{level}", args=[pk])


@login_required
def home(request):
    target = selectors.home_area_for_user(user=request.user)
    if target is None:
        raise Http404
    return redirect(area_url(*target))


def _board_context(area, year: int, rank: str) -> dict:
    """What the cached body of a dashboard renders: nothing user- or request-specific."""
    board = selectors.dashboard_for(area=area, year=year)
    context = {
        "area": area,
        "board": board,
        "year": year,
        "rank": rank,
        "rank_choices": RANK_CHOICES,
        "child_name": selectors.LEVEL_NAMES.get(area.child_level or "", ""),
        "methods": PROJECTION_TEXT,
        "child_base": _child_base(area),
        "settled": selectors.year_settled(year),
        "refresh_in_requests": selectors.refresh_in_requests(),
    }
    if not board.get("empty"):
        for c in board["children"]:
            c["rank_now"] = c["ranks"].get(rank)
            c["rank_delta"] = c["rank_change"].get(rank)
            c["rank_drop"] = -c["rank_delta"] if c["rank_delta"] else None
            c["cells"] = [c["shares"].get(code) for code in RANK_CODES]
        board["children"].sort(key=lambda c: (c["rank_now"] is None, c["rank_now"] or 0, c["code"]))
        context["charts"] = selectors.chart_data(area=area, board=board, rank_code=rank)
        if area.level == "city":
            context["map"] = selectors.map_data(board=board, rank_code=rank)
    return context


RANK_CHOICES = [(c, SPECS[c].label) for c in RANK_CODES]


def _child_base(area) -> str:
    if not area.child_level:
        return ""
    return reverse(f"dashboards:{area.child_level}", args=[0]).rsplit("0/", 1)[0]


def _page(request, level: str, pk, template: str):
    """A dashboard page. Its body (cards, charts, league table) is rendered from the
    snapshots once per snapshot computation and target change, and cached under a key
    naming both (one small query finds them), today's date and the chosen indicator.
    Where no beat runs, the request first brings the snapshots up to date (at most every
    30 s; `refresh_if_due`)."""
    area = selectors.area_for_user(user=request.user, level=level, pk=pk)
    refreshing = refresh_if_due()
    year = _year(request)
    rank = _rank_code(request)
    version = selectors.page_version(area=area, year=year)
    key = None
    cached = None
    if version is not None:
        key = "dashboards:page:" + ":".join(
            str(part)
            for part in (template, area.level, area.pk, year, rank, timezone.localdate(), *version)
        )
        cached = cache.get(key)
    if cached is None:
        ctx = _board_context(area, year, rank)
        board = ctx["board"]
        meta = {
            "empty": board.get("empty", True),
            "computed_at": board.get("computed_at"),
            "as_of": board.get("as_of"),
            "closed": board.get("closed"),
            "settled": ctx["settled"],
            "has_map": "map" in ctx,
        }
        body = render_to_string(f"dashboards/_{template}_body.html", ctx)
        cached = (meta, body)
        if key is not None:
            cache.set(key, cached, PAGE_CACHE_SECONDS)
    meta, body = cached
    return render(
        request,
        f"dashboards/{template}.html",
        {
            "area": area,
            "board": meta,
            "body": body,
            "year": year,
            "years": selectors.dashboard_years(),
            "rank": rank,
            "rank_choices": RANK_CHOICES,
            "can_refresh": selectors.can_manage_dashboards(user=request.user),
            "refreshing": refreshing,
            "crumbs": [(name, area_url(lv, p)) for lv, p, name in area.crumbs],
            "child_base": _child_base(area),
        },
    )


# A body is re-rendered at least this often even if no change announced itself (a process
# whose announcement to an unreachable Redis is still waiting to be replayed).
PAGE_CACHE_SECONDS = 600


@login_required
def city(request):
    return _page(request, "city", None, "dashboard")


@login_required
def county(request, pk: int):
    return _page(request, "county", pk, "dashboard")


@login_required
def township(request, pk: int):
    return _page(request, "township", pk, "dashboard")


@login_required
def village(request, pk: int):
    return _page(request, "village", pk, "village")


@login_required
def export(request, level: str, pk: int = 0):
    if level not in ("city", "county", "township", "village"):
        raise Http404
    area = selectors.area_for_user(user=request.user, level=level, pk=pk or None)
    refresh_if_due()
    year = _year(request)
    board = selectors.dashboard_for(area=area, year=year)
    if board.get("empty"):
        raise Http404
    content = dashboard_workbook(area=area, board=board)
    response = HttpResponse(
        content,
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    filename = f"{year}年{area.name}目标看板.xlsx"
    from urllib.parse import quote

    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(filename)}"
    return response


@login_required
@require_POST
def refresh(request):
    if not selectors.can_manage_dashboards(user=request.user):
        raise PermissionDenied
    raw = request.POST.get("year", "")
    if not (raw.isdigit() and 2000 <= int(raw) <= 2100):
        messages.error(request, "请选择有效的年度。")
        return redirect("dashboards:home")
    year = int(raw)
    if task_send("dashboards.tasks.compute_snapshots", args=(year,)):
        messages.success(
            request, f"已提交 {year} 年度看板数据的重新计算，完成后刷新页面即可看到最新数据。"
        )
    else:
        messages.warning(
            request,
            f"后台服务暂时不可用：{year} 年度的重新计算已记下，服务恢复后自动执行。",
        )
    next_url = request.POST.get("next", "")
    if not next_url.startswith("/dashboards/"):
        next_url = reverse("dashboards:home")
    return redirect(next_url)


@login_required
def refresh_status(request):
    """Polled by a page that says 数据更新中: the same notice while the recomputation
    runs, then a full reload of the page (htmx's HX-Refresh)."""
    if selectors.refresh_running():
        return render(request, "dashboards/_refreshing.html", {"refreshing": True})
    return HttpResponse("", headers={"HX-Refresh": "true"})


def _city_admin_only(request) -> None:
    if not selectors.can_manage_dashboards(user=request.user):
        raise Http404


@login_required
def target_list(request):
    if not selectors.can_see_dashboards(user=request.user):
        raise Http404
    return render(
        request,
        "dashboards/targets.html",
        {
            "targets": selectors.target_list(),
            "can_edit": selectors.can_manage_dashboards(user=request.user),
        },
    )


@login_required
def target_edit(request, pk: int | None = None):
    _city_admin_only(request)
    target = get_object_or_404(Target, pk=pk) if pk else Target()
    form = TargetForm(request.POST or None, instance=target)
    if request.method == "POST" and form.is_valid():
        try:
            target_save(actor=request.user, target=form.instance)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, "年度目标已保存。看板的完成情况按新目标显示。")
            return redirect("dashboards:targets")
    return render(request, "dashboards/target_form.html", {"form": form, "target": target})


@login_required
def target_history(request, pk: int):
    target = selectors.target_get_for_user(user=request.user, target_id=pk)
    return render(
        request,
        "dashboards/target_history.html",
        {
            "target": target,
            "history": selectors.target_history(user=request.user, target=target),
            "can_edit": selectors.can_manage_dashboards(user=request.user),
        },
    )
