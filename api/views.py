"""Mini-program endpoints (/api/v1/): thin views over services and selectors."""

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.tenant_context import require_current_tenant


class PingApi(APIView):
    """Answers the resolved AppID: proves the tenant was found, touching no database and no Redis."""

    @extend_schema(responses=inline_serializer("Ping", {"app_id": serializers.CharField()}))
    def get(self, request: Request) -> Response:
        return Response({"app_id": require_current_tenant().app_id})
