"""A client of the fake server's control API, usable against an in-process or a separate dev server."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import requests

_TIMEOUT_SECONDS = 5


class FakeWeChatControl:
    """Drives a fake WeChat server through POST/GET {base_url}/__control__/..."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")

    def register_app(
        self, app_id: str, secret: str, *, unionid: bool = False, pages: Iterable[str] | None = None
    ) -> None:
        """Add or replace an app (unionid: bound to an Open Platform account; pages: the only valid pages)."""
        self._post("apps", {"appid": app_id, "secret": secret, "unionid": unionid, "pages": _list(pages)})

    def add_template(self, app_id: str, template_id: str) -> None:
        """Let the app send subscribe messages with this template."""
        self._post("templates", {"appid": app_id, "template_id": template_id})

    def grant_subscription(self, app_id: str, *, openid: str, template_id: str, count: int = 1) -> None:
        """The user accepted `count` one-time subscriptions to the template."""
        self._post("grants", {"appid": app_id, "openid": openid, "template_id": template_id, "count": count})

    def fail_next(
        self,
        endpoint: str,
        *,
        errcode: int | None = None,
        times: int = 1,
        app_id: str | None = None,
        status: int | None = None,
        raw: str | None = None,
    ) -> None:
        """The next `times` calls to endpoint (a path) answer errcode, or a bare HTTP status, or raw non-JSON."""
        body = {"endpoint": endpoint, "errcode": errcode, "times": times, "appid": app_id, "status": status, "raw": raw}
        self._post("faults", body)

    def set_delay(self, endpoint: str, seconds: float, *, app_id: str | None = None) -> None:
        """Answer endpoint `seconds` late (0 removes the delay)."""
        self._post("delays", {"endpoint": endpoint, "seconds": seconds, "appid": app_id})

    def rotate_token(self, app_id: str) -> str:
        """Replace the app's stable token behind our back; returns the new one."""
        return str(self._post("rotate", {"appid": app_id})["access_token"])

    def expire_token(self, app_id: str) -> None:
        """Make the app's current stable token expired (42001)."""
        self._post("expire", {"appid": app_id})

    def advance_clock(self, seconds: float) -> None:
        """Move the clock of WeChat's quotas forward (force refreshes are 30 s apart and 20 a day)."""
        self._post("clock", {"seconds": seconds})

    def set_words(self, *, risky: Iterable[str] | None = None, review: Iterable[str] | None = None) -> None:
        """Words that make msg_sec_check answer risky / review."""
        body = {key: list(words) for key, words in (("risky", risky), ("review", review)) if words is not None}
        self._post("words", body)

    def counters(self, app_id: str) -> dict[str, int]:
        """Calls per endpoint path for one AppID (force refreshes under "/cgi-bin/stable_token#force_refresh")."""
        answer = self._get("counters", {"appid": app_id})
        return {key: int(value) for key, value in answer["counters"][app_id].items()}

    def messages(self, app_id: str) -> list[dict[str, Any]]:
        """Subscribe messages the app sent, oldest first."""
        return list(self._get("messages", {"appid": app_id})["messages"])

    def reset(self) -> None:
        """Forget everything the server knows."""
        self._post("reset", {})

    # --- Pushes (wechat/fake_server/push.py) -----------------------------------------------------------------

    def set_push_target(
        self, app_id: str, *, url: str, token: str, aes_key: str = "", mode: str = "safe", data_format: str = "json"
    ) -> None:
        """Where and how WeChat pushes for the app: what its push settings page says."""
        body = {"appid": app_id, "url": url, "token": token, "aes_key": aes_key, "mode": mode, "format": data_format}
        self._post("push_targets", body)

    def push(
        self,
        app_id: str,
        message: dict[str, Any],
        *,
        duplicates: int = 0,
        delay: float = 0.0,
        retries: int = 0,
        wait: bool = False,
    ) -> list[dict[str, Any]]:
        """Push `message` (plus `duplicates` copies at once; each retried up to `retries` times while not answered
        "success", as WeChat does); wait: return the answer of each attempt."""
        body = {"appid": app_id, "message": message, "duplicates": duplicates, "delay": delay, "retries": retries}
        return list(self._post("pushes", {**body, "wait": wait}).get("outcomes", []))

    def push_url_check(self, app_id: str) -> bool:
        """Run WeChat's server-URL check against the app's push URL; whether it echoed back."""
        return bool(self._post("push_url_check", {"appid": app_id})["ok"])

    def push_deliveries(self, app_id: str) -> list[dict[str, Any]]:
        """Each push delivered to the app's URL so far: status, body, seconds."""
        return list(self._get("push_deliveries", {"appid": app_id})["deliveries"])

    def _post(self, action: str, body: dict[str, Any]) -> dict[str, Any]:
        response = requests.post(f"{self.base_url}/__control__/{action}", json=body, timeout=_TIMEOUT_SECONDS)
        return _json(response)

    def _get(self, action: str, params: dict[str, str]) -> dict[str, Any]:
        response = requests.get(f"{self.base_url}/__control__/{action}", params=params, timeout=_TIMEOUT_SECONDS)
        return _json(response)


def _json(response: requests.Response) -> dict[str, Any]:
    response.raise_for_status()
    # The fake answers text/plain like WeChat; json.loads on bytes reads UTF-8 (response.json() would use Latin-1).
    return dict(json.loads(response.content))


def _list(values: Iterable[str] | None) -> list[str] | None:
    return list(values) if values is not None else None
