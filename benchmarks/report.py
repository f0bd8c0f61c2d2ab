"""The report: a dated Markdown file, its data as JSON and PNG charts, under benchmarks/results/."""

import json
import os
import platform
import re
import subprocess
from datetime import datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from benchmarks.stack import mysql_rows, nginx_binary

REFERENCE_CONCURRENCY = 50  # the p99 target and the ratios are read at 50 clients
SOCKET_KINDS = ("connect", "receive", "exceptions", "read", "write", "timeout")
PACKAGES = (
    "Django",
    "djangorestframework",
    "gunicorn",
    "gevent",
    "greenlet",
    "PyMySQL",
    "mysqlclient",
    "SQLAlchemy",
    "redis",
    "django-redis",
    "rq",
)


# --- the machine -----------------------------------------------------------------------------------------
def _command_version(argv: list[str]) -> str:
    try:
        completed = subprocess.run(argv, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return "?"
    return (
        (completed.stdout + completed.stderr).strip().splitlines()[0] if (completed.stdout + completed.stderr) else "?"
    )


def machine_info() -> dict:
    cpuinfo = Path("/proc/cpuinfo").read_text()
    models = re.findall(r"^model name\s*:\s*(.+)$", cpuinfo, re.MULTILINE)
    meminfo = Path("/proc/meminfo").read_text()
    mem_total = re.search(r"^MemTotal:\s+(\d+)", meminfo, re.MULTILINE)
    if mem_total is None:
        raise RuntimeError("/proc/meminfo names no MemTotal")
    mem_kib = int(mem_total.group(1))
    import redis

    return {
        "cpu_count": os.cpu_count(),
        "cpu_model": models[0] if models else platform.processor(),
        "memory_gib": round(mem_kib / 1024 / 1024, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "packages": {name: _package_version(name) for name in PACKAGES},
        "mariadb": mysql_rows("SELECT VERSION()")[0][0],
        "redis": redis.Redis(host="127.0.0.1", port=6379).info("server")["redis_version"],
        "nginx": _command_version([nginx_binary(), "-v"]),
        "ab": _command_version(["ab", "-V"]),
        "wrk": _command_version(["wrk", "-v"]),
    }


def _package_version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "-"


# --- picking runs ----------------------------------------------------------------------------------------
def _runs(data: dict, **match: object) -> list[dict]:
    return [run for run in data["runs"] if all(run.get(key) == value for key, value in match.items())]


def _reference_c(data: dict, runs: list[dict]) -> int | None:
    levels = sorted({run["concurrency"] for run in runs})
    if not levels:
        return None
    return min(levels, key=lambda c: abs(c - REFERENCE_CONCURRENCY))


def _pick(data: dict, scenario: str, tool: str = "wrk", concurrency: int | None = None) -> dict | None:
    runs = [run for run in _runs(data, scenario=scenario, tool=tool) if run["group"] != "rounds"]
    concurrency = concurrency if concurrency is not None else _reference_c(data, runs)
    found = [run for run in runs if run["concurrency"] == concurrency]
    return found[0] if found else None


def _median(values: list[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def _reference(data: dict, scenario: str) -> dict | None:
    """wrk at ~50 clients: the median of the interleaved rounds when there are some, else the sweep's run."""
    rounds = _runs(data, group="rounds", scenario=scenario)
    if not rounds:
        return _pick(data, scenario)
    return {
        "scenario": scenario,
        "concurrency": rounds[0]["concurrency"],
        "rps": _median([run["rps"] for run in rounds]),
        "p50_ms": _median([run["p50_ms"] for run in rounds]),
        "p99_ms": _median([run["p99_ms"] for run in rounds]),
        "rounds": [run["rps"] for run in rounds],
    }


def _ratio(top: dict | None, bottom: dict | None) -> float | None:
    if not top or not bottom or not bottom["rps"]:
        return None
    return top["rps"] / bottom["rps"]


def socket_errors(run: dict) -> int:
    return sum(run["failures"].get(kind, 0) for kind in SOCKET_KINDS)


def _fmt(value: float | None, digits: int = 2) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def _verdict(value: float | None, goal: float, *, at_most: bool = False) -> str:
    if value is None:
        return "not measured"
    met = value <= goal if at_most else value >= goal
    if met:
        return "**met**"
    gap = (value / goal - 1) * 100
    return f"**missed** ({gap:+.0f}% from the goal)"


def targets(data: dict) -> list[dict]:
    """The issue's targets with the measured ratios (wrk, keep-alive, at the concurrency nearest 50)."""
    return [
        *_tenancy_targets(data),
        *_tenant_count_targets(data),
        *_tail_targets(data),
        _error_target(data),
        *_job_targets(data.get("jobs") or {}),
    ]


def _target(target: str, value: float | None, detail: str, minimum: float, *, at_most: bool = False) -> dict:
    return {"target": target, "value": value, "detail": detail, "verdict": _verdict(value, minimum, at_most=at_most)}


def _rps_detail(top: dict | None, bottom: dict | None) -> str:
    return f"{_fmt(top['rps'] if top else None, 0)} / {_fmt(bottom['rps'] if bottom else None, 0)} req/s"


def _tenancy_targets(data: dict) -> list[dict]:
    ping, drf = _reference(data, "JSON ping"), _reference(data, "DRF view without tenancy")
    me = _reference(data, "DB + Redis /me")
    return [
        _target(
            "tenant JSON >= 0.95x the same DRF view without tenancy", _ratio(ping, drf), _rps_detail(ping, drf), 0.95
        ),
        _target(
            "DB + Redis >= 0.5x tenant JSON (original deployment: ~0.25x)", _ratio(me, ping), _rps_detail(me, ping), 0.5
        ),
    ]


def _tenant_count_targets(data: dict) -> list[dict]:
    counts = sorted({run["tenants"] for run in _runs(data, group="tenants")})
    if not counts:
        return []
    most, one = counts[-1], counts[0]
    rows = []
    for label in ("DB + Redis /me", "JSON ping"):
        top, bottom = _reference(data, f"{label}, {most} tenants"), _reference(data, f"{label}, {one} tenants")
        rows.append(
            _target(
                f"{most:,} tenants >= 0.95x {one} tenant ({label})", _ratio(top, bottom), _rps_detail(top, bottom), 0.95
            )
        )
    return rows


def _tail_targets(data: dict) -> list[dict]:
    rows = []
    for label in ("JSON ping", "DB + Redis /me"):
        for tool in ("wrk", "ab -t"):
            run = _reference(data, label) if tool == "wrk" else _pick(data, label, tool)
            value = run["p99_ms"] / run["p50_ms"] if run and run["p50_ms"] else None
            detail = f"p50 {_fmt(run['p50_ms'], 1)} ms, p99 {_fmt(run['p99_ms'], 1)} ms" if run else ""
            target = f"p99 <= 3x p50 at {run and run['concurrency']} clients ({label}, {tool})"
            rows.append(_target(target, value, detail, 3.0, at_most=True))
    return rows


def _error_target(data: dict) -> dict:
    product = [run for run in data["runs"] if run["group"] in ("tenant", "nginx", "tenants", "rounds")]
    bad = [run for run in product if run["failures"].get("non_2xx", 0) or socket_errors(run)]
    worst = max(product, key=lambda run: run["failures"].get("non_2xx", 0) + socket_errors(run), default=None)
    top_c = max((run["concurrency"] for run in product), default=0)
    detail = f"{len(bad)} of {len(product)} runs had any"
    if bad and worst:
        detail += (
            f"; worst: {worst['scenario']} [{worst['via']}] {worst['tool']} c={worst['concurrency']}: "
            f"{worst['failures']}"
        )
    return {
        "target": f"no non-2xx and no socket errors at any concurrency up to {top_c:,}",
        "value": len(bad),
        "detail": detail,
        "verdict": "**met**" if not bad else "**missed**",
    }


def _job_targets(jobs: dict) -> list[dict]:
    rows = []
    for baseline, target in (
        ("plain", "tenant-tagged jobs >= 0.9x plain RQ (same forking worker)"),
        ("django", "(the same, against plain RQ jobs in a Django-loaded `manage.py rqworker`)"),
    ):
        if "tenant" not in jobs or baseline not in jobs:
            continue
        tenant, base = jobs["tenant"]["jobs_per_second"], jobs[baseline]["jobs_per_second"]
        detail = f"{_fmt(tenant, 1)} / {_fmt(base, 1)} jobs/s"
        rows.append(_target(target, tenant / base if base else None, detail, 0.9))
    return rows


# --- Markdown --------------------------------------------------------------------------------------------
def _run_table(runs: list[dict]) -> list[str]:
    lines = [
        "| tool | C | requests | req/s | mean ms | p50 ms | p99 ms | client-side failures | gunicorn logged "
        "| MySQL peak conns | new conns /1k | worker RSS MiB |",
        "|---|---:|---:|---:|---:|---:|---:|---|---|---:|---:|---|",
    ]
    for run in sorted(runs, key=lambda r: (r["concurrency"], r["tool"])):
        failures = ", ".join(f"{k} {v}" for k, v in run["failures"].items() if v) or "none"
        if run["error"]:
            failures += f" (ab/wrk: {run['error'][:80]})"
        logged = ", ".join(f"{k}: {v}" for k, v in sorted(run["statuses"].items())) or "-"
        extra = run["extra"]
        rss = "/".join(f"{kib / 1024:.0f}" for kib in extra.get("worker_rss_kib", [])) or "-"
        lines.append(
            f"| {run['tool']} | {run['concurrency']} | {run['requests']} | {run['rps']:.0f} | {run['mean_ms']:.1f} | "
            f"{run['p50_ms']:.1f} | {run['p99_ms']:.1f} | {failures} | {logged} | "
            f"{extra.get('mysql_peak_connections', 0)} | "
            f"{extra.get('mysql_new_connections_per_1k', 0):.1f} | {rss} |"
        )
    return lines


def _scenarios(data: dict, group: str) -> list[str]:
    seen: list[str] = []
    for run in data["runs"]:
        if run["group"] == group and run["scenario"] not in seen:
            seen.append(run["scenario"])
    return seen


def markdown(data: dict, charts: dict[str, str]) -> str:
    out = _header_sections(data)
    out += _summary_section(data)
    out += headline_table(data)
    out += _chart_links(charts)
    out += rounds_section(data)
    out += query_section(data)
    out += length_section(data)
    out += _run_sections(data)
    out += errors_section(data)
    out += connections_section(data)
    out += jobs_section(data)
    out += provisioning_section(data)
    out += profile_section(data)
    return "\n".join(out) + "\n"


def _header_sections(data: dict) -> list[str]:
    """Title, the machine, and what ran."""
    m, mode = data["machine"], data["mode"]
    out = [f"# Miniplex benchmark, {data['started'][:10]} ({mode['name']} mode)", ""]
    out += [
        f"Run from {data['started']} to {data['finished']} (UTC) by `python -m benchmarks"
        + {"full": "", "quick": " --quick", "smoke": " --smoke"}[mode["name"]]
        + "`.",
        "",
    ]
    out += ["## Machine", ""]
    out += [
        f"- CPU: **{m['cpu_count']} x {m['cpu_model']}**, {m['memory_gib']} GiB RAM, Linux {m['kernel']}",
        f"- load average (1, 5, 15 min) before: {data['load_before']}, "
        f"after: {[round(x, 2) for x in data['load_after']]}"
        " (single runs on this 2-core machine move by 10-25%: read the rounds, which interleave the scenarios)",
        f"- Python {m['python']}; " + ", ".join(f"{k} {v}" for k, v in m["packages"].items()),
        f"- MariaDB {m['mariadb']}, Redis {m['redis']}, {m['nginx']}, {m['ab']}, {m['wrk']}",
        "",
    ]
    out += ["## What ran", ""]
    main_settings = data["settings"].get("main", {})
    out += [
        "- Stack: gunicorn `-c deploy/gunicorn.conf.py` (gevent, PyMySQL, "
        f"`GUNICORN_WORKERS={main_settings.get('GUNICORN_WORKERS')}`, "
        f"worker_connections 1000, `DB_POOL_SIZE={main_settings.get('DB_POOL_SIZE')}` per alias and worker), "
        "settings `benchmarks.apps.settings` (config.settings.test + the baseline URLs), local MariaDB and Redis; "
        "behind nginx with `deploy/nginx/miniplex.conf` (listen address, upstream port and log path filled in; "
        "`worker_processes auto`, `worker_connections 8192`).",
        f"- Throttles raised for the load: `API_THROTTLE_RATE_USER` = `API_THROTTLE_RATE_ANON` = "
        f"`{data['settings'].get('API_THROTTLE_RATE_USER')}` (the product's 600/min would answer 429). "
        "The throttle still runs on /me: one pipelined Redis round trip per request (see the query count).",
        f"- Concurrencies {list(mode['concurrencies'])}: `ab -t {mode['ab_seconds']:g} -c C`, "
        f"`ab -n max(C, {mode['ab_count']}) -c C` "
        "(both with `-r`, no keep-alive, as ab runs by default), "
        f"`wrk -t1 -c C -d {mode['wrk_seconds']:g}s --latency` (keep-alive).",
        f"- Tenants: {list(mode['tenant_counts'])} with wrk at C={list(mode['tenant_concurrencies'])}, "
        "every request naming "
        "the next tenant (and its user's token) in turn (benchmarks/wrk/spread.lua).",
        f"- Worker class x driver: {[f'{w}+{d}' for w, d in mode['matrix']]} "
        f"at C={list(mode['matrix_concurrencies'])} with "
        f"{list(mode['matrix_tools'])}; gevent keeps the pool, gthread (8 threads) and sync use Django's persistent "
        "connections (`DB_POOL_SIZE=0`, `DB_CONN_MAX_AGE=60`); benchmarks/gunicorn.conf.py is the shipped file with "
        "only the worker class changed (and no gevent.sleep(0) post_request outside gevent).",
    ]
    if data.get("skipped"):
        out.append(f"- Skipped parts: {data['skipped']}")
    if mode["name"] != "full":
        out.append(
            f"- **Reduced ({mode['name']} mode)**: not the full sweep of the issue (C in 1, 10, 50, 100, 200, "
            "500, 1000, 10 s runs, every tool on every scenario)."
        )
    out.append("")
    return out


def _summary_section(data: dict) -> list[str]:
    mode = data["mode"]
    out = [
        "## Summary against the targets",
        "",
        "Ratios of req/s with wrk (keep-alive) at the concurrency nearest 50, straight to gunicorn: the median "
        f"of {mode['rounds']} interleaved rounds of {mode['round_seconds']:g} s each (section Rounds), so that "
        "other work on the shared machine weighs on both sides of a ratio alike.",
        "",
        "| target | measured | | verdict |",
        "|---|---:|---|---|",
    ]
    for row in targets(data):
        value = row["value"]
        shown = f"{value:.2f}x" if isinstance(value, float) else str(value)
        out.append(f"| {row['target']} | {shown} | {row['detail']} | {row['verdict']} |")
    out.append("")
    return out


def _chart_links(charts: dict[str, str]) -> list[str]:
    out: list[str] = []
    for name, title in (
        ("rps", "Requests/s by concurrency (wrk)"),
        ("p99", "p99 latency by concurrency (wrk)"),
        ("tenants", "Tenants spread"),
        ("matrix", "Worker class x driver"),
    ):
        if name in charts:
            out += [f"![{title}]({charts[name]})", ""]
    return out


def _run_sections(data: dict) -> list[str]:
    out: list[str] = []
    for group, title in (
        ("baseline", "Baselines"),
        ("tenant", "Tenant endpoints, straight to gunicorn"),
        ("nginx", "Through nginx"),
        ("tenants", "Tenants: 1 to 1,000, requests spread over them"),
        ("matrix", "Worker class x driver"),
    ):
        scenarios = _scenarios(data, group)
        if not scenarios:
            continue
        out += [f"## {title}", ""]
        if group == "tenants":
            out += _run_table_named([r for r in data["runs"] if r["group"] == group])
            continue
        for scenario in scenarios:
            out += [f"### {scenario}", ""] + _run_table(_runs(data, scenario=scenario, group=group)) + [""]
    return out


def headline_table(data: dict) -> list[str]:
    """req/s at every concurrency (wrk), one row per scenario: the table of the README."""
    levels = sorted({run["concurrency"] for run in data["runs"] if run["group"] in ("baseline", "tenant", "nginx")})
    out = [
        "## Requests/s at each concurrency",
        "",
        "wrk (keep-alive) / `ab -t` (a connection per request):",
        "",
        "| scenario | " + " | ".join(f"C={c}" for c in levels) + " |",
        "|---|" + "---:|" * len(levels),
    ]
    for group in ("baseline", "tenant", "nginx"):
        for scenario in _scenarios(data, group):
            cells = []
            for c in levels:
                wrk, ab = _pick(data, scenario, "wrk", c), _pick(data, scenario, "ab -t", c)
                cells.append(f"{_fmt(wrk['rps'] if wrk else None, 0)} / {_fmt(ab['rps'] if ab else None, 0)}")
            out.append(f"| {scenario} | " + " | ".join(cells) + " |")
    return [*out, ""]


def _run_table_named(runs: list[dict]) -> list[str]:
    lines = [
        "| scenario | C | requests | req/s | mean ms | p50 ms | p99 ms | failures | gunicorn logged "
        "| MySQL peak conns | new conns /1k |",
        "|---|---:|---:|---:|---:|---:|---:|---|---|---:|---:|",
    ]
    for run in runs:
        failures = ", ".join(f"{k} {v}" for k, v in run["failures"].items() if v) or "none"
        logged = ", ".join(f"{k}: {v}" for k, v in sorted(run["statuses"].items())) or "-"
        lines.append(
            f"| {run['scenario']} | {run['concurrency']} | {run['requests']} | {run['rps']:.0f} | "
            f"{run['mean_ms']:.1f} | {run['p50_ms']:.1f} | {run['p99_ms']:.1f} | {failures} | {logged} | "
            f"{run['extra'].get('mysql_peak_connections', 0)} | "
            f"{run['extra'].get('mysql_new_connections_per_1k', 0):.1f} |"
        )
    return [*lines, ""]


def rounds_section(data: dict) -> list[str]:
    rounds = _runs(data, group="rounds")
    if not rounds:
        return []
    out = [
        "## Rounds (the targets' figures)",
        "",
        "wrk, every scenario in turn, then again: req/s of each round, and the medians the summary uses.",
        "",
        "| scenario | C | req/s by round | median req/s | median p50 ms | median p99 ms | failures |",
        "|---|---:|---|---:|---:|---:|---|",
    ]
    for scenario in dict.fromkeys(run["scenario"] for run in rounds):
        ref = _reference(data, scenario)
        if ref is None:  # never: the scenario is one of the rounds'
            continue
        runs = _runs(data, group="rounds", scenario=scenario)
        failures = sum(run["failures"].get("non_2xx", 0) + socket_errors(run) for run in runs)
        out.append(
            f"| {scenario} | {ref['concurrency']} | {', '.join(f'{v:.0f}' for v in ref['rounds'])} | "
            f"{ref['rps']:.0f} | {ref['p50_ms']:.1f} | {ref['p99_ms']:.1f} | {failures} |"
        )
    return [*out, ""]


def query_section(data: dict) -> list[str]:
    out = [
        "## What one request costs (query count)",
        "",
        "Sequential requests after a warm-up; MySQL statements from USER_STATISTICS of the benchmark's own users "
        "(SELECT, UPDATE-type and other statements such as SET), Redis commands from MONITOR on the benchmark's "
        "key prefix.",
        "",
        "| endpoint | requests | MySQL SELECT | MySQL other | new MySQL connections | Redis commands | by command |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for path, sample in data.get("samples", {}).items():
        mysql = sample["mysql"]
        by_command = ", ".join(f"{k} {v:.2f}" for k, v in sorted(sample["redis"].items())) or "none"
        out.append(
            f"| `{path}` | {sample['requests']} | {mysql.get('select_commands', 0):.2f} | "
            f"{mysql.get('other_commands', 0) + mysql.get('update_commands', 0):.2f} | "
            f"{mysql.get('total_connections', 0):.3f} | {sample['redis_total']:.2f} | {by_command} |"
        )
    out += [
        "",
        "On /me the one SELECT is the user's row (the token's user id comes from Redis); the Redis commands "
        "are the token lookup (a GET) and the user throttle's sliding-window counter (INCR and EXPIRE of this "
        "window's count and a GET of the last window's, sent as one pipeline): two round trips where the issue "
        'asks for "one Redis read", as long as the throttle is on.',
        "",
    ]
    return out


def length_section(data: dict) -> list[str]:
    demo = data.get("length_demo") or {}
    if not demo:
        return []
    statuses = ", ".join(f"{k}: {v}" for k, v in demo["statuses"].items())
    lengths = ", ".join(f"{k} bytes: {v}" for k, v in demo["body_lengths"].items())
    out = [
        '## Why ab reports "failed requests" while gunicorn logs only 200s',
        "",
        "ab takes the first response's body length as *the* Document Length and counts every later response of "
        'another length as a failed request ("Length"), although it is a complete, successful answer. Any JSON '
        "whose length varies (a counter, a timestamp, a nickname, a list) does it. Evidence from this run: `ab -n "
        f'{demo["result"]["requests"]} -c 10` against a benchmark view answering `{{"served": N}}` (N counts up):',
        "",
        "```",
        *(line for line in demo["ab_lines"] if not line.startswith("Completed")),
        "```",
        "",
        f"gunicorn's access log for the same requests: statuses {statuses}; body lengths {lengths}.",
        "",
        'So "failed" here means "not the length of the first answer". The tables of this report split ab\'s '
        "failures by kind (connect, receive, length, exceptions) and show the statuses gunicorn logged next to them; "
        "only the non-length kinds and non-2xx responses are errors. The endpoints measured here answer the same "
        "body every time (one user, one tenant), so their Length count is 0, except where an error came back: its "
        "body has another length, so ab counts it twice, as Length and as Non-2xx.",
        "",
    ]
    return out


def errors_section(data: dict) -> list[str]:
    errors = data.get("server_errors") or {}
    out = ["## Exceptions in the servers' logs", ""]
    if not errors:
        return [*out, "None: no exception was logged by any gunicorn of this run.", ""]
    out += [
        "What the servers logged (gunicorn's output, counted by exception and message); a 5xx in the tables above "
        "comes with one of these:",
        "",
        "| log | exception | count |",
        "|---|---|---:|",
    ]
    for log, counts in errors.items():
        for line, count in sorted(counts.items(), key=lambda kv: -kv[1]):
            out.append(f"| {log} | `{line}` | {count} |")
    return [*out, ""]


def connections_section(data: dict) -> list[str]:
    out = ["## MySQL connections and worker memory", ""]
    product = [run for run in data["runs"] if run["stack"] == "gevent+pymysql" and run["group"] != "baseline"]
    if product:
        peak = max(run["extra"].get("mysql_peak_connections", 0) for run in product)
        served = sum(sum(run["statuses"].values()) for run in product)
        new = sum(run["extra"].get("mysql_new_connections", 0) for run in product)
        rss = [kib for run in product for kib in run["extra"].get("worker_rss_kib", [])]
        settings = data["settings"].get("main", {})
        budget = int(settings.get("GUNICORN_WORKERS", 0) or 0) * 2 * int(settings.get("DB_POOL_SIZE", 0) or 0)
        out += [
            f"- Shipped stack (gevent + PyMySQL + pool), every run above: peak **{peak}** open MySQL connections "
            f"of the benchmark's users (budget: {settings.get('GUNICORN_WORKERS')} workers x 2 aliases x pool "
            f"{settings.get('DB_POOL_SIZE')} = {budget}); **{new}** new connections for {served:,} requests "
            f"({1000 * new / max(served, 1):.2f} per 1,000 requests).",
            f"- Worker RSS (after each run): {min(rss) / 1024:.0f} to {max(rss) / 1024:.0f} MiB per worker."
            if rss
            else "",
            "- Per run, the tables give the peak of open connections (processlist, sampled every 100 ms) and new "
            "connections per 1,000 requests (USER_STATISTICS.TOTAL_CONNECTIONS); the server's own "
            "Max_used_connections and Connections are not used, since other test runs share the server.",
            "",
        ]
    matrix = [run for run in data["runs"] if run["group"] == "matrix"]
    if matrix:
        out += [
            "| stack | peak MySQL conns | new conns per 1k requests | worker RSS MiB (max) |",
            "|---|---:|---:|---:|",
        ]
        for label in dict.fromkeys(run["stack"] for run in matrix):
            runs = [run for run in matrix if run["stack"] == label]
            served = sum(sum(run["statuses"].values()) for run in runs)
            new = sum(run["extra"].get("mysql_new_connections", 0) for run in runs)
            peak_rss = max((kib for run in runs for kib in run["extra"].get("worker_rss_kib", [])), default=0)
            out.append(
                f"| {label} | {max(run['extra'].get('mysql_peak_connections', 0) for run in runs)} | "
                f"{1000 * new / max(served, 1):.2f} | {peak_rss / 1024:.0f} |"
            )
        out.append("")
    return out


def jobs_section(data: dict) -> list[str]:
    jobs = data.get("jobs") or {}
    if not jobs:
        return []
    out = [
        "## Jobs",
        "",
        "One forking worker each, burst mode, the same no-op function (benchmarks.apps.tasks.noop); jobs/s "
        "from the jobs' own start and end times (the worker's start-up left out).",
        "",
        "| kind | jobs | statuses | seconds | jobs/s (median round) | jobs/s by round | worker wall time s |",
        "|---|---:|---|---:|---:|---|---:|",
    ]
    names = {
        "plain": "plain RQ (rq.Queue.enqueue, `rq worker`: no Django in the process)",
        "django": "plain RQ jobs, `manage.py rqworker --worker-class rq.Worker --job-class rq.job.Job` (Django loaded)",
        "tenant": "tenant-tagged (tenants.jobs.enqueue, `manage.py rqworker` = TenantWorker)",
    }
    for kind, row in jobs.items():
        out.append(
            f"| {names.get(kind, kind)} | {row['jobs']} | {row['statuses']} | {row['seconds']:.2f} | "
            f"{row['jobs_per_second']:.1f} | {', '.join(f'{v:.1f}' for v in row.get('rounds', []))} | "
            f"{row['worker_wall_seconds']:.1f} |"
        )
    fork = data.get("jobs_fork_cost") or {}
    if fork:
        out += [
            "",
            "What a work horse pays to find its tenant (`python -m benchmarks.jobs forkcost`, 50 forks each): "
            f"fork + exit {fork['fork_exit_ms']:.1f} ms; fork + `tenant_resolve` in the child "
            f"{fork['fork_resolve_cold_parent_ms']:.1f} ms when the parent had not looked the tenant up (the "
            "child then makes the process's first Redis call, on a new connection), "
            f"{fork['fork_resolve_warm_parent_ms']:.1f} ms when it had, as TenantWorker now does before it forks.",
        ]
    return [*out, ""]


def provisioning_section(data: dict) -> list[str]:
    p = data.get("provisioning") or {}
    if not p:
        return []
    out = ["## Provisioning the tenants", ""]
    first = p.get("first_creation")
    if first:
        out.append(
            f"- Creating {first['created']:,} tenant databases (tenant_provision: registry row, CREATE DATABASE, "
            f"migrations) took **{first['seconds']:.0f} s** with {first['parallel']} processes "
            f"({first.get('per_tenant_median_s', 0) * 1000:.0f} ms median per tenant, "
            f"{first.get('per_tenant_max_s', 0):.1f} s max), on {first['date']}."
        )
    out.append(
        f"- This run: {p['wanted']:,} wanted, {p['created']:,} created in {p['seconds']:.1f} s "
        "(existing tenants are reused; `python -m benchmarks --cleanup` drops them)."
    )
    logins = data.get("logins") or {}
    if logins:
        out.append(
            f"- {logins['users']:,} users logged in through the fake WeChat server in {logins['seconds']:.1f} s "
            f"(8 at a time, median {logins['median_ms']:.0f} ms)."
        )
    return [*out, ""]


def profile_section(data: dict) -> list[str]:
    profile = data.get("profile") or {}
    if not profile:
        return []
    if "error" in profile:
        return ["## Profile of /me", "", "The profile failed:", "", "```", profile["error"], "```", ""]
    lines = profile["text"].splitlines()
    flat = [line for line in profile.get("flat", "").splitlines() if line.strip()][:45]
    if flat:
        lines = [
            "Each function with what it calls, in percent of the whole (flat, total time; first lines):",
            "",
            *flat,
            "",
            "The call tree (library frames folded):",
            *lines,
        ]
    return [
        "## Profile of /me's hot path",
        "",
        f"pyinstrument over {profile['requests']} requests in one process through Django's whole stack "
        f"(django.test.Client, mysqlclient, no gevent): {profile['ms_per_request']:.2f} ms per request.",
        "",
        "```",
        *lines[:170],
        "```",
        "",
    ]


# --- charts ----------------------------------------------------------------------------------------------
def charts(data: dict, directory: Path, prefix: str) -> dict[str, str]:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    made: dict[str, str] = {}
    for name, key, label in (("rps", "rps", "requests/s"), ("p99", "p99_ms", "p99 latency (ms)")):
        made[name] = _save_chart(plt, _sweep_chart(plt, data, key, label), directory, f"{prefix}-{name}.png")
    tenant_runs = [r for r in data["runs"] if r["group"] == "tenants"]
    if tenant_runs:
        made["tenants"] = _save_chart(plt, _tenants_chart(plt, tenant_runs), directory, f"{prefix}-tenants.png")
    matrix = [r for r in data["runs"] if r["group"] == "matrix" and r["tool"] == "wrk"]
    matrix_c = _reference_c(data, matrix)  # None when there is no matrix run
    if matrix_c is not None:
        figure = _matrix_chart(plt, matrix, matrix_c)
        made["matrix"] = _save_chart(plt, figure, directory, f"{prefix}-matrix.png")
    return made


def _save_chart(plt: Any, figure: Any, directory: Path, name: str) -> str:
    saved = _save(figure, directory, name)
    plt.close(figure)
    return saved


def _sweep_chart(plt: Any, data: dict, key: str, label: str) -> Any:
    """One curve per scenario over the concurrencies of the wrk sweep."""
    figure, axes = plt.subplots(figsize=(8, 4.5))
    for scenario in [s for g in ("baseline", "tenant", "nginx") for s in _scenarios(data, g)]:
        sweep = [run for run in _runs(data, scenario=scenario, tool="wrk") if run["group"] != "rounds"]
        runs = sorted(sweep, key=lambda r: r["concurrency"])
        if runs:
            axes.plot([r["concurrency"] for r in runs], [r[key] for r in runs], marker="o", label=scenario)
    axes.set_xscale("log")
    axes.set_xlabel("concurrent clients (wrk, keep-alive)")
    axes.set_ylabel(label)
    axes.grid(True, alpha=0.3)
    axes.legend(fontsize=8)
    axes.set_title(f"Miniplex, {data['machine']['cpu_count']} cores: {label} by concurrency")
    return figure


def _tenants_chart(plt: Any, tenant_runs: list[dict]) -> Any:
    figure, axes = plt.subplots(figsize=(8, 4))
    labels = [f"{r['scenario'].split(',')[0]}\n{r['tenants']} tenants, c={r['concurrency']}" for r in tenant_runs]
    axes.bar(range(len(tenant_runs)), [r["rps"] for r in tenant_runs], color="tab:blue")
    axes.set_xticks(range(len(tenant_runs)), labels, fontsize=7)
    axes.set_ylabel("requests/s (wrk)")
    axes.set_title("Requests spread over 1 to 1,000 tenants")
    return figure


def _matrix_chart(plt: Any, matrix: list[dict], c: int) -> Any:
    stacks = list(dict.fromkeys(r["stack"] for r in matrix))
    kinds = list(dict.fromkeys(r["scenario"].split(": ", 1)[1] for r in matrix))
    figure, axes = plt.subplots(figsize=(8, 4))
    width = 0.8 / max(len(kinds), 1)
    for k, kind in enumerate(kinds):
        values = [_matrix_rps(matrix, stack, kind, c) for stack in stacks]
        axes.bar([i + k * width for i in range(len(stacks))], values, width, label=kind)
    axes.set_xticks([i + width * (len(kinds) - 1) / 2 for i in range(len(stacks))], stacks)
    axes.set_ylabel(f"requests/s (wrk, c={c})")
    axes.set_yscale("log")
    axes.legend(fontsize=8)
    axes.set_title("Worker class x MySQL driver")
    return figure


def _matrix_rps(matrix: list[dict], stack: str, kind: str, c: int) -> float:
    found = (r["rps"] for r in matrix if r["stack"] == stack and r["scenario"].endswith(kind) and r["concurrency"] == c)
    return next(found, 0)


def _save(figure: object, directory: Path, name: str) -> str:
    figure.tight_layout()  # type: ignore[attr-defined]
    figure.savefig(directory / name, dpi=90)  # type: ignore[attr-defined]
    return name


def write(data: dict, directory: Path, stamp: datetime) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    prefix = f"{stamp:%Y-%m-%d}-{data['mode']['name']}"
    made = charts(data, directory, prefix)
    (directory / f"{prefix}.json").write_text(json.dumps(data, indent=1, default=str) + "\n")
    (directory / f"{prefix}.md").write_text(markdown(data, made))
    return [directory / f"{prefix}.md", directory / f"{prefix}.json", *(directory / name for name in made.values())]


def main(argv: list[str]) -> int:
    """`python -m benchmarks.report RESULTS.json`: writes the Markdown and the charts again from a run's data."""
    path = Path(argv[0])
    data = json.loads(path.read_text())
    made = charts(data, path.parent, path.stem)
    path.with_suffix(".md").write_text(markdown(data, made))
    print(path.with_suffix(".md"))
    return 0


if __name__ == "__main__":
    import sys

    raise SystemExit(main(sys.argv[1:]))
