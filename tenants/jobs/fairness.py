"""Fair jobs on the one shared queue: each tenant has at most a bound of jobs queued at once (docs/fairness.md).

The count is a Redis sorted set per tenant and queue (`<RQ_KEY_PREFIX>:fair:queued:<queue>:<AppID>`): a job's id
is added when it is pushed (tenants.jobs.outbox.push, in the same round trip as the tenant's job index) and
removed when a worker takes the job (tenants.worker.TenantWorker, before it forks). Its size is the tenant's
queued count. A set of ids, not a counter, because a worker can die between taking a job and removing its id:
when the set says a tenant is at its bound, the ids whose jobs are no longer waiting on the queue are pruned
(one pipelined HGET of the job's status each, at most `bound` of them), so a lost removal costs a moment of
room, never a tenant stuck at its bound.

Past the bound a job is not pushed: its record stays in the tenant's outbox (written in the caller's
transaction, so durable), the tenant is marked for the relay, and a "held" key says that this tenant's next jobs
must wait behind it (so a later job never overtakes an earlier one). The relay (tenants.jobs.relay) releases the
held records oldest first, as many as the tenant has room for; a worker that takes a held tenant's job releases
more once the queued count has fallen to JOBS_TENANT_RELEASE_AT of the bound. Nothing is refused or dropped.

The embedded default (no Redis, jobs run at once) and platform jobs are never held.
"""

import time
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import DatabaseError
from redis.client import Pipeline

from tenants.jobs.queue import get_connection

# An id pushed less than this long ago is never pruned: push() indexes it a moment before rq writes the job.
PRUNE_GRACE_SECONDS = 10
# Statuses of a job that still waits on the queue (or will be put back on it by rq itself).
WAITING = {b"queued", b"deferred", b"scheduled"}
# Deletes the held key, and the tenant from the held tenants, only if nobody held a job since the relay read the
# key (compare-and-delete; "" stands for a key that did not exist).
_CLEAR_IF_UNCHANGED = """
local value = redis.call('GET', KEYS[1])
if (value == false and ARGV[1] == '') or value == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return redis.call('SREM', KEYS[2], ARGV[2])
end
return 0
"""

_bounds: dict[str, tuple[float, int | None]] = {}  # AppID -> (read at, the tenant's own bound or None)


def _prefix(kind: str, queue: str, app_id: str) -> str:
    return f"{settings.RQ_KEY_PREFIX}:fair:{kind}:{queue}:{app_id}"


def queued_key(*, queue: str, app_id: str) -> str:
    return _prefix("queued", queue, app_id)


def held_key(*, queue: str, app_id: str) -> str:
    return _prefix("held", queue, app_id)


def held_tenants_key(*, queue: str) -> str:
    """The tenants with jobs held on the queue: the relay looks into their outboxes at every pass."""
    return f"{settings.RQ_KEY_PREFIX}:fair:held-tenants:{queue}"


def held_tenants(*, queue: str | None = None) -> set[str]:
    members = get_connection().smembers(held_tenants_key(queue=queue or settings.JOBS_QUEUE))
    return {_text(member) for member in members}


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def held_forget(*, app_ids: set[str], queue: str | None = None) -> None:
    """Tenants that no longer exist: out of the held tenants, their counts and held keys deleted."""
    if not app_ids:
        return
    queue = queue or settings.JOBS_QUEUE
    with get_connection().pipeline(transaction=False) as pipeline:
        pipeline.srem(held_tenants_key(queue=queue), *app_ids)
        for app_id in app_ids:
            pipeline.delete(held_key(queue=queue, app_id=app_id), queued_key(queue=queue, app_id=app_id))
        pipeline.execute()


def release_lock_key(*, queue: str, app_id: str) -> str:
    return _prefix("release", queue, app_id)


def _lifetime() -> int:
    return max(settings.JOBS_RESULT_TTL_SECONDS, settings.JOBS_FAILURE_TTL_SECONDS)


def applies(*, app_id: str | None, queue: str) -> bool:
    """Only tenant jobs on a queue that workers serve are counted (the embedded default runs jobs at once)."""
    if not app_id:
        return False
    config = settings.RQ_QUEUES.get(queue, settings.RQ_QUEUES[settings.JOBS_QUEUE])
    return bool(config.get("ASYNC", True))


