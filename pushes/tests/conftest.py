"""The push tests' fixtures: a tenant's push settings, pushes signed as WeChat signs them, jobs run here."""

from __future__ import annotations

import json
import secrets
import string
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import pytest
from django.test import Client
from rq import SimpleWorker

from core.tenant_context import activate_tenant
from pushes.control.models import PushSettings
from pushes.control.services import PushSettingsChange, push_settings_set
from pushes.models import CustomerMessage, PushRecord, SubscriptionState
from tenants.jobs import TenantJob, get_connection
from tenants.models import Tenant
from tenants.selectors import tenant_context_for
from tests.helpers import SESSION_TENANTS
from tests.workers import jobs_queue
from wechat.crypto import MessageCrypto, push_signature, xml_build
from wechat.fake_server.push import BuiltPush, PushTarget, push_build

ALPHANUMERIC = string.ascii_letters + string.digits


def new_aes_key() -> str:
    """An EncodingAESKey as WeChat's page generates one: 43 letters and digits."""
    return "".join(secrets.choice(ALPHANUMERIC) for _ in range(43))


def new_token() -> str:
    return "".join(secrets.choice(ALPHANUMERIC) for _ in range(24))


def run_jobs() -> int:
    """Runs the test queue's jobs in this process (each in its tenant, as TenantJob does); how many are left."""
    worker = SimpleWorker([jobs_queue()], connection=get_connection(), job_class=TenantJob)
    worker.work(burst=True, with_scheduler=False)
    return len(jobs_queue())


def in_tenant(app_id: str, read: Callable[[], Any]) -> Any:
    with activate_tenant(tenant_context_for(Tenant.objects.get(app_id=app_id))):
        return read()


@dataclass
class PushTenant:
    """One tenant's push settings, and a way to push to it as WeChat would (through Django's test client)."""

    app_id: str
    token: str
    aes_key: str
    mode: str
    format: str

    @property
    def path(self) -> str:
        return f"/wechat/v1/push/{self.app_id}"

    def target(self, *, app_id: str | None = None) -> PushTarget:
        return PushTarget(
            app_id=app_id or self.app_id,
            url=self.path,
            token=self.token,
            aes_key=self.aes_key,
            mode=self.mode,
            format=self.format,
        )

    def build(self, message: dict[str, Any], **options: Any) -> BuiltPush:
        return push_build(self.target(), message, **options)

    def post(self, built: BuiltPush, *, path: str | None = None) -> Any:
        url = built.url if path is None else path + built.url[len(self.path) :]
        return Client().generic("POST", url, built.body, content_type=built.content_type)

    def signed_body(self, body: bytes) -> BuiltPush:
        """A correctly signed request around any body (plain mode's signature does not cover the body)."""
        stamp, nonce = str(int(time.time())), secrets.token_hex(6)
        query = {"signature": push_signature(self.token, stamp, nonce), "timestamp": stamp, "nonce": nonce}
        return BuiltPush(url=f"{self.path}?{urlencode(query)}", body=body, content_type=self._content_type)

    def encrypted_body(self, inner: bytes) -> BuiltPush:
        """A correctly signed and encrypted push around any inner bytes: only what is inside can be wrong."""
        encrypted = MessageCrypto(token=self.token, encoding_aes_key=self.aes_key, app_id=self.app_id).encrypt(inner)
        stamp, nonce = str(int(time.time())), secrets.token_hex(6)
        query = {
            "signature": push_signature(self.token, stamp, nonce),
            "timestamp": stamp,
            "nonce": nonce,
            "encrypt_type": "aes",
            "msg_signature": push_signature(self.token, stamp, nonce, encrypted),
        }
        outer = {"ToUserName": "gh_x", "Encrypt": encrypted}
        body = xml_build(outer) if self.format == "xml" else json.dumps(outer).encode()
        return BuiltPush(url=f"{self.path}?{urlencode(query)}", body=body, content_type=self._content_type)

    @property
    def _content_type(self) -> str:
        return "text/xml" if self.format == "xml" else "application/json"

    def push(self, message: dict[str, Any], **options: Any) -> Any:
        return self.post(self.build(message, **options))

    def records(self) -> list[PushRecord]:
        return in_tenant(self.app_id, lambda: list(PushRecord.objects.order_by("id")))

    def subscriptions(self) -> list[SubscriptionState]:
        return in_tenant(self.app_id, lambda: list(SubscriptionState.objects.order_by("template_id")))

    def customer_messages(self) -> list[CustomerMessage]:
        return in_tenant(self.app_id, lambda: list(CustomerMessage.objects.order_by("id")))


def _clean() -> None:
    PushSettings.objects.all().delete()
    for tenant in Tenant.objects.filter(app_id__in=SESSION_TENANTS):
        with activate_tenant(tenant_context_for(tenant)):
            PushRecord.objects.all().delete()
            SubscriptionState.objects.all().delete()
            CustomerMessage.objects.all().delete()


@pytest.fixture
def pushes_db(tenant_db: None, queue_name: str) -> Iterator[None]:
    """Database access and a job queue of the test's own; push settings and push rows gone afterwards."""
    yield
    _clean()


@pytest.fixture
def push_tenant(pushes_db: None) -> Callable[..., PushTenant]:
    def make(
        app_id: str,
        *,
        mode: str = "safe",
        data_format: str = "json",
        token: str | None = None,
        aes_key: str | None = None,
        transfer_customer_service: bool = False,
    ) -> PushTenant:
        tenant = PushTenant(
            app_id=app_id,
            token=token or new_token(),
            aes_key=aes_key or new_aes_key(),
            mode=mode,
            format=data_format,
        )
        change = PushSettingsChange(
            token=tenant.token,
            aes_key=tenant.aes_key,
            mode=mode,
            format=data_format,
            transfer_customer_service=transfer_customer_service,
        )
        push_settings_set(app_id=app_id, change=change)
        return tenant

    return make
