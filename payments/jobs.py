"""Tenant jobs of payments: what happens once an order is paid, outside the notification's answer.

`payment_succeeded(order_id)` is enqueued exactly once per order, in the transaction that marks it paid
(services.order_mark_paid). Other tenant apps hook it from their AppConfig.ready() with
`register_payment_succeeded("myapp.rewards.grant")`: each hook is called with the paid Order. Jobs run at least
once (a worker may die after a hook ran), so a hook must be idempotent, keyed by the order.
"""

import logging

from django.utils.module_loading import import_string

from payments.models import Order

logger = logging.getLogger(__name__)

_hooks: list[str] = []


def register_payment_succeeded(func_path: str) -> None:
    """`func_path` names a function taking the paid Order; called by the payment_succeeded job."""
    if func_path not in _hooks:
        _hooks.append(func_path)


def payment_succeeded_hooks() -> list[str]:
    return list(_hooks)


def payment_succeeded(order_id: int) -> dict[str, object]:
    order = Order.objects.select_related("user").get(pk=order_id)
    for path in _hooks:
        import_string(path)(order)
    logger.info("payments: order %s paid, %d hook(s) run", order.pk, len(_hooks))
    return {"order_id": order.pk, "out_trade_no": order.out_trade_no, "hooks": len(_hooks)}
