"""The registry cache: versioned entries in Redis, local copies vouched for by one shared generation.

Issue 12.6: a suspension could be undone for 300-600 s, by a lookup that read the row just before the
suspend committed and wrote the old entry back into Redis after the eviction, and by a suspend made while
Redis was unreachable. Both are reproduced here deterministically: the lookup's database read is hooked (the
`guard` of tenant_entry_get runs between the read and the Redis write), and Redis is a closed port.
"""

import json
import logging
from types import SimpleNamespace
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from redis.exceptions import ConnectionError as RedisConnectionError

from core.exceptions import ServiceUnavailable
from core.tenant_context import activate_tenant
from tenants import cache, models, selectors
from tenants.cache import TenantEntry
from tenants.exceptions import TenantNotFound, TenantSuspended
from tenants.models import Tenant
from tenants.selectors import tenant_entry_get, tenant_resolve
from tenants.services import tenant_drop, tenant_provision, tenant_resume, tenant_suspend
from tests.helpers import TENANT_A, TENANT_B, TENANT_C, log_queries

pytestmark = pytest.mark.usefixtures("tenant_db")
BOUND = 5.0
# AppIDs with an entry in the shared cache only: enough of them to show that the cost does not grow with them.
MANY_APP_IDS = [f"wx{index:016x}" for index in range(0x1000, 0x1000 + 200)]
UNKNOWN_APP_ID = "wx0000000000000fff"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now


class RedisSpy:
    """The registry's raw Redis client, recording the keys it GETs; `fail` makes every call raise."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.keys: list[str] = []
        self.fail = False
        real = cache._redis
        spy = self

        class Proxy:
            def __init__(self, client) -> None:  # noqa: ANN001
                self._client = client

            def __getattr__(self, name: str):  # noqa: ANN204
                return getattr(self._client, name)

            def get(self, key):  # noqa: ANN001, ANN202
                spy.keys.append(key)
                if spy.fail:
                    raise RedisConnectionError("Connection refused")
                return self._client.get(key)

            def register_script(self, source):  # noqa: ANN001, ANN202
                script = self._client.register_script(source)

                def run(**kwargs):  # noqa: ANN003, ANN202
                    if spy.fail:
                        raise RedisConnectionError("Connection refused")
                    return script(**kwargs)

                return run

        monkeypatch.setattr(cache, "_redis", lambda: Proxy(real()))

    def take(self) -> list[str]:
        keys, self.keys = self.keys, []
        return keys


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch, settings) -> Clock:  # noqa: ANN001
    settings.TENANT_LOCAL_CACHE_SECONDS = BOUND
    clock = Clock()
    monkeypatch.setattr(cache, "time", SimpleNamespace(monotonic=clock.monotonic))
    return clock


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> RedisSpy:
    return RedisSpy(monkeypatch)


@pytest.fixture
def redis_down(settings) -> None:  # noqa: ANN001
    """The platform cache on a closed port: every Redis call of the registry fails as in an outage."""
    platform = dict(settings.CACHES["platform"])
    platform["LOCATION"] = "redis://127.0.0.1:9/0"  # discard: nothing listens there
    platform["OPTIONS"] = {**platform["OPTIONS"], "SOCKET_CONNECT_TIMEOUT": 0.5, "SOCKET_TIMEOUT": 0.5}
    settings.CACHES = {**settings.CACHES, "platform": platform}


def registry_redis() -> Any:
    client = cache._redis()
    assert client is not None  # the test settings have Redis
    return client


def entry_of(app_id: str) -> TenantEntry:
    entry = tenant_entry_get(app_id=app_id)
    assert entry is not None
    return entry


def raw(app_id: str) -> Any:
    """The JSON stored in Redis for the AppID, or None."""
    value = registry_redis().get(cache.entry_key(app_id))
    return None if value is None else json.loads(value)


def fake_entry(app_id: str) -> TenantEntry:
    return TenantEntry(app_id=app_id, status="active", server="main", db_name=f"mp_fake_{app_id}", version=1)


def plant(app_id: str, entry: TenantEntry) -> None:
    """An entry in Redis as another process's lookup would have left it."""
    assert cache._shared_offer(app_id, entry, entry.version)


