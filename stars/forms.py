"""Shapes of what the 五星支部 pages post. The rules live in stars.services."""

from django import forms
from django.utils import timezone

from stars.models import WeakReason


class CommentForm(forms.Form):
    comment = forms.CharField(label="意见", max_length=500, required=False)


class ApplyForm(forms.Form):
    star_type = forms.IntegerField(label="星")
    year = forms.IntegerField(label="年度", min_value=2000, max_value=2100)
    comment = forms.CharField(label="申报说明", max_length=500, required=False)


class PublicizeForm(forms.Form):
    comment = forms.CharField(label="公示说明", max_length=500, required=False)
    start = forms.DateField(label="公示开始日期", required=False)


class TaskCheckForm(forms.Form):
    year = forms.IntegerField(label="年度", min_value=2000, max_value=2100)
    met = forms.BooleanField(label="已完成", required=False)
    evidence = forms.CharField(label="佐证说明", max_length=1000, required=False)


class LockForm(forms.Form):
    year = forms.IntegerField(label="年度", min_value=2000, max_value=2100)
    note = forms.CharField(label="说明", max_length=200, required=False)


class UnlockForm(forms.Form):
    year = forms.IntegerField(label="年度", min_value=2000, max_value=2100)
    reason = forms.CharField(label="解锁原因", max_length=190)


class SettingsForm(forms.Form):
    foundation_required = forms.BooleanField(
        label="支部过硬星为基础星（未获此星不能授予其他星）", required=False
    )
    publicity_days = forms.IntegerField(label="公示期(天)", min_value=0, max_value=30)


class WeakCaseForm(forms.Form):
    branch = forms.IntegerField(label="党组织")
    year = forms.IntegerField(label="年度", min_value=2000, max_value=2100)
    identified_on = forms.DateField(label="认定日期")
    reasons = forms.MultipleChoiceField(
        label="认定情形", choices=WeakReason.choices, widget=forms.CheckboxSelectMultiple
    )
    situation = forms.CharField(label="具体情况", max_length=2000, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["identified_on"].initial = timezone.localdate()


class RectifyForm(forms.Form):
    plan = forms.CharField(label="整顿方案", max_length=4000)
    responsible_leader = forms.CharField(label="包村领导", max_length=50)
    first_secretary = forms.CharField(label="第一书记/工作队", max_length=100)


class AcceptForm(forms.Form):
    accepted_on = forms.DateField(label="销号日期")
    note = forms.CharField(label="验收意见", max_length=500, required=False)


class ReopenForm(forms.Form):
    reason = forms.CharField(label="重新整顿原因", max_length=500)
