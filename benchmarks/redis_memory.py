"""Redis memory per tenant: N tenants provisioned and used the way real use does, then INFO memory and MEMORY USAGE.

    .venv/bin/python -m benchmarks.redis_memory [--tenants 1000] [--parallel 2]

A Redis of its own (a `redis-server` child on a free loopback port, no persistence), so that `used_memory` counts
this run's keys only, and a namespace of its own on the local MariaDB (benchmarks.stack: MySQL users, a control
database, `mp_redismem_*` tenant databases), dropped at the end with the Redis. Tenants are made by the project's
provisioning service (tenants.services.tenant_provision, through benchmarks.provision), AppIDs `wx512e...`.

Each tenant is then driven through the real middleware and views (Django's test client, in one process) and the
real services, so it holds what a tenant in use holds:
- a user logged in (POST /api/v1/auth/login against a fake WeChat: the session token itself is in the tenant's
  database, the login throttle's counts are in Redis), then GET /api/v1/me (the user throttle);
- the registry's cache entry, written by the first request, and the tenant's last-activity stamp;
- the access_token holder's record (accounts.wechat_access.access_token_holder().get_token);
- the check-in rewards list, the one value the product caches per tenant (checkin.selectors, 300 s);
- the usage hash of the day (core.usage, flushed);
- one job enqueued in a transaction (its outbox record in the tenant's database) and run by a real
  `manage.py rqworker --burst` (TenantWorker): finished, its result kept for JOBS_RESULT_TTL_SECONDS; and one
  more enqueued the same way and left queued: the tenant's job index and its fairness set of queued ids.
Metrics are not in Redis (metrics/: Prometheus text from the process and the databases), so none are counted.

It prints a Markdown table and writes benchmarks/results/<date>-redis-memory.{md,json}.
"""

import argparse
import json
import os
import platform
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from datetime import UTC, datetime
from pathlib import Path

QUEUE = "redismem"
# Parts of a key that vary from one tenant or job to the next, so that keys group by their pattern.
PATTERNS = [
    (re.compile(r"wx[0-9a-f]{16}"), "{app_id}"),
    (re.compile(r"[0-9a-f]{32}"), "{id}"),
    (re.compile(r"(?<![0-9])20[0-9]{6}(?![0-9])"), "{day}"),
    (re.compile(r"[0-9]{1,3}(\.[0-9]{1,3}){3}"), "{ip}"),
    (re.compile(r"(?<=throttle_user_)[0-9]+"), "{user}"),
    (re.compile(r"(?<=redismem-rq:worker:redismem-)[0-9]+"), "{pid}"),
    (re.compile(r"(?<=:)[0-9]+(?=$|:)"), "{n}"),
]


def app_id_of(index: int) -> str:
    return f"wx512e{index:012x}"


def key_pattern(key: str) -> str:
    for regex, placeholder in PATTERNS:
        key = regex.sub(placeholder, key)
    return key


# --- In the child process (the namespace's settings, Django loaded) ----------------------------------------
def redis_memory() -> dict[str, int]:
    from core.redis import get_redis

    info = get_redis().info("memory")
    fields = ("used_memory", "used_memory_dataset", "used_memory_overhead", "used_memory_rss")
    return {name: int(info[name]) for name in fields} | {"keys": int(get_redis().dbsize())}


def usage_by_pattern() -> dict[str, dict[str, int]]:
    """Every key of the run's Redis: MEMORY USAGE (SAMPLES 0: every element counted), summed by pattern."""
    from core.redis import get_redis

    redis = get_redis()
    found: defaultdict[str, dict[str, int]] = defaultdict(lambda: {"keys": 0, "bytes": 0})
    keys = list(redis.scan_iter(count=1000))
    for start in range(0, len(keys), 500):
        batch = keys[start : start + 500]
        with redis.pipeline(transaction=False) as pipeline:
            for key in batch:
                pipeline.memory_usage(key, samples=0)
            sizes = pipeline.execute()
        for key, size in zip(batch, sizes, strict=True):
            entry = found[key_pattern(key.decode())]
            entry["keys"] += 1
            entry["bytes"] += int(size or 0)
    return dict(sorted(found.items(), key=lambda item: -item[1]["bytes"]))


