"""Serves the project from one gevent-patched process and fires interleaved requests of several tenants at it.

Usage: python tests/gevent_interleave.py APP_ID,APP_ID,... REQUESTS CONCURRENCY
Prints one JSON list: for each request the AppID sent, the status and the body received.
"""

from gevent import monkey

monkey.patch_all()

import json  # noqa: E402
import sys  # noqa: E402

import django  # noqa: E402
import requests  # noqa: E402
from gevent.pool import Pool  # noqa: E402
from gevent.pywsgi import WSGIServer  # noqa: E402


def main() -> None:
    app_ids, total, concurrency = sys.argv[1].split(","), int(sys.argv[2]), int(sys.argv[3])
    django.setup()
    from django.conf import settings
    from django.core.wsgi import get_wsgi_application

    settings.ROOT_URLCONF = "tests.urls"
    server = WSGIServer(("127.0.0.1", 0), get_wsgi_application(), log=None)
    server.start()

    def one(n: int) -> dict:
        app_id = app_ids[n % len(app_ids)]
        url = f"http://127.0.0.1:{server.server_port}/test/users?n={n}&max_sleep=0.03"
        response = requests.get(url, headers={"X-AppID": app_id}, timeout=60)
        return {"sent": app_id, "status": response.status_code, "body": response.json()}

    results = Pool(concurrency).map(one, range(total))
    server.stop()
    print(json.dumps(results))


if __name__ == "__main__":
    main()
