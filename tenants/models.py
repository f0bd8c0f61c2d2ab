"""The tenant registry, in the control database.

The control database is shared with other environments (production's is the test environment's, for the
admin accounts): every row belongs to one environment (TENANT_ENVIRONMENT), and `Tenant.objects`, which
every selector, service, command, admin page and platform API call goes through, sees only this one's.
"""

import time
from typing import Any

from django.conf import settings
from django.db import models


def registry_environment() -> str:
    """The environment whose rows this process sees and writes (settings.TENANT_ENVIRONMENT)."""
    return settings.TENANT_ENVIRONMENT


def version_initial() -> int:
    # Microseconds since the epoch: a tenant created again after a drop starts above its previous life's
    # versions, which Redis may still hold (tenants.cache also raises a version that meets a newer one).
    return time.time_ns() // 1000


class EnvironmentManager(models.Manager["Tenant"]):
    """This environment's rows only: no path of this process can list or change another environment's."""

    def get_queryset(self) -> models.QuerySet["Tenant"]:
        return super().get_queryset().filter(environment=registry_environment())


class Tenant(models.Model):
    """One WeChat mini-program: its AppID, its database and where that database lives."""

    class Status(models.TextChoices):
        PROVISIONING = "provisioning", "provisioning"
        ACTIVE = "active", "active"
        SUSPENDED = "suspended", "suspended"

    class MoveState(models.TextChoices):
        NONE = "", "no move"
        # The snapshot copy runs while the tenant is served; the old copy is still the one in use.
        COPYING = "copying", "copying to another server"
        # Writes refused (503 tenant_moving, and by triggers on the old copy); reads served from the old copy.
        FROZEN = "frozen", "frozen for the final copy"
        # Served from the new copy; the old one is kept (unwritable) until --finalize or --abort.
        SWITCHED = "switched", "switched, old copy kept"

    class AuthMode(models.TextChoices):
        # WeChat calls with the tenant's own AppSecret (stable_token, jscode2session).
        SECRET = "secret", "own AppSecret"
        # The owner authorized Miniplex's third-party platform: calls with the authorizer token (component/).
        COMPONENT = "component", "authorized to the open platform"

    environment = models.CharField(max_length=32, default=registry_environment, editable=False)
    app_id = models.CharField(max_length=64)
    name = models.CharField(max_length=100)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PROVISIONING)
    db_server = models.CharField(max_length=64)
    # Unique across environments: two environments never register the same database name.
    db_name = models.CharField(max_length=64, unique=True)
    # Raised by every change that the cached entries must follow (tenants.services, tenants.cache).
    version = models.PositiveBigIntegerField(default=version_initial, editable=False)
    # Fernet token of the AppSecret (tenants.secrets); never shown by an API, an admin page or a log line.
    app_secret_encrypted = models.TextField(blank=True, default="", editable=False)
    # How Miniplex acts for the mini-program at WeChat (docs/open-platform.md); set by the services only.
    auth_mode = models.CharField(max_length=16, choices=AuthMode.choices, default=AuthMode.SECRET, editable=False)
    # The platform job that creates and migrates the database (admin page and API show its progress).
    provisioning_job_id = models.CharField(max_length=32, blank=True, default="", editable=False)
    # This tenant's bound on jobs queued at once (tenants.jobs.fairness); empty: JOBS_TENANT_MAX_QUEUED, 0: none.
    jobs_max_queued = models.PositiveIntegerField("jobs queued at most", null=True, blank=True)
    # A move to another database server (tenants.moving, docs/moving-tenants.md): empty when none is under way.
    move_state = models.CharField(max_length=16, choices=MoveState.choices, blank=True, default="", editable=False)
    # The server the database is copied from and to; kept after the switch until --finalize or --abort.
    move_from = models.CharField(max_length=64, blank=True, default="", editable=False)
    move_to = models.CharField(max_length=64, blank=True, default="", editable=False)
    # tenants.schema.tenant_schema_fingerprint() of the migrations the database was last found or made up to
    # date with: migrate_tenants skips the database when it equals the current one (docs/tenant-apps.md, part 5).
    schema_fingerprint = models.CharField(max_length=16, blank=True, default="", editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    # Written only by the services (with update_fields), which also announce the change to the caches: a
    # plain save() of a copy read earlier (an admin form) must not write back an old status or version.
    LIFECYCLE_FIELDS = frozenset(
        {
            "environment",
            "status",
            "version",
            "db_server",
            "db_name",
            "app_secret_encrypted",
            "auth_mode",
            "move_state",
            "move_from",
            "move_to",
            "schema_fingerprint",
        }
    )

    # Every environment's rows: for the checks that must look across them (a database name taken), never
    # for reading or changing another environment's tenants.
    all_environments = models.Manager()
    objects = EnvironmentManager()

    class Meta:
        # The environment's own rows, for the admin and every other generic path (and the first manager is not it).
        default_manager_name = "objects"
        ordering = ["app_id"]
        constraints = [
            # The same mini-program may be registered in production and in the test environment.
            models.UniqueConstraint(fields=["environment", "app_id"], name="tenants_tenant_environment_app_id"),
        ]

    def __str__(self) -> str:
        return f"{self.app_id} ({self.name})"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding and kwargs.get("update_fields") is None and not kwargs.get("force_insert"):
            kwargs["update_fields"] = [
                field.name
                for field in self._meta.concrete_fields
                if not field.primary_key and field.name not in self.LIFECYCLE_FIELDS
            ]
        super().save(*args, **kwargs)

    @property
    def has_secret(self) -> bool:
        return bool(self.app_secret_encrypted)

    @property
    def uses_component(self) -> bool:
        return self.auth_mode == self.AuthMode.COMPONENT


class MoveHeldItem(models.Model):
    """Something that arrived for a tenant while its database was frozen for a move (a WeChat push), kept in
    the control database and replayed on the tenant's database once the move has switched (tenants.moving)."""

    environment = models.CharField(max_length=32, default=registry_environment, editable=False)
    app_id = models.CharField(max_length=64, db_index=True)
    kind = models.CharField(max_length=32)
    payload = models.JSONField()
    held_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.app_id} {self.kind} held at {self.held_at}"
