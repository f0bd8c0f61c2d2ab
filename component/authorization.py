"""A cancelled authorization, however Miniplex learns it: WeChat's `unauthorized` push (sent once) or a 61003
answered to a call made for the authorizer (component.tokens.authorizer_call). Both suspend the tenant once.

Kept apart from component.services so that component.tokens can call it without an import circle.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction
from django.utils import timezone

from accounts.wechat_access import access_token_holder
from component.models import Authorizer
from console.actors import Actor
from console.models import AuditEntry
from console.services import audit_record
from core.exceptions import REDIS_UNREACHABLE
from core.redis import get_redis
from tenants.models import Tenant
from tenants.services import tenant_suspend

logger = logging.getLogger(__name__)

DOOR_WECHAT = "wechat"
# 61003: "component is not authorized by this account": WeChat no longer holds the authorization.
COMPONENT_NOT_AUTHORIZED = 61003


def wechat_actor(*, address: str = "", **details: Any) -> Actor:
    """WeChat's pushes and the owner's browser act through the door "wechat"."""
    return Actor(username="wechat", user_id=None, door=DOOR_WECHAT, address=address, details=details)


UNAUTHORIZED_REASON = "the owner cancelled the authorization (unauthorized)"
LOST_REASON = "WeChat answered 61003: the mini-program no longer authorizes the platform"


def authorization_cancel(*, app_id: str, actor: Actor, reason: str = UNAUTHORIZED_REASON) -> None:
    """The owner cancelled the authorization: the tenant is suspended (its data kept), its tokens forgotten.

    Once per cancellation: only an authorizer still marked authorized changes (one UPDATE decides), so a push
    WeChat repeats, or a 61003 seen by many requests at once, suspends and audits once.
    """
    with transaction.atomic():
        updated = Authorizer.objects.filter(app_id=app_id, status=Authorizer.Status.AUTHORIZED).update(
            status=Authorizer.Status.UNAUTHORIZED,
            unauthorized_at=timezone.now(),
            access_token_encrypted="",
            access_token_expires_at=None,
        )
    cached_token_forget(app_id)
    if not updated:
        if not Authorizer.objects.filter(app_id=app_id).exists():
            logger.warning("unauthorized (%s) for %s, which Miniplex does not know", reason, app_id)
        return  # already marked unauthorized (by the push or by an earlier 61003)
    tenant = Tenant.objects.filter(app_id=app_id).first()
    if tenant is None:
        logger.warning("authorizer %s unauthorized (%s); it has no tenant", app_id, reason)
        return
    if tenant.status != Tenant.Status.SUSPENDED:
        tenant_suspend(app_id=app_id)
    audit_record(actor=actor, action=AuditEntry.Action.SUSPEND, app_id=app_id, details={"reason": reason})
    logger.info("authorizer %s unauthorized (%s); tenant suspended", app_id, reason)


def authorization_lost(*, app_id: str) -> None:
    """WeChat answered 61003 for this authorizer: what the unauthorized push does (WeChat sends it once; it may be
    lost), audited by the door "wechat" with WeChat's errcode."""
    actor = wechat_actor(errcode=COMPONENT_NOT_AUTHORIZED)
    authorization_cancel(app_id=app_id, actor=actor, reason=LOST_REASON)


def cached_token_forget(app_id: str) -> None:
    # The fleet's cached token of an authorization that changed is no longer the one to use.
    try:
        get_redis().delete(access_token_holder().token_key(app_id))
    except REDIS_UNREACHABLE:
        logger.warning("authorizer %s: cached token not forgotten (Redis unreachable)", app_id)
