"""The fake server itself: the dev command line, the classic token endpoint, counters and reset."""

import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

from wechat.client import WeChatClient
from wechat.fake_server import FORCE_REFRESH_COUNTER, FORCE_REFRESH_REFUSED_COUNTER, FakeWeChatServer
from wechat.tests.conftest import App

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def _wait_for(url: str, *, seconds: float) -> requests.Response:
    deadline = time.monotonic() + seconds
    while True:
        try:
            return requests.get(url, timeout=1)
        except requests.ConnectionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_command_line_server_answers_registered_app() -> None:
    port = _free_port()
    command = [sys.executable, "-m", "wechat.fake_server", "--port", str(port), "--app", "wxcli:cli-secret"]
    process = subprocess.Popen(command, cwd=PROJECT_ROOT, stdout=subprocess.DEVNULL)
    try:
        _wait_for(f"http://127.0.0.1:{port}/__control__/counters", seconds=10)
        client = WeChatClient("wxcli", "cli-secret", base_url=f"http://127.0.0.1:{port}", timeout=2)
        assert client.code_to_session("code-cli")["openid"].startswith("openid-cli-")
    finally:
        process.terminate()
        process.wait(timeout=5)


def test_classic_token_is_new_each_call_and_old_one_still_works(app: App, fake_server: FakeWeChatServer) -> None:
    params = {"grant_type": "client_credential", "appid": app.app_id, "secret": app.secret}
    url = f"{fake_server.base_url}/cgi-bin/token"
    first = requests.get(url, params=params, timeout=2).json()["access_token"]
    second = requests.get(url, params=params, timeout=2).json()["access_token"]
    assert first != second
    answer = requests.post(
        f"{fake_server.base_url}/wxa/business/getuserphonenumber",
        params={"access_token": first},
        json={"code": "phone-13700000000"},
        timeout=2,
    ).json()
    assert answer["errcode"] == 0


def test_counters_count_calls_per_endpoint_and_app(
    app: App, client: WeChatClient, fake_server: FakeWeChatServer
) -> None:
    client.code_to_session("code-1")
    client.code_to_session("code-2")
    client.fetch_stable_token(force_refresh=True)
    counters = fake_server.control.counters(app.app_id)
    assert counters["/sns/jscode2session"] == 2
    assert counters["/cgi-bin/stable_token"] == 1
    assert counters["/cgi-bin/stable_token#force_refresh"] == 1


def test_reset_forgets_apps() -> None:
    with FakeWeChatServer(apps={"wxreset": "s"}) as server:
        server.control.reset()
        answer = requests.get(
            f"{server.base_url}/sns/jscode2session",
            params={"appid": "wxreset", "secret": "s", "js_code": "code-a", "grant_type": "authorization_code"},
            timeout=2,
        ).json()
    assert answer["errcode"] == 40013


def test_bad_control_call_answers_400(fake_server: FakeWeChatServer) -> None:
    response = requests.post(f"{fake_server.base_url}/__control__/apps", json={"secret": "no appid"}, timeout=2)
    assert response.status_code == 400


def test_the_control_client_reads_chinese_and_emoji_back_intact(app: App, client: WeChatClient, fake_server) -> None:
    token, _ = client.fetch_stable_token()
    openid = client.code_to_session("code-chinese")["openid"]
    fake_server.control.add_template(app.app_id, "tmpl-zh")
    fake_server.control.grant_subscription(app.app_id, openid=openid, template_id="tmpl-zh")
    client.send_subscribe_message(token, touser=openid, template_id="tmpl-zh", data={"thing1": {"value": "发货了😀"}})
    [sent] = fake_server.control.messages(app.app_id)
    assert sent["data"] == {"thing1": {"value": "发货了😀"}}


def _force_refresh(fake_server: FakeWeChatServer, app: App) -> dict:
    body: dict[str, str | bool] = {
        "grant_type": "client_credential",
        "appid": app.app_id,
        "secret": app.secret,
        "force_refresh": True,
    }
    return requests.post(f"{fake_server.base_url}/cgi-bin/stable_token", json=body, timeout=2).json()


def test_force_refresh_is_refused_under_30_seconds_apart_and_past_20_a_day(
    app: App, fake_server: FakeWeChatServer
) -> None:
    control = fake_server.control
    assert "access_token" in _force_refresh(fake_server, app)
    assert _force_refresh(fake_server, app)["errcode"] == 45011  # WeChat: at least 30 s apart
    control.advance_clock(30)
    assert "access_token" in _force_refresh(fake_server, app)
    for _ in range(18):
        control.advance_clock(30)
        assert "access_token" in _force_refresh(fake_server, app)
    control.advance_clock(30)
    assert _force_refresh(fake_server, app)["errcode"] == 45009  # the 21st of the day
    control.advance_clock(86_400)
    assert "access_token" in _force_refresh(fake_server, app)
    counters = control.counters(app.app_id)
    assert counters[FORCE_REFRESH_COUNTER] == 23 and counters[FORCE_REFRESH_REFUSED_COUNTER] == 2


def test_a_refused_force_refresh_leaves_the_current_token_valid(app: App, fake_server: FakeWeChatServer) -> None:
    token = _force_refresh(fake_server, app)["access_token"]
    _force_refresh(fake_server, app)
    answer = requests.post(
        f"{fake_server.base_url}/wxa/business/getuserphonenumber",
        params={"access_token": token},
        json={"code": "phone-13700000001"},
        timeout=2,
    ).json()
    assert answer["errcode"] == 0


def test_a_holder_refused_a_force_refresh_by_wechat_falls_back_to_a_normal_fetch(
    app: App, fake_server: FakeWeChatServer, make_holder
) -> None:
    # Another environment (a holder with its own Redis record) just force-refreshed this AppID: WeChat refuses
    # ours with 45011, and the holder still answers the current token instead of failing the request.
    other_token = _force_refresh(fake_server, app)["access_token"]
    holder = make_holder(app)
    rejected = holder.get_token(app.app_id)
    fake_server.control.rotate_token(app.app_id)
    assert holder.token_rejected(app.app_id, rejected) not in (rejected, other_token)
    assert fake_server.control.counters(app.app_id)[FORCE_REFRESH_REFUSED_COUNTER] == 1


def test_a_get_to_a_post_api_answers_wechats_43302_as_json(app: App, client: WeChatClient, fake_server) -> None:
    token, _ = client.fetch_stable_token()
    response = requests.get(f"{fake_server.base_url}/wxa/msg_sec_check", params={"access_token": token}, timeout=2)
    assert response.status_code == 200
    assert json.loads(response.content)["errcode"] == 43302
