"""A fleet of two web hosts deployed with `fab -H web1,web2` while it serves (issue 18, point 2).

Each host is a network namespace (tests/e2e/netns.py) with its own sshd, its own disk at the same deploy root, and
its own supervisord running the shipped programs (gunicorn, an rq worker, the outbox relay); one nginx with the
shipped site has both hosts in its upstream; MariaDB and Redis listen on a third address, the root namespace's end
of the bridge. A steady load goes through nginx during every deploy and rollback and counts each answer that is not
2xx and each socket error. The releases: r1 (this checkout), r2 (other pins, so each host restarts instead of a
HUP), r3 (a release that cannot start on web2).
"""

import base64
import hashlib
import http.client
import re
import secrets
import subprocess
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.e2e.netns import Bridge, NetnsHost, bridged_hosts
from tests.e2e.services import (
    VENV_BIN,
    PrivateMariaDB,
    PrivateSshd,
    manage,
    private_mariadb,
    private_redis,
    private_sshd,
    stack_env,
)
from tests.e2e.stack import ENV_KEYS, Supervised, checkout_copy, fill_supervisor_programs, nginx_alone, supervised
from tests.helpers import BASE_DIR

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

HOSTS = ("web1", "web2")
TENANTS = ("wx00000000000000f1", "wx00000000000000f2")
# A release that does not start on a host whose shared folder has this file: its WSGI app refuses to load, so
# gunicorn's new workers fail to boot (manage.py, and so the deploy's steps before the switch, never load it).
REFUSE_MARKER = "refuse-r3"
REFUSING_WSGI = f"""
from pathlib import Path as _Path

if (_Path(__file__).resolve().parents[3] / "shared" / "{REFUSE_MARKER}").exists():
    raise RuntimeError("this release cannot start on this host (tests/e2e/test_fleet.py)")
"""


# --- A steady, bounded load through nginx ------------------------------------------------------------------
@dataclass
class LoadReport:
    served: int
    failures: list[str]
    releases: Counter[str]
    seconds: float
    slowest: float

    @property
    def per_second(self) -> float:
        return self.served / self.seconds if self.seconds else 0.0


@dataclass
class SteadyLoad:
    """`clients` threads, each on one keep-alive connection to nginx, at most `rate` requests a second each, until
    `stop()` or `limit` seconds. Every answer that is not 2xx and every socket error is a failure."""

    port: int
    clients: int = 6
    rate: float = 20
    limit: float = 240
    statuses: Counter[int] = field(default_factory=Counter)
    releases: Counter[str] = field(default_factory=Counter)
    failures: list[str] = field(default_factory=list)
    slowest: float = 0.0
    _stop: threading.Event = field(default_factory=threading.Event)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __enter__(self) -> "SteadyLoad":
        self._started = time.monotonic()
        self._threads = [threading.Thread(target=self._client, args=(n,), daemon=True) for n in range(self.clients)]
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop()

    def stop(self) -> LoadReport:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=90)
        assert not any(thread.is_alive() for thread in self._threads), "a load client did not stop"
        seconds = min(time.monotonic() - self._started, self.limit)
        return LoadReport(sum(self.statuses.values()), self.failures, self.releases, seconds, self.slowest)

    def _client(self, index: int) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        # A tenant's answer through Redis and through its database, and /healthz, whose X-Release names the release.
        paths = ("/api/v1/ping", "/test/users/count", "/healthz")
        n = 0
        while not self._stop.is_set() and time.monotonic() - self._started < self.limit:
            n += 1
            app_id, path = TENANTS[(index + n) % len(TENANTS)], paths[n % len(paths)]
            sent = time.monotonic()
            try:
                connection.request("GET", path, headers={"X-AppID": app_id})
                response = connection.getresponse()
                response.read()
            except (OSError, http.client.HTTPException) as error:
                self._record(None, "", f"{path}: {type(error).__name__}: {error}", time.monotonic() - sent)
                connection.close()
                continue
            failure = None if 200 <= response.status < 300 else f"{path}: {response.status}"
            self._record(response.status, response.getheader("X-Release", ""), failure, time.monotonic() - sent)
            self._stop.wait(max(0.0, 1 / self.rate - (time.monotonic() - sent)))
        connection.close()

    def _record(self, status: int | None, release: str, failure: str | None, seconds: float) -> None:
        with self._lock:
            if status is not None:
                self.statuses[status] += 1
            if release:
                self.releases[release] += 1
            if failure is not None:
                self.failures.append(failure)
            self.slowest = max(self.slowest, seconds)


