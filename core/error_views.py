"""Django's own error answers (handler400, handler403, CSRF_FAILURE_VIEW) in the one JSON error shape.

Django answers these itself, before or outside any DRF view: a Host not in ALLOWED_HOSTS (DisallowedHost), a
body or form over Django's limits, a PermissionDenied raised by a plain view, a refused CSRF check (the admin's
login form). Its defaults are HTML pages, which a mini-program's client cannot read. 404 and 500 are in
core.responses.
"""

from django.core.exceptions import DisallowedHost, RequestDataTooBig
from django.http import HttpRequest, JsonResponse

from core.exceptions import RequestTooLarge, error_body
from core.responses import error_response


def bad_request_view(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    """handler400: Django's SuspiciousOperation family (and a BadRequest raised by a view)."""
    if isinstance(exception, DisallowedHost):
        # The message names no host: the Host header is the client's, and the answer should not echo it.
        return JsonResponse(
            error_body("host_not_allowed", "This server does not serve the host named in the Host header."),
            status=400,
        )
    if isinstance(exception, RequestDataTooBig):
        # Django files it under "bad request"; for the client it is the same 413 as nginx's and the middleware's.
        return error_response(RequestTooLarge())
    return JsonResponse(error_body("bad_request", "The request could not be understood."), status=400)


def permission_denied_view(request: HttpRequest, exception: Exception | None = None) -> JsonResponse:
    """handler403: a PermissionDenied raised outside DRF (DRF's own go through api.exceptions)."""
    return JsonResponse(error_body("permission_denied", "You may not do this."), status=403)


def csrf_failure_view(request: HttpRequest, reason: str = "") -> JsonResponse:
    """CSRF_FAILURE_VIEW: a form post (the admin's) whose CSRF check failed.

    Django's reason is kept (e.g. "Origin checking failed - https://a.example does not match any trusted
    origins."): it names what to fix, which behind proxies is usually the Host or X-Forwarded-Proto they pass.
    """
    message = f"CSRF verification failed: {reason}" if reason else "CSRF verification failed."
    return JsonResponse(error_body("csrf_failed", message), status=403)
