"""The AppSecret is stored encrypted and never reaches an admin page or a log line."""

import logging

import pytest

from tenants.models import Tenant
from tenants.secrets import secret_decrypt
from tenants.services import tenant_provision
from tests.helpers import TENANT_A

pytestmark = pytest.mark.usefixtures("tenant_db")
SECRET = "0123456789abcdef0123456789abcdef"


def test_the_secret_is_stored_encrypted_and_decrypts_back():
    tenant_provision(app_id=TENANT_A, name="Tenant 0 😀", app_secret=SECRET)
    stored = Tenant.objects.get(app_id=TENANT_A).app_secret_encrypted
    assert SECRET not in stored
    assert secret_decrypt(stored) == SECRET


def test_admin_pages_show_that_a_secret_is_set_but_never_the_secret(admin_client):
    tenant_provision(app_id=TENANT_A, name="Tenant 0 😀", app_secret=SECRET)
    tenant = Tenant.objects.get(app_id=TENANT_A)
    pages = [
        admin_client.get("/admin/tenants/tenant/"),
        admin_client.get(f"/admin/tenants/tenant/{tenant.pk}/change/"),
        admin_client.get("/admin/tenants/tenant/?q=wx"),
    ]
    for page in pages:
        assert page.status_code == 200
        html = page.content.decode()
        assert SECRET not in html
        assert tenant.app_secret_encrypted not in html
    assert TENANT_A in pages[0].content.decode()


def test_no_log_line_carries_the_secret(caplog):
    with caplog.at_level(logging.DEBUG):
        tenant_provision(app_id=TENANT_A, name="Tenant 0 😀", app_secret=SECRET)
    assert caplog.records, "provisioning logs what it did"
    assert all(SECRET not in record.getMessage() for record in caplog.records)
