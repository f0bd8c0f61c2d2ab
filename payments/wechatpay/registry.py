"""merchant_keys_for(app_id): a tenant's loaded merchant keys, kept per process for a short while.

Parsing an RSA key and decrypting two Fernet values on every payment call would be waste; keeping them for
good would miss a change made through another process. A copy lives WECHATPAY_KEYS_CACHE_SECONDS (a change
through this process drops it at once); `fresh=True` reads the control database again (a notification signed
with a certificate serial this copy does not know yet).
"""

from __future__ import annotations

import threading
import time

from django.conf import settings

from payments.wechatpay.keys import MerchantKeys

_lock = threading.Lock()
_loaded: dict[str, tuple[float, MerchantKeys]] = {}  # app_id -> (read at, on the monotonic clock; keys)


def merchant_keys_for(app_id: str, *, fresh: bool = False) -> MerchantKeys:
    """Raises MerchantNotConfigured when the tenant has no merchant.

    fresh: read the database again, unless this copy was read less than WECHATPAY_KEYS_RELOAD_MIN_SECONDS ago
    (notifications with made-up serials must not turn into one query each).
    """
    now = time.monotonic()
    entry = _loaded.get(app_id)
    lifetime = float(getattr(settings, "WECHATPAY_KEYS_CACHE_SECONDS", 60.0))
    reload_after = float(getattr(settings, "WECHATPAY_KEYS_RELOAD_MIN_SECONDS", 5.0))
    if entry is not None and now - entry[0] < lifetime:
        if not fresh or now - entry[0] < reload_after:
            return entry[1]
    # Imported here: the control app's models load with Django's apps, after this package.
    from payments.control.selectors import merchant_keys_load

    keys = merchant_keys_load(app_id=app_id)
    with _lock:
        _loaded[app_id] = (now, keys)
    return keys


def merchant_keys_forget(app_id: str | None = None) -> None:
    """Drop this process's copy of one tenant's keys (all of them with None)."""
    with _lock:
        if app_id is None:
            _loaded.clear()
        else:
            _loaded.pop(app_id, None)
