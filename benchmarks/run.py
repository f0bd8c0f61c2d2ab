"""One command for the whole benchmark: `python -m benchmarks [--quick | --smoke] [--cleanup]`.

It starts the shipped stack (gunicorn with deploy/gunicorn.conf.py: gevent workers, PyMySQL, the per-process
pool; directly and behind nginx with deploy/nginx/miniplex.conf) on the local MariaDB and Redis, makes its
tenants (created once, reused by later runs) and users (logged in through the fake WeChat server), runs every
scenario with ab and wrk, and writes a dated Markdown report, its data (JSON) and PNG charts under
benchmarks/results/. `--cleanup` drops the benchmark's databases, MySQL users and Redis keys instead.
"""

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import requests

from benchmarks import report, stack
from benchmarks.load import AccessLog, run_ab, run_wrk
from benchmarks.provision import app_secret, bench_app_id
from benchmarks.stack import Gunicorn, Namespace
from benchmarks.stats import redis_monitor, userstat_enable, watching_mysql

RESULTS_DIR = Path(__file__).with_name("results")
PING, ME, SLOW = "/api/v1/ping", "/api/v1/me", "/bench/slow"


@dataclass(frozen=True)
class Mode:
    name: str
    concurrencies: tuple[int, ...]
    ab_seconds: float
    ab_count: int  # ab -n max(C, ab_count)
    wrk_seconds: float
    matrix_concurrencies: tuple[int, ...]
    matrix_tools: tuple[str, ...]
    matrix: tuple[tuple[str, str], ...]  # (worker class, driver)
    tenant_counts: tuple[int, ...]
    tenant_concurrencies: tuple[int, ...]
    jobs: int
    # The targets' ratios: the scenarios they compare, run in turn (interleaved) this many times, medians taken,
    # so that a burst of other work on the shared machine does not land on one side of a ratio only.
    rounds: int
    round_seconds: float
    round_concurrency: int
    sample_requests: int = 200
    length_demo_requests: int = 2000
    profile_requests: int = 1000
    tools: tuple[str, ...] = ("ab -t", "ab -n", "wrk")


