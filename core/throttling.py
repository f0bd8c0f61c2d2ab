"""The sliding-window request counter under the API's throttles and the tenant middleware's guard against
unknown AppIDs (api/throttling.py, tenants/middleware.py): one Redis round trip per request."""

import logging
from typing import Any

from django.conf import settings
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle

from core import metrics
from core.exceptions import REDIS_UNREACHABLE

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

    # Set by SimpleRateThrottle.__init__ from the rate (parse_rate) whenever there is one; the stubs leave them out.
    num_requests: int
    duration: int

    def get_rate(self) -> str | None:
        return settings.API_THROTTLE_RATES.get(self.scope) if self.scope else None

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
        except REDIS_UNREACHABLE as error:
            metrics.redis_fallback("throttle")
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
