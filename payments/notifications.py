"""WeChat Pay's notifications of one tenant: every check, in the order the issue fixes, then the one write.

A refusal raises NotificationRefused (the view answers its status with {"code": "FAIL", "message": ...}, and
WeChat sends again later, up to 24 hours) and changes nothing. An accepted notification that changes nothing
(a duplicate) is answered like a new one: 204. The checks of the envelope (SIGNTEST probe, timestamp window,
signature, decryption) are the protocol layer's (payments.wechatpay.notification_open); the ones against our
records (appid, mchid, out_trade_no, amount) are here.
"""

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django.utils.dateparse import parse_datetime

from payments.models import Order, Refund
from payments.refunds import refund_settle
from payments.services import order_mark_paid
from payments.wechatpay import MerchantKeys, NotificationRefused, notification_open

logger = logging.getLogger(__name__)

TRANSACTION_SUCCESS = "TRANSACTION.SUCCESS"
ORDER_CURRENCY = "CNY"
REFUND_EVENTS = {"REFUND.SUCCESS": Refund.Status.SUCCESS, "REFUND.ABNORMAL": Refund.Status.ABNORMAL}
REFUND_EVENTS["REFUND.CLOSED"] = Refund.Status.CLOSED


def transaction_notification_handle(*, keys: MerchantKeys, headers: Mapping[str, str], body: bytes) -> bool:
    """True if the order moved to paid now, False for a repeat; NotificationRefused otherwise."""
    resource = notification_open(keys, headers, body)
    _check_merchant(keys, resource, needs_appid=True)
    order = _order_of(resource)
    _check_amount(order.amount, _amount_field(resource, "total"), "the order's")
    # Orders are in fen of CNY, as the prepay asked; the same number in another currency is not the price.
    if _amount_field(resource, "currency") != ORDER_CURRENCY:
        raise NotificationRefused(400, f"the currency is not the order's ({ORDER_CURRENCY})")
    if resource.get("event_type") != TRANSACTION_SUCCESS or resource.get("trade_state") != "SUCCESS":
        raise NotificationRefused(400, f"not a successful payment ({resource.get('event_type')!r})")
    return order_mark_paid(
        order_id=order.pk, transaction_id=str(resource.get("transaction_id", "")), paid_at=_time(resource)
    )


def refund_notification_handle(*, keys: MerchantKeys, headers: Mapping[str, str], body: bytes) -> bool:
    """True if the refund settled now, False for a repeat; NotificationRefused otherwise."""
    resource = notification_open(keys, headers, body)
    status = REFUND_EVENTS.get(str(resource.get("event_type")))
    if status is None:
        raise NotificationRefused(400, f"not a refund result ({resource.get('event_type')!r})")
    _check_merchant(keys, resource, needs_appid=False)  # a refund's resource names the mchid only
    refund = Refund.objects.filter(out_refund_no=str(resource.get("out_refund_no", ""))).first()
    if refund is None or refund.order.out_trade_no != resource.get("out_trade_no"):
        raise NotificationRefused(404, "no refund of this mini-program has this out_refund_no")
    _check_amount(refund.amount, _amount_field(resource, "refund"), "the refund's")
    return refund_settle(refund_id=refund.pk, status=status, wechat_refund_id=str(resource.get("refund_id", "")))


def _check_merchant(keys: MerchantKeys, resource: dict[str, Any], *, needs_appid: bool) -> None:
    if needs_appid and resource.get("appid") != keys.app_id:
        raise NotificationRefused(400, "the appid is not this mini-program's")
    if resource.get("mchid") != keys.mchid:
        raise NotificationRefused(400, "the mchid is not this mini-program's merchant")


def _order_of(resource: dict[str, Any]) -> Order:
    order = Order.objects.filter(out_trade_no=str(resource.get("out_trade_no", ""))).first()
    if order is None:
        raise NotificationRefused(404, "no order of this mini-program has this out_trade_no")
    return order


def _amount_field(resource: dict[str, Any], name: str) -> object:
    amount = resource.get("amount")
    return amount.get(name) if isinstance(amount, dict) else None


def _check_amount(expected: int, sent: object, whose: str) -> None:
    if isinstance(sent, bool) or sent != expected:
        raise NotificationRefused(400, f"the amount differs from {whose}")


def _time(resource: dict[str, Any]) -> datetime | None:
    value = resource.get("success_time")
    return parse_datetime(value) if isinstance(value, str) else None
