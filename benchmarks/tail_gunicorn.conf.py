"""A gunicorn config for benchmarks.tail: TAIL_BASE_CONF (a copy of deploy/gunicorn.conf.py, the shipped one or an
older one) plus a recorder of the garbage collector's pauses in each worker, for evidence only.

Each worker writes TAIL_GC_DIR/gc-<pid>.json every second: per generation, the collections, their total and
longest pause (ms), and the objects the worker tracks. Nothing else of the base config changes.
"""

import os
import runpy

_BASE = os.environ["TAIL_BASE_CONF"]
globals().update({name: value for name, value in runpy.run_path(_BASE).items() if not name.startswith("__")})
_base_post_worker_init = globals().get("post_worker_init")


def post_worker_init(worker):  # type: ignore[no-untyped-def]  # noqa: ANN001, ANN201
    if _base_post_worker_init is not None:
        _base_post_worker_init(worker)
    folder = os.environ.get("TAIL_GC_DIR")
    if folder:
        _record_gc_pauses(folder)


def _record_gc_pauses(folder: str) -> None:
    import gc
    import json
    import time

    import gevent

    stats = {str(n): {"collections": 0, "total_ms": 0.0, "max_ms": 0.0, "over_10ms": 0} for n in range(3)}
    started: list[float] = [0.0]

    def callback(phase: str, info: dict) -> None:
        if phase == "start":
            started[0] = time.perf_counter()
            return
        took = 1000 * (time.perf_counter() - started[0])
        row = stats[str(info["generation"])]
        row["collections"] += 1
        row["total_ms"] += took
        row["max_ms"] = max(row["max_ms"], took)
        row["over_10ms"] += took > 10

    gc.callbacks.append(callback)
    path = os.path.join(folder, f"gc-{os.getpid()}.json")

    def dump() -> None:
        while True:
            gevent.sleep(1.0)
            data = {"generations": stats, "counts": gc.get_count(), "frozen": gc.get_freeze_count()}
            with open(path, "w") as out:
                json.dump(data, out)

    gevent.spawn(dump)
