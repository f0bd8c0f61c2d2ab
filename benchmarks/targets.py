"""`python -m benchmarks --targets`: only the issue's target ratios, in interleaved rounds, in a few minutes.

Not the sweep (one concurrency: 50 keep-alive clients, wrk) and not the 10,000 tenants. One stack for all of it:
the shipped Miniplex (gunicorn, deploy/gunicorn.conf.py, 2 gevent workers) directly and behind the shipped nginx;
the same DRF view without tenancy (/bench/plain/drf, in Miniplex's own processes); the single-tenant project
(benchmarks/apps/solo_settings.py) on the same gunicorn config and worker count, on tenant 1's database; the bare
WSGI app (benchmarks/apps/bare_wsgi.py) doing /me's SELECT and Redis round trip by hand, on the same config. Every
scenario runs once per round, the rounds one after the other (medians), so a burst of other work on the shared
machine lands on both sides of a ratio. Then the consolidation in its short form (50 tenants, one round) and the
jobs (benchmarks/jobs.py, PERF's rounds). The table: measured, goal, met or missed and by how much; written to
benchmarks/results/<date>-targets.{json,md}.

    python -m benchmarks --targets [--rounds 3] [--seconds 5]
    python -m benchmarks --smoke-of targets        # seconds-long, 3 tenants (tests/test_benchmarks_smoke.py)
"""

import argparse
import json
import math
import os
import statistics
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks import consolidation, stack
from benchmarks.load import run_wrk
from benchmarks.provision import bench_app_id
from benchmarks.stack import Gunicorn, Namespace

PING, ME = "/api/v1/ping", "/api/v1/me"
SPREAD_TENANTS = 1000
# --with-profiles: the scenarios py-spy samples under load.
PROFILED = ("me", "solo me", "bare me", "ping")
# (tenant-tagged kind, the plain kind, the row): benchmarks.jobs' kinds. "django" is plain RQ in the same worker
# process as TenantWorker's (`manage.py rqworker` with rq.Worker and rq.job.Job: Django loaded), the issue's "same
# worker class"; "plain" is rq's own `rq worker` without Django, the stricter comparison of the earlier sweep.
JOB_TARGETS = (
    ("tenant", "django", "jobs: tenant-tagged vs plain RQ in the same worker class (Django loaded), no outbox"),
    ("outbox", "django", "jobs: tenant-tagged through the outbox vs plain RQ in the same worker class"),
    ("tenant", "plain", "jobs: tenant-tagged vs rq's own `rq worker` (no Django), no outbox"),
    ("outbox", "plain", "jobs: tenant-tagged through the outbox vs rq's own `rq worker` (no Django)"),
)


@dataclass(frozen=True)
class TargetPlan:
    rounds: int = 3
    seconds: float = 5
    concurrency: int = 50
    consolidation_plan: consolidation.Plan = consolidation.Plan(rounds=1, seconds=5, chart_seconds=0, start_batch=5)
    jobs: int = 200
    job_rounds: int = 3
    tenants_wanted: int = SPREAD_TENANTS
    profile_seconds: float = 10  # --with-profiles


SMOKE = TargetPlan(
    rounds=1,
    seconds=1,
    concurrency=4,
    consolidation_plan=consolidation.Plan(
        tenants=3, rounds=1, seconds=1, concurrency=4, chart_seconds=0, start_batch=3
    ),
    jobs=5,
    job_rounds=1,
    tenants_wanted=3,
    profile_seconds=2,
)


@dataclass(frozen=True)
class Scenario:
    name: str
    server: str  # "miniplex", "nginx", "solo", "bare"
    path: str
    spread: Path | None = None
    headers: tuple[tuple[str, str], ...] = ()


