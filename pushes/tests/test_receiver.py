"""The receiver /wechat/v1/push/<app_id>: the URL check, and each mode x format with every refusal changing nothing."""

import json
import time

import pytest
from django.test import Client

from pushes.tests.conftest import PushTenant, new_aes_key, run_jobs
from tests.helpers import TENANT_A, TENANT_B
from wechat.crypto import MessageCrypto, push_signature, xml_parse
from wechat.fake_server.push import push_build
from wechat.tests.test_crypto import BILLION_LAUGHS, EXTERNAL_ENTITY

MODES = ["plain", "compatible", "safe"]
FORMATS = ["json", "xml"]
ENCRYPTED_MODES = ["compatible", "safe"]


def text_message(content: str = "hello", msg_id: str = "7000000000000000001") -> dict:
    return {
        "FromUserName": "o-user-1",
        "CreateTime": int(time.time()),
        "MsgType": "text",
        "Content": content,
        "MsgId": msg_id,
    }


def refused(response, status: int, code: str) -> None:  # noqa: ANN001
    assert response.status_code == status, response.content
    assert response.json()["error"]["code"] == code


# --- The server-URL check ----------------------------------------------------------------------------------


def url_check(tenant: PushTenant, *, token: str | None = None, path: str | None = None):  # noqa: ANN201
    stamp, nonce = str(int(time.time())), "n0nce"
    query = {
        "signature": push_signature(token or tenant.token, stamp, nonce),
        "timestamp": stamp,
        "nonce": nonce,
        "echostr": "echo-1234",
    }
    return Client().get(path or tenant.path, query)


def test_url_check_echoes_echostr_when_the_signature_is_the_tokens(push_tenant):
    tenant = push_tenant(TENANT_A)
    response = url_check(tenant)
    assert response.status_code == 200
    assert response.content == b"echo-1234"
    assert response["Content-Type"].startswith("text/plain")


def test_url_check_with_another_token_is_403_and_nothing_else(push_tenant):
    tenant = push_tenant(TENANT_A)
    response = url_check(tenant, token="someoneelse")
    refused(response, 403, "push_signature_invalid")
    assert b"echo-1234" not in response.content
    assert tenant.records() == []


def test_url_check_without_a_signature_is_403(push_tenant):
    tenant = push_tenant(TENANT_A)
    refused(Client().get(tenant.path, {"echostr": "x"}), 403, "push_signature_invalid")


def test_a_tenant_without_push_settings_is_404(pushes_db):
    refused(Client().get(f"/wechat/v1/push/{TENANT_B}", {"echostr": "x"}), 404, "push_not_configured")


def test_a_malformed_app_id_is_400(pushes_db):
    refused(Client().get("/wechat/v1/push/not-an-appid", {"echostr": "x"}), 400, "app_id_invalid")


def test_the_receiver_needs_no_x_appid_and_takes_only_get_and_post(push_tenant):
    tenant = push_tenant(TENANT_A)
    assert Client().put(tenant.path).status_code == 405


# --- Each mode x format -------------------------------------------------------------------------------------


@pytest.mark.parametrize("data_format", FORMATS)
@pytest.mark.parametrize("mode", MODES)
def test_a_good_push_is_answered_success_and_recorded_once_with_its_job(push_tenant, mode, data_format):
    tenant = push_tenant(TENANT_A, mode=mode, data_format=data_format)
    response = tenant.push(text_message("hi there"))
    assert response.status_code == 200, response.content
    assert response.content == b"success"
    [record] = tenant.records()
    assert record.kind == "text" and record.outcome == "pending"
    assert record.message["Content"] == "hi there"
    assert run_jobs() == 0
    [message] = tenant.customer_messages()
    assert (message.openid, message.kind, message.content) == ("o-user-1", "text", "hi there")
    assert tenant.records()[0].outcome == "handled"


@pytest.mark.parametrize("data_format", FORMATS)
@pytest.mark.parametrize("mode", MODES)
def test_a_push_signed_with_another_token_is_refused_and_changes_nothing(push_tenant, mode, data_format):
    tenant = push_tenant(TENANT_A, mode=mode, data_format=data_format)
    refused(tenant.push(text_message(), sign_token="notthetoken"), 403, "push_signature_invalid")
    assert tenant.records() == []


