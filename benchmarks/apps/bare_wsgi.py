"""The bare WSGI baseline: no framework at all, the same JSON body as /api/v1/ping."""

from collections.abc import Callable, Iterable

BODY = b'{"app_id": "wx0000000000000000"}'
HEADERS = [("Content-Type", "application/json"), ("Content-Length", str(len(BODY)))]


def application(environ: dict, start_response: Callable) -> Iterable[bytes]:
    start_response("200 OK", HEADERS)
    return [BODY]
