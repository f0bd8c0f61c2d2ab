"""The fake WeChat Pay server and tenants configured as its merchants (docs/payments-merchants.md, "Tests").

- `pay_server`: the running fake (one per session), settings.WECHATPAY_API_BASE pointed at it and
  PAY_NOTIFY_BASE_URL set; forgotten (reset) after each test, with every merchant row.
- `merchant_a` / `merchant_b`: TENANT_A / TENANT_B as merchants in public-key mode;
  `merchant_a_both_modes` (and `pay_mode`): TENANT_A in each mode in turn.
- payments.fake_server.testing: merchant_credentials(), merchant_configure() for any other set-up.
"""

from collections.abc import Iterator

import pytest

from payments.fake_server import FakePayServer
from payments.fake_server.testing import BOTH_MODES, ConfiguredMerchant, merchant_configure, merchants_emptied
from payments.wechatpay.keys import PUBLIC_KEY_MODE
from tests.helpers import TENANT_A, TENANT_B

NOTIFY_BASE_URL = "https://miniplex.example.test"


@pytest.fixture(scope="session")
def pay_server_session() -> Iterator[FakePayServer]:
    server = FakePayServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def pay_server(pay_server_session: FakePayServer, settings, tenant_db: None) -> Iterator[FakePayServer]:  # noqa: ANN001
    settings.WECHATPAY_API_BASE = pay_server_session.base_url
    settings.WECHATPAY_TIMEOUT_SECONDS = 5.0
    if not settings.PAY_NOTIFY_BASE_URL:
        settings.PAY_NOTIFY_BASE_URL = NOTIFY_BASE_URL
    merchants_emptied()
    yield pay_server_session
    pay_server_session.control.reset()
    merchants_emptied()


@pytest.fixture(params=BOTH_MODES)
def pay_mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def merchant_a(pay_server: FakePayServer) -> ConfiguredMerchant:
    return merchant_configure(pay_server, TENANT_A, mode=PUBLIC_KEY_MODE)


@pytest.fixture
def merchant_b(pay_server: FakePayServer) -> ConfiguredMerchant:
    return merchant_configure(pay_server, TENANT_B, mode=PUBLIC_KEY_MODE)


@pytest.fixture
def merchant_a_both_modes(pay_server: FakePayServer, pay_mode: str) -> ConfiguredMerchant:
    return merchant_configure(pay_server, TENANT_A, mode=pay_mode)
