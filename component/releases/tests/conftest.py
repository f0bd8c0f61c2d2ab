"""Fixtures of the release tests: tenants with no database of their own (a release needs only their registry row
and AppSecret), the fake's template library with one template, and the releases' rows cleaned afterwards."""

from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from component.models import Authorizer
from component.releases import wechat_calls
from component.releases.models import Release
from console.models import AuditEntry
from tenants.models import Tenant
from tenants.secrets import secret_decrypt, secret_encrypt
from tests.helpers import session_secret
from wechat import WeChatClient
from wechat.fake_server import FakeWeChatServer
from wechat.fake_server.templates import TemplatesControl

COMPONENT_TOKEN = "fake-component-token"


@pytest.fixture(autouse=True)
def _releases_cleaned(django_db_setup: None, django_db_blocker) -> Iterator[None]:  # noqa: ANN001
    """Releases gone afterwards, and every audit entry a test wrote (an authorization's too: other tests count them)."""
    with django_db_blocker.unblock():
        before = AuditEntry.objects.order_by("-id").values_list("id", flat=True).first() or 0
    yield
    with django_db_blocker.unblock():
        Release.objects.all().delete()
        AuditEntry.objects.filter(id__gt=before).delete()


@pytest.fixture
def code(
    wechat: FakeWeChatServer, monkeypatch: pytest.MonkeyPatch, queue_name: str, request: pytest.FixtureRequest
) -> Iterator[TemplatesControl]:
    """The fake's code management, and this process's component token for its template library.

    Code management is for authorized tenants only: unless the test authorizes through the fake's open platform
    (the `component` fixture), every active tenant is put in component mode with an authorizer row (set 18) whose
    stored access token is one the fake issued for the app (the fake takes any app token while its open platform
    is not configured). Afterwards the tenants are back in secret mode.
    """
    monkeypatch.setattr(wechat_calls, "with_component_token", lambda fn: fn(COMPONENT_TOKEN))
    if "component" in request.fixturenames:
        yield TemplatesControl(wechat.base_url)
        return
    for tenant in Tenant.objects.filter(status=Tenant.Status.ACTIVE, auth_mode=Tenant.AuthMode.SECRET):
        if tenant.has_secret:
            authorized_for_code(tenant.app_id, secret_decrypt(tenant.app_secret_encrypted))
    yield TemplatesControl(wechat.base_url)
    Authorizer.objects.all().delete()
    Tenant.objects.update(auth_mode=Tenant.AuthMode.SECRET)


def authorized_for_code(app_id: str, secret: str) -> None:
    """The tenant in component mode, its authorizer authorized with set 18 and a token the fake accepts stored."""
    token, expires_in = WeChatClient(app_id, secret).fetch_stable_token()
    Authorizer.objects.update_or_create(
        app_id=app_id,
        defaults={
            "status": Authorizer.Status.AUTHORIZED,
            "func_info": [17, 18],
            "refresh_token_encrypted": secret_encrypt("refresh-token-unused-by-these-tests"),
            "access_token_encrypted": secret_encrypt(token),
            "access_token_expires_at": timezone.now() + timedelta(seconds=expires_in),
        },
    )
    Tenant.objects.filter(app_id=app_id).update(auth_mode=Tenant.AuthMode.COMPONENT)


@pytest.fixture
def template_id(code: TemplatesControl) -> int:
    """One template in the library, made from a draft as a platform does it."""
    draft_id = code.add_draft(user_version="1.4.0", user_desc="shop template")
    wechat_calls.template_add_from_draft(draft_id=draft_id)
    return int(wechat_calls.templates_list()[-1]["template_id"])


def registered_tenants(wechat: FakeWeChatServer, count: int, *, first: int = 0xE000) -> list[str]:
    """`count` active tenants in the registry (no databases: a release never touches them), known to the fake."""
    app_ids = [f"wx{first + index:016x}" for index in range(count)]
    for index, app_id in enumerate(app_ids):
        Tenant.objects.create(
            app_id=app_id,
            name=f"店铺 {index}",
            status=Tenant.Status.ACTIVE,
            db_server=settings.TENANT_DB_DEFAULT_SERVER,
            db_name=f"{settings.TENANT_DB_PREFIX}{app_id}",
            app_secret_encrypted=secret_encrypt(session_secret(app_id)),
        )
        wechat.control.register_app(app_id, session_secret(app_id))
        authorized_for_code(app_id, session_secret(app_id))
    return app_ids
