"""Filter sets shared by the village pages and the API. Choices come from the scoping
selectors, so a county or township outside the user's area is an invalid choice."""

import django_filters
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from villages.models import Assignment, Cadre, County, Township, Village, WorkUnit
from villages.selectors import (
    cadre_list_for_user,
    county_list_for_user,
    township_list_for_user,
    work_unit_list_for_user,
)


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
    year = django_filters.NumberFilter(label=_("年度"))
    township = django_filters.ModelChoiceFilter(
        method="in_township", queryset=_townships, label=_("乡镇(街道)")
    )
    village = django_filters.NumberFilter(field_name="village_id", label=_("村(社区) ID"))
    cadre = django_filters.ModelChoiceFilter(queryset=_cadres, label=_("干部"))

    class Meta:
        model = Assignment
        fields = ["kind", "year", "township", "village", "cadre"]

    def in_township(self, queryset, name, value):
        return queryset.filter(Q(township=value) | Q(village__township=value))
