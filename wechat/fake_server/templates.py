"""The fake WeChat server: the open platform's code templates and code management (docs/template-releases.md).

The template library (drafts, addtotemplate, gettemplatelist) is called with the component's token; commit,
submit_audit, get_auditstatus, get_latest_auditstatus, getversioninfo and release with a mini-program's own token
(an authorizer token in component mode, a stable token in secret mode: the fake takes any valid token of the app).

What a test decides, per app, through the control calls (`TemplatesControl` below is their client):
- how many submit_audit calls after a commit answer 61039 (the privacy check has not finished),
- whether the platform's monthly audit quota is used up for it (85085),
- how its audits end: "manual" (they stay auditing until `decide_audit`), or at once "success" / "fail" / "delay".
An audit's end is pushed (weapp_audit_success / fail / delay) through the push part's `push_deliver`, to whatever
push target a test registered for the app; without one the result is only seen by polling.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import requests

from wechat.fake_server import component, push
from wechat.fake_server.endpoints import OK, FakeRequest
from wechat.fake_server.state import FakeApp, FakeError, FakeState

Handler = Callable[[FakeState, FakeRequest], dict[str, Any]]

PART = "templates"
USER_VERSION_MAX_CHARS = 64
# get_auditstatus's status values (WeChat's numbers).
AUDIT_SUCCESS, AUDIT_REJECTED, AUDIT_AUDITING, AUDIT_WITHDRAWN, AUDIT_DELAYED = 0, 1, 2, 3, 4
OUTCOMES = {"manual": AUDIT_AUDITING, "success": AUDIT_SUCCESS, "fail": AUDIT_REJECTED, "delay": AUDIT_DELAYED}
DEFAULT_FAIL_REASON = "小程序内容不符合规范：页面存在测试内容"


@dataclass
class FakeAudit:
    auditid: int
    status: int
    user_version: str
    user_desc: str
    template_id: int
    submit_audit_time: int
    reason: str = ""
    screenshot: str = ""
    released: bool = False

    def answer(self) -> dict[str, Any]:
        """What get_auditstatus says of it (the reason and screenshots only when rejected or delayed)."""
        answer: dict[str, Any] = {**OK, "auditid": self.auditid, "status": self.status}
        if self.status in (AUDIT_REJECTED, AUDIT_DELAYED):
            answer |= {"reason": self.reason, "ScreenShot": self.screenshot}
        return answer


@dataclass
class CodeApp:
    """One mini-program's code: its commits, trial and released versions, audits, and what the test decided."""

    commits: list[dict[str, Any]] = field(default_factory=list)
    exp_info: dict[str, Any] | None = None
    release_info: dict[str, Any] | None = None
    audits: dict[int, FakeAudit] = field(default_factory=dict)
    latest_auditid: int | None = None
    # Decided by the control call: 61039 answers after each commit, the monthly quota, how audits end.
    privacy_wait_calls: int = 0
    privacy_wait_left: int = 0
    quota_exceeded: bool = False
    audit_outcome: str = "manual"
    fail_reason: str = DEFAULT_FAIL_REASON

    @property
    def latest(self) -> FakeAudit | None:
        return self.audits.get(self.latest_auditid) if self.latest_auditid is not None else None


@dataclass
class TemplatesState:
    drafts: dict[int, dict[str, Any]] = field(default_factory=dict)
    library: dict[int, dict[str, Any]] = field(default_factory=dict)
    apps: dict[str, CodeApp] = field(default_factory=dict)
    next_draft_id: int = 1
    next_template_id: int = 1
    next_auditid: int = 420_000_001

    def app(self, app_id: str) -> CodeApp:
        return self.apps.setdefault(app_id, CodeApp())


def templates_state(state: FakeState) -> TemplatesState:
    part = state.parts.get(PART)
    if not isinstance(part, TemplatesState):
        part = state.parts[PART] = TemplatesState()
    return part


# --- who is calling ------------------------------------------------------------------------------------------


def _component_call(state: FakeState, request: FakeRequest) -> None:
    """The template library answers the component's token only: 40001 unknown, 42001 expired, 41001 missing.

    While no test configured the fake's open platform (component.py), any token is taken: the release tests need
    no ticket flow to list a template.
    """
    token = request.query.get("access_token")
    if not token:
        raise FakeError(41001, "access_token missing")
    platform = state.parts.get("component")
    if not isinstance(platform, component.FakeComponent) or not platform.app_id:
        return
    expires_at = platform.component_tokens.get(token)
    if expires_at is None:
        raise FakeError(40001, "invalid credential, access_token is invalid or not latest")
    if expires_at <= time.time():
        raise FakeError(42001, "access_token expired")


