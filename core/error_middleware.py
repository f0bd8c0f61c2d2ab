"""The last word on error answers: whatever view or middleware made an error response, the client gets JSON.

Django's handlers (core.error_views, core.responses) and DRF's exception handler already answer in the one
shape; this catches the answers that bypass both: a view returning HttpResponseNotAllowed (an empty 405), DRF
rendering its error with the view's own renderer (the docs page's HTML, the schema's YAML), a static file
refused by WhiteNoise. The admin's own HTML pages (its lock-out page) are left to the browser they are for.
"""

from collections.abc import Callable
from http import HTTPStatus

from django.http import HttpRequest, HttpResponse, HttpResponseBase, JsonResponse

from core.exceptions import error_body

# The codes the API uses for these statuses elsewhere (api.exceptions, core.responses, nginx).
STATUS_CODES = {
    400: "bad_request",
    401: "not_authenticated",
    403: "permission_denied",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    413: "request_too_large",
    415: "unsupported_media_type",
    429: "throttled",
    500: "server_error",
    502: "service_unavailable",
    503: "service_unavailable",
    504: "gateway_timeout",
}
# Headers of the answer that describe its body, which the JSON replaces.
BODY_HEADERS = {"content-type", "content-length", "content-encoding", "content-disposition", "content-language"}


def _is_json(response: HttpResponseBase) -> bool:
    return response.get("Content-Type", "").split(";")[0].strip() == "application/json"


def _is_admin_page(request: HttpRequest, response: HttpResponseBase) -> bool:
    return request.path_info.startswith("/admin/") and response.get("Content-Type", "").startswith("text/html")


def _json_body(response: HttpResponseBase) -> dict:
    # A DRF Response keeps what api.exceptions made of the error; only its rendering was not JSON.
    data = getattr(response, "data", None)
    if isinstance(data, dict) and isinstance(data.get("error"), dict) and "code" in data["error"]:
        return data
    status = response.status_code
    code = STATUS_CODES.get(status, "client_error" if status < 500 else "server_error")
    try:
        message = f"{HTTPStatus(status).phrase}."
    except ValueError:
        message = "The request failed."
    return error_body(code, message)


def as_json_error(response: HttpResponseBase) -> JsonResponse:
    converted = JsonResponse(_json_body(response), status=response.status_code)
    for name, value in response.items():
        if name.lower() not in BODY_HEADERS:
            converted[name] = value
    converted.cookies = response.cookies
    return converted


class JsonErrorMiddleware:
    """Outermost but for the request id: sees every answer, the other middleware's included."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        if response.status_code < 400 or _is_json(response) or _is_admin_page(request, response):
            return response
        return as_json_error(response)
