"""The stack under load: MySQL accounts and databases of the benchmark, the fake WeChat server, gunicorn, nginx.

Everything runs on 127.0.0.1 against the local MariaDB (root, no password) and Redis, under names of the
benchmark only (databases `mp_<namespace>_*`, MySQL users `mp_<namespace>_app/_ddl/_ctl`, Redis keys
`miniplex-<namespace>*`), so a run neither reads nor disturbs the test suite's data, and the per-user MySQL
statistics (USER_STATISTICS) count this benchmark's connections and statements only. Every process started
here is our child, started in its own session and stopped by its id in `finally`.
"""

import os
import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import MySQLdb
import requests

from tests.e2e import services as e2e
from tests.e2e.services import stop_process, wait_for
from tests.e2e.stack import nginx_alone
from tests.helpers import free_port

BASE_DIR = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
DEPLOY = BASE_DIR / "deploy"
SHIPPED_GUNICORN_CONF = DEPLOY / "gunicorn.conf.py"
BENCH_GUNICORN_CONF = Path(__file__).with_name("gunicorn.conf.py")
# Debian packages of the tools the benchmark drives.
TOOLS = {"ab": "apache2-utils", "wrk": "wrk", "nginx": "nginx"}
# Raised for load runs: the product's throttles (600/min per user) would answer most requests with 429. Per second,
# not per minute: DRF keeps a list of the timestamps of the window per user in the cache, read and written back
# on every request, so a one-minute window at 1,000 req/s would move a 60,000-entry list each time.
THROTTLE_RATE = "1000000/s"


def ensure_tools() -> None:
    """Installs ab, wrk and nginx with apt-get when they are missing."""
    missing = sorted({package for tool, package in TOOLS.items() if not _which(tool)})
    if not missing:
        return
    print(f"installing {' '.join(missing)} (apt-get)", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing], check=True, env=env)


def _which(tool: str) -> str | None:
    return shutil.which(tool) or next((p for p in (f"/usr/sbin/{tool}", f"/usr/bin/{tool}") if os.path.exists(p)), None)


def nginx_binary() -> str:
    return _which("nginx") or "nginx"


# --- MySQL -----------------------------------------------------------------------------------------------
def mysql_root() -> "MySQLdb.Connection":
    return MySQLdb.connect(host="127.0.0.1", port=3306, user="root", password="", charset="utf8mb4", autocommit=True)


def mysql_rows(sql: str, params: tuple = ()) -> list[tuple]:
    connection = mysql_root()
    try:
        cursor = connection.cursor()
        cursor.execute(sql, params)
        return list(cursor.fetchall())
    finally:
        connection.close()


@dataclass(frozen=True)
class Namespace:
    """Names of one benchmark's databases, users and keys ("bench" for the real run, another for the smoke)."""

    name: str

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[a-z][a-z0-9]{1,20}", self.name):
            raise ValueError(f"namespace must be a short lowercase word: {self.name!r}")

    @property
    def db_prefix(self) -> str:
        return f"mp_{self.name}_"

    @property
    def control_db(self) -> str:
        return f"mp_{self.name}_control"

    def user(self, role: str) -> str:
        return f"mp_{self.name}_{role}"

    @property
    def users(self) -> tuple[str, str]:
        """The users whose statements the requests make: runtime (tenant rows) and control (registry)."""
        return (self.user("app"), self.user("ctl"))

    @property
    def key_prefix(self) -> str:
        return f"miniplex-{self.name}"


def ensure_accounts(ns: Namespace) -> None:
    """The benchmark's MySQL users (runtime rows only, DDL, control) and its control database."""
    like = ns.db_prefix.replace("_", r"\_") + "%"
    statements = []
    # "solo": the single-tenant deployments of the consolidation benchmark (rows only, like "app"), a user of their
    # own so that their MySQL connections are counted apart from Miniplex's.
    roles: list[tuple[str, str | None]] = [("app", "SELECT, INSERT, UPDATE, DELETE"), ("ddl", "ALL PRIVILEGES")]
    roles += [("ctl", None), ("solo", "SELECT, INSERT, UPDATE, DELETE")]
    for role, grant in roles:
        user = ns.user(role)
        for host in ("127.0.0.1", "localhost"):
            statements.append(f"CREATE USER IF NOT EXISTS '{user}'@'{host}' IDENTIFIED BY '{user}'")
            if grant:
                statements.append(f"GRANT {grant} ON `{like}`.* TO '{user}'@'{host}'")
            else:
                statements.append(f"GRANT ALL PRIVILEGES ON `{ns.control_db}`.* TO '{user}'@'{host}'")
    statements.append(
        f"CREATE DATABASE IF NOT EXISTS `{ns.control_db}` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"
    )
    connection = mysql_root()
    try:
        cursor = connection.cursor()
        for statement in statements:
            cursor.execute(statement)
    finally:
        connection.close()


