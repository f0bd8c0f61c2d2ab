"""The control database's side of the outbox: platform jobs, and which tenants have records waiting."""

from django.db import models
from django.utils import timezone

from tenants.outbox.models import OutboxRecord


class PlatformOutboxJob(OutboxRecord):
    """A platform job's record (enqueue(..., platform=True)), written in the control database's transaction."""


class PendingOutbox(models.Model):
    """A tenant whose outbox has records that could not be pushed at commit (Redis was unreachable).

    Kept in the control database, which needs no Redis: the relay reads this list instead of looking into
    every tenant's database.
    """

    app_id = models.CharField(max_length=64, unique=True)
    since = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.app_id} (since {self.since:%Y-%m-%d %H:%M:%S})"
