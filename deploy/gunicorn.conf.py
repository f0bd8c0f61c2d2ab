"""gunicorn for Miniplex: gevent workers behind nginx, on PyMySQL and a bounded connection pool.

Run from the release directory (supervisor does): gunicorn -c deploy/gunicorn.conf.py config.wsgi:application

Order matters under gevent (docs/connections.md): this file and post_fork never import Django or the
project, and there is no preload, so each worker imports Django only after gevent's worker has monkey-patched
the standard library (GeventWorker.init_process patches, then loads the app). The master imports nothing of
the release either, so a HUP's new workers load the code that `current` points at now.

Every value can be changed through the environment (GUNICORN_*); the README has the table.
"""

import json
import logging
import multiprocessing
import os
import re
import time

from gunicorn import glogging
from gunicorn import util as gunicorn_util

RELEASE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _env_int(name: str, default: int) -> int:
    return int(os.environ.get(name) or default)


bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
# Where the app is imported from: the path as given (through `current`), so that a HUP loads the new release.
chdir = os.environ.get("GUNICORN_CHDIR", RELEASE_DIR)
wsgi_app = "config.wsgi:application"


def _time_zone() -> str:
    """TIME_ZONE as the app reads it: the environment, else the release's .env, else base settings' default."""
    if os.environ.get("TIME_ZONE"):
        return os.environ["TIME_ZONE"]
    try:
        with open(os.path.join(chdir, ".env"), encoding="utf-8") as dotenv:
            for line in dotenv:
                name, _, value = line.strip().removeprefix("export ").partition("=")
                if name.strip() == "TIME_ZONE" and value.strip():
                    return value.strip().strip("'\"")
    except OSError:
        pass
    return "Asia/Shanghai"


# Django sets TZ to TIME_ZONE in every worker; the master logs in the same zone, so that one log file does not
# mix two offsets (+0000 from the master, +0800 from its workers).
os.environ["TZ"] = _time_zone()
time.tzset()

# gevent: one worker per core, each serving up to worker_connections clients cooperatively.
worker_class = "gevent"
workers = _env_int("GUNICORN_WORKERS", multiprocessing.cpu_count())
worker_connections = _env_int("GUNICORN_WORKER_CONNECTIONS", 1000)
# Seconds a worker may go silent (blocked CPU) before the master kills it; gevent's heartbeat runs in its
# own greenlet, so long requests waiting on I/O do not trip it.
timeout = _env_int("GUNICORN_TIMEOUT", 30)
# On HUP, stop or restart, workers finish the requests in flight for this long (supervisor waits longer).
graceful_timeout = _env_int("GUNICORN_GRACEFUL_TIMEOUT", 30)
# Idle keep-alive connections from nginx are kept longer than nginx keeps them (keepalive_timeout 60s), so
# that it is always nginx that closes an idle one and never gunicorn while nginx is sending a request on it.
keepalive = _env_int("GUNICORN_KEEPALIVE", 75)
# Recycle workers now and then (memory growth of long-lived processes), not all at once, and rarely: each new
# worker takes a second or two to import Django while the old one's keep-alive clients reconnect, which shows
# in the tail latency. A busy gevent worker reached 10,000 requests within seconds (benchmarks/README.md);
# 200,000 is minutes at peak and hours at ordinary load.
max_requests = _env_int("GUNICORN_MAX_REQUESTS", 200_000)
max_requests_jitter = _env_int("GUNICORN_MAX_REQUESTS_JITTER", 20_000)
# X-Forwarded-Proto and friends are trusted from the proxy only (nginx on this host).
forwarded_allow_ips = os.environ.get("GUNICORN_FORWARDED_ALLOW_IPS", "127.0.0.1,::1")
proc_name = os.environ.get("GUNICORN_PROC_NAME", "miniplex")
# supervisor is the control interface (signal HUP, restart); gunicorn's own control socket would sit at one
# path per user ($HOME/.gunicorn/gunicorn.ctl), shared by every gunicorn that user runs.
control_socket_disable = True