# --- The fleet ---------------------------------------------------------------------------------------------
@dataclass
class FleetHost:
    netns: NetnsHost
    disk: Path
    sshd: PrivateSshd
    supervised: Supervised

    def current(self) -> str:
        return (self.disk / "srv" / "current").resolve().name

    def serving(self) -> str:
        """The release this host's gunicorn answers with, asked from inside its namespace."""
        result = subprocess.run(
            self.netns.command(
                ["curl", "-s", "-o", "/dev/null", "-D", "-", "--max-time", "5", "127.0.0.1:8000/healthz"]
            ),
            capture_output=True,
            text=True,
            timeout=30,
        )
        found = re.search(r"^x-release: (\S+)", result.stdout, flags=re.IGNORECASE | re.MULTILINE)
        return found.group(1) if found else "(no answer)"

    def history(self) -> list[str]:
        return (self.disk / "srv" / "history").read_text().split()


@dataclass
class Fleet:
    bridge: Bridge
    hosts: list[FleetHost]
    shared: Path  # the path every host sees its own disk at
    nginx_port: int
    mariadb: PrivateMariaDB

    def fab(self, task: str, *args: str, timeout: float = 300) -> "FabRun":
        argv = [
            str(VENV_BIN / "fab"),
            *("-r", str(BASE_DIR / "deploy")),
            *("-H", ",".join(f"root@{host.netns.address}" for host in self.hosts)),
            *(arg for host in self.hosts for arg in ("-i", str(host.sshd.client_key))),
            task,
            *("--root", str(self.shared / "srv")),
            *("--supervisorctl", f"{VENV_BIN / 'supervisorctl'} -c {self.shared / 'supervisor' / 'supervisord.conf'}"),
            *args,
        ]
        started = time.monotonic()
        result = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, cwd=BASE_DIR)
        return FabRun(result.returncode, result.stdout, result.stderr, time.monotonic() - started)

    def deploy(self, release: str, releases: dict[str, Path], *args: str) -> "FabRun":
        source = str(releases[release])
        return self.fab("deploy", "--source", source, "--release", release, "--settings", "tests.e2e.settings", *args)

    def on(self) -> set[tuple[str, str]]:
        """(current, serving) of every host."""
        return {(host.current(), host.serving()) for host in self.hosts}


@dataclass
class FabRun:
    returncode: int
    stdout: str
    stderr: str
    seconds: float

    def switch_seconds(self, release: str) -> dict[str, float]:
        """Each host's time from its switch to its /healthz serving `release`, as the deploy printed it."""
        return {
            host: float(seconds) for host, seconds in self.lines(rf"switched to {re.escape(release)} in ([\d.]+) s")
        }

    def order(self, pattern: str) -> list[str]:
        """The hosts of the lines matching `pattern` (after the time and the host), in the order printed."""
        return [host for host, *_ in self.lines(pattern)]

    def lines(self, pattern: str) -> list[tuple[str, ...]]:
        """(host, the pattern's groups...) of each matching line: `  12.3 s  [10.0.0.2] switching current to r2`."""
        found = re.finditer(rf"^ *[\d.]+ s  \[(\S+)\] {pattern}", self.stdout, re.MULTILINE)
        return [match.groups() for match in found]

    def at(self, host: str, pattern: str) -> float:
        """When (seconds into the run) `host` printed its first line matching `pattern`."""
        found = re.search(rf"^ *([\d.]+) s  \[{re.escape(host)}\] {pattern}", self.stdout, re.MULTILINE)
        assert found is not None, f"no line [{host}] {pattern}"
        return float(found.group(1))


