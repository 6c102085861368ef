"""DRF exception handler: Django's ValidationError from a service becomes a 400, a
database constraint no service foresaw a 409, both with a Chinese message."""

import logging

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.views import exception_handler

from villages.services import CONFLICT
from xuchang_portal.api.throttling import ChineseThrottled

logger = logging.getLogger(__name__)

# One Chinese answer for "missing" and "outside your area" (never the model name).
NOT_FOUND = "不存在，或不在您的管辖范围内。"


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = CONFLICT
    default_code = "conflict"


def api_exception_handler(exc, context):
    if isinstance(exc, Http404):
        exc = exceptions.NotFound(NOT_FOUND)
    if isinstance(exc, exceptions.Throttled) and not isinstance(exc, ChineseThrottled):
        exc = ChineseThrottled(exc.wait)
    if isinstance(exc, IntegrityError):
        logger.warning("constraint refused an API write: %s", exc)
        exc = Conflict()
    if isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages}
        exc = exceptions.ValidationError(detail=detail)
    return exception_handler(exc, context)
