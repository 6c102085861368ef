"""Registers this app's API viewsets on the portal router (xuchang_portal/api/urls.py)."""

from disputes.api.views import (
    LEDGER_VIEWSETS,
    StatusViewSet,
    UnitViewSet,
    ZeroReportViewSet,
)
from disputes.ledgers import LEDGERS


def register(router) -> None:
    for key, ledger in LEDGERS.items():
        router.register(key, LEDGER_VIEWSETS[key], basename=ledger.basename)
    router.register("three-zero-units", UnitViewSet, basename="three-zero-unit")
    router.register("zero-reports", ZeroReportViewSet, basename="zero-report")
    router.register("sanling-statuses", StatusViewSet, basename="sanling-status")
