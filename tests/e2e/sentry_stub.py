"""A stand-in Sentry on 127.0.0.1: accepts envelopes as sentry.io does and keeps the events for assertions."""

import gzip
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class SentryStub:
    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        self.port = 0

    @property
    def dsn(self) -> str:
        return f"http://public@127.0.0.1:{self.port}/1"

    def add_envelope(self, body: bytes) -> None:
        """An envelope: a header line, then (item header line, payload line) pairs; keeps the `event` items."""
        lines = body.split(b"\n")
        index = 1
        while index + 1 < len(lines):
            item_header = json.loads(lines[index])
            payload = lines[index + 1]
            if item_header.get("type") == "event":
                with self.lock:
                    self.events.append(json.loads(payload))
            index += 2

    def snapshot(self) -> list[dict[str, Any]]:
        with self.lock:
            return list(self.events)


def _handler(stub: SentryStub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - the stdlib's name
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            if self.headers.get("Content-Encoding") == "gzip":
                body = gzip.decompress(body)
            if self.path.endswith("/envelope/"):
                stub.add_envelope(body)
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b"{}")

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's signature
            pass

    return Handler


@contextmanager
def sentry_stub() -> Iterator[SentryStub]:
    stub = SentryStub()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(stub))
    stub.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield stub
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def sentry_in_this_process() -> Iterator[SentryStub]:
    """Sentry started in the test's own process, sending to a stand-in; stopped (no DSN) afterwards."""
    import sentry_sdk

    from core.sentry import sentry_init

    with sentry_stub() as stub:
        sentry_init(dsn=stub.dsn, environment="test", release="test")
        try:
            yield stub
        finally:
            sentry_sdk.get_client().close()
            sentry_sdk.init()  # no DSN: nothing is sent by the tests after this one
