"""The outbox: a job's record is written with the caller's data, so a Redis outage at commit loses no job.

enqueue() inside a transaction on the tenant's database inserts an OutboxJob row (a PlatformOutboxJob for a
platform job, in the control database) in that transaction, and pushes the job to rq under the record's id
when it commits. Outside a transaction (autocommit) there is no transaction to share: the data has committed
already, so the job is pushed at once and its record written only if Redis refuses it. When Redis is
unreachable at the push, the tenant is marked in the control database (PendingOutbox, which needs no Redis)
and the caller is answered as if all went well: `manage.py relay_outbox` (and every worker's maintenance)
pushes the job once Redis is back (tenants.jobs.relay).

A record whose push succeeded is not deleted on the spot: that would be one more commit per job, the
outbox's main cost. The relay's sweep (every OUTBOX_SWEEP_SECONDS) deletes the records whose jobs are on
the queue, in one statement per tenant, once the Redis replicas have them (replicas_confirm).

Pushing is idempotent: rq's unique enqueue (one Lua script: check, save, push) refuses a job id that exists
already, so a record pushed twice (by the relay and by a late commit, by two relays) is on the queue once.
"""

import json
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any, cast

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, DatabaseError, connections, transaction
from rq.exceptions import DuplicateJobError

from core.exceptions import REDIS_UNREACHABLE
from core.tenant_context import TenantContext, TenantNotActive, activate_tenant, get_current_tenant
from tenants.jobs import conf, fairness
from tenants.jobs.index import index_add
from tenants.jobs.job import META_APP_ID, META_PLATFORM
from tenants.jobs.queue import get_connection, get_queue
from tenants.outbox.control.models import PendingOutbox, PlatformOutboxJob
from tenants.outbox.models import OutboxJob

logger = logging.getLogger(__name__)

# The two outboxes: a tenant's (in its database) and the platform's (in the control database).
OutboxModel = type[OutboxJob] | type[PlatformOutboxJob]

JobFunction = Callable[..., Any] | str


def enqueue(func: JobFunction, *args: Any, platform: bool = False, **kwargs: Any) -> str:
    """Run func(*args, **kwargs) in a worker, in the active tenant, once the tenant database commits.

    In a transaction on the tenant's database, the job's record is written in it and the job pushed to the
    queue when it commits: if it rolls back, the record goes with it and the id never exists. In autocommit
    the job is pushed at once (and recorded only if Redis refuses it). Returns the job's id at once, so an
    API can answer it. With no active tenant this raises TenantNotActive, unless `platform=True` says it is
    a job of the platform (it then runs with no tenant, and its record is in the control database).
    `platform` is never passed on to func. Arguments must be JSON data (TypeError here otherwise), the
    function importable by its dotted path.
    """
    tenant = get_current_tenant()
    if platform:
        meta: dict[str, Any] = {META_APP_ID: None, META_PLATFORM: True}
        tenant, using = None, DEFAULT_DB_ALIAS
    elif tenant is None:
        raise TenantNotActive("a tenant job needs an active tenant; pass platform=True for a platform job")
    else:
        meta, using = {META_APP_ID: tenant.app_id}, tenant.db_alias
    job_id, func_name, payload = uuid.uuid4().hex, func_name_of(func), payload_of(args, kwargs, meta)
    if not connections[using].in_atomic_block:
        _push_or_record(job_id=job_id, func_name=func_name, payload=payload, tenant=tenant)
        return job_id
    committed = outbox_record_create(job_id=job_id, func_name=func_name, payload=payload, tenant=tenant)
    # django-rq's own commit mode watches only the default database; the tenant's data is on its server's
    # alias, whose transaction is the one the job (and its record) belong to.
    transaction.on_commit(partial(outbox_push_committed, committed), using=using)
    return job_id


def _push_or_record(*, job_id: str, func_name: str, payload: str, tenant: TenantContext | None) -> None:
    """Autocommit: the job is pushed now; only a push that Redis refuses leaves a record (and a mark)."""
    try:
        held = tenant is not None and fairness.hold_needed(app_id=tenant.app_id, queue=settings.JOBS_QUEUE)
        if not held:
            push(job_id=job_id, func_name=func_name, payload=payload)
            return
    except REDIS_UNREACHABLE as error:
        logger.warning("job %s kept in the outbox: Redis is unreachable (%s)", job_id, error)
        outbox_record_create(job_id=job_id, func_name=func_name, payload=payload, tenant=tenant)
        outbox_mark_pending(tenant=tenant)
        return
    # Past the tenant's bound (tenants.jobs.fairness): recorded, and released by the relay in its turn.
    outbox_record_create(job_id=job_id, func_name=func_name, payload=payload, tenant=tenant)
    _hold(cast(TenantContext, tenant))


@dataclass(frozen=True, slots=True)
class Committed:
    """What the commit hook needs of a record: where it lives and what to push."""

    job_id: str
    func_name: str
    payload: str
    tenant: TenantContext | None  # None: a platform job, in the control database's outbox

    @property
    def model(self) -> "OutboxModel":
        return PlatformOutboxJob if self.tenant is None else OutboxJob


def func_name_of(func: Any) -> str:
    """The dotted path the workers import the job function by (rq's own name for a function)."""
    if isinstance(func, str):
        return func
    module, qualname = getattr(func, "__module__", None), getattr(func, "__qualname__", None)
    if not module or not qualname or "<" in qualname or hasattr(func, "__self__"):
        # A lambda, a nested function or a bound method: a worker could not import it from its name.
        raise TypeError(f"a job function must be importable by its dotted path, not {func!r}")
    return f"{module}.{qualname}"


