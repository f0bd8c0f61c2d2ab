"""Writes of orders: create one (the price is the server's word), prepay it, mark it paid or closed.

Other tenant apps create orders with `order_create` from their own server code; the client never sets a price.
Calls to WeChat Pay happen outside any database transaction: a row lock is never held across the network.
"""

import logging
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from accounts.models import MiniProgramUser
from core.tenant_context import require_current_tenant
from payments import conf
from payments.exceptions import (
    InvalidAmount,
    ItemNotFound,
    NotifyUrlNotConfigured,
    OrderNotPayable,
    PayNotAnswering,
    PayRefused,
)
from payments.models import Item, Order
from payments.pending import pending_mark
from payments.wechatpay import PayClient, PayError, PayUnavailable, merchant_keys_for
from tenants.jobs import enqueue

logger = logging.getLogger(__name__)

PAYMENT_SUCCEEDED_JOB = "payments.jobs.payment_succeeded"


def order_create(
    *, user: MiniProgramUser, amount: int, description: str, item_code: str = "", attach: str = ""
) -> Order:
    """A pending order of `user` for `amount` fen; the tenant is marked for reconciliation once it commits."""
    if isinstance(amount, bool) or not isinstance(amount, int) or amount < 1:
        raise InvalidAmount()
    tenant = require_current_tenant()
    expires_at = timezone.now() + timedelta(minutes=conf.get_order_expire_minutes())
    with transaction.atomic(using=tenant.db_alias):
        order = Order.objects.create(
            user=user,
            amount=amount,
            description=description[:127],
            item_code=item_code,
            attach=attach[:128],
            expires_at=expires_at,
        )
        since = order.created_at
        transaction.on_commit(lambda: pending_mark(app_id=tenant.app_id, since=since), using=tenant.db_alias)
    return order


def order_create_for_item(*, user: MiniProgramUser, item_code: str) -> Order:
    """The user's order for one item of the price list: their pending one for it while it can be paid, else a new one.

    Reusing it keeps a client that asks again (a retry, a loop, a fuzzer) from piling up pending orders, each of
    which reconciliation would look after until it expires.
    """
    item = Item.objects.filter(code=item_code, active=True).first()
    if item is None:
        raise ItemNotFound()
    pending = (
        Order.objects.filter(
            user=user,
            item_code=item.code,
            amount=item.amount,
            status=Order.Status.PENDING,
            expires_at__gt=timezone.now() + timedelta(minutes=1),
        )
        .order_by("-id")
        .first()
    )
    if pending is not None:
        return pending
    return order_create(user=user, amount=item.amount, description=item.description, item_code=item.code)


def item_set(*, code: str, amount: int, description: str, active: bool = True) -> Item:
    """Creates or updates one entry of the active tenant's price list (orders made before keep their price)."""
    if isinstance(amount, bool) or not isinstance(amount, int) or amount < 1:
        raise InvalidAmount()
    item, _created = Item.objects.update_or_create(
        code=code, defaults={"amount": amount, "description": description[:127], "active": active}
    )
    return item


def notify_url(*, app_id: str, kind: str) -> str:
    """PAY_NOTIFY_BASE_URL + /pay/v1/notify/<app_id>/<kind>: the path names the tenant, no query string."""
    base = conf.get_notify_base_url()
    if not base:
        raise NotifyUrlNotConfigured()
    return f"{base}/pay/v1/notify/{app_id}/{kind}"


def order_prepay(*, order: Order) -> dict[str, str]:
    """The five fields of wx.requestPayment; a pending order's prepay_id is reused while WeChat keeps it."""
    if order.status != Order.Status.PENDING or order.expires_at <= timezone.now():
        raise OrderNotPayable()
    client = PayClient(merchant_keys_for(require_current_tenant().app_id))
    if not _prepay_id_valid(order):
        _prepay_id_new(client, order)
    return dict(client.request_payment_params(order.prepay_id))


