"""Cache keys that carry their tenant, so one tenant's cached value is never read by another."""

import logging
from typing import Any

from core.tenant_context import get_current_tenant

logger = logging.getLogger(__name__)

PLATFORM_SCOPE = "_platform"


def make_tenant_key(key: str, key_prefix: str, version: int) -> str:
    """Django KEY_FUNCTION: `<prefix>:<version>:<app_id>:<key>`, or the platform scope with no tenant."""
    tenant = get_current_tenant()
    scope = tenant.app_id if tenant is not None else PLATFORM_SCOPE
    return f"{key_prefix}:{version}:{scope}:{key}"


def tenant_scope_delete(*, app_id: str) -> int:
    """Deletes every key of one tenant's scope in the default cache, so nothing of a retired tenant outlives it.

    SCAN by the scope's prefix (make_tenant_key's layout), never KEYS over the whole Redis; returns how many
    keys went. The embedded default's in-process cache cannot be scanned and is left as it is. While Redis is
    unreachable nothing is deleted (a warning says so): no key of a scope names a person (tokens are the
    tenant database's alone, accounts.tokens), and throttle counts expire within two windows.
    """
    from django.core.cache import caches
    from django_redis.exceptions import ConnectionInterrupted
    from redis.exceptions import RedisError

    cache = caches["default"]
    get_client = getattr(getattr(cache, "client", None), "get_client", None)
    if get_client is None:
        return 0
    pattern = f"{_glob_escape(cache.key_prefix)}:{cache.version}:{app_id}:*"
    try:
        return _delete_matching(get_client(write=True), pattern)
    except (ConnectionInterrupted, RedisError) as error:
        logger.warning("cache scope of %s not deleted, Redis is unreachable: %s", app_id, error)
        return 0


def _delete_matching(client: Any, pattern: str) -> int:
    deleted = 0
    batch: list[bytes] = []
    for key in client.scan_iter(match=pattern, count=1000):
        batch.append(key)
        if len(batch) == 500:
            deleted += client.delete(*batch)
            batch = []
    if batch:
        deleted += client.delete(*batch)
    return deleted


def _glob_escape(text: str) -> str:
    # AppIDs are [A-Za-z0-9_] (tenants.app_ids); only the configured prefix may hold glob characters.
    return "".join(f"\\{char}" if char in "*?[]\\" else char for char in text)
