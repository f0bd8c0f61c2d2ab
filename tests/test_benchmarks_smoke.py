"""The benchmark command runs end to end: `python -m benchmarks --smoke`, a few seconds of every kind of scenario.

Not a speed test: nothing here looks at how fast anything was (speed goals live in benchmarks/ and its report).
It checks that the stack starts and stops, that every scenario got answers, and that the report is written.
"""

import json
import math
import os
import re
import subprocess

import pytest

from tests.helpers import BASE_DIR, PYTHON

# It starts the whole benchmark (gunicorn, nginx, workers, ab and wrk) for a minute or two.
pytestmark = pytest.mark.slow

REPORT_SECTIONS = (
    "## Machine",
    "## What ran",
    "## Summary against the targets",
    "## Requests/s at each concurrency",
    "## Rounds (the targets' figures)",
    "## What one request costs (query count)",
    '## Why ab reports "failed requests" while gunicorn logs only 200s',
    "## Baselines",
    "## Tenant endpoints, straight to gunicorn",
    "## Through nginx",
    "## Tenants: 1 to 1,000, requests spread over them",
    "## Worker class x driver",
    "## Exceptions in the servers' logs",
    "## MySQL connections and worker memory",
    "## Jobs",
    "## Provisioning the tenants",
    "## Profile of /me's hot path",
)


def _namespace() -> str:
    """The smoke run's own databases, MySQL users and keys, apart from the real benchmark's and other test runs'."""
    run = re.sub(r"[^a-z0-9]", "", os.environ.get("MINIPLEX_TEST_RUN", "").lower())[:12]
    return f"bsmoke{run}"


def _benchmark(*args: str, timeout: int) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(BASE_DIR)}
    return subprocess.run(
        [PYTHON, "-m", "benchmarks", *args], cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=timeout
    )


def test_the_benchmark_command_runs_every_kind_of_scenario_and_writes_its_report(tmp_path):
    results = tmp_path / "results"
    namespace = _namespace()
    try:
        completed = _benchmark(
            "--smoke", "--namespace", namespace, "--results-dir", str(results), "--workdir", str(tmp_path / "work"),
            timeout=400,
        )  # fmt: skip
    finally:
        cleanup = _benchmark("--cleanup", "--namespace", namespace, timeout=120)
    assert completed.returncode == 0, completed.stdout[-4000:] + completed.stderr[-4000:]
    assert cleanup.returncode == 0, cleanup.stderr[-2000:]

    (report,) = results.glob("*-smoke.md")
    text = report.read_text()
    for section in REPORT_SECTIONS:
        assert section in text, section
    assert f"{os.cpu_count()} x " in text  # the machine's CPU count and model
    for chart in ("rps", "p99", "tenants", "matrix"):
        assert (results / report.name.replace(".md", f"-{chart}.png")).stat().st_size > 0
        assert f"({report.stem}-{chart}.png)" in text

    data = json.loads(report.with_suffix(".json").read_text())
    runs = data["runs"]
    assert {run["group"] for run in runs} == {"baseline", "tenant", "nginx", "tenants", "rounds", "matrix"}
    assert {run["tool"] for run in runs} == {"ab -t", "ab -n", "wrk"}
    assert all(run["requests"] > 0 for run in runs), [run for run in runs if not run["requests"]]
    assert all(sum(run["statuses"].values()) > 0 for run in runs)  # gunicorn logged every run's requests
    assert data["samples"]["/api/v1/me"]["mysql"]["select_commands"] > 0
    assert data["length_demo"]["result"]["failures"]["length"] > 0
    assert {kind: job["jobs"] for kind, job in data["jobs"].items()} == {"plain": 5, "django": 5, "tenant": 5}
    assert data["jobs_fork_cost"]["fork_exit_ms"] > 0
    assert data["profile"]["requests"] > 0


# The rows `--targets` prints, by the start of their names (the spread's tenant count varies with the tenants there).
TARGET_ROWS = (
    "/me: Miniplex vs the same /me in a single-tenant Django+DRF app",
    "ping: Miniplex vs the same DRF view without tenancy",
    "/me: Miniplex vs bare WSGI",
    "DB+Redis /me vs ping",
    "tail p99/p50, ping, straight to gunicorn",
    "tail p99/p50, /me, straight to gunicorn",
    "tail p99/p50, ping, through nginx",
    "tail p99/p50, /me, through nginx",
    "ping spread over",
    "/me spread over",
    "consolidation (3 tenants): total RSS",
    "consolidation (3 tenants): MySQL connections open (peak)",
    "consolidation (3 tenants): req/s, ping, uniform",
    "consolidation (3 tenants): p99, ping, uniform",
    "consolidation (3 tenants): req/s, /me, uniform",
    "consolidation (3 tenants): p99, /me, uniform",
    "consolidation (3 tenants): req/s, ping, zipf",
    "consolidation (3 tenants): p99, ping, zipf",
    "consolidation (3 tenants): req/s, /me, zipf",
    "consolidation (3 tenants): p99, /me, zipf",
    "jobs: tenant-tagged",
)


def test_the_targets_command_measures_every_target_and_writes_its_table(tmp_path):
    results = tmp_path / "results"
    namespace = _namespace() + "t"
    try:
        completed = _benchmark(
            "--smoke-of", "targets", "--namespace", namespace, "--results-dir", str(results),
            "--workdir", str(tmp_path / "work"), timeout=600,
        )  # fmt: skip
    finally:
        cleanup = _benchmark("--cleanup", "--namespace", namespace, timeout=120)
    assert completed.returncode == 0, completed.stdout[-4000:] + completed.stderr[-4000:]
    assert cleanup.returncode == 0, cleanup.stderr[-2000:]

    (report,) = results.glob("*-targets-smoke.md")
    data = json.loads(report.with_suffix(".json").read_text())
    names = [row["target"] for row in data["rows"]]
    for expected in TARGET_ROWS:
        matching = [name for name in names if name.startswith(expected)]
        assert matching, (expected, names)
    for row in data["rows"]:
        assert row["measured"] is not None and math.isfinite(row["measured"]) and row["measured"] > 0, row
        assert row["verdict"] == "met" or row["verdict"].startswith("missed by "), row
        assert f"| {row['target']} |" in report.read_text()
    # Every side of the consolidation served its requests without errors (3 deployments, one per tenant).
    runs = data["consolidation"]["runs"]
    assert {run["side"] for run in runs} == {"miniplex", "deployments"}
    assert all(run["requests"] > 0 and sum(run["failures"].values()) == 0 for run in runs), runs
    assert data["consolidation"]["idle"]["deployments"]["processes"] == 6  # 3 masters, 3 workers
    assert "| target | measured | goal | verdict | detail |" in completed.stdout
