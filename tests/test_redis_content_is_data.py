"""Whoever can write to Redis cannot run code here: every cached value is JSON, and one that is not is a miss.

The attack of issue 12.4: a pickled object written into a registry cache key ran a command in the web worker on
the next request with that AppID. Here every string key the requests leave in Redis is overwritten with such
an object (one that would write a marker file when unpickled), and the same requests are sent again.
"""

import pickle
import zlib
from pathlib import Path

import pytest
from django.conf import settings
from django.core.cache import caches
from django_redis import get_redis_connection
from redis import Redis

from api.tests.conftest import TenantClient
from core.tenant_context import activate_tenant
from tenants import cache as registry_cache
from tenants.jobs import enqueue
from tenants.models import Tenant
from tenants.selectors import tenant_context_for
from tests.helpers import TENANT_A
from tests.job_functions import record_database
from tests.workers import fetch, running_workers, status, wait_for

pytestmark = pytest.mark.usefixtures("wechat")


class WritesAMarker:
    """Unpickled, it calls Path.write_text: code chosen by whoever wrote the value."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):  # noqa: ANN204
        return (Path.write_text, (self.marker, "owned"))


def redis_client() -> Redis:
    return get_redis_connection("default")


def poison_every_cached_string(payload: bytes) -> int:
    client = redis_client()
    poisoned = 0
    for key in client.scan_iter(match=f"{settings.CACHE_KEY_PREFIX}*", count=1000):
        if client.type(key) == b"string":
            client.set(key, payload, keepttl=True)
            poisoned += 1
    return poisoned


def test_a_pickled_object_in_any_cache_key_is_a_miss_not_code(tmp_path, caplog):
    marker = tmp_path / "marker"
    client = TenantClient(TENANT_A)
    assert client.login("code-pickle").status_code == 200
    assert client.get("/api/v1/ping").status_code == 200
    assert client.get("/api/v1/me").status_code == 200

    assert poison_every_cached_string(pickle.dumps(WritesAMarker(marker))) > 0
    registry_cache.clear_local()  # the next lookup must go to Redis, where the poison is
    caplog.clear()

    assert client.get("/api/v1/ping").status_code == 200
    me = client.get("/api/v1/me")
    assert me.status_code == 200, me.content
    assert me.json()["openid"]
    assert not marker.exists(), "a value read from Redis was unpickled"


def test_a_value_that_is_not_json_is_a_miss_and_a_warning(caplog):
    cache = caches["platform"]
    cache.set("poison-probe", {"kept": True})
    assert cache.get("poison-probe") == {"kept": True}
    redis_client().set(cache.make_key("poison-probe"), b"\x80\x04not json")
    assert cache.get("poison-probe", "default") == "default"
    assert cache.get_many(["poison-probe"]) == {}
    assert "not JSON" in caplog.text


@pytest.mark.slow
def test_a_pickled_job_payload_is_a_failed_job_not_code(queue_name, tmp_path):
    """rq pickles a job's call by default: here every job is JSON, so a payload someone wrote into Redis fails."""
    marker = tmp_path / "marker"
    with activate_tenant(tenant_context_for(Tenant.objects.get(app_id=TENANT_A))):
        job_id = enqueue(record_database, "pickled")
    job = fetch(job_id)
    assert job.func_name == "tests.job_functions.record_database"  # stored as JSON, readable as such
    job.connection.hset(job.key, "data", zlib.compress(pickle.dumps(WritesAMarker(marker))))

    with running_workers(1, tmp_path) as workers:
        wait_for(lambda: status(job_id) == "failed", 30, lambda: workers[0].log())
    assert not marker.exists(), "a job payload read from Redis was unpickled"
