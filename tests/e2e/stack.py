"""supervisord running the shipped deploy/ configs (paths filled in for a temporary directory), and nginx.

The shipped files are used as they are, with only these substitutions: the deploy root (/srv/miniplex), the
log directory, the user (root here), the settings module (tests.e2e.settings: master plus the test views),
nginx's listen address and gunicorn's port. Anything else in them is what production runs.
"""

import os
import re
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.e2e.services import VENV_BIN, manage, port_accepts, stop_process, wait_for, wait_until_answers
from tests.helpers import BASE_DIR, free_port

DEPLOY = BASE_DIR / "deploy"
SHIPPED_ROOT = "/srv/miniplex"
# What a copy of this checkout leaves out (local state and caches: .mypy_cache alone is tens of MB).
LOCAL_STATE = (".git", ".venv", "var", "__pycache__", ".ruff_cache", ".pytest_cache", ".mypy_cache", ".env")


# The settings a deploy root's shared/.env gets from the test services (the fabric and fleet tests).
ENV_KEYS = (
    "DJANGO_SECRET_KEY",
    "CONTROL_DATABASE_URL",
    "TENANT_DB_MAIN_URL",
    "TENANT_DB_MAIN_DDL_URL",
    "TENANT_SECRETS_KEYS",
    "REDIS_URL",
    "DB_POOL_SIZE",
)


def checkout_copy(destination: Path) -> Path:
    """This checkout without its local state, to be changed into a release of its own (`fab deploy --source`)."""
    shutil.copytree(BASE_DIR, destination, ignore=shutil.ignore_patterns(*LOCAL_STATE), symlinks=True)
    return destination


def fill_supervisor_programs(workdir: Path, *, root: str, settings_module: str, workers: int = 1) -> str:
    """deploy/supervisor/miniplex.conf for this test: its root, logs, user and settings module replaced."""
    text = (DEPLOY / "supervisor" / "miniplex.conf").read_text()
    text = text.replace(f"{SHIPPED_ROOT}/current", root)
    text = text.replace("/var/log/miniplex", str(workdir / "logs"))
    # Each program's metrics folder under this test's own root (production's is the releases' shared folder).
    text = text.replace("/srv/miniplex/shared/metrics", str(workdir / "metrics"))
    text = text.replace("user=miniplex", "user=root")
    text = text.replace(
        'DJANGO_SETTINGS_MODULE="config.settings.master"', f'DJANGO_SETTINGS_MODULE="{settings_module}"'
    )
    return re.sub(r"^numprocs=\d+$", f"numprocs={workers}", text, flags=re.MULTILINE)


@dataclass(frozen=True)
class NginxTls:
    """The site's commented "TLS at nginx" lines switched on: this port, this certificate and key."""

    port: int
    certificate: Path
    key: Path


SHIPPED_TLS_LINES = """    # listen 443 ssl;
    # ssl_certificate     /etc/ssl/miniplex/fullchain.pem;
    # ssl_certificate_key /etc/ssl/miniplex/privkey.pem;
    # ssl_protocols       TLSv1.2 TLSv1.3;
"""
SHIPPED_TRUSTED_PROXIES = "    # miniplex: trusted proxies\n"


