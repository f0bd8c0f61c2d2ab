"""The shipped deploy/gunicorn.conf.py with another worker class, for the worker class x driver comparison.

Everything is the shipped file's (workers, timeouts, logs, post_fork's driver choice by MINIPLEX_DB_DRIVER)
except: BENCH_WORKER_CLASS / BENCH_THREADS, and no post_request outside gevent (its gevent.sleep(0) yields to
other greenlets, which only gevent workers have).
"""

import os
import runpy

_SHIPPED = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "deploy", "gunicorn.conf.py")
globals().update({name: value for name, value in runpy.run_path(_SHIPPED).items() if not name.startswith("__")})

worker_class = os.environ.get("BENCH_WORKER_CLASS", "gevent")
threads = int(os.environ.get("BENCH_THREADS", "1"))
if worker_class != "gevent":
    del post_request  # noqa: F821 - defined by the shipped file
