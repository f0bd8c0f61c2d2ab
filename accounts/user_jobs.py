"""Jobs a user's request enqueues, recorded as that user's in the tenant's database (accounts.models.UserJob)."""

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.models import MiniProgramUser, UserJob
from core.tenant_context import require_current_tenant
from tenants.jobs import enqueue


def user_job_enqueue(*, user: MiniProgramUser, func: Callable[..., Any], **kwargs: Any) -> str:
    """Enqueues func(**kwargs) for the active tenant as `user`'s job; returns the job's id.

    The ownership row and the job commit together (one transaction on the tenant's database), so a job
    is never anyone's but its user's, and never left without an owner who could follow it.
    """
    with transaction.atomic(using=require_current_tenant().db_alias):
        job_id = enqueue(func, **kwargs)
        UserJob.objects.create(job_id=job_id, user=user)
        # Rows outlive nothing: once rq has forgotten a job (its result or failure kept this long at most),
        # its row says nothing more. Pruned per user, on the index (user, created_at).
        UserJob.objects.filter(user=user, created_at__lt=timezone.now() - _job_lifetime()).delete()
    return job_id


def _job_lifetime() -> timedelta:
    return timedelta(seconds=max(settings.JOBS_RESULT_TTL_SECONDS, settings.JOBS_FAILURE_TTL_SECONDS))


def job_user_get(*, user_id: int, openid: str | None) -> MiniProgramUser:
    """The user a job was enqueued for: by id and openid, since after a database restore (or a retired AppID
    onboarded again) the same id may be another person's; DoesNotExist (the job fails for good) when gone.

    `openid` is None only for jobs queued before it was recorded.
    """
    users = MiniProgramUser.objects.filter(pk=user_id)
    if openid is not None:
        users = users.filter(openid=openid)
    return users.get()
