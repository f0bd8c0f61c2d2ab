from django.apps import AppConfig


class AvatarsConfig(AppConfig):
    """Users' avatars, checked by WeChat before anyone sees them: a tenant app."""

    name = "avatars"
    label = "avatars"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.conf import settings
        from django.core import checks

        from avatars.selectors import avatars_for_console, avatars_needing_a_person_count
        from avatars.system_checks import media_public_base_url_check
        from console.registry import register_tenant_fact, register_tenant_page
        from tenants.jobs.periodic import register_periodic

        checks.register(media_public_base_url_check, deploy=True)

        # The console: how many uploads wait for a person (WeChat's `review`, or no answer at all), and a page.
        register_tenant_fact(name="avatars_to_review", read=avatars_needing_a_person_count)
        register_tenant_page(
            name="avatars", label="Avatars", template="avatars/tenant_avatars.html", read=avatars_for_console
        )
        # Checks WeChat did not answer in time, in the tenants marked as having some; and a daily look at all.
        register_periodic(
            name="avatars-sweep", every_seconds=settings.AVATARS_SWEEP_SECONDS, func="avatars.checks.avatars_sweep"
        )
        register_periodic(
            name="avatars-full-sweep",
            every_seconds=settings.AVATARS_FULL_SWEEP_SECONDS,
            func="avatars.checks.avatars_full_sweep",
        )
        _register_push_handler()


def _register_push_handler() -> None:
    # WeChat's answer to media_check_async arrives as the `wxa_media_check` push (pushes' receiver).
    from pushes.handlers import register_push_handler

    register_push_handler("wxa_media_check", "avatars.checks.media_check_pushed")
