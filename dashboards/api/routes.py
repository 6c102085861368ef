"""Registers this app's API viewsets on the portal router (xuchang_portal/api/urls.py)."""

from dashboards.api.views import IndicatorViewSet


def register(router) -> None:
    router.register("indicators", IndicatorViewSet, basename="indicator")
