"""The whole open-platform way of a release: a tenant authorizes the platform, the template library is read with
the component's token, the commit goes with the tenant's authorizer token, and WeChat's audit push arrives at the
platform's message URL (safe mode, XML, the component's keys), where its handler ends the audit."""

import secrets
import time
from io import StringIO
from urllib.parse import urlencode

import pytest
from django.core.management import call_command
from django.test import Client

from component.releases.models import ReleaseTarget, Stage
from component.tests.conftest import (  # noqa: F401 (fixtures)
    COMPONENT_AES_KEY,
    COMPONENT_APP_ID,
    COMPONENT_TOKEN,
    authorize,
    component,
    local_path,
    ticket,
)
from pushes.tests.conftest import run_jobs
from tenants.models import Tenant
from tests.helpers import TENANT_B
from wechat.crypto import MessageCrypto, push_signature, xml_build
from wechat.fake_server import FakeWeChatServer
from wechat.fake_server.component import FakeComponentControl
from wechat.fake_server.templates import TemplatesControl, audit_push_message


def platform_push(app_id: str, message: dict) -> tuple[str, bytes]:
    """What WeChat posts to the platform's message URL for an authorizer: encrypted with the component's keys."""
    crypto = MessageCrypto(token=COMPONENT_TOKEN, encoding_aes_key=COMPONENT_AES_KEY, app_id=COMPONENT_APP_ID)
    encrypted = crypto.encrypt(xml_build(message))
    stamp, nonce = str(int(time.time())), secrets.token_hex(6)
    query = {
        "signature": push_signature(COMPONENT_TOKEN, stamp, nonce),
        "timestamp": stamp,
        "nonce": nonce,
        "encrypt_type": "aes",
        "msg_signature": push_signature(COMPONENT_TOKEN, stamp, nonce, encrypted),
    }
    return f"/wechat/v1/push/{app_id}?{urlencode(query)}", xml_build({"ToUserName": "gh_x", "Encrypt": encrypted})


def test_an_authorized_tenant_is_released_with_its_authorizer_token_and_the_audit_push_ends_its_audit(
    component: FakeComponentControl,  # noqa: F811
    ticket: str,  # noqa: F811
    wechat: FakeWeChatServer,
    admin_client: Client,
    queue_name: str,
) -> None:
    redirect, _ = authorize(component, admin_client, app_id=TENANT_B)
    Client().get(local_path(redirect))
    assert Tenant.objects.get(app_id=TENANT_B).auth_mode == "component"
    code = TemplatesControl(wechat.base_url)
    draft_id = code.add_draft(user_version="3.1.0", user_desc="会员卡")

    out = StringIO()
    call_command("code_templates", "--add-draft", str(draft_id), stdout=out)
    template_id = int(out.getvalue().splitlines()[-1].split("\t")[0])
    call_command(
        "release_template",
        str(template_id),
        "--tenants",
        TENANT_B,
        "--user-version",
        "3.1.0",
        "--user-desc",
        "会员卡",
        "--auto-release",
        stdout=StringIO(),
    )
    run_jobs()
    target = ReleaseTarget.objects.get(app_id=TENANT_B)
    assert target.stage == Stage.AUDITING
    counters = wechat.control.counters(TENANT_B)
    assert counters["/wxa/commit"] == 1
    assert "/cgi-bin/stable_token" not in counters  # the authorizer token query_auth gave, not an AppSecret's

    code.decide_audit(TENANT_B, "success")  # no push target at the fake: the push is sent here, as WeChat would
    path, body = platform_push(TENANT_B, audit_push_message(TENANT_B, "success"))
    answer = Client().post(path, body, content_type="text/xml")
    assert answer.status_code == 200 and answer.content == b"success", answer.content
    run_jobs()  # the push's handler (a job of the tenant), then the release it enqueues (a platform job)

    released = ReleaseTarget.objects.get(app_id=TENANT_B)
    assert released.stage == Stage.RELEASED
    assert code.app(TENANT_B)["release_info"]["release_version"] == "3.1.0"
    assert "/wxa/get_auditstatus" not in wechat.control.counters(TENANT_B)  # the push said it: no poll needed


