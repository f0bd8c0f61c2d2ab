"""Deploys Miniplex over SSH with Fabric 3 to a fleet of web hosts (one host is a fleet of one).

    fab -r deploy -H deploy@web1,deploy@web2 deploy          # committed HEAD of this repository
    fab -r deploy -H deploy@web1,deploy@web2 deploy --source ./build     # a directory as it is
    fab -r deploy -H deploy@web1,deploy@web2 rollback        # back to the release before the current one
    fab -r deploy -H deploy@web1,deploy@web2 status          # one table: release, programs, /readyz per host

Layout on a host (README, "Deployment"):

    /srv/miniplex/releases/<release>/   one directory per deploy (code, REVISION, .env -> shared/.env,
                                        .venv -> venvs/<hash of requirements/base.txt>)
    /srv/miniplex/current               -> releases/<release>, what supervisor runs
    /srv/miniplex/shared/.env           settings and secrets (config/env.py reads <release>/.env)
    /srv/miniplex/venvs/<hash>/         one virtualenv per set of pins, shared by the releases that have them
    /srv/miniplex/history               the releases that were current, oldest first (rollback pops it)

A deploy goes in three stages (docs/fleet.md):

1. *Prepare*, on every host at once: upload and unpack the code, install (or reuse) its virtualenv, collect the
   static files. A host that fails here stops the deploy before any switch, and the half-made release is removed
   from every host.
2. *Migrate*, once for the fleet, on the first host given: `migrate` and `migrate_tenants` (the databases are
   shared by every host; running them from each host would only repeat the work, at the same time). They run
   before any host switches, so they must suit the running release too (add columns first, drop them a release
   later); a rollback does not undo them.
3. *Switch*, one host after the other, in the order given: `current` is renamed over (atomic), gunicorn reloads
   with HUP (a restart when the virtualenv changed, since a HUP keeps the master's interpreter), and the host's
   own /healthz must name the new release before the next host switches. nginx sends a host's requests to the
   others while it restarts (proxy_next_upstream). A host that fails its health check stops the deploy: it and
   every host switched before it go back to the release they had, each health-checked again, so the whole fleet
   is on the old release, and the deploy says so.
4. *Workers*: once every host serves the new release, the rq workers and the outbox relay restart on every host
   at once (each finishes its job first). Jobs are shared by the fleet's workers whatever their host, so old and
   new code run jobs side by side during any rolling deploy: a job must suit both releases, like a migration.

Fabric calls a task once per host of `-H`, each on its own; the fleet's steps (migrate once, switch one by one,
stop the rest) need all of them at once. So each per-host call of `deploy`, `rollback` and `status` only adds its
connection to the fleet of this run, and the task's post-task, which Fabric runs once after the per-host calls,
does the work for the whole fleet.
"""

import io
import re
import shlex
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fabric import Connection, Task, task
from invoke.context import Context
from invoke.exceptions import Exit, Failure
from invoke.runners import Result
from paramiko.ssh_exception import SSHException  # type: ignore[import-untyped]  # no stubs pinned

REPO = Path(__file__).resolve().parent.parent
ROOT = "/srv/miniplex"
SETTINGS = "config.settings.master"
WEB, WORKERS, RELAY = "miniplex-web", "miniplex-worker:*", "miniplex-relay"
HEALTH_URL = "http://127.0.0.1:8000/healthz"
# Release names go into paths and shell commands: nothing but these characters.
RELEASE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
# Never packed from a source directory: local state, caches and secrets.
EXCLUDED = {
    ".git",
    ".venv",
    "var",
    "__pycache__",
    ".ruff_cache",
    ".pytest_cache",
    ".mypy_cache",
    ".env",
    "node_modules",
}
# Hosts prepared at the same time (upload, virtualenv, collectstatic); each one is a thread and an SSH session.
PREPARE_AT_ONCE = 10
# What a failed step on a host raises: a command that failed, a wait that ran out, SSH or the network.
HOST_FAILURES = (Failure, Exit, SSHException, OSError)


@dataclass(frozen=True)
class Site:
    """Where things are on every host; the same for all the hosts of one run, since the hosts are identical."""

    root: str = ROOT
    supervisorctl: str = "supervisorctl"
    health_url: str = HEALTH_URL
    health_seconds: float = 90


