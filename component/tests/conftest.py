"""Open-platform fixtures: the component's settings, the fake's open platform, pushes delivered to the receiver."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from django.test import Client

from wechat.fake_server import FakeWeChatServer
from wechat.fake_server.component import FakeComponentControl

COMPONENT_APP_ID = "wx0c0000000000c0de"
COMPONENT_SECRET = "component-secret-for-tests"
COMPONENT_TOKEN = "component-token-for-tests"
# 43 characters: base64 of 32 bytes without its "=".
COMPONENT_AES_KEY = base64.b64encode(bytes(range(32))).decode().rstrip("=")
COMPONENT_SETTINGS = {
    "WECHAT_COMPONENT_APPID": COMPONENT_APP_ID,
    "WECHAT_COMPONENT_APPSECRET": COMPONENT_SECRET,
    "WECHAT_COMPONENT_TOKEN": COMPONENT_TOKEN,
    "WECHAT_COMPONENT_AES_KEY": COMPONENT_AES_KEY,
}
EVENTS_PATH = "/wechat/v1/component/events"


def _caches_clear() -> None:
    from accounts.wechat_access import access_token_holder
    from component.tokens import component_token_holder

    access_token_holder.cache_clear()
    component_token_holder.cache_clear()


@pytest.fixture
def component(wechat: FakeWeChatServer, settings: Any) -> Iterator[FakeComponentControl]:
    """Open-platform mode on, against the fake's open platform; afterwards its rows and the tenants' modes reset."""
    for name, value in COMPONENT_SETTINGS.items():
        setattr(settings, name, value)
    settings.WECHAT_COMPONENT_PAGE_BASE = wechat.base_url
    settings.WECHAT_COMPONENT_REDIRECT_BASE = "https://miniplex.example.com"
    _caches_clear()
    control = FakeComponentControl(wechat.base_url)
    control.configure(
        app_id=COMPONENT_APP_ID, secret=COMPONENT_SECRET, token=COMPONENT_TOKEN, aes_key=COMPONENT_AES_KEY
    )
    yield control
    _component_rows_clear()
    _caches_clear()


@pytest.fixture
def audit(tenant_db: None) -> Any:
    """The audit entries written during this test (the trail is never cleaned: earlier tests' entries stay)."""
    from console.models import AuditEntry

    first = (AuditEntry.objects.order_by("-id").values_list("id", flat=True).first() or 0) + 1
    return lambda: AuditEntry.objects.filter(id__gte=first)


def _component_rows_clear() -> None:
    from component.models import AuthorizationLink, Authorizer, ComponentTicket
    from tenants.models import Tenant

    Authorizer.objects.all().delete()
    AuthorizationLink.objects.all().delete()
    ComponentTicket.objects.all().delete()
    Tenant.objects.update(auth_mode=Tenant.AuthMode.SECRET)


def deliver(client: Client, push: dict[str, Any]) -> Any:
    """POST one push the fake queued to the receiver, as WeChat would."""
    return client.post(f"{EVENTS_PATH}?{urlencode(push['query'])}", push["body"], content_type="text/xml")


def deliver_all(component: FakeComponentControl, client: Client | None = None) -> list[Any]:
    """Deliver every queued push, oldest first; each answer must be WeChat's "success"."""
    client = client or Client()
    answers = [deliver(client, push) for push in component.take_pushes()]
    for answer in answers:
        assert answer.status_code == 200 and answer.content == b"success", answer.content
    return answers


@pytest.fixture
def ticket(component: FakeComponentControl) -> str:
    """A ticket pushed and received (so the component token can be fetched)."""
    issued = component.push_ticket()
    deliver_all(component)
    return issued


def local_path(url: str) -> str:
    """The path and query of a URL on our own host, for Django's test client."""
    parts = urlsplit(url)
    return f"{parts.path}?{parts.query}" if parts.query else parts.path


def authorize(
    component: FakeComponentControl,
    admin_client: Client,
    *,
    app_id: str,
    func_info: list[int] | None = None,
    tenant_name: str = "",
) -> tuple[str, dict[str, Any]]:
    """Staff asks for a link, the owner opens the page and confirms: (the redirect URL, the link API's answer)."""
    body = {"tenant_name": tenant_name} if tenant_name else {}
    answer = admin_client.post("/platform/v1/component/authorizations", body, content_type="application/json")
    assert answer.status_code == 201, answer.content
    link = answer.json()
    component.open_page(link["url"])
    pre_auth_code = parse_qs(urlsplit(link["url"]).query)["pre_auth_code"][0]
    redirect = component.authorize(pre_auth_code=pre_auth_code, app_id=app_id, func_info=func_info)
    return redirect, link
