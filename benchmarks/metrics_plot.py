"""The dashboard's main series from a short load run, as a PNG (no Grafana here): `python -m benchmarks.metrics_plot`.

Starts the e2e tier's private MariaDB and Redis and the shipped stack (supervisord: nginx -> gunicorn with 2
workers, an rq worker; tests/e2e/stack.running_stack), sends a bounded mixed load through nginx for
RUN_SECONDS (three tenants' requests, unknown AppIDs, a window of failing requests, jobs), scrapes /metrics every
second and plots what the dashboard shows: requests per second by status class, p99 latency by route, registry
lookups by tier, jobs queued and finished. Writes docs/images/metrics-dashboard.png and a summary JSON in
benchmarks/results/.
"""

import json
import os
import random
import shutil
import tempfile
import threading
import time
import uuid
from pathlib import Path

import requests
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.conftest import E2E_TENANTS
from tests.e2e.services import manage, private_mariadb, private_redis, stack_env
from tests.e2e.stack import running_stack

BASE_DIR = Path(__file__).resolve().parent.parent
RUN_SECONDS = 40
FAIL_WINDOW = (15, 25)  # seconds into the run when a share of the requests hits a failing view
CLIENTS = 6
OUT_PNG = BASE_DIR / "docs" / "images" / "metrics-dashboard.png"
OUT_JSON = BASE_DIR / "benchmarks" / "results" / "2026-12-01-metrics-dashboard.json"


def scrape(port: int) -> dict:
    text = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def total(samples: dict, name: str, **labels: str) -> float:
    return sum(v for (n, ls), v in samples.items() if n == name and set(labels.items()) <= set(ls))


def client_loop(port: int, started: float, stop: threading.Event) -> None:
    session = requests.Session()
    while not stop.is_set():
        elapsed = time.monotonic() - started
        roll = random.random()  # noqa: S311
        app_id = random.choice(E2E_TENANTS)  # noqa: S311
        if FAIL_WINDOW[0] <= elapsed < FAIL_WINDOW[1] and roll < 0.2:
            path, headers = "/test/fail", {"X-AppID": app_id}
        elif roll < 0.3:
            path, headers = "/test/users/count", {"X-AppID": app_id}
        elif roll < 0.37:
            path, headers = "/test/whoami", {"X-AppID": "wx0000000000000bad"}  # unknown: 404 before any view
        elif roll < 0.42:
            path, headers = f"/test/enqueue?marker=plot-{uuid.uuid4().hex}", {"X-AppID": app_id}
        else:
            path, headers = "/test/whoami", {"X-AppID": app_id}
        try:
            session.get(f"http://127.0.0.1:{port}{path}", headers=headers, timeout=30)
        except requests.RequestException:
            pass


def run() -> list[tuple[float, dict]]:
    scrapes: list[tuple[float, dict]] = []
    with tempfile.TemporaryDirectory(prefix="miniplex-metrics-plot-") as tmp:
        workdir = Path(tmp)
        with private_mariadb(workdir / "mariadb") as mariadb, private_redis(workdir / "redis") as redis:
            env = stack_env(mariadb, redis)
            manage(env, "migrate", "--noinput", "-v", "0")
            for index, app_id in enumerate(E2E_TENANTS):
                manage(env, "create_tenant", app_id, "--name", f"Plot tenant {index}")
            with running_stack(workdir / "stack", env) as stack:
                stop, started = threading.Event(), time.monotonic()
                clients = [
                    threading.Thread(target=client_loop, args=(stack.nginx_port, started, stop)) for _ in range(CLIENTS)
                ]
                for thread in clients:
                    thread.start()
                try:
                    while time.monotonic() - started < RUN_SECONDS:
                        scrapes.append((time.monotonic() - started, scrape(stack.gunicorn_port)))
                        time.sleep(1)
                finally:
                    stop.set()
                    for thread in clients:
                        thread.join()
                time.sleep(3)
                scrapes.append((time.monotonic() - started, scrape(stack.gunicorn_port)))
                if os.environ.get("METRICS_PLOT_LOGS"):  # where to keep the stack's logs and metrics files
                    shutil.copytree(
                        workdir / "stack",
                        os.environ["METRICS_PLOT_LOGS"],
                        dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns("*.sock"),
                    )
    return scrapes


def rates(scrapes: list[tuple[float, dict]], name: str, **labels: str) -> tuple[list[float], list[float]]:
    times, values = [], []
    for (t0, s0), (t1, s1) in zip(scrapes, scrapes[1:], strict=False):
        times.append(t1)
        values.append((total(s1, name, **labels) - total(s0, name, **labels)) / (t1 - t0))
    return times, values


