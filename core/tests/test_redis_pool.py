from django.conf import settings
from django.core.cache import caches
from django_redis import get_redis_connection
from redis import BlockingConnectionPool


def test_the_cache_waits_for_a_free_redis_connection_instead_of_failing():
    for alias in ("default", "platform"):
        pool = get_redis_connection(alias).connection_pool
        assert isinstance(pool, BlockingConnectionPool)
        assert pool.max_connections == settings.REDIS_MAX_CONNECTIONS
    assert caches["platform"].get("nothing-here") is None  # and it still talks to the real Redis
