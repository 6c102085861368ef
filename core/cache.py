"""Django's Redis cache backend, with one Redis client per connection pool, and one that a
Redis outage cannot turn into 500s.

One client per pool: Django's `RedisCacheClient.get_client()` builds a new `redis.Redis`
object for every cache operation. redis-py 8 fills a table of about 170 response callbacks
in each new client, so a request that reads its session and one cached page spent more time
building clients than talking to Redis. A `redis.Redis` client is thread-safe and holds no
connection of its own (it borrows one from the pool per command), so one per pool is kept
and reused.

Outages: everything the portal keeps in the cache can be recomputed or read elsewhere:
sessions are written through to the database (`cached_db`), dashboard bodies are rebuilt
from the snapshots, import progress is a hint. So while Redis is stopped, unreachable or
hanging, `FaultTolerantRedisCache` answers like an empty cache (reads miss, writes are
dropped, `add` reports that it did not add) and logs the outage, instead of raising.
After a failure it does not try Redis again for `DOWN_SECONDS`, so a request pays at most
one short timeout (`socket_connect_timeout` / `socket_timeout` in OPTIONS, defaults below).
A delete that could not reach Redis is done once it answers again (a session signed out
during the outage must not come back from a Redis that kept its data).
"""

from __future__ import annotations

import logging
import threading
import time

from django.core.cache.backends.base import DEFAULT_TIMEOUT
from django.core.cache.backends.redis import RedisCache, RedisCacheClient
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)

OUTAGE = (RedisConnectionError, RedisTimeoutError, OSError)
DOWN_SECONDS = 5.0
DEFAULT_OPTIONS = {"socket_connect_timeout": 1.0, "socket_timeout": 2.0}
# INCRBY on a key that exists, in one round trip; nil (ValueError in Django) when it doesn't.
INCR_EXISTING = (
    "if redis.call('exists', KEYS[1]) == 1 then "
    "return redis.call('incrby', KEYS[1], ARGV[1]) end return false"
)


class PooledClientRedisCacheClient(RedisCacheClient):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients = {}
        self._scripts = {}

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        client = self._clients.get(id(pool))
        if client is None:
            client = self._clients[id(pool)] = self._client(connection_pool=pool)
        return client

    def incr(self, key, delta):
        # Django asks EXISTS, then INCRBY: two round trips, and a key that expires between
        # them comes back as a new key without its timeout. One script does both at once.
        client = self.get_client(key, write=True)
        script = self._scripts.get(id(client))
        if script is None:
            script = self._scripts[id(client)] = client.register_script(INCR_EXISTING)
        value = script(keys=[key], args=[delta])
        if value is None:
            raise ValueError(f"Key '{key}' not found.")
        return value


class PortalRedisCache(RedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = PooledClientRedisCacheClient


class FaultTolerantRedisCache(PortalRedisCache):
    def __init__(self, server, params):
        params = dict(params)
        params["OPTIONS"] = {**DEFAULT_OPTIONS, **params.get("OPTIONS", {})}
        super().__init__(server, params)
        self._down_until = 0.0
        self._lock = threading.Lock()
        self._delete_later: set[str] = set()

    def _call(self, name: str, missed, *args, **kwargs):
        if time.monotonic() < self._down_until:
            return missed
        try:
            result = getattr(super(), name)(*args, **kwargs)
        except OUTAGE as exc:
            self._went_down(exc)
            return missed
        if self._delete_later:
            self._flush_deletes()
        return result

    def _went_down(self, exc) -> None:
        with self._lock:
            first = time.monotonic() >= self._down_until
            self._down_until = time.monotonic() + DOWN_SECONDS
        if first:
            logger.warning("缓存服务(Redis)不可用，暂按无缓存处理：%s", exc)

    def _flush_deletes(self) -> None:
        with self._lock:
            keys, self._delete_later = list(self._delete_later), set()
        try:
            self._cache.delete_many(keys)
        except OUTAGE as exc:
            with self._lock:
                self._delete_later.update(keys)
            self._went_down(exc)

    def get(self, key, default=None, version=None):
        return self._call("get", default, key, default=default, version=version)

    def get_many(self, keys, version=None):
        return self._call("get_many", {}, keys, version=version)

    def has_key(self, key, version=None):
        return self._call("has_key", False, key, version=version)

    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        return self._call("add", False, key, value, timeout=timeout, version=version)

    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        self._call("set", None, key, value, timeout=timeout, version=version)

    def set_many(self, data, timeout=DEFAULT_TIMEOUT, version=None):
        return self._call("set_many", list(data), data, timeout=timeout, version=version)

    def touch(self, key, timeout=DEFAULT_TIMEOUT, version=None):
        return self._call("touch", False, key, timeout=timeout, version=version)

    def delete(self, key, version=None):
        deleted = self._call("delete", None, key, version=version)
        if deleted is None:
            self._remember_deletes([key], version)
            return False
        return deleted

    def delete_many(self, keys, version=None):
        keys = list(keys)
        if self._call("delete_many", False, keys, version=version) is False:
            self._remember_deletes(keys, version)

    def _remember_deletes(self, keys, version) -> None:
        with self._lock:
            self._delete_later.update(self.make_and_validate_key(k, version=version) for k in keys)

    def incr(self, key, delta=1, version=None):
        # Callers of incr expect a number or a ValueError for a missing key.
        result = self._call("incr", None, key, delta=delta, version=version)
        if result is None:
            raise ValueError(f"Key '{key}' not found (cache unavailable)")
        return result

    def clear(self):
        return self._call("clear", False)
