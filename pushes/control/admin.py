"""Push settings in Django's admin: the Token and EncodingAESKey are write-only (empty keeps the stored one).

Django's own model permissions guard it (pushes_control.view/add/change/delete_pushsettings); every save goes
through push_settings_set (the same validation as the command and the platform API) and is audited.
"""

from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.http import HttpRequest

from console.actors import actor_from_request
from console.models import AuditEntry
from console.services import audit_record
from pushes.control.audit import AUDIT_ACTION, audit_details
from pushes.control.models import PushSettings
from pushes.control.services import PushSettingsChange, push_settings_set, push_settings_validate
from pushes.exceptions import PushSettingsInvalid
from tenants.exceptions import TenantNotFound


class PushSettingsForm(forms.ModelForm):
    # render_value=False: a stored secret never reaches the page, not even masked.
    token = forms.CharField(
        required=False, widget=forms.PasswordInput(render_value=False), help_text="Empty keeps the stored Token."
    )
    aes_key = forms.CharField(
        label="EncodingAESKey",
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="43 letters or digits; empty keeps the stored key.",
    )

    class Meta:
        model = PushSettings
        fields = ["app_id", "mode", "format", "transfer_customer_service"]
        help_texts = {
            "mode": "Safe is the one to use: plain and compatible accept plain bodies, which WeChat does not sign.",
        }

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        change = PushSettingsChange(
            token=cleaned.get("token") or None,
            aes_key=cleaned.get("aes_key") or None,
            mode=cleaned.get("mode"),
            format=cleaned.get("format"),
            transfer_customer_service=cleaned.get("transfer_customer_service"),
        )
        self.change = change
        try:
            push_settings_validate(app_id=self.app_id_of(cleaned), change=change)
        except PushSettingsInvalid as error:
            raise ValidationError({name: messages for name, messages in error.fields.items()}) from None
        except TenantNotFound:
            raise ValidationError({"app_id": "No tenant has this AppID."}) from None
        return cleaned

    def app_id_of(self, cleaned: dict[str, Any]) -> str:
        return str(self.instance.app_id if self.instance.pk else cleaned.get("app_id", ""))


@admin.register(PushSettings)
class PushSettingsAdmin(admin.ModelAdmin):
    form = PushSettingsForm
    list_display = ["app_id", "mode", "format", "transfer_customer_service", "has_aes_key", "updated_at"]
    search_fields = ["app_id"]
    fields = ["app_id", "token", "aes_key", "mode", "format", "transfer_customer_service"]

    @admin.display(boolean=True, description="EncodingAESKey set")
    def has_aes_key(self, settings: PushSettings) -> bool:
        return bool(settings.aes_key_encrypted)

    def get_readonly_fields(self, request: HttpRequest, obj: PushSettings | None = None) -> list[str]:
        return ["app_id"] if obj is not None else []

    def save_model(self, request: HttpRequest, obj: PushSettings, form: Any, change: bool) -> None:
        # Through the service, as the command and the API: the secrets are set only when given.
        saved = push_settings_set(app_id=form.app_id_of(form.cleaned_data), change=form.change)
        audit_record(
            actor=actor_from_request(request, door=AuditEntry.Door.ADMIN),
            action=AUDIT_ACTION,
            app_id=saved.app_id,
            details=audit_details(form.change),
        )
        obj.pk, obj.app_id = saved.pk, saved.app_id
