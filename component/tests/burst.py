"""Runs in a child process of test_tokens: `callers` threads ask the fleet's holder for one authorizer's token."""

from __future__ import annotations

import os
import threading
from typing import Any


def run_callers(*, env: dict[str, str], app_id: str, callers: int, barrier: Any, results: Any) -> None:
    """Set up Django on the test session's databases, release `callers` threads together, report their tokens."""
    os.environ.update(env)
    import django

    django.setup()
    from django.db import connections

    from accounts.wechat_access import access_token_holder

    holder = access_token_holder()
    go = threading.Event()
    issued: list[str] = []
    errors: list[str] = []

    def call() -> None:
        go.wait()
        try:
            issued.append(holder.get_token(app_id))
        except Exception as exc:  # reported to the test, which fails on any
            errors.append(repr(exc))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=call) for _ in range(callers)]
    for thread in threads:
        thread.start()
    barrier.wait(timeout=60)
    go.set()
    for thread in threads:
        thread.join()
    results.put({"tokens": issued, "errors": errors})


def die_between_answer_and_write(*, env: dict[str, str], app_id: str) -> None:
    """Refresh the authorizer's token and be killed (SIGKILL) after WeChat answered, before the answer is stored."""
    import signal

    os.environ.update(env)
    import django

    django.setup()
    from accounts.wechat_access import access_token_holder
    from component import tokens

    def killed(**kwargs: object) -> None:
        os.kill(os.getpid(), signal.SIGKILL)

    tokens.authorizer_tokens_store = killed
    access_token_holder().get_token(app_id)
