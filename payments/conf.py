"""Settings of the orders app, with their defaults (read per call, so override_settings works in tests).

The merchant's and the protocol's settings (WECHATPAY_API_BASE, PAY_NOTIFY_BASE_URL, time-outs) are in
config/settings/payments.py; these are the orders' own.
"""

from datetime import timedelta

from django.conf import settings

# WeChat Pay keeps a prepay_id for two hours (https://pay.weixin.qq.com/doc/v3/merchant/4012525182); we stop
# handing one out a few minutes before, so a payment started from it never meets an expired id.
PREPAY_ID_LIFETIME = timedelta(hours=2)
PREPAY_ID_MARGIN = timedelta(minutes=5)


def get_order_expire_minutes() -> int:
    """How long a new order may be paid: its time_expire at WeChat, and when reconciliation closes it."""
    return int(getattr(settings, "PAY_ORDER_EXPIRE_MINUTES", 30))


def get_reconcile_after_minutes() -> int:
    """A pending order younger than this is left to its notification; an older one is asked about."""
    return int(getattr(settings, "PAY_RECONCILE_AFTER_MINUTES", 10))


def get_reconcile_every_seconds() -> int:
    return int(getattr(settings, "PAY_RECONCILE_EVERY_SECONDS", 300))


def get_reconcile_batch() -> int:
    """The most orders one tenant's reconciliation asks WeChat about in one pass (the rest wait for the next)."""
    return int(getattr(settings, "PAY_RECONCILE_BATCH", 200))


def get_notify_base_url() -> str:
    return str(getattr(settings, "PAY_NOTIFY_BASE_URL", "") or "").rstrip("/")
