from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    """WeChat Pay orders, refunds and the price list: a tenant app (each tenant's own database)."""

    name = "payments"
    label = "payments"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from console.registry import register_tenant_page
        from payments import conf
        from tenants.jobs.periodic import register_periodic

        # A Payments page beside the tenant's in the admin: its price list, newest orders and their refunds (with
        # the refund form for staff holding payments.refund_order), read with the tenant active.
        register_tenant_page(
            name="payments", label="Payments", template="payments/tenant_payments.html", read=_payments_page
        )
        # Lost notifications and expired orders: once per period for the fleet, touching only the tenants with
        # something pending (payments.pending).
        register_periodic(
            name="payments-reconcile",
            every_seconds=conf.get_reconcile_every_seconds(),
            func="payments.reconciliation.reconcile_due",
        )


def _payments_page() -> dict[str, object]:
    from payments.selectors import items_list, orders_newest

    return {"items": list(items_list()), "orders": list(orders_newest())}
