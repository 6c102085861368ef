"""The two exhaustive sweeps (the leak walker over every URL and API operation × role, and
the schemathesis fuzz of every operation × role) take minutes each. CI runs them in its
PostgreSQL + Redis pass, which is where issue 8 asks for them; the embedded-default pass
(SQLite) skips them to keep CI under 20 minutes. HARDENING_SWEEPS=1 runs them on SQLite too."""

import os

import pytest
from django.conf import settings

SWEEPS = ("test_leak_walker.py", "test_api_fuzz.py")


def pytest_collection_modifyitems(config, items):
    engine = settings.DATABASES["default"]["ENGINE"]
    if "sqlite" not in engine or os.environ.get("HARDENING_SWEEPS") == "1":
        return
    skip = pytest.mark.skip(
        reason="exhaustive sweep: runs in CI's PostgreSQL pass (HARDENING_SWEEPS=1 to run here)"
    )
    for item in items:
        if item.path.name in SWEEPS:
            item.add_marker(skip)
