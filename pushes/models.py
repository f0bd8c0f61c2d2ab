"""What WeChat pushes to a tenant (events, customer-service messages, subscriptions): a tenant app."""
