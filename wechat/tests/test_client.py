import logging
import socket
from collections.abc import Callable
from typing import Any

import pytest
import requests

from wechat import exceptions as exc
from wechat.client import WeChatClient
from wechat.fake_server import FakeWeChatControl, fake_openid, fake_unionid
from wechat.tests.conftest import App

TEMPLATE_ID = "tmpl-order-shipped"
DATA = {"thing1": {"value": "Your order"}, "time2": {"value": "2025-01-01 10:00"}}


def _login(client: WeChatClient, code: str = "code-alice") -> str:
    return client.code_to_session(code)["openid"]


def test_code_to_session_returns_openid_and_session_key(app: App, client: WeChatClient) -> None:
    session = client.code_to_session("code-alice")
    assert session["openid"] == fake_openid(app.app_id, "code-alice")
    assert len(session["session_key"]) == 24
    assert session["unionid"] is None


def test_code_to_session_returns_unionid_when_bound_to_open_platform(
    make_app: Callable[..., App], make_client: Callable[[App], WeChatClient]
) -> None:
    client = make_client(make_app(unionid=True))
    assert client.code_to_session("code-bob")["unionid"] == fake_unionid("code-bob")


def test_same_code_under_two_app_ids_gives_two_openids(
    make_app: Callable[..., App], make_client: Callable[[App], WeChatClient]
) -> None:
    first, second = make_client(make_app()), make_client(make_app())
    assert _login(first, "code-same") != _login(second, "code-same")


def test_reused_login_code_raises_code_invalid(client: WeChatClient) -> None:
    client.code_to_session("code-once")
    with pytest.raises(exc.WeChatCodeInvalid) as raised:
        client.code_to_session("code-once")
    assert raised.value.errcode == 40163  # WeChat's "code been used"


def test_unknown_app_id_raises_app_id_invalid(fake_server: Any) -> None:
    client = WeChatClient("wx-not-registered", "secret", base_url=fake_server.base_url, timeout=2)
    with pytest.raises(exc.WeChatAppIdInvalid):
        client.code_to_session("code-x")


def test_wrong_secret_raises_secret_invalid(app: App, fake_server: Any) -> None:
    client = WeChatClient(app.app_id, "wrong-secret", base_url=fake_server.base_url, timeout=2)
    with pytest.raises(exc.WeChatSecretInvalid):
        client.fetch_stable_token()


def test_stable_token_is_the_same_until_force_refresh(client: WeChatClient) -> None:
    first, expires_in = client.fetch_stable_token()
    second, _ = client.fetch_stable_token()
    forced, _ = client.fetch_stable_token(force_refresh=True)
    assert first == second
    assert forced != first
    assert 7000 < expires_in <= 7200


def test_old_token_after_rotation_raises_token_invalid(
    app: App, client: WeChatClient, control: FakeWeChatControl
) -> None:
    old, _ = client.fetch_stable_token()
    openid = _login(client)
    control.rotate_token(app.app_id)
    with pytest.raises(exc.WeChatTokenInvalid) as raised:
        client.msg_sec_check(old, openid=openid, content="hello")
    assert raised.value.errcode == 40001


def test_expired_token_raises_token_invalid_with_42001(
    app: App, client: WeChatClient, control: FakeWeChatControl
) -> None:
    token, _ = client.fetch_stable_token()
    control.expire_token(app.app_id)
    with pytest.raises(exc.WeChatTokenInvalid) as raised:
        client.get_phone_number(token, "phone-13800138000")
    assert raised.value.errcode == 42001


def test_get_phone_number_returns_phone_info_once_per_code(app: App, client: WeChatClient) -> None:
    token, _ = client.fetch_stable_token()
    info = client.get_phone_number(token, "phone-13800138000")
    assert info["purePhoneNumber"] == "13800138000"
    assert info["watermark"]["appid"] == app.app_id
    with pytest.raises(exc.WeChatCodeInvalid):
        client.get_phone_number(token, "phone-13800138000")


