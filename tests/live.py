"""This process's Django served over real HTTP on 127.0.0.1, so the fake WeChat can push to it and the fake WeChat
Pay post its notifications to it (the pushes', avatars', payments' and the client module's tests).

pytest-django's live_server would bring its transactional_db (which empties the control database after each
test): this one only serves, a thread per request with its own database connections, as under gunicorn.
"""

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.core.handlers.wsgi import WSGIHandler
from django.core.servers.basehttp import ThreadedWSGIServer
from django.db import connections
from django.test.testcases import QuietWSGIRequestHandler


class _ClosingHandler(WSGIHandler):
    """Each request's thread hands its connections back when it ends (the pool takes them)."""

    def __call__(self, environ: Any, start_response: Any) -> Any:
        try:
            return super().__call__(environ, start_response)
        finally:
            connections.close_all()


class _Server(ThreadedWSGIServer):
    # 50 pushes at once must not meet a short listen backlog.
    request_queue_size = 128


@contextmanager
def live_django() -> Iterator[str]:
    """Serves Django on a free port; yields its base URL."""
    server = _Server(("127.0.0.1", 0), QuietWSGIRequestHandler, allow_reuse_address=False)
    server.daemon_threads = True
    server.set_app(_ClosingHandler())
    thread = threading.Thread(target=server.serve_forever, name="live-django", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
