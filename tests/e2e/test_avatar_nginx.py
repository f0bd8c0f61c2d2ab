"""Avatars through the shipped nginx: the upload's larger body passes, and the stored file is served from disk.

Behind the site as shipped before, the whole server had the API's 256 KiB limit (an avatar over it got nginx's
413) and /media/avatars/ went to gunicorn (404): WeChat's media check, which fetches the file from
MEDIA_PUBLIC_BASE_URL, could never pass. The stack here is the shipped configs under supervisord
(tests/e2e/stack.py), with its own MEDIA_ROOT, which its nginx serves as production's serves the shared folder.
"""

import io
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from PIL import Image

from tests.e2e.conftest import Services
from tests.e2e.stack import running_stack
from tests.e2e.wechat_tenants import authorized, fake_wechat, login, onboard

TENANT = "wx00000000000000ae"


@dataclass
class Served:
    port: int
    media: Path


@pytest.fixture(scope="module")
def served(services: Services) -> Iterator[Served]:
    with fake_wechat(TENANT) as wechat:
        env = services.env(WECHAT_API_BASE=wechat.base_url)
        onboard(env, TENANT)
        workdir = services.workdir / "avatar-stack"
        with running_stack(workdir, env) as stack:
            yield Served(port=stack.nginx_port, media=workdir / "media")


def noise_png(side: int) -> bytes:
    """A PNG that does not compress: its size is about 3 bytes a pixel."""
    image = Image.frombytes("RGB", (side, side), os.urandom(side * side * 3))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def test_an_avatar_over_the_apis_body_limit_is_uploaded_and_served_from_disk_by_nginx(served):
    headers = authorized(TENANT, login(served.port, TENANT, "alice"))
    image = noise_png(600)
    assert 256 * 1024 < len(image) < 2 * 1024 * 1024
    response = requests.post(
        f"http://127.0.0.1:{served.port}/api/v1/me/avatar",
        files={"file": ("avatar.png", image, "image/png")},
        headers=headers,
        timeout=30,
    )
    assert response.status_code == 202, response.text
    assert response.json()["state"] == "pending"

    (stored,) = (served.media / "avatars" / TENANT).iterdir()
    fetched = requests.get(f"http://127.0.0.1:{served.port}/media/avatars/{TENANT}/{stored.name}", timeout=10)
    assert fetched.status_code == 200
    assert fetched.content == stored.read_bytes()
    assert fetched.headers["Content-Type"] == "image/png"
    assert fetched.headers["X-Content-Type-Options"] == "nosniff"
    assert "X-Request-ID" not in fetched.headers  # from disk: gunicorn never saw it


def test_past_the_uploads_own_limit_and_on_other_paths_nginx_answers_413_in_json(served):
    too_big = requests.post(
        f"http://127.0.0.1:{served.port}/api/v1/me/avatar",
        data=b"x" * (3 * 1024 * 1024 + 1),
        headers={"X-AppID": TENANT, "Content-Type": "application/octet-stream"},
        timeout=30,
    )
    assert too_big.status_code == 413
    assert too_big.json()["error"]["code"] == "request_too_large"
    elsewhere = requests.post(
        f"http://127.0.0.1:{served.port}/api/v1/auth/login",
        data=b"x" * (300 * 1024),
        headers={"X-AppID": TENANT, "Content-Type": "application/json"},
        timeout=30,
    )
    assert elsewhere.status_code == 413


def test_a_missing_avatar_is_nginxs_json_404(served):
    missing = requests.get(f"http://127.0.0.1:{served.port}/media/avatars/{TENANT}/none.png", timeout=10)
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"
