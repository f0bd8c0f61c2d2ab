"""A bounded load of HTTP clients on 127.0.0.1, for the end-to-end tests (gevent, one keep-alive connection each).

Usage: python tests/e2e/load.py JSON_SPEC
Spec: {"port": 8080, "paths": ["/api/v1/ping"], "app_ids": ["wx..."], "clients": 50,
       "requests": 1000 (in all) | "seconds": 10.0, "timeout": 60, "headers": {"Authorization": "..."} (optional)}
Prints one JSON object: {"statuses": {"200": n, ...}, "errors": [...], "sent": n, "wrong_tenant": n,
"seconds": elapsed}. A request counts as sent once it is written; every sent request gets a status or an error.
"""

from gevent import monkey

monkey.patch_all()

import http.client  # noqa: E402
import itertools  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from collections import Counter  # noqa: E402

import gevent  # noqa: E402
from gevent.pool import Pool  # noqa: E402

HOST = "127.0.0.1"  # never anywhere else


def main() -> None:
    spec = json.loads(sys.argv[1])
    statuses: Counter[str] = Counter()
    errors: list[str] = []
    wrong_tenant = [0]
    counter = itertools.count()
    deadline = time.monotonic() + spec["seconds"] if "seconds" in spec else None
    total = spec.get("requests")

    def next_request() -> int | None:
        n = next(counter)
        if total is not None and n >= total:
            return None
        if deadline is not None and time.monotonic() >= deadline:
            return None
        return n

    def client(_index: int) -> None:
        connection = http.client.HTTPConnection(HOST, spec["port"], timeout=spec.get("timeout", 60))
        while (n := next_request()) is not None:
            app_id = spec["app_ids"][n % len(spec["app_ids"])]
            path = spec["paths"][n % len(spec["paths"])]
            try:
                connection.request("GET", path, headers={**spec.get("headers", {}), "X-AppID": app_id})
                response = connection.getresponse()
                body = response.read()
            except (OSError, http.client.HTTPException) as error:
                errors.append(f"{path} {app_id}: {type(error).__name__}: {error}")
                connection.close()  # the next request opens a new connection
                continue
            statuses[str(response.status)] += 1
            if response.status == 200 and body.startswith(b"{") and json.loads(body).get("app_id", app_id) != app_id:
                wrong_tenant[0] += 1
            if response.getheader("Connection", "").lower() == "close":
                connection.close()
        connection.close()

    started = time.monotonic()
    pool = Pool(spec["clients"])
    for index in range(spec["clients"]):
        pool.spawn(client, index)
    with gevent.Timeout(spec.get("limit", 300)):
        pool.join()
    print(
        json.dumps(
            {
                "statuses": dict(statuses),
                "errors": errors[:50],
                "error_count": len(errors),
                "sent": sum(statuses.values()) + len(errors),
                "wrong_tenant": wrong_tenant[0],
                "seconds": round(time.monotonic() - started, 3),
            }
        )
    )


if __name__ == "__main__":
    main()
