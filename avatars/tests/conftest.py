"""The avatar tests' fixtures: files in a folder of the test's own, uploads as the mini-program sends them, jobs
run in this process, and the fake WeChat's media checks."""

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from django.core.files.uploadedfile import SimpleUploadedFile
from rq import SimpleWorker

from api.tests.conftest import TenantClient
from pushes.tests.conftest import push_tenant, pushes_db  # noqa: F401 (fixtures: a tenant's push settings)
from tenants.jobs import TenantJob, get_connection
from tests.workers import jobs_queue

PUBLIC_BASE = "https://media.example.com/"


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path: Path) -> Path:  # noqa: ANN001
    """Uploads go to a folder of this test's own, served (on paper) from PUBLIC_BASE."""
    root = tmp_path / "media"
    settings.MEDIA_ROOT = str(root)
    settings.MEDIA_PUBLIC_BASE_URL = PUBLIC_BASE
    return root


def stored_files(root: Path) -> list[str]:
    """Every file under the media root, as storage names (avatars/<app_id>/<name>)."""
    return sorted(str(path.relative_to(root)) for path in root.rglob("*") if path.is_file())


def upload(client: TenantClient, data: bytes, *, name: str = "avatar.jpg", content_type: str = "image/jpeg"):  # noqa: ANN201
    """POST /api/v1/me/avatar as wx.uploadFile sends it: multipart, the file in the field `file`."""
    file = SimpleUploadedFile(name, data, content_type=content_type)
    return client.client.post("/api/v1/me/avatar", {"file": file}, headers=client.headers())


def run_jobs() -> int:
    """Runs the test queue's jobs in this process (each in its tenant, as TenantJob does) until none is left."""
    worker = SimpleWorker([jobs_queue()], connection=get_connection(), job_class=TenantJob)
    worker.work(burst=True, with_scheduler=False)
    return len(jobs_queue())


class MediaControl:
    """The fake WeChat's media-check control calls (wechat/fake_server/media.py)."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url

    def verdict(self, suggest: str, *, app_id: str | None = None, **rule: Any) -> None:
        body = {"suggest": suggest, "appid": app_id, **rule}
        requests.post(f"{self.base_url}/__control__/media_verdicts", json=body, timeout=5).raise_for_status()

    def push(self, trace_id: str, **answer: Any) -> None:
        body = {"trace_id": trace_id, **answer}
        requests.post(f"{self.base_url}/__control__/media_push", json=body, timeout=5).raise_for_status()

    def checks(self, app_id: str) -> list[dict[str, Any]]:
        response = requests.get(f"{self.base_url}/__control__/media_checks", params={"appid": app_id}, timeout=5)
        response.raise_for_status()
        return list(response.json()["checks"])


@pytest.fixture
def media(wechat) -> MediaControl:  # noqa: ANN001
    return MediaControl(wechat.base_url)


@pytest.fixture
def logged_in(wechat) -> Iterator[Callable[[str, str], TenantClient]]:  # noqa: ANN001
    def login(app_id: str, code: str) -> TenantClient:
        client = TenantClient(app_id)
        assert client.login(code).status_code == 200
        return client

    yield login
