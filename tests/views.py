"""Test-only views that touch the tenant database, for isolation and interleaving tests."""

import random
import time

from django.http import HttpRequest, JsonResponse

from accounts.models import MiniProgramUser
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
