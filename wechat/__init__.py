"""WeChat server APIs for Miniplex: the client, errors and the shared access_token holder.

The fake WeChat server for tests lives in ``wechat.fake_server`` and is not imported here.
"""

from wechat.client import PhoneInfo, SecCheckResult, SessionInfo, WeChatClient
from wechat.exceptions import (
    WeChatAppIdInvalid,
    WeChatArgumentInvalid,
    WeChatBadRequest,
    WeChatBusy,
    WeChatCodeInvalid,
    WeChatConfigError,
    WeChatError,
    WeChatIpNotAllowed,
    WeChatMalformedRequest,
    WeChatOpenIdInvalid,
    WeChatOpenIdMismatch,
    WeChatPageInvalid,
    WeChatRateLimited,
    WeChatRiskyIp,
    WeChatSceneInvalid,
    WeChatSecretInvalid,
    WeChatSubscribeRefused,
    WeChatTemplateInvalid,
    WeChatTokenInvalid,
    WeChatUnavailable,
    WeChatUserBlocked,
    error_for,
)
from wechat.tokens import AccessTokenHolder

__all__ = [
    "AccessTokenHolder",
    "PhoneInfo",
    "SecCheckResult",
    "SessionInfo",
    "WeChatAppIdInvalid",
    "WeChatArgumentInvalid",
    "WeChatBadRequest",
    "WeChatBusy",
    "WeChatClient",
    "WeChatCodeInvalid",
    "WeChatConfigError",
    "WeChatError",
    "WeChatIpNotAllowed",
    "WeChatMalformedRequest",
    "WeChatOpenIdInvalid",
    "WeChatOpenIdMismatch",
    "WeChatPageInvalid",
    "WeChatRateLimited",
    "WeChatRiskyIp",
    "WeChatSceneInvalid",
    "WeChatSecretInvalid",
    "WeChatSubscribeRefused",
    "WeChatTemplateInvalid",
    "WeChatTokenInvalid",
    "WeChatUnavailable",
    "WeChatUserBlocked",
    "error_for",
]
