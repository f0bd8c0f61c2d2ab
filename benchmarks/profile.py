"""A profile of the hot path of GET /api/v1/me (pyinstrument), in one process, through Django's whole stack.

    python -m benchmarks.profile APP_ID TOKEN|- COUNT     # prints JSON: time per request, the profile as text

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

    if token == "-":  # noqa: S105 - "no token given", not a password
        token = _issue_token(app_id)
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
    # Each function's time with what it calls (flat, total), in percent: where a request's time goes.
    flat = profiler.output_text(unicode=False, color=False, flat=True, flat_time="total", time="percent_of_total")
    json.dump({"requests": count, "ms_per_request": 1000 * elapsed / count, "text": text, "flat": flat}, sys.stdout)
    return 0


def _issue_token(app_id: str) -> str:
    """A token for the tenant's first user (TOKEN "-": profiling again without logging in)."""
    from accounts.models import MiniProgramUser
    from accounts.tokens import token_issue
    from core.tenant_context import activate_tenant
    from tenants.selectors import tenant_resolve

    with activate_tenant(tenant_resolve(app_id=app_id)):
        return token_issue(user=MiniProgramUser.objects.earliest("id"))


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
