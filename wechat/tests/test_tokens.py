"""The access_token holder, against real Redis and the fake WeChat server."""

from __future__ import annotations

import logging
import multiprocessing
import threading
import time
from collections.abc import Callable

import pytest
import redis

from wechat.client import WeChatClient
from wechat.exceptions import WeChatBusy, WeChatTokenInvalid, WeChatUnavailable
from wechat.fake_server import (
    FORCE_REFRESH_COUNTER,
    FORCE_REFRESH_REFUSED_COUNTER,
    FakeWeChatControl,
    FakeWeChatServer,
)
from wechat.tests.burst import run_callers
from wechat.tests.conftest import REDIS_URL, App, FakeClock
from wechat.tokens import AccessTokenHolder

STABLE = "/cgi-bin/stable_token"
HolderFactory = Callable[..., AccessTokenHolder]


def _stable_calls(control: FakeWeChatControl, app: App) -> tuple[int, int]:
    """(all stable_token calls, force refreshes) the fake server saw for app."""
    counters = control.counters(app.app_id)
    return counters.get(STABLE, 0), counters.get(FORCE_REFRESH_COUNTER, 0)


def test_token_is_fetched_once_then_served_from_redis(
    app: App, make_holder: HolderFactory, control: FakeWeChatControl, redis_client: redis.Redis
) -> None:
    holder = make_holder(app)
    first = holder.get_token(app.app_id)
    assert holder.get_token(app.app_id) == first
    assert _stable_calls(control, app) == (1, 0)
    stored = redis_client.get(holder.token_key(app.app_id))
    assert stored is not None and app.app_id in holder.token_key(app.app_id)


def test_token_within_refresh_margin_is_refreshed(
    app: App, make_holder: HolderFactory, control: FakeWeChatControl
) -> None:
    clock = FakeClock(time.time())
    holder = make_holder(app, clock=clock)
    holder.get_token(app.app_id)
    clock.advance(7200 - 310)  # the fake answered expires_in 7199 or 7200
    holder.get_token(app.app_id)
    assert _stable_calls(control, app) == (1, 0)
    clock.advance(20)  # now under 300 s before expiry: inside the margin
    holder.get_token(app.app_id)
    assert _stable_calls(control, app) == (2, 0)


def _seed(make_holder: HolderFactory, app: App, state: str) -> None:
    """Leave the stored token missing, expired, or valid but due for refresh (stored by a holder living in the past)."""
    ages = {"missing": None, "expired": 8000, "due": 7000}
    age = ages[state]
    if age is not None:
        make_holder(app, clock=lambda: time.time() - age).get_token(app.app_id)


@pytest.mark.parametrize("state", ["missing", "expired", "due"])
@pytest.mark.slow
def test_200_concurrent_callers_in_4_processes_cause_one_wechat_call(
    state: str,
    app: App,
    make_holder: HolderFactory,
    control: FakeWeChatControl,
    fake_server: FakeWeChatServer,
    key_prefix: str,
) -> None:
    _seed(make_holder, app, state)
    before, _ = _stable_calls(control, app)
    # A slow WeChat keeps the refresh in flight while every caller arrives.
    control.set_delay(STABLE, 0.3, app_id=app.app_id)
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(4), context.Queue()
    options = {
        "base_url": fake_server.base_url,
        "redis_url": REDIS_URL,
        "key_prefix": key_prefix,
        "app_id": app.app_id,
        "secret": app.secret,
        "callers": 50,
        "barrier": barrier,
        "results": results,
    }
    processes = [context.Process(target=run_callers, kwargs=options) for _ in range(4)]
    for process in processes:
        process.start()
    reports = [results.get(timeout=60) for _ in processes]
    for process in processes:
        process.join(timeout=10)
    tokens = [token for report in reports for token in report["tokens"]]
    assert [error for report in reports for error in report["errors"]] == []
    assert len(tokens) == 200
    assert len(set(tokens)) == 1
    assert _stable_calls(control, app)[0] == before + 1


def test_rotated_token_is_replaced_after_one_failed_call(
    app: App, make_holder: HolderFactory, make_client: Callable[[App], WeChatClient], control: FakeWeChatControl
) -> None:
    client = make_client(app)
    openid = client.code_to_session("code-rotation")["openid"]
    holder = make_holder(app)
    old = holder.get_token(app.app_id)
    control.rotate_token(app.app_id)
    used: list[str] = []

    def check(token: str) -> str:
        used.append(token)
        return client.msg_sec_check(token, openid=openid, content="hello")["result"]["suggest"]

    assert holder.call_with_token(app.app_id, check) == "pass"
    assert used[0] == old and used[1] != old and len(used) == 2
    assert _stable_calls(control, app)[1] == 1
    assert holder.get_token(app.app_id) == used[1]


def test_50_reports_of_the_same_bad_token_cause_one_refresh(
    app: App, make_holder: HolderFactory, control: FakeWeChatControl
) -> None:
    holder = make_holder(app)
    bad = holder.get_token(app.app_id)
    control.rotate_token(app.app_id)
    start = threading.Barrier(50)
    replacements: list[str] = []

    def report() -> None:
        start.wait(timeout=10)
        replacements.append(holder.token_rejected(app.app_id, bad))

    threads = [threading.Thread(target=report) for _ in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)
    assert len(replacements) == 50 and len(set(replacements)) == 1
    assert replacements[0] != bad
    assert _stable_calls(control, app) == (2, 1)


