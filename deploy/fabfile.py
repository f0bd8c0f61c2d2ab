"""Deploys Miniplex over SSH with Fabric 3: a new release directory per deploy, `current` switched atomically.

    fab -r deploy -H deploy@web1,deploy@web2 deploy          # committed HEAD of this repository
    fab -r deploy -H deploy@web1 deploy --source ./build     # a directory as it is
    fab -r deploy -H deploy@web1 rollback                     # back to the release before the current one
    fab -r deploy -H deploy@web1 status

Layout on a host (README, "Deployment"):

    /srv/miniplex/releases/<release>/   one directory per deploy (code, REVISION, .env -> shared/.env,
                                        .venv -> venvs/<hash of requirements/base.txt>)
    /srv/miniplex/current               -> releases/<release>, what supervisor runs
    /srv/miniplex/shared/.env           settings and secrets (config/env.py reads <release>/.env)
    /srv/miniplex/venvs/<hash>/         one virtualenv per set of pins, shared by the releases that have them
    /srv/miniplex/history               the releases that were current, oldest first (rollback pops it)

A deploy uploads and unpacks the code, installs (or reuses) its virtualenv, runs `migrate` and
`migrate_tenants`, collects static files, and only then switches `current` (a rename: atomic), reloads gunicorn
with HUP (a restart when the virtualenv changed, since a HUP keeps the master's interpreter) and restarts the rq
workers and the outbox relay. Any step that fails stops the deploy before the switch: `current` stays where it
was and the half-made release directory is removed. Migrations run before the switch, so they must suit the running
release too (add columns first, drop them a release later); a rollback does not undo them.
"""

import io
import re
import shlex
import subprocess
import tarfile
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from fabric import Connection, task
from invoke.exceptions import Exit
from invoke.runners import Result

REPO = Path(__file__).resolve().parent.parent
ROOT = "/srv/miniplex"
SETTINGS = "config.settings.master"
WEB, WORKERS, RELAY = "miniplex-web", "miniplex-worker:*", "miniplex-relay"
HEALTH_URL = "http://127.0.0.1:8000/healthz"
# Release names go into paths and shell commands: nothing but these characters.
RELEASE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
# Never packed from a source directory: local state, caches and secrets.
EXCLUDED = {".git", ".venv", "var", "__pycache__", ".ruff_cache", ".pytest_cache", ".env", "node_modules"}


# --- Tasks -----------------------------------------------------------------------------------------------
@task
def deploy(
    c: Connection,
    source: str = "",
    release: str = "",
    root: str = ROOT,
    settings: str = SETTINGS,
    supervisorctl: str = "supervisorctl",
    health_url: str = HEALTH_URL,
    python: str = "python3",
    keep: int = 5,
) -> None:
    """Deploy a new release; `current` moves only when every step before it succeeded."""
    release = release or _release_name(source)
    if not RELEASE_NAME.fullmatch(release):
        raise Exit(f"a release name is letters, digits, dots, dashes and underscores: {release!r}")
    release_dir = f"{root}/releases/{release}"
    _run(c, f"mkdir -p {root}/releases {root}/shared {root}/venvs && test ! -e {release_dir}")
    try:
        _upload(c, _pack(source), release_dir, release)
        venv = _install(c, root, release_dir, python)
        for command in ("migrate --noinput", "migrate_tenants", "collectstatic --noinput -v 0"):
            _manage(c, release_dir, settings, command)
    except BaseException:
        print(f"deploy of {release} failed before the switch: current is unchanged; removing {release_dir}")
        _run(c, f"rm -rf {release_dir}", warn=True)
        raise
    previous_venv = _current_venv(c, root)
    _switch(c, root, release)
    _run(c, f"echo {release} >> {root}/history")
    _reload(c, supervisorctl, restart=previous_venv != venv)
    _wait_for_release(c, health_url, release)
    _prune(c, root, keep)
    print(f"deployed {release}")


