"""The open platform in the operators' console: the authorizers (read-only) and the authorization-link page.

/admin/component/authorizer/authorize/ (staff with tenants.add_tenant): asks WeChat for a pre_auth_code and
shows the PC authorization page's link, the mobile link and a QR code of the mobile link, which the owner scans
with WeChat (WeChat's PC page shows a QR code of its own).
"""

from typing import Any

import segno
from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.html import format_html_join
from django.utils.safestring import SafeString, mark_safe

from component.models import Authorizer
from component.permissions import permissions_missing
from component.services import authorization_link_create
from console import permissions as perms
from console.actors import actor_from_request
from console.models import AuditEntry
from core.exceptions import ApplicationError
from wechat.exceptions import WeChatError


class AuthorizationLinkForm(forms.Form):
    tenant_name = forms.CharField(
        max_length=100, required=False, help_text="The new tenant's name; blank: the mini-program's WeChat nickname."
    )


@admin.register(Authorizer)
class AuthorizerAdmin(admin.ModelAdmin):
    list_display = ["app_id", "status", "func_info", "missing_permissions", "authorized_at", "unauthorized_at"]
    list_filter = ["status"]
    search_fields = ["app_id"]
    readonly_fields = (
        "app_id", "status", "func_info", "missing_permissions", "authorized_at", "unauthorized_at", "updated_at",
    )  # fmt: skip
    fields = readonly_fields
    change_list_template = "admin/component/authorizer/change_list.html"

    @admin.display(description="permissions not granted")
    def missing_permissions(self, authorizer: Authorizer) -> SafeString | str:
        missing = permissions_missing(authorizer.func_info)
        if not missing:
            return "-"
        return format_html_join(", ", "{} ({})", missing.items())

    def get_queryset(self, request: HttpRequest) -> QuerySet[Authorizer]:
        return Authorizer.objects.all()

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Authorizer | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Authorizer | None = None) -> bool:
        return False

    def get_urls(self) -> list:
        own = [path("authorize/", self.admin_site.admin_view(self.authorize_view), name="component_authorize")]
        return own + super().get_urls()

    def authorize_view(self, request: HttpRequest) -> HttpResponse:
        if not request.user.has_perm(perms.ADD_TENANT):
            raise PermissionDenied
        form = AuthorizationLinkForm(request.POST or None)
        context: dict[str, Any] = {"form": form}
        if request.method == "POST" and form.is_valid():
            try:
                page = authorization_link_create(
                    actor=actor_from_request(request, door=AuditEntry.Door.ADMIN),
                    tenant_name=form.cleaned_data["tenant_name"],
                )
            except (ApplicationError, WeChatError) as error:
                form.add_error(None, str(error))
            else:
                context |= {"page": page, "qr_svg": _qr_svg(page.mobile_url)}
        context |= {**self.admin_site.each_context(request), "opts": self.model._meta, "title": "Authorization link"}
        return TemplateResponse(request, "admin/component/authorizer/authorize.html", context)


def _qr_svg(url: str) -> SafeString:
    # segno writes the SVG itself from the URL (no user HTML in it): safe to inline.
    return mark_safe(segno.make(url, error="m").svg_inline(scale=4))  # noqa: S308
