"""The audit entry of a lifecycle command (door "command", the OS login and its SSH client's address).

A command is run by someone with a shell on a host, who holds the control database's credentials anyway, so
commands check no Django permission; each one's help names the permission the admin and the API ask for.
"""

from typing import Any

from console.actors import actor_from_command
from console.models import AuditEntry
from console.services import audit_record
from core.commands import run_service
from tenants.models import Tenant
from tenants.services import tenant_provision


def command_audit(*, module: str, action: str, app_id: str, **details: Any) -> None:
    """`module` is the command's __name__: its last part names the command in the entry's details."""
    command = module.rsplit(".", 1)[-1]
    audit_record(actor=actor_from_command(), action=action, app_id=app_id, details={"command": command, **details})


def tenant_provision_audited(*, module: str, **provision: Any) -> Tenant:
    """tenant_provision for a command (create_tenant, ensure_demo_tenant), with its audit entry."""
    tenant = run_service(tenant_provision, **provision)
    command_audit(
        module=module,
        action=AuditEntry.Action.ONBOARD,
        app_id=tenant.app_id,
        db_server=tenant.db_server,
        name=tenant.name,
    )
    return tenant
