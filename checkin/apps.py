from django.apps import AppConfig

# How often the platform looks for tenants whose reminder hour has come (checkin.jobs.reminders_enqueue_due).
REMINDERS_EVERY_SECONDS = 15 * 60


class CheckinConfig(AppConfig):
    """Member check-in: a tenant app, so its tables live in every tenant's own database."""

    name = "checkin"
    label = "checkin"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from checkin.models import Member
        from checkin.selectors import members_for_console
        from console.registry import register_tenant_fact, register_tenant_page
        from payments.jobs import register_payment_succeeded
        from tenants.jobs.periodic import register_periodic

        # The console (read with the tenant active): the number of members, and a page of the newest ones.
        register_tenant_fact(name="checkin_members", read=Member.objects.count)
        register_tenant_page(
            name="checkin", label="Check-in members", template="checkin/tenant_members.html", read=members_for_console
        )
        # A paid order of a reward grants it (payments runs the hook in its payment_succeeded job).
        register_payment_succeeded("checkin.services.reward_grant")
        register_periodic(
            name="checkin-reminders", every_seconds=REMINDERS_EVERY_SECONDS, func="checkin.jobs.reminders_enqueue_due"
        )
