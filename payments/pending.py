"""Which tenants have orders or refunds waiting for WeChat's word: one Redis sorted set for the whole fleet.

Reconciliation must not open 1,000 databases to find the few with pending orders. Each tenant with something
pending is a member, scored with the creation time of its oldest pending order (a unix timestamp), so the
periodic job reads only the tenants whose oldest pending order is older than the bound. order_create adds the
tenant once its order commits (ZADD NX keeps the oldest time); reconciliation removes the tenant, then looks at
what is still pending and puts it back with that time (ZADD LT keeps the smaller). Removing first is what makes
it race-free: an order committed after the look adds itself after the removal.
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
    return f"{settings.CACHE_KEY_PREFIX}:payments:pending-tenants"


def pending_mark(*, app_id: str, since: datetime) -> None:
    """Called on commit: a Redis outage costs the mark, never the order (`reconcile_payments APP_ID` still works)."""
    try:
        get_redis().zadd(_key(), {app_id: since.timestamp()}, nx=True)
    except REDIS_UNREACHABLE as error:
        logger.warning("payments: could not mark %s as having pending orders: %s", app_id, error)


def pending_unmark(*, app_id: str) -> None:
    get_redis().zrem(_key(), app_id)


def pending_remark(*, app_id: str, since: datetime) -> None:
    get_redis().zadd(_key(), {app_id: since.timestamp()}, lt=True)


def pending_tenants_due(*, older_than_seconds: float) -> list[str]:
    """The tenants whose oldest pending order is older than the bound, oldest first."""
    upto = time.time() - older_than_seconds
    return [member.decode() for member in get_redis().zrangebyscore(_key(), "-inf", upto)]


def pending_tenants_all() -> list[str]:
    return [member.decode() for member in get_redis().zrange(_key(), 0, -1)]
