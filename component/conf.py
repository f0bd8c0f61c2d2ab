"""The platform's own credentials (config/settings/component.py), read per call so override_settings works."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings

SETTING_NAMES = (
    "WECHAT_COMPONENT_APPID",
    "WECHAT_COMPONENT_APPSECRET",
    "WECHAT_COMPONENT_TOKEN",
    "WECHAT_COMPONENT_AES_KEY",
)


@dataclass(frozen=True)
class ComponentCredentials:
    """The third-party platform's AppID and AppSecret, and the Token and EncodingAESKey of its push URLs."""

    app_id: str
    app_secret: str
    token: str
    aes_key: str

    def __repr__(self) -> str:
        return f"<ComponentCredentials app_id={self.app_id}>"  # never the secret, the Token or the key


def component_enabled() -> bool:
    """Open-platform mode is on when the component's credentials are set (the system check wants all or none)."""
    return all(getattr(settings, name, "") for name in SETTING_NAMES)


def component_credentials() -> ComponentCredentials:
    """The credentials; ComponentNotConfigured when open-platform mode is off."""
    from component.exceptions import ComponentNotConfigured

    if not component_enabled():
        raise ComponentNotConfigured()
    return ComponentCredentials(
        app_id=settings.WECHAT_COMPONENT_APPID,
        app_secret=settings.WECHAT_COMPONENT_APPSECRET,
        token=settings.WECHAT_COMPONENT_TOKEN,
        aes_key=settings.WECHAT_COMPONENT_AES_KEY,
    )


def page_base() -> str:
    return str(settings.WECHAT_COMPONENT_PAGE_BASE).rstrip("/")


def redirect_base() -> str:
    return str(settings.WECHAT_COMPONENT_REDIRECT_BASE).rstrip("/")