def test_subscribe_message_uses_one_granted_subscription(
    app: App, client: WeChatClient, control: FakeWeChatControl
) -> None:
    token, _ = client.fetch_stable_token()
    openid = _login(client)
    control.add_template(app.app_id, TEMPLATE_ID)
    control.grant_subscription(app.app_id, openid=openid, template_id=TEMPLATE_ID)
    client.send_subscribe_message(token, touser=openid, template_id=TEMPLATE_ID, data=DATA, page="pages/order")
    with pytest.raises(exc.WeChatSubscribeRefused):
        client.send_subscribe_message(token, touser=openid, template_id=TEMPLATE_ID, data=DATA)
    sent = control.messages(app.app_id)
    assert [(m["touser"], m["page"], m["data"]) for m in sent] == [(openid, "pages/order", DATA)]


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"touser": "openid-unknown"}, exc.WeChatOpenIdInvalid),
        ({"template_id": "tmpl-unknown"}, exc.WeChatTemplateInvalid),
        ({"data": {"thing1": "not an object"}}, exc.WeChatArgumentInvalid),
        ({"page": "pages/missing"}, exc.WeChatPageInvalid),
    ],
)
def test_subscribe_message_errors(
    make_app: Callable[..., App],
    make_client: Callable[[App], WeChatClient],
    control: FakeWeChatControl,
    change: dict[str, Any],
    error: type[exc.WeChatError],
) -> None:
    app = make_app(pages=["pages/order"])
    client = make_client(app)
    token, _ = client.fetch_stable_token()
    openid = _login(client)
    control.add_template(app.app_id, TEMPLATE_ID)
    control.grant_subscription(app.app_id, openid=openid, template_id=TEMPLATE_ID)
    arguments = {"touser": openid, "template_id": TEMPLATE_ID, "data": DATA, "page": "pages/order", **change}
    with pytest.raises(error):
        client.send_subscribe_message(token, **arguments)


def test_msg_sec_check_passes_clean_text_and_flags_risky_words(client: WeChatClient) -> None:
    token, _ = client.fetch_stable_token()
    openid = _login(client)
    clean = client.msg_sec_check(token, openid=openid, content="你好, hello")
    risky = client.msg_sec_check(token, openid=openid, content="buy risky-word now", scene=3)
    assert clean["result"]["suggest"] == "pass"
    assert risky["result"]["suggest"] == "risky"
    assert risky["detail"][0]["keyword"] == "risky-word"


def test_msg_sec_check_openid_of_another_app_raises_mismatch(
    make_app: Callable[..., App], make_client: Callable[[App], WeChatClient]
) -> None:
    first, second = make_client(make_app()), make_client(make_app())
    token, _ = first.fetch_stable_token()
    with pytest.raises(exc.WeChatOpenIdMismatch):
        first.msg_sec_check(token, openid=_login(second), content="hello")


def test_msg_sec_check_bad_scene_raises_scene_invalid(client: WeChatClient) -> None:
    token, _ = client.fetch_stable_token()
    with pytest.raises(exc.WeChatSceneInvalid):
        client.msg_sec_check(token, openid=_login(client), content="hello", scene=9)


class _RecordingSession(requests.Session):
    def __init__(self) -> None:
        super().__init__()
        self.sent: list[requests.PreparedRequest] = []

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        self.sent.append(request)
        return super().send(request, **kwargs)


def test_access_token_goes_in_the_query_string_never_the_body(app: App, fake_server: Any) -> None:
    session = _RecordingSession()
    client = WeChatClient(app.app_id, app.secret, base_url=fake_server.base_url, timeout=2, session=session)
    token, _ = client.fetch_stable_token()
    client.get_phone_number(token, "phone-13900000000")
    request = session.sent[-1]
    assert f"access_token={token}" in str(request.url)
    assert isinstance(request.body, bytes)  # the JSON body of getuserphonenumber
    assert token.encode() not in request.body


def test_fake_server_rejects_access_token_in_body_with_47001(client: WeChatClient, fake_server: Any) -> None:
    token, _ = client.fetch_stable_token()
    url = f"{fake_server.base_url}/wxa/business/getuserphonenumber?access_token={token}"
    answer = requests.post(url, json={"access_token": token, "code": "phone-1"}, timeout=2).json()
    assert answer["errcode"] == 47001
    assert isinstance(exc.error_for(answer["errcode"], answer["errmsg"]), exc.WeChatMalformedRequest)


