"""Uploaded avatars and WeChat's checks of them, in every tenant's own database."""

from django.db import models

from accounts.models import MiniProgramUser


class Avatar(models.Model):
    """One uploaded image of one user; it becomes the user's avatar only once WeChat's check says `pass`."""

    class Status(models.TextChoices):
        PENDING = "pending", "waiting for WeChat's check"
        REVIEW = "review", "WeChat suggests a person looks at it"
        APPROVED = "approved", "the user's avatar"
        REJECTED = "rejected", "WeChat found it risky; the file is deleted"
        UNCHECKED = "unchecked", "WeChat never answered; an operator decides"
        REPLACED = "replaced", "a newer upload took its place; the file is deleted"

    user = models.ForeignKey(MiniProgramUser, on_delete=models.CASCADE, related_name="avatars")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    # The name in the avatars' storage (avatars/<app_id>/<random>.<ext>); "" once the file is deleted.
    file_name = models.CharField(max_length=255, blank=True, default="")
    public_url = models.CharField(max_length=512)
    image_format = models.CharField(max_length=8)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    size_bytes = models.PositiveIntegerField()
    # WeChat's last word on it: pass, risky or review, and its label (a category number).
    suggest = models.CharField(max_length=16, blank=True, default="")
    label = models.CharField(max_length=32, blank=True, default="")
    # Checks submitted so far, and when the current one is overdue (None once WeChat has answered or given up):
    # the sweep submits it again past that time (AVATARS_CHECK_RETRIES times), then marks it unchecked.
    submissions = models.PositiveSmallIntegerField(default=0)
    check_due_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["user", "status"]), models.Index(fields=["status", "check_due_at"])]

    def __str__(self) -> str:
        return f"avatar {self.pk} of user {self.user_id} ({self.status})"


class AvatarCheck(models.Model):
    """One submission to WeChat's media_check_async; its answer is pushed later and found by trace_id.

    A late answer to an earlier submission still counts, so every submission keeps its trace_id.
    """

    avatar = models.ForeignKey(Avatar, on_delete=models.CASCADE, related_name="checks")
    trace_id = models.CharField(max_length=128, unique=True)
    submitted_at = models.DateTimeField()
    answered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"check {self.trace_id} of avatar {self.avatar_id}"
