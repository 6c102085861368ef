"""个人中心 and the password change. Thin: the services write, the selectors read."""

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.views import View

from accounts import selectors, services
from accounts.forms import PasswordChangeForm


def add_service_errors(form, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for name, errors in exc.message_dict.items():
            form.add_error(name if name in form.fields else None, errors)
    else:
        form.add_error(None, exc.messages)


class ProfileView(LoginRequiredMixin, View):
    """个人中心: who I am, change my password, where I am signed in."""

    def get(self, request):
        return render(request, "accounts/profile.html", self._context(request))

    @staticmethod
    def _context(request) -> dict:
        user = request.user
        cadre = getattr(user, "cadre", None)
        account = selectors.own_account(user=user)
        return {
            "account": account,
            "cadre": cadre,
            "phone": (account.phone if account and account.phone else "")
            or (cadre.phone if cadre else ""),
            "sessions": selectors.own_sessions(user=user),
            "current_key": request.session.session_key,
            "events": selectors.own_events(user=user),
        }


class EndOtherSessionsView(LoginRequiredMixin, View):
    def post(self, request):
        ended = services.sessions_end_others(actor=request.user, request=request)
        messages.success(request, f"已退出其他 {ended} 个设备上的登录。")
        return redirect("accounts:profile")


class PasswordChangeView(LoginRequiredMixin, View):
    template_name = "accounts/password_change.html"

    def get(self, request):
        return render(request, self.template_name, {"form": PasswordChangeForm()})

    def post(self, request):
        form = PasswordChangeForm(request.POST)
        if form.is_valid():
            try:
                services.password_change(
                    actor=request.user,
                    request=request,
                    old_password=form.cleaned_data["old_password"],
                    new_password=form.cleaned_data["new_password"],
                )
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, "密码已修改。其他设备上的登录已退出。")
                return redirect("home")
        return render(request, self.template_name, {"form": form}, status=400)
