"""The local registry copies are vouched for by one shared generation, read at most once per bound."""

import logging
from types import SimpleNamespace

import pytest
from django.core.cache import caches
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError

from tenants import cache
from tenants.cache import GENERATION_KEY, TenantEntry
from tenants.exceptions import TenantSuspended
from tenants.models import Tenant
from tenants.selectors import tenant_entry_get, tenant_resolve
from tests.helpers import TENANT_A, TENANT_B, log_queries

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


class PlatformReads:
    """Counts the keys read from the `platform` cache; `fail` makes every read raise as a Redis outage would."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.keys: list[str] = []
        self.fail = False
        platform = caches["platform"]
        real_get = platform.get

        def get(key, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
            self.keys.append(key)
            if self.fail:
                raise RedisConnectionError("Connection refused")
            return real_get(key, *args, **kwargs)

        monkeypatch.setattr(platform, "get", get)

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
def reads(monkeypatch: pytest.MonkeyPatch) -> PlatformReads:
    return PlatformReads(monkeypatch)


def fake_entry(app_id: str) -> TenantEntry:
    return TenantEntry(app_id=app_id, status="active", db_server="main", db_name=f"mp_fake_{app_id}")


def bump_from_another_process() -> None:
    """What another process's evict does to the key, written straight to Redis (no local copy is touched)."""
    platform = caches["platform"]
    platform.client.get_client(write=True).incr(platform.make_key(GENERATION_KEY))


def assert_entries_are_their_own(app_ids: list[str]) -> None:
    for app_id in app_ids:
        entry = tenant_entry_get(app_id=app_id)
        assert entry is not None and entry.app_id == app_id
        if app_id in MANY_APP_IDS:
            assert entry == fake_entry(app_id)


def test_cached_tenants_cost_no_redis_read_within_the_bound_and_one_read_for_all_after_it(clock, reads):
    for app_id in MANY_APP_IDS:
        cache.shared_set(app_id, fake_entry(app_id))
    app_ids = [*MANY_APP_IDS, TENANT_A, TENANT_B]
    assert_entries_are_their_own(app_ids)  # now copied locally
    reads.take()

    clock.now += BOUND - 0.1
    assert_entries_are_their_own(app_ids)
    assert reads.take() == []

    clock.now += 0.2
    assert_entries_are_their_own(app_ids)
    assert reads.take() == [GENERATION_KEY]


def test_a_bump_by_another_process_makes_this_one_see_the_suspension_once_the_bound_has_passed(clock):
    assert tenant_resolve(app_id=TENANT_B).app_id == TENANT_B
    assert tenant_resolve(app_id=TENANT_A).app_id == TENANT_A
    # Another process suspends TENANT_B: the row, the shared copy, then the generation.
    Tenant.objects.filter(app_id=TENANT_B).update(status=Tenant.Status.SUSPENDED)
    caches["platform"].delete(f"tenant:{TENANT_B}")
    bump_from_another_process()

    clock.now += BOUND - 0.1
    assert tenant_resolve(app_id=TENANT_B).app_id == TENANT_B  # the documented bound, not yet passed
    clock.now += 0.2
    with pytest.raises(TenantSuspended):
        tenant_resolve(app_id=TENANT_B)
    assert tenant_resolve(app_id=TENANT_A).app_id == TENANT_A


def test_evict_bumps_the_generation_and_the_suspending_process_forgets_at_once(clock):
    assert cache.local_get(TENANT_B) == (False, None)  # first lookup: reads the generation, absent so far
    assert tenant_entry_get(app_id=TENANT_B).status == Tenant.Status.ACTIVE
    before = caches["platform"].get(GENERATION_KEY)

    from tenants.services import tenant_suspend

    tenant_suspend(app_id=TENANT_B)
    after = caches["platform"].get(GENERATION_KEY)
    assert before is None and isinstance(after, int) and after != 0
    assert caches["platform"].get(f"tenant:{TENANT_B}") is None
    assert tenant_entry_get(app_id=TENANT_B).status == Tenant.Status.SUSPENDED

    tenant_suspend(app_id=TENANT_B)
    assert caches["platform"].get(GENERATION_KEY) == after + 1


def test_an_unknown_app_id_is_remembered_for_the_bound_only_without_any_bump(clock, reads):
    assert tenant_entry_get(app_id=UNKNOWN_APP_ID) is None
    # The tenant is created meanwhile and another process has cached it; creating bumps nothing.
    cache.shared_set(UNKNOWN_APP_ID, fake_entry(UNKNOWN_APP_ID))
    reads.take()

    clock.now += BOUND - 0.1
    assert tenant_entry_get(app_id=UNKNOWN_APP_ID) is None
    assert reads.take() == []
    clock.now += 0.2
    assert tenant_entry_get(app_id=UNKNOWN_APP_ID) == fake_entry(UNKNOWN_APP_ID)
    assert reads.take() == [GENERATION_KEY, f"tenant:{UNKNOWN_APP_ID}"]  # unchanged generation, yet read again


def test_an_unreachable_redis_for_the_generation_read_drops_the_copies_and_the_lookup_reads_the_database(
    clock, reads, caplog
):
    assert tenant_entry_get(app_id=TENANT_A).app_id == TENANT_A
    clock.now += BOUND + 0.1
    reads.fail = True
    reads.take()

    with caplog.at_level(logging.WARNING, logger="tenants.cache"), log_queries(["default"]) as log:
        entry = tenant_entry_get(app_id=TENANT_A)
    assert entry is not None and entry.app_id == TENANT_A and entry.status == Tenant.Status.ACTIVE
    assert reads.take() == [GENERATION_KEY, f"tenant:{TENANT_A}"]
    assert len(log.for_alias("default")) == 1  # from the control database
    assert "local registry copies dropped" in caplog.text

    # Not retried before the bound: the copy just read from the database serves meanwhile.
    clock.now += BOUND - 0.1
    assert tenant_entry_get(app_id=TENANT_A).app_id == TENANT_A
    assert reads.take() == []
    # Redis is back: the generation is read again, and as it could not be compared, the copies go once more.
    reads.fail = False
    clock.now += 0.2
    assert tenant_entry_get(app_id=TENANT_A).app_id == TENANT_A
    assert reads.take() == [GENERATION_KEY, f"tenant:{TENANT_A}"]
    assert tenant_entry_get(app_id=TENANT_A).app_id == TENANT_A
    assert reads.take() == []


def test_evict_raises_when_the_generation_cannot_be_bumped(monkeypatch):
    def incr(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        raise RedisError("Connection refused")

    monkeypatch.setattr(caches["platform"], "incr", incr)
    with pytest.raises(RedisError):
        cache.evict(TENANT_A)


def test_a_zero_bound_reads_the_generation_on_every_lookup_and_sees_a_bump_at_once(clock, reads, settings):
    settings.TENANT_LOCAL_CACHE_SECONDS = 0
    assert tenant_entry_get(app_id=TENANT_A).app_id == TENANT_A
    reads.take()
    assert tenant_entry_get(app_id=TENANT_A).app_id == TENANT_A
    assert reads.take() == [GENERATION_KEY]

    Tenant.objects.filter(app_id=TENANT_A).update(status=Tenant.Status.SUSPENDED)
    caches["platform"].delete(f"tenant:{TENANT_A}")
    bump_from_another_process()
    assert tenant_entry_get(app_id=TENANT_A).status == Tenant.Status.SUSPENDED


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
