"""The tenant registry in Django admin: onboard, suspend, resume, rotate the AppSecret, retire.

Every write goes through tenants.services; the AppSecret is write-only and never shown. A tenant's own
data (the facts and pages tenant apps contribute through console.registry, such as accounts' users) is read
in that tenant's context, one tenant at a time, read-only. Registered on the admin site by console/admin.py.
"""

from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from console import fairness_admin
from console import permissions as perms
from console.actors import actor_from_request
from console.admin_forms import OnboardForm, RetireForm, RotateSecretForm
from console.facts import facts_time_text, tenant_facts_get
from console.models import AuditEntry
from console.registry import TenantPage, tenant_pages_registered
from console.services import audit_record
from core.exceptions import ApplicationError
from core.tenant_context import activate_tenant
from tenants.jobs.selectors import job_fetch
from tenants.models import Tenant
from tenants.selectors import tenant_context_for
from tenants.services import tenant_onboard, tenant_resume, tenant_retire, tenant_rotate_secret, tenant_suspend


class TenantAdmin(admin.ModelAdmin):
    list_display = ["app_id", "name", "status", "db_server", "db_name", "has_secret", "jobs_queued", "created_at"]
    list_filter = ["status", "db_server"]
    search_fields = ["app_id", "name"]
    # app_secret_encrypted is not editable and not listed: neither it nor the secret reaches a page.
    fields = ["app_id", "name", "status", "db_server", "db_name", "has_secret", "provisioning", "facts"]
    fields += ["jobs_max_queued", "backlog", "usage"]  # fairness (console/fairness_admin.py, docs/fairness.md)
    readonly_fields = ["app_id", "status", "db_server", "db_name", "has_secret", "provisioning", "facts"]
    readonly_fields += ["backlog", "usage"]
    actions = ["suspend_selected", "resume_selected"]
    change_form_template = "admin/tenants/tenant/change_form.html"

    @admin.display(boolean=True, description="AppSecret set")
    def has_secret(self, tenant: Tenant) -> bool:
        return tenant.has_secret

    @admin.display(description="Provisioning job")
    def provisioning(self, tenant: Tenant) -> str:
        if not tenant.provisioning_job_id:
            return "-"
        job = job_fetch(job_id=tenant.provisioning_job_id)
        if job is None:
            return f"{tenant.provisioning_job_id}: expired"
        failure = job.failure or {}
        reason = f" ({failure.get('code')}: {failure.get('message')})" if failure else ""
        return f"{job.id}: {job.get_status().value}{reason}"

    @admin.display(description="Facts")
    def facts(self, tenant: Tenant) -> str:
        facts = tenant_facts_get(tenant=tenant)
        contributed = format_html_join(
            "", "{}: {} · ", ((name, "-" if value is None else value) for name, value in facts.contributed.items())
        )
        return format_html(
            "{}database: {} bytes · jobs queued: {} · jobs failed: {} · last request: {}",
            contributed,
            "-" if facts.database_bytes is None else facts.database_bytes,
            facts.jobs_queued,
            facts.jobs_failed,
            facts_time_text(facts.last_request_at),
        )

    jobs_queued = fairness_admin.jobs_queued
    backlog = fairness_admin.backlog
    usage = fairness_admin.usage

    def save_model(self, request: HttpRequest, obj: Tenant, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        fairness_admin.bound_saved(obj)

    # --- actions on the list ------------------------------------------------------------------------------

    # Each action is offered, and run, only for a user with its permission (Django checks has_<name>_permission).
    @admin.action(description="Suspend the selected tenants", permissions=["suspend"])
    def suspend_selected(self, request: HttpRequest, queryset: QuerySet[Tenant]) -> None:
        self._each(request, queryset, tenant_suspend, AuditEntry.Action.SUSPEND, "suspended")

    @admin.action(description="Resume the selected tenants", permissions=["suspend"])
    def resume_selected(self, request: HttpRequest, queryset: QuerySet[Tenant]) -> None:
        self._each(request, queryset, tenant_resume, AuditEntry.Action.RESUME, "resumed")

    def _each(self, request: HttpRequest, queryset: QuerySet[Tenant], service: Any, action: str, done: str) -> None:
        for tenant in queryset:
            try:
                service(app_id=tenant.app_id)
            except ApplicationError as error:
                self.message_user(request, f"{tenant.app_id}: {error.message}", messages.ERROR)
            else:
                _audit(request, action, tenant.app_id)
                self.message_user(request, f"{tenant.app_id} {done}.", messages.SUCCESS)

    def has_suspend_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(perms.SUSPEND_TENANT)

    # --- pages of their own ---------------------------------------------------------------------------------

    def get_urls(self) -> list:
        own = [
            path("<path:object_id>/rotate-secret/", self._view(self.rotate_secret_view), name="tenants_tenant_secret"),
            path("<path:object_id>/retire/", self._view(self.retire_view), name="tenants_tenant_retire"),
        ]
        contributed = [
            path(
                f"<path:object_id>/{page.name}/", self._view(self._page_view(page)), name=f"tenants_tenant_{page.name}"
            )
            for page in tenant_pages_registered()
        ]
        return own + contributed + super().get_urls()

    def _view(self, view: Any) -> Any:
        return self.admin_site.admin_view(view)

    def _page(self, request: HttpRequest, template: str, title: str, **context: Any) -> TemplateResponse:
        context = {**self.admin_site.each_context(request), "opts": self.model._meta, "title": title, **context}
        return TemplateResponse(request, f"admin/tenants/tenant/{template}", context)

    def _tenant_for(self, request: HttpRequest, object_id: str, allowed: bool) -> Tenant:
        # The permission is checked before the tenant is looked up: no answer tells an outsider what exists.
        if not allowed:
            raise PermissionDenied
        if not object_id.isdigit():  # /admin/tenants/tenant/abc/users/: no such tenant, not a 500 of int("abc")
            raise Http404
        return get_object_or_404(Tenant, pk=object_id)

    def _change_url(self, tenant: Tenant) -> str:
        return reverse("admin:tenants_tenant_change", args=[tenant.pk])

    def add_view(self, request: HttpRequest, form_url: str = "", extra_context: dict | None = None) -> HttpResponse:
        """Onboarding in one form: the row at once, the database in a platform job the change page follows."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = OnboardForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                tenant = tenant_onboard(**form.cleaned_data)
            except ApplicationError as error:
                form.add_error(None, error.message)
            else:
                _audit(request, AuditEntry.Action.ONBOARD, tenant.app_id, db_server=tenant.db_server, name=tenant.name)
                self.message_user(request, f"{tenant.app_id} registered; its database is being provisioned.")
                return HttpResponseRedirect(self._change_url(tenant))
        return self._page(request, "onboard.html", "Onboard a mini-program", form=form)

    def rotate_secret_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        tenant = self._tenant_for(request, object_id, request.user.has_perm(perms.ROTATE_SECRET))
        form = RotateSecretForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                tenant_rotate_secret(app_id=tenant.app_id, app_secret=form.cleaned_data["app_secret"])
            except ApplicationError as error:
                form.add_error(None, error.message)
            else:
                _audit(request, AuditEntry.Action.ROTATE_SECRET, tenant.app_id)
                self.message_user(request, f"{tenant.app_id}: the new AppSecret was accepted by WeChat and stored.")
                return HttpResponseRedirect(self._change_url(tenant))
        return self._page(
            request, "rotate_secret.html", f"Rotate the AppSecret of {tenant.app_id}", form=form, tenant=tenant
        )

    def retire_view(self, request: HttpRequest, object_id: str) -> HttpResponse:
        """Two steps: this page explains what goes, and retiring needs the AppID typed again."""
        tenant = self._tenant_for(request, object_id, request.user.has_perm(perms.RETIRE_TENANT))
        form = RetireForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                tenant_retire(app_id=tenant.app_id, confirm_app_id=form.cleaned_data["confirm_app_id"])
            except ApplicationError as error:
                form.add_error("confirm_app_id", error.message)
            else:
                _audit(
                    request, AuditEntry.Action.RETIRE, tenant.app_id, db_server=tenant.db_server, db_name=tenant.db_name
                )
                self.message_user(request, f"{tenant.app_id} retired: its database, registry row and jobs are gone.")
                return HttpResponseRedirect(reverse("admin:tenants_tenant_changelist"))
        facts = tenant_facts_get(tenant=tenant)
        return self._page(request, "retire.html", f"Retire {tenant.app_id}", form=form, tenant=tenant, facts=facts)

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict | None = None
    ) -> HttpResponse:
        # The buttons of the pages tenant apps contribute (change_form.html links each by its URL name).
        pages = [(page.label, f"admin:tenants_tenant_{page.name}") for page in tenant_pages_registered()]
        return super().change_view(request, object_id, form_url, {**(extra_context or {}), "tenant_pages": pages})

    def _page_view(self, page: TenantPage) -> Any:
        def view(request: HttpRequest, object_id: str) -> HttpResponse:
            """A tenant app's page of one tenant, read in that tenant's own context; read-only."""
            tenant = self._tenant_for(request, object_id, self.has_view_permission(request))
            with activate_tenant(tenant_context_for(tenant)):
                context = page.read()
            context = {**self.admin_site.each_context(request), "opts": self.model._meta, **context}
            title = f"{page.label} of {tenant.app_id}"
            return TemplateResponse(request, page.template, {**context, "title": title, "tenant": tenant})

        return view

    def has_delete_permission(self, request: HttpRequest, obj: Tenant | None = None) -> bool:
        # Django's delete would leave the database and the jobs behind: retiring (its own page) is the way.
        return False


def _audit(request: HttpRequest, action: str, app_id: str, **details: Any) -> None:
    audit_record(
        actor=actor_from_request(request, door=AuditEntry.Door.ADMIN), action=action, app_id=app_id, details=details
    )
