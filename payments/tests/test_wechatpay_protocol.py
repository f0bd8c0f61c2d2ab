"""The protocol layer against the fake WeChat Pay: signed requests, verified answers, notification_open."""

import json
import time

import pytest

from payments.fake_server.testing import ConfiguredMerchant
from payments.wechatpay import MerchantKeys, NotificationRefused, PayClient, PayError, PayUnavailable, notification_open
from payments.wechatpay.errors import AnswerNotVerified

NOTIFY_URL = "https://miniplex.example.test/pay/v1/notify/wx00000000000000a1/transaction"


def prepaid(merchant: ConfiguredMerchant, out_trade_no: str = "T20261201000001", total: int = 1800) -> str:
    return prepaid_with(merchant.keys, out_trade_no, total)


def prepaid_with(keys: MerchantKeys, out_trade_no: str = "T20261201000001", total: int = 1800) -> str:
    return PayClient(keys).jsapi_prepay(
        description="一杯咖啡",
        out_trade_no=out_trade_no,
        amount_total=total,
        openid="openid-alice",
        notify_url=NOTIFY_URL,
    )


def test_a_prepay_signed_with_the_merchant_key_is_accepted_in_both_modes(merchant_a_both_modes, pay_server):
    prepay_id = prepaid(merchant_a_both_modes)
    assert prepay_id.startswith("wx")
    [order] = pay_server.control.orders(merchant_a_both_modes.mchid)
    assert (order["appid"], order["amount"]["total"], order["payer"]["openid"]) == (
        merchant_a_both_modes.app_id,
        1800,
        "openid-alice",
    )
    assert order["notify_url"] == NOTIFY_URL


def test_request_payment_params_are_signed_with_the_merchant_key(merchant_a):
    from payments.wechatpay.crypto import public_key_load, rsa_verify

    params = PayClient(merchant_a.keys).request_payment_params("wx123")
    assert set(params) == {"timeStamp", "nonceStr", "package", "signType", "paySign"}
    assert params["package"] == "prepay_id=wx123" and params["signType"] == "RSA"
    message = f"{merchant_a.app_id}\n{params['timeStamp']}\n{params['nonceStr']}\n{params['package']}\n".encode()
    assert rsa_verify(public_key_load(merchant_a.credentials.public_key_pem), message, params["paySign"])


def test_a_request_signed_with_another_key_is_refused_sign_error(merchant_a, merchant_b):
    from dataclasses import replace

    wrong = replace(merchant_a.keys, private_key=merchant_b.keys.private_key)
    with pytest.raises(PayError) as refused:
        PayClient(wrong).query_by_out_trade_no("T20261201000001")
    assert (refused.value.status, refused.value.code) == (401, "SIGN_ERROR")


def test_an_appid_not_bound_to_the_mchid_is_refused(merchant_a, merchant_b):
    from dataclasses import replace

    keys = replace(merchant_a.keys, app_id=merchant_b.app_id)
    with pytest.raises(PayError) as refused:
        PayClient(keys).jsapi_prepay(
            description="x", out_trade_no="T20261201000002", amount_total=1, openid="o", notify_url=NOTIFY_URL
        )
    assert refused.value.code == "APPID_MCHID_NOT_MATCH"


def test_query_close_refund_answer_wechats_fields_and_codes(merchant_a, pay_server):
    client = PayClient(merchant_a.keys)
    prepaid(merchant_a)
    assert client.query_by_out_trade_no("T20261201000001")["trade_state"] == "NOTPAY"
    with pytest.raises(PayError) as missing:
        client.query_by_out_trade_no("T20269999999999")
    assert (missing.value.status, missing.value.code) == (404, "ORDER_NOT_EXIST")
    pay_server.control.pay("T20261201000001", send=False)
    paid = client.query_by_out_trade_no("T20261201000001")
    assert paid["trade_state"] == "SUCCESS" and paid["transaction_id"]
    with pytest.raises(PayError) as orderpaid:
        client.close("T20261201000001")
    assert orderpaid.value.code == "ORDERPAID"
    with pytest.raises(PayError) as again:
        prepaid(merchant_a)
    assert again.value.code == "ORDERPAID"
    refund = client.refund(out_trade_no="T20261201000001", out_refund_no="R1", refund=800, total=1800, reason="r")
    assert refund["status"] == "PROCESSING" and refund["amount"]["refund"] == 800
    assert client.query_refund("R1")["refund_id"] == refund["refund_id"]
    with pytest.raises(PayError) as over:
        client.refund(out_trade_no="T20261201000001", out_refund_no="R2", refund=1001, total=1800)
    assert over.value.code == "INVALID_REQUEST"
    with pytest.raises(PayError) as no_refund:
        client.query_refund("R404")
    assert no_refund.value.code == "RESOURCE_NOT_EXISTS"


def test_closing_an_unpaid_order_then_prepaying_it_again_is_order_closed(merchant_a):
    client = PayClient(merchant_a.keys)
    prepaid(merchant_a)
    client.close("T20261201000001")
    assert client.query_by_out_trade_no("T20261201000001")["trade_state"] == "CLOSED"
    with pytest.raises(PayError) as closed:
        prepaid(merchant_a)
    assert closed.value.code == "ORDER_CLOSED"


