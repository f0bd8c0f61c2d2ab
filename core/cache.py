"""Cache keys that carry their tenant, so one tenant's cached value is never read by another; values as JSON."""

import logging
from typing import Any

from django_redis.client import DefaultClient
from django_redis.serializers.json import JSONSerializer

from core.exceptions import REDIS_UNREACHABLE
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

    cache = caches["default"]
    get_client = getattr(getattr(cache, "client", None), "get_client", None)
    if get_client is None:
        return 0
    pattern = f"{_glob_escape(cache.key_prefix)}:{cache.version}:{app_id}:*"
    try:
        return _delete_matching(get_client(write=True), pattern)
    except REDIS_UNREACHABLE as error:
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


class UndecodableCacheValue(ValueError):
    """A cached value that is not the JSON this project writes: somebody else wrote it, or it is damaged."""


class SafeJSONSerializer(JSONSerializer):
    """django-redis values as JSON, never pickle: whoever can write to Redis must not be able to run code here."""

    def loads(self, value: bytes) -> Any:
        try:
            return super().loads(value)
        except (ValueError, UnicodeDecodeError) as exc:
            raise UndecodableCacheValue(str(exc)) from None


class SafeRedisClient(DefaultClient):
    """django-redis' client for which a value that does not decode is a miss (and a warning), not an error."""

    def get(self, key: Any, default: Any = None, version: int | None = None, client: Any = None) -> Any:
        try:
            return super().get(key, default=default, version=version, client=client)
        except UndecodableCacheValue:
            logger.warning("cache key %r holds a value that is not JSON; treated as a miss", key)
            return default

    def get_many(self, keys: Any, version: int | None = None, client: Any = None) -> dict[Any, Any]:
        try:
            return super().get_many(keys, version=version, client=client)
        except UndecodableCacheValue:
            found = {key: self.get(key, _MISS, version=version, client=client) for key in keys}
            return {key: value for key, value in found.items() if value is not _MISS}


_MISS = object()
