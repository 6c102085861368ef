"""Test settings: the same stack, with a fast hasher and axes only where a test turns it on."""

import os

os.environ.setdefault("DEBUG", "false")
os.environ.setdefault("SECRET_KEY", "test-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz")

from .base import *  # noqa: E402,F401,F403
from .base import env  # noqa: E402

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.MD5PasswordHasher",
    "accounts.hashers.IssuedPasswordHasher",
]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
ALLOWED_HOSTS = ["testserver", "localhost", "127.0.0.1"]
AXES_ENABLED = env.bool("AXES_ENABLED", default=False)
# No API write throttle unless a test sets a rate (the suite's writes share one cache).
API_WRITE_RATE = None
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Tests always run tasks inline unless a test starts a real worker on purpose.
CELERY_TASK_ALWAYS_EAGER = True
CELERY_TASK_EAGER_PROPAGATES = True
# live_server tests serve static files straight from the finders (no collectstatic).
WHITENOISE_AUTOREFRESH = True
# No idle sign-out by default: many tests move the clock days ahead inside one session (a
# 公示 running out, a deadline passing). The tests of the idle sign-out turn it on.
SESSION_IDLE_MINUTES = 0