# --- Logs ------------------------------------------------------------------------------------------------
# Both to stdout/stderr: supervisor writes them to files and rotates them. The access line names the tenant,
# the request id (the one the app echoed) and the duration in milliseconds; the client's address is the
# first X-Forwarded-For entry written by nginx.
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-")
errorlog = os.environ.get("GUNICORN_ERROR_LOG", "-")
loglevel = os.environ.get("LOG_LEVEL", "info").lower()
access_log_format = (
    'app_id=%({x-appid}i)s request_id=%({x-request-id}o)s client=%({x-forwarded-for}i)s "%(r)s" %(s)s %(B)s %(M)sms'
)
# The fields of an access line when LOG_FORMAT=json, by the names of gunicorn's log atoms.
ACCESS_JSON_FIELDS = {
    "app_id": "{x-appid}i",
    "request_id": "{x-request-id}o",
    "client": "{x-forwarded-for}i",
    "remote_addr": "h",
    "method": "m",
    "path": "U",
    "query": "q",
    "status": "s",
    "bytes": "B",
    "duration_ms": "M",
    "user_agent": "a",
}


# Printable ASCII but the backslash and the double quote (and, outside the quoted request line, the space).
_SAFE = re.compile(r"[!#-\[\]-~]*")
_SAFE_QUOTED = re.compile(r"[ !#-\[\]-~]*")


def escape_log_value(value: str, *, quoted: bool = False) -> str:
    """A client-supplied value made safe for one field of an access line.

    Header values reach the line as sent: a space in X-AppID or X-Forwarded-For would let a client write fields
    of its own (`app_id=wx.. client=10.0.0.1`). Backslashes, quotes, control and non-ASCII characters are
    escaped as \\xNN (\\uNNNN), and so are spaces outside the quoted request line.
    """
    if (_SAFE_QUOTED if quoted else _SAFE).fullmatch(value):
        return value  # nearly every value: one regex match instead of a Python loop per character
    return escape_each_character(value, quoted=quoted)


def escape_each_character(value: str, *, quoted: bool) -> str:
    """escape_log_value's work, one character at a time (every value with something to escape comes here)."""
    out = []
    for char in value:
        if char == "\\" or char == '"':
            out.append("\\" + char)
        elif (char == " " and not quoted) or not (char.isascii() and char.isprintable()):
            out.append(f"\\x{ord(char):02x}" if ord(char) < 256 else f"\\u{ord(char):04x}")
        else:
            out.append(char)
    return "".join(out)


class EscapedAtoms(glogging.SafeAtoms):
    """gunicorn's access-line atoms with every string escaped (gunicorn itself escapes only the double quote)."""

    def __init__(self, atoms: dict) -> None:
        dict.__init__(self)
        for key, value in atoms.items():
            self[key] = escape_log_value(value, quoted=key == "r") if isinstance(value, str) else value


class EscapingLogger(glogging.Logger):
    atoms_wrapper_class = EscapedAtoms


logger_class = EscapingLogger

# --- gunicorn's own refusals, in the API's JSON error shape ---------------------------------------------------
# gunicorn answers a request it cannot parse before Django sees it (util.write_error writes an HTML page). Behind
# nginx two kinds still reach it: a control byte in a header value and more than limit_request_fields headers;
# reached directly, any malformed request. Its reason phrase only: `mesg` quotes the client's bytes.
GUNICORN_ERROR_CODES = {
    400: "bad_request",
    414: "uri_too_long",
    417: "expectation_failed",
    431: "request_header_too_large",
    501: "not_implemented",
}


def write_json_error(sock, status_int: int, reason: str, mesg: str) -> None:  # noqa: ANN001
    code = GUNICORN_ERROR_CODES.get(status_int, "bad_request" if status_int < 500 else "server_error")
    body = json.dumps({"error": {"code": code, "message": f"{reason}."}})
    head = f"HTTP/1.1 {status_int} {reason}\r\nConnection: close\r\nContent-Type: application/json\r\n"
    gunicorn_util.write_nonblock(sock, f"{head}Content-Length: {len(body)}\r\n\r\n{body}".encode("latin1"))


gunicorn_util.write_error = write_json_error  # workers call util.write_error by name, at the time of the error