@pytest.mark.parametrize("data_format", FORMATS)
@pytest.mark.parametrize("mode", ENCRYPTED_MODES)
def test_a_push_encrypted_for_another_app_id_is_refused(push_tenant, mode, data_format):
    tenant = push_tenant(TENANT_A, mode=mode, data_format=data_format)
    built = tenant.build(text_message(), encrypt_app_id="wx00000000000000ff")
    refused(tenant.post(built), 403, "push_app_id_mismatch")
    assert tenant.records() == []


@pytest.mark.parametrize("data_format", FORMATS)
@pytest.mark.parametrize("mode", MODES)
def test_a_replayed_push_from_long_ago_is_refused(push_tenant, mode, data_format):
    tenant = push_tenant(TENANT_A, mode=mode, data_format=data_format)
    built = tenant.build(text_message(), timestamp=int(time.time()) - 3600)
    refused(tenant.post(built), 403, "push_timestamp_invalid")
    assert tenant.records() == []


@pytest.mark.parametrize("data_format", FORMATS)
@pytest.mark.parametrize("mode", MODES)
def test_an_oversize_push_is_413_and_changes_nothing(push_tenant, settings, mode, data_format):
    settings.PUSH_MAX_BODY_BYTES = 4096
    tenant = push_tenant(TENANT_A, mode=mode, data_format=data_format)
    refused(tenant.push(text_message("x" * 5000)), 413, "push_too_large")
    assert tenant.records() == []


@pytest.mark.parametrize("hostile", [BILLION_LAUGHS, EXTERNAL_ENTITY], ids=["billion-laughs", "external-entity"])
@pytest.mark.parametrize("mode", MODES)
def test_hostile_xml_is_refused_as_malformed(push_tenant, mode, hostile):
    tenant = push_tenant(TENANT_A, mode=mode, data_format="xml")
    # Correctly signed (and in compatible and safe modes inside the ciphertext): only the XML itself is wrong.
    built = tenant.signed_body(hostile) if mode == "plain" else tenant.encrypted_body(hostile)
    refused(tenant.post(built), 400, "push_malformed")
    assert tenant.records() == []


@pytest.mark.parametrize(
    "body", [b"{not json", b"[1, 2]", b"\xff\xfe", b"[" * 5000], ids=["broken", "array", "bytes", "deep"]
)
@pytest.mark.parametrize("mode", MODES)
def test_malformed_json_is_refused(push_tenant, mode, body):
    tenant = push_tenant(TENANT_A, mode=mode, data_format="json")
    built = tenant.signed_body(body) if mode == "plain" else tenant.encrypted_body(body)
    refused(tenant.post(built), 400, "push_malformed")
    assert tenant.records() == []


def test_a_ciphertext_that_is_not_ours_is_refused(push_tenant):
    tenant = push_tenant(TENANT_A, mode="safe", data_format="xml")
    built = tenant.encrypted_body(b"<xml><MsgType>text</MsgType></xml>")
    tampered = built.body.replace(b"<Encrypt>", b"<Encrypt>AAAA")
    refused(
        tenant.post(type(built)(url=built.url, body=tampered, content_type=built.content_type)),
        403,
        "push_signature_invalid",
    )
    assert tenant.records() == []


def test_safe_mode_refuses_a_plain_push(push_tenant):
    """A push without its ciphertext (a plain one, signed correctly) is not accepted by a safe-mode tenant."""
    tenant = push_tenant(TENANT_A, mode="safe")
    plain = push_build(tenant.target().__class__(**{**tenant.target().__dict__, "mode": "plain"}), text_message())
    refused(tenant.post(plain), 400, "push_malformed")
    assert tenant.records() == []


def test_compatible_mode_accepts_the_plain_variant_too(push_tenant):
    tenant = push_tenant(TENANT_A, mode="compatible")
    plain = push_build(tenant.target().__class__(**{**tenant.target().__dict__, "mode": "plain"}), text_message())
    assert tenant.post(plain).content == b"success"
    assert len(tenant.records()) == 1


def test_a_bad_msg_signature_over_good_ciphertext_is_refused(push_tenant):
    tenant = push_tenant(TENANT_A, mode="safe", data_format="json")
    built = tenant.build(text_message())
    body = json.loads(built.body)
    body["Encrypt"] = MessageCrypto(token=tenant.token, encoding_aes_key=tenant.aes_key, app_id=TENANT_A).encrypt(
        b'{"MsgType": "text", "MsgId": "swapped"}'
    )
    swapped = type(built)(url=built.url, body=json.dumps(body).encode(), content_type="application/json")
    refused(tenant.post(swapped), 403, "push_signature_invalid")
    assert tenant.records() == []


