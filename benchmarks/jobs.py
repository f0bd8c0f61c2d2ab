"""Jobs: tenant-tagged jobs (tenants.jobs.enqueue, run by `manage.py rqworker`, i.e. TenantWorker) against plain
RQ jobs (rq.Queue.enqueue, run by `rq worker`, rq's own Worker), the same no-op function
(benchmarks.apps.tasks.noop), one forking worker each.

    python -m benchmarks.jobs enqueue tenant|django|plain COUNT TENANTS   # prints the job ids (JSON)
    python -m benchmarks.jobs timing IDS_FILE                      # prints the jobs' statuses and rate (JSON)
    python -m benchmarks.jobs forkcost APP_ID COUNT                # what a work horse pays to find its tenant

jobs/s is counted from the jobs' own timestamps (first start to last end), so the workers' start-up is left out.
"""

import json
import os
import sys
import time
from collections.abc import Callable

PLAIN_QUEUE = "bench-plain"


def _setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchmarks.apps.settings")
    import django

    django.setup()


def enqueue(kind: str, count: int, tenants: int) -> list[str]:
    _setup()
    from benchmarks.apps.tasks import noop
    from benchmarks.provision import bench_app_id
    from core.tenant_context import activate_tenant
    from tenants import jobs
    from tenants.selectors import tenant_resolve

    if kind in ("plain", "django"):
        from rq import Queue

        # "django": plain jobs on the jobs queue, for `manage.py rqworker` with rq's own Worker and Job classes.
        name = PLAIN_QUEUE if kind == "plain" else jobs.get_queue().name
        queue = Queue(name, connection=jobs.get_connection())
        return [queue.enqueue(noop, n).id for n in range(count)]
    contexts = [tenant_resolve(app_id=bench_app_id(i + 1)) for i in range(tenants)]
    ids = []
    for n in range(count):
        with activate_tenant(contexts[n % tenants]):
            # No transaction is open (autocommit), so the job is enqueued at once.
            ids.append(jobs.enqueue(noop, n))
    return ids


def timing(ids: list[str]) -> dict:
    _setup()
    from rq.job import Job

    from tenants import jobs

    found = [job for job in Job.fetch_many(ids, connection=jobs.get_connection()) if job is not None]
    statuses: dict[str, int] = {}
    for job in found:
        status = getattr(job.get_status(), "value", str(job.get_status()))
        statuses[status] = statuses.get(status, 0) + 1
    spans = [(job.started_at, job.ended_at) for job in found if job.started_at and job.ended_at]
    if not spans:
        return {"statuses": statuses, "jobs": 0, "seconds": 0.0, "jobs_per_second": 0.0}
    first = min(started for started, _ in spans)
    last = max(ended for _, ended in spans)
    seconds = max((last - first).total_seconds(), 1e-6)
    return {"statuses": statuses, "jobs": len(spans), "seconds": seconds, "jobs_per_second": len(spans) / seconds}


def fork_cost(app_id: str, count: int) -> dict[str, float]:
    """What a work horse pays to find its tenant: ms per fork+exit, with a tenant lookup in the child (cold parent),
    and with the parent having looked the tenant up before forking (as TenantWorker's horses do not)."""
    _setup()
    from tenants.selectors import tenant_resolve

    def per_fork(child: Callable[[], object]) -> float:
        started = time.perf_counter()
        for _ in range(count):
            pid = os.fork()
            if pid == 0:
                child()
                os._exit(0)
            os.waitpid(pid, 0)
        return 1000 * (time.perf_counter() - started) / count

    measured = {"fork_exit_ms": per_fork(lambda: None)}
    measured["fork_resolve_cold_parent_ms"] = per_fork(lambda: tenant_resolve(app_id=app_id))
    tenant_resolve(app_id=app_id)
    measured["fork_resolve_warm_parent_ms"] = per_fork(lambda: tenant_resolve(app_id=app_id))
    return measured


def main(argv: list[str]) -> int:
    if argv[0] == "enqueue":
        json.dump(enqueue(argv[1], int(argv[2]), int(argv[3])), sys.stdout)
    elif argv[0] == "forkcost":
        json.dump(fork_cost(argv[1], int(argv[2])), sys.stdout)
    elif argv[0] == "timing":
        with open(argv[1]) as ids_file:
            json.dump(timing(json.load(ids_file)), sys.stdout)
    else:
        raise SystemExit(f"unknown command {argv[0]!r}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
