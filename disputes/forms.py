"""Shapes for the 三零 pages and exports: filters and forms, no saves.

Village and unit fields accept any id and the services decide: a place outside the
user's area answers 404 like everywhere else; the pages offer only the user's own places.
"""

from __future__ import annotations

import datetime

import django_filters
from django import forms
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.forms.models import fields_for_model
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema_field

from disputes.ledgers import LEDGERS, LedgerSpec
from disputes.models import (
    Dispute,
    SanlingRule,
    ThreeZeroUnit,
)
from disputes.selectors import PERSONAL_FIELDS as selectors_personal_fields
from disputes.selectors import petitions_overdue_q
from villages.bounds import bounded_formfield
from villages.filters import BooleanFilter, IntegerFilter
from villages.models import Township, Village
from villages.selectors import township_list_for_user, village_list_for_user

MONTH_VALIDATOR = RegexValidator(
    r"^(19|20)\d{2}-(0[1-9]|1[0-2])$", _("月份格式应为“年-月”，例如 2023-05。")
)
YEAR_VALIDATORS = [
    MinValueValidator(1900, _("年度应为 1900 到 2099 之间的年份。")),
    MaxValueValidator(2099, _("年度应为 1900 到 2099 之间的年份。")),
]


def month_bounds(value: str) -> tuple[datetime.date, datetime.date]:
    year, month = (int(part) for part in value.split("-"))
    start = datetime.date(year, month, 1)
    return start, datetime.date(year + month // 12, month % 12 + 1, 1)


def _townships(request):
    return township_list_for_user(user=request.user) if request else Township.objects.none()


def _villages(request):
    return village_list_for_user(user=request.user) if request else Village.objects.none()


class LedgerFilter(django_filters.FilterSet):
    """Area, year and month filters shared by every ledger; `date_field` names the
    ledger's own date (排查日期, 登记日期, 发生日期)."""

    date_field = "created_at"

    township = django_filters.ModelChoiceFilter(queryset=_townships, label=_("乡镇(街道)"))
    village = django_filters.ModelChoiceFilter(queryset=_villages, label=_("村(社区)"))
    year = IntegerFilter(method="in_year", label=_("年度"), validators=YEAR_VALIDATORS)
    month = extend_schema_field({"type": "string", "pattern": MONTH_VALIDATOR.regex.pattern})(
        django_filters.CharFilter(method="in_month", label=_("月份"), validators=[MONTH_VALIDATOR])
    )

    def in_year(self, queryset, name, value):
        return queryset.filter(**{f"{self.date_field}__year": int(value)})

    def in_month(self, queryset, name, value):
        start, following = month_bounds(value)
        return queryset.filter(
            **{f"{self.date_field}__gte": start, f"{self.date_field}__lt": following}
        )


class OverdueFilter(LedgerFilter):
    """The petitions' filters: besides, only those past their deadline."""

    overdue = BooleanFilter(method="only_overdue", label=_("仅看超期"))

    def only_overdue(self, queryset, name, value):
        return queryset.filter(petitions_overdue_q()) if value else queryset


FILTER_BASES = {"petitions": OverdueFilter}


def _ledger_filter(ledger: LedgerSpec) -> type[LedgerFilter]:
    """The ledger's filter set: area, year and month, and a choice filter per choice field
    it names (labelled as the model labels the field)."""
    names = [*ledger.filter_fields, *ledger.more_filters]
    fields = [ledger.model._meta.get_field(name) for name in names]
    choices = {
        f.name: django_filters.ChoiceFilter(choices=f.choices, label=f.verbose_name) for f in fields
    }
    meta = type(
        "Meta",
        (),
        {
            "model": ledger.model,
            "fields": ["township", "village", "year", "month", *ledger.filter_fields],
        },
    )
    base = FILTER_BASES.get(ledger.key, LedgerFilter)
    return type(
        f"{ledger.model.__name__}Filter",
        (base,),
        {"date_field": ledger.date_field, "Meta": meta, **choices},
    )


FILTERS = {key: _ledger_filter(ledger) for key, ledger in LEDGERS.items()}


class UnitFilter(django_filters.FilterSet):
    township = django_filters.ModelChoiceFilter(queryset=_townships, label=_("乡镇(街道)"))
    unit_type = django_filters.ChoiceFilter(choices=ThreeZeroUnit.Type.choices, label=_("单位类型"))
    year = IntegerFilter(method="active_in", label=_("年度"), validators=YEAR_VALIDATORS)
    name = django_filters.CharFilter(lookup_expr="icontains", label=_("名称"))

    class Meta:
        model = ThreeZeroUnit
        fields = ["township", "unit_type", "year", "name"]

    def active_in(self, queryset, name, value):
        year = int(value)
        return queryset.filter(year_from__lte=year).exclude(year_to__lt=year)


# ----- forms -----

DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
PERSONAL_FIELDS = set(selectors_personal_fields)  # the masked numbers, named once in selectors


def _model_fields(model, names, **overrides) -> dict:
    fields = {
        name: bounded_formfield(model._meta.get_field(name), field)
        for name, field in fields_for_model(model, fields=names).items()
    }
    for field in fields.values():
        if isinstance(field, forms.ChoiceField) and field.choices and field.choices[0][0] == "":
            field.choices = [
                ("", _("请选择") if field.required else _("（未填）")),
                *field.choices[1:],
            ]
        if isinstance(field, forms.DateField):
            field.widget = DATE
            field.input_formats = ["%Y-%m-%d", "%Y/%m/%d"]
        if isinstance(field, forms.CharField) and isinstance(field.widget, forms.Textarea):
            field.widget.attrs["rows"] = 3
    fields.update(overrides)
    return fields


class PlaceForm(forms.Form):
    """Village and unit of a record. Choices shown are the user's own; the services check
    the submitted ids (out of the user's area: 404)."""

    place_fields = ("village", "unit")

    village = forms.ModelChoiceField(
        queryset=Village.objects.all(), label=_("村(社区)"), required=False, empty_label=_("请选择")
    )
    unit = forms.ModelChoiceField(
        queryset=ThreeZeroUnit.objects.all(),
        label=_("企事业单位"),
        required=False,
        empty_label=_("（不涉及单位）"),
        help_text=_("发生在企事业单位的，选择该单位。"),
    )

    def __init__(self, *args, user=None, reveal=True, with_place=True, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        if not with_place:
            for name in self.place_fields:
                self.fields.pop(name, None)
        if not reveal:
            for name in PERSONAL_FIELDS & set(self.fields):
                del self.fields[name]

    def clean(self):
        data = super().clean()
        if "village" in self.fields and not data.get("village") and not data.get("unit"):
            self.add_error("village", _("请选择村(社区)或企事业单位。"))
        return data


class HandleForm(forms.Form):
    """The 办理 form of a record (no place fields)."""

    def __init__(self, *args, user=None, reveal=True, current=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user
        for name, field in self.fields.items():
            # A field left out of the POST keeps its value (see posted_fields).
            field.required = name == "status"
        if isinstance(current, Dispute):
            # Offer only the steps the flow allows from here (the service checks again).
            from disputes.services import DISPUTE_TRANSITIONS

            allowed = {current.status, *DISPUTE_TRANSITIONS[Dispute.Status(current.status)]}
            self.fields["status"].choices = [c for c in Dispute.Status.choices if c[0] in allowed]

    def posted_fields(self, data) -> dict:
        return {
            name: value
            for name, value in self.cleaned_data.items()
            if name in data or isinstance(self.fields[name], forms.BooleanField)
        }


def _form(ledger: LedgerSpec, kind: str, names, base, **extra) -> type[forms.Form]:
    name = f"{ledger.model.__name__}{kind}"
    return type(name, (base,), _model_fields(ledger.model, names, **extra))


# Each ledger's 登记 form, and its 办理 form where it has one.
FORMS = {
    key: _form(ledger, "Form", ledger.form_fields, PlaceForm, **ledger.form_extra)
    for key, ledger in LEDGERS.items()
}
HANDLE_FORMS = {
    key: _form(ledger, "HandleForm", ledger.handle_fields, HandleForm)
    for key, ledger in LEDGERS.items()
    if ledger.handle_fields
}


class UnitForm(forms.Form):
    township = forms.ModelChoiceField(
        queryset=Township.objects.all(), label=_("所在乡镇(街道)"), empty_label=_("请选择")
    )
    village = forms.ModelChoiceField(
        queryset=Village.objects.all(),
        label=_("所在村(社区)"),
        required=False,
        empty_label=_("（位于乡镇(街道)，不属于某村）"),
    )

    def __init__(self, *args, user=None, reveal=True, with_place=True, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields.update(
            _model_fields(
                ThreeZeroUnit,
                [
                    "name",
                    "unit_type",
                    "credit_code",
                    "contact_name",
                    "contact_phone",
                    "year_from",
                    "year_to",
                ],
            )
        )
        self.fields["year_from"].initial = timezone.localdate().year


class OverrideForm(forms.Form):
    value = forms.ChoiceField(
        label=_("人工认定"),
        choices=[("met", _("达标")), ("not_met", _("不达标")), ("", _("撤销人工认定，按记录认定"))],
        required=False,
    )
    reason = forms.CharField(
        label=_("理由"),
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": _("人工认定（或撤销认定）必须填写理由。")},
    )


class ZeroReportForm(forms.Form):
    village = forms.ModelChoiceField(
        queryset=Village.objects.all(), label=_("村(社区)"), empty_label=_("请选择")
    )
    month = forms.CharField(label=_("月份"), validators=[MONTH_VALIDATOR])
    note = forms.CharField(label=_("说明"), max_length=200, required=False)

    def clean_month(self):
        return month_bounds(self.cleaned_data["month"])[0]


class SanlingRuleForm(forms.ModelForm):
    """The admin's form for a 三零 rule: the lists (事故、案件类别, 风险等级) as check boxes.
    The rule's own checks and the closed-year refusal are the model's and the service's."""

    accident_kinds = forms.MultipleChoiceField(
        label=SanlingRule._meta.get_field("accident_kinds").verbose_name,
        choices=SanlingRule.LIST_CHOICES["accident_kinds"],
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": _("请至少选择一种事故类别。")},
    )
    case_kinds = forms.MultipleChoiceField(
        label=SanlingRule._meta.get_field("case_kinds").verbose_name,
        choices=SanlingRule.LIST_CHOICES["case_kinds"],
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": _("请至少选择一种案件类别。")},
    )
    dispute_high_risk_levels = forms.MultipleChoiceField(
        label=SanlingRule._meta.get_field("dispute_high_risk_levels").verbose_name,
        choices=SanlingRule.LIST_CHOICES["dispute_high_risk_levels"],
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": _("请至少选择一个风险等级。")},
    )

    class Meta:
        model = SanlingRule
        fields = [
            "effective_from",
            "petition_min_level",
            "petition_skip_level_only",
            "accident_kinds",
            "accident_min_casualties",
            "case_kinds",
            "unit_records_break_village",
            "petition_accept_days",
            "petition_handle_days",
            "petition_extension_days",
            "petition_due_soon_days",
            "dispute_collective_threshold",
            "dispute_high_risk_levels",
            "note",
        ]
