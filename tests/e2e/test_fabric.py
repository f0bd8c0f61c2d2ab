"""`fab deploy`, `fab rollback` and `fab status` over SSH (a private sshd on 127.0.0.1) to a deploy root whose
programs run under supervisord with the shipped configs: the new release is served, then the old one again;
a deploy whose step fails leaves `current` where it was.
"""

import hashlib
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.e2e.conftest import E2E_TENANTS, Services
from tests.e2e.services import PrivateSshd, get, private_sshd, wait_for
from tests.e2e.stack import ENV_KEYS, Supervised, checkout_copy, fill_supervisor_programs, supervised, worker_pids
from tests.helpers import BASE_DIR, free_port


@dataclass
class Host:
    sshd: PrivateSshd
    root: Path
    supervised: Supervised
    gunicorn_port: int

    def fab(self, task: str, *args: str) -> subprocess.CompletedProcess:
        from tests.e2e.services import VENV_BIN

        common = [
            "--root",
            str(self.root),
            "--supervisorctl",
            f"{VENV_BIN / 'supervisorctl'} -c {self.supervised.config}",
            "--health-url",
            f"http://127.0.0.1:{self.gunicorn_port}/healthz",
        ]
        argv = [
            str(VENV_BIN / "fab"),
            "-r",
            str(BASE_DIR / "deploy"),
            "-H",
            f"root@127.0.0.1:{self.sshd.port}",
            "-i",
            str(self.sshd.client_key),
            task,
            *common,
            *args,
        ]
        return subprocess.run(argv, capture_output=True, text=True, timeout=300, cwd=BASE_DIR)

    def serving(self) -> str:
        return get(self.gunicorn_port, "/healthz").headers["X-Release"]

    def current(self) -> str:
        return (self.root / "current").resolve().name


@pytest.fixture(scope="module")
def host(services: Services) -> Iterator[Host]:
    workdir = services.workdir / "fab"
    root = workdir / "srv"
    (root / "shared").mkdir(parents=True)
    (root / "venvs").mkdir()
    env = services.env()
    (root / "shared" / ".env").write_text("".join(f"{key}={env[key]}\n" for key in ENV_KEYS))
    # The host already has a virtualenv for these exact pins (making one would download every package).
    pins = hashlib.sha256((BASE_DIR / "requirements/base.txt").read_bytes()).hexdigest()[:16]
    (root / "venvs" / pins).symlink_to(BASE_DIR / ".venv")
    (root / "venvs" / f"{pins}.complete").touch()
    gunicorn_port = free_port()
    supervisor_env = {
        "PATH": os.environ["PATH"],
        "HOME": os.environ.get("HOME", "/root"),
        "LANG": "C.UTF-8",
        "GUNICORN_BIND": f"127.0.0.1:{gunicorn_port}",
        "GUNICORN_WORKERS": "1",
    }
    programs = fill_supervisor_programs(workdir, root=f"{root}/current", settings_module="tests.e2e.settings")
    with (
        private_sshd(workdir / "sshd") as sshd,
        supervised(workdir, supervisor_env, programs_text=programs, nginx=None) as sup,
    ):
        yield Host(sshd=sshd, root=root, supervised=sup, gunicorn_port=gunicorn_port)


def broken_copy(workdir: Path) -> Path:
    """This checkout with settings that fail at start-up: its `migrate` step fails."""
    source = checkout_copy(workdir / "broken-source")
    with open(source / "config" / "settings" / "base.py", "a") as settings:
        settings.write('\nraise RuntimeError("a broken release")\n')
    return source


def test_deploy_then_rollback_serves_the_new_then_the_old_release_and_a_failed_deploy_changes_nothing(host, services):
    first = host.fab("deploy", "--source", str(BASE_DIR), "--release", "r1", "--settings", "tests.e2e.settings")
    assert first.returncode == 0, first.stdout + first.stderr
    assert host.current() == "r1"
    assert host.serving() == "r1"
    assert get(host.gunicorn_port, "/test/users/count", E2E_TENANTS[0]).json()["app_id"] == E2E_TENANTS[0]
    assert host.supervised.state("miniplex-worker:miniplex-worker-00") == "RUNNING"
    master = host.supervised.pid("miniplex-web")

    second = host.fab("deploy", "--source", str(BASE_DIR), "--release", "r2", "--settings", "tests.e2e.settings")
    assert second.returncode == 0, second.stdout + second.stderr
    assert "reloading gunicorn (HUP)" in second.stdout
    assert (host.current(), host.serving()) == ("r2", "r2")
    assert host.supervised.pid("miniplex-web") == master  # a reload, not a restart

    back = host.fab("rollback")
    assert back.returncode == 0, back.stdout + back.stderr
    assert (host.current(), host.serving()) == ("r1", "r1")

    broken = broken_copy(services.workdir / "fab")
    failed = host.fab("deploy", "--source", str(broken), "--release", "r3", "--settings", "tests.e2e.settings")
    assert failed.returncode != 0
    assert "current is unchanged" in failed.stdout
    assert (host.current(), host.serving()) == ("r1", "r1")
    assert not (host.root / "releases" / "r3").exists()

    status = host.fab("status")
    assert status.returncode == 0, status.stderr
    header, row = status.stdout.splitlines()[:2]
    programs = ["miniplex-web", "miniplex-worker", "miniplex-relay"]
    assert header.split() == ["host", "current", "previous", *programs, "readyz"]
    assert row.split() == [f"127.0.0.1:{host.sshd.port}", "r1", "-", "RUNNING", "RUNNING", "RUNNING", "200", "ok"]
    assert "fleet: 1 host(s), all on r1" in status.stdout
    assert worker_pids(master)
    wait_for(lambda: get(host.gunicorn_port, "/readyz").status_code == 200, seconds=10, what="ready")
