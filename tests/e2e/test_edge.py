"""The shipped edge, as a new operator runs it: gunicorn (deploy/gunicorn.conf.py) behind deploy/nginx/miniplex.conf
with its "TLS at nginx" lines switched on, and the same site behind a TLS-terminating proxy ("TLS at a load
balancer"), under the production settings with the HTTPS variables of .env.example.

- A raw-socket prober sends what clients and scanners send (lowercase, duplicated, oversized and numerous
  headers, control bytes, bad Content-Length, HTTP/1.1 without Host, `%ZZ`, deep and invalid JSON, arrays and
  bare strings as bodies, wrong content types) through the shipped nginx: every answer is JSON in the one error
  shape, and none is a 500.
- The admin logs in with a real CSRF flow (the login page's token, then the form post with the browser's Origin
  and Referer) on non-default ports: HTTPS at nginx, and HTTPS at a proxy in front of nginx.

Certificates are made here with openssl (a throwaway self-signed one for 127.0.0.1); nothing leaves 127.0.0.1.
"""

import http.client
import io
import json
import re
import socket
import ssl
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from tests.e2e.conftest import E2E_TENANTS, Services
from tests.e2e.services import manage, port_accepts, running_gunicorn, wait_for
from tests.e2e.stack import NginxTls, nginx_alone, nginx_main_config, running_nginx_config
from tests.helpers import free_port

pytestmark = pytest.mark.slow

APP_ID = E2E_TENANTS[0]
ADMIN_USER, ADMIN_PASSWORD = "edge-admin", "edge-admin-password-1"
# The HTTPS part of .env.example: redirect plain HTTP to HTTPS, and HSTS (an hour here, a year there).
HTTPS_ENV = {"DJANGO_SECURE_SSL_REDIRECT": "true", "DJANGO_SECURE_HSTS_SECONDS": "3600"}


def make_certificate(folder: Path) -> tuple[Path, Path]:
    folder.mkdir(parents=True, exist_ok=True)
    cert, key = folder / "edge.crt", folder / "edge.key"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],  # fmt: skip
        check=True,
        capture_output=True,
        timeout=60,
    )
    return cert, key


FRONT_PROXY_SITE = """server {{
    listen 127.0.0.1:{port} ssl;
    ssl_certificate     {cert};
    ssl_certificate_key {key};
    access_log {logs}/front.access.log;
    location / {{
        proxy_pass http://127.0.0.1:{upstream};
        proxy_set_header Host $http_host;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_set_header X-Forwarded-Proto https;
    }}
}}
"""


@contextmanager
def front_tls_proxy(workdir: Path, *, upstream_port: int, cert: Path, key: Path) -> Iterator[int]:
    """A load balancer stand-in: another nginx that ends TLS and passes plain HTTP on, as balancers do; its port."""
    (workdir / "logs").mkdir(parents=True, exist_ok=True)
    port = free_port()
    site = workdir / "front.conf"
    site.write_text(
        FRONT_PROXY_SITE.format(port=port, cert=cert, key=key, logs=workdir / "logs", upstream=upstream_port)
    )
    config = workdir / "nginx.conf"
    config.write_text(nginx_main_config(workdir, site))
    with running_nginx_config(config, ready=lambda _: port_accepts(port), what="front TLS proxy"):
        yield port


@dataclass
class Edge:
    cert: Path
    https_port: int  # the shipped nginx, TLS at nginx
    http_port: int  # the same nginx's plain-HTTP port
    behind_proxy_port: int  # the shipped nginx trusting the proxy in front (plain HTTP)
    proxy_port: int  # the proxy in front (TLS)
    gunicorn_port: int  # gunicorn itself, as nothing but a test or a lost operator reaches it
    workdir: Path


