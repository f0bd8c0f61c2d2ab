"""10,000 tenants on one MariaDB: provisioning (tenants/s, disk, MariaDB memory), ping and /me spread over all of
them against one tenant, `migrate_tenants` with nothing to do, one real migration with --parallel, then the drop.

    python -m benchmarks.tenants10k provision COUNT [--parallel N]   # creates the missing ones; disk and memory
    python -m benchmarks.tenants10k users COUNT                      # one user and token per tenant (spread file)
    python -m benchmarks.tenants10k load COUNT [--rounds R] [--seconds S]   # wrk: 1 tenant vs COUNT, interleaved
    python -m benchmarks.tenants10k migrate-noop [--parallel N]     # migrate_tenants with nothing to do
    python -m benchmarks.tenants10k migrate-real [--parallel N]     # the probe app's one migration on every tenant
    python -m benchmarks.tenants10k drop                            # databases, MySQL users, registry, Redis keys
    python -m benchmarks.tenants10k report                          # writes results/2026-12-01-tenants10k.{json,md}

Everything lives under its own names (namespace `perfk`: databases `mp_perfk_*`, MySQL users `mp_perfk_*`, Redis
keys `miniplex-perfk*`; AppIDs `wxfa...`), apart from the other benchmarks and the test suite. Each step adds its
figures to a state file (WORKDIR/state.json), so the steps can run one at a time and `report` writes them all.
The real migration is the throwaway app benchmarks.apps.migration_probe (settings benchmarks.apps.settings_probe),
never a migration of a shipped app. The runner's own helpers (benchmarks.stack, benchmarks.load) start gunicorn
and wrk.
"""

import argparse
import json
import os
import re
import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks import stack
from benchmarks.load import run_wrk
from benchmarks.stack import Namespace

NS = Namespace("perfk")
WORKDIR = Path("/tmp/miniplex-perf-tenants10k")  # noqa: S108 - a benchmark's scratch folder on the test machine
STATE = WORKDIR / "state.json"
RESULTS = Path(__file__).with_name("results")
DATADIR = Path("/var/lib/mysql")
PING, ME = "/api/v1/ping", "/api/v1/me"
PROBE_SETTINGS = "benchmarks.apps.settings_probe"


def app_id(index: int) -> str:
    """The AppID of tenant number `index` of this benchmark: wx + 16 hex digits, "fa" first (not bench's "be")."""
    return f"wxfa{index:014x}"


def load_state() -> dict:
    return json.loads(STATE.read_text()) if STATE.exists() else {}


def save(section: str, value: object) -> None:
    state = load_state()
    state[section] = value
    STATE.write_text(json.dumps(state, indent=1))


def machine() -> dict:
    return {"load": [round(v, 2) for v in os.getloadavg()], "time": datetime.now(UTC).isoformat(timespec="seconds")}


def env(**extra: str) -> dict[str, str]:
    # No fake WeChat: ping and /me call no WeChat API; the users are made in the database (users step).
    return stack.stack_env(NS, wechat_port=9, pool_size=8, **extra)


# --- What the tenants take -------------------------------------------------------------------------------------
def disk_bytes() -> int:
    """Bytes on disk of this namespace's databases (their folders in MariaDB's data directory)."""
    total = 0
    for folder in DATADIR.glob(f"{NS.db_prefix}*"):
        for entry in os.scandir(folder):
            total += entry.stat().st_blocks * 512
    return total


def mariadb_rss_kib() -> int:
    pid = subprocess.run(["pidof", "mariadbd"], capture_output=True, text=True).stdout.split()
    return stack.rss_kib(int(pid[0])) if pid else 0


def root_free_bytes() -> int:
    stat = os.statvfs("/")
    return stat.f_bavail * stat.f_frsize


def tenant_count() -> int:
    like = NS.db_prefix.replace("_", r"\_") + "wx%"
    return len(stack.mysql_rows("SHOW DATABASES LIKE %s", (like,)))


# --- Steps -----------------------------------------------------------------------------------------------------
def step_provision(count: int, parallel: int) -> dict:
    WORKDIR.mkdir(parents=True, exist_ok=True)
    stack.ensure_accounts(NS)
    stack.manage(env(), "migrate", "--noinput", "-v", "0")
    return _provision_measured("provision", "provision_child", count, parallel)


def _missing_tenants(count: int) -> list[str]:
    """In a child: Django set up, the AppIDs of tenants 1..count not active yet; connections closed before forking."""
    from django.db import connections

    from benchmarks.provision import _setup, existing_active

    _setup()
    wanted = [app_id(i) for i in range(1, count + 1)]
    present: set[str] = set()
    for start in range(0, len(wanted), 1000):
        present |= existing_active(wanted[start : start + 1000])
    connections.close_all()
    return [a for a in wanted if a not in present]


