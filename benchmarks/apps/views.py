"""Baseline and scenario views of the benchmark (never part of the product's URLs)."""

import itertools

from django.conf import settings
from django.db import connections
from django.http import HttpRequest, JsonResponse
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from api.ping import PingApi
from core.tenant_context import require_current_tenant

# The same body as /api/v1/ping answers, so the baselines send as many bytes.
NO_TENANT = "wx0000000000000000"
SLOW_QUERY_SECONDS = 0.05
_served = itertools.count(1)


def plain_django(request: HttpRequest) -> JsonResponse:
    """The plain Django baseline: a JsonResponse, no DRF, no tenant."""
    return JsonResponse({"app_id": NO_TENANT})


class PlainPingApi(PingApi):
    """PingApi (no authentication, no throttle) without tenancy: the path is exempt, no tenant is resolved."""

    def get(self, request: Request) -> Response:
        return Response({"app_id": NO_TENANT})


class SoloPingApi(PingApi):
    """Ping of the single-tenant project (benchmarks.apps.solo_settings): its one AppID, from settings."""

    def get(self, request: Request) -> Response:
        return Response({"app_id": getattr(settings, "SOLO_APP_ID", NO_TENANT)})


class SlowApi(APIView):
    """A 50 ms query on the active tenant's database server (SELECT SLEEP), as a slow endpoint would run."""

    authentication_classes: list = []
    throttle_classes: list = []

    def get(self, request: Request) -> Response:
        tenant = require_current_tenant()
        with connections[tenant.db_alias].cursor() as cursor:
            cursor.execute("SELECT SLEEP(%s)", [SLOW_QUERY_SECONDS])
        return Response({"app_id": tenant.app_id})


def length_demo(request: HttpRequest) -> JsonResponse:
    """A 200 whose body grows with a per-process counter ({"served": 9} then {"served": 10}): for ab's "Length"."""
    return JsonResponse({"served": next(_served)})
