"""Visit forms: shape and choices only; the rules live in visits.services."""

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from villages.selectors import village_list_for_user
from visits.models import HOUSEHOLDS_VISITED, MEETINGS, PEOPLE_REACHED, Problem, Visit
from visits.services import MAX_VISIT_PROBLEMS

# The 发现问题 rows of a new visit travel as repeated fields, row by row, in the page's
# form as in the API's (see visits.api.serializers.VisitInputSerializer).
PROBLEM_CATEGORY = "problem_category"
PROBLEM_DESCRIPTION = "problem_description"
MAX_PROBLEM_ROWS = MAX_VISIT_PROBLEMS

NUMBER_ATTRS = {
    "class": "form-control form-control-lg",
    "inputmode": "numeric",
    "pattern": "[0-9]*",
    "min": "0",
    "step": "1",
}


class VisitForm(forms.Form):
    """The fields a cadre fills in for one visit (new or edited)."""

    village = forms.ModelChoiceField(
        label=_("联系点"),
        queryset=None,
        empty_label=_("请选择村(社区)"),
        error_messages={
            "required": _("请选择联系点。"),
            "invalid_choice": _("只能为自己的联系点填报。"),
        },
    )
    date = forms.DateField(
        label=_("日期"),
        widget=forms.DateInput(
            attrs={"type": "date", "class": "form-control form-control-lg"}, format="%Y-%m-%d"
        ),
        error_messages={"required": _("请填写日期。"), "invalid": _("日期格式不正确。")},
    )
    day_part = forms.ChoiceField(
        label=_("时长"),
        choices=Visit.DayPart.choices,
        initial=Visit.DayPart.FULL,
        widget=forms.RadioSelect(attrs={"class": "btn-check"}),
    )
    activities = forms.MultipleChoiceField(
        label=_("工作内容"),
        choices=Visit.Activity.choices,
        widget=forms.CheckboxSelectMultiple(attrs={"class": "btn-check"}),
        error_messages={"required": _("请至少选择一项工作内容。")},
    )
    meetings = MEETINGS.form_field(
        label=_("座谈会(场)"), initial=0, widget=forms.NumberInput(NUMBER_ATTRS)
    )
    people_reached = PEOPLE_REACHED.form_field(
        label=_("走访群众(人次)"), initial=0, widget=forms.NumberInput(NUMBER_ATTRS)
    )
    households_visited = HOUSEHOLDS_VISITED.form_field(
        label=_("入户(户)"), initial=0, widget=forms.NumberInput(NUMBER_ATTRS)
    )
    notes = forms.CharField(
        label=_("工作记录"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(
            attrs={
                "rows": 3,
                "class": "form-control",
                "placeholder": _("简要记录做了什么、解决了什么（可选）"),
            }
        ),
    )
    latitude = forms.DecimalField(
        required=False, max_digits=9, decimal_places=6, widget=forms.HiddenInput
    )
    longitude = forms.DecimalField(
        required=False, max_digits=9, decimal_places=6, widget=forms.HiddenInput
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        villages = village_list_for_user(user=user).order_by("township__code", "code")
        self.fields["village"].queryset = villages
        self.fields["village"].widget.attrs["class"] = "form-select form-select-lg"
        self.fields["village"].label_from_instance = lambda v: f"{v.name}（{v.township.name}）"
        self.fields["date"].widget.attrs["max"] = timezone.localdate().isoformat()

    def add_service_errors(self, exc) -> None:
        """Put a service's ValidationError on the fields it names; the rest on top."""
        if not hasattr(exc, "error_dict"):
            for message in exc.messages:
                self.add_error(None, message)
            return
        for field, errors in exc.message_dict.items():
            target = (
                field if field in self.fields and field not in ("latitude", "longitude") else None
            )
            if field in ("latitude", "longitude"):
                errors = [f"定位：{e}" for e in errors]
            for message in errors:
                self.add_error(target, message)


class VisitNewForm(VisitForm):
    """A new visit, with the problems found on it (发现问题): zero or more rows of
    category and description, checked by visits.services with the visit."""

    problem_categories = Problem.Category.choices
    max_problem_rows = MAX_PROBLEM_ROWS

    def problem_rows(self) -> list[dict]:
        """The rows as sent (at most one more than allowed is read), for the service and
        for showing the form again."""
        if not self.is_bound:
            return []
        categories = self.data.getlist(PROBLEM_CATEGORY)[: MAX_PROBLEM_ROWS + 1]
        descriptions = self.data.getlist(PROBLEM_DESCRIPTION)[: MAX_PROBLEM_ROWS + 1]
        count = max(len(categories), len(descriptions))
        categories += [""] * (count - len(categories))
        descriptions += [""] * (count - len(descriptions))
        return [
            {"category": c, "description": d} for c, d in zip(categories, descriptions, strict=True)
        ]

    def clean(self):
        data = super().clean()
        rows = self.problem_rows()
        if len(rows) > MAX_PROBLEM_ROWS:
            raise forms.ValidationError(
                _("每条记录最多 %(count)d 个发现问题。") % {"count": MAX_PROBLEM_ROWS}
            )
        data["problems"] = rows
        return data
