"""Throttles scoped to one tenant: a flood under one AppID never throttles another.

The cache key function already puts the active tenant's AppID in every key (core.cache.make_tenant_key);
within a tenant the key is the user, or the client's address for anonymous calls. The address comes from
REMOTE_ADDR, or from X-Forwarded-For only as far as TRUSTED_PROXY_COUNT proxies we run have appended to it,
so a client cannot pick its own key by sending a forged header.
"""

import logging
from typing import Any

from django.conf import settings
from django_redis.exceptions import ConnectionInterrupted
from redis.exceptions import RedisError
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle

logger = logging.getLogger(__name__)


def client_address(request: Request) -> str:
    proxies = settings.TRUSTED_PROXY_COUNT
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if proxies and forwarded:
        hops = [hop.strip() for hop in forwarded.split(",")]
        # Each of our proxies appends the address it saw; anything before that is the client's own claim.
        return hops[-min(proxies, len(hops))]
    return request.META.get("REMOTE_ADDR", "")


class TenantRateThrottle(SimpleRateThrottle):
    """Reads its rate from settings.API_THROTTLE_RATES (DRF instantiates throttles per request)."""

    def get_rate(self) -> str | None:
        return settings.API_THROTTLE_RATES.get(self.scope)

    def allow_request(self, request: Request, view: Any) -> bool:
        try:
            return super().allow_request(request, view)
        except (ConnectionInterrupted, RedisError) as error:
            # The counts live in Redis; while it is down there is nothing to count against, and an outage
            # of the cache must not take the API down with it.
            logger.warning("throttle counts unreachable, request let through: %s", error)
            return True


class TenantUserThrottle(TenantRateThrottle):
    scope = "user"

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        if request.user is None:
            return None
        return self.cache_format % {"scope": self.scope, "ident": request.user.pk}


class TenantAnonThrottle(TenantRateThrottle):
    scope = "anon"

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        if request.user is not None:
            return None
        return self.cache_format % {"scope": self.scope, "ident": client_address(request)}
