"""API tokens expire: DRF's token authentication, refusing a token issued more than
API_TOKEN_TTL ago with a Chinese message (the token login then issues a fresh one,
core.api.auth). Kept apart from the views: DRF imports the authentication classes
while its own views module loads."""

from django.conf import settings
from django.utils import timezone
from rest_framework.authentication import TokenAuthentication
from rest_framework.exceptions import AuthenticationFailed

TOKEN_EXPIRED = "接口令牌已过期，请重新获取（POST /api/auth/token/）。"


def token_expired(token) -> bool:
    return token.created + settings.API_TOKEN_TTL <= timezone.now()


class ExpiringTokenAuthentication(TokenAuthentication):
    def authenticate_credentials(self, key):
        user, token = super().authenticate_credentials(key)
        if token_expired(token):
            raise AuthenticationFailed(TOKEN_EXPIRED)
        return user, token
