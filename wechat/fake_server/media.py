"""The fake WeChat server: media checks (media_check_async v2) and their answers, pushed later.

`POST /wxa/media_check_async?access_token=T` with `{media_url, media_type, version: 2, scene, openid}` answers
`{errcode: 0, trace_id}` as WeChat does, with WeChat's errors for a bad call. The verdict is pushed afterwards as
the `wxa_media_check` event, through the push part's `push_deliver` (to the URL registered for the AppID with
`POST /__control__/push_targets`). What it says and when is decided by rules set through the control API:

- `POST /__control__/media_verdicts {appid?, match?, suggest, label?, delay?, errcode?}`: checks of that AppID
  (any, without it) whose media_url contains `match` (any, without it) answer `suggest` (pass, risky, review, or
  none: never answered) `delay` seconds after the call; errcode != 0 pushes a failed check instead. The newest
  matching rule wins; with none, a check passes at once.
- `POST /__control__/media_push {trace_id, suggest?, label?, errcode?}`: push the answer of a recorded check now
  (a check held with suggest none, a second answer, ...).
- `GET /__control__/media_checks?appid=`: the checks received, oldest first, with what was pushed for each.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from wechat.fake_server import push
from wechat.fake_server.endpoints import OK, FakeRequest
from wechat.fake_server.state import FakeError, FakeState

Handler = Callable[[FakeState, FakeRequest], dict[str, Any]]

PART = "media"
SUGGESTIONS = ("pass", "risky", "review")
NEVER = "none"
# WeChat's label numbers: 100 normal; 20001 political, 20002 porn, 20006 illegal, 21000 other.
LABELS = {"pass": 100, "risky": 20002, "review": 21000}
MEDIA_TYPES = (1, 2)  # 1 audio, 2 image
SCENES = (1, 2, 3, 4)


@dataclass
class VerdictRule:
    suggest: str
    app_id: str | None = None
    match: str | None = None
    label: int | None = None
    delay: float = 0.0
    errcode: int = 0

    def matches(self, app_id: str, media_url: str) -> bool:
        return self.app_id in (None, app_id) and (self.match is None or self.match in media_url)


@dataclass
class MediaCheck:
    trace_id: str
    app_id: str
    openid: str
    media_url: str
    media_type: int
    scene: int
    created_at: float
    pushed: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class MediaState:
    rules: list[VerdictRule] = field(default_factory=list)
    checks: dict[str, MediaCheck] = field(default_factory=dict)


def _part(state: FakeState) -> MediaState:
    part = state.parts.get(PART)
    if part is None:
        part = state.parts[PART] = MediaState()
    return part


def media_check_async(state: FakeState, request: FakeRequest) -> dict[str, Any]:
    """Accepts a check of the AppID's user; its answer is pushed later (the rules above)."""
    if request.body is not None and "access_token" in request.body:
        raise FakeError(47001, "data format error: access_token must be in the query string")
    app = state.app_for_token(request.query.get("access_token"))
    body = request.body
    if body is None:
        raise FakeError(47001, "data format error")
    openid = body.get("openid")
    owner = state.openid_apps.get(openid) if isinstance(openid, str) else None
    if owner is None:
        raise FakeError(40003, "invalid openid")
    if owner != app.app_id:
        raise FakeError(43104, "appid and openid not match")
    if body.get("scene") not in SCENES:
        raise FakeError(40129, "invalid scene")
    media_url, media_type = body.get("media_url"), body.get("media_type")
    valid_url = isinstance(media_url, str) and media_url.startswith(("http://", "https://"))
    if body.get("version") != 2 or not valid_url or media_type not in MEDIA_TYPES:
        raise FakeError(47003, "argument invalid! version, media_url or media_type")
    check = MediaCheck(
        trace_id=uuid.uuid4().hex,
        app_id=app.app_id,
        openid=str(openid),
        media_url=str(media_url),
        media_type=int(media_type),
        scene=int(body["scene"]),
        created_at=time.time(),
    )
    part = _part(state)
    part.checks[check.trace_id] = check
    rule = next((rule for rule in reversed(part.rules) if rule.matches(app.app_id, check.media_url)), None)
    rule = rule or VerdictRule(suggest="pass")
    if rule.suggest != NEVER:
        _push_later(state, check, suggest=rule.suggest, label=rule.label, errcode=rule.errcode, delay=rule.delay)
    return {**OK, "trace_id": check.trace_id}


