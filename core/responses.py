"""Django (non-DRF) responses in the JSON error shape, for middleware and the 404/500 handlers."""

import sys

from django.http import HttpRequest, JsonResponse

from core.exceptions import ApplicationError, ServiceUnavailable, error_body, is_unreachable


def error_response(error: ApplicationError) -> JsonResponse:
    response = JsonResponse(error_body(error.code, error.message, **error.extra), status=error.status)
    for name, value in error.headers.items():
        response[name] = value
    return response


def not_found_view(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    return JsonResponse(error_body("not_found", "No such endpoint."), status=404)


def server_error_view(request: HttpRequest) -> JsonResponse:
    """handler500; Django calls it while handling the exception, so sys.exc_info() names it.

    A database or Redis that did not answer (a plain view, the admin) is 503 with Retry-After, as in the API.
    """
    if is_unreachable(sys.exc_info()[1]):
        return error_response(ServiceUnavailable())
    return JsonResponse(error_body("server_error", "An unexpected error happened; it has been reported."), status=500)
