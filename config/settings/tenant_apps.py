"""Your own tenant apps: `manage.py start_tenant_app NAME` appends the new app here (docs/tenant-apps.md).

Each app named here is installed, lives in every tenant's database (TENANT_APPS) and has its `api_urls`
included under /api/v1/ (api/urls.py). Keep it a plain list of names: the command reads it as data.
"""

LOCAL_TENANT_APPS = [
    "checkin",  # the example app of docs/tenant-apps.md
]
