"""A small client for the WeChat server APIs of one mini-program (one AppID).

What it relies on of WeChat's APIs: docs/wechat.md. The AppSecret, session_key and access_token travel in query strings
and bodies only; they never appear in log lines or exception messages.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from typing import Any, TypedDict

import requests

from core import metrics
from core.usage import usage_add
from routers.backends.pool import release_pooled_connections
from wechat import conf
from wechat.exceptions import WeChatUnavailable, error_for

logger = logging.getLogger(__name__)


class SessionInfo(TypedDict):
    openid: str
    session_key: str
    unionid: str | None


class PhoneInfo(TypedDict, total=False):
    phoneNumber: str
    purePhoneNumber: str
    countryCode: str
    watermark: dict[str, Any]


class SecCheckResult(TypedDict):
    result: dict[str, Any]
    detail: list[dict[str, Any]]


class WeChatClient:
    """Calls WeChat for one AppID over a requests.Session, with a time-out on every call."""

    def __init__(
        self,
        app_id: str,
        app_secret: str,
        *,
        base_url: str | None = None,
        timeout: float | None = None,
        session: requests.Session | None = None,
    ) -> None:
        self.app_id = app_id
        self._app_secret = app_secret
        self._base_url = base_url.rstrip("/") if base_url else None
        self._timeout = timeout
        self._session = session or requests.Session()

    def __repr__(self) -> str:
        return f"<WeChatClient app_id={self.app_id}>"

    @property
    def base_url(self) -> str:
        """The explicit base URL, else the setting (read per call so override_settings works)."""
        return self._base_url or conf.get_api_base()

    @property
    def timeout(self) -> float:
        """The explicit time-out, else the setting."""
        return self._timeout if self._timeout is not None else conf.get_timeout()

    def code_to_session(self, code: str) -> SessionInfo:
        """Exchange a wx.login code for openid, session_key and (when bound to Open Platform) unionid."""
        params = {"appid": self.app_id, "secret": self._app_secret, "js_code": code, "grant_type": "authorization_code"}
        payload = self.call("GET", "/sns/jscode2session", params=params)
        return {
            "openid": required_field(payload, "openid", "/sns/jscode2session"),
            "session_key": required_field(payload, "session_key", "/sns/jscode2session"),
            "unionid": payload.get("unionid"),
        }

    def fetch_stable_token(self, force_refresh: bool = False) -> tuple[str, int]:
        """Ask for the AppID's stable access_token; returns (token, seconds it stays valid)."""
        body = {
            "grant_type": "client_credential",
            "appid": self.app_id,
            "secret": self._app_secret,
            "force_refresh": force_refresh,
        }
        payload = self.call("POST", "/cgi-bin/stable_token", body=body)
        token = required_field(payload, "access_token", "/cgi-bin/stable_token")
        return token, int(required_field(payload, "expires_in", "/cgi-bin/stable_token"))

    def get_phone_number(self, access_token: str, code: str) -> PhoneInfo:
        """Exchange a getPhoneNumber code for the user's phone_info."""
        path = "/wxa/business/getuserphonenumber"
        payload = self.call("POST", path, params={"access_token": access_token}, body={"code": code})
        return required_field(payload, "phone_info", path)

    def send_subscribe_message(
        self,
        access_token: str,
        *,
        touser: str,
        template_id: str,
        data: Mapping[str, Mapping[str, str]],
        page: str | None = None,
        miniprogram_state: str = "formal",
        lang: str = "zh_CN",
    ) -> None:
        """Send one subscribe message; data is WeChat's shape, {key: {"value": text}}."""
        body: dict[str, Any] = {
            "touser": touser,
            "template_id": template_id,
            "data": dict(data),
            "miniprogram_state": miniprogram_state,
            "lang": lang,
        }
        if page is not None:
            body["page"] = page
        self.call("POST", "/cgi-bin/message/subscribe/send", params={"access_token": access_token}, body=body)

    def msg_sec_check(self, access_token: str, *, openid: str, content: str, scene: int = 2) -> SecCheckResult:
        """Check user text with msgSecCheck v2; result.suggest is pass, review or risky."""
        body = {"version": 2, "openid": openid, "scene": scene, "content": content}
        payload = self.call("POST", "/wxa/msg_sec_check", params={"access_token": access_token}, body=body)
        return {"result": required_field(payload, "result", "/wxa/msg_sec_check"), "detail": payload.get("detail", [])}

    @metrics.observe_wechat_call
    def call(
        self, method: str, path: str, *, params: Mapping[str, str] | None = None, body: Mapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """One HTTP call; returns the JSON body on errcode 0, raises a WeChatError otherwise."""
        # ensure_ascii=False: Chinese text goes out as UTF-8, as WeChat's own samples send it.
        data = json.dumps(body, ensure_ascii=False).encode() if body is not None else None
        headers = {"Content-Type": "application/json; charset=utf-8"} if data is not None else None
        # WeChat may take seconds: the request's pooled database connections serve other requests meanwhile.
        release_pooled_connections()
        usage_add(app_id=self.app_id, kind="wechat_calls")  # the tenant's usage of the day (core.usage)
        try:
            response = self._session.request(
                method, self.base_url + path, params=params, data=data, headers=headers, timeout=self.timeout
            )
        except requests.Timeout:
            # "from None": requests' messages carry the full URL, whose query holds the secret or access_token.
            raise WeChatUnavailable(f"{path}: no answer within {self.timeout}s") from None
        except requests.RequestException as exc:
            raise WeChatUnavailable(f"{path}: {type(exc).__name__}") from None
        return self._parse(path, response)

    def _parse(self, path: str, response: requests.Response) -> dict[str, Any]:
        """WeChat's JSON answer, or the matching exception."""
        status = response.status_code
        if status >= 500:
            raise WeChatUnavailable(f"{path}: HTTP {status}")
        try:
            # json.loads on bytes detects UTF-8; response.json() would decode text/plain answers as Latin-1.
            payload = json.loads(response.content)
        except ValueError:
            raise WeChatUnavailable(f"{path}: answer is not JSON (HTTP {status})") from None
        if not isinstance(payload, dict):
            raise WeChatUnavailable(f"{path}: answer is not a JSON object (HTTP {status})")
        errcode = payload.get("errcode") or 0
        if errcode:
            logger.warning("WeChat %s for app_id=%s: errcode %s", path, self.app_id, errcode)
            raise error_for(int(errcode), str(payload.get("errmsg", "")))
        if status != 200:
            raise WeChatUnavailable(f"{path}: HTTP {status}")
        return payload


def required_field(payload: Mapping[str, Any], key: str, path: str) -> Any:
    """payload[key], or WeChatUnavailable when a success answer lacks it (a broken proxy, not WeChat)."""
    if key not in payload:
        raise WeChatUnavailable(f"{path}: answer has no {key!r}")
    return payload[key]