def p99(scrapes: list[tuple[float, dict]], route: str) -> tuple[list[float], list[float]]:
    """histogram_quantile(0.99) over each 3-scrape window's bucket increases, as the dashboard asks Prometheus."""
    name = "miniplex_http_request_duration_seconds_bucket"
    bounds = sorted(
        {float(dict(ls)["le"]) for (n, ls) in scrapes[-1][1] if n == name and dict(ls).get("route") == route}
    )
    times, values = [], []
    for (_, s0), (t1, s1) in zip(scrapes, scrapes[3:], strict=False):
        counts = [total(s1, name, route=route, le=_le(b)) - total(s0, name, route=route, le=_le(b)) for b in bounds]
        if not counts or counts[-1] <= 0:
            continue
        rank = 0.99 * counts[-1]
        bound = next(b for b, c in zip(bounds, counts, strict=False) if c >= rank)
        times.append(t1)
        values.append(min(bound, 10.0) * 1000)
    return times, values


def _le(bound: float) -> str:
    return "+Inf" if bound == float("inf") else str(bound)


def plot(scrapes: list[tuple[float, dict]]) -> dict:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(2, 2, figsize=(13, 8))
    figure.suptitle("Miniplex dashboard series, 40 s load run through nginx (2 gunicorn workers, 1 rq worker)")
    panel = axes[0][0]
    for status in ("2xx", "4xx", "5xx"):
        panel.plot(*rates(scrapes, "miniplex_http_requests_total", status=status), label=status)
    panel.set_title("Requests per second by status class")
    panel.axvspan(*FAIL_WINDOW, color="red", alpha=0.08, label="failing view window")
    panel.legend()
    panel = axes[0][1]
    routes = sorted(
        {
            dict(ls)["route"]
            for (n, ls) in scrapes[-1][1]
            if n == "miniplex_http_request_duration_seconds_count" and dict(ls)["route"] not in ("metrics", "healthz")
        }
    )
    for route in routes:
        panel.plot(*p99(scrapes, route), label=route)
    panel.set_title("p99 latency by route (ms, bucket upper bound)")
    panel.set_yscale("log")
    panel.legend(fontsize=7)
    panel = axes[1][0]
    for tier in ("local", "shared", "database"):
        panel.plot(*rates(scrapes, "miniplex_tenant_registry_lookups_total", tier=tier), label=tier)
    panel.plot(*rates(scrapes, "miniplex_tenant_refusals_total"), label="refusals (unknown AppID)", linestyle="--")
    panel.set_title("Tenant registry lookups per second by tier")
    panel.legend()
    panel = axes[1][1]
    panel.plot(*rates(scrapes, "miniplex_jobs_queued_total"), label="queued")
    panel.plot(*rates(scrapes, "miniplex_jobs_finished_total"), label="finished")
    panel.plot(*rates(scrapes, "miniplex_jobs_failed_total"), label="failed")
    panel.plot(*rates(scrapes, "miniplex_db_connections_opened_total"), label="new MySQL connections", linestyle=":")
    panel.set_title("Jobs per second; new MySQL connections per second")
    panel.legend()
    for row in axes:
        for cell in row:
            cell.set_xlabel("seconds")
    figure.tight_layout()
    OUT_PNG.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(OUT_PNG, dpi=90)
    last = scrapes[-1][1]
    return {
        "seconds": RUN_SECONDS,
        "clients": CLIENTS,
        "requests_by_status": {s: total(last, "miniplex_http_requests_total", status=s) for s in ("2xx", "4xx", "5xx")},
        "registry_lookups_by_tier": {
            t: total(last, "miniplex_tenant_registry_lookups_total", tier=t) for t in ("local", "shared", "database")
        },
        "tenant_refusals": total(last, "miniplex_tenant_refusals_total"),
        "jobs_queued": total(last, "miniplex_jobs_queued_total"),
        "jobs_finished": total(last, "miniplex_jobs_finished_total"),
        "jobs_failed": total(last, "miniplex_jobs_failed_total"),
        "jobs_queue_wait_seconds_mean": total(last, "miniplex_jobs_queue_wait_seconds_sum")
        / max(1.0, total(last, "miniplex_jobs_queue_wait_seconds_count")),
        "db_connections_opened": total(last, "miniplex_db_connections_opened_total"),
        "series_exposed": len(last),
    }


def main() -> None:
    summary = plot(run())
    OUT_JSON.write_text(json.dumps(summary, indent=2) + "\n")
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
