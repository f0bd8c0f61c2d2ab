"""OpenAPI: unique component names, the X-AppID header, the token schemes, and every operation's errors.

Each operation documents the error statuses it can really answer, all with the one ErrorResponse schema. Most
follow from how the view is set up (a tenant path, authentication, permissions, throttles, a request body);
the errors of the work itself (WeChat's refusals, an unknown job, ...) are named on the method with
`@api_errors(...)`, as the ApplicationError classes the code raises, so status, code and text come from them.
"""

from collections import defaultdict
from collections.abc import Callable
from typing import Any, TypeVar

from django.conf import settings
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import Direction, OpenApiParameter
from rest_framework import serializers
from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import AllowAny

from core.exceptions import ApplicationError, RequestTooLarge, ServiceUnavailable
from tenants.exceptions import AppIdInvalid, AppIdMissing, TenantNotFound, TenantSuspended
from tenants.fair_requests import TenantBusy

TENANT_PATH_PREFIX = "/api/v1/"
BODY_METHODS = ("POST", "PUT", "PATCH")
ERRORS_ATTRIBUTE = "_api_errors"
Method = TypeVar("Method", bound=Callable[..., Any])


class ErrorDetailSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="snake_case, stable: what a client branches on.")
    message = serializers.CharField(help_text="For people; may change.")
    # Not Serializer.fields: DRF's metaclass moves declared fields out of the class (the stubs cannot know).
    fields = serializers.DictField(  # type: ignore[assignment]
        child=serializers.JSONField(), required=False, help_text="`invalid` only: what is wrong, by field."
    )
    limit = serializers.IntegerField(required=False, help_text="`request_too_large` only: the limit in bytes.")
    errcode = serializers.IntegerField(required=False, help_text="`wechat_secret_rejected` only: WeChat's errcode.")


class ErrorResponseSerializer(serializers.Serializer):
    """Every error of the API, whatever its status."""

    error = ErrorDetailSerializer()


def api_errors(*errors: type[ApplicationError]) -> Callable[[Method], Method]:
    """Names the errors a view method's own work can answer (documented in the schema with their status)."""

    def decorate(method: Method) -> Method:
        setattr(method, ERRORS_ATTRIBUTE, (*getattr(method, ERRORS_ATTRIBUTE, ()), *errors))
        return method

    return decorate


# DRF's own errors, as api.exceptions names them: (status, code, when).
NOT_AUTHENTICATED = (401, "not_authenticated", "No credentials, or unknown, expired or revoked ones.")
PERMISSION_DENIED = (403, "permission_denied", "Not allowed to do this.")
CSRF_FAILED = (403, "permission_denied", "A session without its CSRF token.")
THROTTLED = (429, "throttled", "Too many requests; see Retry-After.")
PARSE_ERROR = (400, "parse_error", "The body is not JSON (or nested too deeply).")
UNSUPPORTED_MEDIA_TYPE = (415, "unsupported_media_type", "The body is not application/json.")
INVALID = (400, "invalid", "The body does not validate; `fields` says why.")
RETRY_AFTER_STATUSES = ("429", "503")


def _entry(error: type[ApplicationError]) -> tuple[int, str, str]:
    return error.status, error.code, error.message


class TenantAutoSchema(AutoSchema):
    def get_serializer_name(self, serializer: serializers.Serializer, direction: Direction) -> str:
        # A serializer nested in its view (LoginApi.InputSerializer) is named after the view (LoginInput):
        # every view's InputSerializer would otherwise be the one component "Input".
        outer, _, inner = type(serializer).__qualname__.rpartition(".")
        if outer:
            return outer.rpartition(".")[2].removesuffix("Api") + inner.removesuffix("Serializer")
        return super().get_serializer_name(serializer, direction)

    def get_override_parameters(self) -> list[OpenApiParameter | serializers.Serializer | type[serializers.Serializer]]:
        parameters = list(super().get_override_parameters())
        # The AppID's form is TENANT_APP_ID_PATTERN's (tenants.app_ids): another is 400 app_id_invalid.
        app_id = {"type": "string", "pattern": f"^{settings.TENANT_APP_ID_PATTERN}$"}
        if self.path.startswith(TENANT_PATH_PREFIX):
            parameters.append(
                OpenApiParameter(
                    name=settings.TENANT_HEADER,
                    location=OpenApiParameter.HEADER,
                    required=True,
                    type=app_id,
                    description="The mini-program's AppID, for example wx0123456789abcdef.",
                )
            )
        if "{app_id}" in self.path:
            parameters.append(
                OpenApiParameter(
                    name="app_id", location=OpenApiParameter.PATH, type=app_id, description="The tenant's AppID."
                )
            )
        return parameters

    def _get_response_bodies(self, direction: Direction = "response") -> dict[str, Any]:
        responses = super()._get_response_bodies(direction)
        reference = self.resolve_serializer(ErrorResponseSerializer(), "response").ref
        for status, codes in sorted(self.error_codes().items()):
            lines = "\n".join(f"- `{code}`: {text}" for code, text in codes.items())
            response: dict[str, Any] = {
                "description": lines,
                "content": {"application/json": {"schema": reference}},
            }
            if str(status) in RETRY_AFTER_STATUSES:
                response["headers"] = {
                    "Retry-After": {
                        "schema": {"type": "string", "pattern": "^[0-9]+$"},
                        "description": "Seconds to wait before trying again.",
                    }
                }
            responses.setdefault(str(status), response)
        return responses

    def error_codes(self) -> dict[int, dict[str, str]]:
        """status -> {code: when} of every error this operation can answer."""
        entries = [*self._set_up_errors(), *map(_entry, self._method_errors())]
        codes: dict[int, dict[str, str]] = defaultdict(dict)
        for status, code, text in entries:
            codes[status].setdefault(code, text)
        return codes

    def _set_up_errors(self) -> list[tuple[int, str, str]]:
        view = self.view
        entries: list[tuple[int, str, str]] = []
        if self.path.startswith(TENANT_PATH_PREFIX):
            entries += map(_entry, (AppIdMissing, AppIdInvalid, TenantNotFound, TenantSuspended, TenantBusy))
        if view.authentication_classes:
            entries.append(NOT_AUTHENTICATED)  # a wrong token is refused even where none is needed
        if any(permission is not AllowAny for permission in view.permission_classes):
            entries.append(NOT_AUTHENTICATED)
            if not self.path.startswith(TENANT_PATH_PREFIX):
                entries.append(PERMISSION_DENIED)
        if self.method in BODY_METHODS:
            if SessionAuthentication in view.authentication_classes:
                entries.append(CSRF_FAILED)
            entries.append(_entry(RequestTooLarge))  # the body's size is checked before the view
            if self.get_request_serializer() is not None:  # only a view that reads its body parses it
                entries += [PARSE_ERROR, UNSUPPORTED_MEDIA_TYPE, INVALID]
        if view.throttle_classes:
            entries.append(THROTTLED)
        entries.append(_entry(ServiceUnavailable))  # the registry, a database or Redis unreachable
        return entries

    def _method_errors(self) -> tuple[type[ApplicationError], ...]:
        method = getattr(self.view, self.method.lower(), None)
        return getattr(method, ERRORS_ATTRIBUTE, ())


class TenantTokenScheme(OpenApiAuthenticationExtension):
    target_class = "api.authentication.TenantTokenAuthentication"
    name = "tenantToken"

    def get_security_definition(self, auto_schema: AutoSchema) -> dict[str, str]:
        return {"type": "http", "scheme": "bearer", "description": "The token from POST /api/v1/auth/login."}
