"""drf-spectacular's AutoSchema, made to tell the whole truth about every operation:

- the error answers an operation can give are documented with their bodies: 403 (not
  signed in, CSRF check failed, or not allowed) everywhere but the open safe operations,
  404 (missing or outside the user's area; a page past the end) on operations with a path
  id or a page number, 400 (bad fields or filters) on operations that take a body or a
  filter, and 415 (no or an unknown Content-Type) on those that take a body;
- a read-only choice field whose model field may be blank is documented with "" among
  its values, because that is what an unset one answers.
"""

import copy

from django.core.exceptions import FieldDoesNotExist
from drf_spectacular.openapi import AutoSchema
from rest_framework import serializers
from rest_framework.permissions import SAFE_METHODS, AllowAny

# Query parameters that never answer 400: DRF ignores a bad ordering or page size, and a
# bad page number is a 404.
LENIENT_QUERY = {"ordering", "page", "page_size"}


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
    "403": (ErrorDetailSerializer, "未登录、CSRF 校验未通过，或无权进行此操作"),
    "404": (ErrorDetailSerializer, "不存在，或不在您的管辖范围内（列表：页码超出范围）"),
    "415": (ErrorDetailSerializer, "请求体的媒体类型（Content-Type）缺失或不受支持"),
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
        return codes

    def _map_serializer_field(self, field, direction, bypass_extensions=False):
        if (
            isinstance(field, serializers.ChoiceField)
            and field.read_only
            and not field.allow_blank
            and _model_field_may_be_blank(field)
        ):
            field = copy.copy(field)
            field.allow_blank = True
        return super()._map_serializer_field(field, direction, bypass_extensions)


def _model_field_may_be_blank(field) -> bool:
    model = getattr(getattr(field.parent, "Meta", None), "model", None)
    if model is None or "." in field.source:
        return False
    try:
        model_field = model._meta.get_field(field.source)
    except FieldDoesNotExist:  # a property or an annotation
        return False
    return bool(getattr(model_field, "blank", False) and getattr(model_field, "choices", None))
