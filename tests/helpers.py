"""Helpers the tests share: the MySQL admin connection, query counting, subprocesses of the project."""

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import MySQLdb
import requests
from django.conf import settings
from django.db import connections
from django.db.backends.signals import connection_created

BASE_DIR = Path(__file__).resolve().parent.parent
PYTHON = sys.executable

TENANT_A = "wx00000000000000a1"
TENANT_B = "wx00000000000000b2"
TENANT_C = "wx00000000000000c3"
SESSION_TENANTS = (TENANT_A, TENANT_B, TENANT_C)


def session_secret(app_id: str) -> str:
    """The AppSecret every session tenant is provisioned with (and the fake WeChat server knows)."""
    return f"secret-{app_id}"


def mysql_admin() -> Any:
    """A root connection to the local MariaDB, for looking at what the project did (never used by it)."""
    return MySQLdb.connect(
        host=os.environ.get("MYSQL_ADMIN_HOST", "127.0.0.1"),
        port=int(os.environ.get("MYSQL_ADMIN_PORT", "3306")),
        user=os.environ.get("MYSQL_ADMIN_USER", "root"),
        password=os.environ.get("MYSQL_ADMIN_PASSWORD", ""),
        charset="utf8mb4",
    )


def mysql_rows(sql: str, params: tuple = ()) -> list[tuple]:
    connection = mysql_admin()
    try:
        cursor = connection.cursor()
        cursor.execute(sql, params)
        rows = list(cursor.fetchall())
        connection.commit()
        return rows
    finally:
        connection.close()


def tenant_databases_on_server() -> set[str]:
    """This run's tenant databases on the server now: the prefix followed by nothing but an AppID."""
    prefix = settings.TENANT_DB_PREFIX
    like = prefix.replace("_", r"\_") + "%"
    names = {name for (name,) in mysql_rows("SHOW DATABASES LIKE %s", (like,))}
    # Another run's databases (mp_test_<run>_wx...) share the LIKE pattern but not this shape.
    return {name for name in names if re.fullmatch(settings.TENANT_APP_ID_PATTERN, name[len(prefix) :], re.ASCII)}


def schema_templates_on_server() -> set[str]:
    """This run's schema templates (tenants.schema_template) on the server now, whatever their fingerprint."""
    from tenants.schema_template import TEMPLATE_MARKER

    like = f"{settings.TENANT_DB_PREFIX}{TEMPLATE_MARKER}".replace("_", r"\_") + "%"
    return {name for (name,) in mysql_rows("SHOW DATABASES LIKE %s", (like,))}


class QueryLog:
    """Every SQL statement and every new connection on the given aliases, in this thread."""

    def __init__(self) -> None:
        self.queries: list[tuple[str, str]] = []
        self.connections: list[str] = []

    def on_connect(self, sender: Any, connection: Any, **kwargs: Any) -> None:
        self.connections.append(connection.alias)

    def for_alias(self, alias: str) -> list[str]:
        return [sql for logged_alias, sql in self.queries if logged_alias == alias]


@contextmanager
def log_queries(aliases: list[str] | None = None) -> Iterator[QueryLog]:
    """Records queries without opening a connection (unlike CaptureQueriesContext)."""
    log = QueryLog()
    aliases = aliases or list(settings.DATABASES)

    def recorder(alias: str):  # noqa: ANN202
        def wrapper(execute, sql, params, many, context):  # noqa: ANN001, ANN202
            log.queries.append((alias, sql))
            return execute(sql, params, many, context)

        return wrapper

    connection_created.connect(log.on_connect)
    try:
        with ExitStack() as stack:
            for alias in aliases:
                stack.enter_context(connections[alias].execute_wrapper(recorder(alias)))
            yield log
    finally:
        connection_created.disconnect(log.on_connect)


def subprocess_env(**extra: str) -> dict[str, str]:
    """The environment for a child process of the project that shares this test session's databases."""
    control = connections["default"].settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "CONTROL_DATABASE_URL": f"mysql://{control['USER']}@{control['HOST']}:{control['PORT']}/{control['NAME']}",
        "CACHE_KEY_PREFIX": settings.CACHE_KEY_PREFIX,
        "PYTHONPATH": str(BASE_DIR),
    }
    env.update(extra)
    return env


def run_manage(*args: str, env: dict[str, str] | None = None, timeout: int = 120) -> subprocess.CompletedProcess:
    return subprocess.run(
        [PYTHON, str(BASE_DIR / "manage.py"), *args],
        env=env or subprocess_env(),
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=BASE_DIR,
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until_serving(url: str, *, seconds: float = 30, process: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"server exited with {process.returncode}: {process.stdout and process.stdout.read()}")
        try:
            requests.get(url, timeout=1)
            return
        except (requests.ConnectionError, requests.Timeout):  # a worker still booting under load
            time.sleep(0.1)
    raise TimeoutError(f"nothing answers at {url}")


@contextmanager
def running_server(argv: list[str], url: str, env: dict[str, str]) -> Iterator[subprocess.Popen]:
    """Starts a server process, waits until `url` answers, and always stops it."""
    process = subprocess.Popen(argv, env=env, cwd=BASE_DIR, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        wait_until_serving(url, process=process)
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def gunicorn_argv(port: int, *extra: str) -> list[str]:
    return [PYTHON, "-m", "gunicorn", "config.wsgi:application", "-b", f"127.0.0.1:{port}", "-w", "1", *extra]
