"""A real HTTP server for this process's Django, on 127.0.0.1, so the fake WeChat Pay can post notifications.

pytest-django's live_server would bring its transactional_db (which empties the control database after each
test); this one only serves: a thread per request (ThreadedWSGIServer), each with its own database connections,
as under gunicorn. The settings a test changes are the process's, so the server sees them too.
"""

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.core.handlers.wsgi import WSGIHandler
from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        pass


@contextmanager
def live_django() -> Iterator[str]:
    """Serves Django on a free port; yields its base URL (http://127.0.0.1:PORT)."""
    server = ThreadedWSGIServer(("127.0.0.1", 0), _QuietHandler, allow_reuse_address=False)
    server.set_app(WSGIHandler())  # each request's thread closes its connections (close_request)
    thread = threading.Thread(target=server.serve_forever, name="live-django", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
