"""The audit trail of the platform's tenant lifecycle actions, in the control database."""

from typing import Any

from django.db import models
from django.utils import timezone

from tenants.models import registry_environment


class AuditEntry(models.Model):
    """One lifecycle action that was done: who, what, to which tenant, when, from where, through which door.

    Written once and never changed: the admin shows these read-only, and saving an existing entry raises.
    The actor is copied (username and id, no foreign key), so the record outlives the user it names.
    Like the registry's rows, each entry belongs to the environment that wrote it (the control database is
    shared with the test environment), and the admin lists only its own environment's.
    """

    class Door(models.TextChoices):
        ADMIN = "admin", "admin"
        API = "api", "platform API"
        COMMAND = "command", "command"
        # WeChat itself: an authorization event of the open platform (component.services).
        WECHAT = "wechat", "WeChat"

    class Action(models.TextChoices):
        ONBOARD = "onboard", "onboard"
        SUSPEND = "suspend", "suspend"
        RESUME = "resume", "resume"
        ROTATE_SECRET = "rotate_secret", "rotate the AppSecret"
        RETIRE = "retire", "retire"
        REENCRYPT_SECRETS = "reencrypt_secrets", "re-encrypt secrets under the newest key"
        # The tenant apps' and platform parts' actions (written by them through console.services.audit_record).
        SET_PAYMENT = "set_payment", "set the WeChat Pay merchant"
        REMOVE_PAYMENT = "remove_payment", "remove the WeChat Pay merchant"
        REFUND_ORDER = "refund_order", "refund an order"
        SET_PUSH = "set_push", "set the push settings"
        AUTHORIZATION_LINK = "authorization_link", "make an open-platform authorization link"
        AUTHORIZATION_UPDATE = "authorization_update", "open-platform authorization changed"
        TEMPLATE_RELEASE = "template_release", "start a template release"
        TEMPLATE_RELEASE_GO = "template_release_go", "release an approved template"
        TEMPLATE_RELEASE_RETRY = "template_release_retry", "retry a template release"
        TEMPLATE_RELEASE_CHECK = "template_release_check", "check a template release's audit"
        # tenants.moving (manage.py move_tenant)
        MOVE = "move", "move the database to another server"
        MOVE_FINALIZE = "move_finalize", "drop the old copy of a moved database"
        MOVE_ABORT = "move_abort", "undo a move of the database"

    at = models.DateTimeField(default=timezone.now, db_index=True)
    actor = models.CharField(max_length=150, help_text="Django username, or the OS login for a command.")
    actor_id = models.BigIntegerField(null=True, blank=True, help_text="Django user id (none for a command).")
    action = models.CharField(max_length=32, choices=Action.choices)
    app_id = models.CharField(max_length=64, blank=True, db_index=True)
    address = models.CharField(max_length=45, blank=True, help_text="Client address (SSH client for a command).")
    door = models.CharField(max_length=16, choices=Door.choices)
    details = models.JSONField(default=dict, blank=True)
    environment = models.CharField(max_length=32, default=registry_environment, editable=False, db_index=True)

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = "audit entry"
        verbose_name_plural = "audit trail"

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.actor} {self.action} {self.app_id} ({self.door})"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise ValueError("audit entries are never changed")
        super().save(*args, **kwargs)