class JsonLogFormatter(logging.Formatter):
    """gunicorn's own lines as JSON (stdlib only: the master imports nothing of the release)."""

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(record.created)),
            "level": record.levelname,
            "logger": record.name,
        }
        if record.name == "gunicorn.access" and isinstance(record.args, dict):
            atoms = record.args
            line.update({name: atoms.get(atom, "-") for name, atom in ACCESS_JSON_FIELDS.items()})
            line["message"] = f"{line['method']} {line['path']} {line['status']}"
        else:
            line["message"] = record.getMessage()
        if record.exc_info:
            line["exc_info"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


if os.environ.get("LOG_FORMAT", "text").lower() == "json":
    logconfig_dict = {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": JsonLogFormatter}},
        "handlers": {
            "stdout": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stdout"},
            "stderr": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"},
        },
        # gunicorn merges this over its defaults, whose root logger needs a handler of this config.
        "root": {"handlers": ["stderr"], "level": "INFO"},
        "loggers": {
            "gunicorn.error": {"handlers": ["stderr"], "level": loglevel.upper(), "propagate": False},
            "gunicorn.access": {"handlers": ["stdout"], "level": "INFO", "propagate": False},
        },
    }


# --- Hooks -----------------------------------------------------------------------------------------------
def on_starting(server):  # noqa: ANN001, ANN201
    """The master starts (not on HUP): the web folder of the metrics files starts empty (docs/metrics.md).

    Files of the previous run's processes would be added up with the new ones' for as long as the folder lives;
    the other programs' folders (worker-00, relay) are theirs and left alone.
    """
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if folder:
        os.makedirs(folder, exist_ok=True)
        for name in os.listdir(folder):
            if name.endswith(".db"):
                os.remove(os.path.join(folder, name))


def child_exit(server, worker):  # noqa: ANN001, ANN201
    """A worker died or was recycled: its live gauges go (in use, waiting); its counters stay in the totals."""
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if folder:
        from prometheus_client import multiprocess  # the library only: the master imports nothing of the project

        multiprocess.mark_process_dead(worker.pid, folder)


def post_fork(server, worker):  # noqa: ANN001, ANN201
    """Before the app is loaded in the new worker: choose the MySQL driver (Django is not imported yet).

    PyMySQL is pure Python, so gevent's patched sockets make it cooperative: while one request waits for
    MySQL the worker serves others (mysqlclient is a C extension and blocks the whole worker; mysqlclient
    #464). MINIPLEX_DB_DRIVER=mysqlclient keeps the C driver, for comparison (deploy/measure_drivers.py).
    """
    if os.environ.get("MINIPLEX_DB_DRIVER", "pymysql") == "pymysql":
        import pymysql

        pymysql.install_as_MySQLdb()


def post_worker_init(worker):  # noqa: ANN001, ANN201
    """The app is loaded in this worker: its objects leave the garbage collector's watch (GUNICORN_GC_FREEZE=0: not).

    Django, DRF and the project are a few hundred thousand objects that live as long as the worker. Left tracked,
    every full collection walks them all, and under gevent a collection stops every greenlet of the worker at
    once: the pause lands on each request in flight (benchmarks/results/2026-12-01-perf.md). gc.freeze() moves
    them to a generation the collector never scans; garbage made by requests is still collected as before.
    """
    if os.environ.get("GUNICORN_GC_FREEZE", "1") != "0":
        import gc

        gc.collect()
        gc.freeze()


def post_request(worker, req, environ, resp):  # noqa: ANN001, ANN201
    """Yield to the other greenlets after every request, until the event loop has polled for I/O.

    Without it a greenlet whose keep-alive client has its next request ready goes on serving it and starves
    the others. `gevent.sleep(0)` is not enough: it resumes the greenlet before the loop polls sockets again,
    so under full load the same few clients are served while the rest wait (ping at 50 wrk clients, 2 workers:
    p50 18 ms, p99 507 ms). `gevent.idle()` resumes it only once the loop has run what was ready, so every
    waiting client gets its turn before anyone's next request (p50 19 ms, p99 35 ms; /me p99 from 580 to 157
    ms; req/s within 4%). Figures: benchmarks/results/2026-12-01-tail.md.
    """
    import gevent

    gevent.idle()
