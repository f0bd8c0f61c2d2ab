"""Member check-in: the example tenant app (docs/tenant-apps.md).

A member checks in once a day (the day of the tenant's own time zone) and earns points; buys a reward with
WeChat Pay (payments.services.order_create, granted by payments' payment_succeeded hook); gets a subscribe-message
reminder from a job when they have not checked in by the evening; the console shows a tenant's members.
"""