def pins_of(requirements: Path) -> str:
    return hashlib.sha256(requirements.read_bytes()).hexdigest()[:16]


def host_disk(disk: Path, env: dict[str, str], pins: list[str]) -> None:
    """A host's deploy root as README's set-up leaves it, with virtualenvs for `pins` already made (links to this
    checkout's: making one would download every package)."""
    (disk / "srv" / "shared").mkdir(parents=True)
    (disk / "srv" / "venvs").mkdir()
    (disk / "srv" / "shared" / ".env").write_text("".join(f"{key}={env[key]}\n" for key in ENV_KEYS))
    for pin in pins:
        (disk / "srv" / "venvs" / pin).symlink_to(BASE_DIR / ".venv")
        (disk / "srv" / "venvs" / f"{pin}.complete").touch()


@pytest.fixture(scope="module")
def releases(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """r1: this checkout; r2: other pins (a new virtualenv: each host restarts); r3: refuses to start on web2."""
    folder = tmp_path_factory.mktemp("releases")
    r2 = checkout_copy(folder / "r2")
    with open(r2 / "requirements" / "base.txt", "a") as pins:
        pins.write("# the fleet test's release with other pins\n")
    r3 = checkout_copy(folder / "r3")
    with open(r3 / "config" / "wsgi.py", "a") as wsgi:
        wsgi.write(REFUSING_WSGI)
    return {"r1": BASE_DIR, "r2": r2, "r3": r3}


@contextmanager
def fleet_host(netns: NetnsHost, bridge: Bridge, disk: Path, shared: Path, env: dict[str, str]) -> Iterator[FleetHost]:
    """One host: its disk, and its sshd and supervisord in its namespace, with that disk seen at `shared`."""
    launcher = netns.command([], disk=(disk, shared))
    programs = fill_supervisor_programs(
        disk / "supervisor", root=f"{shared}/srv/current", settings_module="tests.e2e.settings"
    )
    supervisor_env = {
        "PATH": env["PATH"],
        "HOME": env.get("HOME", "/root"),
        "LANG": "C.UTF-8",
        # Every address of the namespace: its loopback for the deploy's health check (fab's default URL), its
        # bridge end for nginx, whose X-Forwarded-Proto gunicorn then believes.
        "GUNICORN_BIND": "0.0.0.0:8000",
        "GUNICORN_WORKERS": "1",
        "GUNICORN_FORWARDED_ALLOW_IPS": bridge.address,
    }
    with (
        private_sshd(disk / "sshd", address=netns.address, port=22, launcher=launcher) as sshd,
        supervised(disk / "supervisor", supervisor_env, programs_text=programs, nginx=None, launcher=launcher) as sup,
    ):
        yield FleetHost(netns=netns, disk=disk, sshd=sshd, supervised=sup)


@pytest.fixture(scope="module")
def fleet(releases: dict[str, Path]) -> Iterator[Fleet]:
    """The fleet, serving r1 on both hosts (a first `fab deploy`, without load)."""
    with ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="miniplex-fleet-")))
        bridge = stack.enter_context(bridged_hosts(HOSTS))
        mariadb = stack.enter_context(private_mariadb(workdir / "mariadb", bind_address=bridge.address))
        mariadb.allow_clients(bridge.network.rsplit(".", 1)[0] + ".%")
        redis = stack.enter_context(private_redis(workdir / "redis", bind_address=bridge.address))
        # Keys of this run: master refuses the repository's test key for databases on another address than loopback.
        env = stack_env(mariadb, redis, TENANT_SECRETS_KEYS=base64.urlsafe_b64encode(secrets.token_bytes(32)).decode())
        manage(env, "migrate", "--noinput", "-v", "0")
        for index, app_id in enumerate(TENANTS):
            manage(env, "create_tenant", app_id, "--name", f"Fleet tenant {index}")
        shared = workdir / "host"
        shared.mkdir()
        pins = [pins_of(release / "requirements" / "base.txt") for release in (releases["r1"], releases["r2"])]
        hosts = []
        for netns in bridge.hosts:
            host_disk(workdir / netns.name, env, pins)
            hosts.append(stack.enter_context(fleet_host(netns, bridge, workdir / netns.name, shared, env)))
        upstreams = [f"{host.address}:8000" for host in bridge.hosts]
        nginx_port = stack.enter_context(nginx_alone(workdir / "nginx", upstream_port=8000, upstream_servers=upstreams))
        found = Fleet(bridge=bridge, hosts=hosts, shared=shared, nginx_port=nginx_port, mariadb=mariadb)
        first = found.deploy("r1", releases)
        assert first.returncode == 0, first.stdout + first.stderr
        print(first.stdout)
        yield found


