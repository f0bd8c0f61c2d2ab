"""The Django permissions that govern platform actions, one vocabulary for the admin, the API and the commands.

view, add and change are Django's own on tenants.Tenant; the three custom ones are created for the Tenant
content type by console's migration 0002 (tenants/models.py stays the registry helper's; a data migration keeps
the migration graph linear). Each custom permission allows exactly its action.
"""

VIEW_TENANT = "tenants.view_tenant"  # the list, a tenant's page and facts, its users, a platform job's state
ADD_TENANT = "tenants.add_tenant"  # onboard a mini-program
CHANGE_TENANT = "tenants.change_tenant"  # edit a tenant's name in the admin
SUSPEND_TENANT = "tenants.suspend_tenant"  # suspend and resume
ROTATE_SECRET = "tenants.rotate_secret"  # noqa: S105 - a permission name; stores a new AppSecret (checked with WeChat first)
RETIRE_TENANT = "tenants.retire_tenant"  # drop the database, the registry row, the cached entries and jobs
VIEW_AUDIT = "console.view_auditentry"  # read the audit trail
# Reading a tenant: either permission, as in Django's admin (who may change may see).
READ_TENANT = (VIEW_TENANT, CHANGE_TENANT)

# codename -> name, for the data migration.
CUSTOM_TENANT_PERMISSIONS = {
    "suspend_tenant": "Can suspend and resume tenants",
    "rotate_secret": "Can rotate a tenant's AppSecret",
    "retire_tenant": "Can retire tenants (deletes their data)",
}
