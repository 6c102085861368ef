"""The account log's filters, shared by its page and its Excel export. The counties offered
come from the scoping selector; a value the reader may not choose is an error, never a
filter silently left out."""

import django_filters
from django.db.models import Q

from accounts.models import AccountEvent
from villages.models import County
from villages.selectors import county_list_for_user


def _counties(request):
    return county_list_for_user(user=request.user) if request else County.objects.none()


class EventFilter(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(choices=AccountEvent.Kind.choices, label="事件")
    date_from = django_filters.DateFilter(
        field_name="at", lookup_expr="date__gte", label="起始日期"
    )
    date_to = django_filters.DateFilter(field_name="at", lookup_expr="date__lte", label="截止日期")
    q = django_filters.CharFilter(method="search", label="登录名或姓名")
    county = django_filters.ModelChoiceFilter(
        queryset=_counties, method="in_county", label="县(市、区)"
    )

    class Meta:
        model = AccountEvent
        fields = ["kind", "date_from", "date_to", "q", "county"]

    def search(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(username__icontains=value)
            | Q(user__first_name__icontains=value)
            | Q(user__cadre__name__icontains=value)
        )

    def in_county(self, queryset, name, value):
        return queryset.filter(county_id_at=value.pk)
