"""The fake's control API under /__control__/: what tests and `./dev serve` do that WeChat Pay's users would."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

from cryptography.hazmat.primitives.serialization import Encoding

from payments.fake_server import keys
from payments.fake_server.endpoints import FakeRequest
from payments.fake_server.notify import deliver, deliver_later, notification_build
from payments.fake_server.state import FakePayState, Fault, Merchant, Order, wechat_time
from payments.wechatpay.crypto import APIV3_KEY_BYTES, public_key_load, public_key_pem

CONTROL_PREFIX = "/__control__/"

Control = Callable[[FakePayState, dict[str, Any]], tuple[int, dict[str, Any]]]


class ControlError(Exception):
    pass


def register_merchant(state: FakePayState, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """A merchant (or one more appid bound to it); answers what the merchant configures on its side."""
    mode = body.get("mode") or "public_key"
    if mode not in ("public_key", "certificate"):
        raise ControlError("mode is public_key or certificate")
    apiv3_key = str(body["apiv3_key"]).encode()
    if len(apiv3_key) != APIV3_KEY_BYTES:
        raise ControlError("the APIv3 key has 32 bytes")
    with state.lock:
        merchant = state.merchants.get(body["mchid"])
        appids = (merchant.appids if merchant else set()) | {body["appid"]}
        merchant = Merchant(
            mchid=body["mchid"],
            appids=appids,
            serial=str(body["serial"]).upper(),
            public_key=public_key_load(body["merchant_public_key_pem"]),
            apiv3_key=apiv3_key,
            mode=mode,
            generation=merchant.generation if merchant else 0,
        )
        state.merchants[merchant.mchid] = merchant
    return 200, merchant_configuration(merchant)


def merchant_configuration(merchant: Merchant) -> dict[str, Any]:
    """Public-key mode: WeChat Pay's public key and its id; certificate mode: the platform certificate."""
    key = merchant.signing_key
    answer: dict[str, Any] = {"mchid": merchant.mchid, "mode": merchant.mode, "signing_serial": merchant.signing_serial}
    if merchant.mode == "public_key":
        answer.update(public_key_pem=public_key_pem(key), public_key_id=merchant.signing_serial)
    else:
        certificate = keys.platform_certificate(merchant.mchid, merchant.generation)
        answer.update(
            certificate_serial=merchant.signing_serial, certificate_pem=certificate.public_bytes(Encoding.PEM).decode()
        )
    return answer