def bump_from_another_process() -> None:
    registry_redis().incr(cache.generation_key())


def row(app_id: str) -> Tenant:
    return Tenant.objects.get(app_id=app_id)


def suspend_as_another_process(app_id: str) -> None:
    """tenant_suspend, run by some other process: this one's copy is left as it was."""
    copy = cache._local[app_id]
    tenant_suspend(app_id=app_id)
    cache._local[app_id] = copy


def as_another_process() -> None:
    """A process that holds no copy yet (a new gunicorn worker, or a work horse forked from a fresh worker)."""
    cache.clear_local()


# --- The race of issue 12.6 --------------------------------------------------------------------------------


def test_an_entry_read_before_a_suspend_committed_is_never_written_back_after_it(monkeypatch):
    read_the_row = selectors._entry_from_database

    def read_then_suspend(app_id):  # noqa: ANN001, ANN202
        loaded = read_the_row(app_id)
        tenant_suspend(app_id=app_id)  # commits between this lookup's read and its write to Redis
        return loaded

    as_another_process()
    monkeypatch.setattr(selectors, "_entry_from_database", read_then_suspend)
    entry = tenant_entry_get(app_id=TENANT_B)
    monkeypatch.undo()
    # This one lookup answers what it read (the row as it was), and nothing of it is kept anywhere.
    assert entry is not None and entry.status == Tenant.Status.ACTIVE
    suspended = row(TENANT_B)
    assert raw(TENANT_B) == {"kind": "tombstone", "v": suspended.version}
    assert cache.local_get(TENANT_B) == (False, None)

    # Every later lookup, in this process or any other, and a work horse's, sees the suspension.
    with pytest.raises(TenantSuspended):
        tenant_resolve(app_id=TENANT_B)
    as_another_process()
    with pytest.raises(TenantSuspended):
        tenant_resolve(app_id=TENANT_B)
    assert raw(TENANT_B)["status"] == Tenant.Status.SUSPENDED and raw(TENANT_B)["v"] == suspended.version


def test_a_job_of_a_tenant_suspended_during_such_a_lookup_is_refused_by_the_next_work_horse(monkeypatch):
    """The worker looks the job's tenant up before forking (tenants.worker); its horse inherits what it found."""
    from tenants.jobs import JobTenantRefused, enqueue
    from tests.job_functions import record_database
    from tests.workers import fetch

    with activate_tenant(tenant_resolve(app_id=TENANT_B)):
        job_id = enqueue(record_database, "after-the-race")
    read_the_row = selectors._entry_from_database

    def read_then_suspend(app_id):  # noqa: ANN001, ANN202
        loaded = read_the_row(app_id)
        tenant_suspend(app_id=app_id)
        return loaded

    registry_redis().delete(cache.entry_key(TENANT_B))  # its Redis entry expired: the next lookup reads the row
    as_another_process()  # a web worker, whose lookup races the suspend
    monkeypatch.setattr(selectors, "_entry_from_database", read_then_suspend)
    tenant_entry_get(app_id=TENANT_B)
    monkeypatch.undo()
    assert Tenant.objects.get(app_id=TENANT_B).status == Tenant.Status.SUSPENDED
    as_another_process()  # the rq worker: it looks the tenant up (Redis), forks, and the horse decides
    tenant_entry_get(app_id=TENANT_B)
    with pytest.raises(JobTenantRefused) as refused:
        fetch(job_id).perform()
    assert refused.value.code == "tenant_suspended"


def test_an_older_entry_cannot_replace_a_newer_one_in_redis():
    old = entry_of(TENANT_B)
    tenant_suspend(app_id=TENANT_B)
    as_another_process()
    assert entry_of(TENANT_B).status == Tenant.Status.SUSPENDED  # version n+1 in Redis now

    assert cache._shared_offer(TENANT_B, old, old.version) is False
    assert raw(TENANT_B)["status"] == Tenant.Status.SUSPENDED


