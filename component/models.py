"""Open-platform mode, in the control database: the component's ticket, each authorizer and the links given out.

Every secret here (the ticket, refresh and access tokens) is a Fernet value under TENANT_SECRETS_KEYS
(tenants.secrets); none is ever shown by an admin page, an API answer or a log line. Like the registry's rows,
each row belongs to one environment (the control database is shared with the test environment).
"""

from datetime import datetime, timedelta
from typing import TypeVar

from django.db import models
from django.utils import timezone

from tenants.models import registry_environment

# WeChat pushes a component_verify_ticket every 10 minutes; each one is valid 12 hours (docs/open-platform.md).
TICKET_VALIDITY = timedelta(hours=12)


M = TypeVar("M", bound=models.Model)


class EnvironmentManager(models.Manager[M]):
    """This environment's rows only, as Tenant.objects."""

    def get_queryset(self) -> models.QuerySet[M]:
        return super().get_queryset().filter(environment=registry_environment())


class ComponentTicket(models.Model):
    """The last component_verify_ticket WeChat pushed: kept (and reused) while it is valid."""

    environment = models.CharField(max_length=32, default=registry_environment, editable=False)
    component_app_id = models.CharField(max_length=64)
    ticket_encrypted = models.TextField(editable=False)
    received_at = models.DateTimeField(default=timezone.now)

    objects = EnvironmentManager["ComponentTicket"]()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["environment", "component_app_id"], name="component_ticket_one_per_app")
        ]

    def __str__(self) -> str:
        return f"ticket of {self.component_app_id} received {self.received_at:%Y-%m-%d %H:%M:%S}"

    @property
    def expires_at(self) -> datetime:
        return self.received_at + TICKET_VALIDITY


class Authorizer(models.Model):
    """One mini-program whose owner authorized the platform: its refresh token, last access token, permissions.

    The access token and the refresh token WeChat answered with are written by one UPDATE (component.tokens),
    guarded by `token_version`; `refresh_started_at` is written before WeChat is asked, so a refresher that died
    between WeChat's answer and that UPDATE is noticed and the refresh token reconciled (docs/open-platform.md).
    """

    class Status(models.TextChoices):
        AUTHORIZED = "authorized", "authorized"
        UNAUTHORIZED = "unauthorized", "authorization cancelled"

    environment = models.CharField(max_length=32, default=registry_environment, editable=False)
    app_id = models.CharField(max_length=64)
    # The mini-program's original id (原始ID, gh_...) from api_get_authorizer_info: the ToUserName of its pushes,
    # the only field binding a push to this authorizer (the component's keys are every authorizer's).
    user_name = models.CharField(max_length=64, blank=True, default="")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.AUTHORIZED)
    # The permission sets (权限集) the owner granted: WeChat's func_info ids.
    func_info = models.JSONField(default=list, blank=True)
    refresh_token_encrypted = models.TextField(editable=False)
    access_token_encrypted = models.TextField(blank=True, default="", editable=False)
    access_token_expires_at = models.DateTimeField(null=True, blank=True, editable=False)
    token_version = models.PositiveIntegerField(default=0, editable=False)
    refresh_started_at = models.DateTimeField(null=True, blank=True, editable=False)
    authorized_at = models.DateTimeField(default=timezone.now)
    unauthorized_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = EnvironmentManager["Authorizer"]()

    class Meta:
        ordering = ["app_id"]
        constraints = [models.UniqueConstraint(fields=["environment", "app_id"], name="component_authorizer_app_id")]

    def __str__(self) -> str:
        return f"{self.app_id} ({self.status})"


class AuthorizationLink(models.Model):
    """An authorization page given to a staff user: its pre_auth_code, and what came back through it."""

    environment = models.CharField(max_length=32, default=registry_environment, editable=False)
    # The random part of the redirect URL: the owner's browser comes back to .../authorized/<link>.
    link = models.CharField(max_length=64, unique=True)
    pre_auth_code = models.CharField(max_length=256, editable=False)
    # The name a new tenant gets (WeChat's nickname of the mini-program when blank).
    tenant_name = models.CharField(max_length=100, blank=True, default="")
    requested_by = models.CharField(max_length=150)
    requested_by_id = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    completed_at = models.DateTimeField(null=True, blank=True)
    authorizer_app_id = models.CharField(max_length=64, blank=True, default="")

    objects = EnvironmentManager["AuthorizationLink"]()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"authorization link by {self.requested_by} at {self.created_at:%Y-%m-%d %H:%M:%S}"