# --- The fleet of one `fab` run ------------------------------------------------------------------------------
_fleets: dict[str, tuple[list[Connection], dict[str, Any]]] = {}


def _join_fleet(task_name: str, c: Context, **options: Any) -> None:
    """A per-host call of `task_name`: adds its host to this run's fleet (its post-task does the work)."""
    if not isinstance(c, Connection):
        raise Exit(f"`fab {task_name}` acts on hosts: give them with -H, e.g. fab -H web1,web2 {task_name}")
    hosts, _ = _fleets.get(task_name, ([], {}))
    _fleets[task_name] = ([*hosts, c], options)


def _for_the_fleet(task_name: str, work: Callable[..., None]) -> Task:
    """The post-task of `task_name`: runs `work(hosts, **options)` once, with every host of the run."""

    def run(_c: Context) -> None:
        hosts, options = _fleets.pop(task_name)
        work(hosts, **options)

    return Task(run, name=f"{task_name}-fleet")


_STARTED = time.monotonic()
# The hosts' threads log at once: one write per line, under the lock, so that no two lines run into one.
_SAY_LOCK = threading.Lock()


def _say(c: Connection, message: str) -> None:
    """A line of the run's log: seconds since `fab` started, the host, what it does."""
    line = f"{time.monotonic() - _STARTED:6.1f} s  [{_name(c)}] {message}\n"
    with _SAY_LOCK:
        sys.stdout.write(line)
        sys.stdout.flush()


def _name(c: Connection) -> str:
    return c.host if c.port == 22 else f"{c.host}:{c.port}"


# --- deploy --------------------------------------------------------------------------------------------------
def deploy_fleet(
    hosts: list[Connection], *, source: str, release: str, site: Site, settings: str, python: str, keep: int
) -> None:
    """Prepare every host, migrate once, then switch the hosts one by one (see the module's docstring)."""
    release = release or _release_name(source)
    if not RELEASE_NAME.fullmatch(release):
        raise Exit(f"a release name is letters, digits, dots, dashes and underscores: {release!r}")
    started = time.monotonic()
    print(f"deploying {release} to {len(hosts)} host(s): {', '.join(_name(c) for c in hosts)}", flush=True)
    before = {_name(c): _current(c, site.root) for c in hosts}
    for c in hosts:  # a release directory that exists already is someone else's: never touched, never removed
        _run(c, f"mkdir -p {site.root}/releases {site.root}/shared {site.root}/venvs")
        if _exists(c, f"{site.root}/releases/{release}"):
            raise Exit(f"{_name(c)}: the release {release} exists already; nothing was changed on any host")
    archive = _pack(source)
    try:
        _on_every_host(hosts, lambda c: _prepare(c, site, archive, release, settings, python))
        prepared = time.monotonic()
        _migrate(hosts[0], f"{site.root}/releases/{release}", settings)
    except BaseException:
        print(f"deploy of {release} failed before any switch: current is unchanged on every host", flush=True)
        for c in hosts:
            _say(c, f"removing {site.root}/releases/{release}")
            _run(c, f"rm -rf {site.root}/releases/{release}", warn=True)
        raise
    migrated = time.monotonic()
    _switch_one_by_one(hosts, site, release, back_to=before, what="deploy")
    switched = time.monotonic()
    _on_every_host(hosts, lambda c: _restart_workers(c, site.supervisorctl))
    for c in hosts:
        _prune(c, site.root, keep)
    print(
        f"deployed {release} to {len(hosts)} host(s) in {time.monotonic() - started:.1f} s (prepared in"
        f" {prepared - started:.1f} s, migrated once on {_name(hosts[0])} in {migrated - prepared:.1f} s,"
        f" switched one by one in {switched - migrated:.1f} s, workers restarted in"
        f" {time.monotonic() - switched:.1f} s)",
        flush=True,
    )


@task(post=[_for_the_fleet("deploy", deploy_fleet)])
def deploy(
    c: Context,
    source: str = "",
    release: str = "",
    root: str = ROOT,
    settings: str = SETTINGS,
    supervisorctl: str = "supervisorctl",
    health_url: str = HEALTH_URL,
    health_seconds: float = 90,
    python: str = "python3",
    keep: int = 5,
) -> None:
    """Deploy a new release to every host of -H: prepare all, migrate once, switch one by one, stop on a failure."""
    site = Site(root=root, supervisorctl=supervisorctl, health_url=health_url, health_seconds=health_seconds)
    _join_fleet("deploy", c, source=source, release=release, site=site, settings=settings, python=python, keep=keep)


