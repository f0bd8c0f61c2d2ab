"""REDIS_URL with a password and TLS (`rediss://`): caches, the queue and the workers all reach such a Redis.

A Redis of this test's own listens only for TLS, with a throwaway certificate and a password full of the
characters that need percent-encoding in a URL; the shipped gunicorn config and a real rq worker use it.
"""

import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pytest
import redis

from tests.e2e.services import (
    PYTHON,
    get,
    manage,
    running_gunicorn,
    stop_process,
    wait_for,
)
from tests.helpers import BASE_DIR, free_port

PASSWORD = "s3cret/with:chars@and#more"
TLS_TENANT = "wx00000000000000f5"


@dataclass
class TlsRedis:
    port: int
    ca_file: Path

    def url(self, password: str = PASSWORD) -> str:
        return f"rediss://:{quote(password, safe='')}@127.0.0.1:{self.port}/0?ssl_ca_certs={self.ca_file}"


def make_certificate(folder: Path) -> tuple[Path, Path]:
    cert, key = folder / "redis.crt", folder / "redis.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


@pytest.fixture(scope="module")
def tls_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TlsRedis]:
    folder = tmp_path_factory.mktemp("tls-redis")
    cert, key = make_certificate(folder)
    port = free_port()
    process = subprocess.Popen(
        ["redis-server", "--port", "0", "--tls-port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--tls-cert-file", str(cert), "--tls-key-file", str(key),
         "--tls-ca-cert-file", str(cert), "--tls-auth-clients", "no", "--requirepass", PASSWORD],
        cwd=folder,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    server = TlsRedis(port=port, ca_file=cert)
    try:
        wait_for(lambda: _pings(server.url()), seconds=30, what="the TLS Redis")
        yield server
    finally:
        stop_process(process)


def _pings(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_timeout=2).ping())
    except redis.RedisError:
        return False


def test_the_tls_redis_refuses_plain_connections_and_a_wrong_password(tls_redis):
    assert not _pings(f"redis://:{quote(PASSWORD, safe='')}@127.0.0.1:{tls_redis.port}/0")
    assert not _pings(tls_redis.url(password="wrong"))
    assert _pings(tls_redis.url())


@pytest.fixture
def tls_tenant(services, tls_redis) -> Iterator[dict[str, str]]:
    """A tenant of this test's own (its job writes a row, which the other e2e tests' counts must not see)."""
    env = services.env(REDIS_URL=tls_redis.url(), RQ_KEY_PREFIX="rq")
    manage(env, "create_tenant", TLS_TENANT, "--name", "TLS Redis")
    try:
        yield env
    finally:
        manage(env, "drop_tenant", TLS_TENANT, "--yes")


def test_requests_and_jobs_run_on_a_redis_with_a_password_and_tls(tls_tenant, tls_redis, tmp_path):
    env = tls_tenant
    marker = f"tls-{uuid.uuid4().hex}"
    with running_gunicorn(env, tmp_path / "web.log", workers=1) as port:
        ready = get(port, "/readyz")
        assert ready.status_code == 200, ready.text
        assert get(port, "/api/v1/ping", TLS_TENANT).status_code == 200  # the registry's cache: TLS Redis
        enqueued = get(port, f"/test/enqueue?job=record&marker={marker}", TLS_TENANT)
        assert enqueued.status_code == 200, enqueued.text
        job_id = enqueued.json()["job_id"]

    worker = subprocess.run(
        [PYTHON, str(BASE_DIR / "manage.py"), "rqworker", "--burst", "--with-scheduler"],
        env=env,
        cwd=BASE_DIR,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert worker.returncode == 0, worker.stderr[-3000:]
    client = redis.Redis.from_url(tls_redis.url())
    assert client.hget(f"rq:job:{job_id}", "status") == b"finished"
    assert client.dbsize() > 0  # the caches wrote there too, not to some other Redis
