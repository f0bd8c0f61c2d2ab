"""Where a model's rows live: the database router and the backends that point a connection at a tenant."""

from routers.router import TenantRouter

__all__ = ["TenantRouter"]
