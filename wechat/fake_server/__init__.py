"""A fake WeChat server for tests and development: ``python -m wechat.fake_server --port 8765``.

In tests: ``server = FakeWeChatServer(apps={"wx1": "secret"}); base_url = server.start(); ...; server.stop()``;
drive it with ``server.control`` (register apps, inject faults and delays, rotate tokens, read counters).
"""

from wechat.fake_server.remote import FakeWeChatControl
from wechat.fake_server.server import FakeWeChatServer
from wechat.fake_server.state import FORCE_REFRESH_COUNTER, FORCE_REFRESH_REFUSED_COUNTER
from wechat.fake_server.testdata import fake_openid, fake_phone_number, fake_unionid

__all__ = [
    "FORCE_REFRESH_COUNTER",
    "FORCE_REFRESH_REFUSED_COUNTER",
    "FakeWeChatControl",
    "FakeWeChatServer",
    "fake_openid",
    "fake_phone_number",
    "fake_unionid",
]