# The targets: (row, the scenario measured, the scenario it is compared with, goal, kind). Kinds: "ratio" (req/s
# of the first over the second, at least the goal) and "tail" (p99 / p50 of the first, at most the goal).
def http_targets(spread_count: int) -> list[tuple[str, str, str | None, float, str]]:
    many = f"{spread_count} tenants"
    return [
        ("/me: Miniplex vs the same /me in a single-tenant Django+DRF app", "me", "solo me", 0.9, "ratio"),
        ("ping: Miniplex vs the same DRF view without tenancy", "ping", "drf", 0.95, "ratio"),
        ("/me: Miniplex vs bare WSGI doing the same SELECT and Redis round trip", "me", "bare me", 0.5, "ratio"),
        ("DB+Redis /me vs ping (Miniplex)", "me", "ping", 0.5, "ratio"),
        ("tail p99/p50, ping, straight to gunicorn", "ping", None, 3.0, "tail"),
        ("tail p99/p50, /me, straight to gunicorn", "me", None, 3.0, "tail"),
        ("tail p99/p50, ping, through nginx", "ping nginx", None, 3.0, "tail"),
        ("tail p99/p50, /me, through nginx", "me nginx", None, 3.0, "tail"),
        (f"ping spread over {many} vs 1 tenant", f"ping {many}", "ping 1 tenant", 0.95, "ratio"),
        (f"/me spread over {many} vs 1 tenant", f"me {many}", "me 1 tenant", 0.95, "ratio"),
    ]


def verdict(value: float | None, goal: float, *, at_most: bool) -> str:
    if value is None or not math.isfinite(value):
        return "not measured"
    if (value <= goal) if at_most else (value >= goal):
        return "met"
    short = abs(value / goal - 1) * 100
    return f"missed by {short:.0f}%" if short >= 1 else f"missed by {short:.1f}%"


def _row(target: str, value: float | None, goal: float, detail: str, *, at_most: bool = False) -> dict:
    return {
        "target": target,
        "measured": value,
        "goal": f"{'<=' if at_most else '>='} {goal:g}x",
        "verdict": verdict(value, goal, at_most=at_most),
        "detail": detail,
    }