ALL_TOOLS = ("ab -t", "ab -n", "wrk")
MATRIX = (("gevent", "pymysql"), ("gevent", "mysqlclient"), ("gthread", "mysqlclient"), ("sync", "mysqlclient"))
FULL_C = (1, 10, 50, 100, 200, 500, 1000)
MODES = {
    "full": Mode(
        name="full",
        concurrencies=FULL_C,
        ab_seconds=10,
        ab_count=2000,
        wrk_seconds=10,
        matrix_concurrencies=FULL_C,
        matrix_tools=ALL_TOOLS,
        matrix=MATRIX,
        tenant_counts=(1, 10, 100, 1000),
        tenant_concurrencies=FULL_C,
        jobs=1000,
        rounds=5,
        round_seconds=10,
        round_concurrency=50,
        sample_requests=500,
    ),
    "quick": Mode(
        name="quick",
        concurrencies=(1, 10, 50, 200, 1000),
        ab_seconds=3,
        ab_count=1000,
        wrk_seconds=3,
        matrix_concurrencies=(10, 50, 200),
        matrix_tools=("wrk",),
        matrix=MATRIX,
        tenant_counts=(1, 10, 100, 1000),
        tenant_concurrencies=(50,),
        jobs=200,
        rounds=5,
        round_seconds=5,
        round_concurrency=50,
    ),
    "smoke": Mode(
        name="smoke",
        concurrencies=(2,),
        ab_seconds=1,
        ab_count=20,
        wrk_seconds=1,
        matrix_concurrencies=(2,),
        matrix_tools=("wrk",),
        matrix=(("sync", "mysqlclient"),),
        tenant_counts=(1, 2),
        tenant_concurrencies=(2,),
        jobs=5,
        rounds=1,
        round_seconds=1,
        round_concurrency=2,
        sample_requests=10,
        length_demo_requests=50,
        profile_requests=20,
    ),
}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.split("\n\n")[0])
    chosen = parser.add_mutually_exclusive_group()
    chosen.add_argument(
        "--quick", action="store_const", const="quick", dest="mode", help="fewer concurrencies, 3 s runs"
    )
    chosen.add_argument("--smoke", action="store_const", const="smoke", dest="mode", help="seconds-long run (tests)")
    parser.set_defaults(mode="full")
    chosen.add_argument(
        "--targets",
        action="store_const",
        const="targets",
        dest="mode",
        help="only the target ratios, in interleaved rounds (a few minutes): the table with met / missed",
    )
    chosen.add_argument(
        "--consolidation",
        action="store_const",
        const="consolidation",
        dest="mode",
        help="50 tenants on one Miniplex against 50 single-tenant deployments (benchmarks/consolidation.py)",
    )
    parser.add_argument(
        "--smoke-of", choices=("targets", "consolidation"), help="with --smoke: a seconds-long run of that command"
    )
    parser.add_argument("--rounds", type=int, default=None, help="--targets, --consolidation: interleaved rounds")
    parser.add_argument("--seconds", type=float, default=None, help="--targets, --consolidation: seconds per run")
    parser.add_argument(
        "--with-profiles", action="store_true", help="--targets: py-spy profiles of /me and ping under load too"
    )
    parser.add_argument("--tenants", type=int, default=None, help="--consolidation: tenants (default 50)")
    parser.add_argument("--cleanup", action="store_true", help="drop the benchmark's databases, users and keys; exit")
    parser.add_argument("--namespace", default="bench", help="names of databases/users/keys: mp_<namespace>_*")
    parser.add_argument("--results-dir", type=Path, default=RESULTS_DIR)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1, help="gunicorn workers (GUNICORN_WORKERS)")
    parser.add_argument("--pool-size", type=int, default=8, help="DB_POOL_SIZE per alias and gevent worker (master: 8)")
    parser.add_argument("--provision-parallel", type=int, default=2)
    parser.add_argument("--max-load", type=float, default=None, help="wait while the 1-min load is above this")
    parser.add_argument("--max-wait", type=float, default=600, help="seconds to wait for --max-load at most")
    parser.add_argument(
        "--skip", action="append", default=[], help="skip a part: matrix, nginx, tenants, jobs, profile"
    )
    parser.add_argument("--workdir", type=Path, default=None, help="logs and configs (default: a new /tmp dir)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    ns = Namespace(args.namespace)
    if args.cleanup:
        print(f"dropped {stack.drop_namespace(ns)} database(s) of {ns.db_prefix}*, its users and Redis keys")
        return 0
    if args.mode in ("targets", "consolidation") or args.smoke_of:
        # Those build on this module's stack (prepared_miniplex): benchmarks/__main__.py runs them.
        raise SystemExit(f"run it as `python -m benchmarks --{args.smoke_of or args.mode}`")
    mode = MODES[args.mode]
    # A TERM (a timeout, a supervisor) unwinds like Ctrl-C, so every server started here is stopped in `finally`.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    stack.ensure_tools()
    load_before = wait_for_load(args.max_load, args.max_wait)
    stamp = datetime.now(UTC)
    workdir = args.workdir or Path(f"/tmp/miniplex-bench-{stamp:%Y%m%d-%H%M%S}-{os.getpid()}")  # noqa: S108
    workdir.mkdir(parents=True, exist_ok=True)
    print(f"benchmark ({mode.name}) in {workdir}; load average {load_before}", flush=True)
    bench = Bench(args, mode, ns, workdir)
    userstat_enable()
    bench.run()
    data = {
        "mode": mode.__dict__,
        "started": stamp.isoformat(timespec="seconds"),
        "finished": datetime.now(UTC).isoformat(timespec="seconds"),
        "load_before": load_before,
        "load_after": list(os.getloadavg()),
        "machine": report.machine_info(),
        "settings": bench.settings,
        "runs": bench.runs,
        "samples": bench.samples,
        "provisioning": bench.provisioning,
        "logins": bench.logins,
        "jobs": bench.jobs,
        "jobs_fork_cost": bench.jobs_fork_cost,
        "length_demo": bench.length_demo,
        "profile": bench.profile,
        "server_errors": server_errors(workdir),
        "skipped": args.skip,
    }
    paths = report.write(data, args.results_dir, stamp)
    print("report: " + ", ".join(str(path) for path in paths), flush=True)
    return 0


_EXCEPTION_LINE = re.compile(r"^([a-z_]+(?:\.[a-z_]+)*\.[A-Z]\w*(?:Error|Exception|Interrupted)\w*): ?(.*)$")


def server_errors(workdir: Path) -> dict[str, dict[str, int]]:
    """The exceptions the servers wrote to their logs (gunicorn's output), counted: evidence for any 5xx."""
    found: dict[str, dict[str, int]] = {}
    for log in sorted(workdir.glob("gunicorn-*.out")) + sorted(workdir.glob("error-*.log")):
        counts: dict[str, int] = {}
        for line in log.read_text(errors="replace").splitlines():
            match = _EXCEPTION_LINE.match(line.strip())
            if match:
                key = f"{match.group(1)}: {match.group(2)[:120]}"
                counts[key] = counts.get(key, 0) + 1
        if counts:
            found[log.name] = counts
    return found


def wait_for_load(max_load: float | None, max_wait: float) -> list[float]:
    """Waits (polling) while the machine is busy with other work; the load average it starts with."""
    deadline = time.monotonic() + max_wait
    while max_load is not None and os.getloadavg()[0] > max_load and time.monotonic() < deadline:
        print(f"load average {os.getloadavg()[0]:.2f} > {max_load}: waiting", flush=True)
        time.sleep(15)
    return [round(value, 2) for value in os.getloadavg()]


@contextmanager
def prepared_miniplex(args: argparse.Namespace, ns: Namespace, workdir: Path, *, tenants: int) -> Iterator[tuple]:
    """The shipped stack ready for load: accounts, the fake WeChat server, `tenants` tenants (made once, reused)
    with one logged-in user each, gunicorn on the shipped config; (the Bench holding env and tokens, gunicorn)."""
    bench = Bench(args, MODES["smoke" if args.mode == "smoke" else "full"], ns, workdir)
    stack.ensure_accounts(ns)
    userstat_enable()
    with stack.running_fake_wechat(workdir) as wechat_port:
        bench.env = stack.stack_env(
            ns, wechat_port=wechat_port, pool_size=args.pool_size, GUNICORN_WORKERS=str(args.workers)
        )
        bench.settings = {k: v for k, v in bench.env.items() if k.startswith(("DB_", "API_", "GUNICORN_"))}
        bench.log("migrating the control database")
        stack.manage(bench.env, "migrate", "--noinput", "-v", "0")
        bench.provision(tenants)
        bench.register_apps(wechat_port, tenants)
        with stack.running_gunicorn("main", bench.env, workdir) as server:
            bench.settings["main"] = server.settings
            bench.login_all(server, tenants)
            yield bench, server


class Bench:
    def __init__(self, args: argparse.Namespace, mode: Mode, ns: Namespace, workdir: Path) -> None:
        self.args, self.mode, self.ns, self.workdir = args, mode, ns, workdir
        self.runs: list[dict] = []
        self.samples: dict = {}
        self.provisioning: dict = {}
        self.logins: dict = {}
        self.jobs: dict = {}
        self.jobs_fork_cost: dict = {}
        self.length_demo: dict = {}
        self.profile: dict = {}
        self.settings: dict = {}
        self.tokens: dict[str, str] = {}
        self.env: dict[str, str] = {}

    def log(self, message: str) -> None:
        print(f"[{datetime.now(UTC):%H:%M:%S}] {message}", flush=True)

    # --- the whole run -----------------------------------------------------------------------------------
    def run(self) -> None:
        max_tenants = max(self.mode.tenant_counts)
        stack.ensure_accounts(self.ns)
        with stack.running_fake_wechat(self.workdir) as wechat_port:
            self.env = stack.stack_env(
                self.ns, wechat_port=wechat_port, pool_size=self.args.pool_size, GUNICORN_WORKERS=str(self.args.workers)
            )
            self.settings = {k: v for k, v in self.env.items() if k.startswith(("DB_", "API_", "GUNICORN_"))}
            self.log("migrating the control database")
            stack.manage(self.env, "migrate", "--noinput", "-v", "0")
            self.provision(max_tenants)
            self.register_apps(wechat_port, max_tenants)
            self.main_stack(max_tenants)
            if "bare" not in self.args.skip:
                self.bare_wsgi()
            if "matrix" not in self.args.skip:
                self.worker_matrix()
            if "jobs" not in self.args.skip:
                self.jobs_benchmark()
            if "profile" not in self.args.skip:
                self.profile_me()

    def provision(self, count: int) -> None:
        self.log(f"provisioning up to {count} tenants (existing ones are reused)")
        parallel = str(self.args.provision_parallel)
        output = stack.run_module(
            self.env, "benchmarks.provision", str(count), "--parallel", parallel, timeout=3600, what="provisioning"
        )
        result = json.loads(output)
        each = sorted(result.pop("each"))
        if each:
            result.update(per_tenant_median_s=each[len(each) // 2], per_tenant_max_s=each[-1])
        self.provisioning = result
        self.log(f"provisioning: {result}")
        # The first measurement of creating them all is kept: later runs reuse the tenants and create none.
        record = self.args.results_dir / f"provisioning-{self.ns.name}-{count}.json"
        if result["created"] == count:
            record.parent.mkdir(parents=True, exist_ok=True)
            record.write_text(json.dumps({**result, "date": datetime.now(UTC).isoformat(timespec="seconds")}) + "\n")
        if record.exists():
            self.provisioning["first_creation"] = json.loads(record.read_text())

    def register_apps(self, port: int, count: int) -> None:
        from wechat.fake_server.remote import FakeWeChatControl

        control = FakeWeChatControl(f"http://127.0.0.1:{port}")
        with ThreadPoolExecutor(8) as pool:
            list(
                pool.map(
                    lambda i: control.register_app(bench_app_id(i), app_secret(bench_app_id(i))), range(1, count + 1)
                )
            )

    # --- the shipped stack: gevent + PyMySQL + pool, direct and behind nginx -----------------------------
    def main_stack(self, max_tenants: int) -> None:
        with stack.running_gunicorn("main", self.env, self.workdir) as server:
            self.log(f"gunicorn (shipped config) on {server.port}: {server.settings}")
            self.settings["main"] = server.settings
            self.login_all(server, max_tenants)
            app_id = bench_app_id(1)
            ping_headers = {"X-AppID": app_id}
            me_headers = {"X-AppID": app_id, "Authorization": f"Bearer {self.tokens[app_id]}"}
            self.query_sample(server, ping_headers, me_headers)
            self.ab_length_demo(server)
            scenarios = [
                ("baseline", "plain Django JsonResponse", "/bench/plain/django", {}),
                ("baseline", "DRF view without tenancy", "/bench/plain/drf", {}),
                ("tenant", "JSON ping", PING, ping_headers),
                ("tenant", "DB + Redis /me", ME, me_headers),
            ]
            for group, name, path, headers in scenarios:
                self.sweep(group, name, server, server.url(path), headers, via="direct")
            if "nginx" not in self.args.skip:
                with stack.running_nginx(self.workdir, server.port) as nginx_port:
                    for name, path, headers in (("JSON ping", PING, ping_headers), ("DB + Redis /me", ME, me_headers)):
                        url = f"http://127.0.0.1:{nginx_port}{path}"
                        self.sweep("nginx", name + " via nginx", server, url, headers, via="nginx")
            if "tenants" not in self.args.skip:
                self.tenant_spread(server)
            if "rounds" not in self.args.skip:
                self.ratio_rounds(server, ping_headers, me_headers)

    def login_all(self, server: Gunicorn, count: int) -> None:
        self.log(f"logging in one user per tenant ({count})")

        def login(index: int) -> tuple[str, str, float]:
            app_id = bench_app_id(index)
            started = time.perf_counter()
            response = requests.post(
                server.url("/api/v1/auth/login"), json={"code": "code-bench"}, headers={"X-AppID": app_id}, timeout=60
            )
            response.raise_for_status()
            return app_id, response.json()["token"], time.perf_counter() - started

        started = time.perf_counter()
        with ThreadPoolExecutor(8) as pool:
            done = list(pool.map(login, range(1, count + 1)))
        self.tokens = {app_id: token for app_id, token, _ in done}
        took = sorted(seconds for _, _, seconds in done)
        self.logins = {
            "users": count,
            "seconds": time.perf_counter() - started,
            "median_ms": took[len(took) // 2] * 1000,
        }

    def query_sample(self, server: Gunicorn, ping_headers: dict, me_headers: dict) -> None:
        """Sequential requests (after a warm-up) with MySQL's per-user counters and Redis MONITOR: per request."""
        count = self.mode.sample_requests
        session = requests.Session()
        for path, headers in ((PING, ping_headers), (ME, me_headers)):
            for _ in range(20):
                session.get(server.url(path), headers=headers, timeout=30).raise_for_status()
            with redis_monitor(self.ns.key_prefix) as redis_commands, watching_mysql(self.ns) as watch:
                for _ in range(count):
                    session.get(server.url(path), headers=headers, timeout=30).raise_for_status()
            self.samples[path] = {
                "requests": count,
                "mysql": {name: value / count for name, value in watch.delta.items()},
                "redis": {name: value / count for name, value in redis_commands.items()},
                "redis_total": sum(redis_commands.values()) / count,
            }
            self.log(f"per request of {path}: {self.samples[path]}")

    def ab_length_demo(self, server: Gunicorn) -> None:
        """ab against a 200 whose body length varies: its "Failed requests" are Length, gunicorn logged 200s."""
        access = AccessLog(server.access_log)
        access.mark()
        result, output = run_ab(server.url("/bench/plain/length-demo"), 10, {}, count=self.mode.length_demo_requests)
        statuses, lengths = access.since_mark()
        lines = [
            line
            for line in output.splitlines()
            if line.startswith(("Document Length", "Complete requests", "Failed", "   (", "Non-2xx"))
        ]
        self.length_demo = {
            "result": result.as_dict(),
            "ab_lines": lines,
            "statuses": dict(statuses),
            "body_lengths": dict(sorted(lengths.items(), key=lambda kv: int(kv[0]) if kv[0].isdigit() else 0)),
        }

    def spread_file(self, path: str, count: int) -> Path:
        """The wrk script's list for `count` tenants: "APPID TOKEN" (for /me) or "APPID -" per line."""
        spread = self.workdir / f"spread-{path.rsplit('/', 1)[-1]}-{count}.txt"
        app_ids = [bench_app_id(i) for i in range(1, count + 1)]
        spread.write_text("".join(f"{a} {self.tokens[a] if path == ME else '-'}\n" for a in app_ids))
        return spread

    def tenant_spread(self, server: Gunicorn) -> None:
        for path, label in ((ME, "DB + Redis /me"), (PING, "JSON ping")):
            for count in self.mode.tenant_counts:
                spread = self.spread_file(path, count)
                for concurrency in self.mode.tenant_concurrencies:
                    self.one_run(
                        "tenants",
                        f"{label}, {count} tenants",
                        server,
                        server.url(path),
                        {},
                        "wrk",
                        concurrency,
                        via="direct",
                        spread_file=spread,
                        tenants=count,
                    )

    def ratio_rounds(self, server: Gunicorn, ping_headers: dict, me_headers: dict) -> None:
        """The scenarios the targets compare, interleaved, `rounds` times (the report takes medians)."""
        most = max(self.mode.tenant_counts)
        scenarios = [
            ("DRF view without tenancy", "/bench/plain/drf", {}, None, 0),
            ("JSON ping", PING, ping_headers, None, 1),
            ("DB + Redis /me", ME, me_headers, None, 1),
            ("JSON ping, 1 tenants", PING, {}, self.spread_file(PING, 1), 1),
            (f"JSON ping, {most} tenants", PING, {}, self.spread_file(PING, most), most),
            ("DB + Redis /me, 1 tenants", ME, {}, self.spread_file(ME, 1), 1),
            (f"DB + Redis /me, {most} tenants", ME, {}, self.spread_file(ME, most), most),
        ]
        for round_index in range(self.mode.rounds):
            for name, path, headers, spread, tenants in scenarios:
                self.one_run(
                    "rounds",
                    name,
                    server,
                    server.url(path),
                    headers,
                    "wrk",
                    self.mode.round_concurrency,
                    via="direct",
                    spread_file=spread,
                    tenants=tenants,
                    round_index=round_index,
                    seconds=self.mode.round_seconds,
                )

    # --- the bare WSGI baseline ---------------------------------------------------------------------------
    def bare_wsgi(self) -> None:
        with stack.running_gunicorn(
            "bare", self.env, self.workdir, app="benchmarks.apps.bare_wsgi:application"
        ) as server:
            self.sweep("baseline", "bare WSGI", server, server.url("/"), {}, via="direct")

    # --- worker class x driver ----------------------------------------------------------------------------
    def worker_matrix(self) -> None:
        app_id = bench_app_id(1)
        headers = {"X-AppID": app_id}
        me_headers = {**headers, "Authorization": f"Bearer {self.tokens[app_id]}"}
        for worker_class, driver in self.mode.matrix:
            extra = {"BENCH_WORKER_CLASS": worker_class, "MINIPLEX_DB_DRIVER": driver}
            if worker_class == "gthread":
                extra["BENCH_THREADS"] = "8"
            if worker_class != "gevent":
                # Threads and processes keep Django's own persistent connections (one per thread) instead of a pool.
                extra.update(DB_POOL_SIZE="0", DB_CONN_MAX_AGE="60")
            label = f"{worker_class}+{driver}"
            with stack.running_gunicorn(
                label.replace("+", "-"), self.env, self.workdir, conf=stack.BENCH_GUNICORN_CONF, extra_env=extra
            ) as server:
                self.settings[label] = server.settings
                for name, path, hdrs in (
                    ("JSON ping", PING, headers),
                    ("DB + Redis /me", ME, me_headers),
                    ("slow (50 ms query)", SLOW, headers),
                ):
                    for concurrency in self.mode.matrix_concurrencies:
                        for tool in self.mode.matrix_tools:
                            self.one_run(
                                "matrix",
                                f"{label}: {name}",
                                server,
                                server.url(path),
                                hdrs,
                                tool,
                                concurrency,
                                via="direct",
                                stack_label=label,
                            )

    # --- one scenario at every concurrency, with every tool -----------------------------------------------
    def sweep(self, group: str, name: str, server: Gunicorn, url: str, headers: dict, *, via: str) -> None:
        for concurrency in self.mode.concurrencies:
            for tool in self.mode.tools:
                self.one_run(group, name, server, url, headers, tool, concurrency, via=via)

    def one_run(
        self,
        group: str,
        name: str,
        server: Gunicorn,
        url: str,
        headers: dict,
        tool: str,
        concurrency: int,
        *,
        via: str,
        spread_file: Path | None = None,
        tenants: int = 1,
        stack_label: str = "gevent+pymysql",
        round_index: int | None = None,
        seconds: float | None = None,
    ) -> None:
        access = AccessLog(server.access_log)
        access.mark()
        workers_before = set(stack.worker_pids(server.process.pid))
        with watching_mysql(self.ns) as watch:
            result = self.load(tool, url, concurrency, headers, spread_file=spread_file, seconds=seconds)
        statuses, lengths = access.since_mark()
        result.statuses = dict(statuses)
        result.body_lengths = dict(lengths.most_common(5))
        result.extra.update(_server_side_figures(server, watch, served=max(sum(statuses.values()), 1)))
        # Workers that were not there before the run: replaced by max_requests (or died) during it; at least.
        result.extra["workers_replaced"] = len(set(stack.worker_pids(server.process.pid)) - workers_before)
        record = {
            "group": group,
            "scenario": name,
            "via": via,
            "stack": stack_label,
            "tenants": tenants,
            "round": round_index,
            **result.as_dict(),
        }
        self.runs.append(record)
        self.log(_summary(record))
        time.sleep(0.5 if self.mode.name == "smoke" else 1.0)  # let sockets in TIME_WAIT and the server settle

    def load(
        self, tool: str, url: str, concurrency: int, headers: dict, *, spread_file: Path | None, seconds: float | None
    ) -> Any:
        """One load run with wrk, `ab -t` or `ab -n`; its parsed result."""
        if tool == "wrk":
            duration = seconds or self.mode.wrk_seconds
            result, _ = run_wrk(url, concurrency, duration, headers=headers, spread_file=spread_file)
        elif tool == "ab -t":
            result, _ = run_ab(url, concurrency, headers, seconds=self.mode.ab_seconds)
        else:
            result, _ = run_ab(url, concurrency, headers, count=self.mode.ab_count)
        return result

    # --- jobs ---------------------------------------------------------------------------------------------
    def jobs_benchmark(self) -> None:
        """Plain and tenant-tagged jobs in turn, `rounds` times; the median round of each kind is reported."""
        tenants = min(10, max(self.mode.tenant_counts))
        rounds: dict[str, list[dict]] = {"plain": [], "django": [], "tenant": []}
        for round_index in range(self.mode.rounds):
            for kind in rounds:
                rounds[kind].append(self.jobs_round(kind, tenants, round_index))
        for kind, measured in rounds.items():
            ordered = sorted(measured, key=lambda row: row["jobs_per_second"])
            self.jobs[kind] = {**ordered[len(ordered) // 2], "rounds": [row["jobs_per_second"] for row in measured]}
        self.jobs_fork_cost = self.fork_cost()

    def jobs_tool(self, *args: str) -> str:
        """`python -m benchmarks.jobs ARGS` in the stack's environment; its output (JSON)."""
        return stack.run_module(self.env, "benchmarks.jobs", *args, timeout=600, what=f"benchmarks.jobs {args[0]}")

    def fork_cost(self) -> dict:
        return json.loads(self.jobs_tool("forkcost", bench_app_id(1), "50"))

    def jobs_round(self, kind: str, tenants: int, round_index: int) -> dict:
        self.log(f"jobs: {self.mode.jobs} {kind} jobs (round {round_index + 1})")
        ids_file = self.workdir / f"jobs-{kind}-{round_index}.json"
        ids_file.write_text(self.jobs_tool("enqueue", kind, str(self.mode.jobs), str(tenants)))
        if kind == "plain":
            rq = str(Path(stack.PYTHON).with_name("rq"))
            argv = [rq, "worker", "--burst", "--url", self.env["REDIS_URL"], "bench-plain"]
        elif kind == "django":
            # The same process as TenantWorker's (Django loaded), with rq's own Worker and Job: what tagging costs.
            argv = [
                stack.PYTHON,
                "manage.py",
                "rqworker",
                "--burst",
                "--worker-class",
                "rq.Worker",
                "--job-class",
                "rq.job.Job",
                self.env.get("JOBS_QUEUE", "default"),
            ]
        else:
            argv = [stack.PYTHON, "manage.py", "rqworker", "--burst", self.env.get("JOBS_QUEUE", "default")]
        started = time.perf_counter()
        subprocess.run(argv, env=self.env, cwd=stack.BASE_DIR, capture_output=True, timeout=1800, check=True)
        wall = time.perf_counter() - started
        row = {
            **json.loads(self.jobs_tool("timing", str(ids_file))),
            "enqueued": self.mode.jobs,
            "worker_wall_seconds": wall,
            "tenants": tenants if kind == "tenant" else 0,
        }
        self.log(f"jobs {kind}: {row}")
        return row

    # --- a profile of /me's hot path ----------------------------------------------------------------------
    def profile_me(self) -> None:
        app_id = bench_app_id(1)
        completed = subprocess.run(
            [stack.PYTHON, "-m", "benchmarks.profile", app_id, self.tokens[app_id], str(self.mode.profile_requests)],
            env=self.env,
            cwd=stack.BASE_DIR,
            capture_output=True,
            text=True,
            timeout=600,
        )
        if completed.returncode == 0:
            self.profile = json.loads(completed.stdout)
        else:
            self.profile = {"error": completed.stderr[-2000:]}


def _server_side_figures(server: Gunicorn, watch: Any, *, served: int) -> dict:
    """What MySQL and the workers did during a run, per request where it is a count."""
    new_connections = watch.delta.get("total_connections", 0)
    statements = sum(watch.delta.get(k, 0) for k in ("select_commands", "update_commands", "other_commands"))
    return {
        "mysql_peak_connections": watch.peak_connections,
        "mysql_new_connections": new_connections,
        "mysql_new_connections_per_1k": 1000 * new_connections / served,
        "mysql_statements_per_request": statements / served,
        "worker_rss_kib": server.workers_rss_kib(),
        "load": [round(value, 2) for value in os.getloadavg()],
    }


def _summary(record: dict) -> str:
    return (
        f"{record['scenario']} [{record['via']}] {record['tool']} c={record['concurrency']}: "
        f"{record['requests']} req, {record['rps']:.0f} req/s, p50 {record['p50_ms']:.1f} ms, "
        f"p99 {record['p99_ms']:.1f} ms, failures {record['failures']}, statuses {record['statuses']}"
        + (f", error {record['error']}" if record["error"] else "")
    )


if __name__ == "__main__":
    sys.exit(main())
