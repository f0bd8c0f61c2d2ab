"""The registry's cached entries: a process-local copy, then Redis (the `platform` cache), then the DB.

One call for callers, `get_or_load(app_id, load)`, and one record, `TenantEntry`.

**Versions.** Every registry row carries a version that each change raises (tenants.services). The Redis
copy of an entry carries it too, and every write to Redis is conditional, in one Lua script: a lookup that
read the database offers what it read, and Redis keeps it only when nothing newer is there. A change does
not delete the entry: before its transaction commits it writes a *tombstone* with the new version (and bumps
the registry generation in the same script), so a lookup that read the row just before the commit, and
writes after the tombstone, is refused: a stale entry is never written back. A refused lookup serves the
entry it read to its own request only and keeps no copy of it. If Redis cannot take the tombstone, the
change is refused and rolled back (ServiceUnavailable): nothing changes that the caches could miss.

**The local copies** are vouched for by one shared "registry generation", read at most once per
TENANT_LOCAL_CACHE_SECONDS: when it has changed, or cannot be read, the process drops all its copies. So
every process sees a change within that bound, while a process serving 1,000 tenants pays one Redis read
per bound instead of one per tenant. "Unknown AppID" (negative) copies live for the bound only; creating a
tenant announces its activation like any change, so a negative entry in Redis is replaced at once.

A Redis outage is not a tenant outage: lookups fall through to the control database. Without Redis (the
embedded default) there is no shared tier and local copies live for the bound only.

Keys are per environment (`tenant-registry:<TENANT_ENVIRONMENT>:...`): environments sharing a Redis never
read each other's entries.
"""

import json
import logging
import math
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import caches

from core import metrics
from core.exceptions import REDIS_UNREACHABLE, ServiceUnavailable
from core.tenant_context import TenantContext

logger = logging.getLogger(__name__)

# Beyond this many entries the local copy starts over (a flood of unknown AppIDs must not grow memory). Above a
# fleet's tenant count with room to spare (10,000 tenants were measured: benchmarks/tenants10k.py): at 10,000 a
# fleet of exactly 10,000 tenants cleared every copy whenever one entry was renewed. An entry is about 0.5 KiB.
LOCAL_CACHE_MAX_ENTRIES = 50_000
ENTRY, MISSING, TOMBSTONE = "entry", "missing", "tombstone"


@dataclass(frozen=True, slots=True)
class TenantEntry:
    """A tenant's registry entry as the request path needs it (field names as in TenantContext)."""

    app_id: str
    status: str
    server: str
    db_name: str
    version: int
    # A move to another server under way (tenants.moving): never copied locally, so its steps reach every
    # process at its next request rather than within the bound.
    move_state: str = ""

    @property
    def context(self) -> TenantContext:
        return TenantContext(app_id=self.app_id, db_name=self.db_name, server=self.server)


# What a loader returns: the entry (None when requests must not see the AppID) and the row's version
# (None when there is no row at all).
Loaded = tuple[TenantEntry | None, int | None]


class RegistryCacheUnreachable(ServiceUnavailable):
    message = "The registry cache (Redis) is unreachable, so the change was not made; retry when it is back."


# --- Redis scripts ---------------------------------------------------------------------------------------

# KEYS: entry. ARGV: value, its version, TTL. A value is kept unless Redis holds a newer version, or the same
# version as a live record (not a tombstone). 1 stored, 2 the same version is there already, 0 refused.
_OFFER = """
local ttl = tonumber(ARGV[3])
local current = redis.call('GET', KEYS[1])
if current then
  local ok, stored = pcall(cjson.decode, current)
  if ok and type(stored) == 'table' and type(stored.v) == 'number' then
    local version = tonumber(ARGV[2])
    if stored.v > version then return 0 end
    if stored.v == version and stored.kind ~= 'tombstone' then return 2 end
    if stored.kind == 'tombstone' then
      local left = redis.call('TTL', KEYS[1])
      if left > ttl then ttl = left end
    end
  end
end
redis.call('SET', KEYS[1], ARGV[1], 'EX', ttl)
return 1
"""

# KEYS: entry, generation. ARGV: version, tombstone, TTL, a random start for the generation. Writes the
# tombstone and bumps the generation, unless Redis holds this version or a newer one: then {0, that version}.
_ANNOUNCE = """
local current = redis.call('GET', KEYS[1])
if current then
  local ok, stored = pcall(cjson.decode, current)
  if ok and type(stored) == 'table' and type(stored.v) == 'number' and stored.v >= tonumber(ARGV[1]) then
    return {0, stored.v}
  end
end
redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
if not tonumber(redis.call('GET', KEYS[2]) or 'x') then
  redis.call('SET', KEYS[2], ARGV[4])
end
return {1, redis.call('INCR', KEYS[2])}
"""