class Targets:
    def __init__(self, plan: TargetPlan, args: argparse.Namespace, ns: Namespace, workdir: Path) -> None:
        self.plan, self.args, self.ns, self.workdir = plan, args, ns, workdir
        self.runs: list[dict] = []
        self.rows: list[dict] = []
        self.data: dict[str, Any] = {}

    def log(self, message: str) -> None:
        print(f"[{datetime.now(UTC):%H:%M:%S}] targets: {message}", flush=True)

    def run(self) -> None:
        from benchmarks.run import prepared_miniplex

        # Provisioned when missing: the schema template makes a tenant in about 40 ms (1,000 in well under a minute).
        tenants = max(self.plan.tenants_wanted, self.plan.consolidation_plan.tenants)
        spread_count = self.plan.tenants_wanted
        self.data["spread_tenants"] = spread_count
        started = time.monotonic()
        with prepared_miniplex(self.args, self.ns, self.workdir, tenants=tenants) as (bench, miniplex):
            self.env, self.tokens = bench.env, bench.tokens
            self.settings = bench.settings
            self.data["setup_seconds"] = time.monotonic() - started
            self.http_rounds(miniplex, spread_count)
            self.consolidation_short(miniplex)
            self.jobs(bench)

    # --- the HTTP ratios ------------------------------------------------------------------------------------
    def http_rounds(self, miniplex: Gunicorn, spread_count: int) -> None:
        app_id = bench_app_id(1)
        token = self.tokens[app_id]
        db_name = consolidation.tenant_databases(self.ns, [app_id])[app_id]
        solo = consolidation.Deployment(1, app_id, db_name)
        solo_env = {**consolidation.solo_env(self.env, self.ns, solo), "GUNICORN_WORKERS": str(self.args.workers)}
        user = self.ns.user("solo")
        bare_env = {
            "BARE_DATABASE_URL": f"mysql://{user}:{user}@127.0.0.1:3306/{db_name}",
            "BARE_POOL_SIZE": str(self.args.pool_size),
        }
        me_headers = (("X-AppID", app_id), ("Authorization", f"Bearer {token}"))
        ping_headers = (("X-AppID", app_id),)
        spread = {count: {e: self.spread_file(e, count) for e in (PING, ME)} for count in sorted({1, spread_count})}
        many = f"{spread_count} tenants"
        scenarios = [
            Scenario("drf", "miniplex", "/bench/plain/drf"),
            Scenario("ping", "miniplex", PING, headers=ping_headers),
            Scenario("me", "miniplex", ME, headers=me_headers),
            Scenario("solo me", "solo", ME, headers=me_headers),
            Scenario("bare me", "bare", "/me", headers=me_headers),
            Scenario("ping nginx", "nginx", PING, headers=ping_headers),
            Scenario("me nginx", "nginx", ME, headers=me_headers),
            Scenario("ping 1 tenant", "miniplex", PING, spread=spread[1][PING]),
            Scenario(f"ping {many}", "miniplex", PING, spread=spread[spread_count][PING]),
            Scenario("me 1 tenant", "miniplex", ME, spread=spread[1][ME]),
            Scenario(f"me {many}", "miniplex", ME, spread=spread[spread_count][ME]),
        ]
        with (
            stack.running_gunicorn("solo", solo_env, self.workdir) as solo_server,
            stack.running_gunicorn(
                "bare", self.env, self.workdir, app="benchmarks.apps.bare_wsgi:application", extra_env=bare_env
            ) as bare_server,
            stack.running_nginx(self.workdir, miniplex.port) as nginx_port,
        ):
            bases = {
                "miniplex": miniplex.url(""),
                "solo": solo_server.url(""),
                "bare": bare_server.url(""),
                "nginx": f"http://127.0.0.1:{nginx_port}",
            }
            for scenario in scenarios:  # warm-up: every process loads its code and opens its pools
                url = bases[scenario.server] + scenario.path
                run_wrk(url, self.plan.concurrency, 1, headers=dict(scenario.headers), spread_file=scenario.spread)
            for round_index in range(self.plan.rounds):
                for scenario in scenarios:
                    self.one_run(round_index, scenario, bases[scenario.server] + scenario.path)
            if getattr(self.args, "with_profiles", False):
                servers = {"miniplex": miniplex, "solo": solo_server, "bare": bare_server}
                self.profiles(servers, bases, [s for s in scenarios if s.name in PROFILED])
        self.rows += self.http_rows(spread_count)

    def profiles(self, servers: dict[str, Gunicorn], bases: dict[str, str], scenarios: list[Scenario]) -> None:
        self.data["profiles"] = {}
        for scenario in scenarios:
            self.log(f"profiling {scenario.name} (py-spy, {self.plan.profile_seconds:g} s)")
            self.data["profiles"][scenario.name] = profile_under_load(
                servers[scenario.server],
                bases[scenario.server] + scenario.path,
                dict(scenario.headers),
                seconds=self.plan.profile_seconds,
                concurrency=self.plan.concurrency,
                workdir=self.workdir,
                name=scenario.name.replace(" ", "-"),
            )

    def spread_file(self, path: str, count: int) -> Path:
        lines = [f"{a} {self.tokens[a] if path == ME else '-'}\n" for a in map(bench_app_id, range(1, count + 1))]
        return consolidation.write_spread(self.workdir, lines, f"targets-{path.rsplit('/', 1)[-1]}-{count}")

    def one_run(self, round_index: int, scenario: Scenario, url: str) -> None:
        result, _ = run_wrk(
            url, self.plan.concurrency, self.plan.seconds, headers=dict(scenario.headers), spread_file=scenario.spread
        )
        record = {"round": round_index, "scenario": scenario.name, "server": scenario.server, **result.as_dict()}
        record["load"] = [round(value, 2) for value in os.getloadavg()]
        self.runs.append(record)
        errors = sum(result.failures.values())
        self.log(
            f"round {round_index + 1} {scenario.name}: {result.rps:.0f} req/s, p50 {result.p50_ms:.1f} ms, "
            f"p99 {result.p99_ms:.1f} ms" + (f", {errors} errors {result.failures}" if errors else "")
        )
        time.sleep(0.5)

    def median(self, scenario: str, measure: Callable[[dict], float]) -> float | None:
        values = [measure(run) for run in self.runs if run["scenario"] == scenario and run["requests"] > 0]
        return statistics.median(values) if values else None

    def http_rows(self, spread_count: int) -> list[dict]:
        rows = []
        for target, first, second, goal, kind in http_targets(spread_count):
            if kind == "tail":
                value = self.median(first, lambda run: run["p99_ms"] / run["p50_ms"] if run["p50_ms"] else math.inf)
                p50, p99 = self.median(first, lambda r: r["p50_ms"]), self.median(first, lambda r: r["p99_ms"])
                detail = f"p50 {_fmt(p50, 1)} ms, p99 {_fmt(p99, 1)} ms"
                rows.append(_row(target, value, goal, detail, at_most=True))
            else:
                top, bottom = self.median(first, _rps), self.median(second or "", _rps)
                value = top / bottom if top is not None and bottom else None
                rows.append(_row(target, value, goal, f"{_fmt(top, 0)} / {_fmt(bottom, 0)} req/s"))
        return rows

    # --- the consolidation, short -----------------------------------------------------------------------------
    def consolidation_short(self, miniplex: Gunicorn) -> None:
        plan = self.plan.consolidation_plan
        self.log(f"consolidation, short: {plan}")
        data = consolidation.Consolidation(plan, self.ns, self.workdir, self.env, self.tokens).run(miniplex)
        self.data["consolidation"] = data
        for row in data["summary"]:
            if row["measure"].startswith(("total PSS", "MySQL connections open after")):
                continue  # the short form keeps the four measures
            goal = consolidation.GOALS[_goal_key(row["measure"])]
            at_most = not row["measure"].startswith("req/s")
            unit = f" {row['unit']}" if row["unit"] else ""
            detail = f"{row['miniplex']:.0f}{unit} / {row['deployments']:.0f}{unit}"
            rows_name = f"consolidation ({plan.tenants} tenants): {row['measure']}, one Miniplex vs a deployment each"
            self.rows.append(_row(rows_name, row["ratio"], goal, detail, at_most=at_most))

    # --- jobs -------------------------------------------------------------------------------------------------
    def jobs(self, bench: Any) -> None:
        """Tenant-tagged jobs against plain RQ, with and without the outbox: PERF's interleaved rounds
        (benchmarks.jobs.jobs_compare) when it is there, else the runner's own rounds of plain and tenant jobs."""
        from benchmarks import jobs

        self.log("jobs")
        compare = getattr(jobs, "jobs_compare", None)
        if compare is None:
            self.jobs_fallback(bench)
            return
        tenants = min(10, self.data["spread_tenants"])
        measured = compare(self.env, count=self.plan.jobs, tenants=tenants, rounds=self.plan.job_rounds)
        self.data["jobs"] = measured
        rate = {kind: row["jobs_per_second"] for kind, row in measured["kinds"].items()}
        for tagged, base, target in JOB_TARGETS:
            ratio = measured["ratios"].get(f"{tagged}/{base}")
            detail = f"{_fmt(rate.get(tagged), 1)} / {_fmt(rate.get(base), 1)} jobs/s, {self.plan.jobs} jobs a round"
            self.rows.append(_row(target, ratio, 0.9, detail))

    def jobs_fallback(self, bench: Any) -> None:
        bench.mode = _jobs_mode(bench.mode, self.plan)
        bench.jobs_benchmark()
        self.data["jobs"] = bench.jobs
        plain, tenant = bench.jobs.get("plain", {}), bench.jobs.get("tenant", {})
        top, bottom = tenant.get("jobs_per_second"), plain.get("jobs_per_second")
        value = top / bottom if top and bottom else None
        detail = f"{_fmt(top, 1)} / {_fmt(bottom, 1)} jobs/s (the runner's rounds; the outbox as configured)"
        self.rows.append(_row("jobs: tenant-tagged vs plain RQ, same forking worker", value, 0.9, detail))


