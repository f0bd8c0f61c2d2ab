"""Check-in's tables, one set per tenant database; they point at tenant models only (users, orders)."""

from django.conf import settings
from django.db import models

from accounts.models import MiniProgramUser
from payments.models import Order


def default_time_zone() -> str:
    return settings.TIME_ZONE


class CheckinSettings(models.Model):
    """The tenant's own rules, one row per tenant database (checkin.selectors.checkin_settings_get makes it)."""

    # "Once a day" is the tenant's day: a mini-program for Beijing and one for Berlin start theirs apart.
    time_zone = models.CharField(max_length=64, default=default_time_zone)
    points_per_checkin = models.PositiveIntegerField(default=10)
    # The subscribe-message template of the reminder ("" sends none) and the local hour from which it goes out.
    reminder_template_id = models.CharField(max_length=128, blank=True, default="")
    reminder_hour = models.PositiveSmallIntegerField(default=20)

    def __str__(self) -> str:
        return f"check-in settings ({self.time_zone})"


class Member(models.Model):
    """A user who has checked in at least once, with the points earned and bought."""

    user = models.OneToOneField(MiniProgramUser, on_delete=models.CASCADE, related_name="checkin_member")
    points = models.PositiveIntegerField(default=0)
    checkins = models.PositiveIntegerField(default=0)
    last_checkin_day = models.DateField(null=True, blank=True)
    # WeChat's subscribe messages are one-time: the member accepted one reminder (wx.requestSubscribeMessage), and
    # it is used up once sent.
    reminder_wanted = models.BooleanField(default=False)
    reminded_on = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"member {self.user_id} ({self.points} points)"


class Checkin(models.Model):
    """One check-in: at most one per user and day, by the database's word (the unique constraint)."""

    user = models.ForeignKey(MiniProgramUser, on_delete=models.CASCADE, related_name="checkins")
    day = models.DateField(help_text="The tenant's local date.")
    points = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-day"]
        constraints = [models.UniqueConstraint(fields=["user", "day"], name="checkin_once_per_user_and_day")]

    def __str__(self) -> str:
        return f"check-in of {self.user_id} on {self.day}"


class Reward(models.Model):
    """What a member can buy: its price is the server's (the client names the code only)."""

    code = models.SlugField(max_length=32, unique=True)
    title = models.CharField(max_length=100)
    amount = models.PositiveIntegerField(help_text="Price in fen.")
    bonus_points = models.PositiveIntegerField(default=0)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} ({self.amount} fen)"


class RewardPurchase(models.Model):
    """A reward a member is buying, tied to its WeChat Pay order; granted once the order is paid."""

    user = models.ForeignKey(MiniProgramUser, on_delete=models.CASCADE, related_name="reward_purchases")
    reward = models.ForeignKey(Reward, on_delete=models.PROTECT, related_name="purchases")
    order = models.OneToOneField(Order, on_delete=models.PROTECT, related_name="reward_purchase")
    granted_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.reward_id} for {self.user_id} (order {self.order_id})"
