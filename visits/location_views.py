"""村庄位置: the villages of an official's area without a coordinate, the coordinate
learned from their visits' GPS fixes, and its confirmation on a map. Thin: selectors in,
services out."""

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.views import View

from villages.geo import wgs84_to_gcj02
from villages.models import LocationProposal
from villages.outlines import county_outline
from villages.selectors import (
    location_can_decide,
    location_list_for_user,
    location_village_get_for_user,
    scope_for_user,
    village_get_for_user,
)
from villages.services import (
    location_min_fixes,
    location_proposal_confirm,
    location_proposal_reject,
)
from visits.selectors import village_fixes_for_user
from visits.services import village_locations_learn_queue

PENDING = LocationProposal.Decision.PENDING


def _messages(exc) -> list[str]:
    return list(getattr(exc, "messages", None) or [str(exc)])


def _officials_only(request, village_id=None) -> None:
    """村庄位置 is the officials' page: a cadre is refused (403) as on the review pages,
    but a village outside the user's area is a 404 for everyone (the selectors)."""
    scope = scope_for_user(request.user)
    if not (scope.is_city or scope.is_official):
        if village_id is not None:
            village_get_for_user(user=request.user, village_id=village_id)
        raise PermissionDenied("只有乡镇、县(市、区)和市里的干部可以查看和确认村庄位置。")


class LocationListView(LoginRequiredMixin, View):
    def get(self, request):
        _officials_only(request)
        rows = location_list_for_user(user=request.user)
        shown = request.GET.get("show", "proposed")
        if shown == "proposed":
            rows = rows.filter(location_proposal__decision=PENDING)
        page = Paginator(rows, 50).get_page(request.GET.get("page"))
        context = {
            "page": page,
            "show": shown,
            "proposed": location_list_for_user(user=request.user)
            .filter(location_proposal__decision=PENDING)
            .count(),
            "min_fixes": location_min_fixes(),
        }
        return render(request, "visits/location_list.html", context)

    def post(self, request):
        _officials_only(request)
        try:
            n = village_locations_learn_queue(actor=request.user)
        except PermissionDenied:
            raise Http404("不存在，或不在您的管辖范围内。") from None
        messages.success(request, f"已开始为 {n} 个尚无坐标的村(社区)推算位置，稍后刷新本页查看。")
        return redirect("locations:location_list")


def _map_data(village, proposal, fixes) -> dict:
    """What the map draws, in GCJ-02 like the AMap outline it is drawn on."""

    def point(lat, lon):
        g_lat, g_lon = wgs84_to_gcj02(float(lat), float(lon))
        return [round(g_lon, 6), round(g_lat, 6)]

    county = village.township.county.name
    return {
        "county": county if county_outline(county) is not None else "",
        "village": point(village.latitude, village.longitude)
        if village.latitude is not None
        else None,
        "proposal": point(proposal.latitude, proposal.longitude) if proposal else None,
        "fixes": [
            {"value": point(v.latitude, v.longitude), "name": f"{v.date:%Y-%m-%d} {v.cadre.name}"}
            for v in fixes
        ],
    }


class LocationDetailView(LoginRequiredMixin, View):
    def get(self, request, pk):
        _officials_only(request, village_id=pk)
        village = location_village_get_for_user(user=request.user, village_id=pk)
        proposal = getattr(village, "location_proposal", None)
        fixes = village_fixes_for_user(user=request.user, village=village)
        context = {
            "village": village,
            "proposal": proposal,
            "pending": proposal is not None
            and proposal.decision == PENDING
            and village.latitude is None,
            "fixes": fixes,
            "can_decide": location_can_decide(request.user, village),
            "map_data": _map_data(village, proposal, fixes),
            "min_fixes": location_min_fixes(),
        }
        return render(request, "visits/location_detail.html", context)

    def post(self, request, pk):
        _officials_only(request, village_id=pk)
        village = location_village_get_for_user(user=request.user, village_id=pk)
        action = request.POST.get("action", "")
        try:
            if action == "confirm":
                location_proposal_confirm(actor=request.user, village=village)
                messages.success(request, f"已确认{village.name}的位置。")
            elif action == "reject":
                location_proposal_reject(actor=request.user, village=village)
                messages.success(request, f"已驳回{village.name}的推算位置。")
            else:
                messages.error(request, "未知的操作。")
        except (ValidationError, PermissionDenied) as exc:
            for line in _messages(exc):
                messages.error(request, line)
        return redirect("locations:location_detail", pk=village.pk)
