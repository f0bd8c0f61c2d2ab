"""The fake WeChat Pay over HTTP: what it refuses, how it signs, how it delivers notifications; the demo merchant."""

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import StringIO

import pytest
import requests
from django.core.management import call_command

from payments.control.models import TenantMerchant
from payments.wechatpay import PayClient, notification_open
from payments.wechatpay.keys import CERTIFICATE_MODE
from payments.wechatpay.signing import header_get, signature_verifies
from tests.helpers import TENANT_A
from tests.workers import wait_for


class Receiver:
    """A notify URL on 127.0.0.1 that records what it is sent and answers 204."""

    def __init__(self) -> None:
        self.received: list[tuple[dict[str, str], bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.received.append((dict(self.headers.items()), body))
                self.send_response(204)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                return

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/pay/v1/notify/{TENANT_A}/transaction"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    receiving = Receiver()
    yield receiving
    receiving.close()


def prepay(merchant, notify_url, out_trade_no="T20261201000201", total=990):
    return PayClient(merchant.keys).jsapi_prepay(
        description="茶", out_trade_no=out_trade_no, amount_total=total, openid="openid-bob", notify_url=notify_url
    )


def test_an_unsigned_or_foreign_request_is_401_sign_error(pay_server, merchant_a):
    unsigned = requests.post(f"{pay_server.base_url}/v3/pay/transactions/jsapi", json={}, timeout=5)
    assert unsigned.status_code == 401 and unsigned.json()["code"] == "SIGN_ERROR"
    forged = requests.get(
        f"{pay_server.base_url}/v3/certificates",
        headers={
            "Authorization": 'WECHATPAY2-SHA256-RSA2048 mchid="1900000101",nonce_str="n",signature="c2ln",'
            'timestamp="1",serial_no="00"'
        },
        timeout=5,
    )
    assert forged.status_code == 401 and forged.json()["code"] == "SIGN_ERROR"
    assert requests.get(f"{pay_server.base_url}/v3/nothing", timeout=5).status_code == 404


@pytest.mark.parametrize(
    "notify_url",
    ["https://miniplex.example.test/pay/v1/notify/x/transaction?tenant=a", "http://miniplex.example.test/notify"],
)
def test_a_notify_url_with_a_query_or_not_https_is_param_error(merchant_a, notify_url):
    from payments.wechatpay import PayError

    with pytest.raises(PayError) as refused:
        prepay(merchant_a, notify_url)
    assert refused.value.code == "PARAM_ERROR"


def test_every_answer_is_signed_with_the_key_its_serial_names_in_both_modes(merchant_a_both_modes):
    keys = merchant_a_both_modes.keys
    response = PayClient(keys).send("GET", f"/v3/pay/transactions/out-trade-no/T404404404?mchid={keys.mchid}")
    assert response.status_code == 404  # a refusal, signed too
    serial = header_get(response.headers, "Wechatpay-Serial")
    assert serial.startswith("PUB_KEY_ID_") == (merchant_a_both_modes.mode != CERTIFICATE_MODE)
    key = keys.verify_key(serial)
    assert key is not None
    assert signature_verifies(
        key,
        timestamp=header_get(response.headers, "Wechatpay-Timestamp"),
        nonce=header_get(response.headers, "Wechatpay-Nonce"),
        body=response.content,
        signature=header_get(response.headers, "Wechatpay-Signature"),
    )


def test_pay_delivers_the_notification_with_its_duplicates_to_the_notify_url(
    merchant_a_both_modes, pay_server, receiver
):
    prepay(merchant_a_both_modes, receiver.url)
    answer = pay_server.control.pay("T20261201000201", duplicates=2)
    assert [sent["status"] for sent in answer["sent"]] == [204, 204, 204]
    assert len(receiver.received) == 3
    bodies = {body for _, body in receiver.received}
    assert len(bodies) == 1  # the same notification three times, as WeChat Pay repeats one
    for headers, body in receiver.received:
        resource = notification_open(merchant_a_both_modes.keys, headers, body)
        assert (resource["out_trade_no"], resource["amount"]["total"]) == ("T20261201000201", 990)
    assert [delivery["status"] for delivery in pay_server.control.deliveries()] == [204, 204, 204]


def test_a_delayed_notification_arrives_later(merchant_a, pay_server, receiver):
    prepay(merchant_a, receiver.url)
    answer = pay_server.control.pay("T20261201000201", delay=0.3)
    assert answer["sent"] == [] and receiver.received == []
    wait_for(lambda: len(receiver.received) == 1, 5)
    assert pay_server.control.orders(merchant_a.mchid)[0]["trade_state"] == "SUCCESS"


def test_a_refund_result_goes_to_the_refunds_notify_url(merchant_a, pay_server, receiver):
    client = PayClient(merchant_a.keys)
    prepay(merchant_a, receiver.url)
    pay_server.control.pay("T20261201000201", send=False)
    refund_url = receiver.url.replace("/transaction", "/refund")
    client.refund(out_trade_no="T20261201000201", out_refund_no="R201", refund=990, total=990, notify_url=refund_url)
    answer = pay_server.control.refund_result("R201")
    assert answer["sent"][0]["status"] == 204
    headers, body = receiver.received[-1]
    resource = notification_open(merchant_a.keys, headers, body)
    assert (resource["event_type"], resource["refund_status"], resource["out_refund_no"]) == (
        "REFUND.SUCCESS",
        "SUCCESS",
        "R201",
    )
    assert client.query_refund("R201")["status"] == "SUCCESS"
    assert json.loads(body)["resource"]["original_type"] == "refund"


def test_a_notification_built_for_an_order_the_fake_never_saw_carries_what_it_was_told(merchant_a, pay_server):
    built = pay_server.control.notification("NEVER0000001", mchid=merchant_a.mchid, appid=TENANT_A, amount=5)
    resource = notification_open(merchant_a.keys, built["headers"], built["body"].encode())
    assert (resource["out_trade_no"], resource["amount"]["total"], resource["appid"]) == ("NEVER0000001", 5, TENANT_A)
    assert pay_server.control.orders(merchant_a.mchid) == []


def test_a_fault_answers_wechats_code_once(merchant_a, pay_server):
    from payments.wechatpay import PayError

    pay_server.control.fail_next("/v3/refund/domestic/refunds", status=403, code="NOTENOUGH", message="余额不足")
    client = PayClient(merchant_a.keys)
    prepay(merchant_a, "https://miniplex.example.test/n")
    pay_server.control.pay("T20261201000201", send=False)
    with pytest.raises(PayError) as refused:
        client.refund(out_trade_no="T20261201000201", out_refund_no="R202", refund=1, total=990)
    assert (refused.value.status, refused.value.code) == (403, "NOTENOUGH")
    assert client.refund(out_trade_no="T20261201000201", out_refund_no="R202", refund=1, total=990)["refund_id"]


def test_ensure_demo_merchant_makes_the_first_tenant_a_merchant_of_the_local_fake(pay_server, settings):
    out = StringIO()
    call_command("ensure_demo_merchant", "--addr", "127.0.0.1:8000", stdout=out)
    merchant = TenantMerchant.objects.get()
    assert merchant.mchid == "1900000109"
    assert "__control__/pay" in out.getvalue()
    assert pay_server.control.orders() == []
    settings.WECHATPAY_API_BASE = "https://api.mch.weixin.qq.com"
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="not the local fake"):
        call_command("ensure_demo_merchant")
