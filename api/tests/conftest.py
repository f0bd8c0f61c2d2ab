"""The API tests' WeChat: one fake server on 127.0.0.1 per session, knowing the session tenants' secrets."""

import uuid
from collections.abc import Iterator

import pytest
from django.test import Client

from accounts.wechat_access import access_token_holder
from tests.helpers import SESSION_TENANTS, session_secret
from wechat.fake_server import FakeWeChatServer


def register_session_apps(server: FakeWeChatServer) -> None:
    for app_id in SESSION_TENANTS:
        server.control.register_app(app_id, session_secret(app_id), unionid=True)


@pytest.fixture(scope="session")
def wechat_server() -> Iterator[FakeWeChatServer]:
    server = FakeWeChatServer()
    server.start()
    register_session_apps(server)
    yield server
    server.stop()


@pytest.fixture
def wechat(wechat_server: FakeWeChatServer, settings, tenant_db: None) -> Iterator[FakeWeChatServer]:  # noqa: ANN001
    """The fake server, with this test's settings pointing at it; faults and tokens reset afterwards."""
    settings.WECHAT_API_BASE = wechat_server.base_url
    settings.WECHAT_TIMEOUT_SECONDS = 1.0
    access_token_holder.cache_clear()
    yield wechat_server
    wechat_server.control.reset()
    register_session_apps(wechat_server)


class TenantClient:
    """Django's test client speaking as one mini-program, optionally with a user's token."""

    def __init__(self, app_id: str, token: str | None = None) -> None:
        self.app_id = app_id
        self.token = token
        self.client = Client()

    def headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        headers = {"X-AppID": self.app_id, **(extra or {})}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        return headers

    def get(self, path: str, **headers: str):  # noqa: ANN201
        return self.client.get(path, headers=self.headers(headers))

    def post(self, path: str, body: object = None, content_type: str = "application/json", **headers: str):  # noqa: ANN201
        return self.client.post(path, body, content_type=content_type, headers=self.headers(headers))

    def patch(self, path: str, body: object, **headers: str):  # noqa: ANN201
        return self.client.patch(path, body, content_type="application/json", headers=self.headers(headers))

    def login(self, code: str | None = None):  # noqa: ANN201
        response = self.post("/api/v1/auth/login", {"code": code or new_code()})
        if response.status_code == 200:
            self.token = response.json()["token"]
        return response


def new_code() -> str:
    return f"code-{uuid.uuid4().hex[:12]}"
