"""Fixtures for the stars tests.

The star types come from a data migration; a browser test elsewhere (transactional_db)
empties every table after it runs, so each test here makes sure they exist again (the
same idempotent loader the migration and `seed_demo` use)."""

import pytest

from stars.models import StarSettings, StarTask, StarType
from stars.schemes import ensure_star_types


@pytest.fixture(autouse=True)
def star_types(db):
    ensure_star_types(StarType, StarTask)
    return {(s.scheme, s.code): s for s in StarType.objects.all()}


@pytest.fixture
def rules(db):
    """The rules row, saved with the defaults (5-day 公示, foundation star required)."""
    return StarSettings.objects.get_or_create(pk=1)[0]
