"""Consolidation: N mini-programs on one Miniplex against one single-tenant deployment each, on this machine.

    python -m benchmarks --consolidation [--rounds R] [--seconds S]     # 50 tenants; the report under results/

One Miniplex: the shipped gunicorn config (gevent, 2 workers, PyMySQL and the pool) on benchmarks.apps.settings.
The deployments: one gunicorn each with the same config and 1 worker, on benchmarks.apps.solo_settings (the same
code with tenancy off: no tenant middleware, no router, one database, the mini-program's own, which is the
tenant database Miniplex serves it from, so both read the same user row with the same token).

One nginx in front of both, with the shipped site twice (deploy/nginx/miniplex.conf): one server proxies to
Miniplex's upstream as shipped, the other picks one of the N deployments' upstreams by the X-AppID header (a `map`).
The same wrk and Lua script (benchmarks/wrk/spread.lua: X-AppID and the token from a list) drive both, with
the same number of keep-alive clients, under a uniform spread over the tenants and a skewed one (Zipf: a few
tenants busy, most nearly idle), in interleaved rounds.

Counted: the resident memory of every process (gunicorn masters and workers; RSS, and PSS, which shares the
pages forked workers share with their master), the MySQL connections open (the processlist, by MySQL user:
Miniplex's runtime and control users, the deployments' own `solo` user; by database for the deployments),
req/s and p99 from wrk. The chart: memory and connections against the number of tenants (1 to 50) served.
"""

import argparse
import json
import os
import random
import signal
import statistics
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks import stack
from benchmarks.load import run_wrk
from benchmarks.provision import bench_app_id
from benchmarks.stack import Gunicorn, Namespace
from tests.e2e.stack import fill_nginx_site, nginx_answers, nginx_main_config, running_nginx_config
from tests.helpers import free_port

PING, ME = "/api/v1/ping", "/api/v1/me"
ENDPOINTS = {"ping": PING, "/me": ME}
SIDES = ("miniplex", "deployments")
DISTRIBUTIONS = ("uniform", "zipf")
# Zipf over tenants by rank k, weight 1/k^s: with s = 1.2 over 50 tenants the busiest gets 28% of the requests,
# the five busiest 60%, the 25 least busy 9% together (0.2-0.6% each).
ZIPF_EXPONENT = 1.2
SPREAD_LINES = 2000
CHART_COUNTS = (1, 5, 10, 20, 50)
MYSQL_MAX_CONNECTIONS = 500  # for the run (room_for_connections)
# The goals, Miniplex / the deployments: at most for memory, connections and p99; at least for req/s.
GOALS = {"rss": 0.1, "connections": 0.1, "rps": 1.0, "p99": 1.0}


@dataclass(frozen=True)
class Plan:
    tenants: int = 50
    rounds: int = 3
    seconds: float = 15
    concurrency: int = 50
    chart_seconds: float = 5  # 0: no chart sweep
    start_batch: int = 5  # deployments started at once (each imports Django: the 2 cores are the limit)


# --- the processes' memory and the MySQL connections --------------------------------------------------------
def pss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        pass
    return 0


def footprint(servers: list[Gunicorn]) -> dict[str, int]:
    """Every process of these gunicorns (masters and workers): count, RSS and PSS summed, in KiB."""
    pids = [server.process.pid for server in servers]
    pids += [pid for server in servers for pid in stack.worker_pids(server.process.pid)]
    return {
        "processes": len(pids),
        "rss_kib": sum(stack.rss_kib(pid) for pid in pids),
        "pss_kib": sum(pss_kib(pid) for pid in pids),
    }