def _on_every_host(hosts: list[Connection], step: Callable[[Connection], None]) -> None:
    """`step` on every host at once (PREPARE_AT_ONCE at a time); raises the first failure once all have finished."""
    with ThreadPoolExecutor(max_workers=min(len(hosts), PREPARE_AT_ONCE)) as pool:
        outcomes = list(pool.map(lambda c: _outcome(step, c), hosts))
    failures = [(c, error) for c, error in zip(hosts, outcomes, strict=True) if error is not None]
    for c, error in failures:
        _say(c, f"FAILED: {_reason(error)}")
    if failures:
        raise failures[0][1]


def _outcome(step: Callable[[Connection], None], c: Connection) -> BaseException | None:
    try:
        step(c)
    except HOST_FAILURES as error:
        return error
    return None


def _prepare(c: Connection, site: Site, archive: bytes, release: str, settings: str, python: str) -> None:
    release_dir = f"{site.root}/releases/{release}"
    _upload(c, archive, release_dir, release)
    _install(c, site.root, release_dir, python)
    _manage(c, release_dir, settings, "collectstatic --noinput -v 0")


def _migrate(c: Connection, release_dir: str, settings: str) -> None:
    _say(c, "migrating the shared databases, once for the fleet")
    for command in ("migrate --noinput", "migrate_tenants"):
        _manage(c, release_dir, settings, command)


# --- rollback ------------------------------------------------------------------------------------------------
def rollback_fleet(hosts: list[Connection], *, site: Site) -> None:
    """Every host back to the release before its current one, one host after the other, each health-checked."""
    histories = {_name(c): _history(c, site.root)[-2:] for c in hosts}
    for name, history in histories.items():
        if len(history) < 2:
            raise Exit(f"{name}: nothing to roll back to: no previous release in the history")
    if len({tuple(history) for history in histories.values()}) > 1:
        lines = "\n".join(f"  {name}: current {h[1]}, previous {h[0]}" for name, h in histories.items())
        raise Exit(f"the hosts disagree on their current and previous releases; roll back each one alone:\n{lines}")
    previous, current = next(iter(histories.values()))
    for c in hosts:
        if not _exists(c, f"{site.root}/releases/{previous}"):
            raise Exit(f"{_name(c)}: the previous release {previous} is gone (pruned); deploy instead")
    started = time.monotonic()
    _switch_one_by_one(hosts, site, previous, back_to={_name(c): current for c in hosts}, what="rollback")
    _on_every_host(hosts, lambda c: _restart_workers(c, site.supervisorctl))
    print(
        f"rolled back {len(hosts)} host(s) from {current} to {previous} in {time.monotonic() - started:.1f} s",
        flush=True,
    )


@task(post=[_for_the_fleet("rollback", rollback_fleet)])
def rollback(
    c: Context,
    root: str = ROOT,
    supervisorctl: str = "supervisorctl",
    health_url: str = HEALTH_URL,
    health_seconds: float = 90,
) -> None:
    """Every host of -H back to the release that was current before this one (its directory is kept)."""
    _join_fleet("rollback", c, site=Site(root, supervisorctl, health_url, health_seconds))


# --- Switching, one host after the other ---------------------------------------------------------------------
def _switch_one_by_one(
    hosts: list[Connection], site: Site, release: str, *, back_to: dict[str, str], what: str
) -> None:
    """Each host to `release`, healthy before the next one starts; on a failure, the hosts it switched (the
    failing one too) go back to their `back_to` release, in reverse order, and Exit says where each host is."""
    for index, c in enumerate(hosts):
        try:
            _switch_host(c, site, release)
        except HOST_FAILURES as error:
            _say(c, f"FAILED after the switch to {release}: {_reason(error)}")
            touched, untouched = hosts[: index + 1], hosts[index + 1 :]
            where = [f"  {_name(host)}: {_put_back(host, site, back_to[_name(host)])}" for host in reversed(touched)]
            where += [f"  {_name(host)}: never switched, still on {back_to[_name(host)]}" for host in untouched]
            raise Exit(
                f"{what} of {release} STOPPED: {_name(c)} failed after the switch ({_reason(error)}).\n"
                f"No further host was switched. Where each host is now:\n" + "\n".join(where),
                code=1,
            ) from error


