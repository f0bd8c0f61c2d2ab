"""F12: WeChat pushes `unauthorized` once; when that push is lost, the first 61003 WeChat answers for the
authorizer (login's component jscode2session, the authorizer token refresh) does what the push does: the
authorizer marked unauthorized, the tenant suspended, one audit entry by the door "wechat", once."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.db.models import QuerySet
from django.test import Client
from django.utils import timezone

from accounts.wechat_access import access_token_holder
from api.tests.conftest import TenantClient, new_code
from component.exceptions import AuthorizationLost
from component.models import Authorizer
from component.tests.conftest import authorize, deliver, deliver_all, local_path
from console.models import AuditEntry
from core.redis import get_redis
from tenants.models import Tenant
from tests.helpers import TENANT_A
from wechat.exceptions import WeChatError
from wechat.fake_server import FakeWeChatServer
from wechat.fake_server.component import FakeComponentControl


def authorized_then_cancelled_with_the_push_lost(component: FakeComponentControl, admin_client: Client) -> None:
    redirect, _ = authorize(component, admin_client, app_id=TENANT_A)
    Client().get(local_path(redirect))
    deliver_all(component)
    component.unauthorize(TENANT_A)
    assert [push for push in component.take_pushes()]  # the unauthorized push, never delivered


def suspensions(audit: Callable[[], QuerySet[AuditEntry]]) -> list[AuditEntry]:
    return list(audit().filter(action=AuditEntry.Action.SUSPEND, app_id=TENANT_A))


def test_a_61003_at_login_suspends_the_tenant_once_as_the_lost_unauthorized_push_would(
    component: FakeComponentControl, admin_client: Client, ticket: str, audit: Callable[[], QuerySet[AuditEntry]]
) -> None:
    mini_program = TenantClient(TENANT_A)
    redirect, _ = authorize(component, admin_client, app_id=TENANT_A)
    Client().get(local_path(redirect))
    deliver_all(component)
    assert mini_program.login(new_code()).status_code == 200
    component.unauthorize(TENANT_A)
    component.take_pushes()  # lost

    refused = mini_program.login(new_code())
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "component_not_authorized"
    assert Authorizer.objects.get(app_id=TENANT_A).status == Authorizer.Status.UNAUTHORIZED
    assert Tenant.objects.get(app_id=TENANT_A).status == Tenant.Status.SUSPENDED
    [suspend] = suspensions(audit)
    assert suspend.door == "wechat" and "61003" in suspend.details["reason"]

    again = mini_program.login(new_code())
    assert again.status_code == 403 and again.json()["error"]["code"] == "tenant_suspended"
    assert mini_program.get("/api/v1/me").json()["error"]["code"] == "tenant_suspended"
    assert len(suspensions(audit)) == 1  # once, not per request


def test_a_61003_at_the_authorizer_token_refresh_suspends_the_tenant_and_no_later_call_asks_wechat(
    component: FakeComponentControl,
    wechat: FakeWeChatServer,
    admin_client: Client,
    ticket: str,
    audit: Callable[[], QuerySet[AuditEntry]],
) -> None:
    authorized_then_cancelled_with_the_push_lost(component, admin_client)
    # The access token is due: the next call refreshes it with the refresh token, and WeChat answers 61003.
    Authorizer.objects.filter(app_id=TENANT_A).update(access_token_expires_at=timezone.now())
    get_redis().delete(access_token_holder().token_key(TENANT_A))
    access_token_holder.cache_clear()

    with pytest.raises(WeChatError) as lost:
        access_token_holder().get_token(TENANT_A)
    assert lost.value.errcode == 61003
    assert Authorizer.objects.get(app_id=TENANT_A).status == Authorizer.Status.UNAUTHORIZED
    assert Tenant.objects.get(app_id=TENANT_A).status == Tenant.Status.SUSPENDED
    assert len(suspensions(audit)) == 1

    refreshes = wechat.control.counters(TENANT_A).get("/cgi-bin/component/api_authorizer_token", 0)
    with pytest.raises(AuthorizationLost):
        access_token_holder().get_token(TENANT_A)
    assert wechat.control.counters(TENANT_A).get("/cgi-bin/component/api_authorizer_token", 0) == refreshes
    assert len(suspensions(audit)) == 1


def test_the_unauthorized_push_arriving_after_a_61003_or_twice_changes_nothing_more(
    component: FakeComponentControl, admin_client: Client, ticket: str, audit: Callable[[], QuerySet[AuditEntry]]
) -> None:
    redirect, _ = authorize(component, admin_client, app_id=TENANT_A)
    Client().get(local_path(redirect))
    deliver_all(component)
    component.unauthorize(TENANT_A)  # the push is queued, delivered only after the login saw 61003
    assert TenantClient(TENANT_A).login(new_code()).status_code == 403
    [push] = component.take_pushes()
    client = Client()
    for _ in range(2):  # late, and repeated as WeChat repeats a push it got no answer to
        assert deliver(client, push).content == b"success"
    assert Tenant.objects.get(app_id=TENANT_A).status == Tenant.Status.SUSPENDED
    assert len(suspensions(audit)) == 1