def provision_child(count: int, parallel: int) -> dict:
    """In the stack's environment: provisions the missing tenants in `parallel` processes (benchmarks.provision)."""
    from benchmarks.provision import provision_slice

    missing = _missing_tenants(count)
    started = time.perf_counter()
    if missing:
        slices = [missing[i::parallel] for i in range(parallel)]
        with ProcessPoolExecutor(parallel) as pool:
            list(pool.map(provision_slice, [s for s in slices if s]))
    return {"created": len(missing), "seconds": time.perf_counter() - started}


def _provision_measured(section: str, child: str, count: int, parallel: int) -> dict:
    """Runs `child` of this module in the stack's environment; the disk and MariaDB memory before and after."""
    before = {"disk": disk_bytes(), "rss_kib": mariadb_rss_kib(), "tenants": tenant_count(), **machine()}
    code = (
        f"import json, sys; from benchmarks.tenants10k import {child}; "
        f"json.dump({child}({count}, {parallel}), sys.stdout)"
    )
    output = subprocess.run(
        [stack.PYTHON, "-c", code], env=env(), cwd=stack.BASE_DIR, capture_output=True, text=True, timeout=7200
    )
    if output.returncode != 0:
        raise RuntimeError(output.stderr[-4000:])
    made = json.loads(output.stdout)
    after = {"disk": disk_bytes(), "rss_kib": mariadb_rss_kib(), "tenants": tenant_count(), **machine()}
    created = made["created"]
    result = {
        "count": count,
        "parallel": parallel,
        "created": created,
        "seconds": made["seconds"],
        "tenants_per_second": created / made["seconds"] if made["seconds"] else 0.0,
        "before": before,
        "after": after,
        "disk_per_tenant_kib": (after["disk"] - before["disk"]) / 1024 / max(created, 1),
        "disk_total_gib": after["disk"] / 2**30,
        "mariadb_rss_growth_mib": (after["rss_kib"] - before["rss_kib"]) / 1024,
        "root_free_gib": root_free_bytes() / 2**30,
    }
    save(section, [*load_state().get(section, []), result])
    return result


def step_users(count: int) -> dict:
    """One user and token per tenant, written to the wrk spread files (ME: "APPID TOKEN", PING: "APPID -")."""
    started = time.perf_counter()
    parts = 2
    code = (
        "import json, sys; from benchmarks.tenants10k import users_child; "
        "json.dump(users_child({}, {}, {}), sys.stdout)"
    )
    processes = [
        subprocess.Popen(
            [stack.PYTHON, "-c", code.format(count, part, parts)],
            env=env(),
            cwd=stack.BASE_DIR,
            stdout=subprocess.PIPE,
            text=True,
        )
        for part in range(parts)
    ]
    tokens: dict[str, str] = {}
    for process in processes:
        out, _ = process.communicate(timeout=3600)
        tokens.update(json.loads(out))
    (WORKDIR / "tokens.json").write_text(json.dumps(tokens))
    result = {"users": len(tokens), "seconds": time.perf_counter() - started}
    save("users", result)
    return result


def users_child(count: int, part: int, parts: int) -> dict[str, str]:
    from benchmarks.provision import _setup

    _setup()
    from accounts.models import MiniProgramUser
    from accounts.tokens import token_issue
    from core.tenant_context import activate_tenant
    from tenants.selectors import tenant_resolve

    tokens = {}
    for index in range(1 + part, count + 1, parts):
        tenant = tenant_resolve(app_id=app_id(index))
        with activate_tenant(tenant):
            user, _ = MiniProgramUser.objects.get_or_create(openid=f"perf-openid-{index}")
            tokens[tenant.app_id] = token_issue(user=user)
    return tokens


def spread_file(path: str, count: int) -> Path:
    tokens = json.loads((WORKDIR / "tokens.json").read_text())
    spread = WORKDIR / f"spread-{path.rsplit('/', 1)[-1]}-{count}.txt"
    ids = [app_id(i) for i in range(1, count + 1)]
    spread.write_text("".join(f"{a} {tokens[a] if path == ME else '-'}\n" for a in ids))
    return spread


# MariaDB's table caches for the run, then set back: 10,000 tenants' /me touch 30,000 tables (the user, the token,
# the avatar), past the defaults (table_open_cache 2,000, table_definition_cache 400), and every request would open
# its tables again. A server for thousands of tenants is configured so (docs/fleet-sizing.md, "Table caches").
RUN_TABLE_CACHES = {"table_open_cache": 40_000, "table_definition_cache": 40_000}


