"""The push credentials of an authorized tenant: its messages come to the open platform's message URL.

The 消息与事件接收URL of a third-party platform carries `$APPID$`, which WeChat fills with the authorizer's
AppID: Miniplex registers https://<host>/wechat/v1/push/$APPID$, the receiver of pushes (pushes.views). Those
pushes are signed with the component's Token, encrypted with its EncodingAESKey, XML and safe mode only, and the
decrypted message ends with the **component's** AppID, not the mini-program's (docs/open-platform.md).

Nothing signed or encrypted names the mini-program then: one authorizer's push would pass at any other
authorizer's URL. Its ToUserName does (the original id, gh_..., kept at authorization), so the receiver is
told to refuse a push addressed to anyone else (PushCredentials.addressee).
"""

from component.conf import component_credentials, component_enabled
from component.services import authorizer_user_name
from core.exceptions import ServiceUnavailable
from pushes.credentials import PushCredentials
from tenants.models import Tenant


def component_push_credentials(app_id: str) -> PushCredentials | None:
    """For a tenant in component mode, the component's keys; None for any other (its own push settings)."""
    if not component_enabled():
        return None
    if not Tenant.objects.filter(app_id=app_id, auth_mode=Tenant.AuthMode.COMPONENT).exists():
        return None
    user_name = authorizer_user_name(app_id=app_id)
    if not user_name:
        # Not kept at authorization and WeChat cannot say now: refused for now, WeChat pushes again.
        raise ServiceUnavailable("The mini-program's original id is not known yet; WeChat will push again.")
    credentials = component_credentials()
    return PushCredentials(
        token=credentials.token,
        aes_key=credentials.aes_key,
        app_id_expected=credentials.app_id,
        mode="safe",
        format="xml",
        addressee=user_name,
    )
