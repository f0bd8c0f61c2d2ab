"""The WeChat endpoints the fake server speaks, with WeChat's parameters, bodies and error codes (docs/wechat.md)."""

from __future__ import annotations

import base64
import secrets
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from wechat.fake_server.state import (
    FORCE_REFRESH_COUNTER,
    FORCE_REFRESH_REFUSED_COUNTER,
    RENEWAL_SECONDS,
    FakeApp,
    FakeError,
    FakeState,
)
from wechat.fake_server.testdata import (
    LOGIN_CODE_PREFIX,
    PHONE_CODE_PREFIX,
    fake_openid,
    fake_phone_number,
    fake_unionid,
)

Answer = tuple[int, dict[str, Any] | str]
OK = {"errcode": 0, "errmsg": "ok"}
MINIPROGRAM_STATES = {"developer", "trial", "formal"}
MAX_CONTENT_CHARS = 2500


@dataclass(frozen=True)
class FakeRequest:
    """One HTTP request: query with first values only, body as a JSON object or None."""

    method: str
    path: str
    query: dict[str, str]
    body: dict[str, Any] | None


def _body(request: FakeRequest) -> dict[str, Any]:
    """The JSON body; WeChat answers 47001 "data format error" to anything else."""
    if request.body is None:
        raise FakeError(47001, "data format error")
    return request.body


def _authorized_app(state: FakeState, request: FakeRequest) -> FakeApp:
    """The app of the query's access_token; a token in the body is 47001, as WeChat does."""
    if request.body is not None and "access_token" in request.body:
        raise FakeError(47001, "data format error: access_token must be in the query string")
    return state.app_for_token(request.query.get("access_token"))


def jscode2session(state: FakeState, request: FakeRequest) -> dict[str, Any]:
    """code2Session: "code-<x>" works once per AppID and gives a new session_key each time."""
    query = request.query
    app = state.app_with_secret(query.get("appid"), query.get("secret"))
    if query.get("grant_type") != "authorization_code":
        raise FakeError(40002, "invalid grant_type")
    return session_issue(state, app, query.get("js_code", ""))


def session_issue(state: FakeState, app: FakeApp, code: str) -> dict[str, Any]:
    """The session of a login code (also the open platform's component jscode2session)."""
    if not code.startswith(LOGIN_CODE_PREFIX) or code == LOGIN_CODE_PREFIX:
        raise FakeError(40029, "invalid code")
    state.use_code_once(app.app_id, "login", code)
    openid = fake_openid(app.app_id, code)
    session_key = base64.b64encode(secrets.token_bytes(16)).decode()
    state.session_keys[(app.app_id, openid)] = session_key
    state.openid_apps[openid] = app.app_id
    answer = {"openid": openid, "session_key": session_key}
    if app.unionid:
        answer["unionid"] = fake_unionid(code)
    return answer


def stable_token(state: FakeState, request: FakeRequest) -> dict[str, Any]:
    """stable_token: the same token until 5 minutes before expiry; force_refresh revokes it and issues a new one.

    A force refresh is refused as WeChat refuses it: under 30 s after the previous one (45011), past 20 a day (45009).
    """
    body = _body(request)
    app = state.app_with_secret(body.get("appid"), body.get("secret"))
    if body.get("grant_type") != "client_credential":
        raise FakeError(40002, "invalid grant_type")
    force = body.get("force_refresh") is True
    if force:
        state.counters[app.app_id][FORCE_REFRESH_COUNTER] += 1
        try:
            state.claim_force_refresh(app.app_id)
        except FakeError:
            state.counters[app.app_id][FORCE_REFRESH_REFUSED_COUNTER] += 1
            raise
    if force or state.remaining(app.stable_token) <= RENEWAL_SECONDS:
        if force and app.stable_token:
            state.tokens.pop(app.stable_token, None)
        app.stable_token = state.issue_token(app)
    return {"access_token": app.stable_token, "expires_in": int(state.remaining(app.stable_token))}


def classic_token(state: FakeState, request: FakeRequest) -> dict[str, Any]:
    """/cgi-bin/token: a new token on every call; the previous one lives 5 more minutes at most."""
    query = request.query
    app = state.app_with_secret(query.get("appid"), query.get("secret"))
    if query.get("grant_type") != "client_credential":
        raise FakeError(40002, "invalid grant_type")
    previous = state.tokens.get(app.classic_token or "")
    if previous is not None:
        previous.expires_at = min(previous.expires_at, time.time() + RENEWAL_SECONDS)
    app.classic_token = state.issue_token(app)
    return {"access_token": app.classic_token, "expires_in": state.token_lifetime}


def get_phone_number(state: FakeState, request: FakeRequest) -> dict[str, Any]:
    """getuserphonenumber: "phone-<x>" works once per AppID."""
    app = _authorized_app(state, request)
    code = _body(request).get("code")
    if not isinstance(code, str) or not code.startswith(PHONE_CODE_PREFIX):
        raise FakeError(40029, "invalid code")
    state.use_code_once(app.app_id, "phone", code)
    number = fake_phone_number(code)
    watermark = {"timestamp": int(time.time()), "appid": app.app_id}
    phone_info = {"phoneNumber": number, "purePhoneNumber": number, "countryCode": "86", "watermark": watermark}
    return {**OK, "phone_info": phone_info}


