"""Measures the MySQL driver and pooling choices of deploy/gunicorn.conf.py on this machine (README figures).

    .venv/bin/python deploy/measure_drivers.py [--seconds 8]

Starts a throwaway MariaDB and Redis on 127.0.0.1 (as the end-to-end tests do), provisions three tenants, and
for each configuration runs gunicorn with the shipped config (gevent, 2 workers) and measures:
- two concurrent `SELECT SLEEP(1)` requests on ONE worker: ~1 s when the driver cooperates with gevent;
- requests per second of /test/users/count (the tenant resolved, one query on the tenant's database) at 50
  keep-alive clients, and how many new MySQL connections each 1,000 of them opened;
- the peak of MySQL connections while 1,000 clients send 2,000 requests, and whether any failed.
Prints a Markdown table. Not a test: figures vary by 15-25% between runs.
"""

import argparse
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.e2e.services import (  # noqa: E402
    PrivateMariaDB,
    get,
    manage,
    private_mariadb,
    private_redis,
    run_load,
    running_gunicorn,
    stack_env,
    watching_peak,
)

TENANTS = ("wx00000000000000e1", "wx00000000000000e2", "wx00000000000000e3")
# Only pooled configurations: a gevent worker refuses to start with DB_POOL_SIZE=0 (routers.backends.pool), so
# the README's "no pool" rows are the figures measured before it did.
CONFIGURATIONS = {
    "mysqlclient, pool of 4 per alias": {"MINIPLEX_DB_DRIVER": "mysqlclient", "DB_POOL_SIZE": "4"},
    "PyMySQL, pool of 4 per alias (shipped)": {"MINIPLEX_DB_DRIVER": "pymysql", "DB_POOL_SIZE": "4"},
}


def two_sleeps(port: int) -> float:
    def one(_n: int) -> int:
        return get(port, "/test/sleep?seconds=1", TENANTS[0]).status_code

    started = time.monotonic()
    with ThreadPoolExecutor(2) as executor:
        list(executor.map(one, range(2)))
    return time.monotonic() - started


def throughput(port: int, mariadb: PrivateMariaDB, seconds: float) -> tuple[float, float]:
    spec = {"port": port, "paths": ["/test/users/count"], "app_ids": list(TENANTS), "clients": 50}
    run_load({**spec, "seconds": 2})  # warm-up
    before = mariadb.status("Connections")
    summary = run_load({**spec, "seconds": seconds, "limit": seconds + 60})
    opened = mariadb.status("Connections") - before - 1
    requests = summary["statuses"].get("200", 0)
    return requests / summary["seconds"], 1000 * opened / max(requests, 1)


def thousand_clients(port: int, mariadb: PrivateMariaDB) -> tuple[int, int]:
    with watching_peak(lambda: mariadb.status("Threads_connected") - 1) as peak:  # minus its own connection
        summary = run_load(
            {
                "port": port,
                "paths": ["/test/sleep?seconds=0.02", "/test/users/count"],
                "app_ids": list(TENANTS),
                "clients": 1000,
                "requests": 2000,
                "timeout": 60,
                "limit": 180,
            }
        )
    failed = summary["error_count"] + sum(count for status, count in summary["statuses"].items() if status != "200")
    return peak[0], failed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8.0, help="length of each throughput run")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="miniplex-measure-") as tmp:
        workdir = Path(tmp)
        with private_mariadb(workdir / "mariadb") as mariadb, private_redis(workdir / "redis") as redis:
            env = stack_env(mariadb, redis, LOG_LEVEL="WARNING", GUNICORN_ACCESS_LOG="/dev/null")
            manage(env, "migrate", "--noinput", "-v", "0")
            for app_id in TENANTS:
                manage(env, "create_tenant", app_id, "--name", app_id)
            for name, extra in CONFIGURATIONS.items():
                config_env = {**env, "DB_CONN_MAX_AGE": "0", **extra}
                with running_gunicorn(config_env, workdir / "one.log", workers=1) as port:
                    get(port, "/test/sleep?seconds=0", TENANTS[0])
                    sleeps = two_sleeps(port)
                with running_gunicorn(config_env, workdir / "two.log", workers=2) as port:
                    rps, opened = throughput(port, mariadb, args.seconds)
                    peak, failed = thousand_clients(port, mariadb)
                rows.append((name, sleeps, rps, opened, peak, failed))
                print(f"measured: {name}", file=sys.stderr)
    print("| gevent, 2 workers | 2 x SLEEP(1), 1 worker | /test/users/count req/s | new conns per 1k | ", end="")
    print("peak conns, 1000 clients | failed of 2000 |")
    print("|---|---|---|---|---|---|")
    for name, sleeps, rps, opened, peak, failed in rows:
        print(f"| {name} | {sleeps:.2f} s | {rps:.0f} | {opened:.1f} | {peak} | {failed} |")


if __name__ == "__main__":
    main()
