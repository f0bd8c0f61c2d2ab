"""WeChat clients for tenants: built from the registry's AppSecret, with the fleet's one token holder."""

from functools import lru_cache

from core.redis import get_redis
from tenants.secrets import secret_decrypt
from tenants.selectors import tenant_get
from wechat import AccessTokenHolder, WeChatClient
from wechat.exceptions import WeChatConfigError


def wechat_client_for(app_id: str) -> WeChatClient:
    """A client for one tenant, with its decrypted AppSecret (read from the control database)."""
    tenant = tenant_get(app_id=app_id)
    if not tenant.has_secret:
        # Nothing can be asked of WeChat on this tenant's behalf until an operator sets the secret.
        raise WeChatConfigError(None, f"no AppSecret is registered for {app_id}")
    return WeChatClient(app_id, secret_decrypt(tenant.app_secret_encrypted))


@lru_cache(maxsize=1)
def access_token_holder() -> AccessTokenHolder:
    """This process's handle on the fleet-wide access_token store (Redis; in-process in the embedded default)."""
    return AccessTokenHolder(get_redis(), client_factory=wechat_client_for)
