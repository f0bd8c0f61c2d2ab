"""Real `manage.py rqworker` processes for the worker tests, on a queue of their own, always cleaned up."""

import os
import signal
import subprocess
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast

from django.conf import settings
from rq import Queue, Worker
from rq.exceptions import InvalidJobOperation, NoSuchJobError
from rq.job import JobStatus
from rq.registry import (
    FailedJobRegistry,
    FinishedJobRegistry,
    ScheduledJobRegistry,
    StartedJobRegistry,
)

from tenants.jobs import TenantJob, get_connection
from tests.helpers import BASE_DIR, PYTHON, subprocess_env

# Short heartbeats so that a killed worker's job is found in seconds (production: 10 + 20 + 30 s).
FAST_RECOVERY_ENV = {
    "JOBS_HEARTBEAT_SECONDS": "1",
    "JOBS_HEARTBEAT_GRACE_SECONDS": "2",
    "JOBS_MAINTENANCE_SECONDS": "2",
}


def use_test_queue(settings_fixture: Any) -> str:
    """Points this test's process at a queue of its own (the workers get the same name in their environment)."""
    name = f"test-{uuid.uuid4().hex[:12]}"
    settings_fixture.JOBS_QUEUE = name
    settings_fixture.RQ_QUEUES = {name: {"URL": settings.REDIS_URL, "DEFAULT_TIMEOUT": 60}}
    settings_fixture.JOBS_RETRY_MAX = 3
    settings_fixture.JOBS_RETRY_INTERVALS = [1]
    return name


def jobs_queue() -> Queue:
    return Queue(settings.JOBS_QUEUE, connection=get_connection(), job_class=TenantJob)


def descendants(pid: int) -> list[int]:
    """Every living descendant of pid (work horses call setpgrp, so a process group would miss them)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    found, pending = [], [pid]
    while pending:
        for child in children.get(pending.pop(), []):
            found.append(child)
            pending.append(child)
    return found


def _kill(pids: list[int]) -> None:
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


class WorkerProcess:
    def __init__(self, queue: str, name: str, log_path: Path, env: dict[str, str]) -> None:
        self.name = name
        self.log_path = log_path
        argv = [PYTHON, str(BASE_DIR / "manage.py"), "rqworker", queue, "--with-scheduler", "--name", name]
        with log_path.open("w") as log:
            self.process = subprocess.Popen(argv, env=env, cwd=BASE_DIR, stdout=log, stderr=subprocess.STDOUT)
        self.family: set[int] = set()

    @property
    def pid(self) -> int:
        return self.process.pid

    def horse_pid(self) -> int | None:
        """The work horse running a job now: the child that made itself a process group (the scheduler did not)."""
        horses = [pid for pid in _children(self.pid) if _process_group(pid) == pid]
        return horses[0] if horses else None

    def remember_family(self) -> None:
        self.family.update(descendants(self.pid))

    def stop(self, timeout: float = 20) -> None:
        """TERM (a warm shutdown: the current job finishes first), then KILL whatever is left of it."""
        self.remember_family()
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        _kill(sorted(self.family | set(descendants(self.pid))))

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


def _children(pid: int) -> list[int]:
    try:
        return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _process_group(pid: int) -> int | None:
    try:
        return os.getpgid(pid)
    except ProcessLookupError:
        return None


@contextmanager
def running_workers(count: int, log_dir: Path, **env: str) -> Iterator[list[WorkerProcess]]:
    """`count` rqworker processes on this test's queue, registered in Redis; all stopped afterwards."""
    queue = settings.JOBS_QUEUE
    worker_env = subprocess_env(JOBS_QUEUE=queue, **env)
    workers = [WorkerProcess(queue, f"{queue}-w{i}", log_dir / f"worker-{i}.log", worker_env) for i in range(count)]
    try:
        wait_for(lambda: _registered(queue) >= count, 60, lambda: "workers did not start:\n" + _logs(workers))
        yield workers
    finally:
        for worker in workers:
            worker.stop()


def _registered(queue: str) -> int:
    return Worker.count(connection=get_connection(), queue=Queue(queue, connection=get_connection()))


def _logs(workers: list[WorkerProcess]) -> str:
    return "\n".join(f"--- {worker.name}\n{worker.log()[-3000:]}" for worker in workers)


def wait_for(condition: Callable[[], bool], seconds: float, message: Callable[[], str] | str = "") -> float:
    """Polls until condition() is true; returns the seconds it took, fails after `seconds`."""
    start = time.monotonic()
    while not condition():
        if time.monotonic() - start > seconds:
            raise AssertionError(message() if callable(message) else message or "timed out")
        time.sleep(0.05)
    return time.monotonic() - start


def fetch(job_id: str) -> TenantJob:
    return cast(TenantJob, TenantJob.fetch(job_id, connection=get_connection()))


def status(job_id: str) -> JobStatus | None:
    try:
        return fetch(job_id).get_status()
    except (NoSuchJobError, InvalidJobOperation):  # not enqueued (yet), or expired
        return None


def ended_count() -> int:
    """Jobs of this test's queue that finished or failed for good."""
    queue = jobs_queue()
    return FinishedJobRegistry(queue=queue).count + FailedJobRegistry(queue=queue).count


def registries_holding(job_id: str) -> list[str]:
    """Where rq keeps the job now (the queue or its registries), read in one MULTI so a move is never missed."""
    queue = jobs_queue()
    registries = {
        "started": StartedJobRegistry(queue=queue),
        "scheduled": ScheduledJobRegistry(queue=queue),
        "failed": FailedJobRegistry(queue=queue),
        "finished": FinishedJobRegistry(queue=queue),
    }
    with queue.connection.pipeline(transaction=True) as pipeline:
        pipeline.lrange(queue.key, 0, -1)
        for registry in registries.values():
            pipeline.zrange(registry.key, 0, -1)
        queued, *members = pipeline.execute()
    places = ["queued"] if job_id.encode() in queued else []
    for place, entries in zip(registries, members, strict=True):
        # The started registry holds "<job id>:<execution id>" entries.
        if any(entry.decode().split(":")[0] == job_id for entry in entries):
            places.append(place)
    return places
