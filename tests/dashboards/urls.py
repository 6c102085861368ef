"""The site's URLs plus the dashboards app's pages and API (the project URL conf does not
include them yet; see the dashboards README section)."""

from django.urls import include, path
from rest_framework.routers import SimpleRouter

from dashboards.api.routes import register
from xuchang_portal.urls import urlpatterns as site

router = SimpleRouter()
register(router)

urlpatterns = [
    path("", include("dashboards.urls")),
    path("api/", include(router.urls)),
    *site,
]