class ConnectionWatch:
    """The MySQL connections open per (user, database), sampled every 100 ms in a thread on one root connection;
    the peak of each side (Miniplex's users together; the deployments' user, in total and per database)."""

    def __init__(self, ns: Namespace) -> None:
        self.miniplex_users = set(ns.users)
        self.solo_user = ns.user("solo")
        self.lock = threading.Lock()
        self.query_lock = threading.Lock()
        self.latest: dict[tuple[str, str], int] = {}
        self.peaks: dict[str, int] = {}
        self.solo_db_peaks: dict[str, int] = {}
        self.missed: list[str] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._watch, daemon=True)

    def __enter__(self) -> "ConnectionWatch":
        self.connection = stack.mysql_root()
        self.sample()
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(timeout=10)
        self.connection.close()

    def _watch(self) -> None:
        while not self.stop.wait(0.1):
            try:
                self.sample()
            except Exception as error:  # noqa: BLE001 - a missed sample under load is no reason to stop the run
                self.missed.append(repr(error)[:200])

    def sample(self) -> None:
        users = [*self.miniplex_users, self.solo_user]
        with self.query_lock:  # the watcher thread and the runner both sample, on one connection
            cursor = self.connection.cursor()
            cursor.execute(
                "SELECT USER, COALESCE(DB, ''), COUNT(*) FROM information_schema.PROCESSLIST "
                f"WHERE USER IN ({', '.join(['%s'] * len(users))}) GROUP BY USER, DB",
                users,
            )
            rows = cursor.fetchall()
        latest = {(user, db): int(count) for user, db, count in rows}
        with self.lock:
            self.latest = latest
            for side, count in self._sides(latest).items():
                self.peaks[side] = max(self.peaks.get(side, 0), count)
            for (user, db), count in latest.items():
                if user == self.solo_user:
                    self.solo_db_peaks[db] = max(self.solo_db_peaks.get(db, 0), count)

    def _sides(self, latest: dict[tuple[str, str], int]) -> dict[str, int]:
        return {
            "miniplex": sum(n for (user, _), n in latest.items() if user in self.miniplex_users),
            "deployments": sum(n for (user, _), n in latest.items() if user == self.solo_user),
        }

    def reset_peaks(self) -> None:
        with self.lock:
            self.peaks, self.solo_db_peaks = {}, {}

    def open_now(self) -> dict[str, int]:
        self.sample()
        with self.lock:
            return self._sides(self.latest)

    def by_user(self) -> dict[str, int]:
        """Connections open now per MySQL user (Miniplex's runtime and control users apart)."""
        self.sample()
        with self.lock:
            counts: dict[str, int] = {}
            for (user, _), count in self.latest.items():
                counts[user] = counts.get(user, 0) + count
        return counts

    def solo_open(self, databases: list[str]) -> tuple[int, int]:
        """The deployments' connections to these databases: open now, and the peak since reset_peaks."""
        self.sample()
        with self.lock:
            now = sum(n for (user, db), n in self.latest.items() if user == self.solo_user and db in databases)
            peak = sum(self.solo_db_peaks.get(db, 0) for db in databases)
        return now, peak


@contextmanager
def room_for_connections(wanted: int) -> Iterator[dict[str, int]]:
    """MariaDB's max_connections raised to `wanted` for the block (and set back after): 50 deployments with a pool
    each, beside Miniplex and whatever else uses the shared server, open more than the default 151."""
    ((before,),) = stack.mysql_rows("SELECT @@GLOBAL.max_connections")
    before = int(before)
    if before >= wanted:
        yield {"before": before, "during": before}
        return
    stack.mysql_rows(f"SET GLOBAL max_connections = {int(wanted)}")
    try:
        yield {"before": before, "during": wanted}
    finally:
        stack.mysql_rows(f"SET GLOBAL max_connections = {before}")


# --- the deployments ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Deployment:
    index: int
    app_id: str
    db_name: str


def tenant_databases(ns: Namespace, app_ids: list[str]) -> dict[str, str]:
    placeholders = ", ".join(["%s"] * len(app_ids))
    rows = stack.mysql_rows(
        f"SELECT app_id, db_name FROM `{ns.control_db}`.tenants_tenant WHERE app_id IN ({placeholders})",
        tuple(app_ids),
    )
    return dict(rows)


