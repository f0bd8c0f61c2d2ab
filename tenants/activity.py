"""When a tenant last served a request, for the admin page and the platform API.

Written to Redis at most once a minute per process and tenant, so the request path pays almost nothing;
the time shown is therefore accurate to about a minute.
"""

import logging
import time
from datetime import UTC, datetime

from django.core.cache import caches

from core.exceptions import REDIS_UNREACHABLE

logger = logging.getLogger(__name__)
WRITE_EVERY_SECONDS = 60
_written_at: dict[str, float] = {}


def _key(app_id: str) -> str:
    return f"tenant-last-request:{app_id}"


def tenant_touch(*, app_id: str) -> None:
    now = time.time()
    if now - _written_at.get(app_id, 0.0) < WRITE_EVERY_SECONDS:
        return
    _written_at[app_id] = now
    try:
        caches["platform"].set(_key(app_id), now, timeout=None)
    except REDIS_UNREACHABLE as error:
        logger.warning("could not record the last request time: %s", error)


def tenant_last_request(*, app_id: str) -> datetime | None:
    try:
        stamp = caches["platform"].get(_key(app_id))
    except REDIS_UNREACHABLE:
        return None
    return datetime.fromtimestamp(stamp, tz=UTC) if stamp is not None else None


def tenant_activity_forget(*, app_id: str) -> None:
    _written_at.pop(app_id, None)
    caches["platform"].delete(_key(app_id))


def clear_local() -> None:
    """Forget what this process wrote (tests clean Redis between tests)."""
    _written_at.clear()