def fill_nginx_site(
    workdir: Path,
    *,
    listen_port: int,
    gunicorn_port: int,
    read_timeout: str | None = None,
    tls: NginxTls | None = None,
    trusted_proxies: tuple[str, ...] = (),
    log_dir: Path | None = None,
    upstream_servers: Sequence[str] = (),
) -> str:
    """deploy/nginx/miniplex.conf: listening on 127.0.0.1, to gunicorn's port, logs in `log_dir` (workdir/logs).

    `tls` uncomments the site's TLS lines (what an operator does for "TLS at nginx"); `trusted_proxies` adds
    lines to its geo block of trusted proxies (what an operator does for "TLS at a load balancer");
    `upstream_servers` ("10.0.0.2:8000", ...) put a fleet's hosts in the upstream instead of gunicorn's port (a
    `server` line each, with the shipped line's parameters).
    """
    text = (DEPLOY / "nginx" / "miniplex.conf").read_text()
    for old, new in (
        ("listen 80;", f"listen 127.0.0.1:{listen_port};"),
        ("server 127.0.0.1:8000 ", f"server 127.0.0.1:{gunicorn_port} "),
        ("/var/log/nginx/", f"{log_dir or workdir / 'logs'}/"),
        # The releases' shared uploads folder: this stack's own MEDIA_ROOT (running_stack).
        ("/srv/miniplex/shared/media/", f"{workdir / 'media'}/"),
    ):
        if old not in text:
            raise RuntimeError(f"deploy/nginx/miniplex.conf changed: {old!r} not found")
        text = text.replace(old, new)
    if read_timeout is not None:  # short, so that a 504 can be seen without waiting a minute
        text = text.replace("proxy_read_timeout 60s;", f"proxy_read_timeout {read_timeout};")
    if tls is not None:
        assert SHIPPED_TLS_LINES in text, "the shipped site's TLS lines changed"
        text = text.replace(
            SHIPPED_TLS_LINES,
            f"    listen 127.0.0.1:{tls.port} ssl;\n"
            f"    ssl_certificate     {tls.certificate};\n"
            f"    ssl_certificate_key {tls.key};\n"
            "    ssl_protocols       TLSv1.2 TLSv1.3;\n",
        )
    if trusted_proxies:
        assert SHIPPED_TRUSTED_PROXIES in text, "the shipped site's trusted proxies block changed"
        lines = "".join(f"    {address} 1;\n" for address in trusted_proxies)
        text = text.replace(SHIPPED_TRUSTED_PROXIES, SHIPPED_TRUSTED_PROXIES + lines)
    if upstream_servers:
        shipped = re.search(rf"^( *)server 127\.0\.0\.1:{gunicorn_port} (.*)$", text, flags=re.MULTILINE)
        assert shipped is not None, "the shipped upstream's server line changed"
        indent, parameters = shipped.groups()
        lines = "\n".join(f"{indent}server {server} {parameters}" for server in upstream_servers)
        text = text[: shipped.start()] + lines + text[shipped.end() :]
    return text