def _code_app(state: FakeState, request: FakeRequest) -> tuple[FakeApp, CodeApp]:
    if request.body is not None and "access_token" in request.body:
        raise FakeError(47001, "data format error: access_token must be in the query string")
    app = state.app_for_token(request.query.get("access_token"))
    component.authorizer_token_check(state, request.query.get("access_token"))
    return app, templates_state(state).app(app.app_id)


def _post_body(request: FakeRequest) -> dict[str, Any]:
    """The JSON body; release and getversioninfo refuse an empty POST with 44002 as WeChat does."""
    if request.body is None:
        raise FakeError(44002, "empty post data")
    return request.body


# --- the template library --------------------------------------------------------------------------------------


def gettemplatedraftlist(state: FakeState, request: FakeRequest) -> dict[str, Any]:
    _component_call(state, request)
    drafts = templates_state(state).drafts
    return {**OK, "draft_list": [dict(draft) for draft in drafts.values()]}


def addtotemplate(state: FakeState, request: FakeRequest) -> dict[str, Any]:
    _component_call(state, request)
    body = _post_body(request)
    part = templates_state(state)
    draft_id = body.get("draft_id")
    draft = part.drafts.get(draft_id) if isinstance(draft_id, int) else None
    if draft is None:
        raise FakeError(85064, "template not found")
    template_id, part.next_template_id = part.next_template_id, part.next_template_id + 1
    part.library[template_id] = {
        "create_time": int(time.time()),
        "user_version": draft["user_version"],
        "user_desc": draft["user_desc"],
        "template_id": template_id,
        "draft_id": draft["draft_id"],
        "template_type": int(body.get("template_type", 0)),
    }
    return dict(OK)


def gettemplatelist(state: FakeState, request: FakeRequest) -> dict[str, Any]:
    _component_call(state, request)
    wanted = request.query.get("template_type")
    templates = [
        dict(template)
        for template in templates_state(state).library.values()
        if wanted in (None, "") or str(template["template_type"]) == wanted
    ]
    return {**OK, "template_list": templates}


# --- code management of one mini-program -------------------------------------------------------------------------


def commit(state: FakeState, request: FakeRequest) -> dict[str, Any]:
    """wxa/commit: the template's code with the app's ext_json becomes its trial version."""
    app, code = _code_app(state, request)
    body = _post_body(request)
    template_id = body.get("template_id")
    if not isinstance(template_id, int) or template_id not in templates_state(state).library:
        raise FakeError(85064, "template not found")
    ext_json = body.get("ext_json", "{}")
    try:
        ext = json.loads(ext_json) if isinstance(ext_json, str) else None
    except ValueError:
        ext = None
    if not isinstance(ext, dict) or ext.get("extAppid", app.app_id) != app.app_id:
        raise FakeError(85013, "invalid ext_json")
    user_version, user_desc = str(body.get("user_version", "")), str(body.get("user_desc", ""))
    if not user_version or len(user_version) > USER_VERSION_MAX_CHARS:
        raise FakeError(47003, "argument invalid! user_version")
    now = int(time.time())
    code.commits.append(
        {"template_id": template_id, "ext": ext, "user_version": user_version, "user_desc": user_desc, "at": now}
    )
    code.exp_info = {"exp_time": now, "exp_version": user_version, "exp_desc": user_desc, "template_id": template_id}
    code.privacy_wait_left = code.privacy_wait_calls
    return dict(OK)


def submit_audit(state: FakeState, request: FakeRequest) -> dict[str, Any]:
    """wxa/submit_audit: 85085 past the monthly quota, 61039 while the privacy check runs, 85009 when auditing."""
    app, code = _code_app(state, request)
    _post_body(request)
    if code.exp_info is None:
        raise FakeError(86001, "no code committed")  # the fake's choice: WeChat's word for "nothing to audit"
    if code.quota_exceeded:
        raise FakeError(85085, "submit audit reach limit, please try later")
    if code.privacy_wait_left > 0:
        code.privacy_wait_left -= 1
        raise FakeError(61039, "privacy info check task not finished, please try later")
    latest = code.latest
    if latest is not None and latest.status in (AUDIT_AUDITING, AUDIT_DELAYED):
        raise FakeError(85009, "a version is already under audit")
    part = templates_state(state)
    auditid, part.next_auditid = part.next_auditid, part.next_auditid + 1
    exp = code.exp_info
    audit = FakeAudit(
        auditid=auditid,
        status=AUDIT_AUDITING,
        user_version=exp["exp_version"],
        user_desc=exp["exp_desc"],
        template_id=exp["template_id"],
        submit_audit_time=int(time.time()),
    )
    code.audits[auditid], code.latest_auditid = audit, auditid
    if code.audit_outcome != "manual":
        audit_decide(state, app.app_id, code.audit_outcome, code.fail_reason)
    return {**OK, "auditid": auditid}


