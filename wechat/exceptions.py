"""Errors of WeChat's server APIs, one narrow class per errcode the project reacts to.

Error codes: docs/wechat.md (and https://developers.weixin.qq.com/miniprogram/dev/OpenApiDoc/).
"""

from __future__ import annotations

from typing import Any, ClassVar


class WeChatError(Exception):
    """WeChat answered with a non-zero errcode (or, for subclasses, did not answer usefully)."""

    retryable: ClassVar[bool] = False

    def __init__(self, errcode: int | None, errmsg: str) -> None:
        super().__init__(f"WeChat errcode {errcode}: {errmsg}")
        self.errcode = errcode
        self.errmsg = errmsg

    def __reduce__(self) -> tuple[Any, ...]:
        # Jobs and worker processes pickle exceptions; the default would call __init__ with the message only.
        return (type(self), (self.errcode, self.errmsg))


class WeChatUnavailable(WeChatError):
    """No usable answer: time-out, connection error, 5xx or a body that is not WeChat's JSON."""

    retryable = True

    def __init__(self, errmsg: str) -> None:
        super().__init__(None, errmsg)

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.errmsg,))


class WeChatBusy(WeChatError):
    """-1: system busy; WeChat asks to try again later."""

    retryable = True


class WeChatCodeInvalid(WeChatError):
    """40029: a wx.login or phone code that is invalid, expired, reused or from another AppID; 40163: already used."""


class WeChatRateLimited(WeChatError):
    """45011: API rate limit (code2Session: 100 calls per user per minute; force refreshes under 30 s apart)."""


class WeChatQuotaExceeded(WeChatError):
    """45009: the API's daily quota is used up (stable_token's force refreshes: 20 a day)."""


class WeChatUserBlocked(WeChatError):
    """40226: WeChat blocks this high-risk user."""


class WeChatTokenInvalid(WeChatError):
    """40001/40014/42001: the access_token is not the latest, malformed or expired; refresh and retry once."""


class WeChatSubscribeRefused(WeChatError):
    """43101: the user refused, or has no one-time subscription left for this template."""


class WeChatConfigError(WeChatError):
    """The tenant's WeChat set-up is wrong: retrying will not help until an operator fixes it."""


class WeChatAppIdInvalid(WeChatConfigError):
    """40013: invalid AppID."""


class WeChatSecretInvalid(WeChatConfigError):
    """40125: invalid AppSecret."""


class WeChatIpNotAllowed(WeChatConfigError):
    """40164: our egress IP is not on the mini-program's whitelist."""


class WeChatRiskyIp(WeChatConfigError):
    """89503: the caller IP is risky and needs the mini-program admin's confirmation."""


class WeChatBadRequest(WeChatError):
    """WeChat rejected an argument of the call: a bug or bad input, never worth a retry."""


class WeChatOpenIdInvalid(WeChatBadRequest):
    """40003: invalid openid (touser)."""


class WeChatTemplateInvalid(WeChatBadRequest):
    """40037: invalid template_id."""


class WeChatArgumentInvalid(WeChatBadRequest):
    """47003: "argument invalid", e.g. subscribe message data that does not fit the template."""


class WeChatPageInvalid(WeChatBadRequest):
    """41030: the page is not a page of the published mini-program."""


class WeChatSceneInvalid(WeChatBadRequest):
    """40129: msgSecCheck scene is not 1-4."""


class WeChatOpenIdMismatch(WeChatBadRequest):
    """43104: the openid does not belong to this AppID."""


class WeChatMalformedRequest(WeChatBadRequest):
    """47001: the body is not the JSON WeChat expects (e.g. access_token sent in the body)."""


_BY_ERRCODE: dict[int, type[WeChatError]] = {
    -1: WeChatBusy,
    40029: WeChatCodeInvalid,
    40163: WeChatCodeInvalid,
    45011: WeChatRateLimited,
    45009: WeChatQuotaExceeded,
    40226: WeChatUserBlocked,
    40001: WeChatTokenInvalid,
    40014: WeChatTokenInvalid,
    42001: WeChatTokenInvalid,
    43101: WeChatSubscribeRefused,
    40013: WeChatAppIdInvalid,
    40125: WeChatSecretInvalid,
    40164: WeChatIpNotAllowed,
    89503: WeChatRiskyIp,
    40003: WeChatOpenIdInvalid,
    40037: WeChatTemplateInvalid,
    47003: WeChatArgumentInvalid,
    41030: WeChatPageInvalid,
    40129: WeChatSceneInvalid,
    43104: WeChatOpenIdMismatch,
    47001: WeChatMalformedRequest,
}


def error_for(errcode: int, errmsg: str) -> WeChatError:
    """The exception for one WeChat errcode; unknown codes give a plain, non-retryable WeChatError."""
    return _BY_ERRCODE.get(errcode, WeChatError)(errcode, errmsg)