def drop_namespace(ns: Namespace) -> int:
    """--cleanup: drops every database of the namespace, its users and its Redis keys; the number of databases."""
    like = ns.db_prefix.replace("_", r"\_") + "%"
    names = [name for (name,) in mysql_rows("SHOW DATABASES LIKE %s", (like,))]
    connection = mysql_root()
    try:
        cursor = connection.cursor()
        for name in names:
            if re.fullmatch(rf"{re.escape(ns.db_prefix)}[A-Za-z0-9_]+", name):
                cursor.execute(f"DROP DATABASE `{name}`")
        for role in ("app", "ddl", "ctl", "solo"):
            for host in ("127.0.0.1", "localhost"):
                cursor.execute(f"DROP USER IF EXISTS '{ns.user(role)}'@'{host}'")
    finally:
        connection.close()
    redis_delete_prefix(ns.key_prefix)
    return len(names)


def redis_delete_prefix(prefix: str) -> None:
    import redis

    client = redis.Redis(host="127.0.0.1", port=6379)
    for pattern in (f"{prefix}:*", f"{prefix}-rq:*"):
        batch = list(client.scan_iter(match=pattern, count=1000))
        for start in range(0, len(batch), 500):
            client.delete(*batch[start : start + 500])


def stack_env(ns: Namespace, *, wechat_port: int, pool_size: int, **extra: str) -> dict[str, str]:
    """The environment of every process of the stack: test settings on the benchmark's names."""
    db = "127.0.0.1:3306"
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "TENANT_", "DB_", "GUNICORN_"))}
    clean.pop("MINIPLEX_TEST_RUN", None)
    env = {
        **clean,
        "DJANGO_SETTINGS_MODULE": "benchmarks.apps.settings",
        "CONTROL_DATABASE_URL": f"mysql://{ns.user('ctl')}:{ns.user('ctl')}@{db}/{ns.control_db}",
        "TENANT_DB_MAIN_URL": f"mysql://{ns.user('app')}:{ns.user('app')}@{db}/",
        "TENANT_DB_MAIN_DDL_URL": f"mysql://{ns.user('ddl')}:{ns.user('ddl')}@{db}/",
        "TENANT_DB_PREFIX": ns.db_prefix,
        "REDIS_URL": "redis://127.0.0.1:6379/0",
        "CACHE_KEY_PREFIX": ns.key_prefix,
        "RQ_KEY_PREFIX": f"{ns.key_prefix}-rq",
        "DB_POOL_SIZE": str(pool_size),
        "API_THROTTLE_RATE_USER": THROTTLE_RATE,
        "API_THROTTLE_RATE_ANON": THROTTLE_RATE,
        # Like the throttles, lifted for the load: 1,000 clients of one tenant on 2 workers would be past the
        # per-worker bound of one tenant's requests in progress (tenants.fair_requests, docs/fairness.md).
        "TENANT_MAX_CONCURRENT_PER_WORKER": "0",
        "WECHAT_API_BASE": f"http://127.0.0.1:{wechat_port}",
        "LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(BASE_DIR),
        "PYTHONUNBUFFERED": "1",
    }
    env.update(extra)
    return env


def manage(env: dict[str, str], *args: str, timeout: float = 600) -> str:
    """tests/e2e's manage.py runner, with room for migrating and provisioning many tenants."""
    return e2e.manage(env, *args, timeout=timeout)


