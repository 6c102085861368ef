"""Portal-wide middleware: request-body limits, and the last line behind the services for
database constraints."""

import logging

from django.conf import settings
from django.db import IntegrityError
from django.shortcuts import render

from core.messages import CONFLICT
from core.views import request_too_large

logger = logging.getLogger(__name__)


class RequestBodyLimitMiddleware:
    """Request-body limits, enforced before Django or DRF reads the body.

    Django checks DATA_UPLOAD_MAX_MEMORY_SIZE only when it reads a form body itself, never
    for the files of a multipart request, and DRF's JSON parser reads the stream past it. So
    a declared body larger than the portal ever needs is answered here with 413 and a Chinese
    page (JSON under /api/). The reverse proxy caps the body at the same size (README,
    "Upload limits"); this is the same rule for a portal reached without it."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        content_type = request.META.get("CONTENT_TYPE", "")
        if content_type.startswith("multipart/form-data"):
            limit = settings.UPLOAD_MAX_REQUEST_SIZE
        else:
            limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if length > limit:
            return request_too_large(request, size=length, limit=limit)
        return self.get_response(request)


class PortalUserHeaderMiddleware:
    """Marks a page rendered for a signed-in user with that user (X-Portal-User), so the
    service worker keeps a page offline only for the user it was made for, and empties its
    page cache when another user's page arrives (visits/pwa.py)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if not response.get("Content-Type", "").startswith("text/html"):
            return response  # no page: the lazy user is not even loaded
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            response["X-Portal-User"] = str(user.pk)
        return response


class IntegrityErrorMiddleware:
    """The last line behind the services: a database constraint that refuses a write no
    service foresaw answers 409 with a Chinese page, not a 500. (The services turn the
    races they know of into form errors; the API's exception handler answers 409.)"""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_exception(self, request, exception):
        if not isinstance(exception, IntegrityError):
            return None
        logger.warning("constraint refused %s %s: %s", request.method, request.path, exception)
        back = request.path if request.method == "POST" else "/"
        return render(request, "409.html", {"message": CONFLICT, "back": back}, status=409)
