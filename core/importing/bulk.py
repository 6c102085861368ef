"""Bulk writes for imports, with their history rows.

Django's `bulk_update` builds one CASE WHEN per field and row; for thousands of rows the
expression building alone takes seconds. On PostgreSQL we send one
`UPDATE … FROM (VALUES …)` per batch instead; elsewhere we use `bulk_update`.
"""

from django.db import connection, transaction
from simple_history.utils import bulk_create_with_history, get_history_manager_for_model

from core.history import request_meta

BATCH = 2000


def create_with_history(model, objs: list, *, actor, reason: str) -> None:
    """Insert `objs` and one history row each, by `actor`, with what made the change."""
    if objs:
        bulk_create_with_history(
            objs,
            model,
            batch_size=BATCH,
            default_user=actor,
            default_change_reason=reason,
            custom_historical_attrs=request_meta(user=actor),
        )


def update_with_history(model, objs: list, fields: list[str], *, actor, reason: str) -> int:
    """Write `fields` of `objs` (already changed in memory) and one history row each."""
    if not objs or not fields:
        return 0
    with transaction.atomic(savepoint=False):
        if connection.vendor == "postgresql":
            count = _update_from_values(model, objs, fields)
        else:
            count = model._default_manager.bulk_update(objs, fields, batch_size=BATCH)
        get_history_manager_for_model(model).bulk_history_create(
            objs,
            batch_size=BATCH,
            update=True,
            default_user=actor,
            default_change_reason=reason,
            custom_historical_attrs=request_meta(user=actor),
        )
    return count


def _update_from_values(model, objs: list, fields: list[str]) -> int:
    meta = model._meta
    columns = [meta.get_field(name) for name in fields]
    qn = connection.ops.quote_name
    assignments = ", ".join(
        f"{qn(f.column)} = v.{qn(f.column)}::{f.db_type(connection)}" for f in columns
    )
    alias = ", ".join(qn(c) for c in [meta.pk.column, *(f.column for f in columns)])
    width = len(columns) + 1
    total = 0
    with connection.cursor() as cursor:
        for start in range(0, len(objs), BATCH):
            batch = objs[start : start + BATCH]
            params = []
            for obj in batch:
                params.append(obj.pk)
                params.extend(
                    f.get_db_prep_save(getattr(obj, f.attname), connection) for f in columns
                )
            row = "(" + ", ".join(["%s"] * width) + ")"
            sql = (
                f"UPDATE {qn(meta.db_table)} AS t SET {assignments} "  # nosec B608 # table and column names come from model _meta through quote_name; every value is a bound parameter
                f"FROM (VALUES {', '.join([row] * len(batch))}) AS v({alias}) "
                f"WHERE t.{qn(meta.pk.column)} = v.{qn(meta.pk.column)}::{meta.pk.db_type(connection)}"
            )
            cursor.execute(sql, params)
            total += cursor.rowcount
    return total
