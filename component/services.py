"""Writes of open-platform mode: authorization links, authorizations (tenant created or linked), cancellations.

Every change is in the audit trail (console.services.audit_record): a link given to a staff user, an
authorization that created or linked a tenant, an update of the granted permissions, a cancellation that
suspended the tenant.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from django.db import transaction
from django.utils import timezone

from component import conf
from component.authorization import cached_token_forget
from component.client import AuthorizerTokens
from component.exceptions import AuthorizationCodeRejected, AuthorizationLinkInvalid
from component.models import AuthorizationLink, Authorizer
from component.tokens import component_call, component_client
from console.actors import Actor
from console.models import AuditEntry
from console.services import audit_record
from tenants.models import Tenant
from tenants.secrets import secret_encrypt
from tenants.services import tenant_onboard, tenant_resume
from wechat.exceptions import WeChatError

logger = logging.getLogger(__name__)

# Audit actions and door of open-platform mode (console.models.AuditEntry keeps them as given).
ACTION_AUTHORIZATION_LINK = "authorization_link"
ACTION_AUTHORIZATION_UPDATE = "authorization_update"
# WeChat's answers to api_query_auth for an authorization code that is expired or used.
AUTH_CODE_ERRCODES = frozenset({61010, 40029, 61009})
# auth_type=2: the authorization page lists mini-programs only (1 would be official accounts, 3 both).
AUTH_TYPE_MINI_PROGRAMS = 2


@dataclass(frozen=True)
class AuthorizationPage:
    """What a staff user hands to a mini-program's owner: the PC page (a QR code WeChat shows) and the mobile link."""

    link: str
    url: str
    mobile_url: str
    expires_at: datetime


def authorization_link_create(*, actor: Actor, tenant_name: str = "") -> AuthorizationPage:
    """A pre_auth_code and the two authorization URLs that carry it, with auth_type=2 (mini-programs)."""
    credentials = conf.component_credentials()
    client = component_client()
    pre_auth_code, expires_in = component_call(client.create_preauthcode)
    link = AuthorizationLink.objects.create(
        link=secrets.token_urlsafe(24),
        pre_auth_code=pre_auth_code,
        tenant_name=tenant_name,
        requested_by=actor.username[:150],
        requested_by_id=actor.user_id,
        expires_at=timezone.now() + timedelta(seconds=expires_in),
    )
    query = {
        "component_appid": credentials.app_id,
        "pre_auth_code": pre_auth_code,
        "redirect_uri": f"{conf.redirect_base()}/wechat/v1/component/authorized/{link.link}",
        "auth_type": AUTH_TYPE_MINI_PROGRAMS,
    }
    mobile_query = {"action": "bindcomponent", "no_scan": 1, **query}
    audit_record(actor=actor, action=ACTION_AUTHORIZATION_LINK, details={"expires_at": link.expires_at.isoformat()})
    return AuthorizationPage(
        link=link.link,
        url=f"{conf.page_base()}/cgi-bin/componentloginpage?{urlencode(query)}",
        mobile_url=f"{conf.page_base()}/safe/bindcomponent?{urlencode(mobile_query)}#wechat_redirect",
        expires_at=link.expires_at,
    )


def authorization_return(*, link: str, auth_code: str, actor: Actor) -> Authorizer:
    """The owner's browser came back from the authorization page with auth_code: complete the authorization."""
    with transaction.atomic():
        row = AuthorizationLink.objects.select_for_update().filter(link=link).first()
        if row is None or (row.completed_at is None and row.expires_at <= timezone.now()):
            raise AuthorizationLinkInvalid()
        if row.completed_at is not None:
            # The authorized push got here first (or the page was reloaded): it is done.
            return Authorizer.objects.get(app_id=row.authorizer_app_id)
        return _authorization_complete(auth_code=auth_code, link=row, actor=actor)


def authorization_push(*, auth_code: str, pre_auth_code: str, actor: Actor) -> Authorizer:
    """An authorized / updateauthorized push: complete the authorization unless its link already did."""
    with transaction.atomic():
        row = AuthorizationLink.objects.select_for_update().filter(pre_auth_code=pre_auth_code).first()
        if row is not None and row.completed_at is not None:
            return Authorizer.objects.get(app_id=row.authorizer_app_id)
        return _authorization_complete(auth_code=auth_code, link=row, actor=actor)