def solo_env(env: dict[str, str], ns: Namespace, deployment: Deployment) -> dict[str, str]:
    """A deployment's environment: Miniplex's, on the single-tenant settings, its own database, 1 worker."""
    user = ns.user("solo")
    return {
        **env,
        "DJANGO_SETTINGS_MODULE": "benchmarks.apps.solo_settings",
        "SOLO_DATABASE_URL": f"mysql://{user}:{user}@127.0.0.1:3306/{deployment.db_name}",
        "SOLO_APP_ID": deployment.app_id,
        "GUNICORN_WORKERS": "1",
        "GUNICORN_PROC_NAME": f"solo-{deployment.index}",
        # Its own cache keys (throttle counts), under the namespace's prefix so that --cleanup removes them.
        "CACHE_KEY_PREFIX": f"{ns.key_prefix}:solo{deployment.index}",
    }


@contextmanager
def running_deployments(
    env: dict[str, str], ns: Namespace, workdir: Path, deployments: list[Deployment], *, batch: int
) -> Iterator[list[Gunicorn]]:
    """One gunicorn per deployment (the shipped config, 1 worker), started `batch` at a time; all stopped at the
    end (TERM to every one first, so their graceful stops overlap)."""
    servers: list[Gunicorn] = []
    used_ports: set[int] = set()
    with ExitStack() as running:
        try:
            for start in range(0, len(deployments), batch):
                group = []
                for deployment in deployments[start : start + batch]:
                    port = free_port()
                    while port in used_ports:
                        port = free_port()
                    used_ports.add(port)
                    label = f"solo-{deployment.index}"
                    access_log = workdir / f"access-{label}.log"
                    process_env = {
                        **solo_env(env, ns, deployment),
                        "GUNICORN_BIND": f"127.0.0.1:{port}",
                        "GUNICORN_ACCESS_LOG": str(access_log),
                        "GUNICORN_ERROR_LOG": str(workdir / f"error-{label}.log"),
                    }
                    argv = [stack.PYTHON, "-m", "gunicorn", "-c", str(stack.SHIPPED_GUNICORN_CONF)]
                    process = running.enter_context(
                        stack.child(argv, env=process_env, log=workdir / f"gunicorn-{label}.out")
                    )
                    group.append(Gunicorn(label=label, port=port, process=process, access_log=access_log))
                for server in group:
                    error_log = workdir / f"error-{server.label}.log"
                    stack.wait_until_answers(server.url("/healthz"), process=server.process, seconds=180, log=error_log)
                servers += group
            yield servers
        finally:
            for server in servers:
                if server.process.poll() is None:
                    server.process.send_signal(signal.SIGTERM)


# --- nginx in front of both -----------------------------------------------------------------------------------
def two_sided_site(
    workdir: Path, miniplex_port: int, miniplex_front: int, solo_front: int, solo: dict[str, int]
) -> str:
    """The shipped site for Miniplex, and its server block again for the deployments, routed by X-AppID."""
    site = fill_nginx_site(workdir, listen_port=miniplex_front, gunicorn_port=miniplex_port, log_dir=workdir)
    server_block = site[site.index("\nserver {") :]
    shipped_upstream = site[
        site.index("upstream miniplex_app {") : site.index("}", site.index("upstream miniplex_app"))
    ]
    keepalive = [line.strip() for line in shipped_upstream.splitlines() if line.strip().startswith("keepalive")]
    upstreams = []
    for number, (app_id, port) in enumerate(solo.items(), start=1):
        body = " ".join([f"server 127.0.0.1:{port} max_fails=0;", *keepalive])
        upstreams.append(f"upstream solo_{number} {{ {body} }}  # {app_id}\n")
    mapping = ["map $http_x_appid $solo_upstream {\n    default solo_unknown;\n"]
    mapping += [f"    {app_id} solo_{number};\n" for number, app_id in enumerate(solo, start=1)]
    mapping.append("}\n")
    # An AppID of no deployment: nothing listens on port 9 (discard), so nginx answers its JSON 502.
    unknown = "upstream solo_unknown { server 127.0.0.1:9 max_fails=0; }\n"
    solo_server = (
        server_block.replace(f"listen 127.0.0.1:{miniplex_front};", f"listen 127.0.0.1:{solo_front};")
        .replace("proxy_pass http://miniplex_app;", "proxy_pass http://$solo_upstream;")
        .replace("miniplex.access.log", "solo.access.log")
    )
    if solo_server.count("$solo_upstream") != server_block.count("miniplex_app"):
        raise RuntimeError("deploy/nginx/miniplex.conf changed: its proxy_pass lines were not found")
    return (
        site
        + "\n# The single-tenant deployments, one upstream each.\n"
        + "".join(upstreams + mapping)
        + unknown
        + solo_server
    )


