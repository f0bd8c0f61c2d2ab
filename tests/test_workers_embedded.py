"""The embedded default (settings debug, no Redis): jobs run in-process, so `./dev serve` needs no worker."""

import subprocess
from typing import Any

import pytest
import requests

from tests.helpers import BASE_DIR, PYTHON, free_port, running_server
from wechat.fake_server import FakeWeChatServer, fake_openid

DEMO_APP_ID = "wx0123456789abcdef"
DEMO_SECRET = "demo-app-secret"
TEMPLATE = "tmpl-demo"


@pytest.mark.slow
def test_the_embedded_default_runs_jobs_in_process_and_answers_their_state(tmp_path):
    with FakeWeChatServer(apps={DEMO_APP_ID: DEMO_SECRET}, risky_words=["坏词"]) as wechat:
        env = {
            "PATH": "/usr/bin:/bin",
            "DJANGO_SETTINGS_MODULE": "config.settings.debug",
            "MINIPLEX_VAR_DIR": str(tmp_path),
            "WECHAT_API_BASE": wechat.base_url,
        }
        for command in (["migrate", "--noinput", "-v", "0"], ["ensure_demo_tenant"]):
            result = subprocess.run(
                [PYTHON, "manage.py", *command], env=env, cwd=BASE_DIR, capture_output=True, text=True, timeout=120
            )
            assert result.returncode == 0, result.stderr
        wechat.control.add_template(DEMO_APP_ID, TEMPLATE)
        openid = fake_openid(DEMO_APP_ID, "code-dan")
        wechat.control.grant_subscription(DEMO_APP_ID, openid=openid, template_id=TEMPLATE)

        port = free_port()
        base = f"http://127.0.0.1:{port}"
        argv = [PYTHON, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"]
        with running_server(argv, f"{base}/healthz", env):
            headers = {"X-AppID": DEMO_APP_ID}
            login = requests.post(f"{base}/api/v1/auth/login", json={"code": "code-dan"}, headers=headers, timeout=10)
            assert login.status_code == 200, login.text
            headers["Authorization"] = f"Bearer {login.json()['token']}"

            message: dict[str, Any] = {"template_id": TEMPLATE, "data": {"thing1": {"value": "你好"}}}
            accepted = requests.post(f"{base}/api/v1/messages/subscribe", json=message, headers=headers, timeout=10)
            assert accepted.status_code == 202, accepted.text
            state = requests.get(f"{base}{accepted.json()['status_url']}", headers=headers, timeout=10).json()
            assert state["status"] == "finished"  # already: it ran in the request's process
            assert state["result"]["sent"] is True

            renamed = requests.patch(f"{base}/api/v1/me", json={"nickname": "坏词"}, headers=headers, timeout=10)
            assert renamed.status_code == 200
            me = requests.get(f"{base}/api/v1/me", headers=headers, timeout=10).json()
            assert me["nickname"] == ""  # the in-process check rejected it at once
        assert len(wechat.state.messages) == 1
