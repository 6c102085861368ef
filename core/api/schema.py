"""drf-spectacular's AutoSchema, made to tell the whole truth about every operation:

- the error answers an operation can give are documented with their bodies: 403 (not
  signed in, CSRF check failed, or not allowed) everywhere but the open safe operations,
  401 as well where the first authentication class names a scheme (a token first),
  404 (missing or outside the user's area; a page past the end) on operations with a path
  id or a page number, 400 (bad fields, filters or page size) on operations that take a
  body or a query parameter, 415 (no or an unknown Content-Type) on those that take a body,
  and 429 (too many requests) on the writes of a throttled view; an operation's own annotations
  may name more of these codes (the token endpoint's 429 for a locked account);
- a read-only choice field whose model field may be blank is documented with "" among
  its values, because that is what an unset one answers;
- a list that may not be empty says minItems 1, and a decimal's pattern needs a digit;
- a query parameter sent empty means "not given" (allowEmptyValue), as the pages' filter
  forms send them (an empty page number is the first page).
"""

import copy

from django.core.exceptions import FieldDoesNotExist
from drf_spectacular.extensions import OpenApiViewExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.authtoken.serializers import AuthTokenSerializer
from rest_framework.permissions import SAFE_METHODS, AllowAny

# Query parameters that never answer 400: DRF ignores an unknown ordering, and a bad page
# number is a 404 (a bad page size is a 400: core.api.pagination).
LENIENT_QUERY = {"ordering", "page"}


class ErrorDetailSerializer(serializers.Serializer):
    detail = serializers.CharField(help_text="中文说明")


ERRORS = {
    "400": (
        {
            "type": "object",
            "additionalProperties": {},
            "description": "{字段: [中文说明]}；与单个字段无关的错误在 detail 或 non_field_errors 中",
        },
        "字段或筛选条件有误",
    ),
    "401": (ErrorDetailSerializer, "未提供身份凭证，或令牌无效、已过期"),
    "403": (ErrorDetailSerializer, "未登录、CSRF 校验未通过，或无权进行此操作"),
    "404": (ErrorDetailSerializer, "不存在，或不在您的管辖范围内（列表：页码超出范围）"),
    "415": (ErrorDetailSerializer, "请求体的媒体类型（Content-Type）缺失或不受支持"),
    "429": (ErrorDetailSerializer, "请求过于频繁，请稍后再试"),
}


class PortalAutoSchema(AutoSchema):
    def get_operation(self, *args, **kwargs):
        operation = super().get_operation(*args, **kwargs)
        if operation is None:
            return None
        responses = operation["responses"]
        # the codes the operation's own annotations name get their bodies too
        for code in set(self._error_codes(operation)) | (set(responses) & set(ERRORS)):
            body, description = ERRORS[code]
            documented = self._get_response_for_code(body, code)
            documented["description"] = responses.get(code, {}).get("description") or description
            responses[code] = documented
        operation["responses"] = dict(sorted(responses.items()))
        for parameter in operation.get("parameters", []):
            if parameter["in"] == "query":
                parameter["allowEmptyValue"] = True
        return operation

    def _error_codes(self, operation) -> list[str]:
        parameters = operation.get("parameters", [])
        query = {p["name"] for p in parameters if p["in"] == "query"}
        codes = []
        if "requestBody" in operation or query - LENIENT_QUERY:
            codes.append("400")
        open_to_all = all(issubclass(p, AllowAny) for p in self.view.permission_classes)
        if not (open_to_all and self.method in SAFE_METHODS):
            codes.append("403")
        if "page" in query or any(p["in"] == "path" for p in parameters):
            codes.append("404")
        if "requestBody" in operation:
            codes.append("415")
        if "403" in codes and self._names_a_scheme():
            codes.append("401")
        # The portal throttles writes only (core.api.throttling).
        if self.view.throttle_classes and self.method not in SAFE_METHODS:
            codes.append("429")
        return codes

    def _names_a_scheme(self) -> bool:
        """DRF answers 401 instead of 403 to a request that fails authentication when the
        view's first authentication class names a scheme for WWW-Authenticate."""
        authenticators = self.view.get_authenticators()
        return bool(authenticators and authenticators[0].authenticate_header(None))

    def _map_serializer_field(self, field, direction, bypass_extensions=False):
        if (
            isinstance(field, serializers.ChoiceField)
            and field.read_only
            and not field.allow_blank
            and _model_field_may_be_blank(field)
        ):
            field = copy.copy(field)
            field.allow_blank = True
        schema = super()._map_serializer_field(field, direction, bypass_extensions)
        if isinstance(field, serializers.DecimalField) and "pattern" in schema:
            schema["pattern"] = _decimal_pattern(field)
        # DRF refuses an empty list where allow_empty=False; say so
        if (
            isinstance(field, (serializers.ListField, serializers.ListSerializer))
            and not field.allow_empty
            and schema.get("type") == "array"
        ):
            schema.setdefault("minItems", 1)
        return schema


def _decimal_pattern(field) -> str:
    """The decimals DRF reads: drf-spectacular's pattern also admits "-" and "." (every
    digit optional), which DRF refuses. An empty one is null where the field may be."""
    whole, places = field.max_whole_digits, field.decimal_places
    if type(field).validate_precision is not serializers.DecimalField.validate_precision:
        number = r"(?:\d+(?:\.\d*)?|\.\d+)"  # the field checks its digits itself
    elif not whole:
        number = rf"0?\.\d{{1,{places}}}"
    elif places:
        number = rf"(?:\d{{1,{whole}}}(?:\.\d{{0,{places}}})?|\.\d{{1,{places}}})"
    else:
        number = rf"\d{{1,{whole}}}\.?"
    return rf"^(?:-?{number}){'?' if field.allow_null else ''}$"


def _model_field_may_be_blank(field) -> bool:
    model = getattr(getattr(field.parent, "Meta", None), "model", None)
    if model is None or "." in field.source:
        return False
    try:
        model_field = model._meta.get_field(field.source)
    except FieldDoesNotExist:  # a property or an annotation
        return False
    return bool(getattr(model_field, "blank", False) and getattr(model_field, "choices", None))


class PortalObtainAuthTokenView(OpenApiViewExtension):
    """The token login as the schema tells it. drf-spectacular's own extension for DRF's
    ObtainAuthToken would document DRF's view in place of the portal's; this one documents
    the portal's: open to anyone (DRF's empty permission list), answering 400 for wrong
    credentials, 403 for a password to change first (API_TOKEN_REFUSAL) and 429 for a locked account or too many attempts (core.api.auth)."""

    target_class = "core.api.auth.PortalObtainAuthToken"
    priority = 1

    def view_replacement(self):
        @extend_schema(
            responses={
                200: AuthTokenSerializer,
                400: OpenApiResponse(description="用户名或密码错误，或字段缺失"),
                403: OpenApiResponse(description="须先登录网页修改首次、被重置或已过期的密码"),
                429: OpenApiResponse(
                    description="登录失败次数过多，账号已被临时锁定；或请求过于频繁"
                ),
            }
        )
        class Documented(self.target):
            permission_classes = [AllowAny]

        return Documented
