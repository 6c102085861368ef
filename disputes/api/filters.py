"""Filter set of the yearly 三零 statuses. Village and unit choices come from the scoping
selectors, so an id outside the user's area is an invalid choice (400), never a hint."""

import django_filters
from django.utils.translation import gettext_lazy as _

from disputes.models import SanlingStatus, ThreeZeroUnit
from disputes.selectors import unit_list_for_user
from villages.filters import BooleanFilter, IntegerFilter
from villages.models import Village
from villages.selectors import village_list_for_user


def _villages(request):
    return village_list_for_user(user=request.user) if request else Village.objects.none()


def _units(request):
    return unit_list_for_user(user=request.user) if request else ThreeZeroUnit.objects.none()


class StatusFilter(django_filters.FilterSet):
    year = IntegerFilter(label=_("年度"))
    village = django_filters.ModelChoiceFilter(queryset=_villages, label=_("村(社区)"))
    unit = django_filters.ModelChoiceFilter(queryset=_units, label=_("单位"))
    derived_met = BooleanFilter(label=_("按记录认定达标"))
    override = django_filters.ChoiceFilter(
        choices=SanlingStatus.Override.choices, label=_("人工认定")
    )

    class Meta:
        model = SanlingStatus
        fields = ["year", "village", "unit", "derived_met", "override"]
