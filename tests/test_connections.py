"""Connections scale with database servers, not with tenants."""

import pytest
from django.db import connections
from django.test import Client

from tenants.services import tenant_provision
from tests.helpers import log_queries, mysql_rows

pytestmark = pytest.mark.usefixtures("tenant_db")
FIFTY_TENANTS = [f"wx{0x100 + index:016x}" for index in range(50)]


def runtime_connections() -> int:
    return mysql_rows("SELECT COUNT(*) FROM information_schema.PROCESSLIST WHERE USER = 'miniplex_app'")[0][0]


def test_fifty_tenants_are_served_by_one_connection_per_server(settings):
    settings.ROOT_URLCONF = "tests.urls"
    for app_id in FIFTY_TENANTS:
        tenant_provision(app_id=app_id, name=app_id)
    connections.close_all()
    assert runtime_connections() == 0

    client = Client()
    with log_queries(["tenant_main"]) as log:
        for _round in range(2):
            for app_id in FIFTY_TENANTS:
                response = client.get("/test/users/count", headers={"X-AppID": app_id})
                assert response.json() == {"app_id": app_id, "users": 0}
    # 100 requests over 50 tenant databases: one connection opened, one held.
    assert log.connections.count("tenant_main") == 1
    assert len(log.for_alias("tenant_main")) >= 100
    assert runtime_connections() == 1
