"""The portal's login backend: Django's ModelBackend, whose signed-in user arrives with
their role (with its county or township) and their cadre record, so that resolving the
user's scope on each request (villages.selectors.scope_for_user) and naming their area in
the navbar need no query of their own.

With a shared cache (Redis: CACHE_URL), the loaded login is also kept there for
LOGIN_CACHE_SECONDS, so a request reads its user as it reads its session, without a
query. Each login has a generation token beside it; a copy is used only while the token is
the one read before the copy was loaded. Whatever decides who a login is and what it may
see (the user row: password hash, is_active, is_superuser; its role and area; its cadre
record; the county of an official's township) draws a new token when it is saved or
deleted (`forget_login`, wired in villages.apps, and `forget_logins`, called by the bulk
writes that bypass save()), at once and again when the transaction commits. So a request
that loaded the old rows while they changed caches a copy nobody will use.

If Redis cannot be reached when a token is drawn, the change is logged, and the copies
already cached expire within LOGIN_CACHE_SECONDS (readers that cannot reach Redis read
the database). A county's or township's renaming reaches the copies within that time
too. Any cache failure while reading a login falls back to the database. Without a
shared cache (the embedded default) nothing is cached: a per-process copy could not be
dropped in the other workers.

What is cached is a plain dict of the fields a request reads (LOGIN_FIELDS): never the
password hash, the e-mail address or a cadre's phone number. The session check compares
the copy's session hash (an HMAC of the password hash, the value the session itself
holds); a field left out is loaded from the database if some code reads it (Django's
deferred fields), and a save of the rebuilt user writes only the fields it holds.

The keys name this database (`database_identity`, the Installation row drawn by its first
migration, read once per process) as well as the user id, and the cache has a KEY_PREFIX
per deployment (CACHE_KEY_PREFIX): a database recreated or restored under a warm Redis, or
another deployment on the same Redis, never meets another database's login under its id."""

import logging
import uuid

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.core.cache import caches
from django.db import DEFAULT_DB_ALIAS, connections, transaction

from core.cache import PortalRedisCache

logger = logging.getLogger(__name__)

# Part of the key: bump it when what is cached changes shape (fields, related rows).
LOGIN_CACHE_VERSION = 2

# What a request reads of a login, its role, area and cadre record. Nothing else is cached:
# no password hash, e-mail address or phone number.
LOGIN_FIELDS = {
    "user": (
        "id",
        "username",
        "first_name",
        "last_name",
        "is_active",
        "is_staff",
        "is_superuser",
        "last_login",
        "date_joined",
    ),
    "role": ("id", "user_id", "role", "county_id", "township_id"),
    "county": ("id", "code", "name", "kind"),
    "township": ("id", "code", "name", "kind", "county_id"),
    "cadre": ("id", "name", "work_unit_id", "position", "level", "user_id"),
}

_identities: dict[tuple, str] = {}


def database_identity() -> str:
    """This database's id (villages.models.Installation), read once per process and
    database address (a process that moves to another database, as the benches do, reads
    that one's)."""
    db = connections[DEFAULT_DB_ALIAS].settings_dict
    where = (db.get("HOST"), db.get("PORT"), db.get("NAME"))
    identity = _identities.get(where)
    if identity is None:
        from villages.models import Installation

        identity = _identities[where] = Installation.current_id().hex
    return identity


def forget_database_identity() -> None:
    """Read the database's id again on next use (a process that recreated its database)."""
    _identities.clear()


def login_cache_key(user_id) -> str:
    return f"portal:login:v{LOGIN_CACHE_VERSION}:{database_identity()}:{user_id}"


def login_generation_key(user_id) -> str:
    return f"portal:login-gen:{database_identity()}:{user_id}"


def _values(obj, kind: str) -> dict | None:
    return None if obj is None else {name: getattr(obj, name) for name in LOGIN_FIELDS[kind]}


def _related(obj, name: str):
    """The related row select_related loaded (None when there is none), without a query."""
    try:
        return getattr(obj, name)
    except obj._meta.get_field(name).related_model.DoesNotExist:
        return None


def login_copy(user, generation) -> dict:
    """The cached form of a login loaded by `PortalModelBackend._load`: plain values."""
    role, cadre = _related(user, "portal_role"), _related(user, "cadre")
    township = role.township if role is not None and role.township_id else None
    return {
        "generation": generation,
        "session_hash": user.get_session_auth_hash(),
        "user": _values(user, "user"),
        "role": _values(role, "role"),
        "role_county": _values(role.county if role and role.county_id else None, "county"),
        "township": _values(township, "township"),
        "township_county": _values(township.county if township else None, "county"),
        "cadre": _values(cadre, "cadre"),
    }


def _rebuilt(model, values: dict | None):
    if values is None:
        return None
    names = [f.attname for f in model._meta.concrete_fields if f.attname in values]
    return model.from_db(DEFAULT_DB_ALIAS, names, [values[name] for name in names])


def _cache_related(obj, name: str, value) -> None:
    obj._meta.get_field(name).set_cached_value(obj, value)


