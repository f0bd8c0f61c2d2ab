"""Fixtures of the wechat tests: one fake WeChat server per session, a fresh app and Redis key prefix per test."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import redis

from wechat.client import WeChatClient
from wechat.fake_server import FakeWeChatControl, FakeWeChatServer
from wechat.tokens import AccessTokenHolder

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
CLIENT_TIMEOUT = 2.0


@dataclass(frozen=True)
class App:
    app_id: str
    secret: str


class FakeClock:
    """A clock the test moves by hand, so 30 s spacing and daily limits take no real time."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture(scope="session")
def fake_server() -> Iterator[FakeWeChatServer]:
    server = FakeWeChatServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def control(fake_server: FakeWeChatServer) -> FakeWeChatControl:
    return fake_server.control


@pytest.fixture
def make_app(control: FakeWeChatControl) -> Callable[..., App]:
    """Registers a new app with a unique AppID, so tests never share counters, faults or tokens."""

    def make(*, unionid: bool = False, pages: list[str] | None = None) -> App:
        app = App(app_id=f"wxtest{uuid.uuid4().hex[:12]}", secret=f"secret-{uuid.uuid4().hex}")
        control.register_app(app.app_id, app.secret, unionid=unionid, pages=pages)
        return app

    return make


@pytest.fixture
def app(make_app: Callable[..., App]) -> App:
    return make_app()


@pytest.fixture
def make_client(fake_server: FakeWeChatServer) -> Callable[[App], WeChatClient]:
    def make(app: App) -> WeChatClient:
        return WeChatClient(app.app_id, app.secret, base_url=fake_server.base_url, timeout=CLIENT_TIMEOUT)

    return make


@pytest.fixture
def client(app: App, make_client: Callable[[App], WeChatClient]) -> WeChatClient:
    return make_client(app)


@pytest.fixture
def redis_client() -> Iterator[redis.Redis]:
    connection = redis.Redis.from_url(REDIS_URL)
    yield connection
    connection.close()


@pytest.fixture
def key_prefix(redis_client: redis.Redis) -> Iterator[str]:
    """A prefix of this test only; its keys are deleted afterwards (never FLUSHDB: Redis is shared)."""
    prefix = f"wechat-test-{uuid.uuid4().hex}"
    yield prefix
    keys = list(redis_client.scan_iter(match=f"{prefix}:*"))
    if keys:
        redis_client.delete(*keys)


@pytest.fixture
def make_holder(
    redis_client: redis.Redis, key_prefix: str, fake_server: FakeWeChatServer, control: FakeWeChatControl
) -> Callable[..., AccessTokenHolder]:
    """A holder over the fake server; client_factory looks secrets up in `secrets` (AppID -> secret)."""
    secrets: dict[str, str] = {}

    def make(*apps: App, **options: Any) -> AccessTokenHolder:
        secrets.update({app.app_id: app.secret for app in apps})

        def client_factory(app_id: str) -> WeChatClient:
            return WeChatClient(app_id, secrets[app_id], base_url=fake_server.base_url, timeout=CLIENT_TIMEOUT)

        return AccessTokenHolder(redis_client, client_factory=client_factory, key_prefix=key_prefix, **options)

    return make
