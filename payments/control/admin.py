"""The merchants in Django admin: set through payments.control.services (checked with WeChat Pay first).

The private key and the APIv3 key are write-only: the form never renders them (a blank field keeps the stored
one), the list and the change page show only whether they are set. Adding and changing need Django's add and
change permissions of TenantMerchant; each change is one audit entry (door "admin").
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from console.actors import actor_from_request
from console.models import AuditEntry
from console.services import audit_record
from core.exceptions import ApplicationError
from payments.control.audit import REMOVE_PAYMENT, SET_PAYMENT
from payments.control.models import PlatformCertificate, TenantMerchant
from payments.control.services import MerchantChange, merchant_remove, merchant_set
from tenants.models import Tenant


class WriteOnlyTextarea(forms.Textarea):
    """A text area that never renders a value: a submitted private key is not echoed back by a refused form."""

    def format_value(self, value: Any) -> None:
        return None


class MerchantForm(forms.ModelForm):
    tenant_choice = forms.ModelChoiceField(
        queryset=Tenant.objects.all(), label="Tenant", required=False, help_text="The mini-program that is paid."
    )
    private_key = forms.CharField(
        required=False,
        strip=True,
        widget=WriteOnlyTextarea(attrs={"rows": 6, "autocomplete": "off"}),
        label="Private key (apiclient_key.pem)",
        help_text="Never shown again. Leave empty to keep the stored one.",
    )
    apiv3_key = forms.CharField(
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False),
        label="APIv3 key",
        help_text="32 bytes. Never shown again. Leave empty to keep the stored one.",
    )
    certificate = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        label="Merchant certificate (apiclient_cert.pem)",
        help_text="Optional: the serial and the private key are checked against it. Not stored.",
    )

    class Meta:
        model = TenantMerchant
        fields = ["mchid", "serial", "public_key_pem", "public_key_id"]
        help_texts = {
            "public_key_pem": "WeChat Pay's public key (pub_key.pem): public-key mode. Empty: platform certificates.",
            "public_key_id": "PUB_KEY_ID_..., with the public key.",
        }

    change: MerchantChange | None = None

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.errors:
            return data
        tenant = self.instance.tenant if self.instance.pk else data.get("tenant_choice")
        if tenant is None:
            raise forms.ValidationError("Choose the tenant.")
        try:
            # The service is the write: it checks with WeChat Pay and stores, or refuses and changes nothing.
            self.change = merchant_set(
                app_id=tenant.app_id,
                mchid=data.get("mchid") or "",
                serial=data.get("serial") or "",
                private_key_pem=data.get("private_key") or None,
                apiv3_key=data.get("apiv3_key") or None,
                public_key_pem=data.get("public_key_pem") or None,
                public_key_id=data.get("public_key_id") or None,
                merchant_certificate_pem=data.get("certificate") or None,
            )
        except ApplicationError as error:
            raise forms.ValidationError(error.message) from None
        return data

    def validate_unique(self) -> None:
        return  # the service wrote the one row of the tenant already


@admin.register(TenantMerchant)
class TenantMerchantAdmin(admin.ModelAdmin):
    form = MerchantForm
    list_display = ["tenant_app_id", "mchid", "mode", "serial", "public_key_id", "secrets_set", "updated_at"]
    search_fields = ["tenant__app_id", "mchid"]
    list_filter = ["mode"]
    readonly_fields = ["tenant", "mode", "secrets_set", "created_at", "updated_at"]

    def get_fields(self, request: HttpRequest, obj: TenantMerchant | None = None) -> Sequence[str]:  # type: ignore[override]
        editable = ["mchid", "serial", "private_key", "apiv3_key", "public_key_pem", "public_key_id", "certificate"]
        if obj is None:
            return ["tenant_choice", *editable]
        return ["tenant", "mode", "secrets_set", *editable, "created_at", "updated_at"]

    def get_readonly_fields(self, request: HttpRequest, obj: TenantMerchant | None = None) -> list[str]:
        return self.readonly_fields if obj is not None else []

    def get_actions(self, request: HttpRequest) -> dict[str, Any]:
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # one at a time, each with its audit entry
        return actions

    @admin.display(description="AppID", ordering="tenant__app_id")
    def tenant_app_id(self, merchant: TenantMerchant) -> str:
        return merchant.tenant.app_id

    @admin.display(boolean=True, description="private key and APIv3 key set")
    def secrets_set(self, merchant: TenantMerchant) -> bool:
        return bool(merchant.private_key_encrypted and merchant.apiv3_key_encrypted)

    def get_queryset(self, request: HttpRequest) -> QuerySet[TenantMerchant]:
        return super().get_queryset(request).select_related("tenant")

    def save_model(self, request: HttpRequest, obj: TenantMerchant, form: forms.ModelForm, change: bool) -> None:
        done = form.change  # type: ignore[attr-defined]
        obj.pk, obj.tenant = done.merchant.pk, done.merchant.tenant
        audit_record(
            actor=actor_from_request(request, door=AuditEntry.Door.ADMIN),
            action=SET_PAYMENT,
            app_id=done.merchant.tenant.app_id,
            details=done.audit_details(),
        )
        checked = "checked with WeChat Pay" if done.checked else "not checked"
        self.message_user(
            request, f"{done.merchant.tenant.app_id}: WeChat Pay merchant stored ({checked}).", messages.SUCCESS
        )

    def save_related(self, request: HttpRequest, form: forms.ModelForm, formsets: Any, change: bool) -> None:
        return  # nothing related; the service stored everything

    def delete_model(self, request: HttpRequest, obj: TenantMerchant) -> None:
        app_id = obj.tenant.app_id
        removed = merchant_remove(app_id=app_id)
        if removed is not None:
            audit_record(
                actor=actor_from_request(request, door=AuditEntry.Door.ADMIN),
                action=REMOVE_PAYMENT,
                app_id=app_id,
                details={"mchid": removed.mchid},
            )


@admin.register(PlatformCertificate)
class PlatformCertificateAdmin(admin.ModelAdmin):
    """Read only: the periodic job and the merchant set-up write them."""

    list_display = ["mchid", "serial", "effective_time", "expire_time", "fetched_at"]
    search_fields = ["mchid", "serial"]
    readonly_fields = ["mchid", "serial", "certificate_pem", "effective_time", "expire_time", "fetched_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: PlatformCertificate | None = None) -> bool:
        return False
