"""The API tests' client; the fake WeChat server fixtures (`wechat`) are in the root conftest.py."""

import uuid

from django.test import Client


class TenantClient:
    """Django's test client speaking as one mini-program, optionally with a user's token."""

    def __init__(self, app_id: str, token: str | None = None) -> None:
        self.app_id = app_id
        self.token = token
        self.client = Client()

    def headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        headers = {"X-AppID": self.app_id, **(extra or {})}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        return headers

    def get(self, path: str, **headers: str):  # noqa: ANN201
        return self.client.get(path, headers=self.headers(headers))

    def post(self, path: str, body: object = None, content_type: str = "application/json", **headers: str):  # noqa: ANN201
        return self.client.post(path, body, content_type=content_type, headers=self.headers(headers))

    def patch(self, path: str, body: object, **headers: str):  # noqa: ANN201
        return self.client.patch(path, body, content_type="application/json", headers=self.headers(headers))

    def login(self, code: str | None = None):  # noqa: ANN201
        response = self.post("/api/v1/auth/login", {"code": code or new_code()})
        if response.status_code == 200:
            self.token = response.json()["token"]
        return response


def new_code() -> str:
    return f"code-{uuid.uuid4().hex[:12]}"