def _switch_host(c: Connection, site: Site, release: str) -> None:
    """`current` -> `release`, the history to match, gunicorn reloaded, and /healthz serving it.

    The rq workers and the relay restart later, once every host's web serves the release (_restart_workers):
    they need no health check before the next host switches, and a deploy that stops leaves them as they were.
    """
    started = time.monotonic()
    venv_before = _current_venv(c, site.root)
    _switch(c, site.root, release)
    _record_current(c, site.root, release)
    master, how = _reload(c, site.supervisorctl, release, restart=_current_venv(c, site.root) != venv_before)
    _wait_for_release(c, site, release, master)
    _say(c, f"switched to {release} in {time.monotonic() - started:.1f} s ({how})")


def _put_back(c: Connection, site: Site, release: str) -> str:
    """The host back on `release` (health-checked); what happened, for the deploy's last words."""
    if release == "(none)":
        return "had no release before: left as it is (see `fab status`)"
    _say(c, f"going back to {release}")
    try:
        _switch_host(c, site, release)
    except HOST_FAILURES as error:
        _say(c, f"FAILED to go back to {release}: {_reason(error)}")
        return f"NOT back on {release}: {_reason(error)} (see `fab status` and the web log)"
    return f"back on {release}"


def _record_current(c: Connection, root: str, release: str) -> None:
    """The history ends with the current release: a step back to the one before pops, anything else is added."""
    history = _history(c, root)
    if history[-1:] == [release]:
        return
    if history[-2:-1] == [release]:
        _run(c, f"sed -i '$d' {root}/history")
    else:
        _run(c, f"echo {release} >> {root}/history")


def _reason(error: BaseException) -> str:
    if isinstance(error, Failure):
        stderr = (error.result.stderr or error.result.stdout).strip().splitlines()
        return f"`{error.result.command}` exited with {error.result.exited}: {stderr[-1] if stderr else ''}"
    return str(error) or type(error).__name__


# --- status --------------------------------------------------------------------------------------------------
STATUS_COLUMNS = ("host", "current", "previous", WEB, "miniplex-worker", RELAY, "readyz")


def status_fleet(hosts: list[Connection], *, site: Site) -> None:
    """One row per host (release, the one before, supervisor's programs, /readyz), then whether they agree."""
    rows = [_status_row(c, site) for c in hosts]
    widths = [max(len(column), *(len(row[column]) for row in rows)) for column in STATUS_COLUMNS]
    for line in (dict(zip(STATUS_COLUMNS, STATUS_COLUMNS, strict=True)), *rows):
        print("  ".join(line[column].ljust(width) for column, width in zip(STATUS_COLUMNS, widths, strict=True)))
    releases = {row["current"] for row in rows}
    if len(releases) == 1:
        print(f"fleet: {len(rows)} host(s), all on {releases.pop()}")
    else:
        print(f"fleet: MIXED releases ({', '.join(sorted(releases))}): deploy or roll back to make them agree")


@task(post=[_for_the_fleet("status", status_fleet)])
def status(c: Context, root: str = ROOT, supervisorctl: str = "supervisorctl", health_url: str = HEALTH_URL) -> None:
    """A table of the hosts of -H: current and previous release, supervisor's programs, the app's /readyz."""
    _join_fleet("status", c, site=Site(root=root, supervisorctl=supervisorctl, health_url=health_url))


def _status_row(c: Connection, site: Site) -> dict[str, str]:
    history = _history(c, site.root)
    row = {"host": _name(c), "current": _current(c, site.root), "previous": history[-2] if len(history) > 1 else "-"}
    programs = _run(c, f"{site.supervisorctl} status", warn=True).stdout
    for program in (WEB, "miniplex-worker", RELAY):
        row[program] = _program_states(programs, program)
    ready_url = site.health_url.replace("/healthz", "/readyz")
    answer = _run(c, f"curl -s --max-time 5 -w ' %{{http_code}}' {shlex.quote(ready_url)}", warn=True).stdout
    body, _, code = answer.strip().rpartition(" ")
    row["readyz"] = f"{code} {_readiness(body)}" if code not in ("", "000") else "no answer"
    return row


