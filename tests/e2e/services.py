"""Throwaway servers for the end-to-end tests, all on 127.0.0.1 and under one temporary directory.

A private MariaDB and a private Redis (so that stopping them never touches the shared ones), an sshd with its
own keys, nginx and supervisord with the shipped configs (paths filled in). Each is started by a context
manager that stops it in `finally`, whatever happens.
"""

import json
import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import requests

from tests.helpers import BASE_DIR, PYTHON, free_port

VENV_BIN = Path(PYTHON).parent
MYSQL_ACCOUNTS_SQL = BASE_DIR / "scripts" / "mysql-accounts.sql"


def wait_for(check, *, seconds: float, what: str) -> None:  # noqa: ANN001
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.1)
    raise TimeoutError(f"{what} not ready after {seconds} s")


def stop_process(
    process: subprocess.Popen, *, sig: int = signal.SIGTERM, timeout: float = 20, group: bool = False
) -> None:
    """Stops a child: `sig`, then SIGKILL after `timeout` s. `group`: the child was started in a session of its
    own (start_new_session), and its whole process group gets SIGKILL last, for workers it may have left."""
    if process.poll() is None:
        process.send_signal(sig)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
    if group:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    process.wait(timeout=10)


# --- MariaDB ---------------------------------------------------------------------------------------------
@dataclass
class PrivateMariaDB:
    workdir: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None
    # Another address than loopback: the root namespace's end of the fleet test's bridge (tests/e2e/netns.py).
    bind_address: str = "127.0.0.1"

    @property
    def socket(self) -> Path:
        return self.workdir / "mysqld.sock"

    @property
    def tmpdir(self) -> Path:
        """Its own: a mariadbd removes the `#sql*` files it finds in its tmpdir when it starts, and in the shared
        /tmp those are the machine's MariaDB's temporary tables (seen: "Error on delete of
        '/tmp/#sql-temptable...'")."""
        path = self.workdir / "tmp"
        path.mkdir(parents=True, exist_ok=True)
        return path

    def install(self) -> None:
        subprocess.run(
            [
                "mariadb-install-db",
                "--no-defaults",
                f"--datadir={self.workdir / 'data'}",
                f"--tmpdir={self.tmpdir}",
                "--user=root",
                "--auth-root-authentication-method=normal",
                "--skip-test-db",
            ],
            check=True,
            capture_output=True,
            timeout=180,
        )

    def start(self) -> None:
        log = open(self.workdir / "mariadbd.log", "ab")  # noqa: SIM115 - kept open by the child
        self.process = subprocess.Popen(
            [
                "mariadbd",
                "--no-defaults",
                f"--datadir={self.workdir / 'data'}",
                f"--socket={self.socket}",
                f"--tmpdir={self.tmpdir}",
                f"--port={self.port}",
                f"--bind-address={self.bind_address}",
                "--user=root",
                "--skip-name-resolve",
                "--skip-log-bin",
                "--innodb-buffer-pool-size=64M",
                "--max-connections=151",
                f"--pid-file={self.workdir / 'mariadbd.pid'}",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        wait_for(self.answers, seconds=60, what="private MariaDB")

    def answers(self) -> bool:
        if self.process is not None and self.process.poll() is not None:
            raise RuntimeError(f"mariadbd exited: {(self.workdir / 'mariadbd.log').read_text()[-2000:]}")
        result = subprocess.run(
            ["mariadb-admin", "--no-defaults", f"--socket={self.socket}", "-uroot", "ping"],
            capture_output=True,
            timeout=10,
        )
        return result.returncode == 0

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process, timeout=60)
            self.process = None

    def sql(self, statements: str) -> str:
        result = subprocess.run(
            ["mariadb", "--no-defaults", f"--socket={self.socket}", "-uroot", "-N", "-B"],
            input=statements,
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        return result.stdout

    def allow_clients(self, host_pattern: str) -> None:
        """root and the project's accounts also from `host_pattern` (a fleet's web hosts: '10.1.2.%')."""
        accounts = MYSQL_ACCOUNTS_SQL.read_text().replace("'127.0.0.1'", f"'{host_pattern}'")
        self.sql(
            f"CREATE USER IF NOT EXISTS 'root'@'{host_pattern}';"
            f"GRANT ALL PRIVILEGES ON *.* TO 'root'@'{host_pattern}' WITH GRANT OPTION;" + accounts
        )

    def status(self, name: str) -> int:
        """A global status counter, e.g. Connections or Threads_connected (this query's own connection included)."""
        return int(self.sql(f"SHOW GLOBAL STATUS LIKE '{name}'").split()[1])

    def bootstrap(self) -> None:
        """root over TCP with no password (as the shared test server), the project's accounts, the control DB."""
        self.sql(
            "CREATE USER IF NOT EXISTS 'root'@'127.0.0.1';"
            "GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION;"
            "CREATE DATABASE IF NOT EXISTS miniplex_control CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;"
            + MYSQL_ACCOUNTS_SQL.read_text()
        )


@contextmanager
def private_mariadb(workdir: Path, *, bind_address: str = "127.0.0.1") -> Iterator[PrivateMariaDB]:
    workdir.mkdir(parents=True, exist_ok=True)
    server = PrivateMariaDB(workdir, bind_address=bind_address)
    try:
        server.install()
        server.start()
        server.bootstrap()
        yield server
    finally:
        server.stop()


# --- Redis -----------------------------------------------------------------------------------------------
@dataclass
class PrivateRedis:
    workdir: Path
    port: int = field(default_factory=free_port)
    process: subprocess.Popen | None = None
    bind_address: str = "127.0.0.1"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                "redis-server",
                *("--port", str(self.port), "--bind", self.bind_address),
                *("--save", "", "--appendonly", "no"),
                # Without a password Redis answers loopback only; another address is a test's own bridge.
                *("--protected-mode", "yes" if self.bind_address == "127.0.0.1" else "no"),
            ],
            cwd=self.workdir,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for(self.answers, seconds=30, what="private Redis")

    def answers(self) -> bool:
        result = subprocess.run(
            ["redis-cli", "-h", self.bind_address, "-p", str(self.port), "ping"],
            capture_output=True,
            text=True,
            timeout=5,
        )
        return result.stdout.strip() == "PONG"

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process)
            self.process = None