# --- Processes -------------------------------------------------------------------------------------------
@contextmanager
def child(argv: list[str], *, env: dict[str, str], log: Path, sig: int = signal.SIGTERM) -> Iterator[subprocess.Popen]:
    with open(log, "ab") as out:
        process = subprocess.Popen(
            argv, env=env, cwd=BASE_DIR, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        yield process
    finally:
        stop_process(process, sig=sig, timeout=30, group=True)


def wait_until_answers(url: str, *, process: subprocess.Popen, seconds: float = 60, log: Path | None = None) -> None:
    def answers() -> bool:
        if process.poll() is not None:
            tail = log.read_text(errors="replace")[-3000:] if log else ""
            argv = process.args if isinstance(process.args, list | tuple) else [process.args]
            raise RuntimeError(f"{list(argv)[:4]} exited with {process.returncode}:\n{tail}")
        try:
            return requests.get(url, timeout=2).status_code < 500
        except requests.RequestException:
            return False

    wait_for(answers, seconds=seconds, what=url)


def worker_pids(master_pid: int) -> list[int]:
    result = subprocess.run(["ps", "-o", "pid=", "--ppid", str(master_pid)], capture_output=True, text=True)
    return [int(pid) for pid in result.stdout.split()]


def rss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except FileNotFoundError:
        pass
    return 0


@dataclass
class Gunicorn:
    """A running gunicorn: its port, master process and access log (one line per request: status and bytes)."""

    label: str
    port: int
    process: subprocess.Popen
    access_log: Path
    settings: dict[str, str] = field(default_factory=dict)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def workers_rss_kib(self) -> list[int]:
        return [rss_kib(pid) for pid in worker_pids(self.process.pid)]


@contextmanager
def running_gunicorn(
    label: str,
    env: dict[str, str],
    workdir: Path,
    *,
    app: str | None = None,
    conf: Path = SHIPPED_GUNICORN_CONF,
    extra_env: dict[str, str] | None = None,
) -> Iterator[Gunicorn]:
    """gunicorn -c <conf> [app] on a free port (GUNICORN_BIND), its access log in the work directory."""
    port = free_port()
    access_log = workdir / f"access-{label}.log"
    env = {
        **env,
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "GUNICORN_ACCESS_LOG": str(access_log),
        "GUNICORN_ERROR_LOG": str(workdir / f"error-{label}.log"),
        **(extra_env or {}),
    }
    argv = [PYTHON, "-m", "gunicorn", "-c", str(conf), *([app] if app else [])]
    log = workdir / f"gunicorn-{label}.out"
    with child(argv, env=env, log=log) as process:
        wait_until_answers(f"http://127.0.0.1:{port}/healthz", process=process, log=workdir / f"error-{label}.log")
        settings = {k: v for k, v in env.items() if k.startswith(("GUNICORN_", "DB_", "BENCH_", "MINIPLEX_DB"))}
        yield Gunicorn(label=label, port=port, process=process, access_log=access_log, settings=settings)


# --- nginx -----------------------------------------------------------------------------------------------
@contextmanager
def running_nginx(workdir: Path, gunicorn_port: int) -> Iterator[int]:
    """The shipped site in front of gunicorn, as tests/e2e runs it, sized as Debian ships nginx in spirit (a
    worker per core) with room for 1,000 clients and their upstream connections; its logs in the work directory."""
    with nginx_alone(
        workdir,
        upstream_port=gunicorn_port,
        log_dir=workdir,
        output=workdir / "nginx.out",
        worker_processes="auto",
        worker_connections=8192,
        rlimit_nofile=16384,
    ) as port:
        e2e.wait_until_answers(port, "/healthz", seconds=60)
        yield port


# --- The fake WeChat server ------------------------------------------------------------------------------
@contextmanager
def running_fake_wechat(workdir: Path) -> Iterator[int]:
    port = free_port()
    argv = [PYTHON, "-m", "wechat.fake_server", "--port", str(port)]
    env = {**os.environ, "PYTHONPATH": str(BASE_DIR)}
    with child(argv, env=env, log=workdir / "fake-wechat.out") as process:
        wait_until_answers(f"http://127.0.0.1:{port}/__control__/counters?appid=x", process=process)
        yield port


def run_module(env: dict[str, str], module: str, *args: str, timeout: float, what: str) -> str:
    """`python -m MODULE ARGS` in the stack's environment; its standard output. Fails naming `what` and stderr."""
    completed = subprocess.run(
        [PYTHON, "-m", module, *args], env=env, cwd=BASE_DIR, capture_output=True, text=True, timeout=timeout
    )
    if completed.returncode != 0:
        raise RuntimeError(f"{what} failed:\n{completed.stderr[-4000:]}")
    return completed.stdout
