"""Django's Redis cache backend, with one Redis client per connection pool.

Django's `RedisCacheClient.get_client()` builds a new `redis.Redis` object for every cache
operation. redis-py 8 fills a table of about 170 response callbacks in each new client, so a
request that reads its session and one cached page spent more time building clients than
talking to Redis. A `redis.Redis` client is thread-safe and holds no connection of its own
(it borrows one from the pool per command), so one per pool is kept and reused.
"""

from django.core.cache.backends.redis import RedisCache, RedisCacheClient


class PooledClientRedisCacheClient(RedisCacheClient):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._clients = {}

    def get_client(self, key=None, *, write=False):
        pool = self._get_connection_pool(write)
        client = self._clients.get(id(pool))
        if client is None:
            client = self._clients[id(pool)] = self._client(connection_pool=pool)
        return client


class PortalRedisCache(RedisCache):
    def __init__(self, server, params):
        super().__init__(server, params)
        self._class = PooledClientRedisCacheClient
