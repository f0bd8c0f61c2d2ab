"""REDIS_SENTINELS: the settings it builds, the system check of their consistency, and core.redis's Sentinel pool
(the failover itself, on real processes, is tests/e2e/test_sentinel.py)."""

import json
import os
import subprocess

import pytest
import redis
from django.conf import settings
from django.test import override_settings
from redis.sentinel import SentinelManagedConnection

from config.settings.sentinel import parse_sentinels
from core import redis as core_redis
from core.exceptions import REDIS_UNREACHABLE
from tests.helpers import BASE_DIR, PYTHON, free_port
from tests.test_settings import MASTER_SECRETS

SENTINELS = [("127.0.0.1", 26379), ("127.0.0.1", 26380), ("127.0.0.1", 26381)]
QUEUE = {"SENTINELS": SENTINELS, "MASTER_NAME": "main", "DB": 2, "DEFAULT_TIMEOUT": 300}


def test_sentinel_addresses_are_parsed_and_a_missing_port_is_refused():
    assert parse_sentinels(" 10.0.0.1:26379, sentinel-2:26380,[::1]:26381 ,") == [
        ("10.0.0.1", 26379),
        ("sentinel-2", 26380),
        ("::1", 26381),
    ]
    assert parse_sentinels("") == []
    with pytest.raises(ValueError, match="'sentinel-3' is not host:port"):
        parse_sentinels("10.0.0.1:26379,sentinel-3")


@pytest.mark.slow
def test_production_settings_name_the_master_everywhere_when_only_sentinels_are_given():
    env = {key: value for key, value in os.environ.items() if not key.startswith(("DJANGO_", "REDIS_"))}
    env.update({key: value for key, value in MASTER_SECRETS.items() if key != "REDIS_URL"})
    env.update(
        REDIS_SENTINELS="127.0.0.1:26379,127.0.0.1:26380,127.0.0.1:26381",
        REDIS_SENTINEL_MASTER="main",
        REDIS_SENTINEL_DB="2",
        REDIS_PASSWORD="p@ss/word",
        REDIS_SENTINEL_PASSWORD="sentinels-own",
        DJANGO_SETTINGS_MODULE="config.settings.master",
    )
    script = (
        "import django, json; django.setup(); from django.conf import settings as s; from core.redis import "
        "sentinel_settings_check as c; print(json.dumps({'url': s.REDIS_URL, 'cache': s.CACHES['default']"
        "['LOCATION'], 'queue': s.RQ_QUEUES[s.JOBS_QUEUE], 'check': [m.id for m in c()]}))"
    )
    result = subprocess.run([PYTHON, "-c", script], env=env, capture_output=True, text=True, timeout=60, cwd=BASE_DIR)
    assert result.returncode == 0, result.stderr[-3000:]
    found = json.loads(result.stdout.strip().splitlines()[-1])
    assert found["url"] == found["cache"] == "redis://:p%40ss%2Fword@main/2"
    queue = found["queue"]
    assert "URL" not in queue  # django-rq would take a URL before its SENTINELS
    assert queue["SENTINELS"] == [["127.0.0.1", 26379], ["127.0.0.1", 26380], ["127.0.0.1", 26381]]
    assert (queue["MASTER_NAME"], queue["DB"], queue["PASSWORD"]) == ("main", 2, "p@ss/word")
    assert queue["SENTINEL_KWARGS"]["password"] == "sentinels-own"
    assert found["check"] == []


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({}, []),
        ({"REDIS_SENTINELS": []}, ["core.E101"]),
        ({"REDIS_SENTINEL_MASTER": ""}, ["core.E102"]),
        ({"REDIS_URL": "redis://127.0.0.1:6379/2"}, ["core.E103"]),
        ({"RQ_QUEUES": {"default": {**QUEUE, "URL": "redis://main/2"}}}, ["core.E104"]),
        ({"RQ_QUEUES": {"default": {**QUEUE, "DB": 0}}}, ["core.E104"]),
        ({"REDIS_SENTINELS": SENTINELS[:2]}, ["core.W105"]),
    ],
)
def test_the_check_names_what_does_not_agree(overrides, expected):
    consistent = {
        "REDIS_SENTINELS": SENTINELS,
        "REDIS_SENTINEL_MASTER": "main",
        "REDIS_URL": "redis://main/2",
        "JOBS_QUEUE": "default",
        "RQ_QUEUES": {"default": QUEUE},
    }
    with override_settings(**{**consistent, **overrides}):
        assert [message.id for message in core_redis.sentinel_settings_check()] == expected


def test_without_sentinels_the_check_is_silent_and_pools_are_plain():
    assert settings.REDIS_SENTINELS == []
    assert core_redis.sentinel_settings_check() == []
    assert not core_redis.is_sentinel_url(settings.REDIS_URL)


@pytest.fixture
def sentinel_pools(monkeypatch):
    """core.redis's pools and sentinel client of this test only."""
    monkeypatch.setattr(core_redis, "_pools", {})
    monkeypatch.setattr(core_redis, "_clients", {})
    monkeypatch.setattr(core_redis, "_sentinel", None)
    return core_redis


def test_the_masters_pool_is_sentinel_managed_bounded_and_blocking(sentinel_pools):
    with override_settings(REDIS_SENTINELS=SENTINELS, REDIS_SENTINEL_MASTER="main"):
        pool = sentinel_pools.get_pool("redis://:secret@main/3")
        assert isinstance(pool, core_redis.SentinelBlockingConnectionPool)
        assert isinstance(pool, redis.BlockingConnectionPool)
        assert pool.service_name == "main" and pool.is_master
        assert pool.connection_class is SentinelManagedConnection
        assert (pool.connection_kwargs["db"], pool.connection_kwargs["password"]) == (3, "secret")
        assert pool.max_connections == settings.REDIS_MAX_CONNECTIONS
        assert pool.timeout == core_redis.POOL_TIMEOUT_SECONDS
        assert sentinel_pools.get_pool("redis://:secret@main/3") is pool  # one per URL and process
        # Another host is not the Sentinel master: a plain pool.
        assert not isinstance(sentinel_pools.get_pool("redis://127.0.0.1:6379/0"), core_redis.SentinelConnectionPool)


def test_no_sentinel_answering_is_redis_unreachable(sentinel_pools):
    with override_settings(REDIS_SENTINELS=[("127.0.0.1", free_port())], REDIS_SENTINEL_MASTER="main"):
        client = sentinel_pools.get_redis("redis://main/0")
        with pytest.raises(REDIS_UNREACHABLE):  # MasterNotFoundError: core.exceptions answers it with a 503
            client.ping()
