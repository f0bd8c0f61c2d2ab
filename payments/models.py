"""WeChat Pay orders, refunds and the price list: a tenant app (each tenant's own database)."""
