"""WeChat clients for tenants, with the fleet's one token holder: own AppSecret or open-platform authorization.

A tenant in `secret` mode is served with its own AppSecret (stable_token, jscode2session). A tenant in `component`
mode authorized Miniplex's third-party platform: its client logs users in through the component and its token is
the authorizer token. That mode is plugged in by the `component` app (register_component_access in its
AppConfig.ready()), so accounts never imports it; callers (subscribe send, msgSecCheck, phone number, media
check) see no difference.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from core.exceptions import ApplicationError
from core.redis import get_redis
from tenants.models import Tenant
from tenants.secrets import secret_decrypt
from tenants.selectors import tenant_get
from wechat import AccessTokenHolder, WeChatClient
from wechat.exceptions import WeChatConfigError
from wechat.tokens import TokenFetch

# WeChat's answer to the component's jscode2session when the mini-program has not authorized the platform.
COMPONENT_NOT_AUTHORIZED_ERRCODE = 61003


class ComponentNotAuthorized(ApplicationError):
    code = "component_not_authorized"
    message = "This mini-program has not authorized Miniplex's open platform (or the owner cancelled it)."
    status = 403


@dataclass(frozen=True)
class ComponentAccess:
    """What open-platform mode provides: a client for an authorized tenant, and the fetch of its authorizer token."""

    client_for: Callable[[str], WeChatClient]
    fetch_token: TokenFetch


_component_access: list[ComponentAccess] = []


def register_component_access(access: ComponentAccess) -> None:
    """Called once by the component app's ready(); a second registration replaces the first."""
    _component_access[:] = [access]


def _component(app_id: str) -> ComponentAccess:
    if not _component_access:
        raise WeChatConfigError(None, f"{app_id} is authorized to the open platform, which is not installed")
    return _component_access[0]


def wechat_client_for(app_id: str) -> WeChatClient:
    """A client for one tenant: with its decrypted AppSecret, or through the open platform (read from the registry)."""
    tenant = tenant_get(app_id=app_id)
    if tenant.uses_component:
        return _component(app_id).client_for(app_id)
    return _secret_client(tenant)


def _secret_client(tenant: Tenant) -> WeChatClient:
    if not tenant.has_secret:
        # Nothing can be asked of WeChat on this tenant's behalf until an operator sets the secret.
        raise WeChatConfigError(None, f"no AppSecret is registered for {tenant.app_id}")
    return WeChatClient(tenant.app_id, secret_decrypt(tenant.app_secret_encrypted))


def tenant_token_fetch(app_id: str, force: bool) -> tuple[str, int]:
    """The holder's fetch: the stable token with the AppSecret, or the authorizer token (asked only when due)."""
    tenant = tenant_get(app_id=app_id)
    if tenant.uses_component:
        return _component(app_id).fetch_token(app_id, force)
    return _secret_client(tenant).fetch_stable_token(force_refresh=force)


def _uses_stable_token(app_id: str) -> bool:
    # Only stable_token's force_refresh is rationed by WeChat; an authorizer token is simply refreshed again.
    return not tenant_get(app_id=app_id).uses_component


@lru_cache(maxsize=1)
def access_token_holder() -> AccessTokenHolder:
    """This process's handle on the fleet-wide access_token store (Redis; in-process in the embedded default)."""
    return AccessTokenHolder(get_redis(), fetch=tenant_token_fetch, force_limited=_uses_stable_token)