def _authorization_complete(*, auth_code: str, link: AuthorizationLink | None, actor: Actor) -> Authorizer:
    """api_query_auth, then the authorizer stored and its tenant created (provisioning) or linked."""
    client = component_client()
    try:
        tokens = component_call(lambda token: client.query_auth(token, auth_code))
    except WeChatError as error:
        if error.errcode in AUTH_CODE_ERRCODES:
            raise AuthorizationCodeRejected() from None
        raise
    info = _authorizer_info(tokens.app_id)
    authorizer, previous_status = _authorizer_store(tokens, user_name=str(info.get("user_name") or "")[:64])
    tenant = Tenant.objects.filter(app_id=tokens.app_id).first()
    if tenant is None:
        _tenant_create(tokens, link=link, actor=actor, nick_name=str(info.get("nick_name") or ""))
    else:
        _tenant_link(tenant, tokens, previous_status=previous_status, actor=actor)
    if link is not None:
        link.completed_at, link.authorizer_app_id = timezone.now(), tokens.app_id
        link.save(update_fields=["completed_at", "authorizer_app_id"])
    cached_token_forget(tokens.app_id)
    logger.info("authorizer %s authorized (permission sets %s)", tokens.app_id, list(tokens.func_info))
    return authorizer


def _authorizer_store(tokens: AuthorizerTokens, *, user_name: str) -> tuple[Authorizer, str | None]:
    """The authorizer's row with the new tokens (a new authorization invalidates the old refresh token)."""
    existing = Authorizer.objects.select_for_update().filter(app_id=tokens.app_id).first()
    values = {
        "status": Authorizer.Status.AUTHORIZED,
        **({"user_name": user_name} if user_name else {}),
        "func_info": list(tokens.func_info),
        "refresh_token_encrypted": secret_encrypt(tokens.refresh_token),
        "access_token_encrypted": secret_encrypt(tokens.access_token),
        "access_token_expires_at": timezone.now() + timedelta(seconds=tokens.expires_in),
        "refresh_started_at": None,
        "authorized_at": timezone.now(),
        "unauthorized_at": None,
    }
    if existing is None:
        return Authorizer.objects.create(app_id=tokens.app_id, **values), None
    Authorizer.objects.filter(pk=existing.pk).update(token_version=existing.token_version + 1, **values)
    return Authorizer.objects.get(pk=existing.pk), existing.status


def _tenant_create(tokens: AuthorizerTokens, *, link: AuthorizationLink | None, actor: Actor, nick_name: str) -> Tenant:
    """A new tenant, provisioned by a platform job (provisioning, then active), in component mode."""
    name = ((link.tenant_name if link else "") or nick_name or tokens.app_id)[:100]
    tenant = tenant_onboard(app_id=tokens.app_id, name=name)
    # Still provisioning (no request reaches it): the mode is set before the job makes it active.
    Tenant.objects.filter(pk=tenant.pk).update(auth_mode=Tenant.AuthMode.COMPONENT)
    audit_record(
        actor=actor,
        action=AuditEntry.Action.ONBOARD,
        app_id=tenant.app_id,
        details={"auth_mode": "component", "name": name, "func_info": list(tokens.func_info)},
    )
    return tenant


def _authorizer_info(app_id: str) -> dict[str, Any]:
    """api_get_authorizer_info's account facts (nick_name, user_name), {} when WeChat cannot say now.

    Without the original id the authorizer's pushes are refused until authorizer_user_name fetches it.
    """
    try:
        info = component_call(lambda token: component_client().authorizer_info(token, app_id=app_id))
    except WeChatError:
        return {}
    facts = info.get("authorizer_info")
    return facts if isinstance(facts, dict) else {}


def authorizer_user_name(*, app_id: str) -> str:
    """The authorizer's original id (gh_...), asked of WeChat once when an older authorization did not keep it."""
    stored = Authorizer.objects.filter(app_id=app_id).values_list("user_name", flat=True).first()
    if stored:
        return stored
    user_name = str(_authorizer_info(app_id).get("user_name") or "")[:64]
    if user_name:
        Authorizer.objects.filter(app_id=app_id).update(user_name=user_name)
    return user_name


def _tenant_link(tenant: Tenant, tokens: AuthorizerTokens, *, previous_status: str | None, actor: Actor) -> None:
    """An existing tenant authorized (again): component mode; resumed when a cancellation had suspended it."""
    if not tenant.uses_component:
        Tenant.objects.filter(pk=tenant.pk).update(auth_mode=Tenant.AuthMode.COMPONENT)
    details = {"auth_mode": "component", "func_info": list(tokens.func_info)}
    audit_record(actor=actor, action=ACTION_AUTHORIZATION_UPDATE, app_id=tenant.app_id, details=details)
    if previous_status == Authorizer.Status.UNAUTHORIZED and tenant.status == Tenant.Status.SUSPENDED:
        tenant_resume(app_id=tenant.app_id)
        audit_record(actor=actor, action=AuditEntry.Action.RESUME, app_id=tenant.app_id, details=details)
