"""The fake WeChat's push side: what it sends is signed and encrypted as WeChat's documentation says."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from wechat.crypto import MessageCrypto, push_signature, signature_valid, xml_parse
from wechat.fake_server import FakeWeChatControl, FakeWeChatServer
from wechat.fake_server.push import PushTarget, push_build, push_deliver

APP_ID = "wx00000000000000d4"
TOKEN = "faketoken123"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"


class Receiver:
    """A mini-program's server on 127.0.0.1 that keeps every request and answers "success" (or echostr)."""

    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.failures_left = 0  # answer this many POSTs with a 500 first
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                query = {key: values[0] for key, values in parse_qs(urlsplit(self.path).query).items()}
                self._answer(query.get("echostr", "").encode() if receiver.echo_ok(query) else b"no")

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                query = {key: values[0] for key, values in parse_qs(urlsplit(self.path).query).items()}
                item = {"query": query, "body": self.rfile.read(length), "type": self.headers.get("Content-Type")}
                with receiver.lock:
                    receiver.requests.append(item)
                    failing = receiver.failures_left > 0
                    receiver.failures_left -= 1 if failing else 0
                if failing:
                    self._answer(b"busy", status=500)
                else:
                    self._answer(b"success")

            def _answer(self, data: bytes, status: int = 200) -> None:
                self.send_response(status)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/wechat/v1/push/{APP_ID}"

    def echo_ok(self, query: dict[str, str]) -> bool:
        return signature_valid(query.get("signature"), TOKEN, query.get("timestamp", ""), query.get("nonce", ""))

    def wait_for(self, count: int, seconds: float = 10) -> list[dict[str, Any]]:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.requests) >= count:
                    return list(self.requests)
            time.sleep(0.01)
        raise AssertionError(f"{len(self.requests)} requests arrived, not {count}")


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    thread = threading.Thread(target=receiver.server.serve_forever, daemon=True)
    thread.start()
    yield receiver
    receiver.server.shutdown()
    receiver.server.server_close()


@pytest.fixture
def push_control(fake_server: FakeWeChatServer) -> Iterator[FakeWeChatControl]:
    yield fake_server.control
    fake_server.control.reset()


def opened(item: dict[str, Any], *, data_format: str, mode: str) -> dict[str, Any]:
    """What a receiver makes of a request after checking it as WeChat's documentation says."""
    query = item["query"]
    outer = xml_parse(item["body"]) if data_format == "xml" else json.loads(item["body"])
    assert signature_valid(query["signature"], TOKEN, query["timestamp"], query["nonce"])
    if mode == "plain":
        assert "encrypt_type" not in query
        return outer
    assert query["encrypt_type"] == "aes"
    assert query["msg_signature"] == push_signature(TOKEN, query["timestamp"], query["nonce"], outer["Encrypt"])
    if mode == "safe":
        assert set(outer) == {"ToUserName", "Encrypt"}
    inner = MessageCrypto(token=TOKEN, encoding_aes_key=AES_KEY, app_id=APP_ID).decrypt(outer["Encrypt"])
    return xml_parse(inner) if data_format == "xml" else json.loads(inner)


@pytest.mark.parametrize("data_format", ["json", "xml"])
@pytest.mark.parametrize("mode", ["plain", "compatible", "safe"])
def test_the_fake_pushes_signed_and_encrypted_in_each_mode_and_format(push_control, receiver, mode, data_format):
    push_control.set_push_target(
        APP_ID, url=receiver.url, token=TOKEN, aes_key=AES_KEY, mode=mode, data_format=data_format
    )
    outcomes = push_control.push(APP_ID, {"MsgType": "text", "Content": "你好", "MsgId": "42"}, wait=True)
    assert [(outcome["status"], outcome["body"]) for outcome in outcomes] == [(200, "success")]
    [item] = receiver.wait_for(1)
    message = opened(item, data_format=data_format, mode=mode)
    assert (message["MsgType"], message["Content"], str(message["MsgId"])) == ("text", "你好", "42")
    assert message["ToUserName"].startswith("gh_") and str(message["CreateTime"]).isdigit()
    assert item["type"] == ("text/xml" if data_format == "xml" else "application/json")


def test_duplicates_arrive_as_wechats_retries_same_message_new_signature(push_control, receiver):
    push_control.set_push_target(APP_ID, url=receiver.url, token=TOKEN, aes_key=AES_KEY, mode="safe")
    push_control.push(APP_ID, {"MsgType": "event", "Event": "x"}, duplicates=4)  # at once, not waiting
    items = receiver.wait_for(5)
    messages = [opened(item, data_format="json", mode="safe") for item in items]
    assert len({json.dumps(message, sort_keys=True) for message in messages}) == 1
    assert len({item["query"]["nonce"] for item in items}) == 5
    # Each delivery is recorded once its answer is read, a moment after the receiver has the request.
    deadline = time.monotonic() + 10
    while len(deliveries := push_control.push_deliveries(APP_ID)) < 5 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert len(deliveries) == 5 and {delivery["status"] for delivery in deliveries} == {200}


