"""Shapes for the problem ledger pages and its export: filters and forms, no saves.
Choices come from the scoping selectors, so a village or township outside the user's
area is an invalid choice, never a wider result."""

import datetime

import django_filters
from django import forms
from django.core.validators import RegexValidator
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from villages.models import Township, Village
from villages.selectors import township_list_for_user, village_list_for_user
from visits.models import Problem
from visits.selectors import problems_overdue_q
from visits.services import PROBLEM_TRANSITIONS

MONTH_VALIDATOR = RegexValidator(
    r"^\d{4}-(0[1-9]|1[0-2])$", _("月份格式应为“年-月”，例如 2024-05。")
)


def month_bounds(value: str) -> tuple[datetime.date, datetime.date]:
    """First day of the month "YYYY-MM" and first day of the next month."""
    year, month = (int(part) for part in value.split("-"))
    start = datetime.date(year, month, 1)
    following = datetime.date(year + month // 12, month % 12 + 1, 1)
    return start, following


def user_townships(request):
    return township_list_for_user(user=request.user) if request else Township.objects.none()


def user_villages(request):
    return village_list_for_user(user=request.user) if request else Village.objects.none()


class ProblemFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(
        choices=Problem.Status.choices, label=_("状态"), empty_label=_("全部状态")
    )
    category = django_filters.ChoiceFilter(
        choices=Problem.Category.choices, label=_("类别"), empty_label=_("全部类别")
    )
    month = django_filters.CharFilter(
        method="created_in_month", label=_("登记月份"), validators=[MONTH_VALIDATOR]
    )
    township = django_filters.ModelChoiceFilter(
        field_name="village__township", queryset=user_townships, label=_("乡镇(街道)")
    )
    village = django_filters.ModelChoiceFilter(queryset=user_villages, label=_("村(社区)"))
    overdue = django_filters.BooleanFilter(method="only_overdue", label=_("仅看逾期"))

    class Meta:
        model = Problem
        fields = ["status", "category", "month", "township", "village", "overdue"]

    def created_in_month(self, queryset, name, value):
        start, following = month_bounds(value)
        tz = timezone.get_current_timezone()
        return queryset.filter(
            created_at__gte=datetime.datetime.combine(start, datetime.time.min, tzinfo=tz),
            created_at__lt=datetime.datetime.combine(following, datetime.time.min, tzinfo=tz),
        )

    def only_overdue(self, queryset, name, value):
        return queryset.filter(problems_overdue_q()) if value else queryset


class ProblemCreateForm(forms.Form):
    village = forms.ModelChoiceField(
        queryset=Village.objects.none(), label=_("村(社区)"), empty_label=_("请选择")
    )
    category = forms.ChoiceField(
        choices=[("", _("请选择")), *Problem.Category.choices], label=_("类别")
    )
    description = forms.CharField(
        label=_("问题描述"), max_length=2000, widget=forms.Textarea(attrs={"rows": 4})
    )
    raised_by = forms.CharField(label=_("反映人"), max_length=50, required=False)
    handler = forms.CharField(label=_("责任人/单位"), max_length=100, required=False)
    deadline = forms.DateField(
        label=_("办理时限"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args, user, fixed_village=None, **kwargs):
        super().__init__(*args, **kwargs)
        if fixed_village is not None:
            del self.fields["village"]
        else:
            self.fields["village"].queryset = village_list_for_user(user=user).order_by(
                "township__county__code", "township__code", "code"
            )
            self.fields["village"].label_from_instance = lambda v: f"{v.township.name} · {v.name}"

    def clean_description(self):
        description = self.cleaned_data["description"].strip()
        if not description:
            raise forms.ValidationError(_("请填写问题描述。"))
        return description


class ProblemUpdateForm(forms.Form):
    status = forms.ChoiceField(label=_("状态"))
    explanation = forms.CharField(
        label=_("办理情况/解释说明"),
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    resolved_on = forms.DateField(
        label=_("办结日期"),
        required=False,
        help_text=_("已办结且不填时记为今天。"),
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    satisfaction = forms.ChoiceField(
        label=_("群众满意度"),
        required=False,
        choices=[("", _("未评价")), *Problem.Satisfaction.choices],
    )
    handler = forms.CharField(label=_("责任人/单位"), max_length=100, required=False)
    deadline = forms.DateField(
        label=_("办理时限"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args, problem: Problem, **kwargs):
        kwargs.setdefault(
            "initial",
            {
                "status": problem.status,
                "explanation": problem.explanation,
                "resolved_on": problem.resolved_on,
                "satisfaction": problem.satisfaction,
                "handler": problem.handler,
                "deadline": problem.deadline,
            },
        )
        super().__init__(*args, **kwargs)
        allowed = {problem.status, *PROBLEM_TRANSITIONS[Problem.Status(problem.status)]}
        self.fields["status"].choices = [c for c in Problem.Status.choices if c[0] in allowed]

    def clean(self):
        data = super().clean()
        if (
            data.get("status") == Problem.Status.EXPLAINED
            and not (data.get("explanation") or "").strip()
        ):
            self.add_error("explanation", _("“无法办结已解释”必须填写解释说明。"))
        return data
