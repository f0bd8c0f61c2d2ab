"""The audit trail's entries of template releases (console.AuditEntry), written by the doors once a service is done.

A release is one entry (with no AppID: it names its tenants' count), whoever started it and through which door.
"""

from typing import Any

from console.actors import Actor
from console.services import audit_record

START = "template_release"
RELEASE_APPROVED = "template_release_go"
RETRY = "template_release_retry"
CHECK = "template_release_check"
ACTIONS = (START, RELEASE_APPROVED, RETRY, CHECK)


def release_audit(*, actor: Actor, action: str, release_id: int, app_id: str = "", **details: Any) -> None:
    audit_record(actor=actor, action=action, app_id=app_id, details={"release": release_id, **details})