def test_a_resume_during_a_lookup_of_the_suspended_tenant_is_not_undone_either():
    tenant_suspend(app_id=TENANT_B)
    as_another_process()

    def resume_during(load):  # noqa: ANN001, ANN202
        loaded = load()
        tenant_resume(app_id=TENANT_B)
        return loaded

    with pytest.raises(TenantSuspended):
        tenant_resolve(app_id=TENANT_B, guard=resume_during)  # answered from what it read
    as_another_process()
    assert tenant_resolve(app_id=TENANT_B).app_id == TENANT_B


def test_a_negative_entry_read_before_a_tenant_became_active_is_not_kept():
    app_id = "wx00000000000000e5"

    def provision_during(load):  # noqa: ANN001, ANN202
        loaded = load()  # no row yet
        tenant_provision(app_id=app_id, name="Onboarded meanwhile")
        return loaded

    assert tenant_entry_get(app_id=app_id, guard=provision_during) is None
    assert raw(app_id)["kind"] == "tombstone"
    assert cache.local_get(app_id) == (False, None)
    assert tenant_resolve(app_id=app_id).app_id == app_id


# --- Redis unreachable when the change is made --------------------------------------------------------------


def test_a_suspend_while_redis_is_unreachable_is_refused_and_changes_nothing(redis_down):
    before = Tenant.objects.values("status", "version").get(app_id=TENANT_B)
    with pytest.raises(ServiceUnavailable) as refused:
        tenant_suspend(app_id=TENANT_B)
    assert refused.value.status == 503 and "not made" in refused.value.message
    assert Tenant.objects.values("status", "version").get(app_id=TENANT_B) == before

    with pytest.raises(CommandError, match="service_unavailable"):
        call_command("suspend_tenant", TENANT_B)
    with pytest.raises(CommandError, match="service_unavailable"):
        call_command("drop_tenant", TENANT_C, "--yes")
    assert Tenant.objects.values("status", "version").get(app_id=TENANT_B) == before
    assert Tenant.objects.filter(app_id=TENANT_C, status=Tenant.Status.ACTIVE).exists()


def test_the_platform_api_and_the_admin_refuse_a_suspend_while_redis_is_unreachable(admin_client, redis_down):
    before = Tenant.objects.values("status", "version").get(app_id=TENANT_B)
    response = admin_client.post(f"/platform/v1/tenants/{TENANT_B}/suspend")
    assert response.status_code == 503 and response.json()["error"]["code"] == "service_unavailable"
    assert response["Retry-After"]
    page = admin_client.post(
        "/admin/tenants/tenant/",
        {"action": "suspend_selected", "_selected_action": [str(row(TENANT_B).pk)]},
        follow=True,
    )
    assert "not made" in page.content.decode()
    assert Tenant.objects.values("status", "version").get(app_id=TENANT_B) == before


def test_after_a_refused_suspend_redis_comes_back_and_the_tenant_is_still_served_then_suspends(settings):
    as_another_process()
    assert tenant_resolve(app_id=TENANT_B).app_id == TENANT_B  # entry cached in Redis
    real_caches = settings.CACHES
    platform = {**real_caches["platform"], "LOCATION": "redis://127.0.0.1:9/0"}
    settings.CACHES = {**real_caches, "platform": platform}
    with pytest.raises(ServiceUnavailable):
        tenant_suspend(app_id=TENANT_B)
    settings.CACHES = real_caches
    as_another_process()
    assert tenant_resolve(app_id=TENANT_B).app_id == TENANT_B  # nothing was changed, so nothing is stale
    tenant_suspend(app_id=TENANT_B)
    with pytest.raises(TenantSuspended):
        tenant_resolve(app_id=TENANT_B)


