"""The mini-program client module (clients/miniprogram/) on Node's own test runner: against a stub `wx`, and against
this process's Django on a real port with the fake WeChat behind it (two tenants)."""

import os
import re
import shutil
import subprocess

import pytest
from django.apps import apps

from payments.tests.live import live_django
from tests.helpers import BASE_DIR, TENANT_A, TENANT_B

CLIENT_DIR = BASE_DIR / "clients" / "miniprogram"
NODE = shutil.which("node")


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


@pytest.mark.usefixtures("wechat")
def test_the_client_module_against_the_real_server_under_two_tenants():
    with_checkin = apps.is_installed("checkin")
    env = {"MINIPLEX_TEST_APP_IDS": f"{TENANT_A},{TENANT_B}", "MINIPLEX_TEST_CHECKIN": "1" if with_checkin else ""}
    with live_django() as url:
        counts = node_test("test-live/server.test.js", env={**env, "MINIPLEX_TEST_URL": url})
    assert counts["pass"] >= 6 + with_checkin
