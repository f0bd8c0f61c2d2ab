"""What the orders tests share: a logged-in client, the tenant's context, and the orders' clean-up."""

from collections.abc import Iterator
from typing import Any

import pytest
from django.test import Client

from api.tests.conftest import TenantClient, new_code
from core.tenant_context import TenantContext, activate_tenant
from payments.models import Item, Order, Refund
from tenants.models import Tenant
from tenants.outbox.models import OutboxJob
from tenants.selectors import tenant_context_for
from tests.helpers import SESSION_TENANTS


def context_of(app_id: str) -> TenantContext:
    return tenant_context_for(Tenant.objects.get(app_id=app_id))


def logged_in(app_id: str, code: str | None = None) -> TenantClient:
    client = TenantClient(app_id)
    assert client.login(code or new_code()).status_code == 200
    return client


def item_in(app_id: str, code: str = "coffee", amount: int = 1800, description: str = "一杯咖啡") -> Item:
    with activate_tenant(context_of(app_id)):
        item, _created = Item.objects.get_or_create(code=code, defaults={"amount": amount, "description": description})
        return item


def order_in(app_id: str, order_id: int) -> Order:
    with activate_tenant(context_of(app_id)):
        return Order.objects.select_related("user").get(pk=order_id)


def orders_emptied() -> None:
    """Orders protect their users, so they go before the root clean-up deletes the users."""
    for tenant in Tenant.objects.filter(app_id__in=SESSION_TENANTS):
        with activate_tenant(tenant_context_for(tenant)):
            Refund.objects.all().delete()
            Order.objects.all().delete()
            Item.objects.all().delete()


@pytest.fixture
def orders_cleaned(tenant_db: None) -> Iterator[None]:
    yield
    orders_emptied()


@pytest.fixture
def notify_live(pay_server: object, settings: object) -> Iterator[str]:
    """This process's Django on a real port, and PAY_NOTIFY_BASE_URL pointing at it: the fake posts there."""
    from tests.live import live_django

    with live_django() as url:
        settings.PAY_NOTIFY_BASE_URL = url  # type: ignore[attr-defined]
        yield url


def post_notification(app_id: str, built: dict, kind: str = "transaction") -> Any:
    """Posts a notification the fake built (send=False) as WeChat Pay would, through Django's test client."""
    headers = {name: value for name, value in built["headers"].items() if name.lower() != "content-type"}
    return Client().post(
        f"/pay/v1/notify/{app_id}/{kind}", built["body"], content_type="application/json", headers=headers
    )


def jobs_named(app_id: str, func_name: str) -> int:
    """Jobs enqueued in this tenant (their outbox records stay until the relay's sweep)."""
    with activate_tenant(context_of(app_id)):
        return OutboxJob.objects.filter(func_name=func_name).count()


def shop(app_id: str) -> tuple[TenantClient, dict]:
    """A logged-in user of `app_id` with a pending order of the coffee item (1800 fen)."""
    item_in(app_id)
    client = logged_in(app_id)
    created = client.post("/api/v1/pay/orders", {"item": "coffee"})
    assert created.status_code == 201, created.content
    return client, created.json()


def prepaid(app_id: str) -> tuple[TenantClient, dict]:
    client, order = shop(app_id)
    answer = client.post(f"/api/v1/pay/orders/{order['id']}/prepay")
    assert answer.status_code == 200, answer.content
    return client, order
