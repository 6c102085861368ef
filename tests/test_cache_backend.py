"""The portal's Redis cache backend keeps one client per connection pool."""

from core.cache import PortalRedisCache


def test_one_redis_client_is_reused_for_every_cache_call():
    # Building the backend and its clients opens no connection: no Redis needed here.
    backend = PortalRedisCache("redis://127.0.0.1:6379/9", {})
    client = backend._cache.get_client("a")
    assert backend._cache.get_client("b", write=True) is client
    assert client.connection_pool is backend._cache._get_connection_pool(write=False)
