"""Tenants with an AppSecret, known to a fake WeChat server in the test process, for end-to-end tests that log in.

The e2e session's own tenants (conftest.E2E_TENANTS) have no AppSecret, so nothing can be asked of WeChat for
them; these are onboarded with one, on the private MariaDB, under the settings module the test runs.
"""

from collections.abc import Iterator
from contextlib import contextmanager

import requests

from tests.e2e.services import manage
from wechat.fake_server import FakeWeChatServer


def secret_of(app_id: str) -> str:
    return f"e2e-secret-{app_id}"


@contextmanager
def fake_wechat(*app_ids: str) -> Iterator[FakeWeChatServer]:
    """A fake WeChat on 127.0.0.1 (threads of this process) that knows the AppIDs and their secrets."""
    with FakeWeChatServer(apps={app_id: secret_of(app_id) for app_id in app_ids}) as server:
        yield server


def onboard(env: dict[str, str], app_id: str) -> None:
    """create_tenant with its AppSecret (read from an environment variable, as the command wants)."""
    manage(
        {**env, "E2E_APP_SECRET": secret_of(app_id)},
        "create_tenant",
        app_id,
        "--name",
        app_id,
        "--secret-env",
        "E2E_APP_SECRET",
    )


def login(port: int, app_id: str, name: str) -> str:
    """POST /api/v1/auth/login with the fake's code for `name`; the bearer token."""
    response = requests.post(
        f"http://127.0.0.1:{port}/api/v1/auth/login",
        json={"code": f"code-{name}"},
        headers={"X-AppID": app_id},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    return response.json()["token"]


def authorized(app_id: str, token: str) -> dict[str, str]:
    return {"X-AppID": app_id, "Authorization": f"Bearer {token}"}
