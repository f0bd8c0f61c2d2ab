"""One code template released to many tenants (commit, audit, release): in the control database.

A Release is what an operator asked for; each tenant it reaches has one ReleaseTarget, whose `stage` is a step
machine (component.releases.steps). Every step is written down before its WeChat call and after it, so a worker
killed in the middle leaves a stage that says what to check with WeChat before doing anything again.
"""

from django.db import models


class Release(models.Model):
    template_id = models.PositiveBigIntegerField()
    user_version = models.CharField(max_length=64)
    user_desc = models.CharField(max_length=255)
    # The ext_json every tenant's commit is built from: "$app_id" / "$name" in its strings, and "per_tenant"
    # ({app_id: {...}}) merged over it for one tenant (component.releases.ext_json).
    ext_json_template = models.JSONField(default=dict, blank=True)
    # Extra fields of submit_audit (item_list, privacy_api_not_use, ...), sent as they are.
    audit_request = models.JSONField(default=dict, blank=True)
    auto_release = models.BooleanField(default=False)
    started_by = models.CharField(max_length=150)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"template {self.template_id} as {self.user_version} (#{self.pk})"


class Stage(models.TextChoices):
    PENDING = "pending", "pending"
    COMMITTING = "committing", "committing"  # wxa/commit called (or about to be); its answer not yet recorded
    COMMITTED = "committed", "committed"
    SUBMITTING = "submitting", "submitting"  # wxa/submit_audit called (or about to be)
    WAITING_PRIVACY = "waiting_privacy", "waiting for the privacy check"  # 61039: submit again later
    AUDIT_BUSY = "audit_busy", "another version is being audited"  # 85009: submit again once it ends
    QUOTA_EXCEEDED = "quota_exceeded", "monthly audit quota used up"  # 85085: submit again next month
    AUDITING = "auditing", "auditing"
    AUDIT_DELAYED = "audit_delayed", "audit delayed"
    AUDIT_FAILED = "audit_failed", "audit failed"
    APPROVED = "approved", "approved (to release)"
    RELEASING = "releasing", "releasing"  # wxa/release called (or about to be)
    RELEASED = "released", "released"
    FAILED = "failed", "failed"
    CANCELLED = "cancelled", "cancelled"


# Stages that no job moves on by itself: the end, or an operator's decision (approved without auto_release).
FINAL_STAGES = frozenset({Stage.RELEASED, Stage.FAILED, Stage.AUDIT_FAILED, Stage.CANCELLED})


class ReleaseTarget(models.Model):
    """One tenant of a release: where its step machine stands, and WeChat's words on its last refusal."""

    release = models.ForeignKey(Release, on_delete=models.CASCADE, related_name="targets")
    app_id = models.CharField(max_length=64)
    stage = models.CharField(max_length=24, choices=Stage.choices, default=Stage.PENDING)
    ext_json = models.TextField(blank=True, default="")  # what this tenant's commit sends (built once, kept)
    auditid = models.PositiveBigIntegerField(null=True, blank=True)
    errcode = models.IntegerField(null=True, blank=True)
    wechat_message = models.TextField(blank=True, default="")  # errmsg, or the audit's Reason
    screenshot = models.TextField(blank=True, default="")
    # An operator asked to release this tenant once approved (a release started without auto_release).
    release_requested = models.BooleanField(default=False)
    attempts = models.PositiveIntegerField(default=0)  # submit_audit tries of this stage (61039 waits count)
    # When a job may look at it next (waits: 61039, 85009, 85085, audit polls); null: now.
    next_check_at = models.DateTimeField(null=True, blank=True)
    # The periodic job handed it to a worker until then (so the next passes do not hand it out again meanwhile).
    handed_out_until = models.DateTimeField(null=True, blank=True)
    # Who works on it: a job takes the lease with one conditional UPDATE; a killed job's lease runs out.
    lease_owner = models.CharField(max_length=32, blank=True, default="")
    lease_until = models.DateTimeField(null=True, blank=True)
    commit_started_at = models.DateTimeField(null=True, blank=True)
    committed_at = models.DateTimeField(null=True, blank=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    audit_ended_at = models.DateTimeField(null=True, blank=True)
    released_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["release_id", "app_id"]
        constraints = [
            models.UniqueConstraint(fields=["release", "app_id"], name="component_releases_one_target_per_tenant"),
        ]
        indexes = [models.Index(fields=["stage", "next_check_at"], name="component_releases_in_flight")]

    def __str__(self) -> str:
        return f"{self.app_id}: {self.stage}"
