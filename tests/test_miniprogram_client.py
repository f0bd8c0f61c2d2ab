"""The mini-program client module (clients/miniprogram/) on Node's own test runner: against a stub `wx`, and against
this process's Django on a real port with the fake WeChat and the fake WeChat Pay behind it (two tenants)."""

import os
import re
import shutil
import subprocess

import pytest

from core.tenant_context import activate_tenant
from payments.tests.conftest import merchant_a, pay_server, pay_server_session  # noqa: F401 (fixtures)
from payments.tests.helpers import orders_cleaned  # noqa: F401 (a fixture)
from tenants.models import Tenant
from tenants.selectors import tenant_context_for
from tests.helpers import BASE_DIR, TENANT_A, TENANT_B
from tests.live import live_django

CLIENT_DIR = BASE_DIR / "clients" / "miniprogram"
NODE = shutil.which("node")
REWARD = "coffee"


def node_test(*files: str, env: dict[str, str] | None = None) -> dict[str, int]:
    """Runs `node --test` on the files; fails with its output unless every test passed. Returns its counts."""
    assert NODE, "Node.js is needed for the client module's tests (./dev test installs it: apt-get install nodejs)"
    result = subprocess.run(
        [NODE, "--test", *files],
        cwd=CLIENT_DIR,
        env={**os.environ, **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
    )
    counts = {name: int(value) for name, value in re.findall(r"^# (\w+) (\d+)$", result.stdout, re.MULTILINE)}
    assert result.returncode == 0 and counts.get("fail") == 0, result.stdout[-4000:] + result.stderr[-2000:]
    return counts


def test_the_client_module_against_a_stub_wx():
    counts = node_test("test/client.test.js")
    assert counts["pass"] >= 12 and counts["skipped"] == 0


@pytest.fixture
def reward_on_sale(merchant_a, orders_cleaned):  # noqa: F811
    """The example app's reward in tenant A, which is a WeChat Pay merchant of the fake; all of it gone afterwards."""
    from checkin.models import Reward, RewardPurchase
    from checkin.services import reward_set

    context = tenant_context_for(Tenant.objects.get(app_id=TENANT_A))
    with activate_tenant(context):
        reward_set(code=REWARD, title="一杯咖啡", amount=1800, bonus_points=50)
    yield REWARD
    with activate_tenant(context):
        RewardPurchase.objects.all().delete()
        Reward.objects.all().delete()


@pytest.mark.slow  # a Django server on a real port and Node, about 2 s
@pytest.mark.usefixtures("wechat")
def test_the_client_module_against_the_real_server_under_two_tenants(reward_on_sale):
    env = {"MINIPLEX_TEST_APP_IDS": f"{TENANT_A},{TENANT_B}", "MINIPLEX_TEST_REWARD": reward_on_sale}
    with live_django() as url:
        counts = node_test("test-live/server.test.js", env={**env, "MINIPLEX_TEST_URL": url})
    assert (counts["pass"], counts["skipped"]) == (8, 0)
