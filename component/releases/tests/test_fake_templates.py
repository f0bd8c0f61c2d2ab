"""The fake WeChat's code management speaks WeChat's codes, and pushes an audit's end through the push part."""

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from component.releases import wechat_calls
from tests.helpers import TENANT_A
from tests.workers import wait_for
from wechat.crypto import MessageCrypto, xml_parse
from wechat.exceptions import WeChatError
from wechat.fake_server import FakeWeChatServer
from wechat.fake_server.templates import TemplatesControl

pytestmark = pytest.mark.usefixtures("tenant_db")

PUSH_TOKEN = "pushtokenfortests"
PUSH_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"


class _Receiver(BaseHTTPRequestHandler):
    received: list[tuple[dict[str, str], bytes]] = []

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        query = {key: values[0] for key, values in parse_qs(urlsplit(self.path).query).items()}
        self.received.append((query, body))
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"success")

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture
def receiver() -> Iterator[tuple[str, list[tuple[dict[str, str], bytes]]]]:
    """A mini-program's server on 127.0.0.1 that records what it is pushed."""
    received: list[tuple[dict[str, str], bytes]] = []
    handler = type("Receiver", (_Receiver,), {"received": received})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/wechat/v1/push/{TENANT_A}", received
    server.shutdown()
    server.server_close()


def committed(template_id: int, *, version: str = "1.0.0") -> None:
    ext_json = f'{{"extAppid": "{TENANT_A}"}}'
    wechat_calls.code_commit(
        app_id=TENANT_A, template_id=template_id, ext_json=ext_json, user_version=version, user_desc="d"
    )


def errcode_of(call) -> int | None:  # noqa: ANN001
    with pytest.raises(WeChatError) as raised:
        call()
    return raised.value.errcode


def test_an_audits_end_is_pushed_encrypted_to_the_apps_push_target(
    wechat: FakeWeChatServer, code: TemplatesControl, template_id: int, receiver
):
    url, received = receiver
    target = {"appid": TENANT_A, "url": url, "token": PUSH_TOKEN, "aes_key": PUSH_KEY, "mode": "safe", "format": "xml"}
    requests.post(f"{wechat.base_url}/__control__/push_targets", json=target, timeout=5).raise_for_status()
    committed(template_id)
    wechat_calls.code_submit_audit(app_id=TENANT_A, request={})
    code.decide_audit(TENANT_A, "fail", reason="类目与内容不符")

    wait_for(lambda: len(received) == 1, 10, "no push arrived")
    query, body = received[0]
    assert query["encrypt_type"] == "aes"
    crypto = MessageCrypto(token=PUSH_TOKEN, encoding_aes_key=PUSH_KEY, app_id=TENANT_A)
    message = xml_parse(crypto.decrypt(str(xml_parse(body)["Encrypt"])))
    assert (message["MsgType"], message["Event"], message["Reason"]) == ("event", "weapp_audit_fail", "类目与内容不符")
    assert "auditid" not in {key.lower() for key in message}  # WeChat's push names no audit


def test_code_management_answers_wechats_codes(wechat: FakeWeChatServer, code: TemplatesControl, template_id: int):
    assert errcode_of(lambda: wechat_calls.code_submit_audit(app_id=TENANT_A, request={})) == 86001
    assert errcode_of(lambda: wechat_calls.code_release(app_id=TENANT_A)) == 85019
    assert errcode_of(lambda: committed(424242)) == 85064
    bad_ext = {"template_id": template_id, "ext_json": '{"extAppid": "wx00000000000000b2"}', "user_version": "1"}
    assert errcode_of(lambda: wechat_calls.tenant_call(TENANT_A, "POST", "/wxa/commit", bad_ext)) == 85013
    assert errcode_of(lambda: wechat_calls.tenant_call(TENANT_A, "POST", "/wxa/release")) == 44002  # no body

    committed(template_id)
    auditid = wechat_calls.code_submit_audit(app_id=TENANT_A, request={})
    assert errcode_of(lambda: wechat_calls.code_submit_audit(app_id=TENANT_A, request={})) == 85009
    assert errcode_of(lambda: wechat_calls.code_release(app_id=TENANT_A)) == 85020
    assert errcode_of(lambda: wechat_calls.code_audit_status(app_id=TENANT_A, auditid=1)) == 85012
    code.decide_audit(TENANT_A, "success")
    assert wechat_calls.code_audit_status(app_id=TENANT_A, auditid=auditid)["status"] == 0
    wechat_calls.code_release(app_id=TENANT_A)
    assert errcode_of(lambda: wechat_calls.code_release(app_id=TENANT_A)) == 85052
    info = wechat_calls.code_version_info(app_id=TENANT_A)
    assert info["exp_info"]["exp_version"] == info["release_info"]["release_version"] == "1.0.0"
    latest = wechat_calls.code_latest_audit(app_id=TENANT_A)
    assert (latest["auditid"], latest["user_version"], latest["status"]) == (auditid, "1.0.0", 0)
