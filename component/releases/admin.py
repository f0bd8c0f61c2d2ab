"""Template releases in Django admin: start one, and the board of each tenant's stage with WeChat's words.

Starting needs component_releases.add_release; releasing approved tenants and retrying need
component_releases.change_releasetarget. Nothing here calls WeChat but the template library's list (the start
page); the releases themselves run in platform jobs.
"""

import json
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse

from component.releases import audit, wechat_calls
from component.releases.audit import release_audit
from component.releases.exceptions import ReleaseTargetNotReady
from component.releases.models import Release, ReleaseTarget
from component.releases.selectors import release_stage_counts
from component.releases.services import (
    release_check_now,
    release_start,
    release_target_retry,
    release_targets_release,
)
from console.actors import Actor, actor_from_request
from console.models import AuditEntry
from core.exceptions import ApplicationError
from wechat.exceptions import WeChatError


class StartReleaseForm(forms.Form):
    template_id = forms.IntegerField(min_value=0, help_text="From the template library (listed below).")
    tenants = forms.CharField(
        required=False, widget=forms.Textarea(attrs={"rows": 3}), help_text="AppIDs, one a line or space-separated."
    )
    all_tenants = forms.BooleanField(required=False, label="Every active tenant in open-platform mode")
    user_version = forms.CharField(max_length=64)
    user_desc = forms.CharField(max_length=255)
    ext_json = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 8, "cols": 80}),
        help_text='The ext_json template: "$app_id" and "$name" in strings, "per_tenant": {AppID: {...}}.',
    )
    auto_release = forms.BooleanField(required=False, help_text="Release each tenant as soon as its audit passes.")

    def clean_ext_json(self) -> dict[str, Any]:
        text = self.cleaned_data["ext_json"].strip()
        try:
            return json.loads(text) if text else {}
        except ValueError as error:
            raise forms.ValidationError(f"Not JSON: {error}") from None

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        app_ids = (data.get("tenants") or "").split()
        if data.get("all_tenants") == bool(app_ids):
            raise forms.ValidationError("Name the tenants, or tick every active tenant (one of the two).")
        data["app_ids"] = None if data.get("all_tenants") else app_ids
        return data


class ReleaseTargetInline(admin.TabularInline):
    model = ReleaseTarget
    fields = ["app_id", "stage", "auditid", "errcode", "wechat_message", "updated_at"]
    readonly_fields = ["app_id", "stage", "auditid", "errcode", "wechat_message", "updated_at"]
    extra = 0
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Release)
class ReleaseAdmin(admin.ModelAdmin):
    list_display = ["id", "template_id", "user_version", "auto_release", "started_by", "created_at", "stages"]
    readonly_fields = [
        "template_id",
        "user_version",
        "user_desc",
        "ext_json_template",
        "audit_request",
        "auto_release",
        "started_by",
        "created_at",
    ]
    inlines = [ReleaseTargetInline]
    actions = ["release_approved", "check_now"]

    @admin.display(description="Tenants by stage")
    def stages(self, release: Release) -> str:
        return ", ".join(f"{stage}: {count}" for stage, count in sorted(release_stage_counts(release=release).items()))

    @admin.action(description="Release the approved tenants (the rest once approved)", permissions=["change"])
    def release_approved(self, request: HttpRequest, queryset: QuerySet[Release]) -> None:
        for release in queryset:
            app_ids = release_targets_release(release_id=release.pk)
            release_audit(actor=_actor(request), action=audit.RELEASE_APPROVED, release_id=release.pk, tenants=app_ids)
            self.message_user(request, f"Release {release.pk}: {len(app_ids)} tenants to release.", messages.SUCCESS)

    @admin.action(description="Check the waiting tenants with WeChat now", permissions=["change"])
    def check_now(self, request: HttpRequest, queryset: QuerySet[Release]) -> None:
        for release in queryset:
            count = release_check_now(release_id=release.pk)
            release_audit(actor=_actor(request), action=audit.CHECK, release_id=release.pk, tenants=count)
            self.message_user(request, f"Release {release.pk}: {count} tenants checked with WeChat.", messages.SUCCESS)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # The page itself is read-only; "change" here is the right to release (as on the targets).
        return request.user.has_perm("component_releases.change_releasetarget")

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def add_view(self, request: HttpRequest, form_url: str = "", extra_context: dict | None = None) -> HttpResponse:
        """Start a release: one form, then the board of the new release."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = StartReleaseForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                release = release_start(
                    template_id=data["template_id"],
                    app_ids=data["app_ids"],
                    user_version=data["user_version"],
                    user_desc=data["user_desc"],
                    ext_json_template=data["ext_json"],
                    auto_release=data["auto_release"],
                    started_by=f"{request.user.get_username()} (admin)",
                )
            except ApplicationError as error:
                form.add_error(None, error.message)
            else:
                count = release.targets.count()
                release_audit(
                    actor=_actor(request),
                    action=audit.START,
                    release_id=release.pk,
                    template_id=release.template_id,
                    user_version=release.user_version,
                    tenants=count,
                    auto_release=release.auto_release,
                )
                self.message_user(request, f"Release {release.pk} started for {count} tenants.")
                return HttpResponseRedirect(reverse("admin:component_releases_release_change", args=[release.pk]))
        templates, library_error = _library()
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Release a template to tenants",
            "form": form,
            "templates": templates,
            "library_error": library_error,
        }
        return TemplateResponse(request, "admin/component_releases/release/start.html", context)


def _actor(request: HttpRequest) -> Actor:
    return actor_from_request(request, door=AuditEntry.Door.ADMIN)


def _library() -> tuple[list[dict[str, Any]], str]:
    """The template library, or WeChat's words on why it could not be read (the page works without it)."""
    try:
        return wechat_calls.templates_list(), ""
    except WeChatError as error:
        return [], str(error)
    except ApplicationError as error:  # open-platform mode off, no ticket yet: the operator is told why
        return [], error.message


@admin.register(ReleaseTarget)
class ReleaseTargetAdmin(admin.ModelAdmin):
    """The board: every tenant of every release, its stage and WeChat's words on its last refusal."""

    list_display = ["app_id", "release", "stage", "errcode", "wechat_message", "next_check_at", "updated_at"]
    list_filter = ["stage", "release"]
    search_fields = ["app_id"]
    readonly_fields = [field.name for field in ReleaseTarget._meta.fields if field.name != "id"]
    actions = ["release_selected", "retry_selected"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.action(description="Release the selected tenants (once approved)", permissions=["change"])
    def release_selected(self, request: HttpRequest, queryset: QuerySet[ReleaseTarget]) -> None:
        for release_id in set(queryset.values_list("release_id", flat=True)):
            app_ids = list(queryset.filter(release_id=release_id).values_list("app_id", flat=True))
            released = release_targets_release(release_id=release_id, app_ids=app_ids)
            release_audit(actor=_actor(request), action=audit.RELEASE_APPROVED, release_id=release_id, tenants=released)
            self.message_user(request, f"Release {release_id}: {len(released)} tenants to release.", messages.SUCCESS)

    @admin.action(description="Submit the selected tenants for audit again", permissions=["change"])
    def retry_selected(self, request: HttpRequest, queryset: QuerySet[ReleaseTarget]) -> None:
        for target in queryset:
            try:
                release_target_retry(target_id=target.pk)
            except ReleaseTargetNotReady as error:
                self.message_user(request, error.message, messages.WARNING)
            else:
                release_audit(
                    actor=_actor(request), action=audit.RETRY, release_id=target.release_id, app_id=target.app_id
                )
                self.message_user(request, f"{target.app_id}: submitted again.", messages.SUCCESS)
