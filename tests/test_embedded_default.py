"""The embedded default (settings debug): SQLite files and an in-process cache, no MySQL, no Redis."""

import subprocess

import requests

from tests.helpers import BASE_DIR, PYTHON, free_port, running_server


def test_the_embedded_default_creates_a_demo_tenant_and_answers_the_printed_curl_line(tmp_path):
    env = {
        "PATH": "/usr/bin:/bin",
        "DJANGO_SETTINGS_MODULE": "config.settings.debug",
        "MINIPLEX_VAR_DIR": str(tmp_path),
    }
    port = free_port()

    def manage(*args: str) -> str:
        result = subprocess.run(
            [PYTHON, "manage.py", *args], env=env, cwd=BASE_DIR, capture_output=True, text=True, timeout=120
        )
        assert result.returncode == 0, result.stderr
        return result.stdout

    manage("migrate", "--noinput", "-v", "0")
    printed = manage("ensure_demo_tenant", "--addr", f"127.0.0.1:{port}")
    assert "created the demo tenant wx0123456789abcdef" in printed
    assert "created" not in manage("ensure_demo_tenant")  # once is enough
    curl_line = next(line.strip() for line in printed.splitlines() if line.strip().startswith("curl"))
    assert curl_line == f"curl -H 'X-AppID: wx0123456789abcdef' http://127.0.0.1:{port}/api/v1/ping"

    argv = [PYTHON, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"]
    with running_server(argv, f"http://127.0.0.1:{port}/healthz", env):
        response = requests.get(
            f"http://127.0.0.1:{port}/api/v1/ping", headers={"X-AppID": "wx0123456789abcdef"}, timeout=10
        )
        assert response.json() == {"app_id": "wx0123456789abcdef"}
        unknown = requests.get(
            f"http://127.0.0.1:{port}/api/v1/ping", headers={"X-AppID": "wx0123456789abcdee"}, timeout=10
        )
        assert unknown.status_code == 404
    assert (tmp_path / "control.sqlite3").is_file()
    assert (tmp_path / "tenants" / "mp_wx0123456789abcdef.sqlite3").is_file()