def test_the_url_check_signs_with_the_targets_token(push_control, receiver):
    push_control.set_push_target(APP_ID, url=receiver.url, token=TOKEN, mode="plain")
    assert push_control.push_url_check(APP_ID) is True
    push_control.set_push_target(APP_ID, url=receiver.url, token="anothertoken", mode="plain")
    assert push_control.push_url_check(APP_ID) is False


def test_a_delay_holds_the_push_back(push_control, receiver):
    push_control.set_push_target(APP_ID, url=receiver.url, token=TOKEN, mode="plain")
    started = time.monotonic()
    push_control.push(APP_ID, {"MsgType": "text", "MsgId": "1"}, delay=0.3)
    receiver.wait_for(1)
    assert time.monotonic() - started >= 0.3


def test_push_deliver_is_what_other_parts_of_the_fake_call(fake_server, push_control, receiver):
    push_control.set_push_target(APP_ID, url=receiver.url, token=TOKEN, aes_key=AES_KEY, mode="safe", data_format="xml")
    threads = push_deliver(fake_server.state, APP_ID, {"MsgType": "event", "Event": "wxa_media_check", "trace_id": "t"})
    for thread in threads:
        thread.join(10)
    [item] = receiver.wait_for(1)
    assert opened(item, data_format="xml", mode="safe")["trace_id"] == "t"


@pytest.mark.parametrize(
    "body",
    [
        {"appid": APP_ID, "url": "http://127.0.0.1:1/", "token": TOKEN, "mode": "loud"},
        {"appid": APP_ID, "url": "http://127.0.0.1:1/", "token": TOKEN, "mode": "safe", "aes_key": "short"},
        {"appid": APP_ID, "token": TOKEN, "mode": "plain"},
    ],
    ids=["mode", "aes-key", "no-url"],
)
def test_bad_targets_are_400(fake_server, push_control, body):
    response = requests.post(f"{fake_server.base_url}/__control__/push_targets", json=body, timeout=5)
    assert response.status_code == 400


def test_a_push_for_an_app_without_target_is_400_and_reset_forgets_targets(fake_server, push_control, receiver):
    push_control.set_push_target(APP_ID, url=receiver.url, token=TOKEN, mode="plain")
    push_control.reset()
    response = requests.post(
        f"{fake_server.base_url}/__control__/pushes", json={"appid": APP_ID, "message": {}}, timeout=5
    )
    assert response.status_code == 400


def test_push_build_can_sign_or_encrypt_as_someone_else():
    target = PushTarget(app_id=APP_ID, url="/p", token=TOKEN, aes_key=AES_KEY, mode="safe", format="json")
    built = push_build(target, {"MsgType": "text"}, sign_token="other", encrypt_app_id="wx00000000000000ff")
    query = {key: values[0] for key, values in parse_qs(urlsplit(built.url).query).items()}
    encrypted = json.loads(built.body)["Encrypt"]
    assert query["msg_signature"] == push_signature("other", query["timestamp"], query["nonce"], encrypted)
    other = MessageCrypto(token=TOKEN, encoding_aes_key=AES_KEY, app_id="wx00000000000000ff")
    assert json.loads(other.decrypt(encrypted)) == {"MsgType": "text"}


def test_a_push_not_answered_success_is_pushed_again_up_to_its_retries(push_control, receiver):
    push_control.set_push_target(APP_ID, url=receiver.url, token=TOKEN, aes_key=AES_KEY, mode="safe")
    receiver.failures_left = 2
    outcomes = push_control.push(APP_ID, {"MsgType": "text", "MsgId": "77"}, retries=3, wait=True)
    assert [(outcome["attempt"], outcome["status"]) for outcome in outcomes] == [(1, 500), (2, 500), (3, 200)]
    items = receiver.wait_for(3)
    assert len({item["query"]["nonce"] for item in items}) == 3  # each attempt signed anew
    assert {opened(item, data_format="json", mode="safe")["MsgId"] for item in items} == {"77"}
    receiver.failures_left = 5
    gave_up = push_control.push(APP_ID, {"MsgType": "text", "MsgId": "78"}, retries=1, wait=True)
    assert [outcome["status"] for outcome in gave_up] == [500, 500]
