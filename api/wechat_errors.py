"""WeChat's answers as the API's errors: what the mini-program can act on, and what it should retry."""

from accounts.wechat_access import ComponentNotAuthorized
from core.exceptions import ApplicationError, ServiceUnavailable
from wechat import (
    WeChatCodeInvalid,
    WeChatConfigError,
    WeChatError,
    WeChatRateLimited,
    WeChatUserBlocked,
)


class WeChatCodeRejected(ApplicationError):
    code = "wechat_code_invalid"
    message = "WeChat rejected the code: it is invalid, expired, already used or from another mini-program."
    status = 400


class WeChatRateLimitedError(ApplicationError):
    code = "wechat_rate_limited"
    message = "WeChat's rate limit for this user was reached; try again in a minute."
    status = 429

    @property
    def headers(self) -> dict[str, str]:
        return {"Retry-After": "60"}


class WeChatUserBlockedError(ApplicationError):
    code = "wechat_user_blocked"
    message = "WeChat blocked this user as high-risk."
    status = 403


class WeChatMisconfigured(ApplicationError):
    code = "wechat_misconfigured"
    message = "This mini-program's WeChat set-up (AppID, AppSecret or IP whitelist) is wrong; its operator must fix it."
    status = 502


class WeChatFailed(ApplicationError):
    code = "wechat_error"
    message = "WeChat refused the request."
    status = 502


# What a request that calls WeChat can answer besides 503 (for the OpenAPI schema: api.schema.api_errors).
WECHAT_CALL_ERRORS = (
    WeChatCodeRejected,
    WeChatRateLimitedError,
    WeChatUserBlockedError,
    WeChatMisconfigured,
    WeChatFailed,
    ComponentNotAuthorized,
)


# Most specific first: the first class the error is an instance of decides.
WECHAT_ERRORS: list[tuple[type[Exception], type[ApplicationError]]] = [
    (WeChatCodeInvalid, WeChatCodeRejected),
    (WeChatRateLimited, WeChatRateLimitedError),
    (WeChatUserBlocked, WeChatUserBlockedError),
    (WeChatConfigError, WeChatMisconfigured),
]


def application_error_for(error: WeChatError) -> ApplicationError:
    """-1, time-outs and network errors are 503 with Retry-After; the rest say what went wrong."""
    if isinstance(error, WeChatError) and error.retryable:
        return ServiceUnavailable("WeChat is busy or unreachable; retry shortly.")
    for wechat_class, api_class in WECHAT_ERRORS:
        if isinstance(error, wechat_class):
            return api_class()
    return WeChatFailed(f"WeChat refused the request (errcode {getattr(error, 'errcode', None)}).")
