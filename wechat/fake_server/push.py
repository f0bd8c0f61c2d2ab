"""The fake WeChat server: pushes to a mini-program's server, signed and encrypted as WeChat does.

A target is what a tenant entered on WeChat's push settings page (URL, Token, EncodingAESKey, mode, format).
`push_deliver` signs (and in compatible and safe modes encrypts) a message for the target and POSTs it in a
thread, as WeChat does, recording each delivery's answer; the control calls register targets, send pushes
(with duplicates, as WeChat's retries, at once or after a delay) and run the server-URL check. The scheme is
the one of docs/pushes.md, written from WeChat's documentation.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import requests

from wechat.crypto import MessageCrypto, aes_key_from_encoding_aes_key, push_signature, xml_build
from wechat.fake_server.endpoints import FakeRequest
from wechat.fake_server.state import FakeState

Handler = Callable[[FakeState, FakeRequest], dict[str, Any]]

PART = "push"
# WeChat gives up on an answer after 5 seconds (and pushes again).
DELIVERY_TIMEOUT_SECONDS = 5.0
# A control call that waits for its deliveries waits this long at most.
WAIT_SECONDS = 30.0
MAX_DELIVERIES_KEPT = 10_000
# WeChat pushes again when a push was not answered "success"; the fake waits this long between attempts.
RETRY_INTERVAL_SECONDS = 0.05
MODES = ("plain", "compatible", "safe")
FORMATS = ("json", "xml")


@dataclass(frozen=True)
class PushTarget:
    app_id: str
    url: str
    token: str
    aes_key: str
    mode: str
    format: str


@dataclass
class PushPart:
    """The push part's state; deliveries have a lock of their own, as threads record them outside state.lock."""

    targets: dict[str, PushTarget] = field(default_factory=dict)
    deliveries: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


@dataclass(frozen=True)
class BuiltPush:
    url: str
    body: bytes
    content_type: str


def push_part(state: FakeState) -> PushPart:
    with state.lock:
        part = state.parts.get(PART)
        if not isinstance(part, PushPart):
            part = state.parts[PART] = PushPart()
        return part


def _serialize(fields: dict[str, Any], data_format: str) -> bytes:
    return xml_build(fields) if data_format == "xml" else json.dumps(fields, ensure_ascii=False).encode()


def push_build(
    target: PushTarget,
    message: dict[str, Any],
    *,
    timestamp: int | None = None,
    nonce: str | None = None,
    sign_token: str | None = None,
    encrypt_app_id: str | None = None,
) -> BuiltPush:
    """The request WeChat would send (sign_token / encrypt_app_id: sign or encrypt as someone else, for tests)."""
    stamp, once = str(int(time.time()) if timestamp is None else timestamp), nonce or secrets.token_hex(6)
    token = target.token if sign_token is None else sign_token
    query = {"signature": push_signature(token, stamp, once), "timestamp": stamp, "nonce": once}
    if "FromUserName" in message:
        query["openid"] = str(message["FromUserName"])
    plain = _serialize(message, target.format)
    if target.mode == "plain":
        body = plain
    else:
        crypto = MessageCrypto(
            token=target.token, encoding_aes_key=target.aes_key, app_id=encrypt_app_id or target.app_id
        )
        encrypted = crypto.encrypt(plain)
        query["encrypt_type"] = "aes"
        query["msg_signature"] = push_signature(token, stamp, once, encrypted)
        # Compatible mode carries the plain fields beside the ciphertext; safe mode only the ciphertext.
        outer = {**message} if target.mode == "compatible" else {"ToUserName": message.get("ToUserName", "")}
        body = _serialize({**outer, "Encrypt": encrypted}, target.format)
    content_type = "text/xml" if target.format == "xml" else "application/json"
    return BuiltPush(url=f"{target.url}?{urlencode(query)}", body=body, content_type=content_type)


def _with_defaults(target: PushTarget, message: dict[str, Any]) -> dict[str, Any]:
    # What every push carries: the mini-program's original id (gh_...) and the time it was made.
    return {"ToUserName": f"gh_{target.app_id[-12:]}", "CreateTime": int(time.time()), **message}


def _deliver_once(part: PushPart, target: PushTarget, message: dict[str, Any], delay: float, retries: int) -> None:
    """One push, and WeChat's retries of it while the answer is not "success" (or an empty 200)."""
    if delay:
        time.sleep(delay)
    for attempt in range(1 + retries):
        outcome = _post(target, message)
        outcome["attempt"] = attempt + 1
        with part.lock:
            part.deliveries.append(outcome)
            del part.deliveries[:-MAX_DELIVERIES_KEPT]
        if outcome["status"] == 200 and outcome["body"] in ("success", ""):
            return
        time.sleep(RETRY_INTERVAL_SECONDS)


