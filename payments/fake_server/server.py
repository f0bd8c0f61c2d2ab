"""The fake WeChat Pay HTTP server: stdlib ThreadingHTTPServer on 127.0.0.1, in-process or from the CLI."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

from payments.fake_server import control, endpoints
from payments.fake_server.endpoints import FakeRequest
from payments.fake_server.remote import FakePayControl
from payments.fake_server.state import FakePayState
from payments.wechatpay.signing import signed_headers


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # bursts of concurrent test callers

    def __init__(self, address: tuple[str, int], state: FakePayState) -> None:
        super().__init__(address, _Handler)
        self.state = state


class _Handler(BaseHTTPRequestHandler):
    server: _HTTPServer
    protocol_version = "HTTP/1.1"  # keep-alive, as the client's requests.Session expects
    # Headers and body leave in one segment: with Nagle's algorithm the body waited for the delayed ACK (40 ms).
    disable_nagle_algorithm = True
    wbufsize = -1  # buffered; BaseHTTPRequestHandler flushes after each request

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def log_message(self, format: str, *args: Any) -> None:
        return  # silent, like the fake WeChat server

    def _handle(self, method: str) -> None:
        request = self._read_request(method)
        if request.path.startswith(control.CONTROL_PREFIX):
            status, payload = control.dispatch(self.server.state, request)
            self._send(status, json.dumps(payload, ensure_ascii=False).encode(), {})
            return
        answer = endpoints.dispatch(self.server.state, request)
        data = json.dumps(answer.payload, ensure_ascii=False).encode() if answer.payload is not None else b""
        headers = {"Request-ID": request.headers.get("request-id", "") or "fake-" + str(id(request))}
        if answer.merchant is not None:
            merchant = answer.merchant
            headers.update(signed_headers(key=merchant.signing_key, serial=merchant.signing_serial, body=data))
        self._send(answer.status, data, headers)

    def _read_request(self, method: str) -> FakeRequest:
        url = urlsplit(self.path)
        query = {key: values[0] for key, values in parse_qs(url.query, keep_blank_values=True).items()}
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        headers = {name.lower(): value for name, value in self.headers.items()}
        return FakeRequest(method=method, path=url.path, target=self.path, query=query, raw=raw, headers=headers)

    def _send(self, status: int, data: bytes, headers: dict[str, str]) -> None:
        try:
            self.send_response(status)
            if data:
                self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            for name, value in headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            return


class FakePayServer:
    """A fake WeChat Pay on 127.0.0.1; ``start()`` returns its base URL, ``stop()`` shuts it down.

    The control API's calls are also methods of the server itself (``server.pay(...)`` is
    ``server.control.pay(...)``).
    """

    def __init__(self, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.state = FakePayState()
        self._address = (host, port)
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        if self._httpd is None:
            raise RuntimeError("the fake WeChat Pay server is not started")
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def control(self) -> FakePayControl:
        return FakePayControl(self.base_url)

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self.control, name)

    def start(self) -> str:
        self._httpd = _HTTPServer(self._address, self.state)
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-wechatpay", daemon=True
        )
        self._thread.start()
        return self.base_url

    def stop(self) -> None:
        if self._httpd is None:
            return
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._httpd, self._thread = None, None

    def __enter__(self) -> FakePayServer:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()
