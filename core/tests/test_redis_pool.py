from django.conf import settings
from django.core.cache import caches
from redis import BlockingConnectionPool


def test_the_cache_waits_for_a_free_redis_connection_instead_of_failing():
    for alias in ("default", "platform"):
        pool = caches[alias].client.get_client().connection_pool
        assert isinstance(pool, BlockingConnectionPool)
        assert pool.max_connections == settings.REDIS_MAX_CONNECTIONS
    assert caches["platform"].get("nothing-here") is None  # and it still talks to the real Redis
