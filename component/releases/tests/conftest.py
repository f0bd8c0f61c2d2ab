"""Fixtures of the release tests: tenants with no database of their own (a release needs only their registry row
and AppSecret), the fake's template library with one template, and the releases' rows cleaned afterwards."""

from collections.abc import Iterator

import pytest
from django.conf import settings

from component.releases import wechat_calls
from component.releases.models import Release
from console.models import AuditEntry
from tenants.models import Tenant
from tenants.secrets import secret_encrypt
from tests.helpers import session_secret
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
def code(wechat: FakeWeChatServer, monkeypatch: pytest.MonkeyPatch, queue_name: str) -> TemplatesControl:
    """The fake's code management, and this process's component token for its template library."""
    monkeypatch.setattr(wechat_calls, "with_component_token", lambda fn: fn(COMPONENT_TOKEN))
    return TemplatesControl(wechat.base_url)


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
    return app_ids
