"""What WeChat pushes to a tenant (events, customer-service messages, subscriptions): a tenant app.

Each tenant's own database holds every push it received (PushRecord, unique by its dedup key, so WeChat's
retries are done once), each user's subscription state per template, and the customer-service messages.
"""

from django.db import models


class PushRecord(models.Model):
    """One push as received (retries of it are not recorded again), and what its handler made of it."""

    class Outcome(models.TextChoices):
        PENDING = "pending", "pending"
        HANDLED = "handled", "handled"
        IGNORED = "ignored", "recorded, no handler for its kind"

    # SHA-256 hex of MsgId, else of the whole message (pushes.messages.push_dedup_key).
    dedup_key = models.CharField(max_length=64, unique=True)
    kind = models.CharField(max_length=64, db_index=True, help_text="The Event of an event push, else its MsgType.")
    from_user = models.CharField(max_length=128, blank=True, default="")
    create_time = models.BigIntegerField(null=True, blank=True)
    message = models.JSONField()
    outcome = models.CharField(max_length=16, choices=Outcome.choices, default=Outcome.PENDING)
    received_at = models.DateTimeField(auto_now_add=True, db_index=True)
    handled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.kind} from {self.from_user or '-'} ({self.outcome})"


class SubscriptionState(models.Model):
    """One user's answer to one template's subscription prompt, from WeChat's subscribe_msg_* pushes.

    `remaining` counts the one-time sends the user granted (each accept one more, each successful send one
    less); the sender refuses only what the user refused (`status` reject), since a long-term template's
    accepts never run out and its pushes do not say which kind it is.
    """

    class Status(models.TextChoices):
        ACCEPT = "accept", "accepted"
        REJECT = "reject", "refused"
        BAN = "ban", "banned by WeChat"

    openid = models.CharField(max_length=64)
    template_id = models.CharField(max_length=128)
    status = models.CharField(max_length=16, choices=Status.choices)
    remaining = models.PositiveIntegerField(default=0)
    sent = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=128, blank=True, default="")
    event_time = models.BigIntegerField(null=True, blank=True, help_text="CreateTime of the latest push applied.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["openid", "template_id"]
        constraints = [models.UniqueConstraint(fields=["openid", "template_id"], name="pushes_subscription_unique")]

    def __str__(self) -> str:
        return f"{self.openid} {self.template_id}: {self.status} ({self.remaining} left)"


class CustomerMessage(models.Model):
    """A customer-service message (text, image, mini-program card) or session event a user sent."""

    openid = models.CharField(max_length=64, db_index=True)
    kind = models.CharField(max_length=64)
    msg_id = models.CharField(max_length=64, blank=True, default="")
    # The text, the card's title, or the session's origin: what a person reads first.
    content = models.TextField(blank=True, default="")
    fields = models.JSONField(default=dict, help_text="Every field of the push but the mini-program's own id.")
    create_time = models.BigIntegerField(null=True, blank=True)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["openid", "-id"], name="pushes_message_user")]

    def __str__(self) -> str:
        return f"{self.kind} from {self.openid}"
