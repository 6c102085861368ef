"""The visits map's filter: 按日 or 按月, and a county or township of the user's area.
Shape only; the area ids are checked against the user's scope by the selectors."""

import datetime

from django import forms
from django.utils.translation import gettext_lazy as _

from villages.bounds import YEAR_MAX, YEAR_MIN
from visits.problem_forms import MONTH_VALIDATOR, month_bounds

MAX_ID = 2**31 - 1


class VisitMapFilter(forms.Form):
    class Mode:
        DAY = "day"
        MONTH = "month"
        CHOICES = (("day", _("按日")), ("month", _("按月")))

    mode = forms.ChoiceField(label=_("时间范围"), choices=Mode.CHOICES, required=False)
    day = forms.DateField(
        label=_("日期"),
        required=False,
        input_formats=["%Y-%m-%d"],
        error_messages={"invalid": _("日期格式应为“年-月-日”，例如 2024-05-14。")},
    )
    month = forms.CharField(
        label=_("月份"), required=False, max_length=7, validators=[MONTH_VALIDATOR]
    )
    county = forms.IntegerField(required=False, min_value=1, max_value=MAX_ID)
    township = forms.IntegerField(required=False, min_value=1, max_value=MAX_ID)

    def clean_day(self):
        day = self.cleaned_data["day"]
        if day is not None and not YEAR_MIN <= day.year <= YEAR_MAX:
            raise forms.ValidationError(
                _("日期须在 %(first)s—%(last)s 年之间。"),
                params={"first": YEAR_MIN, "last": YEAR_MAX},
            )
        return day

    def clean_month(self):
        month = self.cleaned_data["month"]
        if month and not YEAR_MIN <= int(month[:4]) <= YEAR_MAX:
            raise forms.ValidationError(
                _("月份须在 %(first)s—%(last)s 年之间。"),
                params={"first": YEAR_MIN, "last": YEAR_MAX},
            )
        return month

    @property
    def area_is_malformed(self) -> bool:
        """A county or township that is no id at all: answered like one out of scope."""
        return "county" in self.errors or "township" in self.errors

    def value(self, name: str):
        """The cleaned value of `name`, None when it was missing or refused."""
        return getattr(self, "cleaned_data", {}).get(name) or None

    def period_errors(self) -> list[str]:
        return [str(e) for name in ("mode", "day", "month") for e in self.errors.get(name, [])]


def month_range(value: str) -> tuple[datetime.date, datetime.date]:
    """First and last day of the month "YYYY-MM"."""
    start, following = month_bounds(value)
    return start, following - datetime.timedelta(days=1)
