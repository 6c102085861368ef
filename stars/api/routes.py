"""Registers this app's API viewsets on the portal router (xuchang_portal/api/urls.py)."""

from stars.api.views import StarAwardViewSet, StarTypeViewSet, WeakCaseViewSet


def register(router) -> None:
    router.register("star-types", StarTypeViewSet, basename="star-type")
    router.register("star-awards", StarAwardViewSet, basename="star-award")
    router.register("weak-cases", WeakCaseViewSet, basename="weak-case")
