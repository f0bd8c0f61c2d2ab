"""What the fake WeChat Pay server knows: merchants, their orders and refunds, the requests it saw, faults."""

from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from cryptography.hazmat.primitives.asymmetric import rsa

from payments.fake_server import keys

CHINA = timezone(timedelta(hours=8))


def wechat_time(at: float | None = None) -> str:
    """RFC 3339 in China's time zone, as WeChat Pay writes its times."""
    return datetime.fromtimestamp(time.time() if at is None else at, CHINA).isoformat(timespec="seconds")


@dataclass
class Merchant:
    mchid: str
    appids: set[str]
    serial: str
    public_key: rsa.RSAPublicKey  # the merchant's: verifies its requests
    apiv3_key: bytes
    mode: str  # "public_key" or "certificate"
    generation: int = 0  # WeChat Pay's key / certificate in use (a rotation raises it)

    @property
    def signing_key(self) -> rsa.RSAPrivateKey:
        return keys.wechatpay_key(self.mchid, self.generation)

    @property
    def signing_serial(self) -> str:
        """What Wechatpay-Serial says: the public key's id, or the platform certificate's serial."""
        if self.mode == "public_key":
            return keys.public_key_id(self.mchid, self.generation)
        return f"{keys.platform_certificate(self.mchid, self.generation).serial_number:X}"


@dataclass
class Order:
    mchid: str
    appid: str
    out_trade_no: str
    description: str
    total: int
    openid: str
    notify_url: str
    attach: str = ""
    time_expire: str = ""
    prepay_id: str = field(default_factory=lambda: f"wx{secrets.token_hex(16)}")
    trade_state: str = "NOTPAY"
    transaction_id: str = ""
    success_time: str = ""
    refunded: int = 0

    def resource(self) -> dict[str, Any]:
        """The transaction as the query answers it and TRANSACTION.SUCCESS carries it."""
        answer: dict[str, Any] = {
            "appid": self.appid,
            "mchid": self.mchid,
            "out_trade_no": self.out_trade_no,
            "trade_type": "JSAPI",
            "trade_state": self.trade_state,
            "trade_state_desc": _STATE_TEXT.get(self.trade_state, ""),
            "attach": self.attach,
            "payer": {"openid": self.openid},
            "amount": {"total": self.total, "currency": "CNY"},
        }
        if self.trade_state in ("SUCCESS", "REFUND"):
            answer.update(transaction_id=self.transaction_id, bank_type="OTHERS", success_time=self.success_time)
            answer["amount"].update(payer_total=self.total, payer_currency="CNY")
        return answer


_STATE_TEXT = {"NOTPAY": "未支付", "SUCCESS": "支付成功", "CLOSED": "已关闭", "REFUND": "转入退款"}


@dataclass
class Refund:
    mchid: str
    out_trade_no: str
    transaction_id: str
    out_refund_no: str
    refund: int
    total: int
    reason: str
    notify_url: str
    refund_id: str = field(default_factory=lambda: f"50{secrets.randbelow(10**28):028d}")
    status: str = "PROCESSING"
    create_time: str = field(default_factory=wechat_time)
    success_time: str = ""

    def resource(self) -> dict[str, Any]:
        answer: dict[str, Any] = {
            "refund_id": self.refund_id,
            "out_refund_no": self.out_refund_no,
            "transaction_id": self.transaction_id,
            "out_trade_no": self.out_trade_no,
            "channel": "ORIGINAL",
            "user_received_account": "支付用户零钱",
            "create_time": self.create_time,
            "status": self.status,
            "amount": {
                "total": self.total,
                "refund": self.refund,
                "payer_total": self.total,
                "payer_refund": self.refund,
                "currency": "CNY",
            },
        }
        if self.success_time:
            answer["success_time"] = self.success_time
        return answer


@dataclass
class Fault:
    status: int
    code: str
    message: str
    times: int


class FakePayState:
    """Everything behind one lock: handler threads and the notification senders share it."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.merchants: dict[str, Merchant] = {}
            self.orders: dict[tuple[str, str], Order] = {}
            self.refunds: dict[tuple[str, str], Refund] = {}
            self.requests: list[dict[str, Any]] = []
            self.deliveries: list[dict[str, Any]] = []
            self.faults: dict[str, Fault] = {}
            self.delays: dict[str, float] = {}

    def order_find(self, out_trade_no: str, mchid: str | None = None) -> Order | None:
        with self.lock:
            if mchid:
                return self.orders.get((mchid, out_trade_no))
            return next((order for order in self.orders.values() if order.out_trade_no == out_trade_no), None)

    def refund_find(self, out_refund_no: str, mchid: str | None = None) -> Refund | None:
        with self.lock:
            if mchid:
                return self.refunds.get((mchid, out_refund_no))
            return next((refund for refund in self.refunds.values() if refund.out_refund_no == out_refund_no), None)

    def fault_take(self, endpoint: str) -> Fault | None:
        with self.lock:
            fault = self.faults.get(endpoint)
            if fault is None:
                return None
            fault.times -= 1
            if fault.times <= 0:
                del self.faults[endpoint]
            return fault
