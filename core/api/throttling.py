"""The API's limit on writes: each signed-in user may make API_WRITE_RATE unsafe requests
(POST, PUT, PATCH, DELETE), counted in the shared cache; reads are never throttled. A
request without a user (the token login) is counted by its client address, as
core.client_ip decides it (never by an X-Forwarded-For the client wrote).
Above the rate the answer is 429 with a Chinese message naming the wait
(core.api.exceptions).

The count is a fixed window: one integer per user and window, raised with the cache's
atomic `incr`. DRF's own SimpleRateThrottle keeps a list of every request's time per user
and writes the whole list back on each request, so its cost grows with the rate; this one
costs one small cache command whatever the rate. A user may reach twice the rate across a
window boundary, which is what a fixed window trades for that. While the cache is down
nothing is counted (core.cache answers like an empty cache) and writes go on."""

import math
import time

from django.conf import settings
from django.core.cache import cache
from rest_framework import exceptions
from rest_framework.permissions import SAFE_METHODS
from rest_framework.throttling import BaseThrottle

from core.client_ip import client_ip

PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_rate(rate: str) -> tuple[int, int]:
    """'120/min' -> (120, 60), as DRF reads a rate: the period's first letter counts."""
    count, period = rate.split("/")
    return int(count), PERIODS[period[0]]


class UserWriteThrottle(BaseThrottle):
    scope = "user_write"

    def __init__(self):
        self._wait = None

    def allow_request(self, request, view):
        # the rate is read per request, so that a changed setting (tests) takes effect
        rate = settings.API_WRITE_RATE
        if request.method in SAFE_METHODS or not rate:
            return True
        limit, period = parse_rate(rate)
        user = request.user
        ident = (
            f"user:{user.pk}" if user and user.is_authenticated else f"ip:{self.get_ident(request)}"
        )
        now = time.time()
        window = int(now // period)
        key = f"throttle:{self.scope}:{ident}:{period}:{window}"
        # One command in the common case (the window's key exists); a window's first write
        # makes the key. Whatever cannot be counted (the cache is down) is let through.
        try:
            count = cache.incr(key)
        except ValueError:
            if cache.add(key, 1, timeout=period + 1):
                count = 1
            else:
                try:
                    count = cache.incr(key)  # another worker made it first
                except ValueError:
                    return True
        if count <= limit:
            return True
        self._wait = (window + 1) * period - now
        return False

    def get_ident(self, request) -> str:
        return client_ip(request) or "unknown"

    def wait(self):
        return self._wait


class ChineseThrottled(exceptions.Throttled):
    """DRF's 429, in Chinese, naming the wait (also in the Retry-After header)."""

    default_detail = "提交过于频繁，已暂时限制。"

    def __init__(self, wait=None, detail=None, code=None):
        wait = None if wait is None else max(1, math.ceil(wait))
        if detail is None:
            detail = self.default_detail + (f"请 {wait} 秒后再试。" if wait else "请稍后再试。")
        super().__init__(wait=None, detail=detail, code=code)
        self.wait = wait
