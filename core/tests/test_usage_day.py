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
