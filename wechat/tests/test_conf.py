"""Settings are read per call, so override_settings works (Django configured bare when no settings module is set)."""

from collections.abc import Iterator

import pytest
from django.conf import LazySettings, settings
from django.core.exceptions import ImproperlyConfigured
from django.test.utils import override_settings

from wechat import conf
from wechat.client import WeChatClient
from wechat.fake_server import FakeWeChatServer
from wechat.tests.conftest import App


@pytest.fixture
def django_settings() -> Iterator[LazySettings]:
    try:
        settings.INSTALLED_APPS  # noqa: B018 (configures from DJANGO_SETTINGS_MODULE when it is set)
    except ImproperlyConfigured:
        settings.configure()
    yield settings


def test_api_base_comes_from_settings_without_trailing_slash(django_settings: LazySettings) -> None:
    with override_settings(WECHAT_API_BASE="http://127.0.0.1:9/"):
        assert conf.get_api_base() == "http://127.0.0.1:9"


def test_timeout_comes_from_settings(django_settings: LazySettings) -> None:
    with override_settings(WECHAT_TIMEOUT_SECONDS=1.5):
        assert conf.get_timeout() == 1.5


def test_defaults_apply_when_settings_are_unset(django_settings: LazySettings) -> None:
    with override_settings():
        del django_settings.WECHAT_API_BASE
        del django_settings.WECHAT_TIMEOUT_SECONDS
        del django_settings.WECHAT_REDIS_KEY_PREFIX
        assert conf.get_api_base() == "https://api.weixin.qq.com"
        assert conf.get_timeout() == 5.0
        assert conf.get_redis_key_prefix() == "wechat"


def test_client_without_explicit_base_url_follows_overridden_settings(
    django_settings: LazySettings, fake_server: FakeWeChatServer, app: App
) -> None:
    client = WeChatClient(app.app_id, app.secret)
    with override_settings(WECHAT_API_BASE=fake_server.base_url, WECHAT_TIMEOUT_SECONDS=2):
        token, expires_in = client.fetch_stable_token()
        assert client.timeout == 2.0
    assert token.startswith("fake-token-")
    assert expires_in > 7000
