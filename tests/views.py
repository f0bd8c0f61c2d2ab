"""Test-only views that touch the tenant database, for isolation and interleaving tests."""

import logging
import random
import time

from django.db import connections
from django.http import HttpRequest, JsonResponse
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.models import MiniProgramUser
from core.request_id import get_request_id
from core.tenant_context import require_current_tenant


def write_then_read_users(request: HttpRequest) -> JsonResponse:
    """Writes a user named after the tenant, sleeps a random while (other requests run), reads every user."""
    app_id = require_current_tenant().app_id
    openid = f"{app_id}-{request.GET['n']}"
    MiniProgramUser.objects.create(openid=openid, nickname=app_id)
    time.sleep(random.uniform(0, float(request.GET.get("max_sleep", "0.02"))))  # noqa: S311
    mine = MiniProgramUser.objects.filter(openid=openid).exists()
    nicknames = sorted(set(MiniProgramUser.objects.values_list("nickname", flat=True)))
    return JsonResponse({"app_id": require_current_tenant().app_id, "mine": mine, "nicknames": nicknames})


def count_users(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"app_id": require_current_tenant().app_id, "users": MiniProgramUser.objects.count()})


def sleep_in_database(request: HttpRequest) -> JsonResponse:
    """SELECT SLEEP(seconds) on the tenant's database server: shows whether other requests run meanwhile."""
    tenant = require_current_tenant()
    with connections[tenant.db_alias].cursor() as cursor:
        cursor.execute("SELECT SLEEP(%s)", [float(request.GET.get("seconds", "1"))])
    return JsonResponse({"app_id": tenant.app_id})


class UsersCountApi(APIView):
    """A DRF endpoint on the tenant database: its errors take the API's JSON shape (503 when MySQL is down)."""

    def get(self, request: Request) -> Response:
        return Response({"app_id": require_current_tenant().app_id, "users": MiniProgramUser.objects.count()})


def fail(request: HttpRequest) -> JsonResponse:
    """Raises an unexpected error naming the tenant, for Sentry: the event must carry the same AppID."""
    raise RuntimeError(f"test failure for {require_current_tenant().app_id}")


def whoami(request: HttpRequest) -> JsonResponse:
    """What the app was told about this request: its id, the client address as forwarded, the release."""
    from django.conf import settings

    logging.getLogger("tests.whoami").info("whoami %s", request.GET.get("mark", ""))
    return JsonResponse(
        {
            "app_id": require_current_tenant().app_id,
            "request_id": get_request_id(),
            "remote_addr": request.META.get("REMOTE_ADDR"),
            "x_forwarded_for": request.META.get("HTTP_X_FORWARDED_FOR"),
            "x_real_ip": request.META.get("HTTP_X_REAL_IP"),
            "release": settings.MINIPLEX_RELEASE,
        }
    )


TEST_JOBS = {"record": "tests.job_functions.record_database", "fail": "tests.job_functions.fail_for_good"}


def enqueue_record_job(request: HttpRequest) -> JsonResponse:
    """Enqueues a job of tests.job_functions (?job=record|fail) for the active tenant; its id (/test/jobs/<id>)."""
    from tenants.jobs import enqueue

    job_id = enqueue(TEST_JOBS[request.GET.get("job", "record")], request.GET["marker"])
    return JsonResponse({"app_id": require_current_tenant().app_id, "job_id": job_id})


def job_state(request: HttpRequest, job_id: str) -> JsonResponse:
    """A job of the active tenant's, whoever enqueued it (GET /api/v1/jobs/<id> shows a user's own jobs only)."""
    from dataclasses import asdict

    from tenants.jobs import job_state_get

    return JsonResponse(asdict(job_state_get(job_id=job_id)))