@contextmanager
def general_log(mariadb: PrivateMariaDB) -> Iterator[Path]:
    """MariaDB's general query log (every connection and statement) in a file while the block runs."""
    path = mariadb.workdir / f"general-{time.monotonic_ns()}.log"
    mariadb.sql(f"SET GLOBAL general_log_file = '{path}'; SET GLOBAL general_log = ON;")
    try:
        yield path
    finally:
        mariadb.sql("SET GLOBAL general_log = OFF;")


def clients_that_ran(log: Path, needle: str) -> set[str]:
    """The client addresses of the connections whose statements mention `needle` ("?" for one connected before
    the log started)."""
    client_of: dict[str, str] = {}
    found: set[str] = set()
    for line in log.read_text(errors="replace").splitlines():
        entry = re.search(r"\s(\d+) (Connect|Query)\t(.*)$", line)
        if entry is None:
            continue
        thread, command, argument = entry.groups()
        if command == "Connect":
            client = re.search(r"@(\S+) on", argument)
            client_of[thread] = client.group(1) if client else "?"
        elif needle in argument:
            found.add(client_of.get(thread, "?"))
    return found


def report_line(what: str, report: LoadReport, run: FabRun) -> str:
    return (
        f"{what}: {report.served} requests served in {report.seconds:.1f} s ({report.per_second:.0f}/s), "
        f"{len(report.failures)} failed, slowest {report.slowest:.2f} s, releases answered {dict(report.releases)}; "
        f"fab took {run.seconds:.1f} s"
    )


# --- Tests -------------------------------------------------------------------------------------------------
def test_status_shows_each_host_release_programs_and_readiness_in_one_table(fleet):
    web1, web2 = fleet.hosts
    web2.supervised.ctl("stop", "miniplex-relay")
    try:
        run = fleet.fab("status")
    finally:
        web2.supervised.ctl("start", "miniplex-relay")
    assert run.returncode == 0, run.stdout + run.stderr
    header, first, second, verdict = run.stdout.splitlines()[:4]
    programs = ["miniplex-web", "miniplex-worker", "miniplex-relay"]
    assert header.split() == ["host", "current", "previous", *programs, "readyz"]
    assert first.split() == [web1.netns.address, "r1", "-", "RUNNING", "RUNNING", "RUNNING", "200", "ok"]
    assert second.split() == [web2.netns.address, "r1", "-", "RUNNING", "RUNNING", "STOPPED", "200", "ok"]
    assert verdict == "fleet: 2 host(s), all on r1"
    print(run.stdout)


