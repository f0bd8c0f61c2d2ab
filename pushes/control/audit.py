"""What the audit trail records of a change of push settings: which values changed, never the secrets."""

from typing import Any

from pushes.control.services import PushSettingsChange

# console.models.AuditEntry.action (a free CharField; the console's own choices name its lifecycle actions).
AUDIT_ACTION = "set_push"


def audit_details(change: PushSettingsChange) -> dict[str, Any]:
    details: dict[str, Any] = {
        "token_changed": change.token is not None,
        "aes_key_changed": change.aes_key is not None,
    }
    if change.mode is not None:
        details["mode"] = change.mode
    if change.format is not None:
        details["format"] = change.format
    if change.transfer_customer_service is not None:
        details["transfer_customer_service"] = change.transfer_customer_service
    return details