def tenant_bound(*, app_id: str) -> int:
    """The tenant's bound on queued jobs: its own (admin) or JOBS_TENANT_MAX_QUEUED; 0 means none.

    The tenant's own is read from the registry at most once per JOBS_TENANT_BOUND_CACHE_SECONDS per process.
    """
    now = time.monotonic()
    cached = _bounds.get(app_id)
    if cached is None or now - cached[0] > settings.JOBS_TENANT_BOUND_CACHE_SECONDS:
        from tenants.models import Tenant  # the registry's model; tenants.jobs is imported before apps are ready

        try:
            own = Tenant.objects.filter(app_id=app_id).values_list("jobs_max_queued", flat=True).first()
        except DatabaseError:
            own = cached[1] if cached else None  # the registry is unreachable: the last answer, or the default
        cached = (now, own)
        _bounds[app_id] = cached
    own = cached[1]
    return int(settings.JOBS_TENANT_MAX_QUEUED if own is None else own)


def tenant_bound_forget(*, app_id: str) -> None:
    """This process reads the tenant's bound again at its next job (the admin saved a new one)."""
    _bounds.pop(app_id, None)


def queued_add(*, app_id: str | None, queue: str, job_id: str, pipeline: Pipeline) -> None:
    """Counts a job being pushed (joins the caller's pipeline)."""
    if not applies(app_id=app_id, queue=queue):
        return
    key = queued_key(queue=queue, app_id=str(app_id))
    pipeline.zadd(key, {job_id: time.time()})
    pipeline.expire(key, _lifetime())


def queued_count(*, app_id: str, queue: str, prune: bool = False) -> int:
    """The tenant's jobs waiting on the queue; with `prune`, ids of jobs no longer waiting are dropped first."""
    connection = get_connection()
    key = queued_key(queue=queue, app_id=app_id)
    if not prune:
        return int(connection.zcard(key))
    members: list[Any] = connection.zrangebyscore(key, "-inf", time.time() - PRUNE_GRACE_SECONDS)
    if members:
        from rq.job import Job

        with connection.pipeline(transaction=False) as pipeline:
            for member in members:
                pipeline.hget(Job.key_for(_text(member)), "status")
            statuses = pipeline.execute()
        gone = [member for member, status in zip(members, statuses, strict=True) if status not in WAITING]
        if gone:
            connection.zrem(key, *gone)
    return int(connection.zcard(key))


def hold_needed(*, app_id: str | None, queue: str) -> bool:
    """Whether a job of this tenant must wait in its outbox instead of being pushed now.

    Held when the tenant has jobs held already (they go first) or is at its bound. One round trip for a
    tenant under its bound; a tenant at it pays a prune (at most `bound` statuses) before its job is held.
    """
    if not applies(app_id=app_id, queue=queue):
        return False
    app_id = str(app_id)
    bound = tenant_bound(app_id=app_id)
    if bound <= 0:
        return False
    with get_connection().pipeline(transaction=False) as pipeline:
        pipeline.exists(held_key(queue=queue, app_id=app_id))
        pipeline.zcard(queued_key(queue=queue, app_id=app_id))
        held, queued = pipeline.execute()
    if held:
        return True
    return queued >= bound and queued_count(app_id=app_id, queue=queue, prune=True) >= bound


def hold_mark(*, app_id: str, queue: str) -> None:
    """Says that the tenant has a job held (one round trip), and tells the relay to look into its outbox.

    The key takes a new value each time, so a relay that read an older one does not clear it (hold_clear).
    """
    key = held_key(queue=queue, app_id=app_id)
    with get_connection().pipeline(transaction=True) as pipeline:
        pipeline.incr(key)
        pipeline.expire(key, _lifetime())
        pipeline.sadd(held_tenants_key(queue=queue), app_id)
        pipeline.execute()


def held_token(*, app_id: str, queue: str) -> bytes | None:
    token = get_connection().get(held_key(queue=queue, app_id=app_id))
    return None if token is None else _text(token).encode()


def hold_clear(*, app_id: str, queue: str, token: bytes | None) -> None:
    """The relay found nothing held any more: the tenant's jobs are pushed at once again (unless one was held since)."""
    keys = (held_key(queue=queue, app_id=app_id), held_tenants_key(queue=queue))
    get_connection().eval(_CLEAR_IF_UNCHANGED, 2, *keys, token or b"", app_id)


def release_lock(*, app_id: str, queue: str) -> bool:
    """One releaser per tenant at a time, so held records go out in their order (taken for at most 60 s)."""
    return bool(get_connection().set(release_lock_key(queue=queue, app_id=app_id), "1", nx=True, ex=60))


