"""/metrics on the real stack: supervisord with the shipped configs runs nginx -> gunicorn (2 workers) and an rq
worker, each program writing its metrics files to a folder of its own (docs/metrics.md).

One stack for the module; the tests run in file order and leave it serving.
"""

import glob
import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.conftest import E2E_TENANTS, Services
from tests.e2e.services import get, wait_for, wait_until_answers
from tests.e2e.stack import (
    Stack,
    running_stack,
    wait_for_new_pid,
    wait_gone,
    worker_pids,
)

WEB, WORKER = "miniplex-web", "miniplex-worker:miniplex-worker-00"


@pytest.fixture(scope="module")
def stack(services: Services) -> Iterator[Stack]:
    # running_stack puts each program's metrics folder under <workdir>/metrics (fill_supervisor_programs).
    with running_stack(services.workdir / "metrics-stack", services.env()) as running:
        yield running


def scrape(stack: Stack) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = get(stack.gunicorn_port, "/metrics")
    assert response.status_code == 200
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples: dict, name: str, **labels: str) -> float:
    """The sum of the samples of `name` whose labels include `labels`."""
    return sum(v for (n, ls), v in samples.items() if n == name and set(labels.items()) <= set(ls))


def per_file_counts(folder: Path, name: str, **labels: str) -> dict[str, float]:
    """Each process's own count of one sample, read from its file alone."""
    counts = {}
    for path in glob.glob(str(folder / "counter_*.db")):
        total = sum(
            sample.value
            for family in MultiProcessCollector.merge([path])
            for sample in family.samples
            if sample.name == name and set(labels.items()) <= set(sample.labels.items())
        )
        counts[os.path.basename(path)] = total
    return counts


def healthz_burst(port: int, count: int) -> None:
    # A new connection each (no keep-alive session): the master's accept spreads them over both workers.
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(lambda _: requests.get(f"http://127.0.0.1:{port}/healthz", timeout=30), range(count)))
    assert all(answer.status_code == 200 for answer in answers)


def test_metrics_of_two_gunicorn_workers_and_an_rq_worker_add_up(stack: Stack) -> None:
    healthz = {"route": "healthz", "status": "2xx"}
    before = value(scrape(stack), "miniplex_http_requests_total", **healthz)
    web = stack.supervised.workdir / "metrics" / "web"

    def both_workers_counted() -> bool:
        healthz_burst(stack.gunicorn_port, 40)
        counts = per_file_counts(web, "miniplex_http_requests_total", **healthz)
        return sum(1 for count in counts.values() if count) >= 2

    wait_for(both_workers_counted, seconds=60, what="both gunicorn workers answered /healthz")
    web_counts = per_file_counts(web, "miniplex_http_requests_total", **healthz)
    after = value(scrape(stack), "miniplex_http_requests_total", **healthz)
    assert after == sum(web_counts.values())  # the scrape adds up every worker's file
    assert after - before >= 40

    app_id = E2E_TENANTS[1]
    jobs = [get(stack.nginx_port, f"/test/enqueue?marker=metrics-{n}", app_id).json()["job_id"] for n in range(3)]
    for job_id in jobs:
        wait_for(
            lambda job_id=job_id: get(stack.nginx_port, f"/test/jobs/{job_id}", app_id).json()["status"] == "finished",
            seconds=60,
            what="job finished",
        )
    samples = scrape(stack)
    assert value(samples, "miniplex_jobs_queued_total", tenant=app_id) >= 3  # written by the web workers
    assert value(samples, "miniplex_jobs_finished_total", tenant=app_id) >= 3  # by the rq worker's work horses
    worker_folder = stack.supervised.workdir / "metrics" / "worker-00"
    horse_files = glob.glob(str(worker_folder / "counter_horse-*.db"))
    assert len(horse_files) == 1  # every horse of the worker wrote the same file: none per job
    assert value(samples, "miniplex_http_tenant_requests_total", tenant=app_id) >= 6


def test_metrics_are_refused_through_the_public_nginx_server(stack: Stack) -> None:
    through_nginx = get(stack.nginx_port, "/metrics")
    assert through_nginx.status_code == 404
    assert through_nginx.json()["error"]["code"] == "not_found"
    # gunicorn itself, reached with a proxy's headers, refuses too.
    assert get(stack.gunicorn_port, "/metrics", **{"X-Forwarded-For": "203.0.113.7"}).status_code == 404
    assert get(stack.gunicorn_port, "/metrics").status_code == 200


def test_restarts_keep_the_counters_of_retired_processes(stack: Stack) -> None:
    app_id = E2E_TENANTS[1]
    before = scrape(stack)
    finished = value(before, "miniplex_jobs_finished_total", tenant=app_id)
    requests_before = value(before, "miniplex_http_requests_total")
    assert finished >= 3

    old_worker = stack.supervised.pid(WORKER)
    stack.supervised.ctl("restart", WORKER)
    wait_for_new_pid(stack.supervised, WORKER, old_worker)
    old_web_workers = worker_pids(stack.supervised.pid(WEB))
    stack.supervised.ctl("signal", "HUP", WEB)
    wait_for(
        lambda: len(worker_pids(stack.supervised.pid(WEB)) - old_web_workers) == 2,
        seconds=60,
        what="gunicorn's new workers",
    )
    wait_until_answers(stack.gunicorn_port, "/healthz")

    after = scrape(stack)
    assert value(after, "miniplex_jobs_finished_total", tenant=app_id) == finished
    assert value(after, "miniplex_http_requests_total") > requests_before
    # The retired web workers' live gauges go when the master reaps them (child_exit); their counter files stay.
    web = stack.supervised.workdir / "metrics" / "web"
    wait_gone(old_web_workers, seconds=60)
    wait_for(
        lambda: not any(glob.glob(str(web / f"gauge_livesum_{pid}.db")) for pid in old_web_workers),
        seconds=10,
        what="the retired workers' gauges removed",
    )
    assert any(glob.glob(str(web / f"counter_{pid}.db")) for pid in old_web_workers)
