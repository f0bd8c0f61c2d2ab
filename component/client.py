"""The open platform's server APIs (component API), over the one WeChat client (wechat.client.WeChatClient.call).

What each call relies on: docs/open-platform.md. The component AppSecret, the ticket, the refresh and access
tokens travel in bodies and query strings only, never in log lines or exception messages.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from component.conf import ComponentCredentials
from wechat.client import SessionInfo, WeChatClient, required_field

COMPONENT_TOKEN = "/cgi-bin/component/api_component_token"  # noqa: S105 (a path)
START_PUSH_TICKET = "/cgi-bin/component/api_start_push_ticket"
CREATE_PREAUTHCODE = "/cgi-bin/component/api_create_preauthcode"
QUERY_AUTH = "/cgi-bin/component/api_query_auth"
AUTHORIZER_TOKEN = "/cgi-bin/component/api_authorizer_token"  # noqa: S105 (a path)
AUTHORIZER_INFO = "/cgi-bin/component/api_get_authorizer_info"
AUTHORIZER_LIST = "/cgi-bin/component/api_get_authorizer_list"
COMPONENT_JSCODE2SESSION = "/sns/component/jscode2session"
# api_get_authorizer_list answers at most 500 authorizers a page.
AUTHORIZER_LIST_PAGE = 500


@dataclass(frozen=True)
class AuthorizerTokens:
    """What api_query_auth and api_authorizer_token answer: the access token and the (maybe rotated) refresh token."""

    app_id: str
    access_token: str
    expires_in: int
    refresh_token: str
    func_info: tuple[int, ...] = ()

    def __repr__(self) -> str:
        return f"<AuthorizerTokens app_id={self.app_id} expires_in={self.expires_in}>"


def func_info_ids(func_info: Any) -> tuple[int, ...]:
    """The permission set ids of WeChat's func_info ([{"funcscope_category": {"id": 18}}, ...]), sorted."""
    ids = set()
    for item in func_info if isinstance(func_info, list) else []:
        category = item.get("funcscope_category") if isinstance(item, dict) else None
        if isinstance(category, dict) and isinstance(category.get("id"), int):
            ids.add(category["id"])
    return tuple(sorted(ids))


