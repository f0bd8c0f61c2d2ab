"""The fake WeChat server: the open platform (third-party platform, component API), as docs/open-platform.md tells it.

A test configures the component (`POST /__control__/component`), has WeChat push a ticket, opens the authorization
page the platform gave it (`GET /cgi-bin/componentloginpage?...`, which remembers the redirect_uri), "scans" it
(`POST /__control__/component/authorize`: the owner confirms, and the answer is the URL the browser is sent back
to, with auth_code), and later cancels it (`.../unauthorize`). Every push the platform gets (the ticket and the
authorization events) is signed and encrypted in safe mode, XML, with the component's Token and key; it is queued
for the test to deliver (`GET /__control__/component/pushes` takes them) and, when the component has an
events_url, also POSTed there (a development server).

Refresh tokens rotate on every api_authorizer_token; the previous one keeps working for 5 minutes (or until
`.../overlap_end`), as WeChat's does.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import requests

from wechat.crypto import MessageCrypto, push_signature, xml_build
from wechat.fake_server.endpoints import FakeRequest, session_issue
from wechat.fake_server.state import FakeError, FakeState

Handler = Callable[[FakeState, FakeRequest], dict[str, Any]]

CONTROL = "/__control__/component"
TICKET_VALIDITY_SECONDS = 12 * 3600
COMPONENT_TOKEN_SECONDS = 7200
PRE_AUTH_CODE_SECONDS = 600
AUTH_CODE_SECONDS = 600
REFRESH_OVERLAP_SECONDS = 300
# What a fake authorization grants unless the test says otherwise: code management (18) among others.
DEFAULT_FUNC_INFO = (17, 18, 19, 30)


@dataclass
class FakeAuthorization:
    app_id: str
    refresh_token: str
    func_info: list[int]
    nick_name: str
    auth_time: int
    previous_refresh_token: str | None = None
    previous_valid_until: float = 0.0


@dataclass
class FakeComponent:
    """What the fake's open platform knows; kept in state.parts["component"]."""

    app_id: str = ""
    secret: str = ""
    token: str = ""
    aes_key: str = ""
    events_url: str | None = None
    tickets: dict[str, float] = field(default_factory=dict)
    component_tokens: dict[str, float] = field(default_factory=dict)
    pre_auth_codes: dict[str, float] = field(default_factory=dict)
    redirects: dict[str, str] = field(default_factory=dict)
    auth_codes: dict[str, tuple[str, float]] = field(default_factory=dict)
    authorizations: dict[str, FakeAuthorization] = field(default_factory=dict)
    # The access tokens handed out as authorizer tokens (query_auth, api_authorizer_token): token -> AppID.
    authorizer_tokens: dict[str, str] = field(default_factory=dict)
    pushes: list[dict[str, Any]] = field(default_factory=list)


def _component(state: FakeState) -> FakeComponent:
    part = state.parts.get("component")
    if not isinstance(part, FakeComponent):
        part = state.parts["component"] = FakeComponent()
    return part


def _count(state: FakeState, app_id: str, path: str) -> None:
    # dispatch counts under the query's or body's "appid"; component calls name their apps otherwise.
    state.counters[app_id][path] += 1


def _checked_component(state: FakeState, app_id: Any) -> FakeComponent:
    component = _component(state)
    if not component.app_id or app_id != component.app_id:
        raise FakeError(61011, "invalid component")
    return component


def _with_component_token(state: FakeState, request: FakeRequest) -> tuple[FakeComponent, dict[str, Any]]:
    """The component and body of a call made with ?component_access_token= (40001 unknown, 42001 expired)."""
    body = request.body or {}
    component = _checked_component(state, body.get("component_appid") or request.query.get("component_appid"))
    token = request.query.get("component_access_token")
    if not token:
        raise FakeError(41001, "access_token missing")
    expires_at = component.component_tokens.get(token)
    if expires_at is None:
        raise FakeError(40001, "invalid credential, access_token is invalid or not latest")
    if expires_at <= time.time():
        raise FakeError(42001, "access_token expired")
    return component, body


# --- WeChat's API ----------------------------------------------------------------------------------------


def api_component_token(state: FakeState, request: FakeRequest) -> dict[str, Any]:
    body = request.body or {}
    component = _checked_component(state, body.get("component_appid"))
    _count(state, component.app_id, request.path)
    if not secrets.compare_digest(str(body.get("component_appsecret", "")).encode(), component.secret.encode()):
        raise FakeError(40125, "invalid appsecret")
    expires_at = component.tickets.get(str(body.get("component_verify_ticket", "")))
    if expires_at is None:
        raise FakeError(61006, "component ticket is invalid")
    if expires_at <= time.time():
        raise FakeError(61005, "component ticket is expired")
    token = f"fake-component-token-{secrets.token_hex(12)}"
    component.component_tokens[token] = time.time() + COMPONENT_TOKEN_SECONDS
    return {"component_access_token": token, "expires_in": COMPONENT_TOKEN_SECONDS}


