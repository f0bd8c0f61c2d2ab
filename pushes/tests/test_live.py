"""The whole path over real HTTP: the fake WeChat signs, encrypts and POSTs pushes to this process's Django."""

import time
from collections.abc import Iterator

import pytest

from pushes.tests.conftest import PushTenant, run_jobs
from tests.helpers import TENANT_A, TENANT_B
from tests.live import live_django
from wechat.fake_server import FakeWeChatServer

TEMPLATE = "tmpl-live"


@pytest.fixture
def live(pushes_db: None) -> Iterator[str]:
    with live_django() as base_url:
        yield base_url


def aim(wechat: FakeWeChatServer, live: str, tenant: PushTenant) -> None:
    """What the tenant's operator enters on WeChat's push settings page, entered in the fake."""
    wechat.control.set_push_target(
        tenant.app_id,
        url=f"{live}{tenant.path}",
        token=tenant.token,
        aes_key=tenant.aes_key,
        mode=tenant.mode,
        data_format=tenant.format,
    )


def accept(openid: str) -> dict:
    return {
        "FromUserName": openid,
        "CreateTime": int(time.time()),
        "MsgType": "event",
        "Event": "subscribe_msg_popup_event",
        "List": {"TemplateId": TEMPLATE, "SubscribeStatusString": "accept", "PopupScene": "0"},
    }


@pytest.mark.slow
def test_fifty_concurrent_copies_of_one_push_over_http_have_one_effect(push_tenant, wechat, live):
    tenant = push_tenant(TENANT_A, mode="safe", data_format="json")
    aim(wechat, live, tenant)
    assert wechat.control.push_url_check(TENANT_A) is True

    outcomes = wechat.control.push(TENANT_A, accept("o-live"), duplicates=49, wait=True)

    assert len(outcomes) == 50
    assert {(outcome["status"], outcome["body"]) for outcome in outcomes} == {(200, "success")}
    assert len(tenant.records()) == 1
    run_jobs()
    [state] = tenant.subscriptions()
    assert (state.status, state.remaining) == ("accept", 1)  # one accept counted, not fifty


@pytest.mark.slow
def test_the_fake_pushes_xml_in_plain_mode_and_another_tenants_url_refuses_it(push_tenant, wechat, live):
    a = push_tenant(TENANT_A, mode="plain", data_format="xml")
    b = push_tenant(TENANT_B, mode="plain", data_format="xml")
    aim(wechat, live, a)
    [outcome] = wechat.control.push(
        TENANT_A, {"FromUserName": "o-1", "MsgType": "text", "Content": "hi", "MsgId": "9"}, wait=True
    )
    assert (outcome["status"], outcome["body"]) == (200, "success")
    # A's push aimed at B's URL (A's Token): B refuses it.
    wechat.control.set_push_target(TENANT_A, url=f"{live}{b.path}", token=a.token, mode="plain", data_format="xml")
    [refused] = wechat.control.push(TENANT_A, {"FromUserName": "o-1", "MsgType": "text", "MsgId": "10"}, wait=True)
    assert refused["status"] == 403
    run_jobs()
    assert [m.content for m in a.customer_messages()] == ["hi"]
    assert b.records() == []