class ComponentClient:
    """Calls the component API for one third-party platform."""

    def __init__(self, credentials: ComponentCredentials, *, wechat: WeChatClient | None = None) -> None:
        self.credentials = credentials
        # The component's AppID names it in the client's log lines; its AppSecret goes in bodies only.
        self._wechat = wechat or WeChatClient(credentials.app_id, "")

    def __repr__(self) -> str:
        return f"<ComponentClient app_id={self.credentials.app_id}>"

    def component_token(self, ticket: str) -> tuple[str, int]:
        """A component_access_token (2 h) for the ticket WeChat pushed."""
        body = {
            "component_appid": self.credentials.app_id,
            "component_appsecret": self.credentials.app_secret,
            "component_verify_ticket": ticket,
        }
        payload = self._wechat.call("POST", COMPONENT_TOKEN, body=body)
        token = required_field(payload, "component_access_token", COMPONENT_TOKEN)
        return token, int(required_field(payload, "expires_in", COMPONENT_TOKEN))

    def start_push_ticket(self) -> None:
        """Ask WeChat to push a component_verify_ticket now (when we hold no valid one)."""
        body = {"component_appid": self.credentials.app_id, "component_secret": self.credentials.app_secret}
        self._wechat.call("POST", START_PUSH_TICKET, body=body)

    def create_preauthcode(self, component_token: str) -> tuple[str, int]:
        """A pre_auth_code for one authorization page, and the seconds it lives."""
        payload = self._post(CREATE_PREAUTHCODE, component_token, {})
        code = required_field(payload, "pre_auth_code", CREATE_PREAUTHCODE)
        return code, int(payload.get("expires_in", 600))

    def query_auth(self, component_token: str, authorization_code: str) -> AuthorizerTokens:
        """The authorizer's tokens and granted permissions for the auth_code of an authorization."""
        payload = self._post(QUERY_AUTH, component_token, {"authorization_code": authorization_code})
        info = required_field(payload, "authorization_info", QUERY_AUTH)
        return AuthorizerTokens(
            app_id=required_field(info, "authorizer_appid", QUERY_AUTH),
            access_token=required_field(info, "authorizer_access_token", QUERY_AUTH),
            expires_in=int(required_field(info, "expires_in", QUERY_AUTH)),
            refresh_token=required_field(info, "authorizer_refresh_token", QUERY_AUTH),
            func_info=func_info_ids(info.get("func_info")),
        )

    def authorizer_token(self, component_token: str, *, app_id: str, refresh_token: str) -> AuthorizerTokens:
        """A new authorizer access token; WeChat may answer a new refresh token with it (the old lives 5 minutes)."""
        body = {"authorizer_appid": app_id, "authorizer_refresh_token": refresh_token}
        payload = self._post(AUTHORIZER_TOKEN, component_token, body)
        return AuthorizerTokens(
            app_id=app_id,
            access_token=required_field(payload, "authorizer_access_token", AUTHORIZER_TOKEN),
            expires_in=int(required_field(payload, "expires_in", AUTHORIZER_TOKEN)),
            # Some answers leave the refresh token out when it did not change.
            refresh_token=payload.get("authorizer_refresh_token") or refresh_token,
        )

    def authorizer_info(self, component_token: str, *, app_id: str) -> dict[str, Any]:
        """The authorizer's account facts (authorizer_info: nick_name, ...) and authorization_info (func_info)."""
        return self._post(AUTHORIZER_INFO, component_token, {"authorizer_appid": app_id})

    def authorizer_refresh_tokens(self, component_token: str) -> dict[str, str]:
        """Every authorizer's current refresh token, by AppID (api_get_authorizer_list, page by page)."""
        found: dict[str, str] = {}
        offset = 0
        while True:
            body = {"offset": offset, "count": AUTHORIZER_LIST_PAGE}
            payload = self._post(AUTHORIZER_LIST, component_token, body)
            page = payload.get("list") or []
            found.update({item["authorizer_appid"]: item["refresh_token"] for item in page})
            offset += len(page)
            if not page or offset >= int(payload.get("total_count", 0)):
                return found

    def code_to_session(self, component_token: str, *, app_id: str, code: str) -> SessionInfo:
        """code2Session for an authorizer, with the component's token instead of the mini-program's AppSecret."""
        params = {
            "appid": app_id,
            "js_code": code,
            "grant_type": "authorization_code",
            "component_appid": self.credentials.app_id,
            "component_access_token": component_token,
        }
        payload = self._wechat.call("GET", COMPONENT_JSCODE2SESSION, params=params)
        return {
            "openid": required_field(payload, "openid", COMPONENT_JSCODE2SESSION),
            "session_key": required_field(payload, "session_key", COMPONENT_JSCODE2SESSION),
            "unionid": payload.get("unionid"),
        }

    def _post(self, path: str, component_token: str, body: dict[str, Any]) -> dict[str, Any]:
        params = {"component_access_token": component_token}
        return self._wechat.call("POST", path, params=params, body={"component_appid": self.credentials.app_id, **body})


class AuthorizerClient(WeChatClient):
    """A client for a component tenant: no AppSecret; login goes through the component's jscode2session.

    The calls made with an access token (subscribe send, msgSecCheck, phone number) are the inherited ones: the
    token holder hands them the authorizer token (accounts.wechat_access).
    """

    def __init__(self, app_id: str, *, session_exchange: Callable[[str], SessionInfo]) -> None:
        super().__init__(app_id, "")
        self._session_exchange = session_exchange

    def __repr__(self) -> str:
        return f"<AuthorizerClient app_id={self.app_id}>"

    def code_to_session(self, code: str) -> SessionInfo:
        return self._session_exchange(code)

    def fetch_stable_token(self, force_refresh: bool = False) -> tuple[str, int]:
        # An authorized mini-program's own token needs its AppSecret, which the platform never holds.
        raise TypeError("a component tenant's token is its authorizer token (component.tokens)")
