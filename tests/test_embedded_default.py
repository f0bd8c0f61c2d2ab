"""The embedded default (settings debug): SQLite files and in-process stand-ins, no MySQL, no Redis."""

import subprocess

import pytest
import requests

from console.management.commands.ensure_demo_tenant import DEMO_APP_ID, DEMO_APP_SECRET
from tests.helpers import BASE_DIR, PYTHON, free_port, running_server
from wechat.fake_server import FakeWeChatServer


@pytest.mark.slow
def test_the_embedded_default_serves_the_demo_tenant_and_logs_a_user_in_against_the_fake_wechat(tmp_path):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with FakeWeChatServer(apps={DEMO_APP_ID: DEMO_APP_SECRET}) as wechat:
        env = {
            "PATH": "/usr/bin:/bin",
            "DJANGO_SETTINGS_MODULE": "config.settings.debug",
            "MINIPLEX_VAR_DIR": str(tmp_path),
            "WECHAT_API_BASE": wechat.base_url,
        }

        def manage(*args: str) -> str:
            result = subprocess.run(
                [PYTHON, "manage.py", *args], env=env, cwd=BASE_DIR, capture_output=True, text=True, timeout=120
            )
            assert result.returncode == 0, result.stderr
            return result.stdout

        manage("migrate", "--noinput", "-v", "0")
        printed = manage("ensure_demo_tenant", "--addr", f"127.0.0.1:{port}")
        assert f"created the demo tenant {DEMO_APP_ID}" in printed
        assert "created" not in manage("ensure_demo_tenant")  # once is enough
        curl_line = next(line.strip() for line in printed.splitlines() if line.strip().startswith("curl"))
        assert curl_line == f"curl -H 'X-AppID: {DEMO_APP_ID}' {base}/api/v1/ping"

        argv = [PYTHON, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"]
        with running_server(argv, f"{base}/healthz", env):
            headers = {"X-AppID": DEMO_APP_ID}
            assert requests.get(f"{base}/api/v1/ping", headers=headers, timeout=10).json() == {"app_id": DEMO_APP_ID}
            unknown = requests.get(f"{base}/api/v1/ping", headers={"X-AppID": "wx0123456789abcdee"}, timeout=10)
            assert unknown.status_code == 404

            login = requests.post(f"{base}/api/v1/auth/login", json={"code": "code-alice"}, headers=headers, timeout=10)
            assert login.status_code == 200, login.text
            headers["Authorization"] = f"Bearer {login.json()['token']}"
            patched = requests.patch(f"{base}/api/v1/me", json={"nickname": "小明😀"}, headers=headers, timeout=10)
            assert patched.json()["nickname"] == "小明😀"
            phone = requests.post(
                f"{base}/api/v1/me/phone", json={"code": "phone-13800138000"}, headers=headers, timeout=10
            )
            assert phone.json()["phone"] == "13800138000"  # the access_token holder ran on the in-process Redis
    assert (tmp_path / "control.sqlite3").is_file()
    assert (tmp_path / "tenants" / f"mp_{DEMO_APP_ID}.sqlite3").is_file()
