"""Onboarding by authorization: a link, the owner's confirmation, the tenant created or linked, login, cancellation."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from urllib.parse import urlencode

from django.contrib.auth.models import Permission, User
from django.db.models import QuerySet
from django.test import Client

from accounts.wechat_access import access_token_holder
from api.tests.conftest import TenantClient, new_code
from component.exceptions import ComponentPermissionMissing
from component.models import AuthorizationLink, Authorizer
from component.permissions import authorizer_permission_require
from component.push_credentials import component_push_credentials
from component.tests.conftest import (
    COMPONENT_AES_KEY,
    COMPONENT_APP_ID,
    COMPONENT_TOKEN,
    authorize,
    deliver_all,
    local_path,
)
from console.models import AuditEntry
from core.redis import get_redis
from pushes.exceptions import PushAppIdMismatch
from tenants.models import Tenant
from tenants.services import provision_tenant_job
from tests.helpers import TENANT_A, TENANT_B, tenant_databases_on_server
from tests.workers import jobs_queue
from wechat.crypto import MessageCrypto, push_signature, xml_build
from wechat.fake_server import FakeWeChatServer
from wechat.fake_server.component import FakeComponentControl

NEW_APP_ID = "wx0000000000000e16"


def test_an_owner_authorizes_a_new_mini_program_its_tenant_becomes_active_and_a_user_logs_in(
    component: FakeComponentControl,
    wechat: FakeWeChatServer,
    admin_client: Client,
    ticket: str,
    queue_name: str,
    audit: Callable[[], QuerySet[AuditEntry]],
) -> None:
    redirect, link = authorize(component, admin_client, app_id=NEW_APP_ID, tenant_name="新店 🛍️")
    assert "auth_type=2" in link["url"] and "/cgi-bin/componentloginpage?" in link["url"]
    assert "action=bindcomponent" in link["mobile_url"] and link["mobile_url"].endswith("#wechat_redirect")
    assert redirect.startswith("https://miniplex.example.com/wechat/v1/component/authorized/")

    page = Client().get(local_path(redirect))
    assert page.status_code == 200
    tenant = Tenant.objects.get(app_id=NEW_APP_ID)
    assert (tenant.status, tenant.auth_mode, tenant.name) == ("provisioning", "component", "新店 🛍️")
    assert not tenant.has_secret
    assert jobs_queue().fetch_job(tenant.provisioning_job_id) is not None
    provision_tenant_job(app_id=NEW_APP_ID)  # what the platform worker runs
    assert Tenant.objects.get(app_id=NEW_APP_ID).status == "active"
    assert tenant.db_name in tenant_databases_on_server()

    deliver_all(component)  # the authorized push, after the redirect: nothing more to do, still "success"
    assert Tenant.objects.filter(app_id=NEW_APP_ID).count() == 1

    mini_program = TenantClient(NEW_APP_ID)
    login = mini_program.login(new_code())
    assert login.status_code == 200, login.content
    counters = wechat.control.counters(NEW_APP_ID)
    assert counters.get("/sns/component/jscode2session") == 1 and "/sns/jscode2session" not in counters
    assert mini_program.get("/api/v1/me").status_code == 200

    onboard = audit().get(action=AuditEntry.Action.ONBOARD, app_id=NEW_APP_ID)
    assert onboard.door == "wechat" and onboard.details["auth_mode"] == "component"
    assert audit().filter(action="authorization_link", actor="platform-admin").count() == 1


def test_the_owner_cancelling_suspends_the_tenant_keeping_its_data_and_authorizing_again_resumes_it(
    component: FakeComponentControl, admin_client: Client, ticket: str, audit: Callable[[], QuerySet[AuditEntry]]
) -> None:
    redirect, _link = authorize(component, admin_client, app_id=TENANT_A)
    assert Client().get(local_path(redirect)).status_code == 200
    component.take_pushes()
    mini_program = TenantClient(TENANT_A)
    assert mini_program.login(new_code()).status_code == 200

    component.unauthorize(TENANT_A)
    deliver_all(component)
    refused = mini_program.get("/api/v1/me")
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "tenant_suspended"
    assert Tenant.objects.get(app_id=TENANT_A).status == "suspended"
    assert Authorizer.objects.get(app_id=TENANT_A).status == "unauthorized"
    suspend = audit().get(action=AuditEntry.Action.SUSPEND, app_id=TENANT_A)
    assert suspend.door == "wechat" and "cancelled" in suspend.details["reason"]
    assert get_redis().get(access_token_holder().token_key(TENANT_A)) is None

    authorize(component, admin_client, app_id=TENANT_A)
    deliver_all(component)  # this time only the push comes (the owner closed the browser)
    assert Tenant.objects.get(app_id=TENANT_A).status == "active"
    assert mini_program.get("/api/v1/me").status_code == 200  # the user and the token were kept


def test_permissions_not_granted_are_shown_and_the_features_needing_them_refuse(
    component: FakeComponentControl, admin_client: Client, ticket: str, audit: Callable[[], QuerySet[AuditEntry]]
) -> None:
    redirect, _link = authorize(component, admin_client, app_id=TENANT_B, func_info=[17, 19])
    page = Client().get(local_path(redirect)).content.decode()
    assert "code_release" in page
    detail = admin_client.get(f"/platform/v1/component/authorizers/{TENANT_B}").json()
    assert detail["func_info"] == [17, 19] and list(detail["missing"]) == ["code_release"]
    try:
        authorizer_permission_require(app_id=TENANT_B, feature="code_release")
    except ComponentPermissionMissing as refused:
        assert refused.code == "component_permission_missing" and refused.extra["permission_set"] == 18
    else:
        raise AssertionError("code_release was not refused")
    authorizer_permission_require(app_id=TENANT_B, feature="wxacode")  # granted: no refusal

    # The owner authorizes again with the set ticked: updateauthorized refreshes func_info.
    component.take_pushes()
    authorize(component, admin_client, app_id=TENANT_B, func_info=[17, 18, 19])
    deliver_all(component)
    assert Authorizer.objects.get(app_id=TENANT_B).func_info == [17, 18, 19]
    authorizer_permission_require(app_id=TENANT_B, feature="code_release")
    assert audit().filter(action="authorization_update", app_id=TENANT_B).count() == 2


def test_a_linked_tenant_gets_its_pushes_verified_with_the_components_keys(
    component: FakeComponentControl, admin_client: Client, ticket: str
) -> None:
    assert component_push_credentials(TENANT_B) is None  # its own AppSecret and push settings
    redirect, _link = authorize(component, admin_client, app_id=TENANT_B)
    Client().get(local_path(redirect))
    credentials = component_push_credentials(TENANT_B)
    assert credentials is not None
    assert (credentials.token, credentials.app_id_expected) == (COMPONENT_TOKEN, COMPONENT_APP_ID)
    assert (credentials.mode, credentials.format) == ("safe", "xml")


def test_login_of_a_tenant_the_component_is_not_authorized_for_is_a_clear_403(
    component: FakeComponentControl, ticket: str
) -> None:
    Tenant.objects.filter(app_id=TENANT_B).update(auth_mode=Tenant.AuthMode.COMPONENT)
    answer = TenantClient(TENANT_B).login(new_code())
    assert answer.status_code == 403
    assert answer.json()["error"]["code"] == "component_not_authorized"


def test_a_link_works_once_and_an_unknown_one_is_refused(
    component: FakeComponentControl, admin_client: Client, ticket: str
) -> None:
    redirect, _link = authorize(component, admin_client, app_id=TENANT_B)
    client = Client()
    assert client.get(local_path(redirect)).status_code == 200
    assert client.get(local_path(redirect)).status_code == 200  # a reload shows the same result
    unknown = client.get("/wechat/v1/component/authorized/nope?auth_code=x")
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "authorization_link_invalid"
    assert AuthorizationLink.objects.filter(completed_at__isnull=False).count() == 1


def test_when_the_push_comes_before_the_browser_the_redirect_shows_the_done_authorization(
    component: FakeComponentControl, wechat: FakeWeChatServer, admin_client: Client, ticket: str
) -> None:
    redirect, _link = authorize(component, admin_client, app_id=TENANT_B)
    deliver_all(component)
    page = Client().get(local_path(redirect))
    assert page.status_code == 200 and TENANT_B in page.content.decode()
    assert wechat.control.counters(TENANT_B)["/cgi-bin/component/api_query_auth"] == 1
    assert Tenant.objects.get(app_id=TENANT_B).uses_component


def test_the_admin_page_gives_a_link_and_a_qr_code_to_staff_who_may_add_tenants(
    component: FakeComponentControl, admin_client: Client, ticket: str
) -> None:
    url = "/admin/component/authorizer/authorize/"
    assert admin_client.get(url).status_code == 200
    page = admin_client.post(url, {"tenant_name": "Shop"}).content.decode()
    assert "<svg" in page and "bindcomponent" in page and "componentloginpage" in page
    assert AuthorizationLink.objects.get().tenant_name == "Shop"

    staff = User.objects.create_user("viewer", password="pw-for-tests", is_staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="view_tenant"))
    viewer = Client()
    viewer.force_login(staff)
    try:
        assert viewer.post(url, {"tenant_name": "x"}).status_code == 403
        api = viewer.post("/platform/v1/component/authorizations", {}, content_type="application/json")
        assert api.status_code == 403
    finally:
        staff.delete()
    assert AuthorizationLink.objects.count() == 1


def _message_push(app_id_in_ciphertext: str) -> tuple[str, bytes]:
    """A text message to the open platform's message URL, encrypted as WeChat does for authorizers."""
    crypto = MessageCrypto(token=COMPONENT_TOKEN, encoding_aes_key=COMPONENT_AES_KEY, app_id=app_id_in_ciphertext)
    now = int(time.time())
    # Addressed to the authorizer's original id (the fake's: gh_ + the AppID's last 12), as the receiver requires.
    message = {"ToUserName": f"gh_{TENANT_B[-12:]}", "FromUserName": "o-user", "CreateTime": now, "MsgType": "text"}
    # A MsgId of its own: the receiver records each push once by it, and the records outlive a test.
    encrypted = crypto.encrypt(xml_build({**message, "Content": "你好", "MsgId": secrets.randbelow(10**15)}))
    timestamp, nonce = str(now), "n0nce"
    query = {
        "timestamp": timestamp,
        "nonce": nonce,
        "encrypt_type": "aes",
        "msg_signature": push_signature(COMPONENT_TOKEN, timestamp, nonce, encrypted),
        "signature": push_signature(COMPONENT_TOKEN, timestamp, nonce),
    }
    return urlencode(query), xml_build({"ToUserName": "gh_x", "Encrypt": encrypted})


def test_an_authorized_tenants_messages_reach_the_push_receiver_with_the_components_keys(
    component: FakeComponentControl, admin_client: Client, ticket: str
) -> None:
    redirect, _link = authorize(component, admin_client, app_id=TENANT_B)
    Client().get(local_path(redirect))
    # $APPID$ in the platform's message URL: WeChat fills in the authorizer, and ends the ciphertext with the
    # component's AppID.
    query, body = _message_push(COMPONENT_APP_ID)
    answer = Client().post(f"/wechat/v1/push/{TENANT_B}?{query}", body, content_type="text/xml")
    assert answer.status_code == 200 and answer.content == b"success", answer.content
    query, body = _message_push(TENANT_B)  # the mini-program's own AppID inside: not the platform's push
    refused = Client().post(f"/wechat/v1/push/{TENANT_B}?{query}", body, content_type="text/xml")
    assert refused.json()["error"]["code"] == PushAppIdMismatch.code, refused.content
