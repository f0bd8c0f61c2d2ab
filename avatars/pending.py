"""Which tenants have avatars waiting for WeChat's answer: one Redis sorted set for the whole fleet.

The sweep of overdue checks must not open every tenant's database every few minutes to find the few with
avatars pending. A tenant with one is a member, scored with the time its earliest check is due (a unix time), so
the sweep visits only the tenants with a check past due. An upload adds its tenant once committed (ZADD LT keeps
the earlier time); the sweep removes a tenant, then looks at what is still pending and puts it back with that
time. Removing first is what makes it race-free: an upload committed after the look adds itself after the
removal. A mark lost with Redis is found again by the daily full sweep (AVATARS_FULL_SWEEP_SECONDS).
"""

import logging
import time
from datetime import datetime

from django.conf import settings

from core.exceptions import REDIS_UNREACHABLE
from core.redis import get_redis

logger = logging.getLogger(__name__)


def _key() -> str:
    # A platform key (it names tenants, it belongs to none), beside the caches' keys of this environment.
    return f"{settings.CACHE_KEY_PREFIX}:avatars:pending-tenants"


def pending_mark(*, app_id: str, due_at: datetime) -> None:
    """Called on commit: a Redis outage costs the mark (found again by the full sweep), never the upload."""
    try:
        get_redis().zadd(_key(), {app_id: due_at.timestamp()}, lt=True)
    except REDIS_UNREACHABLE as error:
        logger.warning("avatars: could not mark %s as having avatars pending: %s", app_id, error)


def pending_unmark(*, app_id: str) -> None:
    get_redis().zrem(_key(), app_id)


def pending_tenants_due() -> list[str]:
    """The tenants with a check due by now, earliest first."""
    return [member.decode() for member in get_redis().zrangebyscore(_key(), "-inf", time.time())]


def pending_due_at(*, app_id: str) -> float | None:
    """The tenant's mark (for tests and the console), or None."""
    score = get_redis().zscore(_key(), app_id)
    return float(score) if score is not None else None
