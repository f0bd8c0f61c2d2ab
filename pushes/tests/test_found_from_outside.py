"""What an independent check found from outside (verify F1, F2, F6, F8, F10, F13, F14), each pinned here."""

import json
import logging
import time
from urllib.parse import urlencode

import pytest
from django.test import Client
from redis.exceptions import ConnectionError as RedisConnectionError

from core.logging import TenantContextFilter
from pushes.models import PushRecord
from pushes.tests.conftest import run_jobs
from tenants.models import Tenant
from tests.helpers import TENANT_A, TENANT_B
from wechat.crypto import push_signature


def text_message(content: str, msg_id: str) -> dict:
    return {
        "FromUserName": "o-1",
        "CreateTime": int(time.time()),
        "MsgType": "text",
        "Content": content,
        "MsgId": msg_id,
    }


def subscription_event(kind: str, wrapper_items: list[dict], *, create_time: int, openid: str = "o-1") -> dict:
    return {"FromUserName": openid, "CreateTime": create_time, "MsgType": "event", "Event": kind, "List": wrapper_items}


def states(tenant) -> dict:  # noqa: ANN001
    return {s.template_id: (s.status, s.remaining, s.sent, s.event_time) for s in tenant.subscriptions()}


# --- F8: one (timestamp, nonce) signs one body ------------------------------------------------------------


@pytest.mark.parametrize("mode", ["plain", "compatible"])
def test_a_captured_plain_query_string_does_not_sign_another_body(push_tenant, mode):
    """Plain mode's signature (and compatible mode's for its plain pushes) covers the timestamp and nonce only."""
    tenant = push_tenant(TENANT_B, mode=mode)
    stamp, nonce = str(int(time.time())), "captured-nonce"
    query = {"signature": push_signature(tenant.token, stamp, nonce), "timestamp": stamp, "nonce": nonce}
    url = f"{tenant.path}?{urlencode(query)}"

    def post(content: str, msg_id: str):  # noqa: ANN202
        body = json.dumps(text_message(content, msg_id)).encode()
        return Client().generic("POST", url, body, content_type="application/json")

    genuine = text_message("genuine", "9100000000000000001")
    first = Client().generic("POST", url, json.dumps(genuine).encode(), content_type="application/json")
    assert first.content == b"success", first.content
    forged = post("forged customer message", "9100000000000000002")
    assert forged.status_code == 403 and forged.json()["error"]["code"] == "push_replayed", forged.content
    again = Client().generic("POST", url, json.dumps(genuine).encode(), content_type="application/json")
    assert again.content == b"success"  # the same push twice: one record by its dedup key
    assert len(tenant.records()) == 1
    run_jobs()
    assert [m.content for m in tenant.customer_messages()] == ["genuine"]
    # Another tenant's nonces are its own: the same timestamp and nonce sign A's push.
    other = push_tenant(TENANT_A, mode=mode)
    query = {"signature": push_signature(other.token, stamp, nonce), "timestamp": stamp, "nonce": nonce}
    answer = Client().generic(
        "POST", f"{other.path}?{urlencode(query)}", json.dumps(genuine).encode(), content_type="application/json"
    )
    assert answer.content == b"success", answer.content


def test_with_redis_down_the_nonce_is_not_checked_and_the_push_is_still_recorded_once(push_tenant, monkeypatch):
    tenant = push_tenant(TENANT_B, mode="plain")

    class Down:
        def add(self, *args, **kwargs):  # noqa: ANN002, ANN003, ANN201
            raise RedisConnectionError("down")

    monkeypatch.setattr("pushes.replay.cache", Down())
    built = tenant.build(text_message("while redis is down", "9100000000000000003"))
    assert tenant.post(built).content == b"success"
    assert tenant.post(built).content == b"success"
    assert len(tenant.records()) == 1


# --- F14: two pushes without MsgId in one second are two ---------------------------------------------------


def test_two_sent_events_for_one_user_in_one_second_are_both_applied_and_a_retry_is_not(push_tenant):
    tenant = push_tenant(TENANT_B)
    now = int(time.time())
    accept = [{"TemplateId": t, "SubscribeStatusString": "accept", "PopupScene": "0"} for t in ("TPL-S1", "TPL-S2")]
    tenant.push(subscription_event("subscribe_msg_popup_event", accept, create_time=now - 10))
    sent = [
        subscription_event(
            "subscribe_msg_sent_event",
            [{"TemplateId": template, "MsgID": msg_id, "ErrorCode": "0", "ErrorStatus": "success"}],
            create_time=now,
        )
        for template, msg_id in (("TPL-S1", "1001"), ("TPL-S2", "1002"))
    ]
    for event in sent:
        assert tenant.push(event).content == b"success"
    assert tenant.push(sent[1]).content == b"success"  # WeChat's retry: new nonce, same content
    assert len(tenant.records()) == 3
    run_jobs()
    assert {t: s[:3] for t, s in states(tenant).items()} == {"TPL-S1": ("accept", 0, 1), "TPL-S2": ("accept", 0, 1)}


# --- F1: a late, older answer does not overwrite a newer one -----------------------------------------------


