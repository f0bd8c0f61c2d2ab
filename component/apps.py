from django.apps import AppConfig
from django.core.checks import register


class ComponentConfig(AppConfig):
    """Open-platform mode: the component's ticket and tokens, authorizers: in the control database."""

    name = "component"
    label = "component"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from accounts.wechat_access import ComponentAccess, register_component_access
        from component.access import authorizer_client_for
        from component.checks import component_settings_check
        from component.jobs import WATCH_EVERY_SECONDS
        from component.models import Authorizer, ComponentTicket
        from component.push_credentials import component_push_credentials
        from component.tokens import authorizer_token_fetch
        from pushes.credentials import register_push_credentials_source
        from tenants.jobs.periodic import register_periodic
        from tenants.secret_rotation import register_encrypted_control_field

        register(component_settings_check)
        # rotate_secrets_key re-encrypts the ticket and the authorizers' tokens with the AppSecrets.
        register_encrypted_control_field(model=ComponentTicket, field="ticket_encrypted", label="component tickets")
        for field, label in (
            ("refresh_token_encrypted", "authorizer refresh tokens"),
            ("access_token_encrypted", "authorizer access tokens"),
        ):
            register_encrypted_control_field(model=Authorizer, field=field, label=label)
        # Component tenants' WeChat calls go through the authorization (accounts.wechat_access), and their
        # pushes come with the component's Token and key (pushes.credentials).
        register_component_access(ComponentAccess(client_for=authorizer_client_for, fetch_token=authorizer_token_fetch))
        register_push_credentials_source(component_push_credentials)
        # Late ticket pushes noticed (and asked for) long before the last ticket expires; the token kept warm.
        register_periodic(
            name="component-watch", every_seconds=WATCH_EVERY_SECONDS, func="component.jobs.component_watch"
        )
