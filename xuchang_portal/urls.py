from csp.constants import UNSAFE_INLINE as CSP_UNSAFE_INLINE
from csp.decorators import csp_update
from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from core import views
from core.api.auth import PortalObtainAuthToken
from core.api.views import not_found as api_not_found

admin.site.site_header = "许昌市“联乡帮村”工作平台 · 管理后台"
admin.site.site_title = "联乡帮村管理后台"
admin.site.index_title = "数据管理"

# Each answers JSON in Chinese under /api/ and a Chinese page elsewhere.
handler400 = "core.views.bad_request"
handler403 = "core.views.permission_denied"
handler404 = "core.views.page_not_found"
handler500 = "core.views.server_error"

urlpatterns = [
    path("", views.HomeView.as_view(), name="home"),
    path("healthz/", views.healthz, name="healthz"),
    path("accounts/login/", views.PortalLoginView.as_view(), name="login"),
    path("accounts/logout/", views.PortalLogoutView.as_view(), name="logout"),
    # single sign-on through an OpenID Connect provider: 404 unless OIDC_ENABLED
    path("oidc/", include("accounts.oidc_urls")),
    path("", include("villages.urls")),
    path("", include("accounts.urls")),
    path("", include("visits.urls")),
    path("", include("visits.review_urls")),
    path("", include("visits.problem_urls")),
    path("", include("visits.location_urls")),
    path("", include("stars.urls")),
    path("", include("disputes.urls")),
    path("", include("dashboards.urls")),
    path("admin/", admin.site.urls),
    path("api/", include("xuchang_portal.api.urls")),
    path("api/auth/token/", PortalObtainAuthToken.as_view(), name="api_token"),
    path("api/schema/", SpectacularAPIView.as_view(), name="api_schema"),
    # Swagger UI's page carries one inline <style> block; allow inline styles there only.
    path(
        "api/docs/",
        csp_update({"style-src": [CSP_UNSAFE_INLINE]})(
            SpectacularSwaggerSplitView.as_view(url_name="api_schema")
        ),
        name="api_docs",
    ),
    # Last of the API: any other URL under /api/ answers the API's JSON 404 (ending in a
    # slash, so that APPEND_SLASH still redirects /api/villages to /api/villages/).
    re_path(r"^api/.*/$", api_not_found),
]

# Media files (uploads, exports, photos) are never served as-is, not even in DEBUG: each is
# reached through a view that checks the user's scope.
