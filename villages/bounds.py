"""Sane ranges for the numbers people type in or import: 座谈会 per visit, people involved
in a dispute, a village's households, years, targets. SQLite stores any integer and the
database types allow two billion, so the ranges are the domain's own.

A range is declared once, on the model field (`Range.validators()`): the services'
full_clean, ModelForms and ModelSerializers refuse what is outside it with a Chinese
message naming the field. The hand-written form and API fields (`form_field`,
`api_field`), the forms built with fields_for_model (`bounded_formfield`), the
ModelSerializers (`RangeMessages`) and the import sheets (`refusal`) read the same range.
The tables written in bulk also carry it as a CHECK constraint (`Range.q`)."""

from __future__ import annotations

from typing import NamedTuple

from django import forms
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db.models import Q

YEAR_MIN, YEAR_MAX = 2000, 2100


class Range(NamedTuple):
    label: str
    minimum: int
    maximum: int

    @property
    def min_message(self) -> str:
        if self.minimum == 0:
            return f"{self.label}不能为负数。"
        return f"{self.label}不能小于 {self.minimum}。"

    @property
    def max_message(self) -> str:
        return f"{self.label}不能超过 {self.maximum}。"

    def validators(self) -> list:
        return [
            MinValueValidator(self.minimum, message=self.min_message),
            MaxValueValidator(self.maximum, message=self.max_message),
        ]

    def q(self, field: str, *, null: bool = False) -> Q:
        """The range as a condition on `field`, for a CheckConstraint."""
        inside = Q(**{f"{field}__gte": self.minimum, f"{field}__lte": self.maximum})
        return Q(**{f"{field}__isnull": True}) | inside if null else inside

    def refusal(self, value) -> str | None:
        """An import sheet's cell error for `value`, None when it is in range."""
        if value is None or self.minimum <= value <= self.maximum:
            return None
        return f"{self.label}“{value}”不在 {self.minimum}–{self.maximum} 之间"

    def limits(self) -> dict:
        messages = {"min_value": self.min_message, "max_value": self.max_message}
        return {"min_value": self.minimum, "max_value": self.maximum, "error_messages": messages}

    def form_field(self, **kwargs) -> forms.IntegerField:
        limits = self.limits()
        limits["error_messages"] |= kwargs.pop("error_messages", {})
        return forms.IntegerField(**{"label": self.label, **limits, **kwargs})

    def api_field(self, **kwargs):
        from rest_framework import serializers

        limits = self.limits()
        limits["error_messages"] |= kwargs.pop("error_messages", {})
        return serializers.IntegerField(**{"label": self.label, **limits, **kwargs})


def year_range(label: str = "年度") -> Range:
    return Range(label, YEAR_MIN, YEAR_MAX)


def range_of(model_field) -> Range | None:
    """The range declared on a model field with `Range.validators()`, if any."""
    low = next((v for v in model_field._validators if isinstance(v, MinValueValidator)), None)
    high = next((v for v in model_field._validators if isinstance(v, MaxValueValidator)), None)
    if low is None or high is None:
        return None
    return Range(str(model_field.verbose_name), low.limit_value, high.limit_value)


def bounded_formfield(model_field, form_field):
    """A form field made by fields_for_model, given its model field's range: min and max
    (also as the input's min/max attributes) and the message naming the field."""
    bounds = range_of(model_field)
    if bounds is None or not isinstance(form_field, forms.IntegerField):
        return form_field
    return bounds.form_field(
        label=form_field.label,
        required=form_field.required,
        initial=form_field.initial,
        help_text=form_field.help_text,
    )


class RangeMessages:
    """Mixin for a ModelSerializer: a number out of its model field's range is refused
    with the message naming the field (DRF's own names only the limit)."""

    def build_standard_field(self, field_name, model_field):
        field_class, kwargs = super().build_standard_field(field_name, model_field)
        bounds = range_of(model_field)
        if bounds is not None:
            kwargs["error_messages"] = {
                **kwargs.get("error_messages", {}),
                "min_value": bounds.min_message,
                "max_value": bounds.max_message,
            }
        return field_class, kwargs
