"""The fake server itself: the dev command line, the classic token endpoint, counters and reset."""

import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

from wechat.client import WeChatClient
from wechat.fake_server import FakeWeChatServer
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
