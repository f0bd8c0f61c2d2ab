"""Forms of the tenant admin pages: the AppSecret is write-only everywhere."""

from typing import Any, cast

from django import forms
from django.conf import settings

from core.exceptions import ApplicationError
from tenants.app_ids import app_id_validate


def _secret_field(required: bool) -> forms.CharField:
    # render_value=False: a submitted secret is never echoed back into the page.
    return forms.CharField(
        required=required, strip=True, widget=forms.PasswordInput(render_value=False), label="AppSecret"
    )


class OnboardForm(forms.Form):
    app_id = forms.CharField(label="AppID", max_length=64)
    name = forms.CharField(max_length=100, help_text="Shown to platform admins; emoji allowed.")
    server = forms.ChoiceField(label="Database server")
    app_secret = _secret_field(required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        server = cast(forms.ChoiceField, self.fields["server"])
        server.choices = [(name, name) for name in settings.TENANT_DB_SERVER_NAMES]
        self.fields["server"].initial = settings.TENANT_DB_DEFAULT_SERVER

    def clean_app_id(self) -> str:
        try:
            return app_id_validate(self.cleaned_data["app_id"])
        except ApplicationError as error:
            raise forms.ValidationError(error.message) from None


class RotateSecretForm(forms.Form):
    app_secret = _secret_field(required=True)


class RetireForm(forms.Form):
    confirm_app_id = forms.CharField(label="Type the AppID again to confirm", max_length=64)
