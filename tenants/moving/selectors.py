"""Reads of a tenant's move: is it frozen now (for the request path, the worker and the push receiver)."""

from tenants.models import Tenant
from tenants.selectors import tenant_entry_get


def tenant_move_frozen(*, app_id: str) -> bool:
    """True while the tenant is frozen for its move's final step: no write may be attempted.

    The registry entry of a moving tenant is never copied locally (tenants.cache), so this reads Redis (or
    the control database) for such a tenant and costs a dictionary lookup for every other one.
    """
    entry = tenant_entry_get(app_id=app_id)
    return entry is not None and entry.move_state == Tenant.MoveState.FROZEN
