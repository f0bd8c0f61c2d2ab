"""Reads of mini-program users."""

from accounts.models import MiniProgramUser
from accounts.tokens import token_user_id
from core.tenant_context import activate_tenant
from tenants.models import Tenant
from tenants.selectors import tenant_context_for


def user_for_token(*, raw_token: str) -> MiniProgramUser | None:
    """The active tenant's user holding this token: one Redis read and one row in steady state."""
    user_id = token_user_id(raw_token=raw_token)
    if user_id is None:
        return None
    return MiniProgramUser.objects.filter(pk=user_id).first()


def users_list(*, tenant: Tenant, limit: int) -> list[MiniProgramUser]:
    """The newest users of one tenant, read in that tenant's own context (for the admin)."""
    with activate_tenant(tenant_context_for(tenant)):
        return list(MiniProgramUser.objects.order_by("-id")[:limit])