def test_a_tenant_whose_owner_did_not_grant_code_management_is_refused_before_any_commit(
    component: FakeComponentControl,  # noqa: F811
    ticket: str,  # noqa: F811
    wechat: FakeWeChatServer,
    admin_client: Client,
    queue_name: str,
) -> None:
    from component.releases.services import release_start

    redirect, _ = authorize(component, admin_client, app_id=TENANT_B, func_info=[17, 19])  # no 18
    Client().get(local_path(redirect))
    code = TemplatesControl(wechat.base_url)
    code.add_draft(user_version="3.2.0", user_desc="d")
    template_id = 1
    call_command("code_templates", "--add-draft", "1", stdout=StringIO())
    release = release_start(
        template_id=template_id, app_ids=[TENANT_B], user_version="3.2.0", user_desc="d", started_by="test"
    )
    run_jobs()
    target = ReleaseTarget.objects.get(release=release)
    assert target.stage == Stage.FAILED
    assert target.wechat_message.startswith("component_permission_missing:") and "18" in target.wechat_message
    assert "/wxa/commit" not in wechat.control.counters(TENANT_B)


def test_code_calls_need_a_live_authorizer_token_and_a_61003_suspends_the_tenant_once(
    component: FakeComponentControl,  # noqa: F811
    ticket: str,  # noqa: F811
    wechat: FakeWeChatServer,
    admin_client: Client,
    queue_name: str,
) -> None:
    from accounts.wechat_access import access_token_holder
    from component.exceptions import AuthorizationLost
    from component.models import Authorizer
    from component.releases import wechat_calls
    from console.models import AuditEntry
    from tests.helpers import TENANT_A, session_secret
    from wechat import WeChatClient
    from wechat.exceptions import WeChatError

    # The mini-program's own token (its AppSecret's stable token) is not one for code management: 86000.
    own_token, _ = WeChatClient(TENANT_A, session_secret(TENANT_A)).fetch_stable_token()
    body = {"template_id": 1, "ext_json": "{}", "user_version": "1", "user_desc": "d"}
    with pytest.raises(WeChatError) as not_ours:
        WeChatClient(TENANT_A, "").call("POST", "/wxa/commit", params={"access_token": own_token}, body=body)
    assert not_ours.value.errcode == 86000

    redirect, _ = authorize(component, admin_client, app_id=TENANT_B)
    Client().get(local_path(redirect))
    component.take_pushes()
    first = (AuditEntry.objects.order_by("-id").values_list("id", flat=True).first() or 0) + 1
    component.unauthorize(TENANT_B)
    component.take_pushes()  # the unauthorized push is lost; the stored authorizer token still looks good
    access_token_holder().get_token(TENANT_B)
    with pytest.raises(WeChatError) as refused:
        wechat_calls.code_version_info(app_id=TENANT_B)
    assert refused.value.errcode == 61003
    calls = wechat.control.counters(TENANT_B).get("/wxa/getversioninfo", 0)
    with pytest.raises(AuthorizationLost):  # the next call is refused by us: WeChat is not asked again
        wechat_calls.code_version_info(app_id=TENANT_B)
    assert wechat.control.counters(TENANT_B).get("/wxa/getversioninfo", 0) == calls
    assert Authorizer.objects.get(app_id=TENANT_B).status == Authorizer.Status.UNAUTHORIZED
    assert Tenant.objects.get(app_id=TENANT_B).status == Tenant.Status.SUSPENDED
    suspensions = AuditEntry.objects.filter(id__gte=first, action=AuditEntry.Action.SUSPEND, app_id=TENANT_B)
    assert [(entry.door, "61003" in entry.details["reason"]) for entry in suspensions] == [("wechat", True)]