# KEYS: entry. ARGV: version. Deletes the tombstone of a change that did not commit (and nothing else).
_WITHDRAW = """
local current = redis.call('GET', KEYS[1])
if not current then return 0 end
local ok, stored = pcall(cjson.decode, current)
if ok and type(stored) == 'table' and stored.kind == 'tombstone' and stored.v == tonumber(ARGV[1]) then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


def _redis() -> Any | None:
    """The raw client of the `platform` cache, or None without Redis (the embedded default)."""
    get_client = getattr(getattr(caches["platform"], "client", None), "get_client", None)
    return get_client(write=True) if get_client is not None else None


def _key(name: str) -> str:
    return caches["platform"].make_key(f"tenant-registry:{settings.TENANT_ENVIRONMENT}:{name}")


def entry_key(app_id: str) -> str:
    """The Redis key of an AppID's record in this environment (tests write into it)."""
    return _key(f"entry:{app_id}")


def generation_key() -> str:
    return _key("generation")


def _encode(entry: TenantEntry | None, version: int) -> str:
    if entry is None:
        return json.dumps({"kind": MISSING, "v": version})
    return json.dumps(
        {
            "kind": ENTRY,
            "v": version,
            "app_id": entry.app_id,
            "status": entry.status,
            "server": entry.server,
            "db_name": entry.db_name,
            "move_state": entry.move_state,
        }
    )


@dataclass(frozen=True, slots=True)
class _Shared:
    """What Redis holds for an AppID: a record that answers the lookup (usable), or the version seen."""

    usable: bool
    entry: TenantEntry | None = None
    version: int = 0


def _decode(raw: bytes) -> _Shared:
    try:
        record = json.loads(raw)
        version = record["v"]
        if not isinstance(version, int):
            raise TypeError("version")
        if record["kind"] == MISSING:
            return _Shared(True, None, version)
        if record["kind"] == TOMBSTONE:
            return _Shared(False, None, version)
        entry = TenantEntry(
            app_id=str(record["app_id"]),
            status=str(record["status"]),
            server=str(record["server"]),
            db_name=str(record["db_name"]),
            version=version,
            move_state=str(record.get("move_state", "")),
        )
        return _Shared(True, entry, version)
    except (ValueError, KeyError, TypeError, UnicodeDecodeError):
        # Not what this module writes: a miss, never code; the next offer overwrites it.
        logger.warning("tenant registry record in Redis does not decode; treated as a miss")
        return _Shared(False)


# --- The local tier --------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Validity:
    """What this process last learned of the registry generation (plain values: safe between greenlets)."""

    generation: int | None = None  # None: not read yet, or Redis did not answer
    checked_at: float = -math.inf
    # How many times the local copies were dropped; an entry read before a drop is not stored after it.
    epoch: int = 0


# app_id -> (monotonic expiry, entry)
_local: dict[str, tuple[float, TenantEntry | None]] = {}
_validity = _Validity()


def get_or_load(app_id: str, load: Callable[[], Loaded]) -> TenantEntry | None:
    """The entry of an AppID (None: unknown to requests): local copy, then Redis, then `load` (the database)."""
    found, entry = local_get(app_id)
    if found:
        metrics.registry_lookup("local")
        return entry
    # Before the reads below, which yield under gevent: local_set then knows if a change was noticed meanwhile.
    epoch = _validity.epoch
    shared = _shared_get(app_id)
    if shared.usable:
        metrics.registry_lookup("shared")
        local_set(app_id, shared.entry, epoch=epoch)
        return shared.entry
    metrics.registry_lookup("database")
    entry, row_version = load()
    # A negative entry carries the version of the row that is invisible (provisioning), or else of the
    # record it replaces in Redis: either way older than any change announced after it was read.
    version = entry.version if entry is not None else (row_version if row_version is not None else shared.version)
    if _shared_offer(app_id, entry, version):
        local_set(app_id, entry, epoch=epoch)
    return entry


def local_get(app_id: str) -> tuple[bool, TenantEntry | None]:
    """(found, entry) from this process's copies: entry None with found True means "known not to exist"."""
    _revalidate_if_due()
    cached = _local.get(app_id)
    if cached is None or cached[0] < time.monotonic():
        return False, None
    return True, cached[1]


def local_epoch() -> int:
    return _validity.epoch


def local_set(app_id: str, entry: TenantEntry | None, *, epoch: int) -> None:
    """Low level (get_or_load calls it): keeps a copy unless the copies were dropped since `epoch`."""
    if epoch != _validity.epoch:
        # Read before this process noticed a change (another greenlet's check): it may predate the change,
        # and nothing would drop it again until the next change.
        return
    if entry is not None and entry.move_state and _redis() is not None:
        return  # a moving tenant is read from Redis at each lookup: a freeze or switch is seen at once
    if len(_local) >= LOCAL_CACHE_MAX_ENTRIES and app_id not in _local:
        _local.clear()
    _local[app_id] = (time.monotonic() + _local_lifetime(entry), entry)