@contextmanager
def running_front(workdir: Path, miniplex_port: int, solo: dict[str, int]) -> Iterator[dict[str, int]]:
    """nginx with both sites; {"miniplex": port, "deployments": port}."""
    fronts = {"miniplex": free_port(), "deployments": free_port()}
    site = workdir / "nginx-consolidation.conf"
    site.write_text(two_sided_site(workdir, miniplex_port, fronts["miniplex"], fronts["deployments"], solo))
    config = workdir / "nginx.conf"
    config.write_text(
        nginx_main_config(
            workdir, site, log_dir=workdir, worker_processes="auto", worker_connections=8192, rlimit_nofile=16384
        )
    )
    ports = list(fronts.values())
    ready = lambda process: all(nginx_answers(process, port, workdir) for port in ports)  # noqa: E731
    with running_nginx_config(config, ready=ready, output=workdir / "nginx.out", what="nginx (consolidation)"):
        yield fronts


# --- the load -----------------------------------------------------------------------------------------------
def zipf_weights(count: int, exponent: float = ZIPF_EXPONENT) -> list[float]:
    raw = [1 / rank**exponent for rank in range(1, count + 1)]
    total = sum(raw)
    return [weight / total for weight in raw]


def spread_lines(app_ids: list[str], tokens: dict[str, str], endpoint: str, distribution: str) -> list[str]:
    """wrk's list: one "APPID TOKEN" line per request slot, uniform (each tenant once) or Zipf (by rank, at least
    one line each), shuffled with a fixed seed so the busy tenants' requests interleave with the others'."""
    if distribution == "uniform":
        chosen = list(app_ids)
    else:
        counts = [max(1, round(weight * SPREAD_LINES)) for weight in zipf_weights(len(app_ids))]
        chosen = [app_id for app_id, n in zip(app_ids, counts, strict=True) for _ in range(n)]
        random.Random(19).shuffle(chosen)
    return [f"{app_id} {tokens[app_id] if endpoint == '/me' else '-'}\n" for app_id in chosen]


def write_spread(workdir: Path, lines: list[str], name: str) -> Path:
    path = workdir / f"spread-{name}.txt"
    path.write_text("".join(lines))
    return path


def _wrk(url: str, concurrency: int, seconds: float, spread: Path) -> dict:
    result, _ = run_wrk(url, concurrency, seconds, spread_file=spread)
    data = result.as_dict()
    return {key: data[key] for key in ("requests", "rps", "mean_ms", "p50_ms", "p99_ms", "failures", "error")}


