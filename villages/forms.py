from django import forms

from core.importing.engine import KINDS


class ImportUploadForm(forms.Form):
    """Shape only: which sheet, which file, and whether to load valid rows only."""

    kind = forms.ChoiceField(label="名册类型")
    # An empty file reaches the service, which names it in its refusal.
    file = forms.FileField(label="Excel 或 CSV 文件", allow_empty_file=True)
    valid_only = forms.BooleanField(label="只导入无误的行", required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = [(k, v.label) for k, v in KINDS.items()]
        self.fields["file"].widget.attrs["accept"] = ".xlsx,.csv"


class ImportConfirmForm(forms.Form):
    valid_only = forms.BooleanField(label="只导入无误的行", required=False)


class YearForm(forms.Form):
    year = forms.IntegerField(
        label="年度",
        min_value=2000,
        max_value=2100,
        error_messages={"invalid": "请填写四位数的年度。", "required": "请填写年度。"},
    )


class ReopenForm(forms.Form):
    reason = forms.CharField(
        label="重新开启的理由",
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": "请填写重新开启的理由。"},
    )


class ProposalChoiceForm(forms.Form):
    """Which pending proposals a bulk action applies to (ids only; the service checks)."""

    ids = forms.TypedMultipleChoiceField(coerce=int, required=False)

    def __init__(self, *args, choices=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["ids"].choices = [(pk, pk) for pk in choices]


class ProposalChangeForm(forms.Form):
    target = forms.ModelChoiceField(
        label="改为", queryset=None, error_messages={"required": "请选择新的联系点。"}
    )

    def __init__(self, *args, targets, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["target"].queryset = targets
