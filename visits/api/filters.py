"""Filter sets for the visits API. Village and cadre choices come from the scoping
selectors, so an id outside the user's area is an invalid choice (400), never a hint."""

import django_filters
from django.utils.translation import gettext_lazy as _

from villages.filters import BooleanFilter
from villages.models import Cadre, Village
from villages.selectors import cadre_list_for_user, village_list_for_user
from visits.models import Problem, Visit
from visits.selectors import problems_overdue_q


def _villages(request):
    return village_list_for_user(user=request.user) if request else Village.objects.none()


def _cadres(request):
    return cadre_list_for_user(user=request.user) if request else Cadre.objects.none()


class VisitFilter(django_filters.FilterSet):
    state = django_filters.ChoiceFilter(choices=Visit.State.choices, label=_("审核状态"))
    date_from = django_filters.DateFilter(field_name="date", lookup_expr="gte", label=_("起始日期"))
    date_to = django_filters.DateFilter(field_name="date", lookup_expr="lte", label=_("截止日期"))
    village = django_filters.ModelChoiceFilter(queryset=_villages, label=_("村(社区)"))
    cadre = django_filters.ModelChoiceFilter(queryset=_cadres, label=_("干部"))

    class Meta:
        model = Visit
        fields = ["state", "date_from", "date_to", "village", "cadre"]


class ProblemFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=Problem.Status.choices, label=_("状态"))
    category = django_filters.ChoiceFilter(choices=Problem.Category.choices, label=_("类别"))
    village = django_filters.ModelChoiceFilter(queryset=_villages, label=_("村(社区)"))
    overdue = BooleanFilter(method="filter_overdue", label=_("是否逾期"))

    class Meta:
        model = Problem
        fields = ["status", "category", "village", "overdue"]

    def filter_overdue(self, queryset, name, value):
        if value is None:
            return queryset
        overdue = problems_overdue_q()
        return queryset.filter(overdue) if value else queryset.exclude(overdue)
