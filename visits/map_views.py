"""The officials' visits map (走访地图): where the visits of a day or a month were logged,
flagged ones in red, on the county outlines. Thin: shape in, selectors, template out."""

from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.views import View

from villages.selectors import county_list_for_user, scope_for_user, township_list_for_user
from visits.map_forms import VisitMapFilter, month_range
from visits.models import Visit
from visits.selectors import (
    user_sees_visit_map,
    visit_map_area,
    visit_map_for_user,
    visit_map_latest_day,
)


class VisitMapView(LoginRequiredMixin, View):
    template_name = "visits/visit_map.html"

    def get(self, request):
        if not user_sees_visit_map(user=request.user):
            raise PermissionDenied("只有市级、县级和乡镇(街道)干部可以查看走访地图。")
        form = VisitMapFilter(request.GET)
        form.is_valid()
        if form.area_is_malformed:
            raise Http404("没有这个县(市、区)或乡镇(街道)。")
        area = visit_map_area(
            user=request.user, county_id=form.value("county"), township_id=form.value("township")
        )
        today = timezone.localdate()
        mode = form.value("mode") or VisitMapFilter.Mode.DAY
        if mode == VisitMapFilter.Mode.MONTH:
            month = form.value("month") or today.strftime("%Y-%m")
            start, end = month_range(month)
            day = today if start <= today <= end else start
            label = f"{start.year}年{start.month}月"
        else:
            day = form.value("day") or visit_map_latest_day(
                user=request.user, area=area, today=today
            )
            start = end = day
            month = day.strftime("%Y-%m")
            label = f"{day.year}年{day.month}月{day.day}日"
        result = visit_map_for_user(user=request.user, area=area, start=start, end=end)
        scope = scope_for_user(request.user)
        townships = list(township_list_for_user(user=request.user).order_by("county__code", "code"))
        context = {
            "form": form,
            "mode": mode,
            "day": day,
            "month": month,
            "label": label,
            "area": area,
            "errors": form.period_errors(),
            "result": result,
            "townships": townships if len(townships) > 1 else [],
            "counties": list(county_list_for_user(user=request.user)) if scope.is_city else [],
            "map_data": {
                "points": result["points"],
                "villages": result["villages"],
                "outline": area.outline.name if area.outline else None,
                "zoom": area.township_level,
                "states": dict(Visit.State.choices),
                "detail": reverse("visits:visit_detail", args=[0]),
            },
        }
        return render(request, self.template_name, context)