def login_from_copy(copy: dict):
    """The user a request sees, rebuilt from `login_copy`: the fields left out are
    deferred (read from the database if anything asks for them)."""
    from villages.models import Cadre, County, Township, UserRole

    user = _rebuilt(get_user_model(), copy["user"])
    role = _rebuilt(UserRole, copy["role"])
    if role is not None:
        township = _rebuilt(Township, copy["township"])
        if township is not None:
            _cache_related(township, "county", _rebuilt(County, copy["township_county"]))
        _cache_related(role, "township", township)
        _cache_related(role, "county", _rebuilt(County, copy["role_county"]))
        _cache_related(role, "user", user)
    cadre = _rebuilt(Cadre, copy["cadre"])
    if cadre is not None:
        _cache_related(cadre, "user", user)
    _cache_related(user, "portal_role", role)
    _cache_related(user, "cadre", cadre)
    session_hash = copy["session_hash"]

    def get_session_auth_hash():
        # the copy's hash, until the password is read or set on this object
        if "password" in user.__dict__:
            return type(user).get_session_auth_hash(user)
        return session_hash

    user.get_session_auth_hash = get_session_auth_hash
    return user


def forget_logins(user_ids) -> None:
    """Retire the cached logins of `user_ids`: now, and again when the current transaction
    commits (a request between the two may have cached the rows about to change)."""
    ids = {pk for pk in user_ids if pk is not None}
    if not ids or not settings.LOGIN_CACHE_SECONDS:
        return
    _new_generations(ids)
    transaction.on_commit(lambda: _new_generations(ids), robust=True)


def _new_generations(ids) -> None:
    cache = caches["default"]
    tokens = {login_generation_key(pk): uuid.uuid4().hex for pk in ids}
    # A token outlives every copy cached before it was drawn (they last LOGIN_CACHE_SECONDS).
    timeout = 2 * settings.LOGIN_CACHE_SECONDS + 60
    try:
        if isinstance(cache, PortalRedisCache):
            # straight to Redis, even inside the fault-tolerant cache's quiet spell after an
            # error: a login must not outlive its change because of an earlier hiccup
            PortalRedisCache.set_many(cache, tokens, timeout=timeout)
        else:
            cache.set_many(tokens, timeout=timeout)
    except Exception:
        logger.warning(
            "缓存服务不可用，登录缓存未能立即失效（%s 秒内自动过期）：用户 %s",
            settings.LOGIN_CACHE_SECONDS,
            sorted(ids),
            exc_info=True,
        )
    cache.delete_many([login_cache_key(pk) for pk in ids])


def forget_login(sender, instance, update_fields=None, **kwargs) -> None:
    """post_save / post_delete receiver for the user, UserRole and Cadre models."""
    if update_fields is not None and set(update_fields) <= {"last_login"}:
        return  # signing in: nothing that the cached copy decides with
    user_id = instance.pk if isinstance(instance, get_user_model()) else instance.user_id
    forget_logins([user_id, getattr(instance, "_login_user_id_before", None)])


def forget_township_officials(sender, instance, **kwargs) -> None:
    """post_save receiver for Township: its officials' county comes with their login."""
    from villages.models import UserRole

    if settings.LOGIN_CACHE_SECONDS and instance.pk:
        forget_logins(
            UserRole.objects.filter(township_id=instance.pk).values_list("user_id", flat=True)
        )


def note_previous_login(sender, instance, raw=False, update_fields=None, **kwargs) -> None:
    """pre_save receiver for UserRole and Cadre: a row moved from one login to another
    must retire the old login's copy too (a save naming its fields without "user" cannot
    move it: no query then)."""
    if raw or not settings.LOGIN_CACHE_SECONDS or instance.pk is None:
        return
    if update_fields is not None and not {"user", "user_id"} & set(update_fields):
        return
    instance._login_user_id_before = (
        sender._default_manager.filter(pk=instance.pk).values_list("user_id", flat=True).first()
    )


class PortalModelBackend(ModelBackend):
    def get_user(self, user_id):
        if not settings.LOGIN_CACHE_SECONDS:
            return self._checked(self._load(user_id))
        cache = caches["default"]
        key, generation_key = login_cache_key(user_id), login_generation_key(user_id)
        try:
            found = cache.get_many([key, generation_key])
        except Exception:  # e.g. a copy pickled by an older release
            logger.warning("登录缓存读取失败，改为查询数据库", exc_info=True)
            found = {}
        generation, entry = found.get(generation_key), found.get(key)
        if isinstance(entry, dict) and entry.get("generation") == generation:
            try:
                return self._checked(login_from_copy(entry))
            except Exception:  # a copy of another shape: read the database
                logger.warning("登录缓存内容无法使用，改为查询数据库", exc_info=True)
        user = self._load(user_id)
        if user is not None:
            try:
                cache.set(key, login_copy(user, generation), settings.LOGIN_CACHE_SECONDS)
            except Exception:  # e.g. a read-only replica after a failover
                logger.warning("登录缓存写入失败", exc_info=True)
        return self._checked(user)

    def _checked(self, user):
        return user if user is not None and self.user_can_authenticate(user) else None

    def _load(self, user_id):
        users = get_user_model()._default_manager.select_related(
            "portal_role__township__county", "portal_role__county", "cadre"
        )
        try:
            return users.get(pk=user_id)
        except users.model.DoesNotExist:
            return None
