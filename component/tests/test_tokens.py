"""The ticket and the tokens of open-platform mode: kept, reused, recovered, refreshed once for the fleet."""

from __future__ import annotations

import multiprocessing
import threading
from datetime import timedelta

import pytest
from django.db import connections
from django.test import Client
from django.utils import timezone

from accounts.wechat_access import access_token_holder
from component import tokens
from component.exceptions import ComponentTicketMissing
from component.models import Authorizer, ComponentTicket
from component.tests.burst import die_between_answer_and_write, run_callers
from component.tests.conftest import COMPONENT_APP_ID, COMPONENT_SETTINGS, authorize, deliver_all, local_path
from component.tokens import component_access_token, ticket_current
from core.redis import get_redis
from tenants.models import Tenant
from tenants.secrets import secret_decrypt
from tests.helpers import TENANT_B, TENANT_C, subprocess_env
from wechat.exceptions import WeChatTokenInvalid
from wechat.fake_server import FakeWeChatServer
from wechat.fake_server.component import FakeComponentControl

START_PUSH = "/cgi-bin/component/api_start_push_ticket"
COMPONENT_TOKEN = "/cgi-bin/component/api_component_token"
AUTHORIZER_TOKEN = "/cgi-bin/component/api_authorizer_token"
AUTHORIZER_LIST = "/cgi-bin/component/api_get_authorizer_list"


def _calls(wechat: FakeWeChatServer, app_id: str, path: str) -> int:
    return wechat.control.counters(app_id).get(path, 0)


def test_with_no_ticket_wechat_is_asked_to_push_one_and_its_push_makes_the_token(
    component: FakeComponentControl, wechat: FakeWeChatServer
) -> None:
    for _caller in range(3):
        with pytest.raises(ComponentTicketMissing):
            component_access_token()
    assert _calls(wechat, COMPONENT_APP_ID, START_PUSH) == 1  # asked once, not once per caller
    deliver_all(component)  # the ticket WeChat pushed because we asked
    assert component_access_token().startswith("fake-component-token-")
    assert _calls(wechat, COMPONENT_APP_ID, COMPONENT_TOKEN) == 1


def test_a_missed_push_is_covered_by_the_last_good_ticket(component: FakeComponentControl, ticket: str) -> None:
    component.push_ticket(lost=True)  # WeChat issued a newer ticket; its push never arrived
    get_redis().delete(tokens._ticket_key())  # and Redis lost the cached one: the database still has it
    assert ticket_current() == ticket
    assert component_access_token()


def test_a_ticket_past_its_12_hours_is_not_used_and_a_push_is_asked_for(
    component: FakeComponentControl, wechat: FakeWeChatServer, ticket: str
) -> None:
    get_redis().delete(tokens._ticket_key())
    ComponentTicket.objects.update(received_at=timezone.now() - timedelta(hours=12, minutes=1))
    assert ticket_current() is None
    with pytest.raises(ComponentTicketMissing):
        component_access_token()
    assert _calls(wechat, COMPONENT_APP_ID, START_PUSH) == 1
    deliver_all(component)
    assert ticket_current() not in (None, ticket)
    assert component_access_token()


def _authorized(component: FakeComponentControl, admin_client: Client, app_id: str) -> Authorizer:
    """An existing session tenant authorized through the page (linked, not created)."""
    redirect, _link = authorize(component, admin_client, app_id=app_id)
    assert Client().get(local_path(redirect)).status_code == 200
    component.take_pushes()  # the authorized push: the redirect did the work already
    return Authorizer.objects.get(app_id=app_id)


def _expire_stored_token(app_id: str) -> None:
    Authorizer.objects.filter(app_id=app_id).update(access_token_expires_at=timezone.now() - timedelta(seconds=1))
    get_redis().delete(access_token_holder().token_key(app_id))