# --- the run ------------------------------------------------------------------------------------------------
class Consolidation:
    """Runs the comparison on a running Miniplex (and its tokens); `data` is what the report is made from."""

    def __init__(self, plan: Plan, ns: Namespace, workdir: Path, env: dict[str, str], tokens: dict[str, str]) -> None:
        self.plan, self.ns, self.workdir, self.env, self.tokens = plan, ns, workdir, env, tokens
        self.app_ids = [bench_app_id(i) for i in range(1, plan.tenants + 1)]
        self.data: dict[str, Any] = {"plan": plan.__dict__, "zipf_exponent": ZIPF_EXPONENT, "runs": [], "chart": []}

    def log(self, message: str) -> None:
        print(f"[{datetime.now(UTC):%H:%M:%S}] consolidation: {message}", flush=True)

    def run(self, miniplex: Gunicorn) -> dict[str, Any]:
        databases = tenant_databases(self.ns, self.app_ids)
        deployments = [Deployment(i, app_id, databases[app_id]) for i, app_id in enumerate(self.app_ids, start=1)]
        self.dbs = [d.db_name for d in deployments]
        started = time.monotonic()
        with (
            room_for_connections(MYSQL_MAX_CONNECTIONS) as limits,
            running_deployments(self.env, self.ns, self.workdir, deployments, batch=self.plan.start_batch) as solo,
            ConnectionWatch(self.ns) as watch,
        ):
            self.data["mysql_max_connections"] = limits
            self.data["deployments_start_seconds"] = time.monotonic() - started
            self.log(f"{len(solo)} deployments started in {self.data['deployments_start_seconds']:.0f} s")
            self.data["idle"] = self.measure(miniplex, solo, watch)
            self.log(f"idle, before any request: {self.data['idle']}")
            ports = {server_app_id: server.port for server_app_id, server in zip(self.app_ids, solo, strict=True)}
            with running_front(self.workdir, miniplex.port, ports) as fronts:
                self.fronts = fronts
                if self.plan.chart_seconds:
                    self.chart_sweep(miniplex, solo, watch)
                self.warm_up()
                self.rounds(miniplex, solo, watch)
            self.data["after"] = self.measure(miniplex, solo, watch)
        self.data["summary"] = summarize(self.data)
        return self.data

    def measure(self, miniplex: Gunicorn, solo: list[Gunicorn], watch: ConnectionWatch) -> dict:
        open_now = watch.open_now()
        return {
            "miniplex": {**footprint([miniplex]), "mysql_open": open_now["miniplex"]},
            "deployments": {**footprint(solo), "mysql_open": open_now["deployments"]},
            "mysql_open_by_user": watch.by_user(),
        }

    def url(self, side: str, endpoint: str) -> str:
        return f"http://127.0.0.1:{self.fronts[side]}{ENDPOINTS[endpoint]}"

    def warm_up(self) -> None:
        """A few requests per tenant and endpoint on both sides (the first request of a process loads its code)."""
        lines = {e: spread_lines(self.app_ids, self.tokens, e, "uniform") for e in ENDPOINTS}
        for endpoint, rows in lines.items():
            spread = write_spread(self.workdir, rows, f"warm-{endpoint.strip('/')}")
            for side in SIDES:
                _wrk(self.url(side, endpoint), min(self.plan.concurrency, len(self.app_ids)), 2, spread)

    def chart_sweep(self, miniplex: Gunicorn, solo: list[Gunicorn], watch: ConnectionWatch) -> None:
        """/me over the first N tenants (N = 1, 5, 10, 20, 50) on each side, in growing N; after each, the memory
        and MySQL connections of Miniplex and of the first N deployments (the ones a team with N would run)."""
        counts = sorted({n for n in CHART_COUNTS if n < self.plan.tenants} | {self.plan.tenants})
        for count in counts:
            spread = write_spread(
                self.workdir, spread_lines(self.app_ids[:count], self.tokens, "/me", "uniform"), f"chart-{count}"
            )
            row: dict[str, Any] = {"tenants": count}
            for side in SIDES:
                watch.reset_peaks()
                run = _wrk(self.url(side, "/me"), self.plan.concurrency, self.plan.chart_seconds, spread)
                if side == "miniplex":
                    now = watch.open_now()["miniplex"]
                    row[side] = {**footprint([miniplex]), "mysql_open": now, "mysql_peak": watch.peaks.get(side, 0)}
                else:
                    now, peak = watch.solo_open(self.dbs[:count])
                    row[side] = {**footprint(solo[:count]), "mysql_open": now, "mysql_peak": peak}
                row[side]["rps"] = run["rps"]
            self.data["chart"].append(row)
            self.log(f"chart, {count} tenants: {row}")

    def rounds(self, miniplex: Gunicorn, solo: list[Gunicorn], watch: ConnectionWatch) -> None:
        spreads = {
            (distribution, endpoint): write_spread(
                self.workdir,
                spread_lines(self.app_ids, self.tokens, endpoint, distribution),
                f"{distribution}-{endpoint.strip('/')}",
            )
            for distribution in DISTRIBUTIONS
            for endpoint in ENDPOINTS
        }
        for round_index in range(self.plan.rounds):
            # Which side goes first alternates, so neither always runs on a machine just warmed by the other.
            sides = SIDES if round_index % 2 == 0 else SIDES[::-1]
            for (distribution, endpoint), spread in spreads.items():
                for side in sides:
                    watch.reset_peaks()
                    run = _wrk(self.url(side, endpoint), self.plan.concurrency, self.plan.seconds, spread)
                    servers = [miniplex] if side == "miniplex" else solo
                    record = {
                        "round": round_index,
                        "distribution": distribution,
                        "endpoint": endpoint,
                        "side": side,
                        **run,
                        "mysql_peak": watch.peaks.get(side, 0),
                        **footprint(servers),
                        "load": [round(value, 2) for value in os.getloadavg()],
                    }
                    self.data["runs"].append(record)
                    self.log(
                        f"round {round_index + 1} {distribution} {endpoint} {side}: {run['rps']:.0f} req/s, "
                        f"p50 {run['p50_ms']:.1f} ms, p99 {run['p99_ms']:.1f} ms, errors {run['failures']}, "
                        f"MySQL peak {record['mysql_peak']}, RSS {record['rss_kib'] / 1024:.0f} MiB"
                        + (f", wrk: {run['error']}" if run["error"] else "")
                    )
                    time.sleep(1)