@pytest.fixture(scope="module")
def edge(services: Services) -> Iterator[Edge]:
    workdir = services.workdir / "edge"
    workdir.mkdir(parents=True, exist_ok=True)
    env = services.env(**HTTPS_ENV, STATIC_ROOT=str(workdir / "static"))
    # What every deploy runs (the admin's pages name their collected static files).
    manage(env, "collectstatic", "--noinput", "-v", "0")
    manage(
        env,
        "shell",
        "-c",
        "from django.contrib.auth.models import User\n"
        f"user, _ = User.objects.get_or_create(username={ADMIN_USER!r})\n"
        f"user.is_staff = user.is_superuser = True\nuser.set_password({ADMIN_PASSWORD!r})\nuser.save()",
    )
    cert, key = make_certificate(workdir / "tls")
    https_port = free_port()
    tls = NginxTls(port=https_port, certificate=cert, key=key)
    with (
        running_gunicorn(env, workdir / "gunicorn.log", workers=1) as gunicorn_port,
        nginx_alone(workdir / "nginx-tls", upstream_port=gunicorn_port, tls=tls) as http_port,
        nginx_alone(
            workdir / "nginx-behind-proxy", upstream_port=gunicorn_port, trusted_proxies=("127.0.0.1",)
        ) as behind_proxy_port,
        front_tls_proxy(workdir / "front", upstream_port=behind_proxy_port, cert=cert, key=key) as proxy_port,
    ):
        wait_for(lambda: port_accepts(https_port), seconds=30, what="nginx's TLS port")
        yield Edge(
            cert=cert,
            https_port=https_port,
            http_port=http_port,
            behind_proxy_port=behind_proxy_port,
            proxy_port=proxy_port,
            gunicorn_port=gunicorn_port,
            workdir=workdir,
        )


# --- The admin's login, with a real CSRF flow ---------------------------------------------------------------
def admin_login(base: str, cert: Path) -> requests.Session:
    """GET the login page, POST the form with its csrfmiddlewaretoken as a browser does; the logged-in session."""
    session = requests.Session()
    # Our certificate only: REQUESTS_CA_BUNDLE and proxy variables of the environment would win over `verify`.
    session.trust_env = False
    session.verify = str(cert)
    login_url = f"{base}/admin/login/?next=/admin/"
    page = session.get(login_url, timeout=30)
    assert page.status_code == 200, page.text[:500]
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)
    assert token, page.text[:500]
    answer = session.post(
        login_url,
        data={
            "csrfmiddlewaretoken": token.group(1),
            "username": ADMIN_USER,
            "password": ADMIN_PASSWORD,
            "next": "/admin/",
        },
        headers={"Origin": base, "Referer": login_url},
        allow_redirects=False,
        timeout=30,
    )
    assert answer.status_code == 302, answer.text[:800]
    assert answer.headers["Location"] == "/admin/"
    home = session.get(f"{base}/admin/", allow_redirects=False, timeout=30)
    assert home.status_code == 200, home.text[:500]
    assert "Log out" in home.text
    return session


def test_admin_login_over_https_at_nginx_on_a_non_default_port(edge):
    base = f"https://127.0.0.1:{edge.https_port}"
    session = admin_login(base, edge.cert)
    assert session.cookies.get("sessionid")
    answer = session.get(f"{base}/admin/", timeout=30)
    # HTTPS as Django saw it: HSTS is sent only on a request it holds for secure.
    assert answer.headers["Strict-Transport-Security"] == "max-age=3600; includeSubDomains"


def test_admin_login_behind_a_tls_terminating_proxy_in_front_of_nginx(edge):
    base = f"https://127.0.0.1:{edge.proxy_port}"
    session = admin_login(base, edge.cert)
    answer = session.get(f"{base}/admin/", timeout=30)
    assert answer.headers["Strict-Transport-Security"] == "max-age=3600; includeSubDomains"


