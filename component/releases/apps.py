from django.apps import AppConfig


class ComponentReleasesConfig(AppConfig):
    """One code template released to many tenants (commit, audit, release): in the control database."""

    name = "component.releases"
    label = "component_releases"
    default_auto_field = "django.db.models.BigAutoField"
    verbose_name = "Template releases"

    def ready(self) -> None:
        from component.releases import conf
        from pushes.handlers import register_push_handler
        from tenants.jobs.periodic import register_periodic

        # Waits that ended, audits due a poll, and targets whose job was lost (a killed worker).
        register_periodic(
            name="component-releases-tick",
            every_seconds=conf.tick_seconds(),
            func="component.releases.jobs.releases_tick",
        )
        for event in ("weapp_audit_success", "weapp_audit_fail", "weapp_audit_delay"):
            register_push_handler(event, "component.releases.jobs.audit_push_received")