# --- the figures ----------------------------------------------------------------------------------------------
def _ratio(top: float, bottom: float) -> float | None:
    return top / bottom if bottom else None


def verdict(value: float | None, goal: float, *, at_most: bool) -> str:
    if value is None:
        return "not measured"
    if (value <= goal) if at_most else (value >= goal):
        return "met"
    return f"missed ({(value / goal - 1) * 100:+.0f}% from the goal)"


def summarize(data: dict) -> list[dict]:
    """The goals' rows: ratio Miniplex / deployments, with both figures and the verdict."""
    rows = []
    runs = data["runs"]
    every = [*runs, *(dict(side=s, **row[s]) for row in data.get("chart", []) for s in SIDES)]
    rss = {side: max(r["rss_kib"] for r in every if r["side"] == side) for side in SIDES}
    pss = {side: max(r["pss_kib"] for r in every if r["side"] == side) for side in SIDES}
    conns = {side: max(r["mysql_peak"] for r in every if r["side"] == side) for side in SIDES}
    rows.append(_row("total RSS (peak), all processes", "rss", rss, "MiB", scale=1 / 1024))
    rows.append(_row("total PSS (peak; shared pages counted once)", "rss", pss, "MiB", scale=1 / 1024))
    rows.append(_row("MySQL connections open (peak)", "connections", conns, ""))
    after = data.get("after")
    if after:
        open_after = {side: after[side]["mysql_open"] for side in SIDES}
        rows.append(_row("MySQL connections open after the load", "connections", open_after, ""))
    for distribution in DISTRIBUTIONS:
        for endpoint in ENDPOINTS:
            chosen = [r for r in runs if r["distribution"] == distribution and r["endpoint"] == endpoint]
            if not chosen:
                continue
            rps = {side: statistics.median(r["rps"] for r in chosen if r["side"] == side) for side in SIDES}
            p99 = {side: statistics.median(r["p99_ms"] for r in chosen if r["side"] == side) for side in SIDES}
            rows.append(_row(f"req/s, {endpoint}, {distribution}", "rps", rps, "req/s"))
            rows.append(_row(f"p99, {endpoint}, {distribution}", "p99", p99, "ms"))
    return rows


def _row(name: str, goal_key: str, values: dict[str, float], unit: str, *, scale: float = 1.0) -> dict:
    at_most = goal_key != "rps"
    ratio = _ratio(values["miniplex"], values["deployments"])
    return {
        "measure": name,
        "miniplex": values["miniplex"] * scale,
        "deployments": values["deployments"] * scale,
        "unit": unit,
        "ratio": ratio,
        "goal": f"{'<=' if at_most else '>='} {GOALS[goal_key]}x",
        "verdict": verdict(ratio, GOALS[goal_key], at_most=at_most),
    }


