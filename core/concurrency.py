"""Per-process counters of requests in progress per tenant (tenants.fair_requests, docs/fairness.md).

Under gevent a worker's greenlets run one at a time and switch only on I/O, so a check and an increment with no
I/O between them cannot interleave; the lock (a greenlet-aware lock once gevent has patched threading, a real
one under threads) keeps it true for a threaded server as well, and is held for the counter only.
"""

import threading


class TenantSlots:
    """At most `bound` requests of one tenant at once in this process."""

    def __init__(self) -> None:
        self._in_progress: dict[str, int] = {}
        self._lock = threading.Lock()

    def take(self, app_id: str, bound: int) -> bool:
        """Takes a slot for the tenant; False (nothing taken) when it has `bound` requests in progress already."""
        with self._lock:
            current = self._in_progress.get(app_id, 0)
            if current >= bound:
                return False
            self._in_progress[app_id] = current + 1
            return True

    def give_back(self, app_id: str) -> None:
        with self._lock:
            left = self._in_progress.get(app_id, 0) - 1
            if left > 0:
                self._in_progress[app_id] = left
            else:
                self._in_progress.pop(app_id, None)  # an idle tenant takes no memory

    def in_progress(self, app_id: str) -> int:
        return self._in_progress.get(app_id, 0)

    def snapshot(self) -> dict[str, int]:
        """Tenants with requests in progress now and how many (for the metrics)."""
        with self._lock:
            return dict(self._in_progress)