def nginx_main_config(
    workdir: Path,
    site: Path,
    *,
    log_dir: Path | None = None,
    worker_processes: str = "1",
    worker_connections: int = 1024,
    rlimit_nofile: int | None = None,
) -> str:
    """The part of nginx.conf that Debian's package ships (here: pid, temp paths and logs in the work dir).

    One worker for the tests; the benchmark asks for a worker per core ("auto") and room for 1,000 clients.
    """
    temp = workdir / "nginx-temp"
    temp.mkdir(exist_ok=True)
    temp_paths = "\n".join(
        f"    {name}_temp_path {temp / name};" for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    rlimit = f"worker_rlimit_nofile {rlimit_nofile};\n" if rlimit_nofile else ""
    return f"""user root;
worker_processes {worker_processes};
{rlimit}pid {workdir / "nginx.pid"};
error_log {(log_dir or workdir / "logs") / "nginx-error.log"};
events {{ worker_connections {worker_connections}; }}
http {{
{temp_paths}
    access_log off;
    include {site};
}}
"""


def supervisord_config(workdir: Path, *, programs: Path, nginx_conf: Path | None) -> str:
    nginx = (
        f"""
[program:nginx]
command=/usr/sbin/nginx -c {nginx_conf} -g "daemon off;"
autorestart=true
stdout_logfile={workdir / "logs" / "nginx.out"}
redirect_stderr=true
"""
        if nginx_conf
        else ""
    )
    return f"""[unix_http_server]
file={workdir / "supervisor.sock"}

[supervisord]
logfile={workdir / "logs" / "supervisord.log"}
pidfile={workdir / "supervisord.pid"}
childlogdir={workdir / "logs"}
nodaemon=true

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[supervisorctl]
serverurl=unix://{workdir / "supervisor.sock"}
{nginx}
[include]
files = {programs}
"""


@dataclass
class Supervised:
    workdir: Path
    config: Path
    process: subprocess.Popen

    def ctl(self, *args: str, check: bool = True) -> str:
        result = subprocess.run(
            [str(VENV_BIN / "supervisorctl"), "-c", str(self.config), *args],
            capture_output=True,
            text=True,
            timeout=120,
        )
        if check and result.returncode != 0:
            raise RuntimeError(f"supervisorctl {' '.join(args)}: {result.stdout} {result.stderr}")
        return result.stdout

    def pid(self, program: str) -> int:
        return int(self.ctl("pid", program).strip() or 0)

    def state(self, program: str) -> str:
        return self.ctl("status", program, check=False).split()[1]

    def log(self, name: str) -> str:
        return (self.workdir / "logs" / name).read_text(errors="replace")


def worker_pids(master_pid: int) -> set[int]:
    result = subprocess.run(["ps", "-o", "pid=", "--ppid", str(master_pid)], capture_output=True, text=True)
    return {int(pid) for pid in result.stdout.split()}


@contextmanager
def supervised(
    workdir: Path, env: dict[str, str], *, programs_text: str, nginx: str | None, launcher: Sequence[str] = ()
) -> Iterator[Supervised]:
    """supervisord in the foreground as our child, with the given programs (and nginx); stopped in finally.

    `launcher` starts it elsewhere: in a fleet host's namespace, on its own disk (NetnsHost.command).
    """
    (workdir / "logs").mkdir(parents=True, exist_ok=True)
    programs = workdir / "miniplex.conf"
    programs.write_text(programs_text)
    nginx_conf = None
    if nginx is not None:
        site = workdir / "nginx-miniplex.conf"
        site.write_text(nginx)
        nginx_conf = workdir / "nginx.conf"
        nginx_conf.write_text(nginx_main_config(workdir, site))
    config = workdir / "supervisord.conf"
    config.write_text(supervisord_config(workdir, programs=programs, nginx_conf=nginx_conf))
    with open(workdir / "logs" / "supervisord.out", "ab") as out:
        process = subprocess.Popen(
            [*launcher, str(VENV_BIN / "supervisord"), "-c", str(config)], env=env, stdout=out, stderr=subprocess.STDOUT
        )
    try:
        wait_for(lambda: (workdir / "supervisor.sock").exists(), seconds=30, what="supervisord")
        yield Supervised(workdir=workdir, config=config, process=process)
    finally:
        # supervisord stops its programs in turn (gunicorn gracefully, as in production), then exits.
        stop_process(process, timeout=120)


@dataclass
class Stack:
    supervised: Supervised
    nginx_port: int
    gunicorn_port: int


@contextmanager
def running_stack(
    workdir: Path, env: dict[str, str], *, settings_module: str = "tests.e2e.settings"
) -> Iterator[Stack]:
    """nginx -> gunicorn (2 workers) and one rq worker, under supervisord, serving this checkout."""
    nginx_port, gunicorn_port = free_port(), free_port()
    # A shorter graceful stop than production's 30 s: nginx's idle keep-alive connections hold a stopping
    # worker for all of it, and the tests stop gunicorn a few times.
    env = {
        **env,
        "GUNICORN_BIND": f"127.0.0.1:{gunicorn_port}",
        "GUNICORN_WORKERS": "2",
        "GUNICORN_GRACEFUL_TIMEOUT": "10",
        # This stack's own collected files (a deploy collects into its release directory): the checkout's
        # var/static may be another run's.
        "STATIC_ROOT": str(workdir / "static"),
        # Uploads in this stack's own folder, which its nginx serves at /media/avatars/ (fill_nginx_site).
        "MEDIA_ROOT": str(workdir / "media"),
    }
    # As `fab deploy` does before it starts a release: the manifest storage of master needs it.
    manage(env, "collectstatic", "--noinput", "-v", "0")
    programs = fill_supervisor_programs(workdir, root=str(BASE_DIR), settings_module=settings_module)
    site = fill_nginx_site(workdir, listen_port=nginx_port, gunicorn_port=gunicorn_port)
    with supervised(workdir, env, programs_text=programs, nginx=site) as sup:
        wait_until_answers(nginx_port, "/healthz", seconds=90)
        yield Stack(supervised=sup, nginx_port=nginx_port, gunicorn_port=gunicorn_port)


def wait_for_new_pid(sup: Supervised, program: str, old_pid: int, *, seconds: float = 60) -> int:
    def restarted() -> bool:
        return sup.state(program) == "RUNNING" and sup.pid(program) not in (0, old_pid)

    wait_for(restarted, seconds=seconds, what=f"{program} restarted by supervisor")
    return sup.pid(program)


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def wait_gone(pids: set[int], *, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and any(pid_alive(pid) for pid in pids):
        time.sleep(0.2)


@contextmanager
def silent_upstream() -> Iterator[int]:
    """A port that accepts connections and never answers: an upstream that takes too long."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    try:
        yield listener.getsockname()[1]
    finally:
        listener.close()


@contextmanager
def nginx_alone(
    workdir: Path,
    *,
    upstream_port: int,
    read_timeout: str | None = None,
    tls: NginxTls | None = None,
    trusted_proxies: tuple[str, ...] = (),
    log_dir: Path | None = None,
    output: Path | None = None,
    upstream_servers: Sequence[str] = (),
    **main: Any,
) -> Iterator[int]:
    """The shipped site in an nginx of its own (no supervisor), in front of `upstream_port`; its port.

    `main`: nginx_main_config's sizes; `output`: a file for nginx's own output (else none is kept);
    `upstream_servers`: a fleet's hosts instead of `upstream_port` (fill_nginx_site).
    """
    workdir.mkdir(parents=True, exist_ok=True)
    log_dir = log_dir or workdir / "logs"
    log_dir.mkdir(exist_ok=True)
    port = free_port()
    site = workdir / "nginx-miniplex.conf"
    site.write_text(
        fill_nginx_site(
            workdir,
            listen_port=port,
            gunicorn_port=upstream_port,
            read_timeout=read_timeout,
            tls=tls,
            trusted_proxies=trusted_proxies,
            log_dir=log_dir,
            upstream_servers=upstream_servers,
        )
    )
    config = workdir / "nginx.conf"
    config.write_text(nginx_main_config(workdir, site, log_dir=log_dir, **main))
    with running_nginx_config(config, ready=lambda process: nginx_answers(process, port, log_dir), output=output):
        yield port


@contextmanager
def running_nginx_config(
    config: Path, *, ready: Callable[[subprocess.Popen], bool], output: Path | None = None, what: str = "nginx"
) -> Iterator[subprocess.Popen]:
    """nginx in the foreground on this main config, until the block ends; waits until `ready(process)`."""
    with open(output or os.devnull, "ab") as out:
        process = subprocess.Popen(
            ["/usr/sbin/nginx", "-c", str(config), "-g", "daemon off;"], stdout=out, stderr=subprocess.STDOUT
        )
    try:
        wait_for(lambda: ready(process), seconds=30, what=what)
        yield process
    finally:
        stop_process(process)


def nginx_answers(process: subprocess.Popen, port: int, log_dir: Path) -> bool:
    """Whether nginx accepts on its port yet; RuntimeError with its error log if it has exited instead."""
    if process.poll() is not None:
        log = log_dir / "nginx-error.log"
        tail = log.read_text(errors="replace")[-3000:] if log.exists() else ""
        raise RuntimeError(f"nginx exited with {process.returncode}:\n{tail}")
    return port_accepts(port)
