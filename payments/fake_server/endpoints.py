"""WeChat Pay v3's merchant API as the fake answers it, from the docs (docs/payments-merchants.md, "The fake").

Each request must carry a valid `WECHATPAY2-SHA256-RSA2048` Authorization of a registered merchant: its mchid,
the serial it registered, a signature its public key verifies, a timestamp within 5 minutes; otherwise
401 SIGN_ERROR, as WeChat Pay answers. Every answer is signed with WeChat Pay's key of that merchant.
"""

from __future__ import annotations

import json
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.serialization import Encoding

from payments.fake_server import keys
from payments.fake_server.state import FakePayState, Merchant, Order, Refund, wechat_time
from payments.wechatpay.crypto import aes_gcm_encrypt, rsa_verify
from payments.wechatpay.signing import authorization_parse, request_message

WINDOW_SECONDS = 300


@dataclass
class FakeRequest:
    method: str
    path: str  # without the query
    target: str  # path and query, as signed
    query: dict[str, str]
    raw: bytes
    headers: dict[str, str] = field(default_factory=dict)  # lower-case names

    def json(self) -> dict[str, Any] | None:
        try:
            body = json.loads(self.raw) if self.raw else None
        except ValueError:
            return None
        return body if isinstance(body, dict) else None


@dataclass
class Answer:
    status: int
    payload: dict[str, Any] | None = None
    merchant: Merchant | None = None  # signs the answer when known


