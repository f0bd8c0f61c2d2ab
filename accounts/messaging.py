"""Subscribe messages (docs/wechat.md), sent by a worker with the tenant's access_token from the fleet-wide holder.

A template the user refused (WeChat's subscribe_msg_* pushes, recorded by pushes) is not sent: refused when
queued (409 subscription_refused) and again when the job runs, with no call to WeChat either time.
"""

from collections.abc import Mapping
from typing import Any

from accounts.models import MiniProgramUser
from accounts.user_jobs import job_user_get, user_job_enqueue
from accounts.wechat_access import access_token_holder, wechat_client_for
from core.tenant_context import require_current_tenant
from pushes.exceptions import SubscriptionRefused
from pushes.selectors import subscription_allows


def subscribe_message_enqueue(
    *,
    user: MiniProgramUser,
    template_id: str,
    data: Mapping[str, Mapping[str, str]],
    page: str | None = None,
    miniprogram_state: str = "formal",
    lang: str = "zh_CN",
) -> str:
    """Queues one subscribe message to `user` for the active tenant; returns the job's id."""
    _subscription_require(openid=user.openid, template_id=template_id)
    return user_job_enqueue(
        user=user,
        func=subscribe_message_send,
        user_id=user.pk,
        openid=user.openid,
        template_id=template_id,
        data={key: dict(item) for key, item in data.items()},
        page=page,
        miniprogram_state=miniprogram_state,
        lang=lang,
    )


def subscribe_message_send(
    *,
    user_id: int,
    template_id: str,
    data: Mapping[str, Mapping[str, str]],
    page: str | None,
    miniprogram_state: str,
    lang: str,
    openid: str | None = None,
) -> dict[str, Any]:
    """The job. 43101 (refused, or no one-time subscription left) fails it for good; -1 and time-outs retry."""
    app_id = require_current_tenant().app_id
    user = job_user_get(user_id=user_id, openid=openid)
    _subscription_require(openid=user.openid, template_id=template_id)  # the user may have refused since
    client = wechat_client_for(app_id)
    access_token_holder().call_with_token(
        app_id,
        lambda token: client.send_subscribe_message(
            token,
            touser=user.openid,
            template_id=template_id,
            data=data,
            page=page,
            miniprogram_state=miniprogram_state,
            lang=lang,
        ),
    )
    return {"sent": True, "user_id": user_id, "template_id": template_id}


def _subscription_require(*, openid: str, template_id: str) -> None:
    """SubscriptionRefused when the user refused the template; unknown (no push yet) is WeChat's to decide."""
    if subscription_allows(openid=openid, template_id=template_id) is False:
        raise SubscriptionRefused()