def _program_states(supervisor_status: str, program: str) -> str:
    """`RUNNING` for one process, `2/2 RUNNING` for a group; the other states named (`1/2 RUNNING, 1 FATAL`)."""
    states = [line.split()[1] for line in supervisor_status.splitlines() if re.match(rf"{program}[:\s]", line)]
    if not states:
        return "(absent)"
    running = states.count("RUNNING")
    others = sorted({state for state in states if state != "RUNNING"})
    text = "RUNNING" if len(states) == 1 and running == 1 else f"{running}/{len(states)} RUNNING"
    if len(states) == 1 and others:
        return others[0]
    return ", ".join([text, *(f"{states.count(state)} {state}" for state in others)])


def _readiness(body: str) -> str:
    """`ok`, or the dependencies /readyz names as down."""
    if '"status": "ok"' in body or '"status":"ok"' in body:
        return "ok"
    down = re.search(r'"down":\s*\[([^\]]*)\]', body)
    return "down: " + down.group(1).replace('"', "").replace(" ", "") if down else "not ready"


# --- Steps on one host ---------------------------------------------------------------------------------------
def _run(c: Connection, command: str, *, warn: bool = False) -> Result:
    return c.run(command, hide=True, warn=warn, in_stream=False)


def _exists(c: Connection, path: str) -> bool:
    return _run(c, f"test -e {path}", warn=True).ok


def _current(c: Connection, root: str) -> str:
    return _run(c, f"basename $(readlink {root}/current) 2>/dev/null", warn=True).stdout.strip() or "(none)"


