"""Content security of what users write: msgSecCheck v2 (docs/wechat.md) of a new nickname, in a worker.

The nickname is saved at once and checked right after (WeChat answers in well under a second, but may be
busy: -1 and time-outs are retried); a `risky` answer puts the previous nickname back, unless the user has
changed it again meanwhile. `review` keeps it (WeChat's advice: a human decides) and is in the result.
"""

from typing import Any

from accounts.models import MiniProgramUser
from accounts.user_jobs import job_user_get, user_job_enqueue
from accounts.wechat_access import access_token_holder, wechat_client_for
from core.tenant_context import require_current_tenant

# msgSecCheck scenes: 1 profile, 2 comment, 3 forum, 4 social log.
SCENE_PROFILE = 1


def nickname_check_enqueue(*, user: MiniProgramUser, nickname: str, previous: str) -> str:
    """Queues the check of `user`'s new nickname; returns the job's id."""
    return user_job_enqueue(
        user=user, func=nickname_check, user_id=user.pk, openid=user.openid, nickname=nickname, previous=previous
    )


def nickname_check(*, user_id: int, nickname: str, previous: str, openid: str | None = None) -> dict[str, Any]:
    """The job: asks WeChat about the nickname with the user's own openid; `risky` rejects it."""
    app_id = require_current_tenant().app_id
    user = job_user_get(user_id=user_id, openid=openid)
    client = wechat_client_for(app_id)
    answer = access_token_holder().call_with_token(
        app_id, lambda token: client.msg_sec_check(token, openid=user.openid, content=nickname, scene=SCENE_PROFILE)
    )
    suggest = answer["result"]["suggest"]
    rejected = suggest == "risky"
    if rejected:
        # Only if it is still the nickname checked: a newer one has its own check on the way.
        MiniProgramUser.objects.filter(pk=user_id, nickname=nickname).update(nickname=previous)
    return {"suggest": suggest, "label": answer["result"].get("label"), "rejected": rejected}
