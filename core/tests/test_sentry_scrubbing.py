"""Sentry events carry no secret: login, phone binding and secret rotation made to fail, events read at a stand-in.

The stand-in (tests/e2e/sentry_stub.py) receives what sentry.io would; each test fails a request deep inside, where
the frames hold the AppSecret, the bearer token, the login or phone code and WeChat's access_token, then looks
for those values anywhere in the event as sent.
"""

import json
from collections.abc import Iterator

import pytest
import sentry_sdk
from cryptography.fernet import Fernet, MultiFernet
from django.contrib.auth.models import User
from django.test import Client

from api.tests.conftest import TenantClient
from core.sentry import FILTERED, scrub
from tests.e2e.sentry_stub import SentryStub, sentry_in_this_process
from tests.helpers import TENANT_A, session_secret
from wechat.client import WeChatClient

pytestmark = pytest.mark.usefixtures("wechat")


class Boom(RuntimeError):
    pass


@pytest.fixture
def sentry() -> Iterator[SentryStub]:
    with sentry_in_this_process() as stub:
        yield stub


def sent_events(stub: SentryStub) -> list[str]:
    sentry_sdk.get_client().flush(timeout=5)
    events = [json.dumps(event) for event in stub.snapshot() if "exception" in event]
    assert events, "the failure reached Sentry"
    return events


def fail_wechat_calls(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(self: WeChatClient, *args: object, **kwargs: object) -> None:
        raise Boom("WeChat client broke")

    monkeypatch.setattr(WeChatClient, "call", broken)


def test_a_failed_login_sends_neither_the_app_secret_nor_the_code(sentry, monkeypatch):
    fail_wechat_calls(monkeypatch)
    client = TenantClient(TENANT_A)
    client.client = Client(raise_request_exception=False)
    assert client.login("code-sentry-login").status_code == 500
    for event in sent_events(sentry):
        assert session_secret(TENANT_A) not in event
        assert "code-sentry-login" not in event
        assert '"vars"' not in event  # no local variables at all


def test_a_failed_phone_binding_sends_neither_the_bearer_token_nor_the_phone_code(sentry, monkeypatch):
    client = TenantClient(TENANT_A)
    token = client.login("code-sentry-phone").json()["token"]
    fail_wechat_calls(monkeypatch)
    client.client = Client(raise_request_exception=False)
    assert client.post("/api/v1/me/phone", {"code": "phone-13800138000"}).status_code == 500
    for event in sent_events(sentry):
        assert token not in event
        assert "13800138000" not in event
        assert session_secret(TENANT_A) not in event


def test_a_failed_secret_rotation_does_not_send_the_new_secret(sentry, monkeypatch):
    def broken(self: MultiFernet | Fernet, data: bytes) -> bytes:
        raise Boom("encryption broke")

    admin = User.objects.create_superuser("sentry-admin", "a@example.com", "pw-for-tests")
    try:
        client = Client(raise_request_exception=False)
        client.force_login(admin)
        new_secret = session_secret(TENANT_A)  # the fake server accepts it, so the rotation reaches encryption
        with monkeypatch.context() as patch:  # undone before the suite's clean-up encrypts secrets again
            patch.setattr(MultiFernet, "encrypt", broken)
            patch.setattr(Fernet, "encrypt", broken)
            response = client.post(
                f"/platform/v1/tenants/{TENANT_A}/secret", {"app_secret": new_secret}, content_type="application/json"
            )
        assert response.status_code == 500
        for event in sent_events(sentry):
            assert new_secret not in event
            assert '"data"' not in json.loads(event).get("request", {})  # no request body
    finally:
        admin.delete()


def test_the_scrubber_removes_secrets_by_name_at_any_depth():
    event = {
        "extra": {"payload": [{"app_secret": "s1", "nested": {"raw_token": "t1", "sessionKey": "k1"}}]},
        "request": {"headers": {"Authorization": "Bearer t2", "X-AppID": "wx0123456789abcdef"}},
        "contexts": {"wechat": {"encryptedData": "e1", "iv": "i1", "purePhoneNumber": "13800138000"}},
        "breadcrumbs": {"values": [{"data": {"access_token": "a1", "openid": "o1"}}]},
        "pairs": [["session_key", "k2"], ["theme", "dark"]],
        "http": {"http.query": "appid=wx0123456789abcdef&secret=s2&js_code=c1&grant_type=authorization_code"},
    }
    scrubbed = json.dumps(scrub(event))
    for secret in ("s1", "t1", "k1", "t2", "e1", "i1", "13800138000", "a1", "k2", "s2", "c1"):
        assert f'"{secret}"' not in scrubbed and secret not in scrubbed.replace(FILTERED, "")
    for kept in ("wx0123456789abcdef", "o1", "dark", "grant_type=authorization_code"):
        assert kept in scrubbed