def _release_name(source: str) -> str:
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    if source:
        return f"{stamp}-dir"
    revision = subprocess.run(  # noqa: S603
        ["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],  # noqa: S607
        capture_output=True,
        text=True,
        check=True,
    )
    return f"{stamp}-{revision.stdout.strip()}"


def _pack(source: str) -> bytes:
    """A tar.gz of the committed HEAD (git archive), or of a directory minus EXCLUDED."""
    if not source:
        git_archive = subprocess.run(  # noqa: S603
            ["git", "-C", str(REPO), "archive", "--format=tar.gz", "HEAD"],  # noqa: S607
            capture_output=True,
            check=True,
        )
        return git_archive.stdout
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        archive.add(source, arcname=".", filter=lambda info: None if _excluded(info.name) else info)
    return buffer.getvalue()


def _excluded(name: str) -> bool:
    parts = Path(name).parts
    return any(part in EXCLUDED for part in parts) or name.endswith(".pyc")


def _upload(c: Connection, archive: bytes, release_dir: str, release: str) -> None:
    _say(c, f"uploading {release} ({len(archive) // 1024} KiB)")
    with tempfile.NamedTemporaryFile(suffix=".tar.gz") as local:
        local.write(archive)
        local.flush()
        remote = f"{release_dir}.tar.gz"
        c.put(local.name, remote)
    _run(c, f"mkdir -p {release_dir} && tar -xzf {remote} -C {release_dir} && rm {remote}")
    _run(c, f"echo {release} > {release_dir}/REVISION")


def _install(c: Connection, root: str, release_dir: str, python: str) -> str:
    """The release's virtualenv: the one of its exact pins, made once per host and shared by releases."""
    pins = _run(c, f"sha256sum {release_dir}/requirements/base.txt").stdout.split()[0][:16]
    venv = f"{root}/venvs/{pins}"
    if not _exists(c, f"{venv}.complete"):
        _say(c, f"installing a virtualenv for pins {pins}")
        _run(c, f"rm -rf {venv} && {python} -m venv {venv}")
        pip = f"{venv}/bin/pip install -q"
        _run(c, f"{pip} --upgrade pip && {pip} -r {release_dir}/requirements/base.txt")
        _run(c, f"touch {venv}.complete")
    _run(c, f"ln -sfn {venv} {release_dir}/.venv && ln -sfn {root}/shared/.env {release_dir}/.env")
    # Uploads (avatars) outlive releases: every release's var/media (MEDIA_ROOT's default) is the shared folder,
    # which nginx serves at /media/avatars/ (deploy/nginx/miniplex.conf).
    _run(c, f"mkdir -p {root}/shared/media {release_dir}/var && ln -sfn {root}/shared/media {release_dir}/var/media")
    return venv


def _manage(c: Connection, release_dir: str, settings: str, command: str) -> None:
    _say(c, f"manage.py {command}")
    _run(c, f"cd {release_dir} && DJANGO_SETTINGS_MODULE={settings} .venv/bin/python manage.py {command}")


def _current_venv(c: Connection, root: str) -> str:
    return _run(c, f"readlink {root}/current/.venv", warn=True).stdout.strip()


def _switch(c: Connection, root: str, release: str) -> None:
    """`current` -> the release, by renaming a new link over it: readers see the old or the new, never none."""
    _say(c, f"switching current to {release}")
    _run(c, f"ln -sfn releases/{release} {root}/current.new && mv -T {root}/current.new {root}/current")


def _reload(c: Connection, supervisorctl: str, release: str, *, restart: bool) -> tuple[str, str]:
    """HUP, or a restart; the pid of the gunicorn master that is to serve the release, and which it was."""
    state = _run(c, f"{supervisorctl} status {WEB}", warn=True).stdout.split()
    if not restart and len(state) > 1 and state[1] == "RUNNING":
        _say(c, "reloading gunicorn (HUP): new workers on the new release, the old ones finish their requests")
        _run(c, f"{supervisorctl} signal HUP {WEB}")
        return _web_master(c, supervisorctl), "HUP"
    _say(c, "restarting gunicorn (first start, a new virtualenv, or not running); nginx uses the other hosts")
    restarted = _run(c, f"{supervisorctl} restart {WEB}", warn=True)
    if restarted.failed:
        # A gunicorn that exits before supervisor's startsecs is a "spawn error" here rather than a master that
        # changes under _wait_for_release: the same failure, named the same way.
        said = " ".join((restarted.stdout + restarted.stderr).split())
        raise Exit(f"gunicorn exited while loading {release} (supervisorctl: {said}): it does not start on this host")
    return _web_master(c, supervisorctl), "restart"


def _web_master(c: Connection, supervisorctl: str) -> str:
    return _run(c, f"{supervisorctl} pid {WEB}", warn=True).stdout.strip()


def _restart_workers(c: Connection, supervisorctl: str) -> None:
    _say(c, "restarting the rq workers (each finishes its job first) and the outbox relay")
    _run(c, f"{supervisorctl} restart {shlex.quote(WORKERS)} {RELAY}")


def _wait_for_release(c: Connection, site: Site, release: str, master: str) -> None:
    """Until /healthz of this host names the release in X-Release (HUP's new workers start in seconds).

    Stops early if the gunicorn master is another process than `master`: it exited (new workers that cannot
    load the release make gunicorn halt) and supervisor is starting it again, on a release that does not start.
    """
    deadline = time.monotonic() + site.health_seconds
    while time.monotonic() < deadline:
        curl = f"curl -s -o /dev/null -D - --max-time 5 {shlex.quote(site.health_url)}"
        headers = _run(c, curl, warn=True).stdout
        if f"x-release: {release}".lower() in (line.strip().lower() for line in headers.splitlines()):
            _say(c, f"{site.health_url} serves {release}")
            return
        if _web_master(c, site.supervisorctl) != master:
            state = " ".join(_run(c, f"{site.supervisorctl} status {WEB}", warn=True).stdout.split()[1:2])
            raise Exit(f"gunicorn exited while loading {release} (now {state}): it does not start on this host")
        time.sleep(1)
    raise Exit(f"{site.health_url} does not serve {release} after {site.health_seconds:g} s")


def _history(c: Connection, root: str) -> list[str]:
    return _run(c, f"cat {root}/history", warn=True).stdout.split()


def _prune(c: Connection, root: str, keep: int) -> None:
    """Keeps the newest `keep` release directories besides the current one and those still in the history."""
    releases = _run(c, f"ls -1t {root}/releases", warn=True).stdout.split()
    protected = set(_history(c, root)[-keep:])
    for old in releases[keep:]:
        if old not in protected and not old.endswith(".tar.gz"):
            _run(c, f"rm -rf {root}/releases/{old}")
