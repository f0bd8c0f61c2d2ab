"""The jobs around WeChat's check of an avatar: the submission, the pushed answer, and the sweep of overdue ones.

- avatar_check_submit (a tenant job, queued by the upload): media_check_async with the user's openid.
- media_check_pushed (the push handler of `wxa_media_check`, run by pushes in a tenant job): the verdict.
- avatars_sweep (a periodic platform job): visits only the tenants marked as having a check past due.
- avatars_full_sweep (a daily platform job): marks again every tenant with avatars pending, in case Redis lost it.
"""

import logging
import time
from collections.abc import Mapping
from typing import Any

from django.db.models import Min

from accounts.wechat_access import access_token_holder, wechat_client_for
from avatars.models import Avatar, AvatarCheck
from avatars.pending import pending_mark, pending_tenants_due, pending_unmark
from avatars.services import (
    avatar_check_failed,
    avatar_check_record,
    avatar_verdict_apply,
    avatars_overdue_handle,
    avatars_pending_remark,
)
from avatars.wechat_calls import media_check_async
from core.tenant_context import activate_tenant, require_current_tenant
from tenants.models import Tenant
from tenants.selectors import tenant_context_for

logger = logging.getLogger(__name__)


# A push for a trace_id we do not know is retried this long after WeChat sent it (the submission's commit may be
# a moment behind WeChat's answer); later, it is acknowledged and dropped.
UNKNOWN_TRACE_GRACE_SECONDS = 120


class CheckNotRecordedYet(Exception):
    """A pushed answer whose trace_id is not (yet) ours: WeChat can answer before the submission commits."""

    retryable = True  # tenants.jobs retries it with back-off, and gives up after JOBS_RETRY_MAX


def avatar_check_submit(*, avatar_id: int) -> dict[str, Any]:
    """The job: asks WeChat to check a pending avatar; one that is no longer pending is left alone."""
    app_id = require_current_tenant().app_id
    avatar = Avatar.objects.select_related("user").filter(pk=avatar_id, status=Avatar.Status.PENDING).first()
    if avatar is None:
        return {"submitted": False}
    client = wechat_client_for(app_id)
    openid, media_url = avatar.user.openid, avatar.public_url
    trace_id = access_token_holder().call_with_token(
        app_id, lambda token: media_check_async(client, token, openid=openid, media_url=media_url)
    )
    avatar_check_record(avatar_id=avatar.pk, trace_id=trace_id)
    return {"submitted": True, "trace_id": trace_id}


def media_check_pushed(message: Mapping[str, Any]) -> dict[str, Any]:
    """The `wxa_media_check` push (JSON or XML, already verified and decrypted): the verdict on one check."""
    app_id = require_current_tenant().app_id
    if message.get("appid") not in (None, app_id):
        # The receiver checked the signature with this tenant's keys; a body naming another AppID is not ours.
        logger.warning("avatars: a media check push for appid %r reached %s; ignored", message.get("appid"), app_id)
        return {"applied": False, "reason": "appid"}
    trace_id = str(message.get("trace_id") or "")
    check = AvatarCheck.objects.filter(trace_id=trace_id).first() if trace_id else None
    if check is None:
        if _seconds_since_sent(message) > UNKNOWN_TRACE_GRACE_SECONDS:
            # Not a race with the submission's commit: a check of a user deleted since, say. Nothing to do.
            logger.info("avatars: a media check push names trace_id %r, which no avatar has", trace_id)
            return {"applied": False, "reason": "trace_id"}
        raise CheckNotRecordedYet(f"no avatar check has trace_id {trace_id!r}")
    if _errcode(message) != 0:
        avatar_check_failed(check=check)
        return {"applied": False, "reason": "errcode", "avatar_id": check.avatar_id}
    result = message.get("result")
    suggest = str(result.get("suggest", "")) if isinstance(result, Mapping) else ""
    label = str(result.get("label", "")) if isinstance(result, Mapping) else ""
    avatar = avatar_verdict_apply(check=check, suggest=suggest, label=label)
    return {"applied": True, "avatar_id": avatar.pk, "status": avatar.status, "suggest": suggest}


def _seconds_since_sent(message: Mapping[str, Any]) -> float:
    # CreateTime is WeChat's unix time of the push (a number in JSON, a string in XML); missing counts as now.
    try:
        return time.time() - float(message.get("CreateTime") or time.time())
    except (TypeError, ValueError):
        return 0.0


def _errcode(message: Mapping[str, Any]) -> int:
    # JSON pushes carry numbers, XML ones strings; no errcode at all is WeChat's usual success.
    try:
        return int(message.get("errcode") or 0)
    except (TypeError, ValueError):
        return -1


def avatars_sweep() -> dict[str, Any]:
    """The periodic platform job: overdue checks of the marked tenants only, each in its own tenant."""
    visited: dict[str, dict[str, int]] = {}
    for app_id in pending_tenants_due():
        tenant = Tenant.objects.filter(app_id=app_id).first()
        if tenant is None:
            pending_unmark(app_id=app_id)  # dropped: nothing is left to check
            continue
        if tenant.status != Tenant.Status.ACTIVE:
            continue  # suspended: kept marked, and visited again once resumed
        with activate_tenant(tenant_context_for(tenant)):
            visited[app_id] = avatars_overdue_handle()
            avatars_pending_remark()
    return {"tenants": visited}


def avatars_full_sweep() -> dict[str, int]:
    """The daily platform job: one query per active tenant, marking those with avatars pending."""
    marked = 0
    for tenant in Tenant.objects.filter(status=Tenant.Status.ACTIVE):
        with activate_tenant(tenant_context_for(tenant)):
            due_at = Avatar.objects.filter(status=Avatar.Status.PENDING).aggregate(due=Min("check_due_at"))["due"]
        if due_at is not None:
            pending_mark(app_id=tenant.app_id, due_at=due_at)
            marked += 1
    return {"marked": marked}
