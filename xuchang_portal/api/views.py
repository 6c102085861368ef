"""The API's answer for a URL under /api/ that names no endpoint (an unknown path, or an id
that is not a number): the same JSON 404 as any other missing object, not the HTML page."""

from django.http import JsonResponse

from xuchang_portal.api.exceptions import NOT_FOUND


def not_found(request, *args, **kwargs):
    return JsonResponse(
        {"detail": NOT_FOUND}, status=404, json_dumps_params={"ensure_ascii": False}
    )