def drive_tenant(client: object, app_id: str, index: int) -> None:
    """One tenant in use: a login, /me, its token, its cached rewards, a job to finish and a job left queued."""
    from django.db import transaction

    from accounts.wechat_access import access_token_holder
    from benchmarks.apps.tasks import noop
    from core.tenant_context import activate_tenant
    from tenants.jobs import enqueue
    from tenants.selectors import tenant_resolve

    address = f"10.{index // 65536 % 256}.{index // 256 % 256}.{index % 256}"  # one client address per tenant
    headers = {"X-AppID": app_id}
    login = client.post(  # type: ignore[attr-defined]
        "/api/v1/auth/login", {"code": f"code-user-{index}"}, content_type="application/json",
        headers=headers, REMOTE_ADDR=address,
    )  # fmt: skip
    if login.status_code != 200:
        raise RuntimeError(f"{app_id}: login answered {login.status_code}: {login.content[:300]!r}")
    authorized = {**headers, "Authorization": f"Bearer {login.json()['token']}"}
    for path in ("/api/v1/me", "/api/v1/checkin/rewards"):
        answer = client.get(path, headers=authorized, REMOTE_ADDR=address)  # type: ignore[attr-defined]
        if answer.status_code != 200:
            raise RuntimeError(f"{app_id}: {path} answered {answer.status_code}: {answer.content[:300]!r}")
    access_token_holder().get_token(app_id)
    tenant = tenant_resolve(app_id=app_id)
    with activate_tenant(tenant), transaction.atomic(using=tenant.db_alias):
        enqueue(noop, index)


def enqueue_one_each(app_ids: list[str]) -> None:
    from django.db import transaction

    from benchmarks.apps.tasks import noop
    from core.tenant_context import activate_tenant
    from tenants.jobs import enqueue
    from tenants.selectors import tenant_resolve

    for index, app_id in enumerate(app_ids):
        tenant = tenant_resolve(app_id=app_id)
        with activate_tenant(tenant), transaction.atomic(using=tenant.db_alias):
            enqueue(noop, -index)


