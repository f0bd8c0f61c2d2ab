"""Moving a tenant's database to another MySQL server while it is served (manage.py move_tenant).

services: tenant_move_start, tenant_move_finalize, tenant_move_abort; selectors: tenant_move_frozen;
held: what arrives during the freeze (pushes) and its replay; jobs: the worker's delay of a frozen tenant's jobs;
copy: the MySQL side (snapshot, chunk comparison, freeze triggers, verification). docs/moving-tenants.md.
"""
