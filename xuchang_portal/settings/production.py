"""Production: DEBUG off, SECRET_KEY required, HTTPS-only cookies and HSTS.

Every value still comes from the environment (see `.env.example`).
"""

import os

os.environ.setdefault("DEBUG", "false")

from .base import *  # noqa: E402,F401,F403
from .base import env  # noqa: E402

SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=True)
SECURE_REDIRECT_EXEMPT = [r"^healthz/$"]
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=True)
SESSION_COOKIE_AGE = 8 * 60 * 60
