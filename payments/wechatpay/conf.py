"""The WeChat Pay settings, read per call so override_settings works (config/settings/payments.py)."""

from __future__ import annotations

from django.conf import settings

DEFAULT_API_BASE = "https://api.mch.weixin.qq.com"
# WeChat's notifications and answers carry their own signing time; one more than this far off is refused.
NOTIFICATION_WINDOW_SECONDS = 300


def get_api_base() -> str:
    return str(getattr(settings, "WECHATPAY_API_BASE", DEFAULT_API_BASE) or DEFAULT_API_BASE).rstrip("/")


def get_timeout() -> float:
    return float(getattr(settings, "WECHATPAY_TIMEOUT_SECONDS", 5.0))


def get_notify_base_url() -> str:
    """The public HTTPS base of our notify URLs; "" when unset (prepay is then refused)."""
    return str(getattr(settings, "PAY_NOTIFY_BASE_URL", "") or "").rstrip("/")


def get_window_seconds() -> int:
    return int(getattr(settings, "WECHATPAY_NOTIFICATION_WINDOW_SECONDS", NOTIFICATION_WINDOW_SECONDS))