# --- where a worker's CPU goes under load (py-spy) ---------------------------------------------------------------
def profile_under_load(
    server: Gunicorn, url: str, headers: dict[str, str], *, seconds: float, concurrency: int, workdir: Path, name: str
) -> dict:
    """py-spy samples every worker of `server` (CPU time, not waiting) while wrk loads it for `seconds`; the
    functions' share of the samples, with what they call (inclusive) and alone (self)."""
    binary = Path(stack.PYTHON).with_name("py-spy")
    if not binary.exists():
        return {"error": "py-spy is not installed (requirements/bench.txt)"}
    workers = stack.worker_pids(server.process.pid)
    outputs = [workdir / f"py-spy-{name}-{pid}.txt" for pid in workers]
    argv = [str(binary), "record", "--format", "raw", "--rate", "250", "--duration", str(int(seconds)), "--nonblocking"]
    spies = [
        subprocess.Popen([*argv, "--pid", str(pid), "-o", str(out)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        for pid, out in zip(workers, outputs, strict=True)
    ]
    try:
        result, _ = run_wrk(url, concurrency, seconds, headers=headers)
    finally:
        for spy in spies:
            try:
                spy.wait(timeout=seconds + 60)
            except subprocess.TimeoutExpired:
                spy.kill()
                spy.wait(timeout=10)
    return {"rps": result.rps, "seconds": seconds, **collapsed_shares([out for out in outputs if out.exists()])}


def collapsed_shares(files: list[Path], top: int = 60) -> dict:
    """py-spy's collapsed stacks ("frame;frame;frame COUNT") -> each function's share of the samples, in percent."""
    inclusive: dict[str, int] = {}
    own: dict[str, int] = {}
    by_package: dict[str, int] = {}
    total = 0
    for path in files:
        for line in path.read_text(errors="replace").splitlines():
            stack_text, _, count_text = line.rpartition(" ")
            if not count_text.isdigit():
                continue
            count = int(count_text)
            frames = [_frame_name(frame) for frame in stack_text.split(";") if frame]
            if not frames:
                continue
            total += count
            for frame in set(frames):
                inclusive[frame] = inclusive.get(frame, 0) + count
            own[frames[-1]] = own.get(frames[-1], 0) + count
            package = _package(frames[-1])
            by_package[package] = by_package.get(package, 0) + count

    def shares(counts: dict[str, int]) -> list[tuple[str, float]]:
        ordered = sorted(counts.items(), key=lambda item: -item[1])[:top]
        return [(frame, round(100 * count / total, 1)) for frame, count in ordered]

    if not total:
        return {"samples": 0, "inclusive": [], "self": [], "self_by_package": []}
    return {
        "samples": total,
        "inclusive": shares(inclusive),
        "self": shares(own),
        "self_by_package": shares(by_package),
    }


def _package(frame: str) -> str:
    """ "Q.__init__ (django/db/models/query_utils.py)" -> "django/db"; "x (pymysql/connections.py)" -> "pymysql"."""
    path = frame.rpartition(" (")[2].rstrip(")")
    parts = path.split("/")
    if len(parts) == 1:
        return parts[0]
    return "/".join(parts[:2]) if parts[0] in ("django", "rest_framework") and len(parts) > 2 else parts[0]


def _frame_name(frame: str) -> str:
    """ "get (rest_framework/views.py:510)" -> "get (rest_framework/views.py)": one entry per function."""
    name, _, where = frame.partition(" (")
    path = where.rstrip(")").rsplit(":", 1)[0]
    for marker in ("site-packages/", "/work/main/", "lib/python3.11/"):
        if marker in path:
            path = path.split(marker, 1)[1]
    return f"{name} ({path})"


def _jobs_mode(mode: Any, plan: TargetPlan) -> Any:
    from dataclasses import replace

    return replace(mode, jobs=plan.jobs, rounds=plan.job_rounds)


def _goal_key(measure: str) -> str:
    for prefix, key in (("total", "rss"), ("MySQL", "connections"), ("req/s", "rps"), ("p99", "p99")):
        if measure.startswith(prefix):
            return key
    raise ValueError(measure)


def _rps(run: dict) -> float:
    return run["rps"]


def _fmt(value: float | None, digits: int = 2) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def table(rows: list[dict]) -> list[str]:
    lines = ["| target | measured | goal | verdict | detail |", "|---|---:|---|---|---|"]
    for row in rows:
        value = row["measured"]
        shown = "n/a" if value is None or not math.isfinite(value) else f"{value:.2f}x"
        lines.append(f"| {row['target']} | {shown} | {row['goal']} | **{row['verdict']}** | {row['detail']} |")
    return lines


def markdown(data: dict) -> str:
    machine = data["machine"]
    took = data["seconds"]
    lines = [
        f"# Targets ({data['started'][:10]}): `python -m benchmarks --targets`",
        "",
        f"Machine: {machine['cpu_count']} x {machine['cpu_model']}, {machine['memory_gib']} GiB, shared; load "
        f"average before {data['load_before']}, after {data['load_after']}. Commit `{data['commit']}`. "
        f"{data['started']} to {data['finished']}: {took // 60:.0f} min {took % 60:.0f} s.",
        "",
        f"wrk, {data['plan']['concurrency']} keep-alive clients, {data['plan']['seconds']:g} s per run, "
        f"{data['plan']['rounds']} interleaved rounds (medians). Consolidation: "
        f"{data['plan']['consolidation']['tenants']} tenants, {data['plan']['consolidation']['seconds']:g} s per run, "
        "one round, through one nginx (benchmarks/consolidation.py).",
        "",
        *table(data["rows"]),
        "",
        "## Every run",
        "",
        "| round | scenario | req/s | p50 ms | p99 ms | p99/p50 | errors | load |",
        "|---:|---|---:|---:|---:|---:|---:|---|",
    ]
    for run in data["runs"]:
        tail = run["p99_ms"] / run["p50_ms"] if run["p50_ms"] else 0
        lines.append(
            f"| {run['round'] + 1} | {run['scenario']} | {run['rps']:.0f} | {run['p50_ms']:.1f} | {run['p99_ms']:.1f} "
            f"| {tail:.1f} | {sum(run['failures'].values())} | {run['load'][0]:.1f} |"
        )
    for name, profile in (data.get("profiles") or {}).items():
        lines += ["", f"## Profile under load: {name}", ""]
        if "error" in profile:
            lines.append(profile["error"])
            continue
        lines += [
            f"py-spy, every worker, {profile['seconds']:g} s of wrk ({profile['rps']:.0f} req/s), {profile['samples']} "
            "samples of CPU time (waiting left out); share of the samples with what the function calls:",
            "",
            "| function (file) | inclusive % |",
            "|---|---:|",
            *(f"| `{frame}` | {share} |" for frame, share in profile["inclusive"][:45]),
            "",
            "| function (file), alone | self % |",
            "|---|---:|",
            *(f"| `{frame}` | {share} |" for frame, share in profile["self"][:15]),
            "",
            "| package, alone | self % |",
            "|---|---:|",
            *(f"| `{package}` | {share} |" for package, share in profile.get("self_by_package", [])[:15]),
        ]
    return "\n".join(lines) + "\n"


def main(args: argparse.Namespace) -> int:
    from benchmarks import report
    from benchmarks.run import wait_for_load

    plan = SMOKE if args.mode == "smoke" else TargetPlan()
    if args.rounds or args.seconds:
        plan = TargetPlan(rounds=args.rounds or plan.rounds, seconds=args.seconds or plan.seconds)
    ns = Namespace(args.namespace)
    load_before = wait_for_load(args.max_load, args.max_wait)
    stamp = datetime.now(UTC)
    started = time.monotonic()
    workdir = args.workdir or Path(f"/tmp/miniplex-targets-{stamp:%Y%m%d-%H%M%S}-{os.getpid()}")  # noqa: S108
    workdir.mkdir(parents=True, exist_ok=True)
    print(f"targets in {workdir}; load average {load_before}", flush=True)
    targets = Targets(plan, args, ns, workdir)
    targets.run()
    data = {
        **targets.data,
        "plan": {**plan.__dict__, "consolidation": plan.consolidation_plan.__dict__},
        "rows": targets.rows,
        "runs": targets.runs,
        "started": stamp.isoformat(timespec="seconds"),
        "finished": datetime.now(UTC).isoformat(timespec="seconds"),
        "seconds": time.monotonic() - started,
        "load_before": load_before,
        "load_after": [round(value, 2) for value in os.getloadavg()],
        "machine": report.machine_info(),
        "settings": targets.settings,
        "commit": consolidation.git_commit(),
    }
    suffix = "-smoke" if args.mode == "smoke" else ""
    directory = args.results_dir
    directory.mkdir(parents=True, exist_ok=True)
    (directory / f"{stamp:%Y-%m-%d}-targets{suffix}.json").write_text(json.dumps(data, indent=1, default=str) + "\n")
    text = markdown(data)
    (directory / f"{stamp:%Y-%m-%d}-targets{suffix}.md").write_text(text)
    print("\n".join(table(data["rows"])))
    print(f"took {data['seconds']:.0f} s; report: {directory / f'{stamp:%Y-%m-%d}-targets{suffix}.md'}", flush=True)
    return 0