def run_worker_burst() -> float:
    """A real `manage.py rqworker --burst` (TenantWorker) runs every queued job; the seconds it took."""
    started = time.monotonic()
    subprocess.run(
        [sys.executable, "manage.py", "rqworker", QUEUE, "--burst", "--name", f"redismem-{os.getpid()}"],
        env=os.environ, check=True, timeout=1800, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    return time.monotonic() - started


def measure(count: int, parallel: int) -> dict:
    import django

    django.setup()
    from concurrent.futures import ProcessPoolExecutor

    from django.db import connections
    from django.test import Client

    from benchmarks.provision import existing_active, provision_slice
    from core.usage import usage_flush
    from tenants.jobs import get_queue

    app_ids = [app_id_of(i) for i in range(1, count + 1)]
    steps: dict[str, dict[str, int]] = {"empty": redis_memory()}
    seconds: dict[str, float] = {}
    # A run that was stopped half-way left its tenants (the namespace is dropped at the end only): made once.
    missing = [app_id for app_id in app_ids if app_id not in existing_active(app_ids)]
    connections.close_all()  # the provisioning processes are forked: no connection of ours may go with them
    started = time.monotonic()
    with ProcessPoolExecutor(parallel) as pool:
        list(pool.map(provision_slice, [part for part in (missing[i::parallel] for i in range(parallel)) if part]))
    seconds["provision"] = time.monotonic() - started
    steps["provisioned"] = redis_memory()

    started, client = time.monotonic(), Client(HTTP_HOST="127.0.0.1")
    for index, app_id in enumerate(app_ids):
        drive_tenant(client, app_id, index)
    usage_flush()
    seconds["drive"] = time.monotonic() - started
    steps["driven"] = redis_memory()
    seconds["worker"] = run_worker_burst()
    steps["jobs finished"] = redis_memory()
    enqueue_one_each(app_ids)
    steps["one job queued each"] = redis_memory()
    queued = len(get_queue())
    return {
        "steps": steps,
        "seconds": seconds,
        "patterns": usage_by_pattern(),
        "queued": queued,
        "tenants": count,
        "provisioned_in_this_run": len(missing),
    }


# --- The parent: the namespace, the Redis, the fake WeChat, the report ----------------------------------------
def report(data: dict) -> str:
    count, steps, machine = data["tenants"], data["steps"], data["machine"]
    base, last = steps["empty"]["used_memory"], steps["one job queued each"]["used_memory"]
    per_tenant = (last - base) / count
    rows, previous = [], base
    for name, step in steps.items():
        added, previous = step["used_memory"] - previous, step["used_memory"]
        rows.append(
            f"| {name} | {step['used_memory']:,} | {step['used_memory'] - base:,} | {added / count:,.0f} | "
            f"{step['keys']:,} |"
        )
    pattern_rows = [
        f"| `{pattern}` | {entry['keys']:,} | {entry['bytes']:,} | {entry['bytes'] / count:,.0f} |"
        for pattern, entry in data["patterns"].items()
    ]
    summed = sum(entry["bytes"] for entry in data["patterns"].values())
    return "\n".join(
        [
            f"# Redis memory per tenant ({data['date']})",
            "",
            f"Machine: {machine['cpus']} CPUs ({machine['cpu']}), shared; Redis {machine['redis']} (its own "
            f"process, no persistence, jemalloc); Python {machine['python']}; 1-minute load average "
            f"{machine['load_before']:.2f} before, {machine['load_after']:.2f} after. {count:,} tenants provisioned "
            f"with tenant_provision in {data['seconds']['provision']:.0f} s ({data['parallel']} processes"
            f"{_resumed(data)}), driven "
            f"in {data['seconds']['drive']:.0f} s, their first jobs run by one burst worker in "
            f"{data['seconds']['worker']:.0f} s. One user per tenant.",
            "",
            "## INFO memory, step by step (measured)",
            "",
            "| after | used_memory (bytes) | over the empty Redis | this step, per tenant | keys |",
            "|---|---:|---:|---:|---:|",
            *rows,
            "",
            f"**{per_tenant:,.0f} bytes per tenant, {per_tenant * 1000 / 2**20:.2f} MiB per 1,000 tenants** "
            f"(used_memory over the empty Redis, divided by {count:,}).",
            "",
            "## MEMORY USAGE by key pattern, at the end (measured, SAMPLES 0)",
            "",
            "| pattern | keys | bytes | bytes per tenant |",
            "|---|---:|---:|---:|",
            *pattern_rows,
            f"| all | {sum(e['keys'] for e in data['patterns'].values()):,} | {summed:,} | {summed / count:,.0f} |",
            "",
            "MEMORY USAGE counts a key's value and its own overhead; used_memory also counts the main dictionary, "
            "the expires dictionary and the allocator's rounding, hence the difference between the two totals.",
            "",
        ]
    )


def _resumed(data: dict) -> str:
    made, count = data["provisioned_in_this_run"], data["tenants"]
    if made == count:
        return ""
    # Their provisioning's keys went with the earlier run's Redis; the first request writes the registry's again.
    return f"; {count - made:,} of them by an earlier run stopped half-way"


def _redis_server(port: int, folder: str) -> subprocess.Popen:
    argv = ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    return subprocess.Popen(argv, cwd=folder, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tenants", type=int, default=1000)
    parser.add_argument("--parallel", type=int, default=2)
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)  # the child process
    args = parser.parse_args(argv)
    if args.measure:
        json.dump(measure(args.tenants, args.parallel), sys.stdout)
        return 0

    import redis

    from benchmarks import stack
    from benchmarks.outbox import _cpu_model
    from benchmarks.provision import app_secret
    from tests.e2e.services import stop_process, wait_for
    from tests.helpers import free_port
    from wechat.fake_server import FakeWeChatServer

    ns, port = stack.Namespace("redismem"), free_port()
    apps = {app_id_of(i): app_secret(app_id_of(i)) for i in range(1, args.tenants + 1)}
    with tempfile.TemporaryDirectory(prefix="redismem-") as folder, FakeWeChatServer(apps=apps) as wechat:
        server = _redis_server(port, folder)
        try:
            wait_for(lambda: _answers(redis.Redis(port=port)), seconds=20, what="the benchmark's Redis")
            stack.ensure_accounts(ns)
            env = stack.stack_env(ns, wechat_port=1, pool_size=4, JOBS_QUEUE=QUEUE)
            for shipped in ("API_THROTTLE_RATE_USER", "API_THROTTLE_RATE_ANON", "TENANT_MAX_CONCURRENT_PER_WORKER"):
                env.pop(shipped)  # the product's own throttles and bounds: their keys are what is measured
            env |= {"REDIS_URL": f"redis://127.0.0.1:{port}/0", "WECHAT_API_BASE": wechat.base_url}
            stack.manage(env, "migrate", "--noinput", "-v", "0")
            load_before = os.getloadavg()[0]
            flags = ("--measure", "--tenants", str(args.tenants), "--parallel", str(args.parallel))
            data = json.loads(stack.run_module(env, "benchmarks.redis_memory", *flags, timeout=3600, what="measuring"))
            version = redis.Redis(port=port).info("server")["redis_version"]
        finally:
            stop_process(server, sig=signal.SIGTERM, timeout=20)
            dropped = stack.drop_namespace(ns)
    data |= {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "parallel": args.parallel,
        "databases_dropped": dropped,
        "machine": {
            "cpus": os.cpu_count(),
            "cpu": _cpu_model(),
            "python": platform.python_version(),
            "redis": version,
            "load_before": load_before,
            "load_after": os.getloadavg()[0],
        },
    }
    text = report(data)
    stem = stack.BASE_DIR / "benchmarks" / "results" / f"{datetime.now(UTC):%Y-%m-%d}-redis-memory"
    Path(f"{stem}.json").write_text(json.dumps(data, indent=1))
    Path(f"{stem}.md").write_text(text)
    print(text)
    return 0


def _answers(client: object) -> bool:
    import redis

    try:
        return bool(client.ping())  # type: ignore[attr-defined]
    except redis.RedisError:
        return False


if __name__ == "__main__":
    raise SystemExit(main())