def _local_lifetime(entry: TenantEntry | None) -> float:
    if entry is None or _redis() is None:
        # Unknown AppIDs, and everything when there is no generation to vouch for the copies.
        return settings.TENANT_LOCAL_CACHE_SECONDS
    # The generation vouches for a known entry; the shared TTL caps how long one copy may be trusted at all.
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
    client = _redis()
    if client is None:
        return 0
    try:
        value = client.get(generation_key())
    except REDIS_UNREACHABLE as error:
        metrics.redis_fallback("tenant_registry")
        # Conservative: the copies are dropped, lookups read on.
        logger.warning("tenant cache unreachable, local registry copies dropped: %s", error)
        return None
    if value is None:
        return 0  # no key yet: nothing has changed since Redis started (bumps never write 0)
    try:
        return int(value)
    except ValueError:
        logger.warning("tenant registry generation in Redis is not a number; local copies dropped")
        return None


def _drop_local_copies() -> None:
    _local.clear()
    _validity.epoch += 1


def clear_local() -> None:
    """Forget every local copy and the generation seen (tests start clean with it)."""
    _drop_local_copies()
    _validity.generation = None
    _validity.checked_at = -math.inf


def forget_local(app_id: str) -> None:
    """Forget this process's copy of one tenant, so the next lookup asks Redis (or the DB)."""
    _local.pop(app_id, None)


# --- The shared tier -------------------------------------------------------------------------------------


def _shared_get(app_id: str) -> _Shared:
    client = _redis()
    if client is None:
        return _Shared(False)
    try:
        raw = client.get(entry_key(app_id))
    except REDIS_UNREACHABLE as error:
        metrics.redis_fallback("tenant_registry")
        logger.warning("tenant cache unreachable, reading the registry: %s", error)
        return _Shared(False)
    return _Shared(False) if raw is None else _decode(raw)


def _shared_offer(app_id: str, entry: TenantEntry | None, version: int) -> bool:
    """Offers what the database said to Redis; False when Redis holds something newer (keep no copy then)."""
    client = _redis()
    if client is None:
        return True
    # An unknown AppID is remembered briefly only; a live tombstone's remaining life is kept, though.
    seconds = settings.TENANT_SHARED_CACHE_SECONDS if entry is not None else settings.TENANT_LOCAL_CACHE_SECONDS
    ttl = max(1, math.ceil(seconds))  # whole seconds for EX; a bound of 0 or 0.5 still stores for 1 s
    try:
        result = client.register_script(_OFFER)(keys=[entry_key(app_id)], args=[_encode(entry, version), version, ttl])
    except REDIS_UNREACHABLE as error:
        # Nothing is written; the copy is dropped at the next generation check (which fails, or differs).
        logger.warning("tenant cache unreachable, entry not stored: %s", error)
        return True
    if result == 0:
        logger.info("tenant %s: a newer registry version is in Redis; the entry read is not kept", app_id)
        return False
    return True


def announce(*, app_id: str, version: int) -> int:
    """Before a registry change commits: its tombstone in Redis and a generation bump, in one script.

    Returns the version the change must carry: `version`, or one above a newer version that Redis holds (a
    tenant dropped and created again may meet its previous life's tombstone). Raises
    RegistryCacheUnreachable when Redis does not answer, so the caller rolls back and nothing changes.
    """
    forget_local(app_id)
    client = _redis()
    if client is None:
        return version
    script = client.register_script(_ANNOUNCE)
    for _ in range(2):
        tombstone = json.dumps({"kind": TOMBSTONE, "v": version})
        start = 1 + secrets.randbelow(2**52)
        try:
            applied, value = script(
                keys=[entry_key(app_id), generation_key()],
                args=[version, tombstone, max(1, math.ceil(settings.TENANT_SHARED_CACHE_SECONDS)), start],
            )
        except REDIS_UNREACHABLE as error:
            logger.error("tenant cache unreachable, %s not changed: %s", app_id, error)
            raise RegistryCacheUnreachable() from error
        if applied:
            return version
        version = int(value) + 1
    raise RegistryCacheUnreachable("The registry cache kept a newer version twice; retry.")


def withdraw(*, app_id: str, version: int) -> None:
    """After a change that announced `version` rolled back: its tombstone goes, so the entry is cached again."""
    forget_local(app_id)
    client = _redis()
    if client is None:
        return
    try:
        client.register_script(_WITHDRAW)(keys=[entry_key(app_id)], args=[version])
    except REDIS_UNREACHABLE as error:
        # Harmless but costly: lookups of this tenant read the database until the tombstone expires.
        logger.warning("tenant cache unreachable, tombstone of %s left: %s", app_id, error)
