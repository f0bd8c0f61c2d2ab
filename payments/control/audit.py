"""The audit actions of the merchants (console's AuditEntry; the action is a free string of at most 32)."""

SET_PAYMENT = "set_payment"
REMOVE_PAYMENT = "remove_payment"
