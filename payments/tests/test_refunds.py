"""Refunds by staff with payments.refund_order: partial and whole, never more than paid, settled by WeChat's
refund notification, each one in the audit trail."""

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client
from knox.models import AuthToken

from console.tests.audit import AuditSince
from core.tenant_context import activate_tenant
from payments.models import Refund
from payments.tests.helpers import (  # noqa: F401
    context_of,
    notify_live,
    order_in,
    orders_cleaned,
    post_notification,
    prepaid,
    shop,
)
from tests.helpers import TENANT_A

pytestmark = pytest.mark.usefixtures("wechat", "orders_cleaned")


@pytest.fixture
def audit() -> AuditSince:
    return AuditSince()


def refunds_audited(audit: AuditSince) -> list:
    return [entry for entry in audit.entries() if entry.action == "refund_order"]


class Staff:
    def __init__(self, *, may_refund: bool) -> None:
        self.user = User.objects.create_user(f"staff-{may_refund}", password="pw-for-tests", is_staff=True)
        if may_refund:
            self.user.user_permissions.add(
                Permission.objects.get(content_type__app_label="payments", codename="refund_order")
            )
        self.headers = {"Authorization": f"Token {AuthToken.objects.create(user=self.user)[1]}"}

    def refund(self, order_id: int, amount: object, reason: str = "客户要求", app_id: str = TENANT_A):  # noqa: ANN201
        return Client().post(
            f"/platform/v1/tenants/{app_id}/orders/{order_id}/refund",
            {"amount": amount, "reason": reason},
            content_type="application/json",
            headers=self.headers,
        )


@pytest.fixture
def refunder():
    staff = Staff(may_refund=True)
    yield staff
    staff.user.delete()


def paid_order(pay_server) -> dict:  # noqa: ANN001
    _client, order = prepaid(TENANT_A)
    assert post_notification(TENANT_A, pay_server.control.pay(order["out_trade_no"], send=False)).status_code == 204
    return order


@pytest.mark.usefixtures("notify_live")
def test_a_partial_then_the_rest_refunded_and_the_notifications_close_the_loop(merchant_a, pay_server, refunder, audit):
    order = paid_order(pay_server)
    first = refunder.refund(order["id"], 600)
    assert first.status_code == 201, first.content
    assert (first.json()["amount"], first.json()["status"], first.json()["order_status"]) == (
        600,
        "processing",
        "refunding",
    )
    sent = pay_server.control.refund_result(first.json()["out_refund_no"])["sent"]
    assert [delivery["status"] for delivery in sent] == [204]
    assert order_in(TENANT_A, order["id"]).status == "paid"  # partly refunded: still a paid order

    rest = refunder.refund(order["id"], 1200)
    assert rest.status_code == 201, rest.content
    pay_server.control.refund_result(rest.json()["out_refund_no"])
    assert order_in(TENANT_A, order["id"]).status == "refunded"
    with activate_tenant(context_of(TENANT_A)):
        assert sorted(Refund.objects.values_list("amount", "status")) == [(600, "success"), (1200, "success")]
    [at_wechat] = pay_server.control.orders(merchant_a.mchid)
    assert at_wechat["trade_state"] == "REFUND"

    shown = Client().get(f"/platform/v1/tenants/{TENANT_A}/orders/{order['id']}", headers=refunder.headers).json()
    assert (shown["status"], [refund["status"] for refund in shown["refunds"]]) == ("refunded", ["success", "success"])
    audited = refunds_audited(audit)
    assert [(entry.app_id, entry.door, entry.actor, entry.details["amount"]) for entry in audited] == [
        (TENANT_A, "api", refunder.user.username, 600),
        (TENANT_A, "api", refunder.user.username, 1200),
    ]
    assert audited[0].details["reason"] == "客户要求" and audited[0].details["order_id"] == order["id"]


def test_refunds_never_add_up_to_more_than_was_paid(merchant_a, pay_server, refunder, audit):
    order = paid_order(pay_server)
    assert refunder.refund(order["id"], 1000).status_code == 201  # processing: it counts already
    over = refunder.refund(order["id"], 801)
    assert (over.status_code, over.json()["error"]["code"], over.json()["error"]["refundable"]) == (
        409,
        "refund_exceeds_paid",
        800,
    )
    assert refunder.refund(order["id"], 0).json()["error"]["code"] == "invalid"
    with activate_tenant(context_of(TENANT_A)):
        assert list(Refund.objects.values_list("amount", flat=True)) == [1000]
    assert len(refunds_audited(audit)) == 1


