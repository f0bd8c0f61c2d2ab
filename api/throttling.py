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
from rest_framework.exceptions import Throttled
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle

from core.client_address import client_address

logger = logging.getLogger(__name__)


class TenantRateThrottle(SimpleRateThrottle):
    """A sliding-window counter: one Redis round trip per request.

    DRF's SimpleRateThrottle keeps a list of timestamps, read (GET) and written back (SET) on every request:
    two round trips and a list that grows with the rate. Here each window of `duration` seconds has a counter;
    one pipeline increments this window's and reads the previous window's, and the previous count weighs by
    how much of it still lies within the last `duration` seconds (the estimate Cloudflare and others use).
    A rejected request is taken back out, so a client that keeps knocking is let in as soon as the rate allows.
    The rate comes from settings.API_THROTTLE_RATES (DRF instantiates throttles per request).
    """

    def get_rate(self) -> str | None:
        return settings.API_THROTTLE_RATES.get(self.scope)

    def allow_request(self, request: Request, view: Any) -> bool:
        if self.rate is None:
            return True
        return self.allow_key(self.get_cache_key(request, view))

    def allow_key(self, key: str | None) -> bool:
        """Counts one request under `key` (None: not this throttle's to count) and says whether it may pass."""
        if key is None:
            return True
        self.key = key
        try:
            return self._count_and_check()
        except (ConnectionInterrupted, RedisError) as error:
            # The counts live in Redis; while it is down there is nothing to count against, and an outage
            # of the cache must not take the API down with it.
            logger.warning("throttle counts unreachable, request let through: %s", error)
            return True

    def _count_and_check(self) -> bool:
        self.now = self.timer()
        window, self.elapsed = divmod(self.now, self.duration)
        current_key = f"{self.key}:{int(window)}"
        self.current, self.previous = _count_hit(
            self.cache, current_key, f"{self.key}:{int(window) - 1}", ttl=2 * self.duration
        )
        if self._estimate(self.current) <= self.num_requests:
            return True
        self.cache.decr(current_key)
        self.current -= 1
        return False

    def _estimate(self, current: int) -> float:
        return self.previous * (1 - self.elapsed / self.duration) + current

    def wait(self) -> float:
        """Seconds until one more request fits (the Retry-After header)."""
        room = self.num_requests - 1 - self.current
        if room >= 0:
            # The previous window's weight has to fall: previous * (1 - t / duration) <= room, solved for t.
            return max(self.duration * (1 - room / self.previous) - self.elapsed, 0.001)
        until_next = self.duration - self.elapsed
        if self.current <= 0:
            return until_next  # a rate of 0: nothing ever fits, the header just says when to ask again
        # This window alone is full: once it is the previous one, its weight has to fall in turn.
        return until_next + self.duration * (1 - (self.num_requests - 1) / self.current)


def _count_hit(cache: Any, current_key: str, previous_key: str, *, ttl: int) -> tuple[int, int]:
    """Counts a request in the current window: (this window's count, the previous window's count)."""
    client = getattr(getattr(cache, "client", None), "get_client", None)
    if client is None:
        # The embedded default's in-process cache: no round trips to save.
        cache.add(current_key, 0, ttl)
        return cache.incr(current_key), cache.get(previous_key, 0)
    # django-redis: one pipelined round trip; keys through the cache's key function (tenant-scoped).
    current_full_key = cache.make_key(current_key)
    pipeline = client(write=True).pipeline(transaction=False)
    pipeline.incr(current_full_key)
    pipeline.expire(current_full_key, ttl)
    pipeline.get(cache.make_key(previous_key))
    current, _, previous = pipeline.execute()
    return int(current), int(previous or 0)


class TenantUserThrottle(TenantRateThrottle):
    scope = "user"

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        if request.user is None:
            return None
        return self.cache_format % {"scope": self.scope, "ident": request.user.pk}


class TenantAnonThrottle(TenantRateThrottle):
    """Requests without a valid token, per client address; counted by the authentication when it has run."""

    scope = "anon"

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        if request.user is not None or getattr(request, _COUNTED_AS_ANONYMOUS, False):
            return None
        return self.address_key(request)

    def address_key(self, request: Request) -> str:
        return self.cache_format % {"scope": self.scope, "ident": client_address(request)}


# Set on a DRF request once throttle_unauthenticated has counted it, so check_throttles does not count it again.
_COUNTED_AS_ANONYMOUS = "_miniplex_counted_as_anonymous"


def throttle_unauthenticated(request: Request) -> None:
    """Counts a request that holds no valid token under the view's anonymous throttle; Throttled when over it.

    Called by the token authentication whenever it finds no user, so before DRF could refuse the request
    (401 for a bad token, or for a missing one where the view needs a user): DRF checks throttles only after
    authentication and permissions have passed, which let a client guess tokens at any rate.
    """
    view = (request.parser_context or {}).get("view")
    if view is None:
        return
    for throttle in view.get_throttles():
        if isinstance(throttle, TenantAnonThrottle) and throttle.rate is not None:
            setattr(request, _COUNTED_AS_ANONYMOUS, True)
            if not throttle.allow_key(throttle.address_key(request)):
                raise Throttled(wait=throttle.wait())
