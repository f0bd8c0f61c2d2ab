"""Fair jobs: tenant B's job wait (enqueue -> start) while tenant A has 100,000 jobs pending, with the bound on a
tenant's queued jobs (JOBS_TENANT_MAX_QUEUED) and, for comparison, without it (a smaller A backlog, measured,
and the 100,000 case worked out from the workers' measured pace).

    .venv/bin/python -m benchmarks.fairness [--a-jobs 100000] [--bound 50] [--workers 2] [--b-jobs 10]
                                            [--unbounded-a-jobs 300]

It makes a namespace of its own (MySQL users, a control database and two tenants `mp_fairb_...`, Redis keys
`miniplex-fairb*`) with what `./dev test` set up (MariaDB on 127.0.0.1:3306 as root, Redis on 6379), and drops it
afterwards. A's jobs are enqueued in transactions of 1,000 (tenants.jobs.enqueue: past the bound their records
stay in A's outbox); then `--workers` real `manage.py rqworker` processes start and B enqueues one job every
second; each B job's wait is its rq `started_at` minus the moment it was enqueued. The workers are stopped when
B's jobs have run: A's backlog is left where it is (the namespace is dropped). The same with the bound off and
`--unbounded-a-jobs` of A pushed to the queue. Writes benchmarks/results/<date>-fairness.{md,json}.
"""

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

QUEUE = "bench-fair"
TENANT_A = "wx0fa0fa0fa0fa0fa1"
TENANT_B = "wx0fa0fa0fa0fa0fb2"
NOOP = "benchmarks.apps.tasks.noop"


def measure(a_jobs: int, workers: int, b_jobs: int) -> dict:
    """In the child process (the namespace's settings, the bound in its environment)."""
    import django

    django.setup()
    from django.conf import settings
    from django.db import transaction
    from rq.job import Job

    from core.tenant_context import activate_tenant
    from tenants.jobs import enqueue, fairness, get_connection
    from tenants.outbox.models import OutboxJob
    from tenants.selectors import tenant_resolve

    a, b = tenant_resolve(app_id=TENANT_A), tenant_resolve(app_id=TENANT_B)
    started = time.monotonic()
    with activate_tenant(a):
        for offset in range(0, a_jobs, 1000):
            with transaction.atomic(using=a.db_alias):
                for n in range(offset, min(a_jobs, offset + 1000)):
                    enqueue(NOOP, n)
    enqueue_seconds = time.monotonic() - started
    queued_before = fairness.queued_count(app_id=TENANT_A, queue=QUEUE)

    env = {**os.environ, "JOBS_QUEUE": QUEUE}
    argv = [sys.executable, "manage.py", "rqworker", QUEUE, "--name"]
    logs = [open(f"/tmp/fairb-worker-{i}.log", "ab") for i in range(workers)]  # noqa: SIM115, S108
    processes = [
        subprocess.Popen([*argv, f"fairb-{os.getpid()}-{i}"], env=env, stdout=log, stderr=subprocess.STDOUT)
        for i, log in enumerate(logs)
    ]
    waits: list[float] = []
    from rq import Queue, Worker

    queue = Queue(QUEUE, connection=get_connection())
    try:
        # B starts once the workers are up (Django's start-up is not part of anybody's wait).
        up_by = time.monotonic() + 120
        while Worker.count(connection=get_connection(), queue=queue) < workers and time.monotonic() < up_by:
            time.sleep(0.1)
        run_started = time.monotonic()
        b_ids: list[tuple[str, float]] = []
        with activate_tenant(b):
            for n in range(b_jobs):
                time.sleep(1)
                b_ids.append((enqueue(NOOP, -n), time.time()))
        deadline = time.monotonic() + 600
        connection = get_connection()
        while time.monotonic() < deadline:
            jobs = Job.fetch_many([job_id for job_id, _ in b_ids], connection=connection)
            if all(job is not None and job.started_at for job in jobs):
                break
            time.sleep(0.2)
        for (_, enqueued), job in zip(b_ids, jobs, strict=True):
            if job is not None and job.started_at:
                waits.append(job.started_at.timestamp() - enqueued)
        run_seconds = time.monotonic() - run_started
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
    with activate_tenant(a):
        a_outbox_left = OutboxJob.objects.count()
    from rq.registry import FinishedJobRegistry

    # The workers' pace from the jobs' own timestamps (first start to last end).
    finished_ids = FinishedJobRegistry(queue=queue).get_job_ids()
    spans = [
        (job.started_at, job.ended_at)
        for job in Job.fetch_many(finished_ids, connection=get_connection())
        if job is not None and job.started_at and job.ended_at
    ]
    finished = len(spans)
    pace_seconds = (max(end for _, end in spans) - min(start for start, _ in spans)).total_seconds() if spans else 0.0
    return {
        "a_jobs": a_jobs,
        "bound": settings.JOBS_TENANT_MAX_QUEUED,
        "workers": workers,
        "enqueue_seconds": enqueue_seconds,
        "a_queued_after_enqueue": queued_before,
        "b_waits": waits,
        "b_jobs_run": len(waits),
        "jobs_finished": finished,
        "run_seconds": run_seconds,
        "jobs_per_second": finished / pace_seconds if pace_seconds else 0.0,
        "a_outbox_left": a_outbox_left,
    }


