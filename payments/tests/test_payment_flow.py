"""From login to paid against the fake WeChat Pay over HTTP, in both key modes; prepay and its refusals."""

import base64

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from payments.fake_server.testing import ConfiguredMerchant
from payments.services import PAYMENT_SUCCEEDED_JOB
from payments.tests.helpers import (  # noqa: F401
    jobs_named,
    notify_live,
    order_in,
    orders_cleaned,
    prepaid,
    shop,
)
from tests.helpers import TENANT_A, TENANT_C
from tests.workers import fetch

pytestmark = pytest.mark.usefixtures("wechat", "orders_cleaned", "queue_name")


def pay_sign_verifies(merchant: ConfiguredMerchant, fields: dict) -> bool:
    message = f"{merchant.app_id}\n{fields['timeStamp']}\n{fields['nonceStr']}\n{fields['package']}\n".encode()
    key = load_pem_public_key(merchant.credentials.public_key_pem.encode())
    try:
        key.verify(base64.b64decode(fields["paySign"]), message, padding.PKCS1v15(), hashes.SHA256())  # type: ignore[union-attr, call-arg, arg-type]
    except Exception:  # noqa: BLE001 - InvalidSignature, or a malformed one: either way it does not verify
        return False
    return True


@pytest.mark.usefixtures("notify_live")
def test_login_order_prepay_pay_and_the_order_is_paid_with_one_job(merchant_a_both_modes, pay_server, settings):
    merchant = merchant_a_both_modes
    client, order = shop(TENANT_A)
    fields = client.post(f"/api/v1/pay/orders/{order['id']}/prepay").json()
    assert set(fields) == {"timeStamp", "nonceStr", "package", "signType", "paySign"}
    assert fields["signType"] == "RSA" and fields["package"].startswith("prepay_id=")
    assert pay_sign_verifies(merchant, fields)
    [at_wechat] = pay_server.control.orders(merchant.mchid)
    assert at_wechat["notify_url"] == f"{settings.PAY_NOTIFY_BASE_URL}/pay/v1/notify/{TENANT_A}/transaction"
    assert (at_wechat["amount"]["total"], at_wechat["appid"]) == (1800, TENANT_A)

    sent = pay_server.control.pay(order["out_trade_no"])["sent"]
    assert [delivery["status"] for delivery in sent] == [204]
    shown = client.get(f"/api/v1/pay/orders/{order['id']}").json()
    assert shown["status"] == "paid" and shown["paid_at"]
    [at_wechat] = pay_server.control.orders(merchant.mchid)
    assert order_in(TENANT_A, order["id"]).transaction_id == at_wechat["transaction_id"]
    assert jobs_named(TENANT_A, PAYMENT_SUCCEEDED_JOB) == 1
    assert client.post(f"/api/v1/pay/orders/{order['id']}/prepay").json()["error"]["code"] == "order_not_payable"


@pytest.mark.usefixtures("notify_live")
def test_the_payment_succeeded_job_runs_the_hooks_apps_registered(merchant_a, pay_server, monkeypatch):
    from core.tenant_context import activate_tenant
    from payments import jobs
    from payments.tests.helpers import context_of
    from tenants.outbox.models import OutboxJob

    seen = []
    monkeypatch.setattr(jobs, "_hooks", [])
    monkeypatch.setattr("payments.tests.test_payment_flow.record_paid", lambda order: seen.append(order.status))
    jobs.register_payment_succeeded("payments.tests.test_payment_flow.record_paid")
    _client, order = prepaid(TENANT_A)
    pay_server.control.pay(order["out_trade_no"])
    with activate_tenant(context_of(TENANT_A)):
        job_id = OutboxJob.objects.get(func_name=PAYMENT_SUCCEEDED_JOB).id
    assert fetch(job_id).perform() == {"order_id": order["id"], "out_trade_no": order["out_trade_no"], "hooks": 1}
    assert seen == ["paid"]


def record_paid(order: object) -> None:  # replaced by the test above
    raise AssertionError("not patched")


def test_a_pending_orders_prepay_id_is_reused_while_valid(merchant_a, pay_server):
    client, order = shop(TENANT_A)
    first = client.post(f"/api/v1/pay/orders/{order['id']}/prepay").json()
    second = client.post(f"/api/v1/pay/orders/{order['id']}/prepay").json()
    assert first["package"] == second["package"]
    jsapi_calls = [seen for seen in pay_server.control.requests_seen() if seen["path"].endswith("/jsapi")]
    assert len(jsapi_calls) == 1


def test_prepay_without_a_merchant_or_a_notify_base_is_refused_clearly(pay_server, settings):
    client, order = shop(TENANT_C)  # TENANT_C has no merchant
    refused = client.post(f"/api/v1/pay/orders/{order['id']}/prepay")
    assert (refused.status_code, refused.json()["error"]["code"]) == (409, "payment_not_configured")
    settings.PAY_NOTIFY_BASE_URL = ""
    from payments.fake_server.testing import merchant_configure

    merchant_configure(pay_server, TENANT_C)
    refused = client.post(f"/api/v1/pay/orders/{order['id']}/prepay")
    assert (refused.status_code, refused.json()["error"]["code"]) == (503, "payments_not_configured")
    assert pay_server.control.orders() == []


def test_wechat_pay_refusing_or_absent_is_a_clear_error_and_the_order_stays_pending(merchant_a, pay_server):
    client, order = shop(TENANT_A)
    pay_server.control.fail_next("/v3/pay/transactions/jsapi", status=400, code="APPID_MCHID_NOT_MATCH")
    refused = client.post(f"/api/v1/pay/orders/{order['id']}/prepay")
    assert (refused.status_code, refused.json()["error"]["wechatpay_code"]) == (502, "APPID_MCHID_NOT_MATCH")
    pay_server.control.fail_next("/v3/pay/transactions/jsapi", status=500, code="SYSTEM_ERROR")
    absent = client.post(f"/api/v1/pay/orders/{order['id']}/prepay")
    assert (absent.status_code, absent.json()["error"]["code"]) == (503, "wechatpay_unavailable")
    assert "Retry-After" in absent.headers
    stored = order_in(TENANT_A, order["id"])
    assert (stored.status, stored.prepay_id) == ("pending", "")


def test_an_expired_prepay_id_is_replaced_and_a_paid_one_found_paid(merchant_a, pay_server):
    from django.utils import timezone

    from core.tenant_context import activate_tenant
    from payments.models import Order
    from payments.tests.helpers import context_of

    client, order = shop(TENANT_A)
    assert client.post(f"/api/v1/pay/orders/{order['id']}/prepay").status_code == 200
    with activate_tenant(context_of(TENANT_A)):
        Order.objects.filter(pk=order["id"]).update(prepay_expires_at=timezone.now())
    assert client.post(f"/api/v1/pay/orders/{order['id']}/prepay").status_code == 200
    jsapi_calls = [seen for seen in pay_server.control.requests_seen() if seen["path"].endswith("/jsapi")]
    assert len(jsapi_calls) == 2

    pay_server.control.pay(order["out_trade_no"], send=False)  # paid; the notification is lost
    with activate_tenant(context_of(TENANT_A)):
        Order.objects.filter(pk=order["id"]).update(prepay_expires_at=timezone.now())
    again = client.post(f"/api/v1/pay/orders/{order['id']}/prepay")
    assert (again.status_code, again.json()["error"]["code"]) == (409, "order_not_payable")
    assert order_in(TENANT_A, order["id"]).status == "paid"
    assert jobs_named(TENANT_A, PAYMENT_SUCCEEDED_JOB) == 1
