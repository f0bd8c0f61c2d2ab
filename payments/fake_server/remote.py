"""A client of the fake WeChat Pay server's control API (in-process or a separate `./dev serve` fake)."""

from __future__ import annotations

from typing import Any

import requests

_TIMEOUT_SECONDS = 30  # a pay() with duplicates waits for every copy's answer


class FakePayControl:
    """Drives a fake WeChat Pay server through {base_url}/__control__/..."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")

    def register_merchant(
        self,
        mchid: str,
        appid: str,
        merchant_public_key_pem: str,
        serial: str,
        apiv3_key: str,
        mode: str = "public_key",
    ) -> dict[str, Any]:
        """Returns what the merchant configures: public_key_pem + public_key_id, or certificate_serial/_pem."""
        body = {
            "mchid": mchid,
            "appid": appid,
            "merchant_public_key_pem": merchant_public_key_pem,
            "serial": serial,
            "apiv3_key": apiv3_key,
            "mode": mode,
        }
        return self._post("merchants", body)

    def rotate(self, mchid: str) -> dict[str, Any]:
        """WeChat Pay signs with a new key from now on (a new platform certificate or public key id)."""
        return self._post("rotate", {"mchid": mchid})

    def pay(
        self,
        out_trade_no: str,
        *,
        duplicates: int = 0,
        delay: float = 0.0,
        send: bool = True,
        mchid: str | None = None,
        url: str | None = None,
    ) -> dict[str, Any]:
        """The order is paid; TRANSACTION.SUCCESS goes to its notify_url (or `url`), 1 + duplicates copies at once.

        delay=0: sent before this returns, each copy's answer in "sent"; delay>0: sent later in a thread;
        send=False: only {"headers", "body", "resource"} handed back, to post yourself.
        """
        body = {
            "out_trade_no": out_trade_no,
            "duplicates": duplicates,
            "delay": delay,
            "send": send,
            "mchid": mchid,
            "url": url,
        }
        return self._post("pay", body)

    def notification(
        self,
        out_trade_no: str,
        *,
        tamper: str | None = None,
        signtest: bool = False,
        timestamp_offset: int = 0,
        mchid: str | None = None,
        serial: str | None = None,
        amount: int | None = None,
        currency: str | None = None,
        resource_appid: str | None = None,
        resource_mchid: str | None = None,
        appid: str | None = None,
    ) -> dict[str, Any]:
        """A TRANSACTION.SUCCESS notification ({"headers", "body", "resource"}), not sent; the fake's state stays.

        tamper: "signature" | "timestamp" | "ciphertext" | "body"; amount / currency / resource_appid / resource_mchid:
        what the resource says instead of the order's; an order the fake does not know needs mchid (and appid).
        """
        body = {
            "out_trade_no": out_trade_no,
            "tamper": tamper,
            "signtest": signtest,
            "timestamp_offset": timestamp_offset,
            "mchid": mchid,
            "serial": serial,
            "amount": amount,
            "currency": currency,
            "resource_appid": resource_appid,
            "resource_mchid": resource_mchid,
            "appid": appid,
        }
        return self._post("notification", body)

    def refund_result(
        self, out_refund_no: str, status: str = "SUCCESS", send: bool = True, *, url: str | None = None
    ) -> dict[str, Any]:
        """The refund ends; REFUND.<status> goes to the refund's notify_url (send=False: handed back)."""
        return self._post("refund_result", {"out_refund_no": out_refund_no, "status": status, "send": send, "url": url})

    def orders(self, mchid: str | None = None) -> list[dict[str, Any]]:
        return list(self._get("orders", {"mchid": mchid} if mchid else {})["orders"])

    def refunds(self, mchid: str | None = None) -> list[dict[str, Any]]:
        return list(self._get("orders", {"mchid": mchid} if mchid else {})["refunds"])

    def requests_seen(self) -> list[dict[str, Any]]:
        """Every API request the fake answered, oldest first ({"method", "path", "query"})."""
        return list(self._get("requests", {})["requests"])

    def deliveries(self) -> list[dict[str, Any]]:
        """Every notification sent and what it was answered ({"url", "status", "body"})."""
        return list(self._get("requests", {})["deliveries"])

    def fail_next(
        self, endpoint: str, *, status: int = 500, code: str = "SYSTEM_ERROR", message: str = "", times: int = 1
    ) -> None:
        """The next `times` calls to endpoint (a path, or one of the route patterns) answer this error."""
        self._post("faults", {"endpoint": endpoint, "status": status, "code": code, "message": message, "times": times})

    def set_delay(self, endpoint: str, seconds: float) -> None:
        self._post("delays", {"endpoint": endpoint, "seconds": seconds})

    def reset(self) -> None:
        self._post("reset", {})

    def _post(self, action: str, body: dict[str, Any]) -> dict[str, Any]:
        response = requests.post(f"{self.base_url}/__control__/{action}", json=body, timeout=_TIMEOUT_SECONDS)
        return _json(response)

    def _get(self, action: str, params: dict[str, str]) -> dict[str, Any]:
        response = requests.get(f"{self.base_url}/__control__/{action}", params=params, timeout=_TIMEOUT_SECONDS)
        return _json(response)


def _json(response: requests.Response) -> dict[str, Any]:
    if response.status_code >= 400:
        raise RuntimeError(f"fake WeChat Pay control: {response.status_code} {response.text[:300]}")
    return dict(response.json())
