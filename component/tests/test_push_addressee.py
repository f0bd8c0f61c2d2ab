"""An authorizer's pushes are bound to it by their ToUserName: the component's keys are every authorizer's.

msg_signature covers the Token, timestamp, nonce and ciphertext (not the URL), and the ciphertext ends with the
component's AppID: one genuine push would pass at every authorizer's URL but for its ToUserName (and an
event's appid), which must be the path's tenant's.
"""

from __future__ import annotations

import secrets
import time
from typing import Any
from urllib.parse import urlencode

from django.test import Client

from component.models import Authorizer
from component.services import authorizer_user_name
from component.tests.conftest import COMPONENT_AES_KEY, COMPONENT_APP_ID, COMPONENT_TOKEN, authorize, local_path
from core.tenant_context import activate_tenant
from pushes.models import CustomerMessage, PushRecord
from tenants.models import Tenant
from tenants.selectors import tenant_context_for
from tests.helpers import TENANT_A, TENANT_B
from wechat.crypto import MessageCrypto, push_signature, xml_build
from wechat.fake_server import FakeWeChatServer
from wechat.fake_server.component import FakeComponentControl


def original_id(app_id: str) -> str:
    return f"gh_{app_id[-12:]}"  # what the fake's api_get_authorizer_info answers as user_name


def platform_push(message: dict[str, Any]) -> tuple[str, bytes]:
    """The query and body WeChat posts to the platform's message URL: the component's keys, whoever it is for."""
    crypto = MessageCrypto(token=COMPONENT_TOKEN, encoding_aes_key=COMPONENT_AES_KEY, app_id=COMPONENT_APP_ID)
    encrypted = crypto.encrypt(xml_build(message))
    stamp, nonce = str(int(time.time())), secrets.token_hex(6)
    query = {
        "timestamp": stamp,
        "nonce": nonce,
        "encrypt_type": "aes",
        "msg_signature": push_signature(COMPONENT_TOKEN, stamp, nonce, encrypted),
        "signature": push_signature(COMPONENT_TOKEN, stamp, nonce),
    }
    return urlencode(query), xml_build({"ToUserName": message.get("ToUserName", ""), "Encrypt": encrypted})


def post(app_id: str, query: str, body: bytes) -> Any:
    return Client().post(f"/wechat/v1/push/{app_id}?{query}", body, content_type="text/xml")


def tenant_rows(app_id: str) -> tuple[list[str], int]:
    with activate_tenant(tenant_context_for(Tenant.objects.get(app_id=app_id))):
        return list(CustomerMessage.objects.values_list("content", flat=True)), PushRecord.objects.count()


def text_for(app_id: str, content: str) -> dict[str, Any]:
    return {
        "ToUserName": original_id(app_id),
        "FromUserName": "o-user",
        "CreateTime": int(time.time()),
        "MsgType": "text",
        "Content": content,
        "MsgId": secrets.randbelow(10**15),
    }


def both_authorized(component: FakeComponentControl, admin_client: Client) -> None:
    for app_id in (TENANT_A, TENANT_B):
        redirect, _link = authorize(component, admin_client, app_id=app_id)
        Client().get(local_path(redirect))


def clean(*app_ids: str) -> None:
    for app_id in app_ids:
        with activate_tenant(tenant_context_for(Tenant.objects.get(app_id=app_id))):
            CustomerMessage.objects.all().delete()
            PushRecord.objects.all().delete()


def test_authorization_keeps_the_original_id(
    component: FakeComponentControl, admin_client: Client, ticket: str
) -> None:
    redirect, _link = authorize(component, admin_client, app_id=TENANT_B)
    Client().get(local_path(redirect))
    assert Authorizer.objects.get(app_id=TENANT_B).user_name == original_id(TENANT_B)


def test_one_authorizers_push_is_refused_at_another_authorizers_url(
    component: FakeComponentControl, admin_client: Client, ticket: str, queue_name: str
) -> None:
    both_authorized(component, admin_client)
    clean(TENANT_A, TENANT_B)  # other tests' pushes outlive them
    try:
        query, body = platform_push(text_for(TENANT_A, "meant for A only"))
        assert post(TENANT_A, query, body).content == b"success"
        refused = post(TENANT_B, query, body)  # byte for byte, at the other authorizer's URL
        assert refused.status_code == 403, refused.content
        assert refused.json()["error"]["code"] == "push_addressee_mismatch"
        assert tenant_rows(TENANT_B) == ([], 0)
        assert tenant_rows(TENANT_A)[1] == 1
    finally:
        clean(TENANT_A, TENANT_B)


def test_an_event_naming_another_appid_is_refused_even_addressed_right(
    component: FakeComponentControl, admin_client: Client, ticket: str, queue_name: str
) -> None:
    both_authorized(component, admin_client)
    clean(TENANT_B)
    try:
        event = {
            "ToUserName": original_id(TENANT_B),
            "FromUserName": "o-user",
            "CreateTime": int(time.time()),
            "MsgType": "event",
            "Event": "wxa_media_check",
            "appid": TENANT_A,
            "trace_id": "trace-of-a",
            "result": {"suggest": "pass", "label": 100},
        }
        answer = post(TENANT_B, *platform_push(event))
        assert answer.status_code == 403 and answer.json()["error"]["code"] == "push_addressee_mismatch"
        assert tenant_rows(TENANT_B) == ([], 0)
        answer = post(TENANT_B, *platform_push({**event, "appid": TENANT_B}))
        assert answer.content == b"success", answer.content
        assert tenant_rows(TENANT_B)[1] == 1
    finally:
        clean(TENANT_B)


def test_an_authorization_kept_before_the_original_id_was_asks_wechat_once(
    component: FakeComponentControl, admin_client: Client, ticket: str, wechat: FakeWeChatServer, queue_name: str
) -> None:
    redirect, _link = authorize(component, admin_client, app_id=TENANT_B)
    Client().get(local_path(redirect))
    Authorizer.objects.filter(app_id=TENANT_B).update(user_name="")  # as migration 0002 leaves older rows
    try:
        query, body = platform_push(text_for(TENANT_B, "hello"))
        assert post(TENANT_B, query, body).content == b"success"
        assert Authorizer.objects.get(app_id=TENANT_B).user_name == original_id(TENANT_B)
        assert authorizer_user_name(app_id=TENANT_B) == original_id(TENANT_B)
    finally:
        clean(TENANT_B)
