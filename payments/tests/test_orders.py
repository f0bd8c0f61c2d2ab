"""Orders of the price list: the server's price, the user's own orders only, each tenant its own database."""

import pytest
from django.core.management import call_command

from accounts.models import MiniProgramUser
from api.tests.conftest import TenantClient
from core.tenant_context import activate_tenant
from payments.exceptions import InvalidAmount
from payments.models import Item, Order
from payments.pending import pending_tenants_all
from payments.services import order_create
from payments.tests.helpers import context_of, item_in, logged_in, order_in, orders_cleaned  # noqa: F401
from tests.helpers import TENANT_A, TENANT_B

pytestmark = pytest.mark.usefixtures("wechat", "orders_cleaned")


def test_an_order_for_an_item_has_the_items_price_whatever_the_client_sends():
    item_in(TENANT_A, "coffee", 1800, "一杯咖啡")
    alice = logged_in(TENANT_A)
    created = alice.post("/api/v1/pay/orders", {"item": "coffee", "amount": 1, "description": "free"})
    assert created.status_code == 201, created.content
    body = created.json()
    assert (body["item"], body["amount"], body["description"], body["status"]) == (
        "coffee",
        1800,
        "一杯咖啡",
        "pending",
    )
    assert len(body["out_trade_no"]) == 32 and "prepay_id" not in body
    order = order_in(TENANT_A, body["id"])
    assert (order.amount, order.user.openid) == (1800, alice.get("/api/v1/me").json()["openid"])


def test_out_trade_numbers_are_unique_and_unguessable():
    alice = logged_in(TENANT_A)
    openid = alice.get("/api/v1/me").json()["openid"]
    with activate_tenant(context_of(TENANT_A)):
        user = MiniProgramUser.objects.get(openid=openid)
        numbers = {order_create(user=user, amount=100, description="x").out_trade_no for _ in range(5)}
    assert len(numbers) == 5
    assert all(len(number) == 32 and int(number, 16) for number in numbers)


def test_asking_again_for_an_item_gives_the_users_pending_order_of_it_not_a_new_one():
    item_in(TENANT_A)
    alice, bob = logged_in(TENANT_A), logged_in(TENANT_A)
    first = alice.post("/api/v1/pay/orders", {"item": "coffee"}).json()
    again = [alice.post("/api/v1/pay/orders", {"item": "coffee"}).json()["id"] for _ in range(5)]
    assert again == [first["id"]] * 5  # a retrying or looping client piles up no pending orders
    assert bob.post("/api/v1/pay/orders", {"item": "coffee"}).json()["id"] != first["id"]
    with activate_tenant(context_of(TENANT_A)):
        Order.objects.filter(pk=first["id"]).update(status=Order.Status.CLOSED)
    assert alice.post("/api/v1/pay/orders", {"item": "coffee"}).json()["id"] != first["id"]


def test_an_unknown_or_withdrawn_item_is_404_and_creates_nothing():
    item_in(TENANT_A, "old")
    with activate_tenant(context_of(TENANT_A)):
        Item.objects.filter(code="old").update(active=False)
    alice = logged_in(TENANT_A)
    for code in ("tea", "old"):
        refused = alice.post("/api/v1/pay/orders", {"item": code})
        assert (refused.status_code, refused.json()["error"]["code"]) == (404, "item_not_found")
    assert alice.post("/api/v1/pay/orders", {"item": 5}).json()["error"]["code"] == "invalid"
    with activate_tenant(context_of(TENANT_A)):
        assert Order.objects.count() == 0


def test_an_order_is_shown_to_its_user_only_and_never_under_another_tenant():
    item_in(TENANT_A)
    alice, bob = logged_in(TENANT_A, "code-alice"), logged_in(TENANT_A, "code-bob")
    order_id = alice.post("/api/v1/pay/orders", {"item": "coffee"}).json()["id"]
    assert alice.get(f"/api/v1/pay/orders/{order_id}").json()["id"] == order_id
    assert bob.get(f"/api/v1/pay/orders/{order_id}").json()["error"]["code"] == "order_not_found"
    carol_b = logged_in(TENANT_B, "code-alice")  # the same code, another mini-program: another user, another DB
    assert carol_b.get(f"/api/v1/pay/orders/{order_id}").status_code == 404
    assert TenantClient(TENANT_A).get(f"/api/v1/pay/orders/{order_id}").status_code == 401
    assert bob.post(f"/api/v1/pay/orders/{order_id}/prepay").status_code == 404


def test_server_code_creates_orders_through_the_service_and_the_tenant_is_marked_pending():
    logged_in(TENANT_B, "code-dave")
    with activate_tenant(context_of(TENANT_B)):
        user = MiniProgramUser.objects.get()
        with pytest.raises(InvalidAmount):
            order_create(user=user, amount=0, description="nothing")
        assert pending_tenants_all() == []
        order = order_create(user=user, amount=990, description="月卡", attach="plan=monthly")
    assert (order.amount, order.status, order.attach) == (990, "pending", "plan=monthly")
    assert order.expires_at > order.created_at
    assert pending_tenants_all() == [TENANT_B]


def test_set_pay_item_creates_and_reprices_an_item(capsys):
    call_command("set_pay_item", TENANT_A, "vip", "--amount", "3000", "--description", "会员")
    call_command("set_pay_item", TENANT_A, "vip", "--amount", "2500", "--description", "会员 (促销)")
    assert "vip = 2500 fen" in capsys.readouterr().out
    with activate_tenant(context_of(TENANT_A)):
        assert list(Item.objects.values_list("code", "amount", "description")) == [("vip", 2500, "会员 (促销)")]
    with activate_tenant(context_of(TENANT_B)):
        assert Item.objects.count() == 0


def test_the_admin_payments_page_sets_and_lists_items(admin_client):
    from tenants.models import Tenant

    pk = Tenant.objects.get(app_id=TENANT_A).pk
    form = f"/platform/v1/tenants/{TENANT_A}/items-form"
    done = admin_client.post(form, {"code": "tea", "amount": "1200", "description": "一杯茶", "active": "on"})
    assert (done.status_code, done["Location"]) == (302, f"/admin/tenants/tenant/{pk}/payments/")
    assert admin_client.post(form, {"code": "bad code!", "amount": "5"}).status_code == 302  # refused, said so
    assert admin_client.post(form, {"code": "tea", "amount": "-1"}).status_code == 302
    with activate_tenant(context_of(TENANT_A)):
        assert list(Item.objects.values_list("code", "amount", "description", "active")) == [
            ("tea", 1200, "一杯茶", True)
        ]
    page = admin_client.get(f"/admin/tenants/tenant/{pk}/payments/").content.decode()
    assert "一杯茶" in page and "1200" in page and "Set an item" in page
    assert TenantClient(TENANT_A).client.post(form, {"code": "x", "amount": "1"}).status_code == 302  # to the login
    with activate_tenant(context_of(TENANT_A)):
        assert Item.objects.count() == 1
