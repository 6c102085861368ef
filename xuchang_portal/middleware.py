"""Project-wide middleware."""

import logging

from django.db import IntegrityError
from django.shortcuts import render

from villages.services import CONFLICT

logger = logging.getLogger(__name__)


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
