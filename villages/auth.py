"""The portal's login backend: Django's ModelBackend, whose signed-in user arrives with
their role (with its county or township) and their cadre record, so that resolving the
user's scope on each request (villages.selectors.scope_for_user) and naming their area in
the navbar need no query of their own.

With a shared cache (Redis: CACHE_URL), the loaded login is also kept there for
LOGIN_CACHE_SECONDS, so a request reads its user as it reads its session, without a
query. Whatever decides who a login is and what it may see (the user row: password hash,
is_active, is_superuser; its role and area; its cadre record) drops the cached copy when
it is saved or deleted (`forget_login`, wired in villages.apps, and called by the bulk
writes that bypass save()), once at once and once more when the transaction commits. A
county's or township's renaming reaches the cached copies within LOGIN_CACHE_SECONDS.
Without a shared cache (the embedded default) nothing is cached: a per-process copy
could not be dropped in the other workers."""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.core.cache import cache
from django.db import transaction


def login_cache_key(user_id) -> str:
    return f"portal:login:{user_id}"


def forget_logins(user_ids) -> None:
    """Drop the cached logins of `user_ids` now and again when the current transaction
    commits (a request between the two would otherwise cache the rows about to change)."""
    keys = [login_cache_key(pk) for pk in {pk for pk in user_ids if pk is not None}]
    if not keys or not settings.LOGIN_CACHE_SECONDS:
        return
    cache.delete_many(keys)
    transaction.on_commit(lambda: cache.delete_many(keys))


def forget_login(sender, instance, **kwargs) -> None:
    """post_save / post_delete receiver for the user, UserRole and Cadre models."""
    user_id = instance.pk if isinstance(instance, get_user_model()) else instance.user_id
    forget_logins([user_id, getattr(instance, "_login_user_id_before", None)])


def note_previous_login(sender, instance, raw=False, **kwargs) -> None:
    """pre_save receiver for UserRole and Cadre: a row moved from one login to another
    must drop the old login's copy too."""
    if raw or not settings.LOGIN_CACHE_SECONDS or instance.pk is None:
        return
    instance._login_user_id_before = (
        sender._default_manager.filter(pk=instance.pk).values_list("user_id", flat=True).first()
    )


class PortalModelBackend(ModelBackend):
    def get_user(self, user_id):
        seconds = settings.LOGIN_CACHE_SECONDS
        user = cache.get(login_cache_key(user_id)) if seconds else None
        if user is None:
            user = self._load(user_id)
            if user is None:
                return None
            if seconds:
                cache.set(login_cache_key(user_id), user, seconds)
        return user if self.user_can_authenticate(user) else None

    def _load(self, user_id):
        users = get_user_model()._default_manager.select_related(
            "portal_role__township__county", "portal_role__county", "cadre"
        )
        try:
            return users.get(pk=user_id)
        except users.model.DoesNotExist:
            return None
