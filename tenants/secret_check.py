"""Checking an AppSecret against WeChat before it is stored: a token is fetched with it.

Each refusal becomes a message that says what the platform admin has to fix, and where.
"""

from core.exceptions import ServiceUnavailable
from tenants.exceptions import SecretRejected
from wechat import WeChatAppIdInvalid, WeChatClient, WeChatError, WeChatIpNotAllowed, WeChatRiskyIp, WeChatSecretInvalid

WHAT_TO_FIX: dict[type[WeChatError], str] = {
    WeChatAppIdInvalid: "WeChat does not know this AppID (40013): check the AppID of the mini-program.",
    WeChatSecretInvalid: (
        "The AppSecret is wrong (40125): copy it again, or reset it, in the mini-program's admin console "
        "under Development > Development settings."
    ),
    WeChatIpNotAllowed: (
        "This server's IP address is not on the mini-program's IP whitelist (40164): add it under "
        "Development > Development settings > IP whitelist."
    ),
    WeChatRiskyIp: (
        "WeChat wants the mini-program's administrator to confirm this server's IP address (89503): "
        "confirm it in the WeChat notice they received, then try again."
    ),
}


def secret_check(*, app_id: str, app_secret: str) -> None:
    """Raises SecretRejected (or ServiceUnavailable when WeChat is busy) unless WeChat accepts the pair."""
    try:
        WeChatClient(app_id, app_secret).fetch_stable_token()
    except WeChatError as error:
        if error.retryable:
            raise ServiceUnavailable("WeChat is busy or unreachable; the AppSecret was not changed.") from None
        message = next(
            (text for cls, text in WHAT_TO_FIX.items() if isinstance(error, cls)),
            f"WeChat refused the AppID and AppSecret (errcode {error.errcode}).",
        )
        raise SecretRejected(message, extra={"errcode": error.errcode}) from None