@contextmanager
def private_redis(workdir: Path, *, bind_address: str = "127.0.0.1") -> Iterator[PrivateRedis]:
    workdir.mkdir(parents=True, exist_ok=True)
    server = PrivateRedis(workdir, bind_address=bind_address)
    try:
        server.start()
        yield server
    finally:
        server.stop()


# --- The project's environment on the private servers ----------------------------------------------------
def stack_env(mariadb: PrivateMariaDB, redis: PrivateRedis, **extra: str) -> dict[str, str]:
    """Production settings (tests.e2e.settings = master + test views) on the private MariaDB and Redis."""
    database = f"{mariadb.bind_address}:{mariadb.port}"
    clean = {key: value for key, value in os.environ.items() if not key.startswith(("DJANGO_", "TENANT_", "DB_"))}
    return {
        **clean,
        "DJANGO_SETTINGS_MODULE": "tests.e2e.settings",
        "DJANGO_SECRET_KEY": "e2e-only-not-secret",
        "CONTROL_DATABASE_URL": f"mysql://root@{database}/miniplex_control",
        "TENANT_DB_MAIN_URL": f"mysql://miniplex_app:miniplex_app@{database}/",
        "TENANT_DB_MAIN_DDL_URL": f"mysql://miniplex_ddl:miniplex_ddl@{database}/",
        "TENANT_SECRETS_KEYS": "dGVzdC1vbmx5LWtleS1mb3ItbWluaXBsZXgtdGVzdHM=",
        "REDIS_URL": f"redis://{redis.bind_address}:{redis.port}/0",
        "DB_POOL_SIZE": "4",
        "PYTHONPATH": str(BASE_DIR),
        "PYTHONUNBUFFERED": "1",
        **extra,
    }


def manage(env: dict[str, str], *args: str, timeout: float = 180) -> str:
    """manage.py <args> in a process of its own with `env`; its output, or RuntimeError with the tails of both."""
    result = subprocess.run(
        [PYTHON, str(BASE_DIR / "manage.py"), *args],
        env=env,
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if result.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stdout[-4000:]}\n{result.stderr[-8000:]}")
    return result.stdout


# --- HTTP ------------------------------------------------------------------------------------------------
def get(port: int, path: str, app_id: str | None = None, **headers: str) -> requests.Response:
    if app_id is not None:
        headers["X-AppID"] = app_id
    return requests.get(f"http://127.0.0.1:{port}{path}", headers=headers, timeout=30)


