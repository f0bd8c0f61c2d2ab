"""Each event's effect in the tenant's database, and who reads it: the sender, the user, the platform."""

import time

import pytest
from django.contrib.auth.models import Permission, User
from django.db import transaction
from django.test import Client
from knox.models import AuthToken
from rq.job import JobStatus

from api.tests.conftest import TenantClient
from core.tenant_context import require_current_tenant
from pushes.credentials import PushCredentials, register_push_credentials_source
from pushes.events import subscribe_popup_handle
from pushes.handlers import push_handler_path, register_push_handler
from pushes.tests.conftest import in_tenant, run_jobs
from tests.helpers import TENANT_A, TENANT_B
from tests.workers import fetch
from wechat.fake_server import fake_openid

TEMPLATE = "tmpl-order-ready"
OTHER = "tmpl-other"
MESSAGE = {"template_id": TEMPLATE, "data": {"thing1": {"value": "ready"}}}


def popup(openid: str, answers: dict[str, str], *, xml: bool = False, create_time: object = None) -> dict:
    items = [{"TemplateId": t, "SubscribeStatusString": s, "PopupScene": "0"} for t, s in answers.items()]
    listed: object = items[0] if len(items) == 1 else items  # JSON: an object for one, an array for several
    event = {
        "FromUserName": openid,
        "CreateTime": create_time if create_time is not None else int(time.time()),
        "MsgType": "event",
        "Event": "subscribe_msg_popup_event",
    }
    return {**event, "SubscribeMsgPopupEvent": {"List": listed}} if xml else {**event, "List": listed}


def states(tenant) -> dict[str, tuple[str, int]]:  # noqa: ANN001
    return {state.template_id: (state.status, state.remaining) for state in tenant.subscriptions()}


@pytest.mark.parametrize("data_format", ["json", "xml"])
def test_popup_accept_and_reject_with_one_item_or_several(push_tenant, data_format):
    tenant = push_tenant(TENANT_A, data_format=data_format)
    xml = data_format == "xml"
    assert tenant.push(popup("o-1", {TEMPLATE: "accept"}, xml=xml, create_time="1700000000")).content == b"success"
    assert tenant.push(popup("o-1", {TEMPLATE: "accept", OTHER: "reject"}, xml=xml, create_time=1700000001)).content
    run_jobs()
    assert states(tenant) == {TEMPLATE: ("accept", 2), OTHER: ("reject", 0)}
    assert {state.event_time for state in tenant.subscriptions()} == {1700000001}


def test_a_change_event_turns_a_template_off(push_tenant):
    tenant = push_tenant(TENANT_A)
    tenant.push(popup("o-1", {TEMPLATE: "accept"}))
    change = {
        "FromUserName": "o-1",
        "CreateTime": int(time.time()) + 1,
        "MsgType": "event",
        "Event": "subscribe_msg_change_event",
        "List": {"TemplateId": TEMPLATE, "SubscribeStatusString": "reject"},
    }
    tenant.push(change)
    run_jobs()
    assert states(tenant) == {TEMPLATE: ("reject", 0)}


@pytest.mark.parametrize("data_format", ["json", "xml"])
def test_a_sent_event_uses_up_one_granted_send(push_tenant, data_format):
    tenant = push_tenant(TENANT_A, data_format=data_format)
    tenant.push(popup("o-1", {TEMPLATE: "accept"}, xml=data_format == "xml"))
    tenant.push(popup("o-1", {TEMPLATE: "accept"}, xml=data_format == "xml", create_time=int(time.time()) + 1))
    items = [
        {"TemplateId": TEMPLATE, "MsgID": "1", "ErrorCode": "0", "ErrorStatus": "success"},
        {"TemplateId": OTHER, "MsgID": "2", "ErrorCode": 43101, "ErrorStatus": "failed:user refuse to accept the msg"},
    ]
    sent = {"FromUserName": "o-1", "CreateTime": int(time.time()) + 2, "MsgType": "event"}
    sent["Event"] = "subscribe_msg_sent_event"
    if data_format == "xml":
        sent["SubscribeMsgSentEvent"] = {"List": items}
    else:
        sent["List"] = items
    tenant.push(sent)
    run_jobs()
    by_template = {state.template_id: state for state in tenant.subscriptions()}
    assert (by_template[TEMPLATE].remaining, by_template[TEMPLATE].sent) == (1, 1)
    assert by_template[OTHER].last_error.startswith("43101")


