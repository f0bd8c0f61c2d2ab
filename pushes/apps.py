from django.apps import AppConfig


class PushesConfig(AppConfig):
    """What WeChat pushes to a tenant (events, customer-service messages, subscriptions): a tenant app."""

    name = "pushes"
    label = "pushes"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from pushes.events import BUILTIN_HANDLERS
        from pushes.handlers import register_push_handler
        from tenants.jobs.periodic import register_periodic

        for kind, func_path in BUILTIN_HANDLERS.items():
            register_push_handler(kind, func_path)
        # A push that came while its tenant was frozen for a move is recorded after the switch (tenants.moving).
        from pushes.services import push_record_held
        from tenants.moving.held import register_held_replayer

        register_held_replayer("push", push_record_held)
        register_periodic(name="pushes-purge", every_seconds=3600, func="pushes.jobs.push_records_purge")
        # The console's page beside each tenant's: its latest pushes and customer-service messages.
        from console.registry import register_tenant_page
        from pushes.selectors import console_page_read

        register_tenant_page(
            name="pushes", label="Pushes", template="pushes/tenant_pushes.html", read=console_page_read
        )
