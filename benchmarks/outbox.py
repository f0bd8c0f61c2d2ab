"""The outbox's steady-state cost: tenants.jobs.enqueue (in a transaction: its record inserted, the job indexed
and pushed on commit; in autocommit: indexed and pushed at once) against the enqueue before the outbox (pushed
on commit, nothing written, no index), in one run, rounds interleaved.

    .venv/bin/python -m benchmarks.outbox [--jobs 2000] [--rounds 5]

It makes a namespace of its own (MySQL users, a control database and one tenant `mp_outboxb_...`, Redis keys
`miniplex-outboxb*`) with what `./dev test` set up (MariaDB on 127.0.0.1:3306 as root, Redis on 6379), and
drops it afterwards. Each round enqueues --jobs jobs of each kind in one process, on the tenant's pooled
connection, both alone (autocommit: the push happens at once) and in a transaction that also updates a row
(what PATCH /me does), and empties the queue after each kind. It prints a Markdown table and writes it with
its data to benchmarks/results/<date>-outbox.{md,json}. No worker runs: only the enqueue side is measured.
"""

import argparse
import json
import os
import platform
import statistics
import sys
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

APP_ID = "wx0b0b0b0b0b0b0b0b"
QUEUE = "bench-outbox"
KINDS = ("today", "outbox", "today_tx", "outbox_tx")


def measure(jobs: int, rounds: int) -> dict:
    """In the child process (the namespace's settings): seconds per kind and round, statements per job."""
    import django

    django.setup()
    from functools import partial

    from django.conf import settings
    from django.db import connections, transaction

    from accounts.models import MiniProgramUser
    from benchmarks.apps.tasks import noop
    from core.tenant_context import activate_tenant
    from tenants.jobs import conf, enqueue, get_queue
    from tenants.jobs.job import META_APP_ID
    from tenants.selectors import tenant_resolve

    tenant = tenant_resolve(app_id=APP_ID)
    alias = tenant.db_alias

    def today(n: int) -> None:
        # tenants.jobs.enqueue as it was before the outbox: the push waits for the commit, nothing is written.
        push = partial(
            get_queue().enqueue_call,
            noop,
            args=(n,),
            job_id=uuid.uuid4().hex,
            meta={META_APP_ID: tenant.app_id},
            retry=conf.get_retry(),
            result_ttl=settings.JOBS_RESULT_TTL_SECONDS,
            failure_ttl=settings.JOBS_FAILURE_TTL_SECONDS,
        )
        transaction.on_commit(push, using=alias)

    def outbox(n: int) -> None:
        enqueue(noop, n)

    def in_transaction(enqueue_one: Callable[[int], None]) -> Callable[[int], None]:
        def run(n: int) -> None:
            with transaction.atomic(using=alias):
                MiniProgramUser.objects.filter(pk=user.pk).update(nickname=f"n{n}")
                enqueue_one(n)

        return run

    kinds = {"today": today, "outbox": outbox, "today_tx": in_transaction(today), "outbox_tx": in_transaction(outbox)}
    seconds: dict[str, list[float]] = {kind: [] for kind in kinds}
    statements: dict[str, float] = {}
    with activate_tenant(tenant):
        user, _ = MiniProgramUser.objects.get_or_create(openid="bench-outbox-user")
        for run in kinds.values():  # warm-up: connections, Lua script loaded, code paths
            for n in range(50):
                run(n)
            get_queue().empty()
        for _ in range(rounds):
            for kind, run in kinds.items():
                started = time.perf_counter()
                for n in range(jobs):
                    run(n)
                seconds[kind].append(time.perf_counter() - started)
                get_queue().empty()
        counted: list[str] = []

        def count(execute: Callable[..., object], sql: str, params: object, many: bool, context: object) -> object:
            counted.append(sql)
            return execute(sql, params, many, context)

        for kind, run in kinds.items():
            counted.clear()
            with connections[alias].execute_wrapper(count):
                for n in range(100):
                    run(n)
            get_queue().empty()
            statements[kind] = len(counted) / 100
    return {"seconds": seconds, "statements_per_job": statements}


def report(data: dict, jobs: int) -> str:
    rows = []
    rate = {kind: jobs / statistics.median(data["seconds"][kind]) for kind in KINDS}
    for kind in KINDS:
        per_job_ms = 1000 * statistics.median(data["seconds"][kind]) / jobs
        rounds = ", ".join(f"{jobs / s:.0f}" for s in data["seconds"][kind])
        stmts = data["statements_per_job"][kind]
        rows.append(f"| {kind} | {rate[kind]:.0f} | {per_job_ms:.3f} | {stmts:.0f} | {rounds} |")
    machine = data["machine"]
    return "\n".join(
        [
            f"# Outbox: enqueue cost ({data['date']})",
            "",
            f"Machine: {machine['cpus']} CPUs ({machine['cpu']}), Python {machine['python']}, 1-minute load average "
            f"{machine['load_before']:.2f} before and {machine['load_after']:.2f} after. {jobs} jobs per kind and "
            f"round, {len(data['seconds']['today'])} rounds interleaved; medians.",
            "",
            "| kind | jobs/s | ms per job | SQL statements per job | jobs/s by round |",
            "|---|---:|---:|---:|---|",
            *rows,
            "",
            f"Outbox / today: **{rate['outbox'] / rate['today']:.2f}x** alone, "
            f"**{rate['outbox_tx'] / rate['today_tx']:.2f}x** in a transaction that also updates a row.",
            "",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)  # the child process
    args = parser.parse_args(argv)
    if args.measure:
        json.dump(measure(args.jobs, args.rounds), sys.stdout)
        return 0

    from benchmarks import stack

    ns = stack.Namespace("outboxb")
    stack.ensure_accounts(ns)
    env = stack.stack_env(ns, wechat_port=1, pool_size=4, JOBS_QUEUE=QUEUE)
    try:
        stack.manage(env, "migrate", "--noinput", "-v", "0")
        stack.manage(env, "create_tenant", APP_ID, "--name", "Outbox benchmark")
        load_before = os.getloadavg()[0]
        flags = ("--measure", "--jobs", str(args.jobs), "--rounds", str(args.rounds))
        data = json.loads(stack.run_module(env, "benchmarks.outbox", *flags, timeout=3600, what="measuring"))
    finally:
        stack.drop_namespace(ns)
    data["date"] = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    data["machine"] = {
        "cpus": os.cpu_count(),
        "cpu": _cpu_model(),
        "python": platform.python_version(),
        "load_before": load_before,
        "load_after": os.getloadavg()[0],
    }
    text = report(data, args.jobs)
    results = stack.BASE_DIR / "benchmarks" / "results"
    stem = results / f"{datetime.now(UTC):%Y-%m-%d}-outbox"
    Path(f"{stem}.json").write_text(json.dumps({**data, "jobs": args.jobs}, indent=1))
    Path(f"{stem}.md").write_text(text)
    print(text)
    return 0


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


if __name__ == "__main__":
    raise SystemExit(main())