def markdown(data: dict, chart: str | None) -> str:
    plan, machine = data["plan"], data["machine"]
    limits = data.get("mysql_max_connections") or {}
    lines = [
        f"# Consolidation: {plan['tenants']} mini-programs, one Miniplex against one deployment each "
        f"({data['started'][:10]})",
        "",
        f"Machine: {machine['cpu_count']} x {machine['cpu_model']}, {machine['memory_gib']} GiB, shared; load average "
        f"before {data['load_before']}, after {data['load_after']}. Commit `{data.get('commit', '?')}`. "
        f"{data['started']} to {data['finished']}.",
        "",
        f"- **Miniplex**: one gunicorn, the shipped config (gevent, {data['settings'].get('GUNICORN_WORKERS')} "
        "workers, "
        f"PyMySQL, pool {data['settings'].get('DB_POOL_SIZE')} per alias and worker), {plan['tenants']} tenants.",
        f"- **Deployments**: {plan['tenants']} gunicorns, the same config with 1 worker each, the same code with "
        "tenancy off (benchmarks/apps/solo_settings.py), each on its own database (the tenant's), its own MySQL user.",
        f"- One nginx (the shipped site for each side; the deployments' routed by X-AppID), wrk with "
        f"{plan['concurrency']} keep-alive clients, {plan['seconds']:g} s per run, {plan['rounds']} interleaved "
        f"rounds (medians); uniform over the tenants and Zipf (s = {data['zipf_exponent']}: the busiest tenant "
        f"{zipf_weights(plan['tenants'])[0] * 100:.0f}% of the requests).",
        f"- Starting the {plan['tenants']} deployments took {data.get('deployments_start_seconds', 0):.0f} s. "
        f"MariaDB's max_connections: {limits.get('before', '?')}, raised to {limits.get('during', '?')} for the run.",
        "",
        "## Against the goals (Miniplex / deployments)",
        "",
        "| measure | Miniplex | deployments | ratio | goal | verdict |",
        "|---|---:|---:|---:|---|---|",
    ]
    for row in data["summary"]:
        ratio = "n/a" if row["ratio"] is None else f"{row['ratio']:.3f}x"
        unit = f" {row['unit']}" if row["unit"] else ""
        lines.append(
            f"| {row['measure']} | {row['miniplex']:.1f}{unit} | {row['deployments']:.1f}{unit} | {ratio} "
            f"| {row['goal']} | **{row['verdict']}** |"
        )
    idle = data.get("idle")
    if idle:
        lines += [
            "",
            "Idle, after start and before any request: Miniplex "
            f"{idle['miniplex']['rss_kib'] / 1024:.0f} MiB RSS in {idle['miniplex']['processes']} processes, "
            f"{idle['miniplex']['mysql_open']} MySQL connections; deployments "
            f"{idle['deployments']['rss_kib'] / 1024:.0f} MiB in {idle['deployments']['processes']} processes, "
            f"{idle['deployments']['mysql_open']} connections.",
        ]
    after = data.get("after")
    if after and after.get("mysql_open_by_user"):
        users = ", ".join(f"{user} {count}" for user, count in sorted(after["mysql_open_by_user"].items()))
        lines += ["", f"MySQL connections open after the load, by MySQL user: {users}."]
    if chart:
        lines += ["", "## Memory and connections by the number of tenants", "", f"![consolidation]({chart})", ""]
        lines += [
            "| tenants | Miniplex RSS | deployments RSS | Miniplex MySQL peak | deployments MySQL peak "
            "| Miniplex /me req/s | deployments /me req/s |",
            "|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for row in data["chart"]:
            m, d = row["miniplex"], row["deployments"]
            lines.append(
                f"| {row['tenants']} | {m['rss_kib'] / 1024:.0f} MiB | {d['rss_kib'] / 1024:.0f} MiB "
                f"| {m['mysql_peak']} | {d['mysql_peak']} | {m['rps']:.0f} | {d['rps']:.0f} |"
            )
    lines += ["", "## Every run", "", "| round | spread | endpoint | side | req/s | p50 ms | p99 ms | errors "
              "| MySQL peak | RSS MiB | load |", "|---:|---|---|---|---:|---:|---:|---|---:|---:|---|"]  # fmt: skip
    for run in data["runs"]:
        errors = sum(run["failures"].values())
        lines.append(
            f"| {run['round'] + 1} | {run['distribution']} | {run['endpoint']} | {run['side']} | {run['rps']:.0f} "
            f"| {run['p50_ms']:.1f} | {run['p99_ms']:.1f} | {errors} | {run['mysql_peak']} "
            f"| {run['rss_kib'] / 1024:.0f} | {run['load'][0]:.1f} |"
        )
    return "\n".join(lines) + "\n"


def chart_png(data: dict, directory: Path, name: str) -> str | None:
    if not data.get("chart"):
        return None
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    rows = data["chart"]
    counts = [row["tenants"] for row in rows]
    figure, (memory, connections) = plt.subplots(1, 2, figsize=(10, 4))
    labels = {"miniplex": "one Miniplex fleet (2 workers)", "deployments": "one deployment per mini-program"}
    for side, style in (("miniplex", "o-"), ("deployments", "s--")):
        memory.plot(counts, [row[side]["rss_kib"] / 1024 for row in rows], style, label=labels[side])
        connections.plot(counts, [row[side]["mysql_peak"] for row in rows], style, label=labels[side])
    memory.set_ylabel("resident memory, all processes (MiB)")
    connections.set_ylabel("MySQL connections open (peak)")
    for axes in (memory, connections):
        axes.set_xlabel("mini-programs (tenants) served")
        axes.set_xticks(counts)
        axes.grid(True, alpha=0.3)
        axes.legend(fontsize=8)
    figure.suptitle(
        f"Consolidation on {data['machine']['cpu_count']} cores: /me with {data['plan']['concurrency']} clients"
    )
    from benchmarks import report

    return report._save_chart(plt, figure, directory, name)  # the sweep's charts' size and resolution


def write_report(data: dict, directory: Path, prefix: str) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    chart = chart_png(data, directory, f"{prefix}.png")
    (directory / f"{prefix}.json").write_text(json.dumps(data, indent=1, default=str) + "\n")
    (directory / f"{prefix}.md").write_text(markdown(data, chart))
    return [directory / f"{prefix}.md", directory / f"{prefix}.json", *([directory / chart] if chart else [])]


# --- the command ----------------------------------------------------------------------------------------------
def git_commit() -> str:
    completed = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=stack.BASE_DIR, capture_output=True, text=True, check=False
    )
    return completed.stdout.strip() or "?"


