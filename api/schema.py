"""OpenAPI: the X-AppID header on every tenant endpoint, and the bearer token scheme."""

from django.conf import settings
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiParameter

TENANT_PATH_PREFIX = "/api/v1/"


class TenantAutoSchema(AutoSchema):
    def get_override_parameters(self) -> list[OpenApiParameter]:
        parameters = list(super().get_override_parameters())
        if self.path.startswith(TENANT_PATH_PREFIX):
            parameters.append(
                OpenApiParameter(
                    name=settings.TENANT_HEADER,
                    location=OpenApiParameter.HEADER,
                    required=True,
                    description="The mini-program's AppID, for example wx0123456789abcdef.",
                )
            )
        return parameters


class TenantTokenScheme(OpenApiAuthenticationExtension):
    target_class = "api.authentication.TenantTokenAuthentication"
    name = "tenantToken"

    def get_security_definition(self, auto_schema: AutoSchema) -> dict[str, str]:
        return {"type": "http", "scheme": "bearer", "description": "The token from POST /api/v1/auth/login."}
