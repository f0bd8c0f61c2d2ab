"""Runs in a child process of test_tokens: `callers` threads ask the holder for one AppID's token at once."""

from __future__ import annotations

import threading
from typing import Any

import redis

from wechat.client import WeChatClient
from wechat.tokens import AccessTokenHolder


def run_callers(
    *,
    base_url: str,
    redis_url: str,
    key_prefix: str,
    app_id: str,
    secret: str,
    callers: int,
    barrier: Any,
    results: Any,
) -> None:
    """Start `callers` threads, wait for every process to be ready, release them together, report tokens."""
    connection = redis.Redis.from_url(redis_url, max_connections=callers + 4)
    holder = AccessTokenHolder(
        connection,
        client_factory=lambda app: WeChatClient(app, secret, base_url=base_url, timeout=5),
        key_prefix=key_prefix,
    )
    go = threading.Event()
    tokens: list[str] = []
    errors: list[str] = []

    def call() -> None:
        go.wait()
        try:
            tokens.append(holder.get_token(app_id))
        except Exception as exc:  # reported to the test, which fails on any
            errors.append(repr(exc))

    threads = [threading.Thread(target=call) for _ in range(callers)]
    for thread in threads:
        thread.start()
    barrier.wait(timeout=30)
    go.set()
    for thread in threads:
        thread.join()
    results.put({"tokens": tokens, "errors": errors})