def test_deploy_then_rollback_under_load_migrate_once_switch_host_by_host_and_fail_no_request(fleet, releases):
    web1, web2 = (host.netns.address for host in fleet.hosts)
    assert fleet.on() == {("r1", "r1")}
    with general_log(fleet.mariadb) as log, SteadyLoad(fleet.nginx_port) as load:
        time.sleep(1)  # the load is steady before the deploy starts, and goes on after it ends
        deployed = fleet.deploy("r2", releases)
        time.sleep(1)
        during_deploy = load.stop()
    print(deployed.stdout)
    assert deployed.returncode == 0, deployed.stdout + deployed.stderr
    assert fleet.on() == {("r2", "r2")}
    # Migrations once, from web1 only: the deploy said so, and MariaDB saw no other client read django_migrations.
    assert deployed.order("migrating the shared databases") == [web1]
    assert deployed.order(r"manage\.py migrate --noinput") == [web1]
    assert sorted(deployed.order(r"manage\.py collectstatic")) == sorted([web1, web2])  # on each, at once
    assert clients_that_ran(log, "django_migrations") == {web1}
    # One host after the other: web2 switched only once web1 served r2; both restarted (new pins, new virtualenv).
    assert deployed.at(web1, "http://127.0.0.1:8000/healthz serves r2") <= deployed.at(web2, "switching current to r2")
    assert deployed.order("restarting gunicorn") == [web1, web2]
    # The workers restart once every host serves r2.
    assert deployed.at(web2, "switched to r2") <= min(
        deployed.at(host, "restarting the rq workers") for host in (web1, web2)
    )
    assert during_deploy.failures == [], during_deploy.failures[:20]
    assert during_deploy.releases.keys() == {"r1", "r2"}

    with SteadyLoad(fleet.nginx_port) as load:
        time.sleep(1)
        rolled_back = fleet.fab("rollback")
        time.sleep(1)
        during_rollback = load.stop()
    print(rolled_back.stdout)
    assert rolled_back.returncode == 0, rolled_back.stdout + rolled_back.stderr
    assert fleet.on() == {("r1", "r1")}
    assert rolled_back.order("switching current to r1") == [web1, web2]
    assert rolled_back.at(web1, "switched to r1") <= rolled_back.at(web2, "switching current to r1")
    assert [host.history()[-1] for host in fleet.hosts] == ["r1", "r1"]
    assert during_rollback.failures == [], during_rollback.failures[:20]
    assert during_rollback.releases.keys() == {"r1", "r2"}
    print(report_line("deploy r1 -> r2", during_deploy, deployed), deployed.switch_seconds("r2"))
    print(report_line("rollback r2 -> r1", during_rollback, rolled_back), rolled_back.switch_seconds("r1"))
    print(deployed.stdout.splitlines()[-1])


def test_a_host_failing_after_its_switch_stops_the_deploy_and_every_host_is_back_on_the_old_release(fleet, releases):
    web1, web2 = fleet.hosts
    (old,) = {host.current() for host in fleet.hosts}
    marker = web2.disk / "srv" / "shared" / REFUSE_MARKER
    marker.touch()
    try:
        with SteadyLoad(fleet.nginx_port) as load:
            time.sleep(1)
            failed = fleet.deploy("r3", releases, "--health-seconds", "60")
            time.sleep(1)
            during = load.stop()
    finally:
        marker.unlink()
    print(failed.stdout)
    output = failed.stdout + failed.stderr
    assert failed.returncode != 0, output
    assert f"deploy of r3 STOPPED: {web2.netns.address} failed after the switch" in output
    assert "gunicorn exited while loading r3" in output  # seen at once, not after the 60 s of --health-seconds
    assert failed.order("restarting the rq workers") == []  # the workers were left as they were
    assert f"  {web2.netns.address}: back on {old}" in output
    assert f"  {web1.netns.address}: back on {old}" in output
    assert fleet.on() == {(old, old)}
    assert [host.history()[-1] for host in fleet.hosts] == [old, old]
    assert "r3" not in web1.history() + web2.history()
    assert during.failures == [], during.failures[:20]
    print(report_line(f"failed deploy of r3 (web2 refuses it), back to {old}", during, failed))
    print(failed.stderr.strip())
