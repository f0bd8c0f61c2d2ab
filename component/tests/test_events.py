"""The authorization-event receiver: WeChat's signed, encrypted pushes are acted on; anything else changes nothing."""

from __future__ import annotations

import time
from urllib.parse import urlencode

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import Client

from component.models import ComponentTicket
from component.tests.conftest import (
    COMPONENT_AES_KEY,
    COMPONENT_APP_ID,
    COMPONENT_TOKEN,
    EVENTS_PATH,
    deliver,
    deliver_all,
)
from component.tokens import ticket_current
from wechat.crypto import MessageCrypto, push_signature, xml_build
from wechat.fake_server.component import FakeComponentControl

TICKET_FIELDS = {"InfoType": "component_verify_ticket", "ComponentVerifyTicket": "t"}


def _signed_push(fields: dict[str, object], *, app_id: str = COMPONENT_APP_ID, token: str = COMPONENT_TOKEN) -> dict:
    """A push as WeChat makes it, for fields the fake would not send."""
    crypto = MessageCrypto(token=token, encoding_aes_key=COMPONENT_AES_KEY, app_id=app_id)
    encrypted = crypto.encrypt(xml_build({"AppId": app_id, "CreateTime": int(time.time()), **fields}))
    timestamp, nonce = str(int(time.time())), "nonce123"
    query = {
        "timestamp": timestamp,
        "nonce": nonce,
        "encrypt_type": "aes",
        "msg_signature": push_signature(token, timestamp, nonce, encrypted),
    }
    return {"query": query, "body": xml_build({"AppId": app_id, "Encrypt": encrypted}).decode()}


def test_a_ticket_push_is_kept_encrypted_in_the_database_and_in_redis(component: FakeComponentControl) -> None:
    issued = component.push_ticket()
    deliver_all(component)
    row = ComponentTicket.objects.get(component_app_id=COMPONENT_APP_ID)
    assert issued not in row.ticket_encrypted
    assert ticket_current() == issued


def test_a_push_with_a_wrong_signature_is_refused_and_changes_nothing(component: FakeComponentControl) -> None:
    component.push_ticket()
    (push,) = component.take_pushes()
    push["query"]["msg_signature"] = "0" * 40
    answer = deliver(Client(), push)
    assert answer.status_code == 400
    assert answer.json()["error"] == {
        "code": "push_refused",
        "message": "This push is not a valid one from WeChat for this platform.",
        "reason": "signature",
    }
    assert not ComponentTicket.objects.exists()


@pytest.mark.parametrize(
    ("push", "reason"),
    [
        (lambda: _signed_push({"InfoType": "notify_third_fasteregister", "AuthorizerAppid": "wx1"}), "format"),
        (
            lambda: _signed_push({"InfoType": "component_verify_ticket", "ComponentVerifyTicket": "t"}, app_id="wxo"),
            "appid",
        ),
        (
            lambda: _signed_push({"InfoType": "component_verify_ticket", "ComponentVerifyTicket": "t"}, token="x"),
            "signature",
        ),
    ],
    ids=["unknown-info-type", "other-component", "other-token"],
)
def test_pushes_not_ours_to_act_on_are_refused(component: FakeComponentControl, push, reason: str) -> None:  # noqa: ANN001
    answer = deliver(Client(), push())
    assert answer.status_code == 400 and answer.json()["error"]["reason"] == reason
    assert not ComponentTicket.objects.exists()


def test_a_replayed_push_past_the_time_window_is_refused(component: FakeComponentControl) -> None:
    push = _signed_push({"InfoType": "component_verify_ticket", "ComponentVerifyTicket": "old"})
    old = str(int(time.time()) - 3600)
    crypto_body = push["body"]
    encrypted = crypto_body.split("<Encrypt><![CDATA[")[1].split("]]>")[0]
    push["query"] |= {"timestamp": old, "msg_signature": push_signature(COMPONENT_TOKEN, old, "nonce123", encrypted)}
    answer = deliver(Client(), push)
    assert answer.status_code == 400 and answer.json()["error"]["reason"] == "timestamp"


def test_plain_mode_and_xml_entities_are_refused(component: FakeComponentControl) -> None:
    client = Client()
    plain = client.post(
        f"{EVENTS_PATH}?{urlencode({'timestamp': '1', 'nonce': 'n'})}", "<xml/>", content_type="text/xml"
    )
    assert plain.status_code == 400 and plain.json()["error"]["reason"] == "format"
    bomb = '<!DOCTYPE x [<!ENTITY a "aaaa">]><xml><Encrypt>&a;</Encrypt></xml>'
    answer = client.post(f"{EVENTS_PATH}?encrypt_type=aes", bomb, content_type="text/xml")
    assert answer.status_code == 400 and answer.json()["error"]["reason"] == "format"


def test_the_receiver_answers_409_when_open_platform_mode_is_off(tenant_db: None) -> None:
    answer = Client().post(EVENTS_PATH, "<xml/>", content_type="text/xml")
    assert answer.status_code == 409 and answer.json()["error"]["code"] == "component_not_configured"


def test_the_component_settings_are_required_together(settings) -> None:  # noqa: ANN001
    settings.WECHAT_COMPONENT_APPID = COMPONENT_APP_ID
    with pytest.raises(SystemCheckError, match="component.E001"):
        call_command("check")
    settings.WECHAT_COMPONENT_APPSECRET = "s"
    settings.WECHAT_COMPONENT_TOKEN = "t"
    settings.WECHAT_COMPONENT_AES_KEY = "too-short"
    with pytest.raises(SystemCheckError, match="component.E002"):
        call_command("check")
