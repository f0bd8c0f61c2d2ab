"""One (timestamp, nonce) signs one push: a signed query string reused for another body is refused.

In plain mode, and for plain pushes in compatible mode, WeChat's signature covers only the Token, the
timestamp and the nonce, not the body: whoever saw one push's URL could post any body with it while the
timestamp is within the tolerance. So the first body seen with a tenant's (timestamp, nonce) is remembered
(a digest, in the tenant's scope of the cache, for as long as the timestamp is accepted) and another body with
them is refused. The same body again is WeChat retrying or a copy of the same push: the dedup key keeps that
to one record, so it passes. When Redis is unreachable pushes are accepted unchecked (a warning says so):
the dedup key still keeps each push's effects to one.
"""

import hashlib
import logging
import time

from django.core.cache import cache

from core.exceptions import REDIS_UNREACHABLE
from core.tenant_context import require_current_tenant
from pushes.exceptions import PushReplayed

logger = logging.getLogger(__name__)


def push_nonce_claim(*, timestamp: str, nonce: str, body: bytes, tolerance: int) -> None:
    """Remembers this body for the tenant's (timestamp, nonce); PushReplayed when another body had them."""
    require_current_tenant()  # the key is the tenant's (core.cache.make_tenant_key)
    key = "pushes:nonce:" + hashlib.sha256(f"{timestamp}\0{nonce}".encode()).hexdigest()
    digest = hashlib.sha256(body).hexdigest()
    # Kept until the timestamp itself is refused (it is within the tolerance of now, checked before).
    seconds = max(1, int(timestamp) + tolerance - int(time.time()) + 1)
    try:
        if cache.add(key, digest, timeout=seconds):
            return
        first = cache.get(key)
    except REDIS_UNREACHABLE as error:
        logger.warning("pushes: nonce not checked, Redis is unreachable: %s", error)
        return
    if first is not None and first != digest:
        raise PushReplayed()