def test_a_5xx_is_unavailable_and_an_answer_not_signed_by_wechatpay_is_not_believed(merchant_a, merchant_b, pay_server):
    from dataclasses import replace

    pay_server.control.fail_next("/v3/pay/transactions/jsapi", status=500, code="SYSTEM_ERROR")
    with pytest.raises(PayUnavailable) as busy:
        prepaid(merchant_a)
    assert (busy.value.status, busy.value.code) == (500, "SYSTEM_ERROR")
    pay_server.control.fail_next("/v3/pay/transactions/jsapi", status=429, code="FREQUENCY_LIMITED")
    with pytest.raises(PayUnavailable) as limited:
        prepaid(merchant_a)
    assert (limited.value.status, limited.value.code) == (429, "FREQUENCY_LIMITED")
    # A's keys, but verifying with B's WeChat Pay key: A's genuine answer does not verify.
    foreign = {merchant_a.keys.public_key_id: merchant_b.keys.verify_key(merchant_b.keys.public_key_id)}
    with pytest.raises(AnswerNotVerified):
        prepaid_with(replace(merchant_a.keys, verify_keys=foreign), "T20261201000003")


# --- notification_open: each refusal, in its order ----------------------------------------------------------


def opened(merchant: ConfiguredMerchant, notification: dict) -> dict:
    return notification_open(merchant.keys, notification["headers"], notification["body"].encode())


def test_a_genuine_notification_opens_to_its_resource_in_both_modes(merchant_a_both_modes, pay_server):
    prepaid(merchant_a_both_modes)
    resource = opened(merchant_a_both_modes, pay_server.control.pay("T20261201000001", send=False))
    assert resource["event_type"] == "TRANSACTION.SUCCESS"
    assert (resource["out_trade_no"], resource["trade_state"], resource["amount"]["total"]) == (
        "T20261201000001",
        "SUCCESS",
        1800,
    )
    assert resource["appid"] == merchant_a_both_modes.app_id and resource["mchid"] == merchant_a_both_modes.mchid


@pytest.mark.parametrize(
    ("spoilt", "status", "words"),
    [
        ({"signtest": True}, 400, "SIGNTEST"),
        ({"tamper": "timestamp"}, 400, "5 minutes"),
        ({"timestamp_offset": 301}, 400, "5 minutes"),
        ({"tamper": "signature"}, 401, "does not verify"),
        ({"tamper": "body"}, 401, "does not verify"),
        ({"serial": "PUB_KEY_ID_0000UNKNOWN"}, 401, "serial"),
        ({"tamper": "ciphertext"}, 400, "decrypt"),
    ],
)
def test_a_spoilt_notification_is_refused_at_its_check(merchant_a_both_modes, pay_server, spoilt, status, words):
    prepaid(merchant_a_both_modes)
    with pytest.raises(NotificationRefused) as refused:
        opened(merchant_a_both_modes, pay_server.control.notification("T20261201000001", **spoilt))
    assert refused.value.status == status
    assert words in refused.value.message


def test_a_notification_inside_the_window_opens(merchant_a, pay_server):
    prepaid(merchant_a)
    assert opened(merchant_a, pay_server.control.notification("T20261201000001", timestamp_offset=-290))


def test_missing_headers_are_refused_and_django_meta_names_are_read(merchant_a, pay_server):
    prepaid(merchant_a)
    notification = pay_server.control.notification("T20261201000001")
    headers = dict(notification["headers"])
    del headers["Wechatpay-Nonce"]
    with pytest.raises(NotificationRefused) as refused:
        notification_open(merchant_a.keys, headers, notification["body"].encode())
    assert refused.value.status == 400
    meta = {"HTTP_" + name.upper().replace("-", "_"): value for name, value in notification["headers"].items()}
    assert notification_open(merchant_a.keys, meta, notification["body"].encode())["out_trade_no"]


def test_tenant_as_notification_does_not_open_with_tenant_bs_keys(merchant_a, merchant_b, pay_server):
    prepaid(merchant_a)
    with pytest.raises(NotificationRefused) as refused:
        opened(merchant_b, pay_server.control.notification("T20261201000001"))
    assert refused.value.status == 401


def test_a_notification_resigned_with_the_right_key_but_another_apiv3_key_does_not_decrypt(merchant_a, pay_server):
    from dataclasses import replace

    prepaid(merchant_a)
    notification = pay_server.control.notification("T20261201000001")
    with pytest.raises(NotificationRefused) as refused:
        notification_open(
            replace(merchant_a.keys, apiv3_key=b"x" * 32), notification["headers"], notification["body"].encode()
        )
    assert "decrypt" in refused.value.message
    assert json.loads(notification["body"])["resource"]["algorithm"] == "AEAD_AES_256_GCM"
    assert abs(int(notification["headers"]["Wechatpay-Timestamp"]) - time.time()) < 60