def test_a_change_that_does_not_commit_withdraws_its_tombstone(monkeypatch):
    as_another_process()
    assert tenant_entry_get(app_id=TENANT_A) is not None
    before = row(TENANT_A)

    def failing_save(self, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        raise RuntimeError("the database went away mid-change")

    monkeypatch.setattr(Tenant, "save", failing_save)
    with pytest.raises(RuntimeError):
        tenant_suspend(app_id=TENANT_A)
    monkeypatch.undo()
    assert row(TENANT_A).status == Tenant.Status.ACTIVE and row(TENANT_A).version == before.version
    assert raw(TENANT_A) is None  # withdrawn: the next lookup caches the (unchanged) entry again
    as_another_process()
    assert entry_of(TENANT_A).version == before.version
    assert raw(TENANT_A)["kind"] == "entry"


# --- Drop, and an AppID created again -------------------------------------------------------------------


def test_a_dropped_tenant_is_unknown_at_once_and_once_created_again_known_at_once(monkeypatch):
    app_id = "wx00000000000000e6"
    tenant_provision(app_id=app_id, name="first life")
    assert tenant_resolve(app_id=app_id).app_id == app_id
    tenant_drop(app_id=app_id)
    with pytest.raises(TenantNotFound):
        tenant_resolve(app_id=app_id)
    assert raw(app_id)["kind"] == "missing"
    dropped_at = raw(app_id)["v"]

    # A clock far behind (another host's): the new row's versions start below the old tombstone's.
    monkeypatch.setattr(models, "version_initial", lambda: 1)
    monkeypatch.setattr(Tenant._meta.get_field("version"), "default", lambda: 1)
    tenant_provision(app_id=app_id, name="second life")
    assert row(app_id).version > dropped_at
    assert tenant_resolve(app_id=app_id).app_id == app_id
    as_another_process()
    assert tenant_resolve(app_id=app_id).app_id == app_id


# --- Records that do not decode ------------------------------------------------------------------------------


def test_records_that_are_not_ours_are_misses_and_a_suspend_still_works(caplog):
    client = registry_redis()
    client.set(cache.entry_key(TENANT_A), b"\x80\x04not json")
    client.set(cache.generation_key(), b"not a number")
    as_another_process()
    with caplog.at_level(logging.WARNING, logger="tenants.cache"):
        assert tenant_resolve(app_id=TENANT_A).app_id == TENANT_A
    assert "does not decode" in caplog.text
    assert raw(TENANT_A)["kind"] == "entry"
    tenant_suspend(app_id=TENANT_A)
    assert int(client.get(cache.generation_key())) > 0
    as_another_process()
    with pytest.raises(TenantSuspended):
        tenant_resolve(app_id=TENANT_A)


# --- The local copies and the generation --------------------------------------------------------------------


def test_cached_tenants_cost_no_redis_read_within_the_bound_and_one_read_for_all_after_it(clock, reads):
    for app_id in MANY_APP_IDS:
        plant(app_id, fake_entry(app_id))
    app_ids = [*MANY_APP_IDS, TENANT_A, TENANT_B]
    for app_id in app_ids:
        assert entry_of(app_id).app_id == app_id  # now copied locally
    reads.take()

    clock.now += BOUND - 0.1
    assert all(entry_of(app_id).app_id == app_id for app_id in app_ids)
    assert reads.take() == []

    clock.now += 0.2
    assert all(entry_of(app_id).app_id == app_id for app_id in app_ids)
    assert reads.take() == [cache.generation_key()]


def test_a_suspend_by_another_process_is_seen_here_once_the_bound_has_passed(clock):
    assert tenant_resolve(app_id=TENANT_B).app_id == TENANT_B
    assert tenant_resolve(app_id=TENANT_A).app_id == TENANT_A
    suspend_as_another_process(TENANT_B)

    clock.now += BOUND - 0.1
    assert tenant_resolve(app_id=TENANT_B).app_id == TENANT_B  # the documented bound, not yet passed
    clock.now += 0.2
    with pytest.raises(TenantSuspended):
        tenant_resolve(app_id=TENANT_B)
    assert tenant_resolve(app_id=TENANT_A).app_id == TENANT_A


def test_the_suspending_process_sees_its_own_change_at_once_and_each_change_bumps_the_generation(clock):
    assert entry_of(TENANT_B).status == Tenant.Status.ACTIVE
    before = registry_redis().get(cache.generation_key())
    tenant_suspend(app_id=TENANT_B)
    after = int(registry_redis().get(cache.generation_key()))
    assert before is None and after != 0
    assert entry_of(TENANT_B).status == Tenant.Status.SUSPENDED
    tenant_resume(app_id=TENANT_B)
    assert int(registry_redis().get(cache.generation_key())) == after + 1
    assert entry_of(TENANT_B).status == Tenant.Status.ACTIVE


def test_an_unknown_app_id_is_remembered_for_the_bound_locally_and_in_redis(clock, reads):
    with log_queries(["default"]) as log:
        assert tenant_entry_get(app_id=UNKNOWN_APP_ID) is None
        assert tenant_entry_get(app_id=UNKNOWN_APP_ID) is None
        as_another_process()
        assert tenant_entry_get(app_id=UNKNOWN_APP_ID) is None  # from Redis' negative entry
    assert len(log.for_alias("default")) == 1
    assert raw(UNKNOWN_APP_ID) == {"kind": "missing", "v": 0}
    ttl = registry_redis().ttl(cache.entry_key(UNKNOWN_APP_ID))
    assert 0 < ttl <= BOUND


def test_an_unreachable_redis_for_the_generation_read_drops_the_copies_and_the_lookup_reads_the_database(
    clock, reads, caplog
):
    assert entry_of(TENANT_A).app_id == TENANT_A
    clock.now += BOUND + 0.1
    reads.fail = True
    reads.take()

    with caplog.at_level(logging.WARNING, logger="tenants.cache"), log_queries(["default"]) as log:
        entry = tenant_entry_get(app_id=TENANT_A)
    assert entry is not None and entry.app_id == TENANT_A and entry.status == Tenant.Status.ACTIVE
    assert reads.take() == [cache.generation_key(), cache.entry_key(TENANT_A)]
    assert len(log.for_alias("default")) == 1  # from the control database
    assert "local registry copies dropped" in caplog.text

    # Not retried before the bound: the copy just read from the database serves meanwhile.
    clock.now += BOUND - 0.1
    assert entry_of(TENANT_A).app_id == TENANT_A
    assert reads.take() == []
    # Redis is back: the generation is read again, and as it could not be compared, the copies go once more.
    reads.fail = False
    clock.now += 0.2
    assert entry_of(TENANT_A).app_id == TENANT_A
    assert reads.take() == [cache.generation_key(), cache.entry_key(TENANT_A)]
    assert entry_of(TENANT_A).app_id == TENANT_A
    assert reads.take() == []


def test_a_zero_bound_reads_the_generation_on_every_lookup_and_sees_a_change_at_once(clock, reads, settings):
    settings.TENANT_LOCAL_CACHE_SECONDS = 0
    assert entry_of(TENANT_A).app_id == TENANT_A
    reads.take()
    assert entry_of(TENANT_A).app_id == TENANT_A
    assert reads.take() == [cache.generation_key()]
    suspend_as_another_process(TENANT_A)
    assert entry_of(TENANT_A).status == Tenant.Status.SUSPENDED


def test_an_entry_read_before_this_process_noticed_a_change_is_not_kept(clock):
    """Under gevent another greenlet may drop the copies while this one waits on Redis or the database."""
    epoch = cache.local_epoch()
    bump_from_another_process()
    clock.now += BOUND + 0.1
    assert cache.local_get(TENANT_B) == (False, None)  # another greenlet's lookup notices the change

    cache.local_set(TENANT_A, fake_entry(TENANT_A), epoch=epoch)
    assert cache.local_get(TENANT_A) == (False, None)
    cache.local_set(TENANT_A, fake_entry(TENANT_A), epoch=cache.local_epoch())
    assert cache.local_get(TENANT_A) == (True, fake_entry(TENANT_A))


def test_the_registry_keys_are_those_of_this_environment_only(settings):
    tenant_entry_get(app_id=TENANT_A)
    assert cache.entry_key(TENANT_A).endswith(f"tenant-registry:test:entry:{TENANT_A}")
    assert raw(TENANT_A)["kind"] == "entry"
    settings.TENANT_ENVIRONMENT = "master"
    assert raw(TENANT_A) is None  # master's key for the same AppID is another key
