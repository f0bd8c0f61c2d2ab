"""Reads of orders, refunds and the price list (the active tenant's database)."""

from django.db.models import Q, QuerySet, Sum

from accounts.models import MiniProgramUser
from payments.exceptions import OrderNotFound
from payments.models import Item, Order, Refund

ORDERS_SHOWN = 100


def order_get_for_user(*, user: MiniProgramUser, order_id: int) -> Order:
    """One of the user's own orders; anyone else's (or another tenant's, which is another database) is 404."""
    order = Order.objects.filter(pk=order_id, user=user).first()
    if order is None:
        raise OrderNotFound()
    return order


def order_get(*, order_id: int) -> Order:
    order = Order.objects.filter(pk=order_id).first()
    if order is None:
        raise OrderNotFound()
    return order


def order_refunded_amount(*, order: Order) -> int:
    """What is refunded or being refunded: a processing refund counts, so two requests never refund twice."""
    held = Q(status__in=[Refund.Status.PROCESSING, Refund.Status.SUCCESS, Refund.Status.ABNORMAL])
    return int(order.refunds.filter(held).aggregate(total=Sum("amount"))["total"] or 0)


def items_list(*, active_only: bool = False) -> QuerySet[Item]:
    items = Item.objects.all()
    return items.filter(active=True) if active_only else items


def orders_newest() -> QuerySet[Order]:
    return Order.objects.select_related("user").prefetch_related("refunds").order_by("-id")[:ORDERS_SHOWN]