def release_unlock(*, app_id: str, queue: str) -> None:
    get_connection().delete(release_lock_key(queue=queue, app_id=app_id))


@dataclass
class Rooms:
    """How many more jobs each queue may take from one tenant's outbox in one relay pass."""

    app_id: str
    left: dict[str, int | None] = field(default_factory=dict)  # queue -> room (None: no bound)
    tokens: dict[str, bytes | None] = field(default_factory=dict)  # queue -> the held key's value when first read
    full: set[str] = field(default_factory=set)  # queues that had no room for a record

    def take(self, queue: str) -> bool:
        """True if one more job of the tenant may be pushed to `queue` now (and counts it)."""
        if queue not in self.left:
            if queue not in self.tokens:
                self.tokens[queue] = held_token(app_id=self.app_id, queue=queue) if self._applies(queue) else None
            self.left[queue] = self._room(queue)
        room = self.left[queue]
        if room is None:
            return True
        if room <= 0:
            self.full.add(queue)
            return False
        self.left[queue] = room - 1
        return True

    def _applies(self, queue: str) -> bool:
        return applies(app_id=self.app_id, queue=queue)

    def held_anywhere(self) -> bool:
        """Whether the tenant has jobs held on the shared queue (read before its outbox is: see settle)."""
        queue = settings.JOBS_QUEUE
        if not self._applies(queue):
            return False
        self.tokens[queue] = held_token(app_id=self.app_id, queue=queue)
        return self.tokens[queue] is not None

    def _room(self, queue: str) -> int | None:
        if not self._applies(queue):
            return None
        bound = tenant_bound(app_id=self.app_id)
        if bound <= 0:
            return None
        return max(0, bound - queued_count(app_id=self.app_id, queue=queue, prune=True))

    def settle(self, *, drained: bool) -> None:
        """After the pass: a queue left with held records stays held; a drained outbox lets jobs through again."""
        for queue in self.full:
            hold_mark(app_id=self.app_id, queue=queue)
        if drained:
            for queue, token in self.tokens.items():
                if queue not in self.full and self._applies(queue):
                    hold_clear(app_id=self.app_id, queue=queue, token=token)


def job_started(*, app_id: str | None, queue: str, job_id: str) -> bool:
    """A worker took the job: it no longer counts; True when the tenant has held jobs and room for a release."""
    if not applies(app_id=app_id, queue=queue):
        return False
    app_id = str(app_id)
    with get_connection().pipeline(transaction=False) as pipeline:
        pipeline.zrem(queued_key(queue=queue, app_id=app_id), job_id)
        pipeline.zcard(queued_key(queue=queue, app_id=app_id))
        pipeline.exists(held_key(queue=queue, app_id=app_id))
        _, queued, held = pipeline.execute()
    if not held:
        return False
    bound = tenant_bound(app_id=app_id)
    return bound <= 0 or queued <= int(bound * settings.JOBS_TENANT_RELEASE_AT)


@dataclass(frozen=True)
class Backlog:
    """What the admin and the platform API show of a tenant's jobs waiting (docs/fairness.md)."""

    queued: int  # on the shared queue, not started yet (the count its bound applies to)
    bound: int  # 0: none
    held: bool  # jobs past the bound wait in its outbox
    outbox: int | None  # records in its outbox: the held jobs, and pushed ones the sweep has not deleted yet


def backlog_get(*, app_id: str, db_name: str, db_server: str, outbox: bool = True) -> Backlog:
    """The tenant's backlog: Redis for the queue, its own database (one COUNT) for the outbox when asked."""
    from core.tenant_context import TenantContext, activate_tenant
    from tenants.outbox.models import OutboxJob

    queue = settings.JOBS_QUEUE
    waiting = None
    if outbox:
        try:
            with activate_tenant(TenantContext(app_id=app_id, db_name=db_name, server=db_server)):
                waiting = OutboxJob.objects.count()
        except DatabaseError:
            waiting = None  # its database is unreachable (or not created yet): shown as unknown
    if not applies(app_id=app_id, queue=queue):
        return Backlog(queued=0, bound=0, held=False, outbox=waiting)
    return Backlog(
        queued=queued_count(app_id=app_id, queue=queue),
        bound=tenant_bound(app_id=app_id),
        held=held_token(app_id=app_id, queue=queue) is not None,
        outbox=waiting,
    )
