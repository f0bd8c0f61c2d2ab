"""Reads of mini-program users."""

from accounts.models import MiniProgramUser, UserJob
from accounts.tokens import token_user
from tenants.jobs import JobNotFound, JobState, job_state_get


def user_for_token(*, raw_token: str) -> MiniProgramUser | None:
    """The active tenant's user holding this token: one query to the tenant's database, nothing in Redis."""
    return token_user(raw_token=raw_token)


def user_job_state_get(*, user: MiniProgramUser, job_id: str) -> JobState:
    """A job of `user`'s, by the tenant database's word; anyone else's (or no one's) is JobNotFound."""
    if not UserJob.objects.filter(job_id=job_id, user=user).exists():
        raise JobNotFound()
    return job_state_get(job_id=job_id)