@pytest.mark.slow
def test_200_callers_in_4_processes_with_an_expired_authorizer_token_cause_one_refresh(
    component: FakeComponentControl, wechat: FakeWeChatServer, admin_client: Client, ticket: str
) -> None:
    _authorized(component, admin_client, TENANT_B)
    _expire_stored_token(TENANT_B)
    before = _calls(wechat, TENANT_B, AUTHORIZER_TOKEN)
    wechat.control.set_delay(AUTHORIZER_TOKEN, 0.3)  # the refresh stays in flight while every caller arrives
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(4), context.Queue()
    env = subprocess_env(WECHAT_API_BASE=wechat.base_url, REDIS_MAX_CONNECTIONS="80", **COMPONENT_SETTINGS)
    options = {"env": env, "app_id": TENANT_B, "callers": 50, "barrier": barrier, "results": results}
    processes = [context.Process(target=run_callers, kwargs=options) for _ in range(4)]
    for process in processes:
        process.start()
    reports = [results.get(timeout=90) for _ in processes]
    for process in processes:
        process.join(timeout=10)
    assert [error for report in reports for error in report["errors"]] == []
    issued = [token for report in reports for token in report["tokens"]]
    assert len(issued) == 200 and len(set(issued)) == 1
    assert _calls(wechat, TENANT_B, AUTHORIZER_TOKEN) == before + 1
    stored = Authorizer.objects.get(app_id=TENANT_B)
    assert secret_decrypt(stored.access_token_encrypted) == issued[0]
    assert secret_decrypt(stored.refresh_token_encrypted) == component.authorization(TENANT_B)["refresh_token"]


