"""The API's answer for a URL under /api/ that names no endpoint (an unknown path, or an id
that is not a number): the same JSON 404 as any other missing object, not the HTML page.

It is exempt from the CSRF check: it changes nothing, and a DELETE of a malformed address
answers 404 whatever its token (not the CSRF failure page)."""

from django.views.decorators.csrf import csrf_exempt

from core.api.exceptions import NOT_FOUND
from core.views import api_error


@csrf_exempt
def not_found(request, *args, **kwargs):
    return api_error(NOT_FOUND, 404)
