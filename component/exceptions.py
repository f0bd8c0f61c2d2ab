"""Errors of open-platform mode, in the API's one JSON shape (core.exceptions)."""

from core.exceptions import ApplicationError
from wechat.exceptions import WeChatUnavailable


class ComponentNotConfigured(ApplicationError):
    code = "component_not_configured"
    message = "Open-platform mode is off: WECHAT_COMPONENT_APPID, _APPSECRET, _TOKEN and _AES_KEY are not set."
    status = 409


class ComponentTicketMissing(WeChatUnavailable):
    """No valid component_verify_ticket: WeChat was asked to push one (api_start_push_ticket); retry shortly."""

    def __init__(self, errmsg: str = "no valid component_verify_ticket yet; WeChat was asked to push one") -> None:
        super().__init__(errmsg)


class AuthorizationLost(ApplicationError):
    """The authorizer's refresh token no longer works and WeChat lists none for it: the owner must authorize again."""

    code = "component_authorization_lost"
    message = "WeChat no longer accepts this mini-program's authorization; its owner must authorize Miniplex again."
    status = 409


class AuthorizationLinkInvalid(ApplicationError):
    code = "authorization_link_invalid"
    message = "This authorization link is unknown, expired or already used; ask for a new one."
    status = 404


class AuthorizationCodeRejected(ApplicationError):
    code = "authorization_code_invalid"
    message = "WeChat did not accept the authorization code (expired or already used); authorize again."
    status = 400


class AuthorizerNotFound(ApplicationError):
    code = "authorizer_not_found"
    message = "This mini-program has not authorized the platform."
    status = 404


class ComponentPermissionMissing(ApplicationError):
    code = "component_permission_missing"
    message = "The mini-program's owner did not grant the permission set this needs; they must authorize again."
    status = 403
