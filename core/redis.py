"""The process's Redis: one bounded connection pool per URL, shared by the caches, the jobs queue and the
access_token holder, so REDIS_MAX_CONNECTIONS bounds every Redis connection of a process together.

A request past the bound waits (up to POOL_TIMEOUT_SECONDS) for a connection to come free instead of failing;
after the wait redis-py raises its ConnectionError, which core.exceptions counts as Redis being unreachable.
A pool made before a fork (rq's work horse, gunicorn's workers) is not shared by the child: redis-py's pool
compares its pid with the process's at every checkout and drops the parent's connections (`_checkpid`).

With REDIS_SENTINELS (config/settings/sentinel.py) a URL whose host is REDIS_SENTINEL_MASTER is the master the
sentinels name: its pool is redis-py's Sentinel-managed one, as bounded and blocking as the plain pool. Each new
connection asks the sentinels for the master's address; after a failover the connections to the old master fail
once (refused, or READONLY once it is a replica), redis-py's retry reconnects, and the pool drops the rest.
"""

import threading
from typing import Any
from urllib.parse import unquote, urlparse

import redis
from django.conf import settings
from django.core import checks
from django_redis.pool import ConnectionFactory
from redis.driver_info import DriverInfo
from redis.sentinel import Sentinel, SentinelConnectionPool

from core import metrics

POOL_TIMEOUT_SECONDS = 5


def _driver_info() -> DriverInfo:
    """What a new connection tells Redis (CLIENT SETINFO), with the version given instead of looked up.

    Left to itself, redis-py reads its version from the installed package's metadata (importlib.metadata) for
    every new connection: 4 ms each here. Every rq work horse opens new connections (a pool is not shared
    across a fork), so that was a quarter of a no-op job's time (benchmarks/results/2026-12-01-profiles.md).
    """
    return DriverInfo(lib_version=redis.__version__)


class CountingConnectionPool(redis.BlockingConnectionPool):
    """redis-py's blocking pool, counting the connections it could not give (refused, timed out, exhausted)."""

    def get_connection(self, *args: Any, **kwargs: Any) -> Any:
        try:
            return super().get_connection(*args, **kwargs)
        except redis.ConnectionError:
            metrics.redis_error("pool")
            raise


class SentinelBlockingConnectionPool(SentinelConnectionPool, CountingConnectionPool):
    """redis-py's Sentinel-managed pool (master discovery, READONLY -> reconnect) on the blocking, counted pool."""


_pools: dict[str, redis.BlockingConnectionPool] = {}
_clients: dict[str, Any] = {}  # redis.Redis, or the embedded default's fakeredis under ""
_lock = threading.Lock()


def get_pool(url: str) -> redis.BlockingConnectionPool:
    """This process's one pool for `url` (made on first use)."""
    with _lock:
        if url not in _pools:
            if is_sentinel_url(url):
                _pools[url] = _sentinel_pool(url)
            else:
                _pools[url] = CountingConnectionPool.from_url(
                    url,
                    max_connections=settings.REDIS_MAX_CONNECTIONS,
                    timeout=POOL_TIMEOUT_SECONDS,
                    driver_info=_driver_info(),
                )
        return _pools[url]


def is_sentinel_url(url: str) -> bool:
    """Whether `url` names the Sentinel-monitored master (redis://[:password@]<REDIS_SENTINEL_MASTER>/<db>)."""
    return bool(settings.REDIS_SENTINELS) and urlparse(url).hostname == settings.REDIS_SENTINEL_MASTER.lower()


_sentinel: Sentinel | None = None


def get_sentinel() -> Sentinel:
    """This process's one client of the sentinels (called with _lock held)."""
    global _sentinel
    if _sentinel is None:
        # The connections to the sentinels themselves: their password, and a short wait before the next one.
        options: dict[str, Any] = {"socket_timeout": settings.REDIS_SENTINEL_SOCKET_TIMEOUT}
        if settings.REDIS_SENTINEL_PASSWORD:
            options["password"] = settings.REDIS_SENTINEL_PASSWORD
        _sentinel = Sentinel(settings.REDIS_SENTINELS, sentinel_kwargs=options)
    return _sentinel


def _sentinel_pool(url: str) -> SentinelBlockingConnectionPool:
    parsed = urlparse(url)
    return SentinelBlockingConnectionPool(
        settings.REDIS_SENTINEL_MASTER,
        get_sentinel(),
        db=int(parsed.path.lstrip("/") or 0),
        username=unquote(parsed.username) if parsed.username else None,
        password=unquote(parsed.password) if parsed.password else None,
        max_connections=settings.REDIS_MAX_CONNECTIONS,
        timeout=POOL_TIMEOUT_SECONDS,
        socket_connect_timeout=POOL_TIMEOUT_SECONDS,
        driver_info=_driver_info(),
    )


@checks.register(checks.Tags.caches)
def sentinel_settings_check(**kwargs: Any) -> list[checks.CheckMessage]:
    """REDIS_SENTINELS, REDIS_SENTINEL_MASTER and REDIS_URL agree (config/settings/sentinel.py)."""
    sentinels, master = settings.REDIS_SENTINELS, settings.REDIS_SENTINEL_MASTER
    if not sentinels and not master:
        return []
    if not sentinels:
        return [checks.Error("REDIS_SENTINEL_MASTER is set but REDIS_SENTINELS is not", id="core.E101")]
    if not master:
        return [checks.Error("REDIS_SENTINELS is set but REDIS_SENTINEL_MASTER (the master's name) is not",
                             id="core.E102")]  # fmt: skip
    errors: list[checks.CheckMessage] = []
    if not is_sentinel_url(settings.REDIS_URL):
        errors.append(
            checks.Error(
                f"REDIS_URL must name the master {master!r} (redis://[:password@]{master}/<db>) with REDIS_SENTINELS,"
                " or be left unset",
                id="core.E103",
            )
        )
    queue = settings.RQ_QUEUES.get(settings.JOBS_QUEUE, {})
    url_db = int(urlparse(settings.REDIS_URL).path.lstrip("/") or 0)
    if queue.get("MASTER_NAME") != master or "URL" in queue or queue.get("DB") != url_db:
        errors.append(
            checks.Error(
                "RQ_QUEUES must use the Sentinel master and REDIS_URL's db (sentinel_rq_queue)", id="core.E104"
            )
        )
    if len(sentinels) < 3:
        errors.append(
            checks.Warning(
                f"{len(sentinels)} sentinel(s): a failover needs a majority, so fewer than 3 cannot survive"
                " the loss of one",
                id="core.W105",
            )
        )
    return errors


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