INJECTED = [
    ("/sns/jscode2session", -1, exc.WeChatBusy),
    ("/sns/jscode2session", 40029, exc.WeChatCodeInvalid),
    ("/sns/jscode2session", 45011, exc.WeChatRateLimited),
    ("/sns/jscode2session", 40226, exc.WeChatUserBlocked),
    ("/cgi-bin/stable_token", 40013, exc.WeChatAppIdInvalid),
    ("/cgi-bin/stable_token", 40125, exc.WeChatSecretInvalid),
    ("/cgi-bin/stable_token", 40164, exc.WeChatIpNotAllowed),
    ("/cgi-bin/stable_token", 89503, exc.WeChatRiskyIp),
    ("/wxa/msg_sec_check", 40001, exc.WeChatTokenInvalid),
    ("/wxa/msg_sec_check", 42001, exc.WeChatTokenInvalid),
    ("/wxa/msg_sec_check", 40003, exc.WeChatOpenIdInvalid),
    ("/wxa/msg_sec_check", 40129, exc.WeChatSceneInvalid),
    ("/wxa/msg_sec_check", 43104, exc.WeChatOpenIdMismatch),
    ("/wxa/msg_sec_check", 47001, exc.WeChatMalformedRequest),
    ("/cgi-bin/message/subscribe/send", 40003, exc.WeChatOpenIdInvalid),
    ("/cgi-bin/message/subscribe/send", 40037, exc.WeChatTemplateInvalid),
    ("/cgi-bin/message/subscribe/send", 43101, exc.WeChatSubscribeRefused),
    ("/cgi-bin/message/subscribe/send", 47003, exc.WeChatArgumentInvalid),
    ("/cgi-bin/message/subscribe/send", 41030, exc.WeChatPageInvalid),
    ("/wxa/business/getuserphonenumber", 40029, exc.WeChatCodeInvalid),
]


def _call_endpoint(client: WeChatClient, endpoint: str, token: str, openid: str) -> None:
    calls: dict[str, Callable[[], object]] = {
        "/sns/jscode2session": lambda: client.code_to_session("code-injected"),
        "/cgi-bin/stable_token": lambda: client.fetch_stable_token(),
        "/wxa/msg_sec_check": lambda: client.msg_sec_check(token, openid=openid, content="hi"),
        "/cgi-bin/message/subscribe/send": lambda: client.send_subscribe_message(
            token, touser=openid, template_id=TEMPLATE_ID, data=DATA
        ),
        "/wxa/business/getuserphonenumber": lambda: client.get_phone_number(token, "phone-1"),
    }
    calls[endpoint]()


@pytest.mark.parametrize(("endpoint", "errcode", "error"), INJECTED)
def test_errcode_from_wechat_becomes_its_exception(
    app: App,
    client: WeChatClient,
    control: FakeWeChatControl,
    endpoint: str,
    errcode: int,
    error: type[exc.WeChatError],
) -> None:
    token, _ = client.fetch_stable_token()
    openid = _login(client)
    control.fail_next(endpoint, errcode=errcode, app_id=app.app_id)
    with pytest.raises(error) as raised:
        _call_endpoint(client, endpoint, token, openid)
    assert raised.value.errcode == errcode


def test_time_out_raises_unavailable(app: App, fake_server: Any, control: FakeWeChatControl) -> None:
    control.set_delay("/cgi-bin/stable_token", 1.0, app_id=app.app_id)
    client = WeChatClient(app.app_id, app.secret, base_url=fake_server.base_url, timeout=0.2)
    with pytest.raises(exc.WeChatUnavailable) as raised:
        client.fetch_stable_token()
    assert raised.value.retryable


@pytest.mark.parametrize(("status", "raw"), [(502, None), (503, '{"errcode": 0}'), (200, "<html>proxy</html>")])
def test_5xx_or_non_json_answer_raises_unavailable(
    app: App, client: WeChatClient, control: FakeWeChatControl, status: int, raw: str | None
) -> None:
    control.fail_next("/cgi-bin/stable_token", status=status, raw=raw, app_id=app.app_id)
    with pytest.raises(exc.WeChatUnavailable):
        client.fetch_stable_token()


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_connection_error_raises_unavailable_without_the_secret(app: App) -> None:
    client = WeChatClient(app.app_id, app.secret, base_url=f"http://127.0.0.1:{_closed_port()}", timeout=1)
    with pytest.raises(exc.WeChatUnavailable) as raised:
        client.code_to_session("code-x")
    assert app.secret not in str(raised.value)
    # requests' own exception names the URL (with the secret): it must not ride along as the cause or context.
    assert raised.value.__cause__ is None
    assert raised.value.__suppress_context__


def test_secret_and_session_key_are_never_logged(
    app: App, client: WeChatClient, control: FakeWeChatControl, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="wechat")
    session = client.code_to_session("code-logged")
    control.fail_next("/sns/jscode2session", errcode=-1, app_id=app.app_id)
    with pytest.raises(exc.WeChatBusy):
        client.code_to_session("code-logged-2")
    assert app.app_id in caplog.text  # the failure was logged, with its tenant
    assert app.secret not in caplog.text
    assert session["session_key"] not in caplog.text
    assert app.secret not in repr(client)
