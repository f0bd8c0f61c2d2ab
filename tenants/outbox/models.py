"""The outbox record of a tenant's job, in the tenant's own database."""

from django.db import models
from django.utils import timezone


class OutboxRecord(models.Model):
    """A job that is committed with its data and not yet known to be on the queue.

    The id is the rq job id: pushing the record again (after a crash, or by two relays) finds the job
    already there and changes nothing (rq's unique enqueue), so the id is the idempotency key.
    """

    id = models.CharField(primary_key=True, max_length=32, editable=False)
    func_name = models.CharField(max_length=255)
    # {"args": [...], "kwargs": {...}, "meta": {...}}: what the job is pushed with, as JSON.
    payload = models.TextField()
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    # Relay attempts that failed for another reason than Redis being unreachable (a record rq refuses).
    attempts = models.PositiveIntegerField(default=0)

    class Meta:
        abstract = True
        ordering = ["created_at"]

    def __str__(self) -> str:
        return f"{self.id} {self.func_name}"


class OutboxJob(OutboxRecord):
    """A tenant job's record: written by tenants.jobs.enqueue in the caller's transaction."""
