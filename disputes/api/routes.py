"""Registers this app's API viewsets on the portal router (xuchang_portal/api/urls.py)."""

from disputes.api.views import (
    DisputeViewSet,
    HazardViewSet,
    IncidentViewSet,
    PetitionViewSet,
    StatusViewSet,
    UnitViewSet,
    ZeroReportViewSet,
)


def register(router) -> None:
    router.register("disputes", DisputeViewSet, basename="dispute")
    router.register("petitions", PetitionViewSet, basename="petition")
    router.register("incidents", IncidentViewSet, basename="incident")
    router.register("hazards", HazardViewSet, basename="hazard")
    router.register("three-zero-units", UnitViewSet, basename="three-zero-unit")
    router.register("zero-reports", ZeroReportViewSet, basename="zero-report")
    router.register("sanling-statuses", StatusViewSet, basename="sanling-status")
