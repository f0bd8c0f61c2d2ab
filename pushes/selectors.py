"""Reads of pushes in the active tenant's database."""

from typing import Any

from django.db.models import QuerySet

from core.tenant_context import require_current_tenant
from pushes.control.selectors import push_settings_get
from pushes.models import CustomerMessage, PushRecord, SubscriptionState


def subscription_allows(*, openid: str, template_id: str) -> bool | None:
    """False when the user refused the template, True when they accepted it, None when no push said either."""
    status = (
        SubscriptionState.objects.filter(openid=openid, template_id=template_id)
        .values_list("status", flat=True)
        .first()
    )
    if status is None:
        return None
    return status == SubscriptionState.Status.ACCEPT


def subscriptions_for_user(*, openid: str) -> QuerySet[SubscriptionState]:
    return SubscriptionState.objects.filter(openid=openid).order_by("template_id")


def customer_messages_list(*, openid: str | None, before_id: int | None, limit: int) -> list[CustomerMessage]:
    """Newest first, `limit` at most; before_id pages back through older ones."""
    messages = CustomerMessage.objects.all()
    if openid:
        messages = messages.filter(openid=openid)
    if before_id is not None:
        messages = messages.filter(id__lt=before_id)
    return list(messages.order_by("-id")[:limit])


def push_records_list(*, kind: str | None = None, limit: int = 100) -> list[PushRecord]:
    records = PushRecord.objects.all()
    if kind:
        records = records.filter(kind=kind)
    return list(records.order_by("-id")[:limit])


CONSOLE_ROWS = 100


def console_page_read() -> dict[str, Any]:
    """The console's Pushes page of the active tenant: its settings (no secret), latest pushes and messages."""
    return {
        "settings": push_settings_get(app_id=require_current_tenant().app_id),
        "records": push_records_list(limit=CONSOLE_ROWS),
        # Not "messages": that is django.contrib.messages' flash list, which the admin's base template shows.
        "customer_messages": customer_messages_list(openid=None, before_id=None, limit=CONSOLE_ROWS),
    }
