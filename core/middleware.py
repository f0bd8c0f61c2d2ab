"""Middleware of the shared kernel."""

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils.cache import patch_vary_headers

from core.exceptions import RequestTooLarge
from core.responses import error_response


class BodySizeLimitMiddleware:
    """Refuses a body over API_MAX_BODY_BYTES with 413 JSON before anything reads it.

    nginx enforces the same limit in front (client_max_body_size); this one holds for direct traffic too.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        # An upload endpoint may allow more than the API's general limit (API_MAX_BODY_BYTES_BY_PATH).
        limit = getattr(settings, "API_MAX_BODY_BYTES_BY_PATH", {}).get(request.path, settings.API_MAX_BODY_BYTES)
        if length > limit:
            return error_response(
                RequestTooLarge(f"The request body is larger than {limit} bytes.", extra={"limit": limit})
            )
        return self.get_response(request)


class PrivateAnswersMiddleware:
    """Answers of the API and the platform API are for one tenant and one caller: no shared cache may keep them.

    They differ by X-AppID and Authorization, which a cache in front (a CDN, a corporate proxy) would not know
    to key on: `Vary` names both and `Cache-Control: private, no-store` keeps them out of shared caches.
    """

    PREFIXES = ("/api/v1/", "/platform/")

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if request.path.startswith(self.PREFIXES):
            patch_vary_headers(response, (settings.TENANT_HEADER, "Authorization"))
            if "Cache-Control" not in response:
                response["Cache-Control"] = "private, no-store"
        return response
