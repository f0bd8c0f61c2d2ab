"""GET /api/v1/ping: the tenant was found; touches no database and no Redis."""

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.tenant_context import require_current_tenant


class PingApi(APIView):
    """Answers the resolved AppID."""

    # No token lookup and no throttle: either would be a Redis or database call.
    authentication_classes: list = []
    throttle_classes: list = []

    @extend_schema(responses=inline_serializer("Ping", {"app_id": serializers.CharField()}))
    def get(self, request: Request) -> Response:
        return Response({"app_id": require_current_tenant().app_id})