@contextmanager
def raised_table_caches() -> Iterator[dict[str, int]]:
    names = tuple(RUN_TABLE_CACHES)
    before = {
        name: int(value)
        for name, value in stack.mysql_rows("SHOW GLOBAL VARIABLES WHERE Variable_name IN %s", (names,))
    }
    for name, value in RUN_TABLE_CACHES.items():
        stack.mysql_rows(f"SET GLOBAL {name} = %s", (value,))
    try:
        yield before
    finally:
        for name, value in before.items():
            stack.mysql_rows(f"SET GLOBAL {name} = %s", (value,))


def step_load(count: int, rounds: int, seconds: float, concurrency: int, warmup: float) -> dict:
    """1 tenant against `count`, interleaved rounds, after a warm-up long enough for every worker to have every
    tenant in its registry copy and MariaDB every table open (steady state; the first, cold run is recorded too)."""
    runs: list[dict] = []
    scenarios = [(path, n) for path in (PING, ME) for n in (1, count)]
    cold: dict[str, dict] = {}
    with raised_table_caches() as caches_before, stack.running_gunicorn("tenants10k", env(), WORKDIR) as server:
        for path, n in scenarios:
            measured, _ = run_wrk(server.url(path), concurrency, warmup, spread_file=spread_file(path, n))
            cold[f"{path} {n}"] = measured.as_dict()
        for round_index in range(rounds):
            for path, n in scenarios:
                measured, _ = run_wrk(server.url(path), concurrency, seconds, spread_file=spread_file(path, n))
                row = {"path": path, "tenants": n, "round": round_index, **measured.as_dict(), **machine()}
                runs.append(row)
                print(
                    f"{path} {n} tenants round {round_index}: {measured.rps:.0f} req/s p99 {measured.p99_ms} ms",
                    flush=True,
                )
                time.sleep(1)
    summary = {}
    for path in (PING, ME):
        ratios = []
        for round_index in range(rounds):
            one = next(r for r in runs if r["path"] == path and r["tenants"] == 1 and r["round"] == round_index)
            many = next(r for r in runs if r["path"] == path and r["tenants"] == count and r["round"] == round_index)
            ratios.append(many["rps"] / one["rps"] if one["rps"] else 0.0)
        summary[path] = {"ratios": ratios, "median_ratio": sorted(ratios)[len(ratios) // 2]}
    result = {
        "count": count,
        "concurrency": concurrency,
        "seconds": seconds,
        "warmup_seconds": warmup,
        "cold_warmup_runs": cold,
        "table_caches": {"run": RUN_TABLE_CACHES, "before": caches_before},
        "runs": runs,
        "summary": summary,
    }
    save(f"load-{count}", result)
    return result


def _timed_manage(settings: str | None, *args: str) -> tuple[float, str]:
    extra = {"DJANGO_SETTINGS_MODULE": settings} if settings else {}
    started = time.perf_counter()
    output = stack.manage(env(**extra), *args, timeout=3600)
    return time.perf_counter() - started, output


def step_migrate_noop(parallel: int) -> dict:
    """migrate_tenants with nothing to do, twice: as shipped (the registry's recorded schema) and with --verify
    (every tenant's django_migrations read, the check of before the record)."""
    results = {}
    for label, extra in (("recorded", ()), ("verify", ("--verify",))):
        seconds, output = _timed_manage(None, "migrate_tenants", "--parallel", str(parallel), *extra)
        lines = output.splitlines()
        results[label] = {
            "parallel": parallel,
            "seconds": seconds,
            "tenants": tenant_count(),
            "up_to_date": sum(line.endswith(": up to date") for line in lines),
            "last_line": lines[-1] if lines else "",
            **machine(),
        }
        print(f"migrate_tenants {' '.join(extra)}: {seconds:.1f} s", flush=True)
    save(f"migrate-noop-p{parallel}", results)
    return results


def step_migrate_real(parallel: int) -> dict:
    seconds, output = _timed_manage(PROBE_SETTINGS, "migrate_tenants", "--parallel", str(parallel))
    lines = output.splitlines()
    result = {
        "parallel": parallel,
        "seconds": seconds,
        "tenants": tenant_count(),
        "applied": sum("applied 1 (migration_probe.0001_initial)" in line for line in lines),
        "last_line": lines[-1] if lines else "",
        **machine(),
    }
    save(f"migrate-real-p{parallel}", result)
    return result


def step_drop(threads: int = 4) -> dict:
    """Drops every database of the namespace (several connections at once), then its users and Redis keys."""
    started = time.perf_counter()
    like = NS.db_prefix.replace("_", r"\_") + "%"
    names = [name for (name,) in stack.mysql_rows("SHOW DATABASES LIKE %s", (like,))]
    names = [n for n in names if re.fullmatch(rf"{re.escape(NS.db_prefix)}[A-Za-z0-9_]+", n)]

    def drop(batch: list[str]) -> None:
        connection = stack.mysql_root()
        try:
            cursor = connection.cursor()
            for name in batch:
                cursor.execute(f"DROP DATABASE IF EXISTS `{name}`")
        finally:
            connection.close()

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(drop, [names[i::threads] for i in range(threads)]))
    left = stack.drop_namespace(NS)  # the users, the Redis keys (and any database made meanwhile)
    result = {"dropped": len(names), "left_then_dropped": left, "seconds": time.perf_counter() - started}
    result["remaining_databases"] = len(stack.mysql_rows("SHOW DATABASES LIKE %s", (like,)))
    result["remaining_users"] = len(stack.mysql_rows("SELECT user FROM mysql.user WHERE user LIKE %s", (like,)))
    save("drop", {**result, **machine()})
    return result


def step_report() -> list[Path]:
    state = load_state()
    stamp = "2026-12-01-tenants10k"
    data_path = RESULTS / f"{stamp}.json"
    data_path.write_text(json.dumps(state, indent=1) + "\n")
    text_path = RESULTS / f"{stamp}.md"
    text_path.write_text(markdown(state))
    return [data_path, text_path]


def markdown(state: dict) -> str:
    """The state file's figures as the report's tables (one line per step that ran)."""
    lines = ["# 10,000 tenants on one MariaDB (`python -m benchmarks.tenants10k`)", ""]
    lines += [
        "| provisioning run | created | seconds | tenants/s | disk per tenant | MariaDB RSS growth | load after |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for run in state.get("provision", []):
        lines.append(
            f"| {run['before']['tenants']} -> {run['after']['tenants']} databases, {run['parallel']} processes "
            f"| {run['created']} | {run['seconds']:.0f} | {run['tenants_per_second']:.2f} "
            f"| {run['disk_per_tenant_kib']:.0f} KiB | {run['mariadb_rss_growth_mib']:.0f} MiB "
            f"| {run['after']['load']} |"
        )
    for _key, load in sorted((k, v) for k, v in state.items() if k.startswith("load-")):
        lines += [
            "",
            f"Spread over {load['count']} tenants against 1 ({load['concurrency']} wrk clients, "
            f"{load['seconds']} s runs, interleaved rounds; ratio = req/s spread / req/s one tenant):",
            "",
        ]
        if "table_caches" in load:
            lines += [
                f"MariaDB's table caches for the run: {load['table_caches']['run']} (before: "
                f"{load['table_caches']['before']}); {load.get('warmup_seconds')} s of warm-up per scenario.",
                "",
            ]
        lines += ["| path | ratio per round | median |", "|---|---|---:|"]
        for path, summary in load["summary"].items():
            rounds = ", ".join(f"{ratio:.2f}" for ratio in summary["ratios"])
            lines.append(f"| {path} | {rounds} | **{summary['median_ratio']:.2f}x** |")
    for key, runs in sorted((k, v) for k, v in state.items() if k.startswith("migrate-noop")):
        lines += ["", f"`migrate_tenants` with nothing to do ({key}):", ""]
        lines += ["| check | tenants | seconds |", "|---|---:|---:|"]
        for label, run in runs.items():
            lines.append(f"| {label} | {run['up_to_date']} up to date of {run['tenants']} | {run['seconds']:.1f} |")
    for key, run in sorted((k, v) for k, v in state.items() if k.startswith("migrate-real")):
        lines += [
            "",
            f"One real migration ({key}): {run['applied']} tenants in {run['seconds']:.0f} s "
            f"({run['applied'] / run['seconds']:.1f} tenants/s); load after {run['load']}.",
        ]
    if "drop" in state:
        drop = state["drop"]
        lines += [
            "",
            f"Drop: {drop['dropped']} databases in {drop['seconds']:.0f} s; "
            f"{drop['remaining_databases']} databases and {drop['remaining_users']} users left.",
        ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.tenants10k")
    parser.add_argument(
        "step",
        choices=["provision", "users", "load", "migrate-noop", "migrate-real", "drop", "report"],
    )
    parser.add_argument("count", type=int, nargs="?", default=10_000)
    parser.add_argument("--parallel", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--warmup", type=int, default=40, help="seconds of each scenario before the rounds")
    args = parser.parse_args(argv)
    WORKDIR.mkdir(parents=True, exist_ok=True)
    steps = {
        "provision": lambda: step_provision(args.count, args.parallel),
        "users": lambda: step_users(args.count),
        "load": lambda: step_load(args.count, args.rounds, args.seconds, args.concurrency, args.warmup),
        "migrate-noop": lambda: step_migrate_noop(args.parallel),
        "migrate-real": lambda: step_migrate_real(args.parallel),
        "drop": step_drop,
        "report": step_report,
    }
    result: Any = steps[args.step]()
    print(json.dumps(result if args.step != "load" else result["summary"], indent=1, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
