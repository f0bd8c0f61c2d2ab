"""Settings of the WeChat client, read lazily so ``override_settings`` works and Django stays optional."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ImproperlyConfigured

DEFAULT_API_BASE = "https://api.weixin.qq.com"
DEFAULT_TIMEOUT_SECONDS = 5.0
DEFAULT_REDIS_KEY_PREFIX = "wechat"


def _setting(name: str, default: Any) -> Any:
    """One Django setting, or ``default`` when it is unset or Django has no settings at all."""
    from django.conf import settings

    try:
        return getattr(settings, name, default)
    except ImproperlyConfigured:
        # The client, the fake server and their tests also run as plain Python, without a settings module.
        return default


def get_api_base() -> str:
    """Base URL of WeChat's API (the fake server's in tests and staging), without a trailing slash."""
    return str(_setting("WECHAT_API_BASE", DEFAULT_API_BASE)).rstrip("/")


def get_timeout() -> float:
    """Seconds one call to WeChat may take before it counts as unavailable."""
    return float(_setting("WECHAT_TIMEOUT_SECONDS", DEFAULT_TIMEOUT_SECONDS))


def get_redis_key_prefix() -> str:
    """Prefix of every Redis key of the access_token holder."""
    return str(_setting("WECHAT_REDIS_KEY_PREFIX", DEFAULT_REDIS_KEY_PREFIX))
