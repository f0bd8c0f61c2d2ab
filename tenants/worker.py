"""TenantWorker, the worker of `manage.py rqworker` (settings RQ["WORKER_CLASS"]).

rq's forking Worker, with what a shared multi-tenant queue needs around each job, in the work horse:
the job's tenant active (so its log lines and Sentry events carry the AppID), database connections
released afterwards, and heartbeats short enough that a job whose worker was killed is found and retried
within about a minute instead of rq's 10 minutes (JOBS_HEARTBEAT_SECONDS, JOBS_HEARTBEAT_GRACE_SECONDS,
JOBS_MAINTENANCE_SECONDS).
"""

import gc
import logging
import os
from types import TracebackType
from typing import Any

import sentry_sdk
from django.conf import settings
from django.db import DatabaseError, connections
from rq.exceptions import AbandonedJobError, DeserializationError
from rq.executions import Execution
from rq.job import Job
from rq.queue import Queue
from rq.worker import Worker

from core import metrics
from core.redis import get_redis
from core.sentry import tag_tenant
from core.tenant_context import TenantContext, activate_tenant
from core.usage import usage_flush
from tenants.jobs.exceptions import JobTenantRefused
from tenants.jobs.failures import ABANDONED, WORKER_DIED
from tenants.jobs.job import TenantJob
from tenants.jobs.relay import outbox_relay_in_maintenance
from tenants.jobs.release import job_taken
from tenants.moving.jobs import job_delay_if_frozen

logger = logging.getLogger(__name__)


class TenantWorker(Worker):
    def __init__(self, queues: Any, *args: Any, **kwargs: Any) -> None:
        # django-rq hands the worker a Redis client with a pool of its own (from the queue's URL); on the process's
        # shared pool instead, rq's connections and its jobs' (caches, token holder) have one bound together.
        queues = list(queues) if isinstance(queues, list | tuple) else [queues]
        for queue in queues:
            if isinstance(queue, Queue) and "URL" in settings.RQ_QUEUES.get(queue.name, {}):
                queue.connection = get_redis(settings.RQ_QUEUES[queue.name]["URL"])
        if queues and isinstance(queues[0], Queue):
            kwargs["connection"] = queues[0].connection
        kwargs.setdefault("job_monitoring_interval", settings.JOBS_HEARTBEAT_SECONDS)
        kwargs.setdefault("maintenance_interval", settings.JOBS_MAINTENANCE_SECONDS)
        kwargs.setdefault("job_class", TenantJob)
        # rq's line for a job it takes names the job's call, arguments included (a nickname, a message's text),
        # and runs before the tenant is known; TenantWorker writes its own line instead (fork_work_horse).
        kwargs["log_job_description"] = False
        super().__init__(queues, *args, **kwargs)
        # Called by the maintenance that finds jobs left "started" by a dead worker, before they are retried.
        self.push_exc_handler(record_abandoned_job)

    @property
    def dequeue_timeout(self) -> int:
        # rq blocks for worker_ttl - 15 s (405 s by default) while idle; waking up at least once per
        # maintenance interval lets an idle worker find abandoned jobs in time.
        return max(1, min(super().dequeue_timeout, self.maintenance_interval))

    def get_heartbeat_ttl(self, job: Job, working_time: float = 0.0) -> int:
        """rq's TTL of a running job's heartbeat, with JOBS_HEARTBEAT_GRACE_SECONDS instead of a fixed 60 s."""
        grace = settings.JOBS_HEARTBEAT_GRACE_SECONDS
        if job.timeout and job.timeout > 0:
            return int(min(job.timeout - working_time, self.job_monitoring_interval)) + grace
        return self.job_monitoring_interval + grace

    def fork_work_horse(self, job: Job, queue: Queue) -> None:
        job_taken(job_id=job.id, app_id=getattr(job, "app_id", None), queue=queue.name)  # fairness, usage
        _look_up_tenant_before_fork(job)
        with activate_tenant(_tenant_or_none(job)):  # the line names the job's tenant
            logger.info("job %s: %s", job.id, job.description)  # the function only (TenantJob.get_call_string)
        super().fork_work_horse(job, queue)

    def perform_job(self, job: Job, queue: Queue, execution: Execution) -> bool:
        """In the work horse: Sentry scope and log lines tagged with the job's tenant; connections closed after."""
        app_id = getattr(job, "app_id", None) or "-"
        with sentry_sdk.isolation_scope() as scope:
            # rq's Sentry integration reports a failed job after TenantJob.perform has returned.
            tag_tenant(app_id)
            scope.set_tag("job_id", job.id)
            # Active around rq's own log lines of the job too; TenantJob.perform runs in it, or refuses the job.
            with activate_tenant(_tenant_or_none(job)):
                try:
                    return super().perform_job(job, queue, execution)
                finally:
                    connections.close_all()
                    usage_flush()  # the job's WeChat calls (core.usage): the horse exits without a flush of its own

    def bootstrap(self, *args: Any, **kwargs: Any) -> None:
        # Starting to work (not a Worker made to be looked at, as the admin does): this worker's metrics folder is
        # its slot's own (supervisor's worker-NN), and the live gauges its previous run left there are stale.
        metrics.forget_live_gauges("*")
        super().bootstrap(*args, **kwargs)
        if settings.JOBS_GC_FREEZE:
            # Every job runs in a fork of this process. Django and the project are a few hundred thousand objects
            # the horse's garbage collector would walk, copying the pages it touches; frozen, it leaves them alone
            # (as gunicorn's workers do: deploy/gunicorn.conf.py post_worker_init).
            gc.collect()
            gc.freeze()

    def main_work_horse(self, job: Job, queue: Queue) -> None:
        metrics.metrics_identify_work_horse()  # first: every horse of this worker writes one set of metric files
        super().main_work_horse(job, queue)

    def execute_job(self, job: Job, queue: Queue) -> None:
        if job_delay_if_frozen(job, queue):
            return  # its tenant is frozen for a move (tenants.moving): rq's scheduler brings it back later
        try:
            super().execute_job(job, queue)
        finally:
            metrics.forget_live_gauges(metrics.work_horse_name(os.getpid()))  # a killed horse's gauges go

    def prepare_job_execution(self, job: Job, remove_from_intermediate_queue: bool = False) -> None:
        super().prepare_job_execution(job, remove_from_intermediate_queue)
        metrics.job_started(
            tenant=_app_id(job), function=_function_name(job), queue=job.origin, enqueued_at=job.enqueued_at
        )

    def handle_job_success(self, job: Job, queue: Queue, *args: Any, **kwargs: Any) -> None:
        super().handle_job_success(job, queue, *args, **kwargs)
        metrics.job_finished(tenant=_app_id(job), function=_function_name(job))

    def handle_job_failure(self, job: Job, queue: Queue, *args: Any, **kwargs: Any) -> None:
        retried = bool(job.should_retry)  # read before rq's handling uses up a retry
        super().handle_job_failure(job, queue, *args, **kwargs)
        metrics.job_failed(tenant=_app_id(job), function=_function_name(job), retried=retried)

    def handle_exception(self, job: Job, *exc_info: Any, **kwargs: Any) -> None:
        """Lets rq's Sentry integration report every failure that rq will not retry.

        The integration (which wraps rq's Worker.handle_exception when Sentry starts) reports a failed job only
        when `job.retries_left` is 0, while rq decides by `job.should_retry`, which TenantJob answers False for a
        permanent error (a bug, a refused tenant) with retries left: for those it is shown no retries left.
        """
        retries_left = getattr(job, "retries_left", None)
        if not retries_left or job.should_retry:
            return super().handle_exception(job, *exc_info, **kwargs)
        job.retries_left = 0
        try:
            return super().handle_exception(job, *exc_info, **kwargs)
        finally:
            job.retries_left = retries_left

    def run_maintenance_tasks(self) -> None:
        super().run_maintenance_tasks()
        # Jobs a Redis outage left in the outboxes (tenants.jobs.relay), as often as abandoned jobs are looked for.
        outbox_relay_in_maintenance()
        usage_flush()  # the jobs counted since the last job (tenants.jobs.release), for a worker gone idle

    def handle_work_horse_killed(self, job: Job, retpid: int, ret_val: int, rusage: Any) -> None:
        super().handle_work_horse_killed(job, retpid, ret_val, rusage)
        if isinstance(job, TenantJob):
            job.record_crash(WORKER_DIED, f"the process running the job died (wait status {ret_val})")


