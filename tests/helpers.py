"""Small helpers shared by test modules."""

import json
from contextlib import contextmanager
from functools import cache

from django.db import transaction


@contextmanager
def module_data(django_db_blocker):
    """Open a transaction for data a whole module reads, and roll it back at the end.

    Use it in a module-scoped fixture that also requests `django_db_setup`. Each test's own
    `db` transaction nests inside as a savepoint, so what a test changes is undone after
    it, and what the fixture built is undone after the module: other modules still start
    from an empty database.

    Call `connection.check_constraints()` once the data is built: on PostgreSQL that fires
    the deferred foreign-key checks now, instead of after every test.
    """
    with django_db_blocker.unblock():
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            yield
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)


@cache
def api_schema_json() -> str:
    """The OpenAPI document /api/schema/ serves, generated in-process, as JSON text (parse
    it with `json.loads` for a copy of your own)."""
    from drf_spectacular.generators import SchemaGenerator
    from drf_spectacular.renderers import OpenApiJsonRenderer

    document = SchemaGenerator().get_schema(request=None, public=True)
    return OpenApiJsonRenderer().render(document, renderer_context={}).decode()


def api_schema() -> dict:
    return json.loads(api_schema_json())
