"""Filter sets shared by the village pages and the API. Choices come from the scoping
selectors, so a county or township outside the user's area is an invalid choice.

Every filter checks its value: a year of 0.5 or an "overdue" of "maybe" is an error naming
the parameter (400 in the API; the pages ignore a filter they cannot read), never a filter
silently left out or an empty page."""

import django_filters
from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field

from villages.models import Assignment, Cadre, County, Township, Village, WorkUnit
from villages.selectors import (
    cadre_list_for_user,
    county_list_for_user,
    township_list_for_user,
    work_unit_list_for_user,
)

INTEGER_INVALID = _("请输入整数。")
BOOLEAN_INVALID = _("请输入 true 或 false。")


class IntegerFilter(django_filters.NumberFilter):
    """A whole number (django-filter's NumberFilter takes any decimal: year=0.5). The API
    schema says "integer", with the bounds of its Min/MaxValueValidators."""

    field_class = forms.IntegerField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("error_messages", {"invalid": INTEGER_INVALID})
        super().__init__(*args, **kwargs)
        schema = {"type": "integer"}
        for validator in kwargs.get("validators", ()):
            if isinstance(validator, MinValueValidator):
                schema["minimum"] = validator.limit_value
            if isinstance(validator, MaxValueValidator):
                schema["maximum"] = validator.limit_value
        extend_schema_field(schema)(self)


class StrictBooleanField(forms.NullBooleanField):
    """true or false (also 1 or 0; "unknown", the select's empty choice, is no filter).
    Anything else is an error, where Django's NullBooleanField reads it as no filter."""

    TRUE = frozenset({"true", "1"})
    FALSE = frozenset({"false", "0"})
    EMPTY = frozenset({"", "unknown"})

    def to_python(self, value):
        if value is None or isinstance(value, bool):
            return value
        text = str(value).lower()
        if text in self.EMPTY:
            return None
        if text in self.TRUE:
            return True
        if text in self.FALSE:
            return False
        raise ValidationError(BOOLEAN_INVALID, code="invalid")

    def validate(self, value):
        pass


class StrictBooleanWidget(forms.NullBooleanSelect):
    def value_from_datadict(self, data, files, name):
        return data.get(name)


class BooleanFilter(django_filters.BooleanFilter):
    field_class = StrictBooleanField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", StrictBooleanWidget)
        super().__init__(*args, **kwargs)


def _counties(request):
    return county_list_for_user(user=request.user) if request else County.objects.none()


def _townships(request):
    return township_list_for_user(user=request.user) if request else Township.objects.none()


def _work_units(request):
    return work_unit_list_for_user(user=request.user) if request else WorkUnit.objects.none()


def _cadres(request):
    return cadre_list_for_user(user=request.user) if request else Cadre.objects.none()


class VillageFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label=_("名称或代码"))
    county = django_filters.ModelChoiceFilter(
        field_name="township__county", queryset=_counties, label=_("县(市、区)")
    )
    township = django_filters.ModelChoiceFilter(queryset=_townships, label=_("乡镇(街道)"))
    kind = django_filters.ChoiceFilter(choices=Village.Kind.choices, label=_("类型"))

    class Meta:
        model = Village
        fields = ["q", "county", "township", "kind"]

    def search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(Q(name__contains=value) | Q(code__startswith=value))


class TownshipFilter(django_filters.FilterSet):
    county = django_filters.ModelChoiceFilter(queryset=_counties, label=_("县(市、区)"))
    kind = django_filters.ChoiceFilter(choices=Township.Kind.choices, label=_("类型"))

    class Meta:
        model = Township
        fields = ["county", "kind"]


class CadreFilter(django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label=_("姓名或手机号"))
    level = django_filters.ChoiceFilter(choices=Cadre.Level.choices, label=_("干部层级"))
    work_unit = django_filters.ModelChoiceFilter(queryset=_work_units, label=_("派出单位"))

    class Meta:
        model = Cadre
        fields = ["q", "level", "work_unit"]

    def search(self, queryset, name, value):
        value = value.strip()
        return queryset.filter(Q(name__contains=value) | Q(phone__startswith=value))


class AssignmentFilter(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(choices=Assignment.Kind.choices, label=_("联系类型"))
    year = IntegerFilter(label=_("年度"))
    township = django_filters.ModelChoiceFilter(
        method="in_township", queryset=_townships, label=_("乡镇(街道)")
    )
    village = IntegerFilter(field_name="village_id", label=_("村(社区) ID"))
    cadre = django_filters.ModelChoiceFilter(queryset=_cadres, label=_("干部"))

    class Meta:
        model = Assignment
        fields = ["kind", "year", "township", "village", "cadre"]

    def in_township(self, queryset, name, value):
        return queryset.filter(Q(township=value) | Q(village__township=value))
