"""Checking in: once a day by the tenant's own clock, points, and each tenant's members its own."""

import datetime

import pytest

from accounts.models import MiniProgramUser
from api.tests.conftest import TenantClient
from checkin.exceptions import AlreadyCheckedIn, InvalidTimeZone
from checkin.models import Checkin, Member
from checkin.services import checkin_create, checkin_settings_set
from checkin.tests.helpers import context_of, logged_in
from core.tenant_context import activate_tenant
from tests.helpers import TENANT_A, TENANT_B

pytestmark = pytest.mark.usefixtures("wechat")

CHECKINS, ME = "/api/v1/checkin/checkins", "/api/v1/checkin/me"


def test_a_member_checks_in_once_a_day_and_earns_points():
    alice = logged_in(TENANT_A)
    first = alice.post(CHECKINS)
    assert first.status_code == 201, first.content
    assert (first.json()["points"], first.json()["member"]["points"], first.json()["member"]["checkins"]) == (10, 10, 1)

    again = alice.post(CHECKINS)
    assert (again.status_code, again.json()["error"]["code"]) == (409, "already_checked_in")
    me = alice.get(ME).json()
    assert (me["checked_in_today"], me["member"]["points"], me["today"]) == (True, 10, first.json()["day"])
    with activate_tenant(context_of(TENANT_A)):
        assert Checkin.objects.count() == 1


def test_a_user_who_never_checked_in_has_no_points_and_is_no_member_yet():
    me = logged_in(TENANT_A).get(ME)
    assert me.status_code == 200
    assert (me.json()["checked_in_today"], me.json()["member"]["points"]) == (False, 0)
    with activate_tenant(context_of(TENANT_A)):
        assert Member.objects.count() == 0


def test_each_tenant_keeps_its_own_members_and_points():
    alice_a, alice_b = logged_in(TENANT_A), logged_in(TENANT_B)  # the same code: two users, two databases
    with activate_tenant(context_of(TENANT_B)):
        checkin_settings_set(points_per_checkin=3)
    assert alice_a.post(CHECKINS).json()["member"]["points"] == 10
    assert alice_b.get(ME).json()["checked_in_today"] is False
    assert alice_b.post(CHECKINS).json()["member"]["points"] == 3
    assert alice_a.get(ME).json()["member"]["points"] == 10


def at(text: str) -> datetime.datetime:
    return datetime.datetime.fromisoformat(text).replace(tzinfo=datetime.UTC)


def test_the_day_is_the_tenants_own_day():
    logged_in(TENANT_A), logged_in(TENANT_B)
    users = {}
    for app_id, zone in ((TENANT_A, "Asia/Shanghai"), (TENANT_B, "America/Los_Angeles")):
        with activate_tenant(context_of(app_id)):
            checkin_settings_set(time_zone=zone)
            users[app_id] = MiniProgramUser.objects.get()

    def check_in(app_id: str, when: str) -> datetime.date:
        with activate_tenant(context_of(app_id)):
            return checkin_create(user=users[app_id], now=at(when))[0].day

    # 17:00 UTC is 01:00 the next day in Shanghai, 09:00 the same day in Los Angeles.
    assert check_in(TENANT_A, "2026-12-01T17:00:00") == datetime.date(2026, 12, 2)
    assert check_in(TENANT_B, "2026-12-01T17:00:00") == datetime.date(2026, 12, 1)
    # 09:00 UTC the next day: still the 2nd in Shanghai (refused), already the 2nd in Los Angeles (a new day).
    with pytest.raises(AlreadyCheckedIn), activate_tenant(context_of(TENANT_A)):
        checkin_create(user=users[TENANT_A], now=at("2026-12-02T09:00:00"))
    assert check_in(TENANT_B, "2026-12-02T09:00:00") == datetime.date(2026, 12, 2)


def test_an_unknown_time_zone_is_refused_and_nothing_changes():
    logged_in(TENANT_A)
    with activate_tenant(context_of(TENANT_A)):
        with pytest.raises(InvalidTimeZone):
            checkin_settings_set(time_zone="Mars/Olympus")
        assert checkin_settings_set().time_zone == "Asia/Shanghai"


def test_without_a_token_it_is_a_401():
    for response in (TenantClient(TENANT_A).post(CHECKINS), TenantClient(TENANT_A).get(ME)):
        assert (response.status_code, response.json()["error"]["code"]) == (401, "not_authenticated")
