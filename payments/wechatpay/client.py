"""The calls of WeChat Pay v3 for one tenant's merchant: prepay, query, close, refund, certificates.

Every request is signed with the merchant key (payments.wechatpay.signing); every 2xx answer's signature is
verified with the key its Wechatpay-Serial names, within the time window, before it is believed. A 4xx answer
is WeChat's refusal (PayError with its code); a 5xx, a time-out or an answer that does not verify is
PayUnavailable (worth a retry later).
"""

from __future__ import annotations

import json
import logging
import time
from datetime import datetime
from typing import Any
from urllib.parse import quote

import requests

from payments.wechatpay import conf
from payments.wechatpay.crypto import rsa_sign
from payments.wechatpay.errors import AnswerNotVerified, NotificationRefused, PayError, PayUnavailable
from payments.wechatpay.keys import MerchantKeys
from payments.wechatpay.notifications import timestamp_check
from payments.wechatpay.signing import authorization_make, header_get, nonce_make, signature_verifies
from routers.backends.pool import release_pooled_connections

logger = logging.getLogger(__name__)

USER_AGENT = "Miniplex-WeChatPay/1"


class PayClient:
    """WeChat Pay v3 for one merchant (MerchantKeys); the base URL is read from the settings per call."""

    def __init__(self, keys: MerchantKeys, *, session: requests.Session | None = None) -> None:
        self.keys = keys
        self._session = session or requests.Session()

    def __repr__(self) -> str:
        return f"<PayClient app_id={self.keys.app_id} mchid={self.keys.mchid}>"

    # --- the merchant's calls -------------------------------------------------------------------------------

    def jsapi_prepay(
        self,
        *,
        description: str,
        out_trade_no: str,
        amount_total: int,
        openid: str,
        notify_url: str,
        time_expire: datetime | None = None,
        attach: str = "",
    ) -> str:
        """A JSAPI (mini-program) order at WeChat Pay; returns its prepay_id (valid two hours)."""
        body: dict[str, Any] = {
            "appid": self.keys.app_id,
            "mchid": self.keys.mchid,
            "description": description,
            "out_trade_no": out_trade_no,
            "notify_url": notify_url,
            "amount": {"total": int(amount_total), "currency": "CNY"},
            "payer": {"openid": openid},
        }
        if time_expire is not None:
            body["time_expire"] = time_expire.isoformat(timespec="seconds")
        if attach:
            body["attach"] = attach
        answer = self.call("POST", "/v3/pay/transactions/jsapi", body=body)
        if not answer.get("prepay_id"):
            raise PayUnavailable("/v3/pay/transactions/jsapi: the answer has no prepay_id")
        return str(answer["prepay_id"])

    def request_payment_params(self, prepay_id: str) -> dict[str, str]:
        """The five fields of wx.requestPayment, paySign over "appId\\ntimeStamp\\nnonceStr\\npackage\\n"."""
        timestamp, nonce, package = str(int(time.time())), nonce_make(), f"prepay_id={prepay_id}"
        pay_sign = rsa_sign(self.keys.private_key, f"{self.keys.app_id}\n{timestamp}\n{nonce}\n{package}\n")
        return {"timeStamp": timestamp, "nonceStr": nonce, "package": package, "signType": "RSA", "paySign": pay_sign}

    def query_by_out_trade_no(self, out_trade_no: str) -> dict[str, Any]:
        """WeChat's record of the order: trade_state, transaction_id, amount{total, payer_total, ...}, ..."""
        path = f"/v3/pay/transactions/out-trade-no/{quote(out_trade_no, safe='')}?mchid={quote(self.keys.mchid)}"
        return self.call("GET", path)

    def close(self, out_trade_no: str) -> None:
        """Close an unpaid order (204); ORDERPAID when it was paid meanwhile."""
        self.call(
            "POST",
            f"/v3/pay/transactions/out-trade-no/{quote(out_trade_no, safe='')}/close",
            body={"mchid": self.keys.mchid},
        )

    def refund(
        self, *, out_trade_no: str, out_refund_no: str, refund: int, total: int, reason: str = "", notify_url: str = ""
    ) -> dict[str, Any]:
        """Ask for a refund of `refund` fen of an order of `total` fen; the answer's status is usually PROCESSING."""
        body: dict[str, Any] = {
            "out_trade_no": out_trade_no,
            "out_refund_no": out_refund_no,
            "amount": {"refund": int(refund), "total": int(total), "currency": "CNY"},
        }
        if reason:
            body["reason"] = reason
        if notify_url:
            body["notify_url"] = notify_url
        return self.call("POST", "/v3/refund/domestic/refunds", body=body)

    def query_refund(self, out_refund_no: str) -> dict[str, Any]:
        return self.call("GET", f"/v3/refund/domestic/refunds/{quote(out_refund_no, safe='')}")

    def signature_probe(self) -> None:
        """A signed query of an order that cannot exist: WeChat Pay answers 404 ORDER_NOT_EXIST when it accepts our
        signature (mchid, serial and private key belong together) and 401 SIGN_ERROR when not; the answer's own
        signature must verify with the WeChat Pay key we hold. Raises PayError / PayUnavailable otherwise."""
        out_trade_no = "MINIPLEXPROBE" + nonce_make()[:16]
        try:
            self.call(
                "GET",
                f"/v3/pay/transactions/out-trade-no/{out_trade_no}?mchid={quote(self.keys.mchid)}",
                verify_refusals=True,
            )
        except PayError as error:
            if error.status == 404 and not isinstance(error, PayUnavailable):
                return
            raise

    def certificates(self) -> requests.Response:
        """/v3/certificates, refusals raised but the answer unverified: the caller decrypts the certificates and
        verifies the answer with the one its Wechatpay-Serial names (payments.control.certificates)."""
        response = self.send("GET", "/v3/certificates")
        self._answer("/v3/certificates", response, verify=False, verify_refusals=False)
        return response

    # --- one signed call ------------------------------------------------------------------------------------

    def call(
        self,
        method: str,
        path: str,
        *,
        body: dict[str, Any] | None = None,
        verify: bool = True,
        verify_refusals: bool = False,
    ) -> dict[str, Any]:
        """One signed request; `path` includes its query string. Returns the JSON answer ({} for a 204).

        verify_refusals: a 4xx answer's signature is checked too (a refusal only stops what we do, so by default
        it is believed unchecked; the merchant set-up's probe wants to know WeChat Pay's key verifies it)."""
        response = self.send(method, path, body=body)
        return self._answer(path.split("?", 1)[0], response, verify=verify, verify_refusals=verify_refusals)

    def send(self, method: str, path: str, *, body: dict[str, Any] | None = None) -> requests.Response:
        """The signed HTTP request itself; PayUnavailable when no answer comes."""
        data = json.dumps(body, ensure_ascii=False, separators=(",", ":")) if body is not None else ""
        keys = self.keys
        headers = {
            "Authorization": authorization_make(
                mchid=keys.mchid, serial=keys.serial, private_key=keys.private_key, method=method, path=path, body=data
            ),
            "Accept": "application/json",
            "User-Agent": USER_AGENT,
        }
        if body is not None:
            headers["Content-Type"] = "application/json"
        # WeChat Pay may take seconds: the request's pooled database connections serve others meanwhile.
        release_pooled_connections()
        timeout = conf.get_timeout()
        endpoint = path.split("?", 1)[0]
        try:
            response = self._session.request(
                method, conf.get_api_base() + path, data=data.encode() or None, headers=headers, timeout=timeout
            )
        except requests.Timeout:
            raise PayUnavailable(f"{endpoint}: no answer within {timeout}s") from None
        except requests.RequestException as error:
            raise PayUnavailable(f"{endpoint}: {type(error).__name__}") from None
        return response

    def _answer(
        self, endpoint: str, response: requests.Response, *, verify: bool, verify_refusals: bool
    ) -> dict[str, Any]:
        status = response.status_code
        payload = _json_object(response.content)
        if verify_refusals and 400 <= status < 500 and status != 401:
            self._answer_verify(endpoint, response)
        # 429 FREQUENCY_LIMITED: WeChat Pay asks us to slow down, a retry later is the answer, as for a 5xx.
        if status >= 500 or status == 429:
            logger.warning(
                "WeChat Pay %s for app_id=%s mchid=%s: %s (Request-ID %s)",
                endpoint,
                self.keys.app_id,
                self.keys.mchid,
                status,
                response.headers.get("Request-ID", "-"),
            )
            raise PayUnavailable(
                f"{endpoint}: HTTP {status} {payload.get('code', '')}".strip(),
                status=status,
                code=str(payload.get("code") or "UNAVAILABLE"),
            )
        if status >= 400:
            code, message = str(payload.get("code") or f"HTTP_{status}"), str(payload.get("message") or "")
            # A 404 is an answer (no such order or refund), the rest a refusal worth a look.
            logger.log(
                logging.INFO if status == 404 else logging.WARNING,
                "WeChat Pay %s for app_id=%s mchid=%s: %s %s (Request-ID %s)",
                endpoint,
                self.keys.app_id,
                self.keys.mchid,
                status,
                code,
                response.headers.get("Request-ID", "-"),
            )
            raise PayError(code, message, status, payload.get("detail"))
        if verify:
            self._answer_verify(endpoint, response)
        if status == 204 or not response.content:
            return {}
        if not payload:
            raise PayUnavailable(f"{endpoint}: the answer is not a JSON object (HTTP {status})", status=status)
        return payload

    def _answer_verify(self, endpoint: str, response: requests.Response) -> None:
        """An answer we act on must be WeChat Pay's: its signature, with a key of this merchant, in the window."""
        headers = response.headers
        serial = header_get(headers, "Wechatpay-Serial")
        key = self.keys.verify_key(serial)
        if key is None:
            raise AnswerNotVerified(f"{endpoint}: the answer is signed with an unknown serial {serial[:64]!r}")
        try:
            timestamp_check(header_get(headers, "Wechatpay-Timestamp"))
        except NotificationRefused as refused:
            raise AnswerNotVerified(f"{endpoint}: {refused.message}") from None
        if not signature_verifies(
            key,
            timestamp=header_get(headers, "Wechatpay-Timestamp"),
            nonce=header_get(headers, "Wechatpay-Nonce"),
            body=response.content,
            signature=header_get(headers, "Wechatpay-Signature"),
        ):
            raise AnswerNotVerified(f"{endpoint}: the answer's signature does not verify")


def _json_object(content: bytes) -> dict[str, Any]:
    if not content:
        return {}
    try:
        payload = json.loads(content)
    except ValueError:
        return {}
    return payload if isinstance(payload, dict) else {}
