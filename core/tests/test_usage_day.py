"""core.usage's local date, worked out once a day: right after midnight, and in the active time zone."""

import time
import zoneinfo

from django.utils import timezone

from core import usage


def test_the_day_is_worked_out_again_once_it_has_ended(monkeypatch):
    zone = timezone.get_current_timezone()
    monkeypatch.setattr(usage, "_day", (zone, "19990101", time.time() - 1))  # a day that ended a second ago
    assert usage._today() == f"{timezone.localdate():%Y%m%d}"


def test_a_day_that_has_not_ended_is_not_worked_out_again(monkeypatch):
    zone = timezone.get_current_timezone()
    monkeypatch.setattr(usage, "_day", (zone, "19990101", time.time() + 60))
    assert usage._today() == "19990101"


def test_another_active_time_zone_is_its_own_day(monkeypatch):
    monkeypatch.setattr(usage, "_day", (timezone.get_current_timezone(), "19990101", time.time() + 60))
    # UTC+14 and UTC-12 are never on the same date: whichever is active decides.
    for name in ("Pacific/Kiritimati", "Etc/GMT+12"):
        with timezone.override(zoneinfo.ZoneInfo(name)):
            assert usage._today() == f"{timezone.localdate():%Y%m%d}"
    assert usage._today() == f"{timezone.localdate():%Y%m%d}"


def test_a_flush_adds_every_kind_of_a_tenant_and_gives_a_hash_without_ttl_one():
    from django.conf import settings

    from core.redis import get_redis

    key = usage.usage_key(app_id="wx00000000000000f1", day=timezone.localdate())
    get_redis().delete(key)
    get_redis().hset(key, "requests", 5)  # left without a TTL (written by hand, or restored)
    usage.usage_add(app_id="wx00000000000000f1", kind="requests", count=2)
    usage.usage_add(app_id="wx00000000000000f1", kind="errors")
    usage.usage_flush()
    try:
        assert get_redis().hgetall(key) == {b"requests": b"7", b"errors": b"1"}
        assert settings.USAGE_KEEP_DAYS * 86400 - 60 < get_redis().ttl(key) <= settings.USAGE_KEEP_DAYS * 86400
    finally:
        get_redis().delete(key)


def test_a_forked_child_does_not_write_the_counts_its_parent_has_not_written_yet():
    import os

    from core.redis import get_redis

    app_id = "wx00000000000000f2"
    key = usage.usage_key(app_id=app_id, day=timezone.localdate())
    get_redis().delete(key)
    usage.usage_add(app_id=app_id, kind="jobs")  # pending in the parent, as a worker's job count is
    child = os.fork()
    if child == 0:  # pragma: no cover - the child's flush is what is checked
        try:
            usage.usage_add(app_id=app_id, kind="wechat_calls")
            usage.usage_flush()
        finally:
            os._exit(0)
    os.waitpid(child, 0)
    usage.usage_flush()
    try:
        assert get_redis().hgetall(key) == {b"jobs": b"1", b"wechat_calls": b"1"}
    finally:
        get_redis().delete(key)
