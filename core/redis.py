"""The process's Redis: one bounded connection pool per URL, shared by the caches, the jobs queue and the
access_token holder, so REDIS_MAX_CONNECTIONS bounds every Redis connection of a process together.

A request past the bound waits (up to POOL_TIMEOUT_SECONDS) for a connection to come free instead of failing;
after the wait redis-py raises its ConnectionError, which core.exceptions counts as Redis being unreachable.
A pool made before a fork (rq's work horse, gunicorn's workers) is not shared by the child: redis-py's pool
compares its pid with the process's at every checkout and drops the parent's connections (`_checkpid`).
"""

import threading
from typing import Any

import redis
from django.conf import settings
from django_redis.pool import ConnectionFactory

from core import metrics

POOL_TIMEOUT_SECONDS = 5


class CountingConnectionPool(redis.BlockingConnectionPool):
    """redis-py's blocking pool, counting the connections it could not give (refused, timed out, exhausted)."""

    def get_connection(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().get_connection(*args, **kwargs)
        except redis.ConnectionError:
            metrics.redis_error("pool")
            raise


_pools: dict[str, redis.BlockingConnectionPool] = {}
_clients: dict[str, Any] = {}  # redis.Redis, or the embedded default's fakeredis under ""
_lock = threading.Lock()


def get_pool(url: str) -> redis.BlockingConnectionPool:
    """This process's one pool for `url` (made on first use)."""
    with _lock:
        if url not in _pools:
            _pools[url] = CountingConnectionPool.from_url(
                url, max_connections=settings.REDIS_MAX_CONNECTIONS, timeout=POOL_TIMEOUT_SECONDS
            )
        return _pools[url]


def get_redis(url: str | None = None) -> Any:  # -> redis.Redis (or a fakeredis.FakeRedis stand-in)
    """The client for `url` (REDIS_URL by default) on the shared pool; without a URL, the embedded default's
    in-process fakeredis (`./dev serve`: no Redis server, one stand-in per process for everyone)."""
    url = settings.REDIS_URL if url is None else url
    with _lock:
        client = _clients.get(url)
    if client is not None:
        return client
    if url:
        client = redis.Redis(connection_pool=get_pool(url))  # bytes in and out: rq needs decode_responses off
    else:
        import fakeredis

        client = fakeredis.FakeRedis()
    with _lock:
        return _clients.setdefault(url, client)


class SharedPoolConnectionFactory(ConnectionFactory):
    """django-redis' CONNECTION_FACTORY: its clients draw from get_pool(), not from a pool of their own."""

    def get_or_create_connection_pool(self, params: dict[str, Any]) -> Any:
        return get_pool(params["url"])