@pytest.mark.parametrize(
    ("message", "content"),
    [
        ({"MsgType": "text", "Content": "你好", "MsgId": "101"}, "你好"),
        ({"MsgType": "image", "PicUrl": "https://example.com/p.jpg", "MediaId": "m1", "MsgId": "102"}, ""),
        ({"MsgType": "miniprogrampage", "Title": "Order 7", "PagePath": "pages/o", "MsgId": "103"}, "Order 7"),
        ({"MsgType": "event", "Event": "user_enter_tempsession", "SessionFrom": "order-7"}, "order-7"),
    ],
    ids=["text", "image", "miniprogrampage", "user_enter_tempsession"],
)
def test_customer_service_messages_are_stored_per_user(push_tenant, message, content):
    tenant = push_tenant(TENANT_A, data_format="xml")
    tenant.push({"FromUserName": "o-cs", "CreateTime": int(time.time()), **message})
    run_jobs()
    [stored] = tenant.customer_messages()
    kind = message.get("Event") or message["MsgType"]
    assert (stored.openid, stored.kind) == ("o-cs", kind)
    assert stored.content == (content or message.get("PicUrl"))
    assert "ToUserName" not in stored.fields


# --- What reads the state: the sender, the user, the platform ---------------------------------------------


def logged_in(app_id: str, code: str) -> TenantClient:
    client = TenantClient(app_id)
    assert client.login(code).status_code == 200
    return client


def test_a_refused_subscription_stops_a_send_with_409_and_no_wechat_call(push_tenant, wechat):
    tenant = push_tenant(TENANT_A)
    user = logged_in(TENANT_A, "code-alice")
    openid = fake_openid(TENANT_A, "code-alice")
    wechat.control.add_template(TENANT_A, TEMPLATE)
    wechat.control.grant_subscription(TENANT_A, openid=openid, template_id=TEMPLATE, count=5)
    tenant.push(popup(openid, {TEMPLATE: "reject"}))
    run_jobs()

    response = user.post("/api/v1/messages/subscribe", MESSAGE)
    assert response.status_code == 409, response.content
    assert response.json()["error"]["code"] == "subscription_refused"
    assert wechat.control.messages(TENANT_A) == []


def handle_now(message: dict) -> None:
    with transaction.atomic(using=require_current_tenant().db_alias):
        subscribe_popup_handle(message)


def test_a_send_queued_before_the_refusal_is_not_sent(push_tenant, wechat):
    tenant = push_tenant(TENANT_A)
    user = logged_in(TENANT_A, "code-bob")
    openid = fake_openid(TENANT_A, "code-bob")
    wechat.control.add_template(TENANT_A, TEMPLATE)
    wechat.control.grant_subscription(TENANT_A, openid=openid, template_id=TEMPLATE, count=5)
    tenant.push(popup(openid, {TEMPLATE: "accept"}))
    run_jobs()
    job_id = user.post("/api/v1/messages/subscribe", MESSAGE).json()["job_id"]
    # The refusal arrives while the send waits in the queue (its handler run here, ahead of the send).
    in_tenant(TENANT_A, lambda: handle_now(popup(openid, {TEMPLATE: "reject"}, create_time=int(time.time()) + 1)))
    run_jobs()
    assert fetch(job_id).get_status() == JobStatus.FAILED
    assert wechat.control.messages(TENANT_A) == []
    # Accepted again: the next one is sent.
    tenant.push(popup(openid, {TEMPLATE: "accept"}, create_time=int(time.time()) + 2))
    run_jobs()
    assert user.post("/api/v1/messages/subscribe", MESSAGE).status_code == 202
    run_jobs()
    assert len(wechat.control.messages(TENANT_A)) == 1


def test_the_user_reads_their_subscriptions_and_only_theirs(push_tenant, wechat):
    tenant = push_tenant(TENANT_A)
    alice, bob = logged_in(TENANT_A, "code-alice"), logged_in(TENANT_A, "code-bob")
    tenant.push(popup(fake_openid(TENANT_A, "code-alice"), {TEMPLATE: "accept", OTHER: "reject"}))
    tenant.push(popup(fake_openid(TENANT_A, "code-bob"), {OTHER: "accept"}))
    run_jobs()
    response = alice.get("/api/v1/me/subscriptions")
    assert response.status_code == 200
    assert [(s["template_id"], s["status"], s["remaining"]) for s in response.json()] == [
        (TEMPLATE, "accept", 1),
        (OTHER, "reject", 0),
    ]
    assert [s["template_id"] for s in bob.get("/api/v1/me/subscriptions").json()] == [OTHER]
    assert TenantClient(TENANT_A).get("/api/v1/me/subscriptions").status_code == 401
    # Another tenant's user sees nothing of tenant A's.
    assert logged_in(TENANT_B, "code-alice").get("/api/v1/me/subscriptions").json() == []