def plan_from(args: argparse.Namespace) -> Plan:
    if args.mode == "smoke":
        return Plan(tenants=3, rounds=1, seconds=1, concurrency=4, chart_seconds=1, start_batch=3)
    defaults = Plan()
    return Plan(
        tenants=args.tenants or defaults.tenants,
        rounds=args.rounds or defaults.rounds,
        seconds=args.seconds or defaults.seconds,
    )


def main(args: argparse.Namespace) -> int:
    from benchmarks import report
    from benchmarks.run import prepared_miniplex, wait_for_load

    plan = plan_from(args)
    ns = Namespace(args.namespace)
    load_before = wait_for_load(args.max_load, args.max_wait)
    stamp = datetime.now(UTC)
    workdir = args.workdir or Path(f"/tmp/miniplex-consolidation-{stamp:%Y%m%d-%H%M%S}-{os.getpid()}")  # noqa: S108
    workdir.mkdir(parents=True, exist_ok=True)
    print(f"consolidation ({plan}) in {workdir}; load average {load_before}", flush=True)
    with prepared_miniplex(args, ns, workdir, tenants=plan.tenants) as (bench, miniplex):
        data = Consolidation(plan, ns, workdir, bench.env, bench.tokens).run(miniplex)
        settings = bench.settings
    data.update(
        started=stamp.isoformat(timespec="seconds"),
        finished=datetime.now(UTC).isoformat(timespec="seconds"),
        load_before=load_before,
        load_after=[round(value, 2) for value in os.getloadavg()],
        machine=report.machine_info(),
        settings=settings,
        commit=git_commit(),
    )
    prefix = f"{stamp:%Y-%m-%d}-consolidation" + ("-smoke" if args.mode == "smoke" else "")
    paths = write_report(data, args.results_dir, prefix)
    print((args.results_dir / f"{prefix}.md").read_text())
    print("report: " + ", ".join(str(path) for path in paths), flush=True)
    return 0
