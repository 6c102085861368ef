"""Shapes for the officials' review and compliance pages: the review-list filters and the
workday-rule form. No saves; choices come from the scoping selectors."""

import django_filters
from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from visits.models import Visit, WorkdayRule
from visits.problem_forms import MONTH_VALIDATOR, month_bounds, user_townships


class VisitReviewFilter(django_filters.FilterSet):
    state = django_filters.ChoiceFilter(
        choices=Visit.State.choices, label=_("审核状态"), empty_label=_("全部状态")
    )
    township = django_filters.ModelChoiceFilter(
        field_name="village__township", queryset=user_townships, label=_("乡镇(街道)")
    )
    month = django_filters.CharFilter(
        method="in_month", label=_("月份"), validators=[MONTH_VALIDATOR]
    )
    flagged = django_filters.BooleanFilter(field_name="location_flag", label=_("位置存疑"))

    class Meta:
        model = Visit
        fields = ["state", "township", "month", "flagged"]

    def in_month(self, queryset, name, value):
        start, following = month_bounds(value)
        return queryset.filter(date__gte=start, date__lt=following)


class WorkdayRuleForm(forms.Form):
    required_days = forms.IntegerField(label=_("要求天数"), min_value=1, max_value=92)
    period = forms.ChoiceField(label=_("考核周期"), choices=WorkdayRule.Period.choices)
    effective_from = forms.DateField(
        label=_("生效日期"),
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("已经开始的考核周期仍按原规则考核。"),
    )
    note = forms.CharField(label=_("说明"), max_length=200, required=False)

    def clean_effective_from(self):
        value = self.cleaned_data["effective_from"]
        # Not today either: today's period has already begun under the old rule.
        if value <= timezone.localdate():
            raise forms.ValidationError(_("生效日期须晚于今天：已开始的周期保持原来的规则。"))
        return value
