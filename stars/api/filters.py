"""Filter sets for the stars API. Branch choices come from the scoping selectors, so an id
outside the user's area is an invalid choice (400), never a hint."""

import django_filters
from django.utils.translation import gettext_lazy as _

from stars.models import StarAward, StarType, WeakBranchCase
from villages.filters import BooleanFilter, IntegerFilter
from villages.models import Branch
from villages.selectors import branch_list_for_user


def _branches(request):
    return branch_list_for_user(user=request.user) if request else Branch.objects.none()


class StarAwardFilter(django_filters.FilterSet):
    year = IntegerFilter(label=_("年度"))
    state = django_filters.ChoiceFilter(choices=StarAward.State.choices, label=_("状态"))
    branch = django_filters.ModelChoiceFilter(queryset=_branches, label=_("党组织"))
    star_type = django_filters.ModelChoiceFilter(queryset=StarType.objects.all(), label=_("星"))

    class Meta:
        model = StarAward
        fields = ["year", "state", "branch", "star_type"]


class WeakCaseFilter(django_filters.FilterSet):
    year = IntegerFilter(label=_("年度"))
    status = django_filters.ChoiceFilter(choices=WeakBranchCase.Status.choices, label=_("状态"))
    open = BooleanFilter(method="filter_open", label=_("未销号"))
    branch = django_filters.ModelChoiceFilter(queryset=_branches, label=_("党组织"))

    class Meta:
        model = WeakBranchCase
        fields = ["year", "status", "open", "branch"]

    def filter_open(self, queryset, name, value):
        if value is None:
            return queryset
        q = queryset.filter(status__in=WeakBranchCase.OPEN)
        return q if value else queryset.exclude(status__in=WeakBranchCase.OPEN)