def platform_client(*, permissions: tuple[str, ...]) -> tuple[Client, User]:
    user = User.objects.create_user(f"push-staff-{time.monotonic_ns()}", password="pw-for-tests", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename__in=permissions))
    token = AuthToken.objects.create(user=user)[1]
    client = Client(headers={"Authorization": f"Token {token}"})
    return client, user


def test_the_platform_reads_a_tenants_customer_service_messages(push_tenant):
    a, b = push_tenant(TENANT_A), push_tenant(TENANT_B)
    for index in range(3):
        a.push({"FromUserName": f"o-{index % 2}", "MsgType": "text", "Content": f"m{index}", "MsgId": f"a{index}"})
    b.push({"FromUserName": "o-0", "MsgType": "text", "Content": "for b", "MsgId": "b1"})
    run_jobs()
    client, user = platform_client(permissions=("view_tenant",))
    try:
        everything = client.get(f"/platform/v1/tenants/{TENANT_A}/messages")
        assert everything.status_code == 200, everything.content
        assert [m["content"] for m in everything.json()] == ["m2", "m1", "m0"]
        one_user = client.get(f"/platform/v1/tenants/{TENANT_A}/messages", {"openid": "o-0"}).json()
        assert [m["content"] for m in one_user] == ["m2", "m0"]
        older = client.get(f"/platform/v1/tenants/{TENANT_A}/messages", {"before": everything.json()[0]["id"]})
        assert [m["content"] for m in older.json()] == ["m1", "m0"]
        assert [m["content"] for m in client.get(f"/platform/v1/tenants/{TENANT_B}/messages").json()] == ["for b"]
        assert client.get("/platform/v1/tenants/wx00000000000000ee/messages").status_code == 404
    finally:
        user.delete()
    unprivileged, nobody = platform_client(permissions=())
    try:
        assert unprivileged.get(f"/platform/v1/tenants/{TENANT_A}/messages").status_code == 403
    finally:
        nobody.delete()


# --- The registries other apps plug into --------------------------------------------------------------------

CALLS: list[dict] = []


def recording_handler(message: dict) -> None:
    from core.tenant_context import require_current_tenant

    CALLS.append({**message, "tenant": require_current_tenant().app_id})


def test_a_registered_handler_gets_its_kind_with_the_tenant_active(push_tenant):
    register_push_handler("test_only_event", "pushes.tests.test_events.recording_handler")
    assert push_handler_path("test_only_event") == "pushes.tests.test_events.recording_handler"
    with pytest.raises(ValueError, match="handled by"):
        register_push_handler("test_only_event", "somewhere.else")
    tenant = push_tenant(TENANT_A)
    CALLS.clear()
    tenant.push({"FromUserName": "o-1", "MsgType": "event", "Event": "test_only_event", "trace_id": "t-1"})
    register_push_handler("test_only_event", "pushes.tests.test_events.recording_handler")  # the same again: fine
    run_jobs()
    assert [(call["trace_id"], call["tenant"]) for call in CALLS] == [("t-1", TENANT_A)]
    [record] = tenant.records()
    assert record.outcome == "handled"


def test_a_registered_credentials_source_is_asked_first(push_tenant):
    tenant = push_tenant(TENANT_A, mode="plain")
    component_token = "componenttoken"

    def source(app_id: str) -> PushCredentials | None:
        if app_id != TENANT_A:
            return None
        return PushCredentials(token=component_token, aes_key="", app_id_expected=app_id, mode="plain", format="json")

    register_push_credentials_source(source)
    try:
        refused = tenant.push({"MsgType": "text", "MsgId": "1"})
        assert refused.status_code == 403  # signed with the tenant's own token: the source's wins
        assert tenant.push({"MsgType": "text", "MsgId": "1"}, sign_token=component_token).content == b"success"
    finally:
        from pushes import credentials

        credentials._sources.remove(source)


def test_the_periodic_purge_deletes_old_records_only(push_tenant):
    from datetime import timedelta

    from django.utils import timezone

    from pushes.jobs import push_records_purge
    from pushes.models import PushRecord
    from tenants.jobs.periodic import periodic_jobs_registered

    assert "pushes.jobs.push_records_purge" in {job.func for job in periodic_jobs_registered()}
    tenant = push_tenant(TENANT_A)
    tenant.push({"FromUserName": "o-1", "MsgType": "text", "MsgId": "old"})
    tenant.push({"FromUserName": "o-1", "MsgType": "text", "MsgId": "new"})
    old = timezone.now() - timedelta(days=8)
    in_tenant(TENANT_A, lambda: PushRecord.objects.filter(message__MsgId="old").update(received_at=old))
    assert push_records_purge() == {TENANT_A: 1}
    assert [record.message["MsgId"] for record in tenant.records()] == ["new"]