def _app_id(job: Job) -> str | None:
    return getattr(job, "app_id", None)


def _function_name(job: Job) -> str:
    """The job's function for the metrics; a payload that is not our JSON (refused as data) has none to read."""
    try:
        return job.func_name or "undecodable"
    except DeserializationError:
        return "undecodable"


def _look_up_tenant_before_fork(job: Job) -> None:
    """In the worker, before it forks: the job's tenant (or its refusal), memoised on the job (TenantJob.tenant).

    The work horse inherits the job object with its answer, so it asks neither Redis nor the control database
    on a connection of its own (benchmarks/: `python -m benchmarks.jobs forkcost`).
    """
    if not isinstance(job, TenantJob):
        return
    try:
        job.tenant()
    except (JobTenantRefused, DatabaseError):
        pass  # the refusal is remembered and fails the job in the horse; a database error is asked again there
    finally:
        # A connection opened here must not be shared with the horse (its close would end the worker's too).
        connections.close_all()


def _tenant_or_none(job: Job) -> TenantContext | None:
    if not isinstance(job, TenantJob):
        return None
    try:
        return job.tenant()
    except (JobTenantRefused, DatabaseError):
        return None  # TenantJob.perform raises it again, where it fails the job


def record_abandoned_job(
    job: Job, exc_type: type[BaseException] | None, exc_value: BaseException | None, traceback: TracebackType | None
) -> None:
    """Exception handler: a job found "started" after its worker's heartbeat stopped keeps why it was retried."""
    if isinstance(job, TenantJob) and isinstance(exc_value, AbandonedJobError):
        job.record_crash(ABANDONED, "its worker stopped sending heartbeats while running it (killed or lost)")
