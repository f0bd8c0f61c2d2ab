"""The registry's cached entries: a process-local copy, then Redis (the `platform` cache), then the DB.

Suspend, resume and drop delete the Redis copy at once and bump one shared "registry generation". Each
process reads that generation at most once per TENANT_LOCAL_CACHE_SECONDS and drops all its local copies
when it has changed, so every process still sees a change within that bound, while a process serving
1,000 tenants pays one Redis read per bound instead of one per tenant (expiring each copy after the bound
made about a third of requests read Redis). "Unknown AppID" copies still expire after the bound, since
creating a tenant bumps nothing.
A Redis outage is not a tenant outage: lookups fall through to the control database.
"""

import logging
import math
import secrets
import time
from dataclasses import asdict, dataclass

from django.conf import settings
from django.core.cache import caches
from django_redis.exceptions import ConnectionInterrupted
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

# Beyond this many entries the local copy starts over (a flood of unknown AppIDs must not grow memory).
LOCAL_CACHE_MAX_ENTRIES = 10_000
# One key for the whole registry: it counts changes and holds no tenant's data.
GENERATION_KEY = "tenant-registry:generation"
_MISSING = "missing"


@dataclass(frozen=True, slots=True)
class TenantEntry:
    app_id: str
    status: str
    db_server: str
    db_name: str


@dataclass(slots=True)
class _Validity:
    """What this process last learned of the registry generation (plain values: safe between greenlets)."""

    generation: int | None = None  # None: not read yet, or Redis did not answer
    checked_at: float = -math.inf
    # How many times the local copies were dropped; an entry read before a drop is not stored after it.
    epoch: int = 0


# app_id -> (monotonic expiry, entry); see _local_lifetime.
_local: dict[str, tuple[float, TenantEntry | None]] = {}
_validity = _Validity()


def _shared_key(app_id: str) -> str:
    return f"tenant:{app_id}"


def local_get(app_id: str) -> tuple[bool, TenantEntry | None]:
    """(found, entry): entry None with found True means "known not to exist" (negative caching)."""
    _revalidate_if_due()
    cached = _local.get(app_id)
    if cached is None or cached[0] < time.monotonic():
        return False, None
    return True, cached[1]


def local_epoch() -> int:
    """Taken before reading Redis or the DB, and handed back to local_set."""
    return _validity.epoch


def local_set(app_id: str, entry: TenantEntry | None, *, epoch: int) -> None:
    if epoch != _validity.epoch:
        # Read before this process noticed a change (another greenlet's check): it may predate the change,
        # and nothing would drop it again until the next change.
        return
    if len(_local) >= LOCAL_CACHE_MAX_ENTRIES:
        _local.clear()
    _local[app_id] = (time.monotonic() + _local_lifetime(entry), entry)


def _local_lifetime(entry: TenantEntry | None) -> float:
    if entry is None:
        # Nothing bumps the generation when a tenant is created, so "unknown" is trusted for the bound only.
        return settings.TENANT_LOCAL_CACHE_SECONDS
    # The generation vouches for a known entry; the shared TTL only caps the harm of a bump that failed
    # after its delete went through (evict raised, and the copy then lives as long as a Redis copy could).
    return settings.TENANT_SHARED_CACHE_SECONDS


def _revalidate_if_due() -> None:
    now = time.monotonic()
    if now < _validity.checked_at + settings.TENANT_LOCAL_CACHE_SECONDS:
        return
    # Claimed before the read, so the other greenlets of a gevent worker keep using the copies during it
    # instead of all reading the generation at once; a failed read is likewise retried after the bound only.
    _validity.checked_at = now
    generation = _generation_read()
    if generation is None or generation != _validity.generation:
        _drop_local_copies()
    _validity.generation = generation


def _generation_read() -> int | None:
    try:
        value = caches["platform"].get(GENERATION_KEY)
    except (ConnectionInterrupted, RedisError) as error:
        # Conservative, as before the generation existed: the copies are dropped, lookups read on.
        logger.warning("tenant cache unreachable, local registry copies dropped: %s", error)
        return None
    # No key yet: nothing has changed since Redis started (bumps never write 0, see _generation_bump).
    return 0 if value is None else int(value)


def _generation_bump() -> None:
    platform = caches["platform"]
    # A key lost to a flush or an eviction starts again from a random number, not from 1, so its new
    # value cannot repeat one that a process remembers (which would hide the change from it).
    platform.add(GENERATION_KEY, 1 + secrets.randbelow(2**62), timeout=None)
    platform.incr(GENERATION_KEY)


def _drop_local_copies() -> None:
    _local.clear()
    _validity.epoch += 1


def shared_get(app_id: str) -> tuple[bool, TenantEntry | None]:
    try:
        value = caches["platform"].get(_shared_key(app_id))
    except (ConnectionInterrupted, RedisError) as error:
        logger.warning("tenant cache unreachable, reading the registry: %s", error)
        return False, None
    if value is None:
        return False, None
    return True, None if value == _MISSING else TenantEntry(**value)


def shared_set(app_id: str, entry: TenantEntry | None) -> None:
    value = _MISSING if entry is None else asdict(entry)
    # An unknown AppID is remembered briefly only, so a tenant created meanwhile is seen soon.
    timeout = settings.TENANT_LOCAL_CACHE_SECONDS if entry is None else settings.TENANT_SHARED_CACHE_SECONDS
    try:
        caches["platform"].set(_shared_key(app_id), value, timeout=timeout)
    except (ConnectionInterrupted, RedisError) as error:
        logger.warning("tenant cache unreachable, entry not stored: %s", error)


def evict(app_id: str) -> None:
    """Forget a tenant here and in Redis; the generation bump makes other processes forget within the bound."""
    forget_local(app_id)
    try:
        caches["platform"].delete(_shared_key(app_id))
        # After the delete: a process that drops its copies on the new generation must not find the old entry.
        _generation_bump()
    except (ConnectionInterrupted, RedisError) as error:
        # Not swallowed silently: the change would wait for the shared TTL instead of the local bound.
        logger.error("tenant cache unreachable, %s stays cached up to the shared TTL: %s", app_id, error)
        raise


def clear_local() -> None:
    """Forget every local copy and the generation seen (tests start clean with it)."""
    _drop_local_copies()
    _validity.generation = None
    _validity.checked_at = -math.inf


def forget_local(app_id: str) -> None:
    """Forget this process's copy of one tenant, so the next lookup asks Redis (or the DB)."""
    _local.pop(app_id, None)
