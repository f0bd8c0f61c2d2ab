"""Reads of check-in, with a tenant active (a request or a job)."""

import datetime
from typing import Any
from zoneinfo import ZoneInfo

from django.core.cache import cache
from django.utils import timezone

from accounts.models import MiniProgramUser
from checkin.models import CheckinSettings, Member, Reward

# The default cache scopes each key to the active tenant (core.cache.make_tenant_key): one key, one entry per tenant.
REWARDS_KEY = "checkin:rewards"
REWARDS_SECONDS = 300
MEMBERS_SHOWN = 100


def checkin_settings_find() -> CheckinSettings | None:
    """The tenant's settings row, if it has one (the first: two first requests at once may each make one)."""
    return CheckinSettings.objects.order_by("id").first()


def checkin_settings_get() -> CheckinSettings:
    """The tenant's settings row, made with the defaults the first time it is asked for."""
    return checkin_settings_find() or CheckinSettings.objects.create()


def tenant_today(*, checkin_settings: CheckinSettings, now: datetime.datetime | None = None) -> datetime.date:
    """Today's date in the tenant's time zone: the day a check-in counts for."""
    return tenant_now(checkin_settings=checkin_settings, now=now).date()


def tenant_now(*, checkin_settings: CheckinSettings, now: datetime.datetime | None = None) -> datetime.datetime:
    return (now or timezone.now()).astimezone(ZoneInfo(checkin_settings.time_zone))


def member_get(*, user: MiniProgramUser) -> Member | None:
    return Member.objects.filter(user=user).first()


def rewards_list() -> list[dict[str, Any]]:
    """The tenant's active rewards as the API shows them, cached (checkin.services.reward_set forgets them)."""
    rewards = cache.get(REWARDS_KEY)
    if rewards is None:
        rewards = [
            {"code": reward.code, "title": reward.title, "amount": reward.amount, "bonus_points": reward.bonus_points}
            for reward in Reward.objects.filter(active=True)
        ]
        cache.set(REWARDS_KEY, rewards, REWARDS_SECONDS)
    return list(rewards)


def members_for_console() -> dict[str, Any]:
    """The console's page of a tenant's members: the newest ones, with their users."""
    members = Member.objects.select_related("user").order_by("-id")[:MEMBERS_SHOWN]
    return {"members": list(members), "member_count": Member.objects.count(), "shown": MEMBERS_SHOWN}
