"""Connections scale with database servers, not with tenants."""

import pytest
from django.db import connections
from django.db.backends.signals import connection_created
from django.test import Client

from tenants.services import tenant_provision
from tests.helpers import mysql_rows

pytestmark = pytest.mark.usefixtures("tenant_db")
FIFTY_TENANTS = [f"wx{0x100 + index:016x}" for index in range(50)]


def server_sessions(ids: set[int]) -> list[tuple[int, str]]:
    """The server's own view of these connection ids: which are open, and as which user."""
    placeholders = ", ".join(["%s"] * len(ids))
    return mysql_rows(f"SELECT ID, USER FROM information_schema.PROCESSLIST WHERE ID IN ({placeholders})", tuple(ids))


@pytest.mark.slow
def test_fifty_tenants_are_served_by_one_connection_per_server(settings):
    settings.ROOT_URLCONF = "tests.urls"
    for app_id in FIFTY_TENANTS:
        tenant_provision(app_id=app_id, name=app_id)
    connections.close_all()

    alias = connections["tenant_main"]
    session_ids: set[int] = set()
    databases: set[str] = set()

    def observe(execute, sql, params, many, context):  # noqa: ANN001, ANN202
        # The server's id of the session this statement runs on, and the database it is pointed at.
        session_ids.add(context["connection"].connection.thread_id())
        databases.add(context["connection"].connection.miniplex_selected[1])
        return execute(sql, params, many, context)

    opened: list[str] = []

    def on_connect(sender, connection, **kwargs):  # noqa: ANN001, ANN003, ANN202
        opened.append(connection.alias)

    connection_created.connect(on_connect)
    client = Client()
    try:
        with alias.execute_wrapper(observe):
            for _round in range(2):
                for app_id in FIFTY_TENANTS:
                    response = client.get("/test/users/count", headers={"X-AppID": app_id})
                    assert response.json() == {"app_id": app_id, "users": 0}
    finally:
        connection_created.disconnect(on_connect)
    # 100 requests over 50 tenant databases: one session on the server, opened once, pointed at each in turn.
    assert opened.count("tenant_main") == 1
    assert len(databases) == 50
    assert len(session_ids) == 1
    assert server_sessions(session_ids) == [(next(iter(session_ids)), "miniplex_app")]