def api_start_push_ticket(state: FakeState, request: FakeRequest) -> dict[str, Any]:
    body = request.body or {}
    component = _checked_component(state, body.get("component_appid"))
    _count(state, component.app_id, request.path)
    if not secrets.compare_digest(str(body.get("component_secret", "")).encode(), component.secret.encode()):
        raise FakeError(40125, "invalid appsecret")
    _ticket_push(state, component)
    return {"errcode": 0, "errmsg": "ok"}


def api_create_preauthcode(state: FakeState, request: FakeRequest) -> dict[str, Any]:
    component, _body = _with_component_token(state, request)
    _count(state, component.app_id, request.path)
    code = f"preauthcode@@@{secrets.token_urlsafe(24)}"
    component.pre_auth_codes[code] = time.time() + PRE_AUTH_CODE_SECONDS
    return {"pre_auth_code": code, "expires_in": PRE_AUTH_CODE_SECONDS}


def api_query_auth(state: FakeState, request: FakeRequest) -> dict[str, Any]:
    component, body = _with_component_token(state, request)
    _count(state, component.app_id, request.path)
    found = component.auth_codes.pop(str(body.get("authorization_code", "")), None)
    if found is None or found[1] <= time.time():
        raise FakeError(61010, "code is expired")  # also a code used before: it works once
    authorization = component.authorizations.get(found[0])
    if authorization is None:
        raise FakeError(61003, "component is not authorized by this account")
    _count(state, authorization.app_id, request.path)
    return {
        "authorization_info": {
            "authorizer_appid": authorization.app_id,
            "authorizer_access_token": _authorizer_token_issue(state, component, authorization),
            "expires_in": state.token_lifetime,
            "authorizer_refresh_token": authorization.refresh_token,
            "func_info": _func_info(authorization),
        }
    }


def api_authorizer_token(state: FakeState, request: FakeRequest) -> dict[str, Any]:
    """A new authorizer access token and a new refresh token; the one given keeps working 5 more minutes."""
    component, body = _with_component_token(state, request)
    authorization = _authorization(component, body.get("authorizer_appid"))
    _count(state, authorization.app_id, request.path)
    given = str(body.get("authorizer_refresh_token", ""))
    in_overlap = given == authorization.previous_refresh_token and time.time() < authorization.previous_valid_until
    if given != authorization.refresh_token and not in_overlap:
        raise FakeError(61023, "refresh_token is invalid")
    authorization.previous_refresh_token = authorization.refresh_token
    authorization.previous_valid_until = time.time() + REFRESH_OVERLAP_SECONDS
    authorization.refresh_token = _refresh_token()
    return {
        "authorizer_access_token": _authorizer_token_issue(state, component, authorization),
        "expires_in": state.token_lifetime,
        "authorizer_refresh_token": authorization.refresh_token,
    }


def api_get_authorizer_info(state: FakeState, request: FakeRequest) -> dict[str, Any]:
    component, body = _with_component_token(state, request)
    authorization = _authorization(component, body.get("authorizer_appid"))
    return {
        "authorizer_info": {
            "nick_name": authorization.nick_name,
            "user_name": f"gh_{authorization.app_id[-12:]}",
            "MiniProgramInfo": {"network": {}, "categories": [], "visit_status": 0},
        },
        "authorization_info": {"authorizer_appid": authorization.app_id, "func_info": _func_info(authorization)},
    }


def api_get_authorizer_list(state: FakeState, request: FakeRequest) -> dict[str, Any]:
    component, body = _with_component_token(state, request)
    _count(state, component.app_id, request.path)
    offset, count = int(body.get("offset", 0)), min(int(body.get("count", 500)), 500)
    every = sorted(component.authorizations.values(), key=lambda a: a.app_id)
    page = [
        {"authorizer_appid": a.app_id, "refresh_token": a.refresh_token, "auth_time": a.auth_time}
        for a in every[offset : offset + count]
    ]
    return {"total_count": len(every), "list": page}


