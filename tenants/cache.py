"""The registry's cached entries: a short process-local copy, then Redis (the `platform` cache), then the DB.

Suspend, resume and drop delete the Redis copy at once; each process trusts its local copy for at most
TENANT_LOCAL_CACHE_SECONDS, which is therefore the bound within which every process sees the change.
A Redis outage is not a tenant outage: lookups fall through to the control database.
"""

import logging
import time
from dataclasses import asdict, dataclass

from django.conf import settings
from django.core.cache import caches
from django_redis.exceptions import ConnectionInterrupted
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

# Beyond this many entries the local copy starts over (a flood of unknown AppIDs must not grow memory).
LOCAL_CACHE_MAX_ENTRIES = 10_000
_MISSING = "missing"


@dataclass(frozen=True, slots=True)
class TenantEntry:
    app_id: str
    status: str
    db_server: str
    db_name: str


_local: dict[str, tuple[float, TenantEntry | None]] = {}


def _shared_key(app_id: str) -> str:
    return f"tenant:{app_id}"


def local_get(app_id: str) -> tuple[bool, TenantEntry | None]:
    """(found, entry): entry None with found True means "known not to exist" (negative caching)."""
    cached = _local.get(app_id)
    if cached is None or cached[0] < time.monotonic():
        return False, None
    return True, cached[1]


def local_set(app_id: str, entry: TenantEntry | None) -> None:
    if len(_local) >= LOCAL_CACHE_MAX_ENTRIES:
        _local.clear()
    _local[app_id] = (time.monotonic() + settings.TENANT_LOCAL_CACHE_SECONDS, entry)


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
    """Forget a tenant here and in Redis; other processes forget their local copy within the bound."""
    _local.pop(app_id, None)
    try:
        caches["platform"].delete(_shared_key(app_id))
    except (ConnectionInterrupted, RedisError) as error:
        # Not swallowed silently: the change would wait for the shared TTL instead of the local bound.
        logger.error("tenant cache unreachable, %s stays cached up to the shared TTL: %s", app_id, error)
        raise


def clear_local() -> None:
    _local.clear()
