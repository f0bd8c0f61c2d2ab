"""TenantJob: every Miniplex job runs in its own tenant's context, or refuses to run at all."""

import logging
from contextlib import nullcontext
from typing import Any

from rq.job import Job
from rq.serializers import JSONSerializer

from core.exceptions import REDIS_UNREACHABLE, ApplicationError
from core.tenant_context import TenantContext, activate_tenant, get_current_tenant
from tenants import cache as registry_cache
from tenants.jobs.exceptions import JobTenantRefused
from tenants.jobs.failures import CRASH_CODES, crash_record, failure_record, is_temporary
from tenants.selectors import tenant_resolve

logger = logging.getLogger(__name__)

META_APP_ID = "app_id"
META_PLATFORM = "platform"
META_FAILURE = "failure"


class TenantJob(Job):
    """An rq Job that activates the tenant named in its meta before running, and resets it after.

    The tenant is resolved through the registry at run time, so a tenant suspended or dropped since the
    job was enqueued is refused (JobTenantRefused), never run against another database.
    """

    def __init__(self, id: str | None = None, connection: Any = None, serializer: Any = None) -> None:  # noqa: A002
        # JSON, never pickle, whatever serializer a queue, a worker or a fetch passes: a job's data and meta in
        # Redis are read by every worker, so a value someone wrote there must be data, never code.
        super().__init__(id, connection=connection, serializer=JSONSerializer)

    def get_call_string(self) -> str:
        # The job's description (rq's default for it), shown by rq's lines, dashboards and registries: the
        # function only, since the arguments are users' content (a nickname, a message's text).
        return f"{self.func_name}(...)"

    # Set in the process that saw this attempt fail: False for a permanent error (no retry), True for a
    # temporary one; None when nothing was raised here (a worker died: retried).
    _failure_retryable: bool | None = None

    @property
    def app_id(self) -> str | None:
        return self.meta.get(META_APP_ID)

    @property
    def is_platform(self) -> bool:
        return bool(self.meta.get(META_PLATFORM))

    @property
    def failure(self) -> dict[str, Any] | None:
        return self.meta.get(META_FAILURE)

    # The job's tenant, or the refusal, once looked up (tenant()): in a worker, before it forks, so the work
    # horse inherits the answer with the job and asks nobody again.
    _tenant_answer: TenantContext | JobTenantRefused | None = None
    _tenant_known: bool = False

    def tenant(self) -> TenantContext | None:
        """The tenant this job must run in (None for a platform job); JobTenantRefused when it may not run.

        Looked up once per job object, refusal included; a database error is not remembered (the next
        attempt asks again, and the job is retried as for any temporary error).
        """
        if not self._tenant_known:
            try:
                self._tenant_answer = _resolve_job_tenant(self)
            except JobTenantRefused as refused:
                self._tenant_answer = refused
            self._tenant_known = True
        if isinstance(self._tenant_answer, JobTenantRefused):
            raise self._tenant_answer
        return self._tenant_answer

    def perform(self) -> Any:
        try:
            tenant = self.tenant()
            # In a TenantWorker's horse the tenant is active already (for rq's log lines around the job);
            # run in-process (the embedded default, a test), the job activates it itself.
            active = nullcontext() if get_current_tenant() == tenant else activate_tenant(tenant)
            with active:
                return super().perform()
        except JobTenantRefused as error:
            self.record_failure(failure_record(error, retryable=False), retryable=False)
            raise
        except Exception as error:
            retryable = is_temporary(error)
            self.record_failure(failure_record(error, retryable=retryable), retryable=retryable)
            raise

    def record_failure(self, record: dict[str, Any], *, retryable: bool | None) -> None:
        """Keeps the reason in meta (with the AppID, which never changes), for the API and failed_jobs."""
        self._failure_retryable = retryable
        self.meta[META_FAILURE] = record
        try:
            self.save_meta()
        except REDIS_UNREACHABLE:
            # The failure itself may be Redis going away; the original error is what gets raised and reported.
            logger.warning("job %s: could not store its failure reason in Redis", self.id)

    def record_crash(self, code: str, message: str) -> None:
        """The worker running this job died (kill -9, OOM): nothing was raised, the attempt is retried at once."""
        self.record_failure(crash_record(code, message), retryable=None)

    @property
    def should_retry(self) -> bool:
        return super().should_retry and self._failure_retryable is not False

    def get_retry_interval(self) -> int:
        # Back-off is for a busy WeChat or a database hiccup; a dead worker says nothing about those, and an
        # immediate requeue does not wait for the scheduler (whose lock a dead worker may still hold).
        failure = self.failure or {}
        if failure.get("code") in CRASH_CODES:
            return 0
        return super().get_retry_interval()


def _resolve_job_tenant(job: TenantJob) -> TenantContext | None:
    if job.is_platform:
        return None
    app_id = job.app_id
    if not app_id:
        raise JobTenantRefused("tenant_missing", "The job names no tenant; use tenants.jobs.enqueue.")
    try:
        return tenant_resolve(app_id=app_id)
    except ApplicationError:  # AppIdInvalid, TenantNotFound, TenantSuspended
        pass
    # A refusal is final (never retried), so it rests on the registry's word now, not on this process's copy,
    # which may be up to TENANT_LOCAL_CACHE_SECONDS old: a job requeued just after a resume must run.
    registry_cache.forget_local(app_id)
    try:
        return tenant_resolve(app_id=app_id)
    except ApplicationError as error:
        raise JobTenantRefused(error.code, f"{app_id}: {error.message}") from None
