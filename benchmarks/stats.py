"""What MySQL and Redis saw of a run, counted for the benchmark's own MySQL users and Redis keys only.

MySQL: MariaDB's USER_STATISTICS (switched on with `SET GLOBAL userstat=1`, and left on) gives
per user the connections opened and the statements run; the processlist, sampled every 100 ms, the peak of
open connections. The server is shared with other test runs, so its global counters (Connections,
Questions, Max_used_connections) would count them too; the benchmark's own users count only its requests.
Redis: MONITOR during a short sequential sample, keeping the commands on the benchmark's key prefix.
"""

import subprocess
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from benchmarks.stack import Namespace, mysql_rows
from tests.e2e.services import watching_peak

COUNTERS = ("TOTAL_CONNECTIONS", "SELECT_COMMANDS", "UPDATE_COMMANDS", "OTHER_COMMANDS", "ROWS_READ")


def userstat_enable() -> None:
    """Switches MariaDB's per-user statistics on (a global flag; left on, since a concurrent benchmark, such as the
    test suite's smoke run, may be counting with it: switching it off at the end of one would blind the other)."""
    mysql_rows("SET GLOBAL userstat = 1")


def user_counters(ns: Namespace) -> dict[str, int]:
    """The benchmark's users' counters, summed (runtime and control users)."""
    columns = ", ".join(f"SUM({name})" for name in COUNTERS)
    placeholders = ", ".join(["%s"] * len(ns.users))
    (row,) = mysql_rows(
        f"SELECT {columns} FROM information_schema.USER_STATISTICS WHERE USER IN ({placeholders})", ns.users
    )
    return {name.lower(): int(value or 0) for name, value in zip(COUNTERS, row, strict=True)}


def open_connections(ns: Namespace) -> int:
    placeholders = ", ".join(["%s"] * len(ns.users))
    ((count,),) = mysql_rows(
        f"SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE USER IN ({placeholders})", ns.users
    )
    return int(count)


@dataclass
class MySQLWatch:
    before: dict[str, int] = field(default_factory=dict)
    delta: dict[str, int] = field(default_factory=dict)
    peak_connections: int = 0


@contextmanager
def watching_mysql(ns: Namespace) -> Iterator[MySQLWatch]:
    """Counters before and after the block, and the peak of open connections sampled meanwhile."""
    watch = MySQLWatch(before=user_counters(ns))
    peak = [0]
    try:
        with watching_peak(lambda: _open_connections_or_zero(ns)) as peak:
            yield watch
    finally:
        watch.peak_connections = peak[0]
        after = user_counters(ns)
        watch.delta = {name: after[name] - watch.before.get(name, 0) for name in after}


def _open_connections_or_zero(ns: Namespace) -> int:
    try:
        return open_connections(ns)
    except Exception:  # noqa: BLE001 - a missed sample under load is no reason to stop the run
        return 0


@contextmanager
def redis_monitor(key_prefix: str) -> Iterator[Counter]:
    """Commands on keys under key_prefix while the block runs (MONITOR), by command name."""
    process = subprocess.Popen(
        ["redis-cli", "-h", "127.0.0.1", "-p", "6379", "monitor"],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    commands: Counter = Counter()
    lines: list[str] = []

    def read() -> None:
        for line in process.stdout:  # type: ignore[union-attr]
            lines.append(line)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    time.sleep(0.3)  # MONITOR is on once redis-cli has printed OK
    try:
        yield commands
    finally:
        time.sleep(0.3)
        process.terminate()
        process.wait(timeout=10)
        reader.join(timeout=5)
        for line in lines:
            # 1700000000.123456 [0 127.0.0.1:5555] "GET" "miniplex-bench:..."
            parts = line.split('"')
            if len(parts) >= 4 and parts[3].startswith(key_prefix):
                commands[parts[1].upper()] += 1
