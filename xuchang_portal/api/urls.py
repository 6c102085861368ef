from rest_framework.routers import DefaultRouter

from dashboards.api.routes import register as register_dashboards
from disputes.api.routes import register as register_disputes
from stars.api.routes import register as register_stars
from villages.api.views import (
    AssignmentViewSet,
    BranchViewSet,
    CadreViewSet,
    CountyViewSet,
    ExportJobViewSet,
    TownshipViewSet,
    VillageViewSet,
)
from visits.api.views import ProblemViewSet, VisitViewSet


class PortalRouter(DefaultRouter):
    # No `.json`-style format suffixes: the API speaks JSON (the OpenAPI document lists
    # no suffixed address), and the viewsets' extra actions take no `format` argument.
    include_format_suffixes = False


router = PortalRouter()
router.register("counties", CountyViewSet, basename="county")
router.register("townships", TownshipViewSet, basename="township")
router.register("villages", VillageViewSet, basename="village")
router.register("branches", BranchViewSet, basename="branch")
router.register("cadres", CadreViewSet, basename="cadre")
router.register("assignments", AssignmentViewSet, basename="assignment")
router.register("exports", ExportJobViewSet, basename="export")
router.register("visits", VisitViewSet, basename="visit")
router.register("problems", ProblemViewSet, basename="problem")
# Each later app registers its own viewsets.
register_stars(router)
register_disputes(router)
register_dashboards(router)

urlpatterns = router.urls