class Refusal(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.answer = Answer(status, {"code": code, "message": message})


def error(status: int, code: str, message: str) -> Refusal:
    return Refusal(status, code, message)


# --- the signature of the merchant's request ----------------------------------------------------------------


def authenticate(state: FakePayState, request: FakeRequest) -> Merchant:
    fields = authorization_parse(request.headers.get("authorization", ""))
    if not fields:
        raise error(401, "SIGN_ERROR", "Authorization 头缺失或格式错误 (missing or not WECHATPAY2-SHA256-RSA2048)")
    with state.lock:
        merchant = state.merchants.get(fields.get("mchid", ""))
    if merchant is None:
        raise error(401, "SIGN_ERROR", "商户号不存在 (unknown mchid)")
    if fields.get("serial_no", "").upper() != merchant.serial.upper():
        raise error(401, "SIGN_ERROR", "证书序列号错误 (serial_no is not the merchant certificate's)")
    timestamp = fields.get("timestamp", "")
    if not timestamp.isdigit() or abs(time.time() - int(timestamp)) > WINDOW_SECONDS:
        raise error(401, "SIGN_ERROR", "时间戳过期 (timestamp more than 5 minutes off)")
    message = request_message(
        request.method, request.target, timestamp, fields.get("nonce_str", ""), request.raw.decode("utf-8", "replace")
    )
    if not rsa_verify(merchant.public_key, message.encode(), fields.get("signature", "")):
        raise error(401, "SIGN_ERROR", "签名错误 (the signature does not verify with the merchant's key)")
    return merchant


# --- the endpoints ------------------------------------------------------------------------------------------


def jsapi(state: FakePayState, merchant: Merchant, request: FakeRequest, match: re.Match[str]) -> Answer:
    body = _body(request)
    for name in ("appid", "mchid", "description", "out_trade_no", "notify_url"):
        if not isinstance(body.get(name), str) or not body[name]:
            raise error(400, "PARAM_ERROR", f"{name} 为必填参数 (missing)")
    total = (body.get("amount") or {}).get("total")
    openid = (body.get("payer") or {}).get("openid")
    if not isinstance(total, int) or total <= 0:
        raise error(400, "PARAM_ERROR", "amount.total 必须为正整数 (fen)")
    if not isinstance(openid, str) or not openid:
        raise error(400, "PARAM_ERROR", "payer.openid 为必填参数")
    if body["mchid"] != merchant.mchid:
        raise error(400, "PARAM_ERROR", "请求头与请求体的商户号不一致 (mchid differs from the signer's)")
    if body["appid"] not in merchant.appids:
        raise error(400, "APPID_MCHID_NOT_MATCH", "appid和mch_id不匹配")
    _notify_url_check(body["notify_url"])
    if not re.fullmatch(r"[0-9A-Za-z_\-|*]{6,32}", body["out_trade_no"]):
        raise error(400, "PARAM_ERROR", "out_trade_no 格式错误 (6-32 letters, digits, _-|*)")
    with state.lock:
        order = state.orders.get((merchant.mchid, body["out_trade_no"]))
        if order is not None:
            return Answer(200, {"prepay_id": _prepay_again(order, body, total)}, merchant)
        order = Order(
            mchid=merchant.mchid,
            appid=body["appid"],
            out_trade_no=body["out_trade_no"],
            description=body["description"],
            total=total,
            openid=openid,
            notify_url=body["notify_url"],
            attach=str(body.get("attach") or ""),
            time_expire=str(body.get("time_expire") or ""),
        )
        state.orders[(merchant.mchid, order.out_trade_no)] = order
    return Answer(200, {"prepay_id": order.prepay_id}, merchant)


def _prepay_again(order: Order, body: dict[str, Any], total: int) -> str:
    if order.trade_state in ("SUCCESS", "REFUND"):
        raise error(400, "ORDERPAID", "该订单已支付")
    if order.trade_state == "CLOSED":
        raise error(400, "ORDER_CLOSED", "该订单已关闭")
    if order.total != total or order.description != body["description"] or order.appid != body["appid"]:
        raise error(400, "INVALID_REQUEST", "商户订单号重复 (the out_trade_no is used with other parameters)")
    order.notify_url = body["notify_url"]
    return order.prepay_id


def _notify_url_check(url: str) -> None:
    parts = urlsplit(url)
    # WeChat Pay wants HTTPS; the fake also takes plain HTTP to this machine, where the tests' servers listen.
    local = parts.scheme == "http" and parts.hostname in ("127.0.0.1", "localhost")
    if not (parts.scheme == "https" or local) or not parts.hostname:
        raise error(400, "PARAM_ERROR", "notify_url 必须为 https 地址")
    if parts.query or parts.fragment:
        raise error(400, "PARAM_ERROR", "notify_url 不能携带参数 (no query string)")


def query(state: FakePayState, merchant: Merchant, request: FakeRequest, match: re.Match[str]) -> Answer:
    if request.query.get("mchid") != merchant.mchid:
        raise error(400, "PARAM_ERROR", "mchid 参数缺失或与签名商户不一致")
    order = state.order_find(match["no"], merchant.mchid)
    if order is None:
        raise error(404, "ORDER_NOT_EXIST", "订单不存在")
    with state.lock:
        return Answer(200, order.resource(), merchant)


def close(state: FakePayState, merchant: Merchant, request: FakeRequest, match: re.Match[str]) -> Answer:
    if _body(request).get("mchid") != merchant.mchid:
        raise error(400, "PARAM_ERROR", "mchid 参数缺失或与签名商户不一致")
    with state.lock:
        order = state.orders.get((merchant.mchid, match["no"]))
        if order is None:
            raise error(404, "ORDER_NOT_EXIST", "订单不存在")
        if order.trade_state in ("SUCCESS", "REFUND"):
            raise error(400, "ORDERPAID", "订单已支付，不能关闭")
        order.trade_state = "CLOSED"
    return Answer(204, None, merchant)


def refund(state: FakePayState, merchant: Merchant, request: FakeRequest, match: re.Match[str]) -> Answer:
    body = _body(request)
    amount = body.get("amount") or {}
    out_refund_no, wanted, total = body.get("out_refund_no"), amount.get("refund"), amount.get("total")
    if not isinstance(out_refund_no, str) or not out_refund_no:
        raise error(400, "PARAM_ERROR", "out_refund_no 为必填参数")
    if not isinstance(wanted, int) or wanted <= 0 or not isinstance(total, int):
        raise error(400, "PARAM_ERROR", "amount.refund 与 amount.total 必须为正整数 (fen)")
    if body.get("notify_url"):
        _notify_url_check(str(body["notify_url"]))
    with state.lock:
        order = state.orders.get((merchant.mchid, str(body.get("out_trade_no") or "")))
        if order is None:
            raise error(404, "RESOURCE_NOT_EXISTS", "订单不存在")
        existing = state.refunds.get((merchant.mchid, out_refund_no))
        if existing is not None:
            if existing.refund != wanted or existing.out_trade_no != order.out_trade_no:
                raise error(400, "INVALID_REQUEST", "退款单号重复 (the out_refund_no is used with other parameters)")
            return Answer(200, existing.resource(), merchant)
        if order.trade_state not in ("SUCCESS", "REFUND"):
            raise error(400, "INVALID_REQUEST", "订单未支付，不能退款")
        if total != order.total:
            raise error(400, "PARAM_ERROR", "订单金额与原订单不一致 (amount.total is not the order's)")
        if order.refunded + wanted > order.total:
            raise error(400, "INVALID_REQUEST", "申请退款金额超过订单可退金额")
        entry = Refund(
            mchid=merchant.mchid,
            out_trade_no=order.out_trade_no,
            transaction_id=order.transaction_id,
            out_refund_no=out_refund_no,
            refund=wanted,
            total=order.total,
            reason=str(body.get("reason") or ""),
            notify_url=str(body.get("notify_url") or ""),
        )
        order.refunded += wanted
        order.trade_state = "REFUND"
        state.refunds[(merchant.mchid, out_refund_no)] = entry
        return Answer(200, entry.resource(), merchant)


def refund_query(state: FakePayState, merchant: Merchant, request: FakeRequest, match: re.Match[str]) -> Answer:
    entry = state.refund_find(match["no"], merchant.mchid)
    if entry is None:
        raise error(404, "RESOURCE_NOT_EXISTS", "退款单不存在")
    with state.lock:
        return Answer(200, entry.resource(), merchant)


def certificates(state: FakePayState, merchant: Merchant, request: FakeRequest, match: re.Match[str]) -> Answer:
    if merchant.mode != "certificate":
        # Merchants opened since 2024-09 have no platform certificate (the real API may even answer 500).
        raise error(404, "RESOURCE_NOT_EXISTS", "无可用的平台证书，请使用微信支付公钥")
    data = []
    # The certificate in use and the previous one while a rotation is under way, as WeChat lists both.
    for generation in sorted({merchant.generation, max(0, merchant.generation - 1)}):
        certificate = keys.platform_certificate(merchant.mchid, generation)
        pem = certificate.public_bytes(Encoding.PEM).decode()
        nonce = secrets.token_hex(6)
        data.append(
            {
                "serial_no": f"{certificate.serial_number:X}",
                "effective_time": wechat_time(certificate.not_valid_before_utc.timestamp()),
                "expire_time": wechat_time(certificate.not_valid_after_utc.timestamp()),
                "encrypt_certificate": {
                    "algorithm": "AEAD_AES_256_GCM",
                    "nonce": nonce,
                    "associated_data": "certificate",
                    "ciphertext": aes_gcm_encrypt(
                        merchant.apiv3_key, nonce=nonce, plaintext=pem.encode(), associated_data="certificate"
                    ),
                },
            }
        )
    return Answer(200, {"data": data}, merchant)


def _body(request: FakeRequest) -> dict[str, Any]:
    body = request.json()
    if body is None:
        raise error(400, "PARAM_ERROR", "请求体不是 JSON 对象 (the body is not a JSON object)")
    return body


Handler = Callable[[FakePayState, Merchant, FakeRequest, re.Match[str]], Answer]

ROUTES: list[tuple[str, re.Pattern[str], Handler]] = [
    ("POST", re.compile(r"/v3/pay/transactions/jsapi"), jsapi),
    ("GET", re.compile(r"/v3/pay/transactions/out-trade-no/(?P<no>[^/]+)"), query),
    ("POST", re.compile(r"/v3/pay/transactions/out-trade-no/(?P<no>[^/]+)/close"), close),
    ("POST", re.compile(r"/v3/refund/domestic/refunds"), refund),
    ("GET", re.compile(r"/v3/refund/domestic/refunds/(?P<no>[^/]+)"), refund_query),
    ("GET", re.compile(r"/v3/certificates"), certificates),
]


def _route(request: FakeRequest) -> tuple[re.Pattern[str], Handler, re.Match[str]] | None:
    for method, pattern, handler in ROUTES:
        match = pattern.fullmatch(request.path)
        if match and method == request.method:
            return pattern, handler, match
    return None


def dispatch(state: FakePayState, request: FakeRequest) -> Answer:
    with state.lock:
        state.requests.append({"method": request.method, "path": request.path, "query": dict(request.query)})
    route = _route(request)
    if route is None:
        return Answer(404, {"code": "NOT_FOUND", "message": "无效的请求路径 (no such endpoint)"})
    pattern, handler, match = route
    merchant = None
    try:
        merchant = authenticate(state, request)
        fault = state.fault_take(request.path) or state.fault_take(pattern.pattern)
        if fault is not None:
            return Answer(fault.status, {"code": fault.code, "message": fault.message}, merchant)
        delay = state.delays.get(request.path) or state.delays.get(pattern.pattern)
        if delay:
            time.sleep(delay)
        return handler(state, merchant, request, match)
    except Refusal as refusal:
        refusal.answer.merchant = merchant  # WeChat Pay signs its refusals too, once it knows the merchant
        return refusal.answer
