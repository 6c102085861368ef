"""`POST /api/auth/token/`: DRF's token login, answering a locked account (django-axes) with
429 and the lockout in Chinese instead of the generic "wrong credentials" 400.

Tokens expire: a token is accepted for API_TOKEN_TTL after it was issued
(core.api.authentication, refused in Chinese after that), and the token login hands
out the user's token while it is valid and a fresh one once it has expired. The token
login's POSTs count against the write throttle, by client address."""

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils.module_loading import import_string
from rest_framework import status
from rest_framework.authtoken.models import Token
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from core.api.authentication import token_expired
from core.api.throttling import UserWriteThrottle


@transaction.atomic
def api_token_for(*, user) -> Token:
    """The user's API token: the one issued while it is valid, a fresh one once expired."""
    token = Token.objects.select_for_update().filter(user=user).first()
    if token is not None and not token_expired(token):
        return token
    if token is not None:
        token.delete()
    try:
        with transaction.atomic():
            return Token.objects.create(user=user)
    except IntegrityError:  # issued at the same moment by another request
        return Token.objects.get(user=user)


def lockout_message() -> str:
    return (
        f"登录失败次数过多，账号已被临时锁定：同一账号从同一地址连续 {settings.AXES_FAILURE_LIMIT} "
        f"次密码错误后，从该地址登录锁定 {settings.AXES_COOLOFF_TIME} 小时（其他地址不受影响）。"
        "如需立即解锁，请联系市级管理员。"
    )


def token_refusal(user) -> str | None:
    """Why `user` may not have a token yet, in Chinese, or None: the callable named by the
    API_TOKEN_REFUSAL setting (the accounts app's: a password to change first)."""
    path = getattr(settings, "API_TOKEN_REFUSAL", "")
    return import_string(path)(user) if path else None


class PortalObtainAuthToken(ObtainAuthToken):
    throttle_classes = [UserWriteThrottle]

    def post(self, request, *args, **kwargs):
        try:
            serializer = self.get_serializer(data=request.data)
            serializer.is_valid(raise_exception=True)
            user = serializer.validated_data["user"]
            refusal = token_refusal(user)
            if refusal:
                return Response({"detail": refusal}, status=status.HTTP_403_FORBIDDEN)
            token = api_token_for(user=user)
            return Response({"token": token.key})
        except ValidationError:
            # axes marks the request it was handed (DRF's, not Django's) when the account
            # is or has just become locked; its middleware only looks at Django's.
            if getattr(request, "axes_locked_out", False):
                return Response(
                    {"detail": lockout_message()}, status=status.HTTP_429_TOO_MANY_REQUESTS
                )
            raise
