from django import forms

from accounts.passwords import PolicyValidator


class PasswordChangeForm(forms.Form):
    old_password = forms.CharField(
        label="原密码",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )
    new_password = forms.CharField(
        label="新密码",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text=PolicyValidator().get_help_text,
    )
    new_password2 = forms.CharField(
        label="再次输入新密码",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean(self):
        data = super().clean()
        if data.get("new_password") and data.get("new_password") != data.get("new_password2"):
            self.add_error("new_password2", "两次输入的新密码不一致。")
        return data


class ReasonForm(forms.Form):
    reason = forms.CharField(
        label="原因",
        max_length=200,
        error_messages={"required": "请填写原因。", "max_length": "原因不能超过 200 个字。"},
    )


class ActiveForm(ReasonForm):
    active = forms.TypedChoiceField(
        label="操作",
        choices=(("1", "启用"), ("0", "停用")),
        coerce=lambda value: value == "1",
        error_messages={"required": "请选择停用或启用。", "invalid_choice": "请选择停用或启用。"},
    )


class SheetCreateForm(forms.Form):
    """new: first passwords for the accounts waiting for one; regenerate: also new ones for
    those handed out but never used (the earlier ones stop working)."""

    mode = forms.ChoiceField(
        label="生成方式",
        choices=(("new", "生成开通通知"), ("regenerate", "重新生成")),
        error_messages={"required": "请选择生成方式。", "invalid_choice": "请选择生成方式。"},
    )
