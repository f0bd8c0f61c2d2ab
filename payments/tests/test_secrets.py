"""The merchant's secrets (private key, APIv3 key) reach no response and no log line of the orders' doors."""

import logging

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client
from knox.models import AuthToken

from payments.tests.helpers import orders_cleaned, post_notification, prepaid  # noqa: F401
from tenants.models import Tenant
from tests.helpers import TENANT_A

pytestmark = pytest.mark.usefixtures("wechat", "orders_cleaned")


def secret_fragments(merchant) -> list[str]:  # noqa: ANN001
    key_lines = [line for line in merchant.credentials.private_key_pem.splitlines() if "-----" not in line]
    return [merchant.credentials.apiv3_key, *key_lines[1:4]]


def test_no_response_or_log_line_of_a_payment_and_its_refund_shows_a_secret(
    merchant_a, pay_server, caplog, admin_client
):
    caplog.set_level(logging.DEBUG)
    client, order = prepaid(TENANT_A)
    answers = [client.post(f"/api/v1/pay/orders/{order['id']}/prepay"), client.get(f"/api/v1/pay/orders/{order['id']}")]
    built = pay_server.control.pay(order["out_trade_no"], send=False)
    answers.append(post_notification(TENANT_A, built))
    answers.append(post_notification(TENANT_A, {**built, "body": built["body"].replace('"', "'", 1)}))  # refused
    staff = User.objects.create_user("refunds-staff", is_staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="refund_order"))
    token = AuthToken.objects.create(user=staff)[1]
    answers.append(
        Client().post(
            f"/platform/v1/tenants/{TENANT_A}/orders/{order['id']}/refund",
            {"amount": 100},
            content_type="application/json",
            headers={"Authorization": f"Token {token}"},
        )
    )
    answers.append(admin_client.get(f"/admin/tenants/tenant/{Tenant.objects.get(app_id=TENANT_A).pk}/payments/"))
    assert [answer.status_code for answer in answers] == [200, 200, 204, 401, 201, 200]
    texts = [answer.content.decode() for answer in answers] + [record.getMessage() for record in caplog.records]
    for fragment in secret_fragments(merchant_a):
        assert len(fragment) >= 32
        assert not [text for text in texts if fragment in text]
    staff.delete()


def test_a_crash_while_handling_a_notification_sends_sentry_no_secret(merchant_a, pay_server, monkeypatch):
    import json

    import sentry_sdk

    from tests.e2e.sentry_stub import sentry_in_this_process

    _client, order = prepaid(TENANT_A)
    built = pay_server.control.pay(order["out_trade_no"], send=False)

    def crash(**kwargs: object) -> bool:
        raise RuntimeError("a bug while marking the order paid")

    monkeypatch.setattr("payments.notifications.order_mark_paid", crash)
    headers = {name: value for name, value in built["headers"].items() if name.lower() != "content-type"}
    with sentry_in_this_process() as sentry:
        answer = Client(raise_request_exception=False).post(
            f"/pay/v1/notify/{TENANT_A}/transaction", built["body"], content_type="application/json", headers=headers
        )
        sentry_sdk.get_client().flush(timeout=5)
        events = [json.dumps(event) for event in sentry.snapshot()]
    assert answer.status_code == 500
    assert [event for event in events if "a bug while marking" in event]
    for fragment in secret_fragments(merchant_a):
        assert not [event for event in events if fragment in event]
