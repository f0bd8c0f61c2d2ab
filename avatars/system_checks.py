"""`manage.py check --deploy`: the avatars' public URL must be one WeChat can fetch."""

from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.checks import CheckMessage, Warning

LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1", "0.0.0.0"}  # noqa: S104 (names compared, nothing bound)


def media_public_base_url_check(**kwargs: Any) -> list[CheckMessage]:
    url = urlsplit(settings.MEDIA_PUBLIC_BASE_URL)
    if url.scheme == "https" and url.hostname and url.hostname not in LOCAL_HOSTS:
        return []
    return [
        Warning(
            f"MEDIA_PUBLIC_BASE_URL is {settings.MEDIA_PUBLIC_BASE_URL!r}: WeChat fetches each avatar from it for its "
            "content check, so with no public https address every upload ends `unchecked`.",
            hint="Set MEDIA_PUBLIC_BASE_URL to the https address that serves avatars/ (docs/avatars.md).",
            id="avatars.W001",
        )
    ]
