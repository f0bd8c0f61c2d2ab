"""Usage per tenant per day: requests, errors (5xx answers), jobs run and WeChat calls (docs/fairness.md).

One Redis hash per tenant per day (`<CACHE_KEY_PREFIX>:1:<AppID>:usage:<YYYYMMDD>`: in the tenant's cache scope, so
retiring the tenant deletes it), a field per kind, kept USAGE_KEEP_DAYS days: 30 days of a tenant are 30 small
hashes, read in one pipeline. Counted where the thing
happens, never from logs: requests and errors by tenants.fair_requests, WeChat calls by wechat.client, jobs
by the worker as it takes one (tenants.jobs.release, flushed as a web process does and in its maintenance).

A web process adds its counts up in memory and writes them in one pipeline at most every USAGE_FLUSH_SECONDS
(and at exit), so a request pays no Redis round trip of its own for them; a process killed outright loses
at most that last second's counts. Counts that Redis refuses are kept for the next flush.
"""

import atexit
import logging
import os
import threading
import time
from datetime import date, timedelta

from django.conf import settings
from django.utils import timezone

from core.exceptions import REDIS_UNREACHABLE
from core.redis import get_redis

logger = logging.getLogger(__name__)

KINDS = ("requests", "errors", "busy", "jobs", "wechat_calls")

_pending: dict[tuple[str, str, str], int] = {}  # (AppID, YYYYMMDD, kind) -> count not written yet
_lock = threading.Lock()  # gevent patches it into a greenlet lock; it guards only the swap, never I/O
_last_flush = time.monotonic()


def _forget_pending_after_fork() -> None:
    # A forked child (an rq work horse) writes only what it counts itself: the counts its parent had not written
    # yet are the parent's to write, and written by both they would count twice.
    _pending.clear()


os.register_at_fork(after_in_child=_forget_pending_after_fork)


# KEYS: a tenant's hash of the day. ARGV: its TTL, then kind, count pairs. One command per tenant and flush, where
# an HINCRBY per kind and an EXPIRE were: with thousands of tenants a second, the flush was a few percent of
# the CPU of a request (benchmarks/results/2026-12-01-tenants10k.md). The TTL is set on the hash's first write.
_ADD_COUNTS = """
for i = 2, #ARGV, 2 do
  redis.call('HINCRBY', KEYS[1], ARGV[i], ARGV[i + 1])
end
if redis.call('TTL', KEYS[1]) < 0 then
  redis.call('EXPIRE', KEYS[1], ARGV[1])
end
return 1
"""


def usage_key(*, app_id: str, day: date) -> str:
    return _key(app_id, f"{day:%Y%m%d}")


def _key(app_id: str, day: str) -> str:
    # In the tenant's scope of the default cache (core.cache.make_tenant_key's layout), so that retiring the
    # tenant deletes its usage with the rest of its keys (core.cache.tenant_scope_delete).
    version = settings.CACHES["default"].get("VERSION", 1)
    return f"{settings.CACHE_KEY_PREFIX}:{version}:{app_id}:usage:{day}"


# (time zone, YYYYMMDD, the epoch second it ends): the local date is worked out once a day, not on every request
# (it was 2.6% of ping's CPU in a profile under load).
_day: tuple[object, str, float] = (None, "", -1.0)


def _today() -> str:
    global _day
    zone, day, ends = _day
    current_zone = timezone.get_current_timezone()
    if time.time() < ends and zone is current_zone:
        return day
    local = timezone.localtime(timezone=current_zone)
    midnight = (local + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
    _day = (current_zone, f"{local:%Y%m%d}", midnight.timestamp())
    return _day[1]


def usage_add(*, app_id: str | None, kind: str, count: int = 1) -> None:
    """Counts `count` of `kind` for the tenant today; written to Redis with the next flush."""
    if not app_id:
        return
    key = (app_id, _today(), kind)
    with _lock:
        _pending[key] = _pending.get(key, 0) + count
    if time.monotonic() - _last_flush >= settings.USAGE_FLUSH_SECONDS:
        usage_flush()


def usage_flush() -> None:
    """Writes this process's counts in one pipeline; on a Redis error they are kept for the next flush."""
    global _last_flush
    with _lock:
        counts = dict(_pending)
        _pending.clear()
        _last_flush = time.monotonic()
    if not counts:
        return
    ttl = int(settings.USAGE_KEEP_DAYS) * 86400
    by_key: dict[str, list[str | int]] = {}
    for (app_id, day, kind), count in counts.items():
        by_key.setdefault(_key(app_id, day), []).extend((kind, count))
    try:
        client = get_redis()
        add = client.register_script(_ADD_COUNTS)
        with client.pipeline(transaction=False) as pipeline:
            for key, fields in by_key.items():
                add(keys=[key], args=[ttl, *fields], client=pipeline)
            pipeline.execute()
    except REDIS_UNREACHABLE as error:
        logger.warning("usage counts kept for the next flush: %s", error)
        with _lock:
            for entry, count in counts.items():
                _pending[entry] = _pending.get(entry, 0) + count


def usage_days(*, app_id: str, days: int = 30) -> list[dict[str, int | str]]:
    """The tenant's usage of the last `days` days, newest first: {"day": "2026-12-01", "requests": 3, ...}."""
    today = timezone.localdate()
    wanted = [today - timedelta(days=n) for n in range(days)]
    with get_redis().pipeline(transaction=False) as pipeline:
        for day in wanted:
            pipeline.hgetall(usage_key(app_id=app_id, day=day))
        found = pipeline.execute()
    rows: list[dict[str, int | str]] = []
    for day, fields in zip(wanted, found, strict=True):
        counts = {(name.decode() if isinstance(name, bytes) else name): int(value) for name, value in fields.items()}
        rows.append({"day": day.isoformat(), **{kind: counts.get(kind, 0) for kind in KINDS}})
    return rows


def usage_totals(rows: list[dict[str, int | str]]) -> dict[str, int]:
    return {kind: sum(int(row[kind]) for row in rows) for kind in KINDS}


def usage_get(*, app_id: str, days: int = 30) -> dict[str, object]:
    """The platform API's `usage`: the days (newest first) and their totals; empty counts when Redis is down."""
    try:
        rows = usage_days(app_id=app_id, days=days)
    except REDIS_UNREACHABLE as error:
        logger.warning("%s: usage not read: %s", app_id, error)
        rows = []
    return {"days": rows, "totals": usage_totals(rows)}


atexit.register(usage_flush)
