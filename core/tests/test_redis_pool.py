import os

import fakeredis
import pytest
from django.conf import settings
from django.core.cache import caches
from django_redis import get_redis_connection
from redis import BlockingConnectionPool

from accounts.wechat_access import access_token_holder
from core.exceptions import REDIS_UNREACHABLE, is_unreachable
from core.redis import POOL_TIMEOUT_SECONDS, get_pool, get_redis
from tenants.jobs import get_connection, get_queue
from tenants.worker import TenantWorker


def test_every_redis_client_of_the_process_draws_from_one_bounded_pool():
    pool = get_pool(settings.REDIS_URL)
    assert isinstance(pool, BlockingConnectionPool)
    assert pool.max_connections == settings.REDIS_MAX_CONNECTIONS
    assert pool.timeout == POOL_TIMEOUT_SECONDS
    clients = {
        "default cache": get_redis_connection("default"),
        "platform cache": get_redis_connection("platform"),
        "jobs queue": get_connection(),
        "queue object": get_queue().connection,
        "token holder": access_token_holder()._redis,
        "core.redis": get_redis(),
    }
    assert {name: client.connection_pool for name, client in clients.items()} == dict.fromkeys(clients, pool)
    assert all(client.connection_pool is pool for client in clients.values())
    assert get_redis() is get_redis(settings.REDIS_URL)  # one client too, not one per call
    assert caches["platform"].get("nothing-here") is None  # and the cache still talks to the real Redis
    assert get_connection().ping() is True


def test_a_forked_child_does_not_use_the_connections_of_its_parent():
    # rq's work horse and gunicorn's workers are forks: redis-py's pool notices the new pid and starts afresh.
    pool = get_pool(settings.REDIS_URL)
    get_redis().ping()
    inherited = set(map(id, pool._connections))
    assert inherited
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - the child reports through the pipe
        ok = False
        try:
            get_redis().ping()
            ok = pool.pid == os.getpid() and not inherited & set(map(id, pool._connections))
        finally:
            os.write(write, b"1" if ok else b"0")
            os._exit(0)
    os.close(write)
    answer = os.read(read, 1)
    os.waitpid(child, 0)
    assert answer == b"1"
    assert pool.pid == os.getpid()  # the parent's pool is untouched


def test_without_a_redis_url_the_process_shares_one_in_process_stand_in():
    assert isinstance(get_redis(""), fakeredis.FakeRedis)
    assert get_redis("") is get_redis("")


def test_the_rq_worker_django_rq_builds_uses_the_shared_pool_too():
    import django_rq

    worker = django_rq.get_worker(settings.JOBS_QUEUE)
    assert isinstance(worker, TenantWorker)
    pool = get_pool(settings.REDIS_URL)
    assert worker.connection.connection_pool is pool
    assert all(queue.connection.connection_pool is pool for queue in worker.queues)


def test_a_pool_that_stays_exhausted_past_its_wait_counts_as_redis_unreachable():
    # The error redis-py raises after the wait is the one every caller already handles (a miss, a 503, a retry).
    pool = BlockingConnectionPool.from_url(settings.REDIS_URL, max_connections=1, timeout=0.1)
    held = pool.get_connection()
    try:
        with pytest.raises(Exception) as caught:
            pool.get_connection()
    finally:
        pool.release(held)
        pool.disconnect()
    assert isinstance(caught.value, REDIS_UNREACHABLE)
    assert is_unreachable(caught.value)  # a 503 with Retry-After where it reaches a view


def test_a_new_connection_does_not_look_up_redis_py_s_version_in_the_package_metadata(monkeypatch):
    # Each rq work horse opens new connections; the metadata lookup was 4 ms of every job (core.redis._driver_info).
    import redis.utils

    def looked_up(name: str) -> str:
        raise AssertionError(f"importlib.metadata.version({name!r}) was called for a new connection")

    monkeypatch.setattr(redis.utils.metadata, "version", looked_up)
    connection = get_pool(settings.REDIS_URL).make_connection()
    try:
        connection.connect()
        assert connection.driver_info.lib_version == redis.__version__
    finally:
        connection.disconnect()
