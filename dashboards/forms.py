from django import forms

from dashboards.models import Target


class TargetForm(forms.ModelForm):
    class Meta:
        model = Target
        fields = [
            "year",
            "indicator",
            "comparison",
            "threshold",
            "area_level",
            "is_reference",
            "note",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name, field in self.fields.items():
            css = "form-check-input" if name == "is_reference" else "form-control"
            if isinstance(field.widget, forms.Select):
                css = "form-select"
            field.widget.attrs["class"] = css