def test_force_refresh_is_spaced_30_seconds_and_limited_to_20_a_day(
    app: App, make_holder: HolderFactory, control: FakeWeChatControl
) -> None:
    clock = FakeClock(time.time())
    holder = make_holder(app, clock=clock)
    token = holder.get_token(app.app_id)

    def advance(seconds: float) -> None:
        clock.advance(seconds)
        control.advance_clock(seconds)  # the fake refuses force refreshes as WeChat does, by its own clock

    def reject_current() -> int:
        nonlocal token
        token = holder.token_rejected(app.app_id, token)
        return _stable_calls(control, app)[1]

    assert reject_current() == 1
    advance(29)
    assert reject_current() == 1  # too soon: a normal fetch instead
    advance(1)
    assert reject_current() == 2
    for _ in range(18):
        advance(30)
        reject_current()
    advance(30)
    assert reject_current() == 20  # the 21st within a day falls back to a normal fetch
    advance(86_400)
    assert reject_current() == 21
    assert _stable_calls(control, app)[0] == 1 + 23
    assert control.counters(app.app_id).get(FORCE_REFRESH_REFUSED_COUNTER, 0) == 0  # never asked too often


def test_app_ids_keep_independent_tokens_keys_and_limits(
    make_app: Callable[..., App],
    make_holder: HolderFactory,
    control: FakeWeChatControl,
    redis_client: redis.Redis,
    key_prefix: str,
) -> None:
    first, second = make_app(), make_app()
    holder = make_holder(first, second)
    first_token, second_token = holder.get_token(first.app_id), holder.get_token(second.app_id)
    second_record = redis_client.get(holder.token_key(second.app_id))
    holder.token_rejected(first.app_id, first_token)
    holder.token_rejected(second.app_id, second_token)  # first's force refresh does not use up second's spacing
    assert first_token != second_token
    assert _stable_calls(control, first)[1] == 1 and _stable_calls(control, second)[1] == 1
    assert redis_client.get(holder.token_key(second.app_id)) != second_record
    keys = {key.decode() for key in redis_client.scan_iter(match=f"{key_prefix}:*")}
    assert keys and all(key.endswith((f":{first.app_id}", f":{second.app_id}")) for key in keys)
    redis_client.delete(holder.token_key(first.app_id))
    holder.get_token(second.app_id)
    assert _stable_calls(control, second)[0] == 2  # still served from Redis: no new call for second


def test_rejecting_a_token_leaves_other_app_untouched(
    make_app: Callable[..., App], make_holder: HolderFactory, redis_client: redis.Redis
) -> None:
    first, second = make_app(), make_app()
    holder = make_holder(first, second)
    bad = holder.get_token(first.app_id)
    holder.get_token(second.app_id)
    second_record = redis_client.get(holder.token_key(second.app_id))
    assert holder.token_rejected(first.app_id, bad) != bad
    assert redis_client.get(holder.token_key(second.app_id)) == second_record


def test_failed_refresh_keeps_serving_a_still_valid_token(
    app: App, make_holder: HolderFactory, control: FakeWeChatControl
) -> None:
    clock = FakeClock(time.time())
    holder = make_holder(app, clock=clock)
    token = holder.get_token(app.app_id)
    clock.advance(7000)
    control.fail_next(STABLE, errcode=-1, app_id=app.app_id)
    assert holder.get_token(app.app_id) == token
    assert _stable_calls(control, app)[0] == 2


def test_missing_token_and_busy_wechat_raises(app: App, make_holder: HolderFactory, control: FakeWeChatControl) -> None:
    control.fail_next(STABLE, errcode=-1, app_id=app.app_id)
    with pytest.raises(WeChatBusy):
        make_holder(app).get_token(app.app_id)


def test_waiting_for_a_stuck_refresher_gives_up(
    app: App, make_holder: HolderFactory, redis_client: redis.Redis, key_prefix: str
) -> None:
    holder = make_holder(app, wait_timeout=0.3)
    # Another process holds the refresh lock (key layout documented in wechat.tokens).
    stuck = redis_client.lock(f"{key_prefix}:token-lock:{app.app_id}", timeout=5)
    assert stuck.acquire(blocking=False)
    try:
        with pytest.raises(WeChatUnavailable):
            holder.get_token(app.app_id)
    finally:
        stuck.release()


def test_call_with_token_retries_only_once(
    app: App, make_holder: HolderFactory, make_client: Callable[[App], WeChatClient], control: FakeWeChatControl
) -> None:
    client = make_client(app)
    openid = client.code_to_session("code-twice")["openid"]
    holder = make_holder(app)
    control.fail_next("/wxa/msg_sec_check", errcode=40001, times=3, app_id=app.app_id)
    calls: list[str] = []

    def check(token: str) -> object:
        calls.append(token)
        return client.msg_sec_check(token, openid=openid, content="hi")

    with pytest.raises(WeChatTokenInvalid):
        holder.call_with_token(app.app_id, check)
    assert len(calls) == 2


def test_tokens_are_never_logged(
    app: App, make_holder: HolderFactory, control: FakeWeChatControl, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="wechat")
    holder = make_holder(app)
    old = holder.get_token(app.app_id)
    rotated = control.rotate_token(app.app_id)
    new = holder.token_rejected(app.app_id, old)
    assert app.app_id in caplog.text  # refreshes are logged, with their tenant
    assert old not in caplog.text and rotated not in caplog.text and new not in caplog.text
