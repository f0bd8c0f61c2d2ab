"""The outbox relay: pushes the jobs whose records a Redis outage left in the outboxes (manage.py relay_outbox).

A pass looks into the platform's outbox (one query on the control database) and into the outboxes of the
tenants marked in PendingOutbox only, so with 1,000 tenants and none marked it touches no tenant database.
A sweep (every OUTBOX_SWEEP_SECONDS, one relay of the fleet at a time) looks into every tenant's outbox: it
deletes the records whose jobs were pushed at their commit (one EXISTS each, in one round trip), and pushes
those whose mark could not be written (the control database was down too) or whose process died between
its commit and its push. The sweep must run at least once per JOBS_RESULT_TTL_SECONDS (24 h): a record older
than its finished job's stay in Redis would be pushed again (at least once). Every worker runs the relay in
its maintenance, so any running worker keeps to that.

A record is deleted only once OUTBOX_WAIT_REPLICAS Redis replicas have its job (Redis WAIT, after a write of the
relay's own that follows the job's in the replication stream): replication is asynchronous, and a record deleted
while the replica lags would leave a job that only the master had, and that a failover loses, on neither side.
When the replicas do not confirm within OUTBOX_WAIT_TIMEOUT_MS, the records stay (the jobs are on the master) and
the pass waits no more for the rest of its tenants; a later pass deletes them.

Safe to run on several hosts at once: rows are taken with SELECT ... FOR UPDATE SKIP LOCKED, and a push is
rq's unique enqueue, which refuses a job id that is already there (tenants.jobs.outbox.push).
"""

import json
import logging
import sys
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.db import DatabaseError, connections, router, transaction
from django.db.models import F, Q
from rq.job import Job

from core.exceptions import REDIS_UNREACHABLE
from core.tenant_context import TenantContext, activate_tenant
from tenants.jobs.fairness import Rooms, held_forget, held_tenants, release_lock, release_unlock
from tenants.jobs.outbox import OutboxModel, outbox_mark_pending, push, replicas_confirm
from tenants.jobs.periodic import periodic_enqueue_due_if_enabled
from tenants.jobs.queue import get_connection
from tenants.models import Tenant
from tenants.outbox.control.models import PendingOutbox, PlatformOutboxJob
from tenants.outbox.models import OutboxJob
from tenants.selectors import tenant_context_for

logger = logging.getLogger(__name__)

# Records taken per transaction; a tenant with more is finished in the same pass, batch after batch.
BATCH = 200
# A record rq refuses this often (not Redis being down: a bug) stays, and is logged, but no longer retried.
MAX_ATTEMPTS = 5


@dataclass
class RelayReport:
    tenants: list[str] = field(default_factory=list)  # the tenants whose outbox this pass looked into
    pushed: int = 0
    already_queued: int = 0  # records whose job was on the queue already (pushed at their commit): deleted
    # tenant (or "platform") -> records still waiting (-1: its database could not be read)
    left: dict[str, int] = field(default_factory=dict)
    # The replicas did not confirm the jobs of this pass (tenants.jobs.outbox.replicas_confirm): records kept.
    unreplicated: bool = False


def outbox_relay(*, sweep: bool = False) -> RelayReport:
    """One pass of the relay; RedisError when Redis is still unreachable (the marks stay for the next pass)."""
    report = RelayReport()
    _relay_outbox(PlatformOutboxJob, "platform", report)
    marked = set(PendingOutbox.objects.values_list("app_id", flat=True))
    tenants = Tenant.objects.exclude(status=Tenant.Status.PROVISIONING)
    held = _held_tenants()
    if not sweep:
        # And the tenants with jobs held past their bound (tenants.jobs.fairness), which Redis keeps.
        tenants = tenants.filter(app_id__in=marked | held)
    for tenant in tenants.order_by("app_id"):
        _relay_tenant(tenant_context_for(tenant), marked=tenant.app_id in marked, report=report)
    if held:
        # A tenant retired while its jobs were held took its outbox with it: nothing is left to release.
        everywhere = getattr(Tenant, "all_environments", Tenant.objects)
        held_forget(app_ids=held - set(everywhere.filter(app_id__in=held).values_list("app_id", flat=True)))
    if marked:
        # A tenant dropped since it was marked took its outbox with it; one being provisioned keeps its mark.
        everywhere = getattr(Tenant, "all_environments", Tenant.objects)  # another environment's marks stay
        gone = marked - set(everywhere.filter(app_id__in=marked).values_list("app_id", flat=True))
        PendingOutbox.objects.filter(app_id__in=gone).delete()
    return report


def _held_tenants() -> set[str]:
    try:
        return held_tenants()
    except REDIS_UNREACHABLE:
        return set()  # nothing can be pushed anyway; the marks in the control database still say who to look at


def sweep_claim() -> bool:
    """One sweep per OUTBOX_SWEEP_SECONDS for the whole fleet: the relay that takes this Redis key does it."""
    key = f"{settings.RQ_KEY_PREFIX}:outbox:sweep"
    try:
        return bool(get_connection().set(key, "1", nx=True, ex=max(1, int(settings.OUTBOX_SWEEP_SECONDS))))
    except REDIS_UNREACHABLE:
        return False  # nothing can be pushed anyway; the pass itself will say so