def payload_of(args: tuple[Any, ...], kwargs: dict[str, Any], meta: dict[str, Any]) -> str:
    """The job's arguments as the record keeps them; TypeError now, in the caller, for what JSON cannot hold.

    The queue's name goes with them: a record is relayed to the queue it was enqueued on.
    """
    data = {"queue": settings.JOBS_QUEUE, "args": list(args), "kwargs": kwargs, "meta": meta}
    return json.dumps(data, ensure_ascii=False)


def outbox_record_create(*, job_id: str, func_name: str, payload: str, tenant: TenantContext | None) -> Committed:
    """Writes the record in the caller's transaction (the tenant's database, or the control database)."""
    committed = Committed(job_id=job_id, func_name=func_name, payload=payload, tenant=tenant)
    committed.model.objects.create(id=job_id, func_name=func_name, payload=payload)
    return committed


def outbox_push_committed(committed: Committed) -> None:
    """The commit hook: the job onto the queue; on a Redis outage, the tenant marked for the relay.

    Never raises for an unreachable Redis: the data and the job's record are committed, so the caller's
    work is done (the relay does the rest). The record stays either way (the sweep deletes it).
    """
    with activate_tenant(committed.tenant):
        try:
            tenant = committed.tenant
            if tenant is not None and fairness.hold_needed(app_id=tenant.app_id, queue=settings.JOBS_QUEUE):
                _hold(tenant)  # past the tenant's bound: the record waits in the outbox (tenants.jobs.fairness)
                return
            push(job_id=committed.job_id, func_name=committed.func_name, payload=committed.payload)
        except REDIS_UNREACHABLE as error:
            logger.warning("job %s kept in the outbox: Redis is unreachable (%s)", committed.job_id, error)
            outbox_mark_pending(tenant=committed.tenant)


def push(*, job_id: str, func_name: str, payload: str) -> bool:
    """Puts the job on the queue under its record's id; False when a job with that id exists already.

    The job is pushed from the JSON it was recorded as, on the commit and by the relay alike, so a job
    behaves the same whichever of them pushes it.
    """
    data = json.loads(payload)
    app_id = data["meta"].get(META_APP_ID)
    # Indexed first: a job on the queue is always found among its tenant's (tenants.jobs.index), and counted.
    with get_connection().pipeline(transaction=False) as pipeline:
        index_add(app_id=app_id, job_id=job_id, pipeline=pipeline)
        fairness.queued_add(app_id=app_id, queue=data["queue"], job_id=job_id, pipeline=pipeline)
        pipeline.execute()
    try:
        get_queue(data["queue"]).enqueue_call(
            func_name,
            args=tuple(data["args"]),
            kwargs=data["kwargs"],
            job_id=job_id,
            meta=data["meta"],
            retry=conf.get_retry(),
            result_ttl=settings.JOBS_RESULT_TTL_SECONDS,
            failure_ttl=settings.JOBS_FAILURE_TTL_SECONDS,
            unique=True,
        )
    except DuplicateJobError:
        return False
    return True


def replicas_confirm() -> bool:
    """Whether OUTBOX_WAIT_REPLICAS replicas have every write the master made before this call (True if none asked).

    Redis's WAIT waits for the writes of its own connection only (https://redis.io/docs/latest/commands/wait/),
    so a write of ours goes first, on the same connection: the replication stream is in one order, so a replica
    that has it has every job the master had before it. Sentinel promotes the replica with the most of the
    stream, so a job confirmed this way survives a failover.
    """
    wanted = settings.OUTBOX_WAIT_REPLICAS
    if wanted <= 0:
        return True
    with get_connection().pipeline(transaction=False) as pipeline:
        pipeline.set(f"{settings.RQ_KEY_PREFIX}:outbox:replicated", "1", ex=60)
        pipeline.wait(wanted, settings.OUTBOX_WAIT_TIMEOUT_MS)
        _, acknowledged = pipeline.execute()
    return int(acknowledged) >= wanted


def _hold(tenant: TenantContext) -> None:
    """The tenant's job stays in its outbox: later jobs wait behind it, and the relay is told to look (Redis's
    held tenants; the control database's mark only when Redis went away meanwhile)."""
    try:
        fairness.hold_mark(app_id=tenant.app_id, queue=settings.JOBS_QUEUE)
    except REDIS_UNREACHABLE as error:
        logger.warning(
            "%s: job held; Redis went away, the relay is told by the control database (%s)", tenant.app_id, error
        )
        outbox_mark_pending(tenant=tenant)


def outbox_mark_pending(*, tenant: TenantContext | None) -> None:
    """Records in the control database that this tenant's outbox has records waiting for the relay.

    The platform's outbox needs no mark: the relay looks into it on every pass (one query). If the control
    database cannot be written either, the relay's sweep of every tenant's outbox still finds the records.
    """
    if tenant is None:
        return
    try:
        # INSERT IGNORE: one statement, and a tenant already marked keeps its first `since`.
        PendingOutbox.objects.bulk_create([PendingOutbox(app_id=tenant.app_id)], ignore_conflicts=True)
    except DatabaseError as error:
        logger.warning("%s: outbox records left for the relay's sweep (%s)", tenant.app_id, error)
