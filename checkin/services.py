"""What a member does: check in, buy a reward, ask for a reminder; and the tenant's own settings and rewards."""

import datetime
import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.models import MiniProgramUser
from checkin.exceptions import AlreadyCheckedIn, InvalidReward, InvalidTimeZone, RewardNotFound
from checkin.models import Checkin, CheckinSettings, Member, Reward, RewardPurchase
from checkin.selectors import REWARDS_KEY, checkin_settings_get, tenant_today
from core.tenant_context import require_current_tenant
from payments.models import Order
from payments.services import order_create

REWARD_CODE = re.compile(r"[A-Za-z0-9_-]{1,32}", re.ASCII)


def checkin_create(*, user: MiniProgramUser, now: datetime.datetime | None = None) -> tuple[Checkin, Member]:
    """Checks the user in for the tenant's today; AlreadyCheckedIn the second time that day.

    The unique constraint (user, day) decides, not a read before the write: two taps at once insert one row.
    """
    checkin_settings = checkin_settings_get()
    day = tenant_today(checkin_settings=checkin_settings, now=now)
    try:
        with transaction.atomic(using=require_current_tenant().db_alias):
            checkin = Checkin.objects.create(user=user, day=day, points=checkin_settings.points_per_checkin)
            member, _created = Member.objects.select_for_update().get_or_create(user=user)
            member.points += checkin.points
            member.checkins += 1
            member.last_checkin_day = day
            member.save(update_fields=["points", "checkins", "last_checkin_day"])
    except IntegrityError:
        raise AlreadyCheckedIn() from None
    return checkin, member


def reminder_request(*, user: MiniProgramUser) -> Member:
    """The member accepted one reminder in wx.requestSubscribeMessage: the next evening without a check-in uses it."""
    with transaction.atomic(using=require_current_tenant().db_alias):
        member, _created = Member.objects.select_for_update().get_or_create(user=user)
        member.reminder_wanted = True
        member.save(update_fields=["reminder_wanted"])
    return member


def reward_purchase_create(*, user: MiniProgramUser, code: str) -> RewardPurchase:
    """A pending WeChat Pay order for the reward, at the reward's price; the client prepays it next."""
    reward = Reward.objects.filter(code=code, active=True).first()
    if reward is None:
        raise RewardNotFound()
    with transaction.atomic(using=require_current_tenant().db_alias):
        order = order_create(user=user, amount=reward.amount, description=reward.title, attach=f"checkin:{code}")
        return RewardPurchase.objects.create(user=user, reward=reward, order=order)


def reward_grant(order: Order) -> bool:
    """payments' payment_succeeded hook: a paid order of a reward adds its bonus points, once.

    Called at least once per paid order (a retried job calls it again): the purchase row, locked, says whether it
    was granted already. Orders of anything else are not check-in's and are left alone. True if granted now.
    """
    with transaction.atomic(using=require_current_tenant().db_alias):
        purchase = RewardPurchase.objects.select_for_update().select_related("reward").filter(order=order).first()
        if purchase is None or purchase.granted_at is not None:
            return False
        member, _created = Member.objects.select_for_update().get_or_create(user_id=purchase.user_id)
        member.points += purchase.reward.bonus_points
        member.save(update_fields=["points"])
        purchase.granted_at = timezone.now()
        purchase.save(update_fields=["granted_at"])
    return True


def checkin_settings_set(
    *,
    time_zone: str | None = None,
    points_per_checkin: int | None = None,
    reminder_template_id: str | None = None,
    reminder_hour: int | None = None,
) -> CheckinSettings:
    """Changes the tenant's rules (the fields given only)."""
    checkin_settings = checkin_settings_get()
    changed = {
        name: value
        for name, value in (
            ("time_zone", time_zone),
            ("points_per_checkin", points_per_checkin),
            ("reminder_template_id", reminder_template_id),
            ("reminder_hour", reminder_hour),
        )
        if value is not None
    }
    if time_zone is not None:
        time_zone_validate(time_zone)
    for name, value in changed.items():
        setattr(checkin_settings, name, value)
    checkin_settings.full_clean()
    checkin_settings.save(update_fields=list(changed) or None)
    return checkin_settings


def time_zone_validate(time_zone: str) -> str:
    try:
        ZoneInfo(time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise InvalidTimeZone() from None
    return time_zone


def reward_set(*, code: str, title: str, amount: int, bonus_points: int = 0, active: bool = True) -> Reward:
    """Adds or changes a reward; the cached list is forgotten once the change has committed."""
    if not REWARD_CODE.fullmatch(code) or not title or len(title) > 100 or amount < 1 or bonus_points < 0:
        raise InvalidReward()
    alias = require_current_tenant().db_alias
    with transaction.atomic(using=alias):
        reward, _created = Reward.objects.update_or_create(
            code=code, defaults={"title": title, "amount": amount, "bonus_points": bonus_points, "active": active}
        )
        transaction.on_commit(lambda: cache.delete(REWARDS_KEY), using=alias)
    return reward
