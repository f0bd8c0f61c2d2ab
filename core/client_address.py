"""The client's address as our own proxies vouch for it, for throttles, the admin login limit and the audit trail.

REMOTE_ADDR, or the hop of X-Forwarded-For that the TRUSTED_PROXY_COUNT proxies we run appended: anything
before it is the client's own claim, so a forged header cannot choose the address.
"""

from typing import Any

from django.conf import settings


def client_address(request: Any) -> str:
    """`request` is Django's HttpRequest or DRF's Request (both carry META)."""
    proxies = settings.TRUSTED_PROXY_COUNT
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    if proxies and forwarded:
        hops = [hop.strip() for hop in forwarded.split(",")]
        # Each of our proxies appends the address it saw; anything before that is the client's own claim.
        return hops[-min(proxies, len(hops))]
    return request.META.get("REMOTE_ADDR", "")
