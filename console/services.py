"""Writes of the console: the audit trail."""

import logging
from typing import Any

from console.actors import Actor
from console.models import AuditEntry

logger = logging.getLogger(__name__)


def audit_record(*, actor: Actor, action: str, app_id: str = "", details: dict[str, Any] | None = None) -> AuditEntry:
    """One entry for one lifecycle action that was done (the doors call it once the service has succeeded)."""
    entry = AuditEntry.objects.create(
        actor=actor.username[:150],
        actor_id=actor.user_id,
        action=action,
        app_id=app_id,
        address=actor.address,
        door=actor.door,
        details={**actor.details, **(details or {})},
    )
    logger.info("audit: %s %s %s via %s from %s", actor.username, action, app_id or "-", actor.door, actor.address)
    return entry
