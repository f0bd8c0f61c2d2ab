"""Refunds: asked by platform staff (admin or platform API), settled by WeChat's notification or reconciliation.

The amount is reserved in the tenant's database under the order's row lock before WeChat is asked, so two
staff members refunding at once can never refund more than was paid; WeChat is called after the commit (no
lock across the network), with the refund's own out_refund_no, so asking again is idempotent at WeChat.
"""

import logging
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from core.tenant_context import require_current_tenant
from payments.exceptions import InvalidAmount, OrderNotRefundable, PayRefused, RefundTooLarge
from payments.models import Order, Refund
from payments.pending import pending_mark
from payments.selectors import order_refunded_amount
from payments.services import notify_url, pay_call
from payments.wechatpay import PayClient, merchant_keys_for

logger = logging.getLogger(__name__)

REFUNDABLE = (Order.Status.PAID, Order.Status.REFUNDING, Order.Status.REFUNDED)
# WeChat's refund answer and query: status SUCCESS / CLOSED / PROCESSING / ABNORMAL.
WECHAT_REFUND_STATUS = {
    "SUCCESS": Refund.Status.SUCCESS,
    "CLOSED": Refund.Status.CLOSED,
    "ABNORMAL": Refund.Status.ABNORMAL,
    "PROCESSING": Refund.Status.PROCESSING,
}


def refund_reserve(*, order_id: int, amount: int, reason: str = "", requested_by: str = "") -> Refund:
    """Step 1: a processing refund of `amount`, reserved under the order's lock (never more than is left)."""
    if isinstance(amount, bool) or not isinstance(amount, int) or amount < 1:
        raise InvalidAmount()
    tenant = require_current_tenant()
    notify_url(app_id=tenant.app_id, kind="refund")  # refused before anything is written if it cannot be sent
    merchant_keys_for(tenant.app_id)
    with transaction.atomic(using=tenant.db_alias):
        order = Order.objects.select_for_update().get(pk=order_id)
        if order.status not in REFUNDABLE:
            raise OrderNotRefundable()
        left = order.amount - order_refunded_amount(order=order)
        if amount > left:
            raise RefundTooLarge(f"At most {left} fen of this order can still be refunded.", extra={"refundable": left})
        refund = Refund.objects.create(order=order, amount=amount, reason=reason[:80], requested_by=requested_by)
        order.status = Order.Status.REFUNDING
        order.save(update_fields=["status", "updated_at"])
        since = refund.created_at
        transaction.on_commit(lambda: pending_mark(app_id=tenant.app_id, since=since), using=tenant.db_alias)
    return refund


def refund_submit(*, refund: Refund) -> Refund:
    """Step 2, after the commit: WeChat Pay is asked to refund; its answer (or refusal) is applied."""
    app_id = require_current_tenant().app_id
    order = refund.order
    try:
        answer = pay_call(
            PayClient(merchant_keys_for(app_id)).refund,
            out_trade_no=order.out_trade_no,
            out_refund_no=refund.out_refund_no,
            refund=refund.amount,
            total=order.amount,
            reason=refund.reason,
            notify_url=notify_url(app_id=app_id, kind="refund"),
        )
    except PayRefused:
        # WeChat refused it (NOTENOUGH, ...): nothing is being refunded, the amount is free again.
        refund_settle(refund_id=refund.pk, status=Refund.Status.CLOSED)
        raise
    # PayNotAnswering goes up as it is (503): whether WeChat has the refund is unknown, so it stays processing,
    # and reconciliation (the tenant is marked) asks WeChat about it.
    return _apply_answer(refund, answer)


def refund_create(*, order_id: int, amount: int, reason: str = "", requested_by: str = "") -> Refund:
    """Both steps, for server code that needs no audit entry between them."""
    refund = refund_reserve(order_id=order_id, amount=amount, reason=reason, requested_by=requested_by)
    return refund_submit(refund=refund)


def _apply_answer(refund: Refund, answer: dict[str, Any]) -> Refund:
    status = WECHAT_REFUND_STATUS.get(str(answer.get("status", "")), Refund.Status.PROCESSING)
    refund_settle(refund_id=refund.pk, status=status, wechat_refund_id=str(answer.get("refund_id", "")))
    refund.refresh_from_db()
    return refund


def refund_settle(*, refund_id: int, status: str, wechat_refund_id: str = "") -> bool:
    """A processing refund takes WeChat's result, and its order the status that follows; False: no change."""
    with transaction.atomic(using=require_current_tenant().db_alias):
        # The order's lock first, as refund_create takes it: two settlements and a new refund queue on one row.
        order_id = Refund.objects.values_list("order_id", flat=True).get(pk=refund_id)
        order = Order.objects.select_for_update().get(pk=order_id)
        refund = Refund.objects.select_for_update().get(pk=refund_id)
        if wechat_refund_id and not refund.refund_id:
            refund.refund_id = wechat_refund_id[:32]
            refund.save(update_fields=["refund_id", "updated_at"])
        if refund.status != Refund.Status.PROCESSING or status == Refund.Status.PROCESSING:
            return False
        refund.status = status
        refund.settled_at = timezone.now()
        refund.save(update_fields=["status", "settled_at", "updated_at"])
        _order_status_after_refunds(order)
    logger.info("payments: refund %s of order %s settled: %s", refund.pk, order.pk, status)
    return True


def _order_status_after_refunds(order: Order) -> None:
    refunds = list(order.refunds.values_list("status", "amount"))
    refunded = sum(amount for status, amount in refunds if status == Refund.Status.SUCCESS)
    if any(status == Refund.Status.PROCESSING for status, _ in refunds):
        order.status = Order.Status.REFUNDING
    elif refunded >= order.amount:
        order.status = Order.Status.REFUNDED
    else:
        order.status = Order.Status.PAID  # partly refunded (or a refund closed): still a paid order
    order.save(update_fields=["status", "updated_at"])


def refunds_processing(*, older_than_seconds: float) -> list[Refund]:
    since = timezone.now() - timedelta(seconds=older_than_seconds)
    return list(Refund.objects.filter(status=Refund.Status.PROCESSING, created_at__lte=since)[:200])


def refund_reconcile(*, refund: Refund) -> bool:
    """Asks WeChat about a refund still processing (its notification lost or WeChat unreachable when asked)."""
    client = PayClient(merchant_keys_for(require_current_tenant().app_id))
    answer = pay_call(client.query_refund, refund.out_refund_no)
    return refund_settle(
        refund_id=refund.pk,
        status=WECHAT_REFUND_STATUS.get(str(answer.get("status", "")), Refund.Status.PROCESSING),
        wechat_refund_id=str(answer.get("refund_id", "")),
    )
