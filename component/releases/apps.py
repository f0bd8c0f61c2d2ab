from django.apps import AppConfig


class ComponentReleasesConfig(AppConfig):
    """One code template released to many tenants (commit, audit, release): in the control database."""

    name = "component.releases"
    label = "component_releases"
    default_auto_field = "django.db.models.BigAutoField"