# --- Retries, tenants -----------------------------------------------------------------------------------------


def test_a_retry_of_the_same_push_is_answered_success_and_done_once(push_tenant):
    tenant = push_tenant(TENANT_A)
    message = text_message()
    assert tenant.push(message).content == b"success"
    assert tenant.push(message).content == b"success"  # WeChat's retry: new timestamp and nonce, same MsgId
    assert len(tenant.records()) == 1
    run_jobs()
    assert len(tenant.customer_messages()) == 1


def test_events_without_msg_id_are_one_push_by_sender_time_and_event(push_tenant):
    tenant = push_tenant(TENANT_A)
    event = {"FromUserName": "o-1", "CreateTime": 1700000000, "MsgType": "event", "Event": "user_enter_tempsession"}
    tenant.push(event, timestamp=int(time.time()))
    tenant.push({**event, "CreateTime": "1700000000"})  # the same push, CreateTime as a string
    tenant.push({**event, "CreateTime": 1700000001})  # another one
    assert len(tenant.records()) == 2


def test_tenant_as_push_at_tenant_bs_url_is_refused(push_tenant):
    """Even when B's operator reused A's Token and EncodingAESKey, A's encrypted push names A, not B."""
    a = push_tenant(TENANT_A, mode="safe")
    b = push_tenant(TENANT_B, mode="safe", token=a.token, aes_key=a.aes_key)
    refused(a.post(a.build(text_message()), path=b.path), 403, "push_app_id_mismatch")
    assert b.records() == [] and a.records() == []


def test_tenant_as_push_at_tenant_bs_url_with_its_own_token_is_refused(push_tenant):
    a = push_tenant(TENANT_A, mode="plain")
    b = push_tenant(TENANT_B, mode="plain")
    refused(a.post(a.build(text_message()), path=b.path), 403, "push_signature_invalid")
    assert b.records() == []


def test_a_suspended_tenants_push_is_refused_and_recorded_nowhere(push_tenant):
    from tenants.models import Tenant
    from tenants.services import tenant_suspend

    tenant = push_tenant(TENANT_A)
    tenant_suspend(app_id=TENANT_A)
    assert Tenant.objects.get(app_id=TENANT_A).status == Tenant.Status.SUSPENDED
    response = tenant.push(text_message())
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "tenant_suspended"


def test_an_unknown_kind_is_recorded_and_acknowledged(push_tenant):
    tenant = push_tenant(TENANT_A, data_format="xml")
    assert tenant.push({"FromUserName": "o-1", "MsgType": "event", "Event": "something_new"}).content == b"success"
    run_jobs()
    [record] = tenant.records()
    assert (record.kind, record.outcome) == ("something_new", "ignored")


# --- transfer_customer_service ------------------------------------------------------------------------------


@pytest.mark.parametrize("data_format", FORMATS)
@pytest.mark.parametrize("mode", MODES)
def test_the_switch_hands_customer_service_to_wechats_tool(push_tenant, mode, data_format):
    tenant = push_tenant(TENANT_A, mode=mode, data_format=data_format, transfer_customer_service=True)
    response = tenant.push({**text_message(), "ToUserName": "gh_abc"})
    assert response.status_code == 200
    if data_format == "xml":
        reply = xml_parse(response.content)
    else:
        reply = json.loads(response.content)
    if mode != "plain":
        crypto = MessageCrypto(token=tenant.token, encoding_aes_key=tenant.aes_key, app_id=TENANT_A)
        assert reply["MsgSignature"] == push_signature(
            tenant.token, reply["TimeStamp"], reply["Nonce"], reply["Encrypt"]
        )
        inner = crypto.decrypt(reply["Encrypt"])
        reply = xml_parse(inner) if data_format == "xml" else json.loads(inner)
    assert reply["MsgType"] == "transfer_customer_service"
    assert (reply["ToUserName"], reply["FromUserName"]) == ("o-user-1", "gh_abc")
    assert len(tenant.records()) == 1  # stored as well


def test_without_the_switch_customer_service_is_answered_success(push_tenant):
    tenant = push_tenant(TENANT_A)
    assert tenant.push(text_message()).content == b"success"


def test_a_new_aes_key_is_43_letters_or_digits():
    key = new_aes_key()
    assert len(key) == 43 and key.isalnum()