def outbox_relay_in_maintenance() -> None:
    """A pass of the relay in a worker's maintenance (every JOBS_MAINTENANCE_SECONDS), never raising.

    Workers are restarted by every deploy and run wherever jobs run, so the outbox is relayed even where
    no `relay_outbox` program was installed; that program only makes the relay quicker.
    """
    try:
        report = outbox_relay(sweep=sweep_claim())
        periodic_enqueue_due_if_enabled()
    except REDIS_UNREACHABLE + (DatabaseError,) as error:
        logger.warning("outbox relay: pass failed: %s", error)
    else:
        if report.pushed or report.left:
            logger.info("outbox relay: %d job(s) pushed, left: %s", report.pushed, report.left or "none")
    finally:
        # The worker forks its work horses: no connection of its own may be inherited by them.
        connections.close_all()


def outbox_relay_tenant(*, app_id: str) -> RelayReport:
    """One tenant's outbox only: a worker releasing a held tenant's jobs as its queued count falls."""
    report = RelayReport()
    tenant = Tenant.objects.exclude(status=Tenant.Status.PROVISIONING).filter(app_id=app_id).first()
    if tenant is not None:
        _relay_tenant(tenant_context_for(tenant), marked=True, report=report)
    return report


def _relay_tenant(tenant: TenantContext, *, marked: bool, report: RelayReport) -> None:
    if marked:
        # Unmarked before its rows are read: a commit that fails meanwhile marks it again, and is not lost.
        PendingOutbox.objects.filter(app_id=tenant.app_id).delete()
    with activate_tenant(tenant):
        try:
            _relay_outbox(OutboxJob, tenant.app_id, report, rooms=Rooms(app_id=tenant.app_id))
        except DatabaseError as error:
            # This tenant's database server is unreachable: the others are relayed all the same.
            logger.warning("%s: outbox not relayed: %s", tenant.app_id, error)
            report.left[tenant.app_id] = -1
        finally:
            if tenant.app_id in report.left or sys.exc_info()[0] is not None:
                outbox_mark_pending(tenant=tenant)


def _relay_outbox(model: OutboxModel, name: str, report: RelayReport, rooms: Rooms | None = None) -> None:
    """Pushes every record of one outbox (the active tenant's, or the platform's) and deletes it.

    A tenant's records are pushed only as far as its bound on queued jobs allows (tenants.jobs.fairness):
    the pass stops at the first record with no room, and the rest wait for a later pass, in their order.
    """
    report.tenants.append(name)
    locked = rooms is not None and rooms.held_anywhere()
    if locked and not release_lock(app_id=name, queue=settings.JOBS_QUEUE):
        # Another relay (or a worker) is releasing this tenant's held jobs: two would push them out of order.
        report.left[name] = model.objects.filter(attempts__lt=MAX_ATTEMPTS).count()
        return
    try:
        after = _relay_batch(model, report, rooms)
        while after is not None and not (rooms and rooms.full):
            after = _relay_batch(model, report, rooms, after=after)
    except REDIS_UNREACHABLE:
        report.left[name] = model.objects.count()
        raise
    finally:
        if locked:
            try:
                release_unlock(app_id=name, queue=settings.JOBS_QUEUE)
            except REDIS_UNREACHABLE:
                pass  # the lock expires by itself
    left = model.objects.filter(attempts__lt=MAX_ATTEMPTS).count()
    if left:
        report.left[name] = left
    if rooms is not None:
        rooms.settle(drained=not left)


def _relay_batch(
    model: OutboxModel, report: RelayReport, rooms: Rooms | None = None, after: tuple[datetime, str] | None = None
) -> tuple[datetime, str] | None:
    """One batch of records, those after `after` in (created_at, id) order; where the next batch starts (None: no
    next batch). Records are read past the previous batch, not from the start: a batch's records may stay
    (their jobs not confirmed on a replica yet), and the next batch must not take them again."""
    with transaction.atomic(using=router.db_for_write(model)):
        waiting = model.objects.select_for_update(skip_locked=True).filter(attempts__lt=MAX_ATTEMPTS)
        if after is not None:
            waiting = waiting.filter(Q(created_at__gt=after[0]) | Q(created_at=after[0], id__gt=after[1]))
        records = list(waiting.order_by("created_at", "id")[:BATCH])
        # Most records were pushed at their commit: one round trip tells which, and those are just deleted.
        with get_connection().pipeline(transaction=False) as pipeline:
            for record in records:
                pipeline.exists(Job.key_for(record.id))
            queued = pipeline.execute() if records else []
        done, refused = [record.id for record, found in zip(records, queued, strict=True) if found], []
        report.already_queued += len(done)
        for record, found in zip(records, queued, strict=True):
            if found:
                continue
            if rooms is not None and not rooms.take(json.loads(record.payload)["queue"]):
                break  # the tenant is at its bound: this record and the later ones wait, in their order
            try:
                pushed = push(job_id=record.id, func_name=record.func_name, payload=record.payload)
            except REDIS_UNREACHABLE:
                raise  # the transaction rolls back: every record of the batch stays for the next pass
            except Exception:  # a record rq refuses (a bug): counted, so that it cannot block the outbox
                logger.exception("outbox record %s could not be pushed", record.id)
                refused.append(record.id)
                continue
            done.append(record.id)
            report.pushed += pushed
            report.already_queued += not pushed
        if done and not _replicated(report):
            done = []  # on the master only so far: a failover now would lose them, so their records stay
        model.objects.filter(pk__in=done).delete()
        if refused:
            model.objects.filter(pk__in=refused).update(attempts=F("attempts") + 1)
    return (records[-1].created_at, records[-1].id) if len(records) == BATCH else None


def _replicated(report: RelayReport) -> bool:
    """Whether the replicas have every job of the batch; asked once at most per pass when they do not answer."""
    if report.unreplicated:
        return False
    report.unreplicated = not replicas_confirm()
    if report.unreplicated:
        logger.warning("outbox relay: the Redis replicas did not confirm the jobs; their records are kept")
    return not report.unreplicated