def one_run(a_jobs: int, bound: int, workers: int, b_jobs: int) -> dict:
    from benchmarks import stack

    ns = stack.Namespace("fairb")
    stack.ensure_accounts(ns)
    env = stack.stack_env(ns, wechat_port=1, pool_size=4, JOBS_QUEUE=QUEUE, JOBS_TENANT_MAX_QUEUED=str(bound))
    try:
        stack.manage(env, "migrate", "--noinput", "-v", "0")
        stack.manage(env, "create_tenant", TENANT_A, "--name", "Fairness A")
        stack.manage(env, "create_tenant", TENANT_B, "--name", "Fairness B")
        flags = ("--measure", "--a-jobs", str(a_jobs), "--workers", str(workers), "--b-jobs", str(b_jobs))
        return json.loads(stack.run_module(env, "benchmarks.fairness", *flags, timeout=7200, what="measuring"))
    finally:
        stack.drop_namespace(ns)


def report(bounded: dict, unbounded: dict) -> str:
    def row(name: str, data: dict, note: str = "") -> str:
        waits = data["b_waits"] or [float("nan")]
        return (
            f"| {name} | {data['a_jobs']:,} | {data['bound'] or 'none'} | {data['enqueue_seconds']:.1f} s |"
            f" {statistics.median(waits):.2f} s | {max(waits):.2f} s | {data['jobs_per_second']:.1f} |"
            f" {data['a_outbox_left']:,} | {note} |"
        )

    pace = unbounded["jobs_per_second"] or bounded["jobs_per_second"]
    worked_out = bounded["a_jobs"] / pace if pace else float("nan")
    return "\n".join(
        [
            f"# Fair jobs: tenant B's job wait while tenant A has {bounded['a_jobs']:,} pending ({bounded['date']})",
            "",
            f"{bounded['workers']} forking workers (`manage.py rqworker`, TenantWorker), a no-op job, B enqueuing one"
            " job a second after A's backlog was enqueued; wait = the job's rq `started_at` - its enqueue.",
            "",
            "| run | A pending | bound | A enqueued in | B wait (median) | B wait (max) | jobs/s | A's outbox after |"
            " note |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---|",
            row("bounded", bounded, "measured"),
            row("unbounded", unbounded, "measured (smaller backlog)"),
            f"| unbounded, {bounded['a_jobs']:,} pending | {bounded['a_jobs']:,} | none | | {worked_out:,.0f} s | | |"
            " | worked out: A's backlog / the workers' pace |",
            "",
            f"Machine: {bounded['machine']['cpus']} CPUs, load {bounded['machine']['load_before']:.1f} before,"
            f" {bounded['machine']['load_after']:.1f} after (other work was running on it).",
            "",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--a-jobs", type=int, default=100_000)
    parser.add_argument("--bound", type=int, default=50)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--b-jobs", type=int, default=10)
    parser.add_argument("--unbounded-a-jobs", type=int, default=300)
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)  # the child process
    args = parser.parse_args(argv)
    if args.measure:
        json.dump(measure(args.a_jobs, args.workers, args.b_jobs), sys.stdout)
        return 0
    load_before = os.getloadavg()[0]
    bounded = one_run(args.a_jobs, args.bound, args.workers, args.b_jobs)
    unbounded = one_run(args.unbounded_a_jobs, 0, args.workers, min(args.b_jobs, 3))
    machine = {"cpus": os.cpu_count(), "load_before": load_before, "load_after": os.getloadavg()[0]}
    bounded["date"] = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    bounded["machine"] = machine
    text = report(bounded, unbounded)
    results = Path(__file__).resolve().parent / "results"
    stem = results / f"{datetime.now(UTC):%Y-%m-%d}-fairness"
    Path(f"{stem}.json").write_text(json.dumps({"bounded": bounded, "unbounded": unbounded}, indent=1))
    Path(f"{stem}.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
