"""The API's limit on writes: each signed-in user may make API_WRITE_RATE unsafe requests
(POST, PUT, PATCH, DELETE), counted in the shared cache; reads are never throttled. A
request without a user (the token login) is counted by its client address, as
xuchang_portal.client_ip decides it (never by an X-Forwarded-For the client wrote).
Above the rate the answer is 429 with a Chinese message naming the wait
(xuchang_portal.api.exceptions)."""

import math

from django.conf import settings
from rest_framework import exceptions
from rest_framework.permissions import SAFE_METHODS
from rest_framework.throttling import UserRateThrottle

from xuchang_portal.client_ip import client_ip


class UserWriteThrottle(UserRateThrottle):
    scope = "user_write"

    def get_rate(self):
        # read per request, so that a changed setting (tests) takes effect
        return settings.API_WRITE_RATE

    def allow_request(self, request, view):
        if request.method in SAFE_METHODS:
            return True
        return super().allow_request(request, view)

    def get_ident(self, request):
        return client_ip(request) or "unknown"


class ChineseThrottled(exceptions.Throttled):
    """DRF's 429, in Chinese, naming the wait (also in the Retry-After header)."""

    default_detail = "提交过于频繁，已暂时限制。"

    def __init__(self, wait=None, detail=None, code=None):
        wait = None if wait is None else max(1, math.ceil(wait))
        if detail is None:
            detail = self.default_detail + (f"请 {wait} 秒后再试。" if wait else "请稍后再试。")
        super().__init__(wait=None, detail=detail, code=code)
        self.wait = wait