@task
def rollback(
    c: Connection, root: str = ROOT, supervisorctl: str = "supervisorctl", health_url: str = HEALTH_URL
) -> None:
    """Make the release that was current before this one current again (its directory is kept)."""
    history = _history(c, root)
    if len(history) < 2:
        raise Exit("nothing to roll back to: no previous release in the history")
    current, previous = history[-1], history[-2]
    if not _exists(c, f"{root}/releases/{previous}"):
        raise Exit(f"the previous release {previous} is gone (pruned); deploy instead")
    current_venv = _current_venv(c, root)
    _switch(c, root, previous)
    _run(c, f"sed -i '$d' {root}/history")
    _reload(c, supervisorctl, restart=_current_venv(c, root) != current_venv)
    _wait_for_release(c, health_url, previous)
    print(f"rolled back from {current} to {previous}")


@task
def status(c: Connection, root: str = ROOT, supervisorctl: str = "supervisorctl", health_url: str = HEALTH_URL) -> None:
    """The current release, the history, supervisor's programs and the app's own readiness."""
    current = _run(c, f"basename $(readlink {root}/current)", warn=True).stdout.strip() or "(none)"
    print(f"current: {current}")
    print("history: " + " ".join(_history(c, root)[-10:]))
    print(_run(c, f"{supervisorctl} status", warn=True).stdout.rstrip())
    ready_url = health_url.replace("/healthz", "/readyz")
    print("readyz: " + _run(c, f"curl -s --max-time 5 {shlex.quote(ready_url)}", warn=True).stdout.strip())


# --- Steps -----------------------------------------------------------------------------------------------
def _run(c: Connection, command: str, *, warn: bool = False) -> Result:
    return c.run(command, hide=True, warn=warn, in_stream=False)


def _exists(c: Connection, path: str) -> bool:
    return _run(c, f"test -e {path}", warn=True).ok


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
    print(f"uploading {release} ({len(archive) // 1024} KiB)")
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
        print(f"installing a virtualenv for pins {pins}")
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
    print(f"manage.py {command}")
    _run(c, f"cd {release_dir} && DJANGO_SETTINGS_MODULE={settings} .venv/bin/python manage.py {command}")


def _current_venv(c: Connection, root: str) -> str:
    return _run(c, f"readlink {root}/current/.venv", warn=True).stdout.strip()


def _switch(c: Connection, root: str, release: str) -> None:
    """`current` -> the release, by renaming a new link over it: readers see the old or the new, never none."""
    print(f"switching current to {release}")
    _run(c, f"ln -sfn releases/{release} {root}/current.new && mv -T {root}/current.new {root}/current")


def _reload(c: Connection, supervisorctl: str, *, restart: bool) -> None:
    state = _run(c, f"{supervisorctl} status {WEB}", warn=True).stdout.split()
    if not restart and len(state) > 1 and state[1] == "RUNNING":
        print("reloading gunicorn (HUP): new workers on the new release, the old ones finish their requests")
        _run(c, f"{supervisorctl} signal HUP {WEB}")
    else:
        print("restarting gunicorn (first start, or a new virtualenv)")
        _run(c, f"{supervisorctl} restart {WEB}")
    print("restarting the rq workers (each finishes its job first) and the outbox relay")
    _run(c, f"{supervisorctl} restart {shlex.quote(WORKERS)} {RELAY}")


def _wait_for_release(c: Connection, health_url: str, release: str, seconds: float = 90) -> None:
    """Until /healthz of this host names the release in X-Release (HUP's new workers start in seconds)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        headers = _run(c, f"curl -s -o /dev/null -D - --max-time 5 {shlex.quote(health_url)}", warn=True).stdout
        if f"x-release: {release}".lower() in (line.strip().lower() for line in headers.splitlines()):
            print(f"{health_url} serves {release}")
            return
        time.sleep(1)
    raise Exit(f"{health_url} does not serve {release} after {seconds:g} s: see `fab status` and the web log")


def _history(c: Connection, root: str) -> list[str]:
    return _run(c, f"cat {root}/history", warn=True).stdout.split()


def _prune(c: Connection, root: str, keep: int) -> None:
    """Keeps the newest `keep` release directories besides the current one and those still in the history."""
    releases = _run(c, f"ls -1t {root}/releases", warn=True).stdout.split()
    protected = set(_history(c, root)[-keep:])
    for old in releases[keep:]:
        if old not in protected and not old.endswith(".tar.gz"):
            _run(c, f"rm -rf {root}/releases/{old}")