def component_jscode2session(state: FakeState, request: FakeRequest) -> dict[str, Any]:
    """code2Session with the component's token: 61003 when the mini-program has not authorized the component."""
    query = request.query
    _with_component_token(state, request)
    if query.get("grant_type") != "authorization_code":
        raise FakeError(40002, "invalid grant_type")
    authorization = _component(state).authorizations.get(str(query.get("appid", "")))
    if authorization is None:
        raise FakeError(61003, "component is not authorized by this account")
    return session_issue(state, state.apps[authorization.app_id], query.get("js_code", ""))


def component_login_page(state: FakeState, request: FakeRequest) -> dict[str, Any]:
    """The authorization page (PC: componentloginpage; mobile: bindcomponent), described as JSON.

    Opening it remembers the redirect_uri of its pre_auth_code, as WeChat's page does until the owner confirms.
    """
    query = request.query
    component = _checked_component(state, query.get("component_appid"))
    code = query.get("pre_auth_code", "")
    if component.pre_auth_codes.get(code, 0) <= time.time():
        raise FakeError(61010, "pre_auth_code is expired or invalid")
    if query.get("auth_type") not in ("1", "2", "3") or not query.get("redirect_uri"):
        raise FakeError(40097, "invalid args: auth_type or redirect_uri")
    component.redirects[code] = query["redirect_uri"]
    return {"page": "authorize", "component_appid": component.app_id, "auth_type": int(query["auth_type"])}


# --- Control ---------------------------------------------------------------------------------------------


def configure(state: FakeState, request: FakeRequest) -> dict[str, Any]:
    """{appid, secret, token, aes_key, events_url?}: the third-party platform (its tickets and tokens kept)."""
    body = request.body or {}
    component = _component(state)
    component.app_id, component.secret = str(body["appid"]), str(body["secret"])
    component.token, component.aes_key = str(body["token"]), str(body["aes_key"])
    component.events_url = body.get("events_url")
    return {"ok": True}


def push_ticket(state: FakeState, request: FakeRequest) -> dict[str, Any]:
    """{lost?}: WeChat's 10-minute ticket push now; lost=true issues the ticket but drops its push."""
    component = _checked_component(state, _component(state).app_id)
    ticket = _ticket_push(state, component, lost=bool((request.body or {}).get("lost")))
    return {"ticket": ticket}


def expire_tickets(state: FakeState, request: FakeRequest) -> dict[str, Any]:
    """Every ticket issued so far is past its 12 hours."""
    component = _component(state)
    component.tickets = dict.fromkeys(component.tickets, 0.0)
    return {"ok": True}


def authorize(state: FakeState, request: FakeRequest) -> dict[str, Any]:
    """{pre_auth_code | url, appid, func_info?, nick_name?}: the owner scanned the page and confirmed.

    With `url` (the page's, as the platform gave it) the page is opened first; with `pre_auth_code` it must
    have been opened before (GET /cgi-bin/componentloginpage?...).

    Answers the URL the owner's browser is sent back to (the page's redirect_uri with auth_code and expires_in),
    and queues the authorized (or, when already authorized, updateauthorized) push.
    """
    body = request.body or {}
    component = _component(state)
    if body.get("url"):
        # The page's URL itself (the owner "opens and scans" it in one step).
        page = urlsplit(str(body["url"]))
        component_login_page(state, FakeRequest("GET", page.path, dict(parse_qsl(page.query)), None))
        body = {**body, "pre_auth_code": dict(parse_qsl(page.query)).get("pre_auth_code", "")}
    code, app_id = str(body["pre_auth_code"]), str(body["appid"])
    redirect = component.redirects.pop(code, None)
    if redirect is None or component.pre_auth_codes.pop(code, 0) <= time.time():
        raise FakeError(61010, "pre_auth_code is expired or invalid (or its page was never opened)")
    if app_id not in state.apps:
        state.register_app(app_id, f"not-held-by-the-platform-{secrets.token_hex(8)}")
    func_info = [int(i) for i in body.get("func_info") or DEFAULT_FUNC_INFO]
    known = component.authorizations.get(app_id)
    # A new authorization invalidates the old refresh token (WeChat's doc on api_query_auth).
    component.authorizations[app_id] = FakeAuthorization(
        app_id=app_id,
        refresh_token=_refresh_token(),
        func_info=func_info,
        nick_name=str(body.get("nick_name") or f"Shop {app_id[-4:]}"),
        auth_time=int(time.time()),
    )
    auth_code = f"queryauthcode@@@{secrets.token_urlsafe(24)}"
    component.auth_codes[auth_code] = (app_id, time.time() + AUTH_CODE_SECONDS)
    info_type = "updateauthorized" if known is not None else "authorized"
    _event_push(state, component, info_type, app_id, auth_code=auth_code, pre_auth_code=code)
    separator = "&" if "?" in redirect else "?"
    return {"auth_code": auth_code, "redirect": f"{redirect}{separator}auth_code={auth_code}&expires_in=600"}