def get_auditstatus(state: FakeState, request: FakeRequest) -> dict[str, Any]:
    _, code = _code_app(state, request)
    auditid = _post_body(request).get("auditid")
    audit = code.audits.get(auditid) if isinstance(auditid, int) else None
    if audit is None:
        raise FakeError(85012, "invalid audit id")
    return audit.answer()


def get_latest_auditstatus(state: FakeState, request: FakeRequest) -> dict[str, Any]:
    _, code = _code_app(state, request)
    latest = code.latest
    if latest is None:
        raise FakeError(86001, "no audit submitted")
    answer = latest.answer()
    return answer | {
        "reason": latest.reason,
        "ScreenShot": latest.screenshot,
        "user_version": latest.user_version,
        "user_desc": latest.user_desc,
        "submit_audit_time": latest.submit_audit_time,
    }


def getversioninfo(state: FakeState, request: FakeRequest) -> dict[str, Any]:
    """The trial (exp_info) and online (release_info) versions; each only once it exists."""
    _, code = _code_app(state, request)
    _post_body(request)
    answer: dict[str, Any] = dict(OK)
    if code.exp_info is not None:
        answer["exp_info"] = {key: value for key, value in code.exp_info.items() if key != "template_id"}
    if code.release_info is not None:
        answer["release_info"] = dict(code.release_info)
    return answer


def release(state: FakeState, request: FakeRequest) -> dict[str, Any]:
    """wxa/release: the latest approved audit goes online; 85019 none audited, 85020 not approved, 85052 done."""
    _, code = _code_app(state, request)
    _post_body(request)
    latest = code.latest
    if latest is None:
        raise FakeError(85019, "no audit version")
    if latest.released:
        raise FakeError(85052, "app is already released")
    if latest.status != AUDIT_SUCCESS:
        raise FakeError(85020, "status not allowed")
    latest.released = True
    code.release_info = {
        "release_time": int(time.time()),
        "release_version": latest.user_version,
        "release_desc": latest.user_desc,
    }
    return dict(OK)


# --- an audit's end, and its push --------------------------------------------------------------------------------


def audit_decide(state: FakeState, app_id: str, result: str, reason: str = DEFAULT_FAIL_REASON) -> FakeAudit:
    """The app's latest audit ends (success / fail / delay) and the result is pushed, as WeChat's reviewers do."""
    code = templates_state(state).app(app_id)
    audit = code.latest
    if audit is None:
        raise FakeError(86001, "no audit submitted")
    if result not in OUTCOMES or result == "manual":
        raise ValueError(f"an audit ends in success, fail or delay, not {result!r}")
    audit.status = OUTCOMES[result]
    if result in ("fail", "delay"):
        audit.reason = reason
    if result == "fail":
        audit.screenshot = "fake-media-id-1|fake-media-id-2"
    try:
        push.push_deliver(state, app_id, audit_push_message(app_id, result, reason=reason))
    except KeyError:
        pass  # no push target for the app: its platform learns the result by polling get_auditstatus
    return audit


def audit_push_message(app_id: str, result: str, *, reason: str = DEFAULT_FAIL_REASON) -> dict[str, Any]:
    """The weapp_audit_<result> event WeChat pushes to the message URL (it names no auditid)."""
    now = int(time.time())
    message: dict[str, Any] = {
        "ToUserName": f"gh_{app_id[-12:]}",
        "FromUserName": "o-weapp-audit-system",
        "CreateTime": now,
        "MsgType": "event",
        "Event": f"weapp_audit_{result}",
    }
    if result == "success":
        message["SuccTime"] = now
    elif result == "fail":
        message |= {"Reason": reason, "FailTime": now, "ScreenShot": "fake-media-id-1|fake-media-id-2"}
    else:
        message |= {"Reason": reason, "DelayTime": now}
    return message


# --- control calls -----------------------------------------------------------------------------------------------


