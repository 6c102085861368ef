"""`POST /api/auth/token/`: DRF's token login, answering a locked account (django-axes) with
429 and the lockout in Chinese instead of the generic "wrong credentials" 400."""

from django.conf import settings
from rest_framework import status
from rest_framework.authtoken.views import ObtainAuthToken
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response


def lockout_message() -> str:
    return (
        f"登录失败次数过多，账号已被临时锁定：连续 {settings.AXES_FAILURE_LIMIT} 次密码错误后"
        f"锁定 {settings.AXES_COOLOFF_TIME} 小时。如需立即解锁，请联系市级管理员。"
    )


class PortalObtainAuthToken(ObtainAuthToken):
    def post(self, request, *args, **kwargs):
        try:
            return super().post(request, *args, **kwargs)
        except ValidationError:
            # axes marks the request it was handed (DRF's, not Django's) when the account
            # is or has just become locked; its middleware only looks at Django's.
            if getattr(request, "axes_locked_out", False):
                return Response(
                    {"detail": lockout_message()}, status=status.HTTP_429_TOO_MANY_REQUESTS
                )
            raise