def _check_template_data(data: Any) -> None:
    """data must be {key: {"value": text}} (47003 otherwise)."""
    valid = (
        isinstance(data, dict)
        and data
        and all(isinstance(item, dict) and isinstance(item.get("value"), str) for item in data.values())
    )
    if not valid:
        raise FakeError(47003, "argument invalid! data")


def subscribe_send(state: FakeState, request: FakeRequest) -> dict[str, Any]:
    """subscribe/send: known openid, registered template, valid data and page, one granted subscription used."""
    app = _authorized_app(state, request)
    body = _body(request)
    touser, template_id, page = body.get("touser"), body.get("template_id"), body.get("page")
    if not isinstance(touser, str) or state.openid_apps.get(touser) != app.app_id:
        raise FakeError(40003, "invalid openid")
    if not isinstance(template_id, str) or template_id not in app.templates:
        raise FakeError(40037, "invalid template_id")
    _check_template_data(body.get("data"))
    if body.get("miniprogram_state", "formal") not in MINIPROGRAM_STATES:
        raise FakeError(47003, "argument invalid! miniprogram_state")
    if page is not None and app.pages is not None and str(page).split("?")[0] not in app.pages:
        raise FakeError(41030, "invalid page")
    grant = (app.app_id, touser, template_id)
    if state.grants[grant] <= 0:
        raise FakeError(43101, "user refuse to accept the msg")
    state.grants[grant] -= 1
    state.messages.append({"appid": app.app_id, **body})
    return {**OK, "msgid": len(state.messages)}


def _suggestion(state: FakeState, content: str) -> tuple[str, int, str | None]:
    """(suggest, label, keyword) for content: configured risky words first, then review words."""
    for suggest, words, label in (("risky", state.risky_words, 20001), ("review", state.review_words, 21000)):
        for word in words:
            if word in content:
                return suggest, label, word
    return "pass", 100, None


def msg_sec_check(state: FakeState, request: FakeRequest) -> dict[str, Any]:
    """msgSecCheck v2: openid of this AppID, scene 1-4, content up to 2500 characters."""
    app = _authorized_app(state, request)
    body = _body(request)
    openid = body.get("openid")
    owner = state.openid_apps.get(openid) if isinstance(openid, str) else None
    if owner is None:
        raise FakeError(40003, "invalid openid")
    if owner != app.app_id:
        raise FakeError(43104, "appid and openid not match")
    if body.get("scene") not in (1, 2, 3, 4):
        raise FakeError(40129, "invalid scene")
    content = body.get("content")
    if body.get("version") != 2 or not isinstance(content, str) or len(content) > MAX_CONTENT_CHARS:
        raise FakeError(47003, "argument invalid! version or content")
    suggest, label, keyword = _suggestion(state, content)
    detail = {"strategy": "content_model", "errcode": 0, "suggest": suggest, "label": label, "prob": 90}
    if keyword is not None:
        detail["keyword"] = keyword
    result = {"suggest": suggest, "label": label}
    return {**OK, "result": result, "detail": [detail], "trace_id": uuid.uuid4().hex}


ROUTES: dict[tuple[str, str], Callable[[FakeState, FakeRequest], dict[str, Any]]] = {
    ("GET", "/sns/jscode2session"): jscode2session,
    ("POST", "/cgi-bin/stable_token"): stable_token,
    ("GET", "/cgi-bin/token"): classic_token,
    ("POST", "/wxa/business/getuserphonenumber"): get_phone_number,
    ("POST", "/cgi-bin/message/subscribe/send"): subscribe_send,
    ("POST", "/wxa/msg_sec_check"): msg_sec_check,
}


def dispatch(state: FakeState, request: FakeRequest) -> Answer:
    """Count the call, apply injected delays and faults, then answer as WeChat would (HTTP 200 with errcode)."""
    endpoint = ROUTES.get((request.method, request.path))
    if endpoint is None:
        if any(path == request.path for _, path in ROUTES):
            # A known API called with the other method: WeChat answers in its JSON error shape.
            return 200, FakeError(43302, "http method not allowed").body()
        return 404, "not found"
    with state.lock:
        app_id = state.app_id_of(request.query, request.body)
        state.counters[app_id][request.path] += 1
        delay = state.delay_for(request.path, app_id)
        fault = state.take_fault(request.path, app_id)
    if delay:
        time.sleep(delay)  # outside the lock: other calls go on meanwhile
    if fault is not None:
        return _fault_answer(fault.errcode, fault.errmsg, fault.status, fault.raw)
    with state.lock:
        try:
            return 200, endpoint(state, request)
        except FakeError as exc:
            return 200, exc.body()


def _fault_answer(errcode: int | None, errmsg: str, status: int | None, raw: str | None) -> Answer:
    """An injected answer: a WeChat error, a bare HTTP status, or a 200 that is not JSON."""
    if errcode is not None:
        return status or 200, {"errcode": errcode, "errmsg": errmsg}
    if raw is not None:
        return status or 200, raw
    return status or 502, "<html><body>502 Bad Gateway</body></html>"