def control_add_draft(state: FakeState, request: FakeRequest) -> dict[str, Any]:
    """{user_version, user_desc}: a developer uploads code from the IDE to the platform's drafts."""
    body = request.body or {}
    part = templates_state(state)
    draft_id, part.next_draft_id = part.next_draft_id, part.next_draft_id + 1
    part.drafts[draft_id] = {
        "create_time": int(time.time()),
        "user_version": str(body["user_version"]),
        "user_desc": str(body.get("user_desc", "")),
        "draft_id": draft_id,
    }
    return {"draft_id": draft_id}


def control_set_app(state: FakeState, request: FakeRequest) -> dict[str, Any]:
    """{appid, privacy_wait_calls?, quota_exceeded?, audit_outcome?, fail_reason?}: how WeChat treats its code."""
    body = request.body or {}
    code = templates_state(state).app(str(body["appid"]))
    if "privacy_wait_calls" in body:
        code.privacy_wait_calls = code.privacy_wait_left = int(body["privacy_wait_calls"])
    if "quota_exceeded" in body:
        code.quota_exceeded = bool(body["quota_exceeded"])
    if "audit_outcome" in body:
        if body["audit_outcome"] not in OUTCOMES:
            raise ValueError(f"audit_outcome is one of {sorted(OUTCOMES)}")
        code.audit_outcome = str(body["audit_outcome"])
    if "fail_reason" in body:
        code.fail_reason = str(body["fail_reason"])
    return {"ok": True}


def control_decide_audit(state: FakeState, request: FakeRequest) -> dict[str, Any]:
    """{appid, result: success|fail|delay, reason?}: the app's latest audit ends now, and is pushed."""
    body = request.body or {}
    audit = audit_decide(state, str(body["appid"]), str(body["result"]), str(body.get("reason", DEFAULT_FAIL_REASON)))
    return {"auditid": audit.auditid, "status": audit.status}


def control_read_app(state: FakeState, request: FakeRequest) -> dict[str, Any]:
    """?appid=: its commits (with the ext_json each carried), audits, trial and online versions."""
    code = templates_state(state).app(request.query["appid"])
    return {
        "commits": code.commits,
        "audits": [vars(audit) for audit in code.audits.values()],
        "exp_info": code.exp_info,
        "release_info": code.release_info,
    }


ROUTES: dict[tuple[str, str], Handler] = {
    ("GET", "/wxa/gettemplatedraftlist"): gettemplatedraftlist,
    ("POST", "/wxa/addtotemplate"): addtotemplate,
    ("GET", "/wxa/gettemplatelist"): gettemplatelist,
    ("POST", "/wxa/commit"): commit,
    ("POST", "/wxa/submit_audit"): submit_audit,
    ("POST", "/wxa/get_auditstatus"): get_auditstatus,
    ("GET", "/wxa/get_latest_auditstatus"): get_latest_auditstatus,
    ("POST", "/wxa/getversioninfo"): getversioninfo,
    ("POST", "/wxa/release"): release,
}
CONTROL_ROUTES: dict[tuple[str, str], Handler] = {
    ("POST", "/__control__/code/drafts"): control_add_draft,
    ("POST", "/__control__/code/apps"): control_set_app,
    ("POST", "/__control__/code/audits"): control_decide_audit,
    ("GET", "/__control__/code/apps"): control_read_app,
}


class TemplatesControl:
    """A client of this part's control calls (against an in-process or a separate dev server)."""

    def __init__(self, base_url: str, *, timeout: float = 5.0) -> None:
        self.base_url = base_url.rstrip("/")
        self._timeout = timeout

    def add_draft(self, *, user_version: str, user_desc: str = "") -> int:
        return int(self._call("POST", "drafts", {"user_version": user_version, "user_desc": user_desc})["draft_id"])

    def set_app(self, app_id: str, **behaviour: Any) -> None:
        """privacy_wait_calls=N, quota_exceeded=True, audit_outcome="success"|"fail"|"delay"|"manual", fail_reason."""
        self._call("POST", "apps", {"appid": app_id, **behaviour})

    def decide_audit(self, app_id: str, result: str, *, reason: str = DEFAULT_FAIL_REASON) -> int:
        return int(self._call("POST", "audits", {"appid": app_id, "result": result, "reason": reason})["auditid"])

    def app(self, app_id: str) -> dict[str, Any]:
        return self._call("GET", "apps", params={"appid": app_id})

    def _call(
        self, method: str, action: str, body: dict[str, Any] | None = None, params: dict[str, str] | None = None
    ) -> dict[str, Any]:
        url = f"{self.base_url}/__control__/code/{action}"
        response = requests.request(method, url, json=body, params=params, timeout=self._timeout)
        response.raise_for_status()
        return dict(json.loads(response.content))
