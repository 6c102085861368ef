"""Writes that know no domain: saving a record so that a clash with another writer
(a unique constraint, a concurrent change) is refused in Chinese, never a 500."""

import logging

from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction

from core.messages import CONFLICT

logger = logging.getLogger(__name__)


def save_or_refuse(*, instance: models.Model, **save_kwargs) -> models.Model:
    """Save `instance` in a savepoint. When a unique constraint refuses the row (two
    requests passed the same pre-check at once and the other one committed first), the
    caller gets the model's own Chinese message as a ValidationError, as if the pre-check
    had caught it, instead of an IntegrityError (a 500)."""
    try:
        with transaction.atomic():
            instance.save(**save_kwargs)
    except IntegrityError as exc:
        logger.info("%s refused by a constraint: %s", type(instance).__name__, exc)
        raise conflict_error(instance) from exc
    return instance


def conflict_error(instance: models.Model) -> ValidationError:
    """What to tell the user when the database refused `instance`: the messages of the
    unique fields and the named constraints it now violates (the winner's row is visible
    after the failed statement), else a general one. Never a constraint's internal name."""
    messages: list[str] = []
    try:
        instance.validate_unique()
    except ValidationError as exc:
        messages += exc.messages
    for constraint in instance._meta.constraints:
        custom = getattr(constraint, "violation_error_message", None)
        if not custom or custom == constraint.default_violation_error_message:
            continue
        try:
            constraint.validate(type(instance), instance)
        except ValidationError as exc:
            messages += exc.messages
        except Exception:  # a check that cannot run on this object: the general message
            logger.debug("constraint re-check failed", exc_info=True)
    return ValidationError(messages or [CONFLICT])