def _post(target: PushTarget, message: dict[str, Any]) -> dict[str, Any]:
    built = push_build(target, message)  # a retry is signed anew: its own timestamp and nonce
    started = time.monotonic()
    try:
        response = requests.post(
            built.url,
            data=built.body,
            headers={"Content-Type": built.content_type},
            timeout=DELIVERY_TIMEOUT_SECONDS,
        )
        outcome: dict[str, Any] = {"status": response.status_code, "body": response.text[:2000]}
    except requests.RequestException as error:
        outcome = {"status": None, "body": "", "error": type(error).__name__}
    outcome.update(appid=target.app_id, seconds=round(time.monotonic() - started, 4))
    return outcome


def push_deliver(
    state: FakeState,
    app_id: str,
    message: dict[str, Any],
    *,
    copies: int = 1,
    delay: float = 0.0,
    retries: int = 0,
) -> list[threading.Thread]:
    """Signs, encrypts and POSTs `message` to the app's target in threads.

    `copies` go at once (duplicates, as when WeChat's retry crosses a slow answer); each is retried up to
    `retries` times while its answer is not "success". Returns the threads (a caller may join them); KeyError
    when the app has no target.
    """
    part = push_part(state)
    target = part.targets[app_id]
    full = _with_defaults(target, message)
    threads = [
        threading.Thread(target=_deliver_once, args=(part, target, full, delay, retries), daemon=True, name="fake-push")
        for _ in range(copies)
    ]
    for thread in threads:
        thread.start()
    return threads


def set_target(state: FakeState, request: FakeRequest) -> dict[str, Any]:
    """{appid, url, token, aes_key?, mode, format}: where and how the app's pushes go."""
    body = request.body or {}
    mode, data_format = str(body.get("mode", "safe")), str(body.get("format", "json"))
    if mode not in MODES or data_format not in FORMATS:
        raise ValueError(f"mode is one of {MODES}, format one of {FORMATS}")
    aes_key = str(body.get("aes_key") or "")
    if mode != "plain":
        aes_key_from_encoding_aes_key(aes_key)  # ValueError (a 400) for a key WeChat would not have made
    target = PushTarget(
        app_id=str(body["appid"]),
        url=str(body["url"]),
        token=str(body["token"]),
        aes_key=aes_key,
        mode=mode,
        format=data_format,
    )
    push_part(state).targets[target.app_id] = target
    return {"ok": True}


def send_pushes(state: FakeState, request: FakeRequest) -> dict[str, Any]:
    """{appid, message, duplicates?, delay?, retries?, wait?}: push message to the app's target.

    1 + duplicates copies at once, each retried up to `retries` times while not answered "success";
    wait: answer once every copy is done, with the outcome of each attempt (else at once, as WeChat).
    """
    body = request.body or {}
    message = body["message"]
    if not isinstance(message, dict):
        raise TypeError("message is a JSON object")
    copies, retries = 1 + int(body.get("duplicates", 0)), int(body.get("retries", 0))
    part = push_part(state)
    with part.lock:
        already = len(part.deliveries)
    delay = float(body.get("delay", 0))
    threads = push_deliver(state, str(body["appid"]), message, copies=copies, delay=delay, retries=retries)
    if not body.get("wait"):
        return {"ok": True, "copies": copies}
    # The deliveries record their answers under the part's own lock; state.lock (held here) is not needed there.
    deadline = time.monotonic() + WAIT_SECONDS
    for thread in threads:
        thread.join(max(deadline - time.monotonic(), 0))
    with part.lock:
        outcomes = [item for item in part.deliveries[already:] if item["appid"] == str(body["appid"])]
    return {"ok": True, "copies": copies, "outcomes": outcomes}


def url_check(state: FakeState, request: FakeRequest) -> dict[str, Any]:
    """{appid}: the server-URL check WeChat runs when push settings are saved (GET with echostr)."""
    target = push_part(state).targets[str((request.body or {})["appid"])]
    stamp, nonce, echostr = str(int(time.time())), secrets.token_hex(6), secrets.token_hex(8)
    query = {"signature": push_signature(target.token, stamp, nonce), "timestamp": stamp, "nonce": nonce}
    response = requests.get(target.url, params={**query, "echostr": echostr}, timeout=DELIVERY_TIMEOUT_SECONDS)
    return {"ok": response.status_code == 200 and response.text == echostr, "status": response.status_code}


def deliveries(state: FakeState, request: FakeRequest) -> dict[str, Any]:
    """?appid=: each delivery's answer (status, body, seconds), oldest first."""
    part = push_part(state)
    app_id = request.query.get("appid")
    with part.lock:
        found = [dict(item) for item in part.deliveries if app_id in (None, item["appid"])]
    return {"deliveries": found}


# WeChat API endpoints of this part: (method, path) -> handler; merged into endpoints.ROUTES by server.py.
ROUTES: dict[tuple[str, str], Handler] = {}
# Control calls of this part: (method, control.CONTROL_PREFIX + name) -> handler; merged into control.CONTROL_ROUTES.
CONTROL_ROUTES: dict[tuple[str, str], Handler] = {
    ("POST", "/__control__/push_targets"): set_target,
    ("POST", "/__control__/pushes"): send_pushes,
    ("POST", "/__control__/push_url_check"): url_check,
    ("GET", "/__control__/push_deliveries"): deliveries,
}
