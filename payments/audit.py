"""Every refund asked for is in the platform's audit trail (console.AuditEntry), whatever door it came through."""

from console.actors import Actor
from console.services import audit_record
from payments.models import Refund

# An action of the audit trail (console.models.AuditEntry.Action lists the lifecycle ones; this one is ours).
REFUND_ORDER = "refund_order"


def refund_audit(*, actor: Actor, app_id: str, refund: Refund) -> None:
    audit_record(
        actor=actor,
        action=REFUND_ORDER,
        app_id=app_id,
        details={
            "order_id": refund.order_id,
            "out_trade_no": refund.order.out_trade_no,
            "out_refund_no": refund.out_refund_no,
            "amount": refund.amount,
            "reason": refund.reason,
            "status": refund.status,
        },
    )