def verdict_message(check: MediaCheck, *, suggest: str, label: int | None = None, errcode: int = 0) -> dict[str, Any]:
    """The `wxa_media_check` push as WeChat sends it (JSON field names; the push part renders XML from it)."""
    label = label if label is not None else LABELS.get(suggest, 100)
    message: dict[str, Any] = {
        # The original id the fake gives everywhere (push.py, component.py): a component tenant's pushes must name it.
        "ToUserName": f"gh_{check.app_id[-12:]}",
        "FromUserName": check.openid,
        "CreateTime": int(time.time()),
        "MsgType": "event",
        "Event": "wxa_media_check",
        "appid": check.app_id,
        "trace_id": check.trace_id,
        "version": 2,
        "errcode": errcode,
        "errmsg": "ok" if errcode == 0 else "media download failed",
    }
    if errcode == 0:
        detail = {"strategy": "content_model", "errcode": 0, "suggest": suggest, "label": label, "prob": 90}
        message["detail"] = [detail]
        message["result"] = {"suggest": suggest, "label": label}
    return message


def _push_later(
    state: FakeState, check: MediaCheck, *, suggest: str, label: int | None, errcode: int, delay: float
) -> None:
    def send() -> None:
        message = verdict_message(check, suggest=suggest, label=label, errcode=errcode)
        with state.lock:
            check.pushed.append(message)
        try:
            push.push_deliver(state, check.app_id, message)
        except KeyError:
            return  # no push target for the AppID: the answer is only in media_checks (tests hand it over)

    if delay > 0:
        timer = threading.Timer(delay, send)
        timer.daemon = True
        timer.start()
    else:
        # Not in the caller's request: WeChat answers the call first and pushes afterwards.
        threading.Thread(target=send, name="fake-media-verdict", daemon=True).start()


def set_verdict(state: FakeState, request: FakeRequest) -> dict[str, Any]:
    """{appid?, match?, suggest, label?, delay?, errcode?}: how the next matching checks are answered."""
    body = request.body or {}
    suggest = str(body.get("suggest", ""))
    if suggest not in (*SUGGESTIONS, NEVER):
        raise FakeError(40097, "suggest is pass, risky, review or none")
    rule = VerdictRule(
        suggest=suggest,
        app_id=body.get("appid"),
        match=body.get("match"),
        label=None if body.get("label") is None else int(body["label"]),
        delay=float(body.get("delay", 0)),
        errcode=int(body.get("errcode", 0)),
    )
    _part(state).rules.append(rule)
    return {"ok": True}


def push_now(state: FakeState, request: FakeRequest) -> dict[str, Any]:
    """{trace_id, suggest?, label?, errcode?}: push the answer of a recorded check now (pass by default)."""
    body = request.body or {}
    check = _part(state).checks.get(str(body.get("trace_id")))
    if check is None:
        raise FakeError(40097, "no check has this trace_id")
    suggest = str(body.get("suggest", "pass"))
    if suggest not in SUGGESTIONS:
        raise FakeError(40097, "suggest is pass, risky or review")
    label = None if body.get("label") is None else int(body["label"])
    _push_later(state, check, suggest=suggest, label=label, errcode=int(body.get("errcode", 0)), delay=0)
    return {"ok": True}


def read_checks(state: FakeState, request: FakeRequest) -> dict[str, Any]:
    """?appid=: the checks received, oldest first, each with the answers pushed so far."""
    app_id = request.query.get("appid")
    checks = sorted(_part(state).checks.values(), key=lambda check: check.created_at)
    return {
        "checks": [
            {
                "trace_id": check.trace_id,
                "appid": check.app_id,
                "openid": check.openid,
                "media_url": check.media_url,
                "media_type": check.media_type,
                "scene": check.scene,
                "pushed": list(check.pushed),
            }
            for check in checks
            if app_id is None or check.app_id == app_id
        ]
    }


# WeChat API endpoints of this part: (method, path) -> handler; merged into endpoints.ROUTES by server.py.
ROUTES: dict[tuple[str, str], Handler] = {("POST", "/wxa/media_check_async"): media_check_async}
# Control calls of this part: (method, control.CONTROL_PREFIX + name) -> handler; merged into control.CONTROL_ROUTES.
CONTROL_ROUTES: dict[tuple[str, str], Handler] = {
    ("POST", "/__control__/media_verdicts"): set_verdict,
    ("POST", "/__control__/media_push"): push_now,
    ("GET", "/__control__/media_checks"): read_checks,
}