def unauthorize(state: FakeState, request: FakeRequest) -> dict[str, Any]:
    """{appid}: the owner cancelled the authorization in the mini-program's admin; queues the unauthorized push."""
    component = _component(state)
    app_id = str((request.body or {})["appid"])
    component.authorizations.pop(app_id, None)
    _event_push(state, component, "unauthorized", app_id)
    return {"ok": True}


def overlap_end(state: FakeState, request: FakeRequest) -> dict[str, Any]:
    """{appid}: the 5 minutes after a rotation are over: only the newest refresh token works."""
    authorization = _authorization(_component(state), (request.body or {}).get("appid"))
    authorization.previous_refresh_token = None
    return {"ok": True}


def read_authorization(state: FakeState, request: FakeRequest) -> dict[str, Any]:
    """?appid=: the authorization WeChat holds (the current refresh token, the permissions)."""
    authorization = _authorization(_component(state), request.query.get("appid"))
    return {"refresh_token": authorization.refresh_token, "func_info": authorization.func_info}


def take_pushes(state: FakeState, request: FakeRequest) -> dict[str, Any]:
    """The pushes queued for the platform, oldest first, each {query, body}; the queue is emptied."""
    component = _component(state)
    pushes, component.pushes = component.pushes, []
    return {"pushes": pushes}


# --- Helpers ---------------------------------------------------------------------------------------------


def _authorization(component: FakeComponent, app_id: Any) -> FakeAuthorization:
    authorization = component.authorizations.get(str(app_id or ""))
    if authorization is None:
        raise FakeError(61003, "component is not authorized by this account")
    return authorization


def _authorizer_token_issue(state: FakeState, component: FakeComponent, authorization: FakeAuthorization) -> str:
    token = state.issue_token(state.apps[authorization.app_id])
    component.authorizer_tokens[token] = authorization.app_id
    return token


def authorizer_token_check(state: FakeState, token: str | None) -> None:
    """Code management is for third-party platforms: 86000 for a token that is not an authorizer token, 61003 for
    an authorization cancelled since. While no test configured the open platform, any app token is taken."""
    component = state.parts.get("component")
    if not isinstance(component, FakeComponent) or not component.app_id:
        return
    app_id = component.authorizer_tokens.get(str(token or ""))
    if app_id is None:
        raise FakeError(86000, "should be called only from third party")
    if app_id not in component.authorizations:
        raise FakeError(61003, "component is not authorized by this account")


def _func_info(authorization: FakeAuthorization) -> list[dict[str, Any]]:
    return [{"funcscope_category": {"id": i}} for i in authorization.func_info]


def _refresh_token() -> str:
    return f"refreshtoken@@@{secrets.token_urlsafe(24)}"


def _ticket_push(state: FakeState, component: FakeComponent, *, lost: bool = False) -> str:
    ticket = f"ticket@@@{secrets.token_urlsafe(32)}"
    component.tickets[ticket] = time.time() + TICKET_VALIDITY_SECONDS
    if not lost:
        _push(state, component, {"InfoType": "component_verify_ticket", "ComponentVerifyTicket": ticket})
    return ticket


def _event_push(
    state: FakeState, component: FakeComponent, info_type: str, app_id: str, *, auth_code: str = "",
    pre_auth_code: str = "",
) -> None:  # fmt: skip
    fields: dict[str, Any] = {"InfoType": info_type, "AuthorizerAppid": app_id}
    if auth_code:
        fields |= {
            "AuthorizationCode": auth_code,
            "AuthorizationCodeExpiredTime": int(time.time()) + AUTH_CODE_SECONDS,
            "PreAuthCode": pre_auth_code,
        }
    _push(state, component, fields)


def _push(state: FakeState, component: FakeComponent, fields: dict[str, Any]) -> None:
    """Sign and encrypt one push as WeChat does (safe mode, XML); queue it, and POST it to events_url if set."""
    plain = xml_build({"AppId": component.app_id, "CreateTime": int(time.time()), **fields})
    crypto = MessageCrypto(token=component.token, encoding_aes_key=component.aes_key, app_id=component.app_id)
    encrypted = crypto.encrypt(plain)
    timestamp, nonce = str(int(time.time())), secrets.token_hex(8)
    query = {
        "signature": push_signature(component.token, timestamp, nonce),
        "timestamp": timestamp,
        "nonce": nonce,
        "encrypt_type": "aes",
        "msg_signature": push_signature(component.token, timestamp, nonce, encrypted),
    }
    body = xml_build({"AppId": component.app_id, "Encrypt": encrypted}).decode()
    component.pushes.append({"query": query, "body": body})
    if component.events_url:
        url = f"{component.events_url}?{urlencode(query)}"
        threading.Thread(target=_post_quietly, args=(url, body), daemon=True).start()


