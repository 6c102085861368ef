from django import forms

from villages.importing.engine import KINDS


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
