"""A profile of the hot path of GET /api/v1/me (pyinstrument), in one process, through Django's whole stack.

    python -m benchmarks.profile APP_ID TOKEN COUNT     # prints JSON: time per request, the profile as text

The requests go through the WSGI handler with every middleware (django.test.Client, no network, no gunicorn),
with the driver Django finds (mysqlclient here: no gevent, no pool), so the profile shows where the Python time
of one request goes, not the waiting.
"""

import json
import os
import sys
import time


def main(argv: list[str]) -> int:
    app_id, token, count = argv[0], argv[1], int(argv[2])
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchmarks.apps.settings")
    import django

    django.setup()
    from django.test import Client
    from pyinstrument import Profiler

    client = Client(HTTP_HOST="127.0.0.1", HTTP_X_APPID=app_id, HTTP_AUTHORIZATION=f"Bearer {token}")
    for _ in range(50):
        assert client.get("/api/v1/me").status_code == 200  # noqa: S101 - a broken profile must not pass silently
    profiler = Profiler(interval=0.0002)
    started = time.perf_counter()
    profiler.start()
    for _ in range(count):
        client.get("/api/v1/me")
    profiler.stop()
    elapsed = time.perf_counter() - started
    text = profiler.output_text(unicode=False, color=False, show_all=False, short_mode=False)
    json.dump({"requests": count, "ms_per_request": 1000 * elapsed / count, "text": text}, sys.stdout)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
