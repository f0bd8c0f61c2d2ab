"""DRF's exception handler: every error of the API in the one JSON error shape (core.exceptions)."""

from typing import Any

from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response

from api.wechat_errors import application_error_for
from core.exceptions import ApplicationError, RequestTooLarge, ServiceUnavailable, error_body, is_unreachable
from wechat import WeChatError

# DRF's own exceptions -> our codes; anything else of DRF keeps its default_code.
DRF_CODES = {
    exceptions.NotAuthenticated: "not_authenticated",
    exceptions.AuthenticationFailed: "not_authenticated",
    exceptions.PermissionDenied: "permission_denied",
    exceptions.NotFound: "not_found",
    exceptions.MethodNotAllowed: "method_not_allowed",
    exceptions.NotAcceptable: "not_acceptable",
    exceptions.ParseError: "parse_error",
    exceptions.UnsupportedMediaType: "unsupported_media_type",
    exceptions.Throttled: "throttled",
}


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    elif is_unreachable(exc):
        # An unreachable database or Redis: tell the client to retry rather than a bare 500. Other errors reach Sentry.
        exc = ServiceUnavailable()
    elif isinstance(exc, WeChatError):
        exc = application_error_for(exc)
    elif isinstance(exc, RequestDataTooBig):
        exc = RequestTooLarge()
    if isinstance(exc, ApplicationError):
        return Response(error_body(exc.code, exc.message, **exc.extra), status=exc.status, headers=exc.headers)
    if isinstance(exc, exceptions.ValidationError):
        body = error_body("invalid", "The request is not valid.", fields=exc.detail)
        return Response(body, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, exceptions.APIException):
        return _api_exception_response(exc)
    return None


def _api_exception_response(exc: exceptions.APIException) -> Response:
    code = next((code for cls, code in DRF_CODES.items() if isinstance(exc, cls)), exc.default_code)
    headers: dict[str, str] = {}
    # DRF sets Throttled.wait, and auth_header in APIView.handle_exception, at run time; its stubs declare neither.
    wait = getattr(exc, "wait", None) if isinstance(exc, exceptions.Throttled) else None
    if wait is not None:
        headers["Retry-After"] = str(int(wait) + 1)
    auth_header = getattr(exc, "auth_header", None)
    if auth_header:
        headers["WWW-Authenticate"] = auth_header
    return Response(error_body(code, str(exc.detail)), status=exc.status_code, headers=headers)
