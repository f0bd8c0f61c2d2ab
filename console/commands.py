"""The audit entry of a lifecycle command (door "command", the OS login and its SSH client's address).

A command is run by someone with a shell on a host, who holds the control database's credentials anyway, so
commands check no Django permission; each one's help names the permission the admin and the API ask for.
"""

from typing import Any

from console.actors import actor_from_command
from console.services import audit_record


def command_audit(*, module: str, action: str, app_id: str, **details: Any) -> None:
    """`module` is the command's __name__: its last part names the command in the entry's details."""
    command = module.rsplit(".", 1)[-1]
    audit_record(actor=actor_from_command(), action=action, app_id=app_id, details={"command": command, **details})