def wait_until_answers(port: int, path: str = "/healthz", *, seconds: float = 60, status: int = 200) -> None:
    def answers() -> bool:
        try:
            return get(port, path).status_code == status
        except requests.RequestException:
            return False

    wait_for(answers, seconds=seconds, what=f"127.0.0.1:{port}{path}")


def run_load(spec: dict) -> dict:
    """tests/e2e/load.py in its own process; its summary."""
    result = subprocess.run(
        [PYTHON, str(Path(__file__).with_name("load.py")), json.dumps(spec)],
        capture_output=True,
        text=True,
        timeout=spec.get("limit", 300) + 60,
        cwd=BASE_DIR,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout)


@contextmanager
def started_load(spec: dict) -> Iterator[subprocess.Popen]:
    """The same, in the background; the caller reads the summary with `load_summary` after the block's work."""
    process = subprocess.Popen(
        [PYTHON, str(Path(__file__).with_name("load.py")), json.dumps(spec)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=BASE_DIR,
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def load_summary(process: subprocess.Popen, *, timeout: float) -> dict:
    stdout, stderr = process.communicate(timeout=timeout)
    assert process.returncode == 0, stderr[-3000:]
    return json.loads(stdout)


# --- gunicorn --------------------------------------------------------------------------------------------
GUNICORN_CONF = BASE_DIR / "deploy" / "gunicorn.conf.py"


@contextmanager
def running_gunicorn(env: dict[str, str], log_path: Path, *, workers: int) -> Iterator[int]:
    """gunicorn with the shipped config on a free port, its output in a file (a pipe nobody reads would fill
    up and block the workers); the port. Always stopped."""
    port = free_port()
    argv = [PYTHON, "-m", "gunicorn", "-c", str(GUNICORN_CONF), "-b", f"127.0.0.1:{port}", "-w", str(workers)]
    with open(log_path, "ab") as log:
        process = subprocess.Popen(argv, env=env, cwd=BASE_DIR, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_until_answers(port, seconds=60)
        yield port
    finally:
        stop_process(process, timeout=40)


# --- sshd ------------------------------------------------------------------------------------------------
@dataclass
class PrivateSshd:
    port: int
    client_key: Path


@contextmanager
def private_sshd(
    workdir: Path, *, address: str = "127.0.0.1", port: int | None = None, launcher: Sequence[str] = ()
) -> Iterator[PrivateSshd]:
    """sshd on 127.0.0.1 with its own host key, letting in root with a key made here (and nothing else).

    A fleet's host: its `address` and `port` in a namespace, started through `launcher` (NetnsHost.command).
    """
    workdir.mkdir(parents=True, exist_ok=True)
    host_key, client_key = workdir / "host_ed25519", workdir / "client_ed25519"
    for key in (host_key, client_key):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True, timeout=30)
    authorized = workdir / "authorized_keys"
    authorized.write_text(Path(f"{client_key}.pub").read_text())
    authorized.chmod(0o600)
    port = port or free_port()
    config = workdir / "sshd_config"
    config.write_text(
        f"""Port {port}
ListenAddress {address}
HostKey {host_key}
PidFile {workdir / "sshd.pid"}
AuthorizedKeysFile {authorized}
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
Subsystem sftp internal-sftp
"""
    )
    Path("/run/sshd").mkdir(exist_ok=True)  # sshd's privilege separation directory
    with open(workdir / "sshd.log", "ab") as log:
        argv = [*launcher, "/usr/sbin/sshd", "-D", "-e", "-f", str(config)]
        process = subprocess.Popen(argv, stdout=log, stderr=log)
    try:
        wait_for(lambda: port_accepts(port, host=address), seconds=30, what="sshd")
        yield PrivateSshd(port=port, client_key=client_key)
    finally:
        stop_process(process)


def port_accepts(port: int, *, host: str = "127.0.0.1") -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex((host, port)) == 0


@contextmanager
def watching_peak(measure: Callable[[], int]) -> Iterator[list[int]]:
    """Samples `measure` every 50 ms in a thread while the block runs; the list's one item is the peak."""
    peak = [0]
    stop = threading.Event()

    def watch() -> None:
        while not stop.is_set():
            peak[0] = max(peak[0], measure())
            stop.wait(0.05)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        yield peak
    finally:
        stop.set()
        watcher.join(timeout=10)
