"""Jobs: tenant-tagged jobs (tenants.jobs.enqueue, run by `manage.py rqworker`, i.e. TenantWorker) against plain
RQ jobs (rq.Queue.enqueue, run by `rq worker`, rq's own Worker), the same no-op function
(benchmarks.apps.tasks.noop), one forking worker each.

Kinds of enqueue: `plain` (rq's Queue.enqueue on the bench-plain queue, for `rq worker`), `django` (the same on the
jobs queue, for `manage.py rqworker --worker-class rq.Worker`), `tenant` (tenants.jobs.enqueue in autocommit: pushed
at once, no outbox record) and `outbox` (tenants.jobs.enqueue inside a transaction on the tenant's database, as a
view that writes data does: the OutboxJob record is inserted in the transaction and the job pushed when it commits).
Each enqueue also reports its own rate (`enqueue_timed`).

    python -m benchmarks.jobs enqueue tenant|outbox|django|plain COUNT TENANTS   # prints the job ids (JSON)
    python -m benchmarks.jobs timing IDS_FILE                      # prints the jobs' statuses and rate (JSON)
    python -m benchmarks.jobs forkcost APP_ID COUNT                # what a work horse pays to find its tenant

jobs/s is counted from the jobs' own timestamps (first start to last end), so the workers' start-up is left out.
"""

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable

PLAIN_QUEUE = "bench-plain"


def _setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchmarks.apps.settings")
    import django

    django.setup()


def enqueue(kind: str, count: int, tenants: int) -> list[str]:
    """Enqueues COUNT no-op jobs of `kind` (spread over TENANTS tenants for tenant and outbox); their ids."""
    return enqueue_timed(kind, count, tenants)["ids"]


def enqueue_timed(kind: str, count: int, tenants: int, app_ids: list[str] | None = None) -> dict:
    """enqueue(), timed: {"ids": [...], "seconds": s, "jobs_per_second": n} (the enqueueing side's rate)."""
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
        started = time.perf_counter()
        ids = [queue.enqueue(noop, n).id for n in range(count)]
        return _timed(ids, started)
    if kind not in ("tenant", "outbox"):
        raise SystemExit(f"unknown kind of jobs {kind!r}")
    from django.db import transaction

    app_ids = app_ids or [bench_app_id(i + 1) for i in range(tenants)]
    contexts = [tenant_resolve(app_id=app_id) for app_id in app_ids[:tenants]]
    ids = []
    started = time.perf_counter()
    for n in range(count):
        tenant = contexts[n % tenants]
        with activate_tenant(tenant):
            if kind == "tenant":
                # No transaction is open (autocommit), so the job is pushed at once and no record is written.
                ids.append(jobs.enqueue(noop, n))
            else:
                # In the tenant database's transaction: the record is inserted, the push waits for the commit.
                with transaction.atomic(using=tenant.db_alias):
                    ids.append(jobs.enqueue(noop, n))
    return _timed(ids, started)


def _timed(ids: list[str], started: float) -> dict:
    seconds = max(time.perf_counter() - started, 1e-6)
    return {"ids": ids, "seconds": seconds, "jobs_per_second": len(ids) / seconds}


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


# --- Interleaved rounds (what `python -m benchmarks --targets` calls) -------------------------------------------
KINDS = ("plain", "django", "tenant", "outbox")


def worker_argv(kind: str, env: dict[str, str]) -> list[str]:
    """The burst worker that runs one kind's jobs: rq's own (plain), Django-loaded rq.Worker (django), TenantWorker."""
    python = sys.executable
    if kind == "plain":
        rq = os.path.join(os.path.dirname(python), "rq")
        return [rq, "worker", "--burst", "--url", env["REDIS_URL"], PLAIN_QUEUE]
    queue = env.get("JOBS_QUEUE", "default")
    if kind == "django":
        return [python, "manage.py", "rqworker", "--burst", "--worker-class", "rq.Worker", "--job-class", "rq.job.Job",
                queue]  # fmt: skip
    return [python, "manage.py", "rqworker", "--burst", queue]


def jobs_round(kind: str, env: dict[str, str], *, count: int, tenants: int, app_ids: list[str] | None = None) -> dict:
    """Enqueues `count` jobs of `kind`, runs them with a burst worker; jobs/s run (from the jobs' own timestamps),
    jobs/s enqueued and the worker's wall time."""
    base = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    command = [sys.executable, "-m", "benchmarks.jobs", "enqueue-timed", kind, str(count), str(tenants)]
    if app_ids:
        command.append(",".join(app_ids))
    queued = json.loads(_output(command, env, base))
    started = time.perf_counter()
    subprocess.run(worker_argv(kind, env), env=env, cwd=base, capture_output=True, timeout=1800, check=True)
    wall = time.perf_counter() - started
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as ids_file:
        json.dump(queued["ids"], ids_file)
    try:
        ran = json.loads(_output([sys.executable, "-m", "benchmarks.jobs", "timing", ids_file.name], env, base))
    finally:
        os.unlink(ids_file.name)
    return {**ran, "kind": kind, "enqueued": count, "enqueue_jobs_per_second": queued["jobs_per_second"],
            "worker_wall_seconds": wall}  # fmt: skip


def jobs_compare(
    env: dict[str, str],
    *,
    count: int = 200,
    tenants: int = 10,
    rounds: int = 3,
    kinds: tuple[str, ...] = KINDS,
    app_ids: list[str] | None = None,
) -> dict:
    """The kinds in turn (interleaved), `rounds` times: per kind its median round and every round's jobs/s, and
    the ratios the target names (tenant-tagged over plain RQ, with and without the outbox)."""
    measured: dict[str, list[dict]] = {kind: [] for kind in kinds}
    for _ in range(rounds):
        for kind in kinds:
            measured[kind].append(jobs_round(kind, env, count=count, tenants=tenants, app_ids=app_ids))
    result: dict = {"kinds": {}, "ratios": {}}
    for kind, rows in measured.items():
        ordered = sorted(rows, key=lambda row: row["jobs_per_second"])
        result["kinds"][kind] = {**ordered[len(ordered) // 2], "rounds": [row["jobs_per_second"] for row in rows]}
    rate = {kind: row["jobs_per_second"] for kind, row in result["kinds"].items()}
    for tagged in ("tenant", "outbox"):
        for base in ("plain", "django"):
            if tagged in rate and base in rate and rate[base]:
                result["ratios"][f"{tagged}/{base}"] = rate[tagged] / rate[base]
    return result


def _output(command: list[str], env: dict[str, str], cwd: str) -> str:
    completed = subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True, timeout=600)
    if completed.returncode != 0:
        raise RuntimeError(f"{command[3:5]} failed:\n{completed.stderr[-3000:]}")
    return completed.stdout


def main(argv: list[str]) -> int:
    if argv[0] == "enqueue":
        json.dump(enqueue(argv[1], int(argv[2]), int(argv[3])), sys.stdout)
    elif argv[0] == "enqueue-timed":
        app_ids = argv[4].split(",") if len(argv) > 4 else None
        json.dump(enqueue_timed(argv[1], int(argv[2]), int(argv[3]), app_ids), sys.stdout)
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