def test_a_rejected_authorizer_token_is_refreshed_once_for_all_callers(
    component: FakeComponentControl, wechat: FakeWeChatServer, admin_client: Client, ticket: str
) -> None:
    _authorized(component, admin_client, TENANT_C)
    holder = access_token_holder()
    rejected = holder.get_token(TENANT_C)
    before = _calls(wechat, TENANT_C, AUTHORIZER_TOKEN)
    used: list[str] = []

    def call(token: str) -> str:
        if token == rejected:
            raise WeChatTokenInvalid(40001, "invalid credential")
        used.append(token)
        return token

    threads = [threading.Thread(target=lambda: holder.call_with_token(TENANT_C, call)) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    connections.close_all()
    assert len(used) == 20 and len(set(used)) == 1 and rejected not in used
    assert _calls(wechat, TENANT_C, AUTHORIZER_TOKEN) == before + 1


class Crash(BaseException):
    """A process dying between WeChat's answer and our write (not an Exception: nothing may catch it)."""


@pytest.mark.parametrize("downtime", ["within-the-5-minutes", "past-the-5-minutes"])
def test_a_rotated_refresh_token_is_never_lost_across_a_crash_between_the_answer_and_the_write(
    component: FakeComponentControl,
    wechat: FakeWeChatServer,
    admin_client: Client,
    ticket: str,
    monkeypatch: pytest.MonkeyPatch,
    downtime: str,
) -> None:
    _authorized(component, admin_client, TENANT_B)
    _expire_stored_token(TENANT_B)
    held = secret_decrypt(Authorizer.objects.get(app_id=TENANT_B).refresh_token_encrypted)

    def crash(**kwargs: object) -> None:
        raise Crash()

    with monkeypatch.context() as patch:
        patch.setattr(tokens, "authorizer_tokens_store", crash)
        with pytest.raises(Crash):
            access_token_holder().get_token(TENANT_B)
    rotated = component.authorization(TENANT_B)["refresh_token"]
    assert rotated != held  # WeChat rotated it; we still hold the old one
    assert secret_decrypt(Authorizer.objects.get(app_id=TENANT_B).refresh_token_encrypted) == held
    if downtime == "past-the-5-minutes":
        component.overlap_end(TENANT_B)  # the old refresh token no longer works at all

    token = access_token_holder().get_token(TENANT_B)
    stored = Authorizer.objects.get(app_id=TENANT_B)
    assert secret_decrypt(stored.access_token_encrypted) == token
    assert secret_decrypt(stored.refresh_token_encrypted) == component.authorization(TENANT_B)["refresh_token"]
    assert stored.refresh_started_at is None
    # The interrupted refresh was noticed and the refresh token taken from WeChat's authorizer list.
    assert _calls(wechat, COMPONENT_APP_ID, AUTHORIZER_LIST) == 1


def test_a_component_tenants_messages_use_its_authorizer_token(
    component: FakeComponentControl, wechat: FakeWeChatServer, admin_client: Client, ticket: str
) -> None:
    from accounts.messaging import subscribe_message_send  # noqa: F401 (the caller that must not change)
    from accounts.wechat_access import wechat_client_for

    _authorized(component, admin_client, TENANT_B)
    assert Tenant.objects.get(app_id=TENANT_B).uses_component
    client = wechat_client_for(TENANT_B)
    openid = client.code_to_session("code-messages")["openid"]
    answer = access_token_holder().call_with_token(
        TENANT_B, lambda token: client.msg_sec_check(token, openid=openid, content="hello")
    )
    assert answer["result"]["suggest"] == "pass"
    counters = wechat.control.counters(TENANT_B)
    assert counters.get("/sns/component/jscode2session") == 1 and "/sns/jscode2session" not in counters
    assert "/cgi-bin/stable_token" not in counters


def test_a_rejected_component_token_is_replaced_once(
    component: FakeComponentControl, wechat: FakeWeChatServer, ticket: str
) -> None:
    first = component_access_token()
    before = _calls(wechat, COMPONENT_APP_ID, COMPONENT_TOKEN)
    seen: list[str] = []

    def call(token: str) -> str:
        seen.append(token)
        if token == first:
            raise WeChatTokenInvalid(40001, "invalid credential")
        return token

    replacement = tokens.component_call(call)
    assert seen == [first, replacement] and replacement != first
    assert component_access_token() == replacement
    assert _calls(wechat, COMPONENT_APP_ID, COMPONENT_TOKEN) == before + 1


@pytest.mark.slow
def test_a_refresher_killed_9_after_wechat_rotated_the_refresh_token_loses_nothing(
    component: FakeComponentControl, wechat: FakeWeChatServer, admin_client: Client, ticket: str, settings
) -> None:  # noqa: ANN001
    _authorized(component, admin_client, TENANT_C)
    _expire_stored_token(TENANT_C)
    held = secret_decrypt(Authorizer.objects.get(app_id=TENANT_C).refresh_token_encrypted)
    context = multiprocessing.get_context("spawn")
    env = subprocess_env(WECHAT_API_BASE=wechat.base_url, **COMPONENT_SETTINGS)
    process = context.Process(target=die_between_answer_and_write, kwargs={"env": env, "app_id": TENANT_C})
    process.start()
    process.join(timeout=60)
    assert process.exitcode == -9
    assert component.authorization(TENANT_C)["refresh_token"] != held  # rotated at WeChat, never stored here
    assert Authorizer.objects.get(app_id=TENANT_C).refresh_started_at is not None
    component.overlap_end(TENANT_C)
    # The dead refresher's lock frees itself after its timeout; the test does not wait for it.
    get_redis().delete(f"{settings.WECHAT_REDIS_KEY_PREFIX}:token-lock:{TENANT_C}")

    token = access_token_holder().get_token(TENANT_C)
    stored = Authorizer.objects.get(app_id=TENANT_C)
    assert secret_decrypt(stored.refresh_token_encrypted) == component.authorization(TENANT_C)["refresh_token"]
    assert secret_decrypt(stored.access_token_encrypted) == token and stored.refresh_started_at is None


def test_the_watch_job_asks_for_a_push_when_tickets_stop_arriving_and_keeps_the_token_warm(
    component: FakeComponentControl, wechat: FakeWeChatServer, ticket: str
) -> None:
    from component.jobs import component_watch

    assert component_watch() == {"ticket": "fresh", "token": "fresh"}
    assert _calls(wechat, COMPONENT_APP_ID, START_PUSH) == 0
    ComponentTicket.objects.update(received_at=timezone.now() - timedelta(hours=2))
    assert component_watch() == {"ticket": "stale", "token": "fresh"}  # the last ticket still works meanwhile
    assert _calls(wechat, COMPONENT_APP_ID, START_PUSH) == 1
    deliver_all(component)
    assert component_watch()["ticket"] == "fresh"
