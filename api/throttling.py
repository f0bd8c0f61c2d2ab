"""Throttles scoped to one tenant: a flood under one AppID never throttles another.

The cache key function already puts the active tenant's AppID in every key (core.cache.make_tenant_key);
within a tenant the key is the user, or the client's address for anonymous calls. The address comes from
REMOTE_ADDR, or from X-Forwarded-For only as far as TRUSTED_PROXY_COUNT proxies we run have appended to it,
so a client cannot pick its own key by sending a forged header.
"""

from typing import Any

from rest_framework.exceptions import Throttled
from rest_framework.request import Request

from core.client_address import client_address
from core.throttling import TenantRateThrottle  # the sliding-window counter, shared with the tenant middleware


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