def _post_quietly(url: str, body: str) -> None:
    try:
        requests.post(url, data=body.encode(), headers={"Content-Type": "text/xml"}, timeout=5)
    except requests.RequestException:
        pass  # a push that did not arrive: WeChat does not care either, the next one comes in 10 minutes


ROUTES: dict[tuple[str, str], Handler] = {
    ("POST", "/cgi-bin/component/api_component_token"): api_component_token,
    ("POST", "/cgi-bin/component/api_start_push_ticket"): api_start_push_ticket,
    ("POST", "/cgi-bin/component/api_create_preauthcode"): api_create_preauthcode,
    ("POST", "/cgi-bin/component/api_query_auth"): api_query_auth,
    ("POST", "/cgi-bin/component/api_authorizer_token"): api_authorizer_token,
    ("POST", "/cgi-bin/component/api_get_authorizer_info"): api_get_authorizer_info,
    ("POST", "/cgi-bin/component/api_get_authorizer_list"): api_get_authorizer_list,
    ("GET", "/sns/component/jscode2session"): component_jscode2session,
    ("GET", "/cgi-bin/componentloginpage"): component_login_page,
    ("GET", "/safe/bindcomponent"): component_login_page,
}
CONTROL_ROUTES: dict[tuple[str, str], Handler] = {
    ("POST", CONTROL): configure,
    ("POST", CONTROL + "/ticket"): push_ticket,
    ("POST", CONTROL + "/expire_tickets"): expire_tickets,
    ("POST", CONTROL + "/authorize"): authorize,
    ("POST", CONTROL + "/unauthorize"): unauthorize,
    ("POST", CONTROL + "/overlap_end"): overlap_end,
    ("GET", CONTROL + "/authorization"): read_authorization,
    ("GET", CONTROL + "/pushes"): take_pushes,
}


class FakeComponentControl:
    """A client of this part's control calls (tests and the README's steps)."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url.rstrip("/")

    def configure(self, *, app_id: str, secret: str, token: str, aes_key: str, events_url: str | None = None) -> None:
        body = {"appid": app_id, "secret": secret, "token": token, "aes_key": aes_key, "events_url": events_url}
        self._call("POST", "", body)

    def push_ticket(self, *, lost: bool = False) -> str:
        return str(self._call("POST", "/ticket", {"lost": lost})["ticket"])

    def expire_tickets(self) -> None:
        self._call("POST", "/expire_tickets", {})

    def open_page(self, url: str) -> dict[str, Any]:
        """The owner's browser opens the authorization page (a URL on this fake server)."""
        response = requests.get(url, timeout=5)
        response.raise_for_status()
        return dict(response.json())

    def authorize(
        self,
        *,
        app_id: str,
        pre_auth_code: str | None = None,
        url: str | None = None,
        func_info: list[int] | None = None,
        nick_name: str | None = None,
    ) -> str:
        """The owner confirms (the page opened before, or its `url` now); returns where their browser goes back."""
        body = {"pre_auth_code": pre_auth_code, "url": url, "appid": app_id, "func_info": func_info}
        body["nick_name"] = nick_name
        return str(self._call("POST", "/authorize", body)["redirect"])

    def unauthorize(self, app_id: str) -> None:
        self._call("POST", "/unauthorize", {"appid": app_id})

    def overlap_end(self, app_id: str) -> None:
        self._call("POST", "/overlap_end", {"appid": app_id})

    def authorization(self, app_id: str) -> dict[str, Any]:
        return self._call("GET", "/authorization", None, params={"appid": app_id})

    def take_pushes(self) -> list[dict[str, Any]]:
        return list(self._call("GET", "/pushes", None)["pushes"])

    def _call(
        self, method: str, action: str, body: dict[str, Any] | None, params: dict[str, str] | None = None
    ) -> dict[str, Any]:
        response = requests.request(method, f"{self.base_url}{CONTROL}{action}", json=body, params=params, timeout=5)
        if response.status_code != 200:
            raise AssertionError(f"fake WeChat control {action or '/'}: {response.status_code} {response.text}")
        return dict(response.json())
