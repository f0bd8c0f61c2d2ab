"""Where the tail latency comes from at 50 keep-alive clients, and what the shipped configs do about it.

    python -m benchmarks.tail [--rounds 3] [--seconds 10] [--variants head,shipped] [--nginx] [--out FILE]

Each variant is a gunicorn (2 gevent workers) started side by side from a copy of a gunicorn config: `head` is
deploy/gunicorn.conf.py as committed at HEAD when the run starts (the baseline), `shipped` the working tree's;
others set environment variables on top of one of them (VARIANTS). The rounds interleave the variants, and each
run records what wrk saw (p50, p99, req/s) next to what gunicorn's access log timed for the same requests (its
%(M)s duration: the time inside the worker) and what each worker's garbage collector did meanwhile
(benchmarks/tail_gunicorn.conf.py records the pauses). With --nginx, the shipped nginx site in front of each
variant is measured too. Runs on its own namespace (`perftail`: one tenant, one user).
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path

from benchmarks import stack
from benchmarks.load import run_wrk
from benchmarks.stack import Namespace

NS = Namespace("perftail")
APP_ID = "wxfb00000000000001"
PING, ME = "/api/v1/ping", "/api/v1/me"
TAIL_CONF = Path(__file__).with_name("tail_gunicorn.conf.py")
# name -> (base config: "head" or "shipped", extra environment)
VARIANTS: dict[str, tuple[str, dict[str, str]]] = {
    "head": ("head", {}),
    "shipped": ("shipped", {}),
    "shipped-nofreeze": ("shipped", {"GUNICORN_GC_FREEZE": "0"}),
    "head-1worker": ("head", {"GUNICORN_WORKERS": "1"}),
    "shipped-1worker": ("shipped", {"GUNICORN_WORKERS": "1"}),
    "shipped-wc25": ("shipped", {"GUNICORN_WORKER_CONNECTIONS": "25"}),
}


def prepare(workdir: Path) -> dict[str, str]:
    """The namespace's tenant and user (made once); the stack environment and the user's token."""
    stack.ensure_accounts(NS)
    env = stack.stack_env(NS, wechat_port=9, pool_size=8)
    stack.manage(env, "migrate", "--noinput", "-v", "0")
    token = stack.run_module(env, "benchmarks.tail", "setup-child", timeout=600, what="tail set-up").strip()
    (workdir / "token").write_text(token)
    return {**env, "TAIL_TOKEN": token}


def setup_child() -> None:
    """In the stack's environment: the tenant (provisioned once) and a token of its one user, printed."""
    from benchmarks.provision import _setup, provision_slice

    _setup()
    from accounts.models import MiniProgramUser
    from accounts.tokens import token_issue
    from core.tenant_context import activate_tenant
    from tenants.models import Tenant
    from tenants.selectors import tenant_resolve

    if not Tenant.objects.filter(app_id=APP_ID, status=Tenant.Status.ACTIVE).exists():
        provision_slice([APP_ID])
    with activate_tenant(tenant_resolve(app_id=APP_ID)):
        user, _ = MiniProgramUser.objects.get_or_create(openid="perf-tail-user")
        print(token_issue(user=user))


def server_durations(log: Path, offset: int) -> list[float]:
    """The %(M)s durations (ms) gunicorn logged after `offset`."""
    durations = []
    with open(log, "rb") as lines:
        lines.seek(offset)
        for raw in lines:
            tail = raw.rstrip().rsplit(b" ", 1)[-1]
            if tail.endswith(b"ms") and tail[:-2].isdigit():
                durations.append(float(tail[:-2]))
    return durations


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def gc_totals(folder: Path) -> dict[str, dict[str, float]]:
    totals: dict[str, dict[str, float]] = {}
    for path in folder.glob("gc-*.json"):
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        for generation, row in data["generations"].items():
            into = totals.setdefault(generation, {"collections": 0, "total_ms": 0.0, "max_ms": 0.0, "over_10ms": 0})
            into["collections"] += row["collections"]
            into["total_ms"] += row["total_ms"]
            into["max_ms"] = max(into["max_ms"], row["max_ms"])
            into["over_10ms"] += row["over_10ms"]
    return totals


def gc_delta(before: dict, after: dict) -> dict:
    delta = {}
    for generation, row in after.items():
        old = before.get(generation, {"collections": 0, "total_ms": 0.0, "over_10ms": 0})
        delta[generation] = {
            "collections": row["collections"] - old["collections"],
            "total_ms": round(row["total_ms"] - old["total_ms"], 1),
            "over_10ms": row["over_10ms"] - old["over_10ms"],
            "max_ms_so_far": round(row["max_ms"], 1),
        }
    return delta