def test_an_older_answer_arriving_late_changes_nothing(push_tenant):
    tenant = push_tenant(TENANT_B)
    t = int(time.time()) - 200
    reject = [{"TemplateId": "TPL-ORD", "SubscribeStatusString": "reject"}]
    accept = [{"TemplateId": "TPL-ORD", "SubscribeStatusString": "accept", "PopupScene": "0"}]
    tenant.push(subscription_event("subscribe_msg_change_event", reject, create_time=t + 100))
    run_jobs()
    tenant.push(subscription_event("subscribe_msg_popup_event", accept, create_time=t + 50))
    run_jobs()
    assert states(tenant) == {"TPL-ORD": ("reject", 0, 0, t + 100)}
    tenant.push(subscription_event("subscribe_msg_popup_event", accept, create_time=t + 150))
    run_jobs()
    assert states(tenant) == {"TPL-ORD": ("accept", 1, 0, t + 150)}


def test_a_late_send_result_still_counts_but_keeps_the_newest_time(push_tenant):
    tenant = push_tenant(TENANT_B)
    t = int(time.time()) - 200
    accept = [{"TemplateId": "TPL-L", "SubscribeStatusString": "accept", "PopupScene": "0"}]
    tenant.push(subscription_event("subscribe_msg_popup_event", accept, create_time=t + 100))
    item = [{"TemplateId": "TPL-L", "MsgID": "77", "ErrorCode": "0", "ErrorStatus": "success"}]
    tenant.push(subscription_event("subscribe_msg_sent_event", item, create_time=t + 90))
    run_jobs()
    assert states(tenant) == {"TPL-L": ("accept", 0, 1, t + 100)}


# --- F2: values no column holds are recorded as ignored, answered 200 -------------------------------------


@pytest.mark.parametrize(
    "change",
    [
        {"List": {"TemplateId": "T" * 10_000, "SubscribeStatusString": "accept"}},
        {"FromUserName": "o" * 5_000},
        {"CreateTime": 10**30},
        {"CreateTime": "-5"},
    ],
    ids=["template_id", "from_user", "create_time_huge", "create_time_negative"],
)
def test_a_field_no_column_holds_is_recorded_ignored_with_no_job(push_tenant, change):
    tenant = push_tenant(TENANT_B)
    event = subscription_event(
        "subscribe_msg_popup_event",
        [{"TemplateId": "TPL-OK", "SubscribeStatusString": "accept"}],
        create_time=int(time.time()),
    )
    answer = tenant.push({**event, **change})
    assert answer.status_code == 200 and answer.content == b"success", answer.content
    [record] = tenant.records()
    assert record.outcome == PushRecord.Outcome.IGNORED
    assert run_jobs() == 0
    assert tenant.subscriptions() == []


# --- F10: the receiver's lines carry the tenant --------------------------------------------------------------


def test_the_receivers_log_lines_carry_the_tenants_app_id(push_tenant, caplog):
    tenant = push_tenant(TENANT_B)
    caplog.handler.addFilter(TenantContextFilter())
    with caplog.at_level(logging.INFO, logger="pushes"):
        tenant.push(text_message("hello", "9100000000000000010"))
        tenant.push(text_message("hello", "9100000000000000011"), sign_token="not-the-token")
    lines = [r for r in caplog.records if r.name == "pushes.views"]
    assert [r.levelname for r in lines] == ["INFO", "WARNING"]
    assert {r.app_id for r in lines} == {TENANT_B}


# --- F13: the console page does not shadow the admin's flash messages ----------------------------------------


def test_the_console_page_shows_customer_messages_as_a_table_not_as_flash_notices(admin_client, push_tenant):
    tenant = push_tenant(TENANT_A)
    tenant.push(text_message("<svg onload=alert(1)>", "9100000000000000020"))
    run_jobs()
    page = admin_client.get(f"/admin/tenants/tenant/{Tenant.objects.get(app_id=TENANT_A).pk}/pushes/")
    assert page.status_code == 200
    assert [m.content for m in page.context["customer_messages"]] == ["<svg onload=alert(1)>"]
    text = page.content.decode()
    assert "messagelist" not in text  # the admin's flash list: nothing was flashed
    assert "&lt;svg onload=alert(1)&gt;" in text and "<svg onload" not in text


# --- F6: the schema says what the serializers refuse -----------------------------------------------------


def test_the_schema_documents_the_push_operations_constraints(pushes_db):
    schema = Client().get("/api/schema/", headers={"Accept": "application/json"}).json()
    messages = schema["paths"]["/platform/v1/tenants/{app_id}/messages"]["get"]
    before = next(p for p in messages["parameters"] if p["name"] == "before")
    assert before["schema"]["minimum"] == 1
    push_put = schema["paths"]["/platform/v1/tenants/{app_id}/push"]["put"]
    ref = push_put["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    assert schema["components"]["schemas"][ref]["properties"]["token"]["pattern"] == "^[A-Za-z0-9]{3,32}$"


def test_an_appid_no_tenant_has_is_404_tenant_not_found(pushes_db):
    """The registry is asked before the push settings (docs/pushes.md's table)."""
    answer = Client().get("/wechat/v1/push/wx9999999999999999", {"echostr": "x"})
    assert answer.status_code == 404 and answer.json()["error"]["code"] == "tenant_not_found"