def test_plain_http_is_redirected_to_https_and_a_clients_own_x_forwarded_proto_is_not_believed(edge):
    plain = f"http://127.0.0.1:{edge.http_port}"
    redirected = requests.get(f"{plain}/admin/login/", allow_redirects=False, timeout=30)
    assert redirected.status_code == 301
    # Django built it from the Host nginx passed on: with its port (nginx's $host had dropped it).
    assert redirected.headers["Location"] == f"https://127.0.0.1:{edge.http_port}/admin/login/"
    # nginx faces this client: its X-Forwarded-Proto is replaced with nginx's own scheme.
    forged = requests.get(
        f"{plain}/admin/login/", headers={"X-Forwarded-Proto": "https"}, allow_redirects=False, timeout=30
    )
    assert forged.status_code == 301
    # A load balancer's health check over plain HTTP is answered, not redirected.
    assert requests.get(f"{plain}/healthz", allow_redirects=False, timeout=30).status_code == 200


def test_plain_http_sent_to_the_https_port_gets_json(edge):
    answer = exchange(edge.https_port, b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
    assert_json_error(answer, 400)
    assert answer.json["error"]["code"] == "https_required"


# --- The prober ----------------------------------------------------------------------------------------------
@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> dict:
        return json.loads(self.body)


class _Recorded:
    """What http.client needs of a socket to parse an answer already read."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def makefile(self, mode: str) -> io.BytesIO:
        return io.BytesIO(self.data)


def exchange(port: int, request: bytes, *, tls_cert: Path | None = None) -> Answer:
    """Sends these exact bytes (over TLS when given a certificate) and reads the whole answer."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    if tls_cert is not None:
        sock = ssl.create_default_context(cafile=str(tls_cert)).wrap_socket(sock, server_hostname="127.0.0.1")
    chunks = []
    with sock:
        sock.sendall(request)
        while chunk := sock.recv(65536):  # every probe asks for Connection: close
            chunks.append(chunk)
    data = b"".join(chunks)
    if not data.startswith(b"HTTP/"):  # an HTTP/0.9 answer: a body without status line or headers
        return Answer(status=0, headers={}, body=data)
    response = http.client.HTTPResponse(_Recorded(data))  # type: ignore[arg-type]
    response.begin()
    return Answer(
        status=response.status, headers={k.lower(): v for k, v in response.getheaders()}, body=response.read()
    )


def assert_json_error(answer: Answer, status: int | None = None) -> None:
    assert answer.status != 500, answer
    if status is not None:
        assert answer.status == status, answer
    assert answer.headers.get("content-type") == "application/json", answer
    body = answer.json
    assert isinstance(body["error"]["code"], str) and body["error"]["code"], body
    assert isinstance(body["error"]["message"], str), body


def request_bytes(
    method: str = "GET",
    path: str = "/api/v1/ping",
    *,
    headers: list[tuple[str, str]] | None = None,
    body: bytes = b"",
    host: str | None = "127.0.0.1",
    version: str = "HTTP/1.1",
) -> bytes:
    lines = [f"{method} {path} {version}"]
    if host is not None:
        lines.append(f"Host: {host}")
    lines += [f"{name}: {value}" for name, value in headers or []]
    lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def raw_lines(*lines: str) -> bytes:
    """A request written line by line, as sent (Connection: close added)."""
    return ("\r\n".join([*lines, "Connection: close"]) + "\r\n\r\n").encode("latin-1")


def json_post(path: str, body: bytes, *, content_type: str = "application/json", extra=()) -> bytes:  # noqa: ANN001
    headers = [("X-AppID", APP_ID), ("Content-Type", content_type), ("Content-Length", str(len(body))), *extra]
    return request_bytes("POST", path, headers=headers, body=body)


TENANT = [("X-AppID", APP_ID)]
LOGIN = "/api/v1/auth/login"

# name -> the raw request.
HEADER_PROBES: dict[str, bytes] = {
    "lowercase header names": b"GET /api/v1/me HTTP/1.1\r\nhost: 127.0.0.1\r\nx-appid: "
    + APP_ID.encode()
    + b"\r\nauthorization: Bearer nope\r\nconnection: close\r\n\r\n",
    "lowercase method": b"get /api/v1/ping HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n",
    "two X-AppID headers": request_bytes(headers=[("X-AppID", APP_ID), ("X-AppID", E2E_TENANTS[1])]),
    "two Authorization headers": request_bytes(
        "GET", "/api/v1/me", headers=[*TENANT, ("Authorization", "Bearer a"), ("Authorization", "Bearer b")]
    ),
    "two Host headers": raw_lines("GET /api/v1/ping HTTP/1.1", "Host: 127.0.0.1", "Host: evil.example"),
    "a 5 KB header": request_bytes(headers=[*TENANT, ("X-Big", "a" * 5000)]),
    "a 9 KB header": request_bytes(headers=[*TENANT, ("X-Big", "a" * 9000)]),
    "a 20 KB cookie": request_bytes(headers=[*TENANT, ("Cookie", "c=" + "a" * 20000)]),
    "40 KB of headers": request_bytes(headers=[*TENANT, *[(f"X-H{n}", "v" * 3000) for n in range(14)]]),
    "120 headers": request_bytes(headers=[*TENANT, *[(f"X-H{n}", "v") for n in range(120)]]),
    "a 5 KB path": request_bytes(path="/api/v1/ping?" + "a" * 5000, headers=TENANT),
    "a 9 KB path": request_bytes(path="/api/v1/ping?" + "a" * 9000, headers=TENANT),
    "CR in a header value": request_bytes(headers=[*TENANT, ("X-A", "a\rb")]),
    "NUL in a header value": request_bytes(headers=[*TENANT, ("X-A", "a\x00b")]),
    "\\x01 in a header value": request_bytes(headers=[*TENANT, ("X-A", "a\x01b")]),
    "DEL in a header value": request_bytes(headers=[*TENANT, ("X-A", "a\x7fb")]),
    "\\x01 in X-AppID": request_bytes(headers=[("X-AppID", "wx\x010000000000000e1")]),
    "a bad X-AppID": request_bytes(headers=[("X-AppID", "../../etc/passwd")]),
    "a space before the colon": raw_lines("GET /api/v1/ping HTTP/1.1", "Host: 127.0.0.1", f"X-AppID : {APP_ID}"),
    "an obsolete line folding": raw_lines("GET /api/v1/ping HTTP/1.1", "Host: 127.0.0.1", "X-A: a", " b"),
    "Content-Length: abc": request_bytes("POST", LOGIN, headers=[*TENANT, ("Content-Length", "abc")]),
    "Content-Length: -1": request_bytes("POST", LOGIN, headers=[*TENANT, ("Content-Length", "-1")]),
    "two Content-Length headers": request_bytes(
        "POST", LOGIN, headers=[*TENANT, ("Content-Length", "2"), ("Content-Length", "3")], body=b"{}"
    ),
    "Content-Length and chunked": request_bytes(
        "POST", LOGIN, headers=[*TENANT, ("Content-Length", "5"), ("Transfer-Encoding", "chunked")], body=b"0\r\n\r\n"
    ),
    "a bad chunk size": request_bytes(
        "POST", LOGIN, headers=[*TENANT, ("Transfer-Encoding", "chunked")], body=b"ZZ\r\n{}\r\n0\r\n\r\n"
    ),
    "Transfer-Encoding: gzip": request_bytes("POST", LOGIN, headers=[*TENANT, ("Transfer-Encoding", "gzip")]),
    "HTTP/1.1 without Host": request_bytes(headers=TENANT, host=None),
    "HTTP/1.0 without Host": request_bytes(headers=TENANT, host=None, version="HTTP/1.0"),
    "Host: evil.example": request_bytes("GET", "/healthz", host="evil.example"),
    "Host: evil.example:8080 on the admin": request_bytes("GET", "/admin/login/", host="evil.example:8080"),
    "a Host with a slash": request_bytes(host="a/b"),
    "%ZZ in the path": request_bytes(path="/api/v1/%ZZ", headers=TENANT),
    "%00 in the path": request_bytes(path="/api/v1/ping%00", headers=TENANT),
    "raw UTF-8 in the path": request_bytes(path="/api/v1/ping/\xc3\xa9", headers=TENANT),
    "dot segments above the root": request_bytes(path="/../../etc/passwd", headers=TENANT),
    "a two-letter method": request_bytes("AB", headers=TENANT),
    "a 26-letter method": request_bytes("ABCDEFGHIJKLMNOPQRSTUVWXYZ", headers=TENANT),
    "TRACE": request_bytes("TRACE", headers=TENANT),
    "a method with @": request_bytes("G@T", headers=TENANT),
    "HTTP/9.9": request_bytes(headers=TENANT, version="HTTP/9.9"),
    "HTTP/2 preface over HTTP/1": b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
    "garbage request line": b"HELLO\r\n\r\n",
    "contradictory scheme headers": request_bytes(
        headers=[*TENANT, ("X-Forwarded-Proto", "http"), ("X-Forwarded-Ssl", "on"), ("X-Forwarded-Protocol", "ssl")]
    ),
    "Expect: something": request_bytes("POST", LOGIN, headers=[*TENANT, ("Expect", "teapot"), ("Content-Length", "0")]),
    "a POST to the admin without CSRF": request_bytes(
        "POST",
        "/admin/login/",
        headers=[("Content-Type", "application/x-www-form-urlencoded"), ("Content-Length", "3")],
        body=b"a=b",
    ),
    "Bearer on the schema": request_bytes("GET", "/api/schema/", headers=[("Authorization", "Bearer abc")]),
    "Bearer on the docs": request_bytes("GET", "/api/docs/", headers=[("Authorization", "Bearer abc")]),
    "a direct request for nginx's internal error page": request_bytes("GET", "/.miniplex-error/bad_request"),
    "POST to the docs page": request_bytes("POST", "/api/docs/", headers=[("Content-Length", "0")]),
    "OPTIONS on the docs page": request_bytes("OPTIONS", "/api/docs/"),
    "DELETE on the schema": request_bytes("DELETE", "/api/schema/"),
    "POST to a static file": request_bytes("POST", "/static/admin/css/base.css", headers=[("Content-Length", "0")]),
    "POST to the favicon": request_bytes("POST", "/favicon.ico", headers=[("Content-Length", "0")]),
    "a browser's Accept on an API error": request_bytes(
        "GET", "/api/v1/me", headers=[*TENANT, ("Accept", "text/html,application/xhtml+xml,*/*;q=0.8")]
    ),
    "an unknown path with a browser's Accept": request_bytes("GET", "/nowhere", headers=[("Accept", "text/html")]),
}

BODY_PROBES: dict[str, bytes] = {
    "1,000 nested [": json_post(LOGIN, b"[" * 1000),
    "1,000 nested [ closed": json_post(LOGIN, b"[" * 1000 + b"]" * 1000),
    '1,000 nested {"a":': json_post(LOGIN, b'{"a":' * 1000 + b"1" + b"}" * 1000),
    "100,000 nested [": json_post(LOGIN, b"[" * 100_000),
    "invalid JSON": json_post(LOGIN, b'{"code": '),
    "JSON with a trailing comma": json_post(LOGIN, b'{"code": "x",}'),
    "NaN": json_post(LOGIN, b'{"code": NaN}'),
    "a huge number": json_post(LOGIN, b'{"code": 1e999999}'),
    "invalid UTF-8": json_post(LOGIN, b'{"code": "\xff\xfe"}'),
    "a UTF-16 body": json_post(LOGIN, '{"code": "x"}'.encode("utf-16")),
    "an empty body": json_post(LOGIN, b""),
    "an array": json_post(LOGIN, b'["code", "x"]'),
    "an empty array": json_post(LOGIN, b"[]"),
    "a bare string": json_post(LOGIN, b'"code-alice"'),
    "a bare number": json_post(LOGIN, b"1"),
    "null": json_post(LOGIN, b"null"),
    "an object of the wrong types": json_post(LOGIN, b'{"code": {"a": [1]}}'),
    "text/plain": json_post(LOGIN, b'{"code": "x"}', content_type="text/plain"),
    "application/xml": json_post(LOGIN, b"<code>x</code>", content_type="application/xml"),
    "a form without a code": json_post(LOGIN, b"a=b", content_type="application/x-www-form-urlencoded"),
    "multipart without a boundary": json_post(LOGIN, b"--x\r\n", content_type="multipart/form-data"),
    "multipart with a broken part": json_post(
        LOGIN, b"--b\r\nContent-Disposition: form-data\r\n\r\nx\r\n", content_type="multipart/form-data; boundary=b"
    ),
    "a bad charset": json_post(LOGIN, b'{"code": "x"}', content_type="application/json; charset=nope"),
    "an array to PATCH /me": json_post("/api/v1/me", b"[1]", extra=[("Authorization", "Bearer nope")]),
    "nested [ to PATCH /me": json_post("/api/v1/me", b"[" * 1000, extra=[("Authorization", "Bearer nope")]),
    "nested [ to the platform API": request_bytes(
        "POST",
        "/platform/v1/tenants",
        headers=[("Content-Type", "application/json"), ("Content-Length", "1000")],
        body=b"[" * 1000,
    ),
    "a body over the limit": json_post(LOGIN, b" " * 300_000),
}


@pytest.mark.parametrize("name", list(HEADER_PROBES) + list(BODY_PROBES))
def test_every_error_through_the_shipped_nginx_is_json_and_none_is_a_500(edge, name):
    """Most probes are refused; a few may be served (the schema with a stray Bearer header, a request whose
    contradicting scheme headers nginx dropped). Whatever the answer, it is no 500, and an error is JSON."""
    request = HEADER_PROBES.get(name) or BODY_PROBES[name]
    answer = exchange(edge.https_port, request, tls_cert=edge.cert)
    assert 200 <= answer.status < 600 and answer.status != 500, answer
    if answer.status >= 400:
        assert_json_error(answer)


def test_an_http_0_9_request_gets_a_json_body(edge):
    """HTTP/0.9 has no status line or headers to answer with; the body is still the JSON error."""
    answer = exchange(edge.https_port, b"GET /api/v1/ping\r\n", tls_cert=edge.cert)
    assert answer.status == 0
    assert json.loads(answer.body)["error"]["code"]


GUNICORN_REFUSALS = {
    "a request line it cannot parse": raw_lines("GET /api/v1/ping HTTP/1.1 extra", "Host: 127.0.0.1"),
    "a request line over its limit": request_bytes(path="/" + "a" * 5000),
    "a control byte in a header value": request_bytes(headers=[("X-Probe", "a\x01b")]),
    "more headers than limit_request_fields": request_bytes(headers=[(f"X-P{n}", "v") for n in range(120)]),
    "a method of lower-case letters": request_bytes(method="get"),
}


@pytest.mark.parametrize("name", list(GUNICORN_REFUSALS))
def test_gunicorns_own_refusals_straight_to_it_are_json_too(edge, name):
    answer = exchange(edge.gunicorn_port, GUNICORN_REFUSALS[name])
    assert_json_error(answer)
    assert 400 <= answer.status < 500
    assert b"\x01" not in answer.body and b"aaaa" not in answer.body  # the client's bytes are not echoed


def test_nginx_s_own_405_names_the_allowed_methods(edge):
    answer = exchange(
        edge.https_port, request_bytes("TRACE", headers=[("X-AppID", "wx00000000000000e1")]), tls_cert=edge.cert
    )
    assert_json_error(answer, 405)
    assert "GET" in answer.headers["allow"] and "TRACE" not in answer.headers["allow"]
