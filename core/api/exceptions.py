"""DRF exception handler: Django's ValidationError from a service becomes a 400, a
database constraint no service foresaw a 409, both with a Chinese message. The answers DRF
writes in English whatever the language (a body its parsers cannot read, an empty body,
its own CSRF check) are given in Chinese too."""

import logging

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.views import exception_handler

from core.api.throttling import ChineseThrottled
from core.csrf import API_CSRF_FAILED
from core.messages import CONFLICT

logger = logging.getLogger(__name__)

# One Chinese answer for "missing" and "outside your area" (never the model name).
NOT_FOUND = "不存在，或不在您的管辖范围内。"
PARSE_ERROR = "请求体无法解析：内容不是有效的 JSON 或表单数据，未保存任何内容。"
NO_DATA = "请求体为空：请提交 JSON 对象或表单数据。"
# DRF's literals that no translation covers, and their Chinese.
UNTRANSLATED = {"No data provided": NO_DATA}


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
    if isinstance(exc, exceptions.ParseError):
        exc = exceptions.ParseError(PARSE_ERROR)
    # SessionAuthentication's own CSRF check ("CSRF Failed: <Django's reason>")
    if isinstance(exc, exceptions.PermissionDenied) and str(exc.detail).startswith("CSRF Failed"):
        exc = exceptions.PermissionDenied(API_CSRF_FAILED)
    if isinstance(exc, exceptions.ValidationError):
        exc.detail = _translated(exc.detail)
    if isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages}
        exc = exceptions.ValidationError(detail=detail)
    return exception_handler(exc, context)


def _translated(detail):
    if isinstance(detail, dict):
        return {key: _translated(value) for key, value in detail.items()}
    if isinstance(detail, list):
        return [_translated(value) for value in detail]
    if isinstance(detail, str) and detail in UNTRANSLATED:
        return exceptions.ErrorDetail(UNTRANSLATED[detail], code=getattr(detail, "code", None))
    return detail
