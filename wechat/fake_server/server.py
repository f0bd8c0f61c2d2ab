"""The fake WeChat HTTP server: stdlib ThreadingHTTPServer on 127.0.0.1, startable in-process or from the CLI."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

from wechat.fake_server import component, control, endpoints, media, push, templates
from wechat.fake_server.endpoints import FakeRequest
from wechat.fake_server.remote import FakeWeChatControl
from wechat.fake_server.state import FakeState

# The pushes', media checks', open platform's and code templates' parts of the fake, each in its own module.
for _part in (push, media, component, templates):
    endpoints.ROUTES.update(_part.ROUTES)
    control.CONTROL_ROUTES.update(_part.CONTROL_ROUTES)


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    # Bursts of concurrent test callers must not be refused by a short listen backlog.
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], state: FakeState) -> None:
        super().__init__(address, _Handler)
        self.state = state


class _Handler(BaseHTTPRequestHandler):
    server: _HTTPServer

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def log_message(self, format: str, *args: Any) -> None:
        # Silent: request lines carry AppSecrets and access_tokens in their query strings.
        return

    def _handle(self, method: str) -> None:
        request = self._read_request(method)
        if request.path.startswith(control.CONTROL_PREFIX):
            status, payload = control.dispatch(self.server.state, request)
        else:
            status, payload = endpoints.dispatch(self.server.state, request)
        self._send(status, payload)

    def _read_request(self, method: str) -> FakeRequest:
        url = urlsplit(self.path)
        query = {key: values[0] for key, values in parse_qs(url.query, keep_blank_values=True).items()}
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        return FakeRequest(method=method, path=url.path, query=query, body=body if isinstance(body, dict) else None)

    def _send(self, status: int, payload: dict[str, Any] | str) -> None:
        is_json = isinstance(payload, dict)
        data = (json.dumps(payload, ensure_ascii=False) if is_json else str(payload)).encode()
        try:
            self.send_response(status)
            # WeChat labels its JSON text/plain on several endpoints; the client must not rely on the type.
            self.send_header("Content-Type", "text/plain" if is_json else "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            return  # the client gave up (a time-out test); nothing to answer


class FakeWeChatServer:
    """A fake WeChat on 127.0.0.1; ``start()`` returns its base URL, ``stop()`` shuts it down."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        apps: Mapping[str, str] | None = None,
        token_lifetime: int = 7200,
        risky_words: Iterable[str] = ("risky-word",),
        review_words: Iterable[str] = ("review-word",),
    ) -> None:
        self.state = FakeState(token_lifetime=token_lifetime, risky_words=risky_words, review_words=review_words)
        for app_id, secret in (apps or {}).items():
            self.state.register_app(app_id, secret)
        self._address = (host, port)
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        """http://host:port of the running server."""
        if self._httpd is None:
            raise RuntimeError("the fake WeChat server is not started")
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def control(self) -> FakeWeChatControl:
        """A client of this server's control API."""
        return FakeWeChatControl(self.base_url)

    def start(self) -> str:
        """Listen (port 0 picks a free one) and serve in a daemon thread; returns the base URL."""
        self._httpd = _HTTPServer(self._address, self.state)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-wechat", daemon=True
        )
        self._thread.start()
        return self.base_url

    def stop(self) -> None:
        """Stop serving and close the socket."""
        if self._httpd is None:
            return
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._httpd, self._thread = None, None

    def __enter__(self) -> FakeWeChatServer:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()
