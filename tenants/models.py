"""The tenant registry, in the control database."""

from django.db import models


class Tenant(models.Model):
    """One WeChat mini-program: its AppID, its database and where that database lives."""

    class Status(models.TextChoices):
        PROVISIONING = "provisioning", "provisioning"
        ACTIVE = "active", "active"
        SUSPENDED = "suspended", "suspended"

    app_id = models.CharField(max_length=64, unique=True)
    name = models.CharField(max_length=100)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PROVISIONING)
    db_server = models.CharField(max_length=64)
    db_name = models.CharField(max_length=64, unique=True)
    # Fernet token of the AppSecret (tenants.secrets); never shown by an API, an admin page or a log line.
    app_secret_encrypted = models.TextField(blank=True, default="", editable=False)
    # The platform job that creates and migrates the database (admin page and API show its progress).
    provisioning_job_id = models.CharField(max_length=32, blank=True, default="", editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["app_id"]

    def __str__(self) -> str:
        return f"{self.app_id} ({self.name})"

    @property
    def has_secret(self) -> bool:
        return bool(self.app_secret_encrypted)
