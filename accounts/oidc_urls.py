"""Single sign-on (accounts.oidc), under /oidc/: always routed, answering 404 while
OIDC_ENABLED is off. The names are mozilla-django-oidc's, which its views reverse."""

from django.urls import path

from accounts.oidc import PortalOIDCAuthenticateView, PortalOIDCCallbackView

urlpatterns = [
    path("authenticate/", PortalOIDCAuthenticateView.as_view(), name="oidc_authentication_init"),
    path("callback/", PortalOIDCCallbackView.as_view(), name="oidc_authentication_callback"),
]
