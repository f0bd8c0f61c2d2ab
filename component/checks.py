"""System checks of open-platform mode (`manage.py check`).

component.E001: some of WECHAT_COMPONENT_APPID, _APPSECRET, _TOKEN, _AES_KEY are set and others are not (they
are required together: with none, open-platform mode is off).
component.E002: WECHAT_COMPONENT_AES_KEY is not a 43-character EncodingAESKey.
"""

from typing import Any

from django.conf import settings
from django.core.checks import Error

from component.conf import SETTING_NAMES
from wechat.crypto import aes_key_from_encoding_aes_key


def component_settings_check(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    missing = [name for name in SETTING_NAMES if not getattr(settings, name, "")]
    if missing and len(missing) < len(SETTING_NAMES):
        return [
            Error(
                f"Open-platform mode needs all four component settings; {', '.join(missing)} not set.",
                hint="Set WECHAT_COMPONENT_APPID, _APPSECRET, _TOKEN and _AES_KEY together, or none of them.",
                id="component.E001",
            )
        ]
    if not missing:
        try:
            aes_key_from_encoding_aes_key(settings.WECHAT_COMPONENT_AES_KEY)
        except ValueError as error:
            return [
                Error(
                    f"WECHAT_COMPONENT_AES_KEY is not an EncodingAESKey: {error}.",
                    hint="Copy the 43-character EncodingAESKey of the platform's settings at open.weixin.qq.com.",
                    id="component.E002",
                )
            ]
    return []