def rotate(state: FakePayState, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """WeChat Pay moves to a new key (certificate mode: a new platform certificate; /v3/certificates lists both)."""
    merchant = _merchant(state, body["mchid"])
    with state.lock:
        merchant.generation += 1
    return 200, merchant_configuration(merchant)


def pay(state: FakePayState, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """The user pays: the order becomes SUCCESS and TRANSACTION.SUCCESS goes to its notify_url (or back here)."""
    order = _order(state, body)
    merchant = _merchant(state, order.mchid)
    with state.lock:
        if order.trade_state == "NOTPAY":
            order.trade_state = "SUCCESS"
            order.transaction_id = f"42{secrets.randbelow(10**26):026d}"
            order.success_time = wechat_time()
        elif order.trade_state == "CLOSED":
            raise ControlError(f"{order.out_trade_no} is closed; it cannot be paid")
        resource = order.resource()
    notification = notification_build(
        merchant, event_type="TRANSACTION.SUCCESS", original_type="transaction", resource=resource
    )
    return 200, _send(state, body, order.notify_url, notification, resource)


def notification(state: FakePayState, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """A TRANSACTION.SUCCESS notification built, not sent, and the state left as it is; fields may be overridden
    (appid, mchid, amount, currency, out_trade_no) and the notification spoilt (tamper, signtest, timestamp_offset)."""
    order = _order(state, body, must_exist=False)
    mchid = order.mchid if order else body.get("mchid", "")
    merchant = _merchant(state, mchid)
    with state.lock:
        resource = order.resource() if order else _resource_of_unknown(body, merchant)
    resource.update(trade_state="SUCCESS", trade_state_desc="支付成功")
    resource.setdefault("transaction_id", f"42{secrets.randbelow(10**26):026d}")
    resource.setdefault("success_time", wechat_time())
    resource["amount"] = {**resource["amount"], "payer_total": resource["amount"]["total"]}
    for name in ("appid", "mchid", "transaction_id"):
        if body.get(f"resource_{name}"):
            resource[name] = body[f"resource_{name}"]
    if body.get("amount") is not None:
        resource["amount"] = {**resource["amount"], "total": int(body["amount"]), "payer_total": int(body["amount"])}
    if body.get("currency"):
        resource["amount"] = {**resource["amount"], "currency": body["currency"], "payer_currency": body["currency"]}
    built = notification_build(
        merchant,
        event_type="TRANSACTION.SUCCESS",
        original_type="transaction",
        resource=resource,
        tamper=body.get("tamper"),
        signtest=bool(body.get("signtest")),
        timestamp_offset=int(body.get("timestamp_offset") or 0),
        serial=body.get("serial"),
    )
    return 200, {**built, "resource": resource}


def _resource_of_unknown(body: dict[str, Any], merchant: Merchant) -> dict[str, Any]:
    order = Order(
        mchid=merchant.mchid,
        appid=body.get("appid") or sorted(merchant.appids)[0],
        out_trade_no=body["out_trade_no"],
        description="",
        total=int(body.get("amount") or 1),
        openid=body.get("openid") or "openid-unknown",
        notify_url="",
        trade_state="SUCCESS",
        transaction_id=f"42{secrets.randbelow(10**26):026d}",
        success_time=wechat_time(),
    )
    return order.resource()


def refund_result(state: FakePayState, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """The refund ends (SUCCESS, ABNORMAL or CLOSED) and REFUND.<status> goes to its notify_url."""
    status = body.get("status") or "SUCCESS"
    if status not in ("SUCCESS", "ABNORMAL", "CLOSED"):
        raise ControlError("status is SUCCESS, ABNORMAL or CLOSED")
    entry = state.refund_find(body["out_refund_no"], body.get("mchid"))
    if entry is None:
        raise ControlError(f"no refund {body['out_refund_no']!r}")
    merchant = _merchant(state, entry.mchid)
    with state.lock:
        entry.status = status
        if status == "SUCCESS":
            entry.success_time = wechat_time()
        if status == "CLOSED":
            order = state.orders.get((entry.mchid, entry.out_trade_no))
            if order is not None:
                order.refunded -= entry.refund
        resource = {
            "mchid": entry.mchid,
            "out_trade_no": entry.out_trade_no,
            "transaction_id": entry.transaction_id,
            "out_refund_no": entry.out_refund_no,
            "refund_id": entry.refund_id,
            "refund_status": status,
            "user_received_account": "支付用户零钱",
            "amount": {
                "total": entry.total,
                "refund": entry.refund,
                "payer_total": entry.total,
                "payer_refund": entry.refund,
            },
        }
        if entry.success_time:
            resource["success_time"] = entry.success_time
    built = notification_build(merchant, event_type=f"REFUND.{status}", original_type="refund", resource=resource)
    return 200, _send(state, body, entry.notify_url, built, resource)


def _send(
    state: FakePayState, body: dict[str, Any], url: str, built: dict[str, Any], resource: dict[str, Any]
) -> dict[str, Any]:
    """send=False: handed back; a delay: sent later in a thread; otherwise sent now (1 + duplicates copies)."""
    answer: dict[str, Any] = {**built, "resource": resource, "sent": []}
    url = body.get("url") or url
    if body.get("send") is False or not url:
        return answer
    copies = 1 + int(body.get("duplicates") or 0)
    delay = float(body.get("delay") or 0)
    if delay > 0:
        deliver_later(state, url, built, copies=copies, delay=delay)
    else:
        answer["sent"] = deliver(state, url, built, copies=copies)
    return answer


def orders(state: FakePayState, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    with state.lock:
        found = [
            {
                **order.resource(),
                "notify_url": order.notify_url,
                "prepay_id": order.prepay_id,
                "description": order.description,
                "refunded": order.refunded,
                "time_expire": order.time_expire,
            }
            for order in state.orders.values()
            if not body.get("mchid") or order.mchid == body["mchid"]
        ]
        refunds = [
            {**entry.resource(), "mchid": entry.mchid, "reason": entry.reason, "notify_url": entry.notify_url}
            for entry in state.refunds.values()
            if not body.get("mchid") or entry.mchid == body["mchid"]
        ]
    return 200, {"orders": found, "refunds": refunds}


def requests_seen(state: FakePayState, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    with state.lock:
        return 200, {"requests": list(state.requests), "deliveries": list(state.deliveries)}


def faults(state: FakePayState, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """The next `times` calls to endpoint (a path) answer status with WeChat's code (SYSTEM_ERROR, NOTENOUGH...)."""
    with state.lock:
        state.faults[body["endpoint"]] = Fault(
            status=int(body.get("status") or 500),
            code=str(body.get("code") or "SYSTEM_ERROR"),
            message=str(body.get("message") or "系统错误"),
            times=int(body.get("times") or 1),
        )
    return 200, {}


def delays(state: FakePayState, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    with state.lock:
        state.delays[body["endpoint"]] = float(body.get("seconds") or 0)
    return 200, {}


def reset(state: FakePayState, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    state.reset()
    return 200, {}


def _merchant(state: FakePayState, mchid: str) -> Merchant:
    with state.lock:
        merchant = state.merchants.get(mchid)
    if merchant is None:
        raise ControlError(f"no merchant {mchid!r} is registered")
    return merchant


def _order(state: FakePayState, body: dict[str, Any], *, must_exist: bool = True) -> Order:
    order = state.order_find(str(body.get("out_trade_no") or ""), body.get("mchid"))
    if order is None and must_exist:
        raise ControlError(f"no order {body.get('out_trade_no')!r} (prepay it first)")
    return order  # type: ignore[return-value]


CONTROL_ROUTES: dict[tuple[str, str], Control] = {
    ("POST", "merchants"): register_merchant,
    ("POST", "rotate"): rotate,
    ("POST", "pay"): pay,
    ("POST", "notification"): notification,
    ("POST", "refund_result"): refund_result,
    ("GET", "orders"): orders,
    ("GET", "requests"): requests_seen,
    ("POST", "faults"): faults,
    ("POST", "delays"): delays,
    ("POST", "reset"): reset,
}


def dispatch(state: FakePayState, request: FakeRequest) -> tuple[int, dict[str, Any]]:
    action = request.path[len(CONTROL_PREFIX) :]
    control = CONTROL_ROUTES.get((request.method, action))
    if control is None:
        return 404, {"error": f"no control action {request.method} {action}"}
    body = request.json() if request.method == "POST" else dict(request.query)
    try:
        return control(state, body or {})
    except (ControlError, KeyError, ValueError) as error:
        return 400, {"error": f"{type(error).__name__}: {error}"}