def test_a_pending_order_or_one_of_no_such_id_is_not_refunded(merchant_a, pay_server, refunder):
    _client, order = shop(TENANT_A)
    assert refunder.refund(order["id"], 100).json()["error"]["code"] == "order_not_refundable"
    assert refunder.refund(order["id"] + 1000, 100).json()["error"]["code"] == "order_not_found"
    assert refunder.refund(order["id"], 100, app_id="wx0000000000000999").status_code == 404


def test_refunding_needs_staff_with_the_refund_order_permission(merchant_a, pay_server):
    order = paid_order(pay_server)
    staff = Staff(may_refund=False)
    try:
        assert staff.refund(order["id"], 100).status_code == 403
    finally:
        staff.user.delete()
    assert Client().post(f"/platform/v1/tenants/{TENANT_A}/orders/{order['id']}/refund").status_code == 401
    with activate_tenant(context_of(TENANT_A)):
        assert Refund.objects.count() == 0


def test_a_refund_wechat_refuses_frees_its_amount_and_stays_in_the_audit_trail(merchant_a, pay_server, refunder, audit):
    order = paid_order(pay_server)
    pay_server.control.fail_next("/v3/refund/domestic/refunds", status=403, code="NOTENOUGH", message="余额不足")
    refused = refunder.refund(order["id"], 1800)
    assert (refused.status_code, refused.json()["error"]["wechatpay_code"]) == (502, "NOTENOUGH")
    assert order_in(TENANT_A, order["id"]).status == "paid"
    assert refunder.refund(order["id"], 1800).status_code == 201  # the whole amount is refundable again
    details = [entry.details["amount"] for entry in refunds_audited(audit)]
    assert details == [1800, 1800]


def test_a_refund_notification_of_another_amount_or_refund_is_refused(merchant_a, pay_server, refunder):
    order = paid_order(pay_server)
    refund = refunder.refund(order["id"], 500).json()
    built = pay_server.control.refund_result(refund["out_refund_no"], send=False)
    spoilt = {**built, "body": built["body"]}
    assert post_notification(TENANT_A, built, kind="transaction").status_code == 400  # a refund is not a payment
    assert post_notification(TENANT_A, spoilt, kind="refund").status_code == 204
    assert post_notification(TENANT_A, spoilt, kind="refund").status_code == 204  # a repeat changes nothing
    with activate_tenant(context_of(TENANT_A)):
        assert list(Refund.objects.values_list("status", flat=True)) == ["success"]


def test_the_admin_payments_page_lists_orders_and_its_form_refunds(merchant_a, pay_server, admin_client, audit):
    from tenants.models import Tenant

    order = paid_order(pay_server)
    pk = Tenant.objects.get(app_id=TENANT_A).pk
    page = admin_client.get(f"/admin/tenants/tenant/{pk}/payments/")
    assert page.status_code == 200
    html = page.content.decode()
    assert order["out_trade_no"] in html and "coffee" in html and 'name="amount"' in html
    done = admin_client.post(
        f"/platform/v1/tenants/{TENANT_A}/orders/{order['id']}/refund-form", {"amount": "300", "reason": "破损"}
    )
    assert (done.status_code, done["Location"]) == (302, f"/admin/tenants/tenant/{pk}/payments/")
    with activate_tenant(context_of(TENANT_A)):
        assert list(Refund.objects.values_list("amount", "reason", "requested_by")) == [(300, "破损", "platform-admin")]
    [entry] = refunds_audited(audit)
    assert (entry.door, entry.details["amount"]) == ("admin", 300)
    too_much = admin_client.post(
        f"/platform/v1/tenants/{TENANT_A}/orders/{order['id']}/refund-form", {"amount": "1501"}
    )
    assert too_much.status_code == 302
    assert len(refunds_audited(audit)) == 1


def test_two_refunds_asked_at_the_same_moment_never_exceed_what_was_paid(merchant_a, pay_server):
    import threading

    from django.db import connections

    from payments.exceptions import RefundTooLarge
    from payments.refunds import refund_reserve

    order = paid_order(pay_server)
    start, outcomes = threading.Barrier(2), []

    def reserve() -> None:
        try:
            with activate_tenant(context_of(TENANT_A)):
                start.wait(5)
                refund_reserve(order_id=order["id"], amount=1000)
                outcomes.append("reserved")
        except RefundTooLarge:
            outcomes.append("refused")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=reserve) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert sorted(outcomes) == ["refused", "reserved"]
    with activate_tenant(context_of(TENANT_A)):
        assert list(Refund.objects.values_list("amount", flat=True)) == [1000]
