"""A fake WeChat Pay v3 (merchant API and notifications) for tests and `./dev serve`, written from the docs."""

from payments.fake_server.remote import FakePayControl
from payments.fake_server.server import FakePayServer

__all__ = ["FakePayControl", "FakePayServer"]