def _prepay_id_new(client: PayClient, order: Order) -> None:
    """/v3/pay/transactions/jsapi for the order (asking again for one is idempotent at WeChat), kept on the order."""
    try:
        prepay_id = pay_call(
            client.jsapi_prepay,
            description=order.description,
            out_trade_no=order.out_trade_no,
            amount_total=order.amount,
            openid=order.user.openid,
            notify_url=notify_url(app_id=client.keys.app_id, kind="transaction"),
            time_expire=order.expires_at,
            attach=order.attach,
        )
    except PayRefused as refused:
        if refused.extra.get("wechatpay_code") == "ORDERPAID":
            _paid_meanwhile(client, order)  # its notification is late or lost: WeChat's word now
            raise OrderNotPayable() from refused
        raise
    order.prepay_id = prepay_id
    order.prepay_expires_at = min(timezone.now() + conf.PREPAY_ID_LIFETIME, order.expires_at)
    # Only while still pending: a notification may have paid it while we were asking.
    Order.objects.filter(pk=order.pk, status=Order.Status.PENDING).update(
        prepay_id=prepay_id, prepay_expires_at=order.prepay_expires_at, updated_at=timezone.now()
    )


def _paid_meanwhile(client: PayClient, order: Order) -> None:
    answer = pay_call(client.query_by_out_trade_no, order.out_trade_no)
    amount = answer.get("amount") if isinstance(answer.get("amount"), dict) else {}
    if answer.get("trade_state") == "SUCCESS" and (amount or {}).get("total") == order.amount:
        order_mark_paid(order_id=order.pk, transaction_id=str(answer.get("transaction_id", "")))


def _prepay_id_valid(order: Order) -> bool:
    expires = order.prepay_expires_at
    return bool(order.prepay_id) and expires is not None and expires - conf.PREPAY_ID_MARGIN > timezone.now()


def pay_call(call: Any, *args: Any, **kwargs: Any) -> Any:
    """A WeChat Pay call, its refusal or absence as our JSON errors (503 with Retry-After for an absence)."""
    try:
        return call(*args, **kwargs)
    except PayUnavailable as error:
        logger.warning("WeChat Pay did not answer: %s", error)
        raise PayNotAnswering() from error
    except PayError as error:
        raise PayRefused(
            f"WeChat Pay refused the request: {error.code}: {error.message}", extra={"wechatpay_code": error.code}
        ) from error


def order_mark_paid(*, order_id: int, transaction_id: str, paid_at: datetime | None = None) -> bool:
    """pending (or closed) -> paid under a row lock, and the payment_succeeded job once; False: it was paid already.

    Every path that learns of a payment (the notification, its duplicates, reconciliation) comes here, so the
    transition and its job happen exactly once, whatever arrives at the same moment.
    """
    alias = require_current_tenant().db_alias
    with transaction.atomic(using=alias):
        order = Order.objects.select_for_update().get(pk=order_id)
        if order.status not in (Order.Status.PENDING, Order.Status.CLOSED):
            return False
        if order.status == Order.Status.CLOSED:
            # WeChat took the money for an order we had closed: the payment is real, so the order is paid.
            logger.warning("payments: order %s was closed and is paid after all (%s)", order.pk, transaction_id)
        order.status = Order.Status.PAID
        order.transaction_id = transaction_id[:32]
        order.paid_at = paid_at or timezone.now()
        order.save(update_fields=["status", "transaction_id", "paid_at", "updated_at"])
        enqueue(PAYMENT_SUCCEEDED_JOB, order.pk)
    logger.info("payments: order %s paid (transaction %s)", order.pk, transaction_id)
    return True


def order_mark_closed(*, order_id: int) -> bool:
    """pending -> closed (expired, and closed at WeChat); False if it is no longer pending."""
    alias = require_current_tenant().db_alias
    with transaction.atomic(using=alias):
        updated = Order.objects.filter(pk=order_id, status=Order.Status.PENDING).update(
            status=Order.Status.CLOSED, closed_at=timezone.now(), updated_at=timezone.now()
        )
    return updated == 1