def main(argv: list[str] | None = None) -> int:
    if argv is None and sys.argv[1:2] == ["setup-child"]:
        setup_child()
        return 0
    parser = argparse.ArgumentParser(prog="python -m benchmarks.tail")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--variants", default="head,shipped")
    parser.add_argument("--paths", default="ping,me")
    parser.add_argument("--nginx", action="store_true")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    stamp = datetime.now(UTC)
    workdir = Path(f"/tmp/miniplex-perf-tail-{stamp:%H%M%S}-{os.getpid()}")  # noqa: S108
    workdir.mkdir(parents=True)
    env = prepare(workdir)
    token = env.pop("TAIL_TOKEN")
    head_conf = workdir / "head-gunicorn.conf.py"
    head_conf.write_text(
        subprocess.run(
            ["git", "show", "HEAD:deploy/gunicorn.conf.py"],
            cwd=stack.BASE_DIR,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    )
    shipped_conf = workdir / "shipped-gunicorn.conf.py"
    shutil.copy(stack.SHIPPED_GUNICORN_CONF, shipped_conf)
    bases = {"head": head_conf, "shipped": shipped_conf}
    names = args.variants.split(",")
    paths = {"ping": (PING, {"X-AppID": APP_ID}), "me": (ME, {"X-AppID": APP_ID, "Authorization": f"Bearer {token}"})}
    runs: list[dict] = []
    with ExitStack() as servers:
        started = {}
        for name in names:
            base, extra = VARIANTS[name]
            gc_dir = workdir / f"gc-{name}"
            gc_dir.mkdir()
            extra = {
                "TAIL_BASE_CONF": str(bases[base]),
                "TAIL_GC_DIR": str(gc_dir),
                "GUNICORN_CHDIR": str(stack.BASE_DIR),
                **extra,
            }
            server = servers.enter_context(
                stack.running_gunicorn(f"tail-{name}", env, workdir, conf=TAIL_CONF, extra_env=extra)
            )
            nginx_port = None
            if args.nginx:
                nginx_port = servers.enter_context(stack.running_nginx(workdir / f"nginx-{name}", server.port))
            started[name] = (server, gc_dir, nginx_port)
        targets = [(name, via) for name in names for via in (["direct", "nginx"] if args.nginx else ["direct"])]
        for name, via in targets:  # warm-up: every worker has served both paths before the first measured run
            server, _, nginx_port = started[name]
            for key in args.paths.split(","):
                path, headers = paths[key]
                url = server.url(path) if via == "direct" else f"http://127.0.0.1:{nginx_port}{path}"
                run_wrk(url, args.concurrency, 3, headers=headers)
        for round_index in range(args.rounds):
            for key in args.paths.split(","):
                path, headers = paths[key]
                for name, via in targets:
                    server, gc_dir, nginx_port = started[name]
                    url = server.url(path) if via == "direct" else f"http://127.0.0.1:{nginx_port}{path}"
                    offset = server.access_log.stat().st_size
                    gc_before = gc_totals(gc_dir)
                    load = list(os.getloadavg())
                    result, _ = run_wrk(url, args.concurrency, args.seconds, headers=headers)
                    time.sleep(1.2)  # the workers' GC files are written every second
                    inside = server_durations(server.access_log, offset)
                    row = {
                        "variant": name,
                        "via": via,
                        "path": key,
                        "round": round_index,
                        "rps": result.rps,
                        "p50_ms": result.p50_ms,
                        "p99_ms": result.p99_ms,
                        "p99_over_p50": result.p99_ms / result.p50_ms if result.p50_ms else 0.0,
                        "errors": result.failed,
                        "server_p50_ms": percentile(inside, 0.5),
                        "server_p99_ms": percentile(inside, 0.99),
                        "server_max_ms": max(inside, default=0.0),
                        "server_requests": len(inside),
                        "gc": gc_delta(gc_before, gc_totals(gc_dir)),
                        "load_before": [round(v, 2) for v in load],
                    }
                    runs.append(row)
                    print(
                        f"r{round_index} {key:4} {name:18} {via:6} {result.rps:6.0f} req/s  p50 {result.p50_ms:6.1f}"
                        f"  p99 {result.p99_ms:7.1f} ({row['p99_over_p50']:4.1f}x)"
                        f"  server p99 {row['server_p99_ms']:.0f}"
                        f" max {row['server_max_ms']:.0f}  gc2 {row['gc'].get('2', {})}  load {load[0]:.1f}",
                        flush=True,
                    )
    summary = {}
    for name, via in targets:
        for key in args.paths.split(","):
            rows = [r for r in runs if r["variant"] == name and r["via"] == via and r["path"] == key]
            summary[f"{key} {name} {via}"] = {
                "median_p99_over_p50": statistics.median(r["p99_over_p50"] for r in rows),
                "median_rps": statistics.median(r["rps"] for r in rows),
                "median_p50_ms": statistics.median(r["p50_ms"] for r in rows),
                "median_p99_ms": statistics.median(r["p99_ms"] for r in rows),
            }
    data = {
        "started": stamp.isoformat(timespec="seconds"),
        "args": vars(args) | {"out": str(args.out)},
        "runs": runs,
        "summary": summary,
        "workdir": str(workdir),
    }
    if args.out:
        args.out.write_text(json.dumps(data, indent=1) + "\n")
    print(json.dumps(summary, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
