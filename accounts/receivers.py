"""Django's and django-axes' sign-in signals, handed to the services (no rule here)."""

from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed


def _logged_in(sender, request, user, **kwargs):
    from accounts import services

    if request is not None and hasattr(request, "session"):
        backend = getattr(user, "backend", "") or ""
        services.session_started(user=user, request=request, sso="oidc" in backend.lower())


def _logged_out(sender, request, user, **kwargs):
    from accounts import services

    if request is not None:
        services.session_ended(user=user, request=request)


def _login_failed(sender, credentials, request=None, **kwargs):
    from accounts import services

    # a single sign-on refused by accounts.oidc: whom the provider named, and why
    refusal = getattr(request, "oidc_refusal", None)
    services.login_failed(
        username=(credentials or {}).get("username", "") or (refusal.username if refusal else ""),
        reason=refusal.reason if refusal else "",
        request=request,
    )


def _locked_out(sender, request, username=None, ip_address=None, **kwargs):
    from accounts import services

    services.locked_out(username=username or "", request=request)


def connect() -> None:
    from axes.signals import user_locked_out

    user_logged_in.connect(_logged_in, dispatch_uid="accounts-logged-in")
    user_logged_out.connect(_logged_out, dispatch_uid="accounts-logged-out")
    user_login_failed.connect(_login_failed, dispatch_uid="accounts-login-failed")
    user_locked_out.connect(_locked_out, dispatch_uid="accounts-locked-out")
