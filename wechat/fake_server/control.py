"""The fake server's control API (POST/GET /__control__/...), used by tests and by a dev server.

Every call takes and returns JSON; a missing or wrong field answers 400 {"error": ...}.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from wechat.fake_server.endpoints import Answer, FakeRequest
from wechat.fake_server.state import Delay, FakeApp, FakeError, FakeState, Fault

CONTROL_PREFIX = "/__control__/"


def register_app(state: FakeState, request: FakeRequest) -> dict[str, Any]:
    """{appid, secret, unionid?, pages?}: add or replace an app."""
    body = request.body or {}
    state.register_app(
        str(body["appid"]), str(body["secret"]), unionid=bool(body.get("unionid")), pages=body.get("pages")
    )
    return {"ok": True}


def add_template(state: FakeState, request: FakeRequest) -> dict[str, Any]:
    """{appid, template_id}: a subscribe message template the app may use."""
    body = request.body or {}
    _app(state, body).templates.add(str(body["template_id"]))
    return {"ok": True}


def grant_subscription(state: FakeState, request: FakeRequest) -> dict[str, Any]:
    """{appid, openid, template_id, count?}: the user accepted `count` one-time subscriptions."""
    body = request.body or {}
    key = (_app(state, body).app_id, str(body["openid"]), str(body["template_id"]))
    state.grants[key] += int(body.get("count", 1))
    return {"ok": True, "remaining": state.grants[key]}


def add_fault(state: FakeState, request: FakeRequest) -> dict[str, Any]:
    """{endpoint, times?, appid?, errcode? | status? | raw?, errmsg?}: the next calls answer this instead."""
    body = request.body or {}
    fault = Fault(
        endpoint=str(body["endpoint"]),
        times=int(body.get("times", 1)),
        app_id=body.get("appid"),
        errcode=None if body.get("errcode") is None else int(body["errcode"]),
        errmsg=str(body.get("errmsg", "injected by the fake server")),
        status=None if body.get("status") is None else int(body["status"]),
        raw=body.get("raw"),
    )
    state.faults.append(fault)
    return {"ok": True}


def set_delay(state: FakeState, request: FakeRequest) -> dict[str, Any]:
    """{endpoint, seconds, appid?}: answer that endpoint late; seconds 0 removes the delay."""
    body = request.body or {}
    endpoint, app_id = str(body["endpoint"]), body.get("appid")
    state.delays = [d for d in state.delays if (d.endpoint, d.app_id) != (endpoint, app_id)]
    if float(body["seconds"]) > 0:
        state.delays.append(Delay(endpoint=endpoint, seconds=float(body["seconds"]), app_id=app_id))
    return {"ok": True}


def rotate_token(state: FakeState, request: FakeRequest) -> dict[str, Any]:
    """{appid}: force-refresh the stable token behind the client's back; the old one then gives 40001."""
    app = _app(state, request.body or {})
    if app.stable_token:
        state.tokens.pop(app.stable_token, None)
    app.stable_token = state.issue_token(app)
    return {"access_token": app.stable_token}


def expire_token(state: FakeState, request: FakeRequest) -> dict[str, Any]:
    """{appid}: the current stable token expires now (42001 from then on; stable_token issues a new one)."""
    app = _app(state, request.body or {})
    issued = state.tokens.get(app.stable_token or "")
    if issued is not None:
        issued.expires_at = 0.0
    return {"ok": True}


def advance_clock(state: FakeState, request: FakeRequest) -> dict[str, Any]:
    """{seconds}: move the clock of WeChat's quotas forward (force refreshes: 30 s apart, 20 a day)."""
    state.clock_offset += float((request.body or {})["seconds"])
    return {"ok": True}


def set_words(state: FakeState, request: FakeRequest) -> dict[str, Any]:
    """{risky?: [...], review?: [...]}: words that make msg_sec_check answer risky or review."""
    body = request.body or {}
    if "risky" in body:
        state.risky_words = [str(word) for word in body["risky"]]
    if "review" in body:
        state.review_words = [str(word) for word in body["review"]]
    return {"ok": True}


def read_counters(state: FakeState, request: FakeRequest) -> dict[str, Any]:
    """?appid=: calls per endpoint per AppID (all AppIDs without the parameter)."""
    app_id = request.query.get("appid")
    if app_id is not None:
        return {"counters": {app_id: dict(state.counters.get(app_id, {}))}}
    return {"counters": {key: dict(counts) for key, counts in state.counters.items()}}


def read_messages(state: FakeState, request: FakeRequest) -> dict[str, Any]:
    """?appid=: subscribe messages sent, oldest first."""
    app_id = request.query.get("appid")
    return {"messages": [m for m in state.messages if app_id is None or m["appid"] == app_id]}


def reset(state: FakeState, request: FakeRequest) -> dict[str, Any]:
    """Forget every app, token, code, fault, delay and counter."""
    state.reset()
    return {"ok": True}


def _app(state: FakeState, body: dict[str, Any]) -> FakeApp:
    """The app named by body["appid"]."""
    app = state.apps.get(str(body["appid"]))
    if app is None:
        raise FakeError(40013, "invalid appid")
    return app


CONTROL_ROUTES: dict[tuple[str, str], Callable[[FakeState, FakeRequest], dict[str, Any]]] = {
    ("POST", CONTROL_PREFIX + "apps"): register_app,
    ("POST", CONTROL_PREFIX + "templates"): add_template,
    ("POST", CONTROL_PREFIX + "grants"): grant_subscription,
    ("POST", CONTROL_PREFIX + "faults"): add_fault,
    ("POST", CONTROL_PREFIX + "delays"): set_delay,
    ("POST", CONTROL_PREFIX + "rotate"): rotate_token,
    ("POST", CONTROL_PREFIX + "expire"): expire_token,
    ("POST", CONTROL_PREFIX + "clock"): advance_clock,
    ("POST", CONTROL_PREFIX + "words"): set_words,
    ("GET", CONTROL_PREFIX + "counters"): read_counters,
    ("GET", CONTROL_PREFIX + "messages"): read_messages,
    ("POST", CONTROL_PREFIX + "reset"): reset,
}


def dispatch(state: FakeState, request: FakeRequest) -> Answer:
    """Run one control call under the state lock."""
    handler = CONTROL_ROUTES.get((request.method, request.path))
    if handler is None:
        return 404, {"error": f"no control call {request.method} {request.path}"}
    with state.lock:
        try:
            return 200, handler(state, request)
        except (KeyError, TypeError, ValueError, FakeError) as exc:
            return 400, {"error": f"{type(exc).__name__}: {exc}"}
