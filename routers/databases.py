"""Builds the DATABASES entries from parsed database URLs (used by config.settings.base).

Connections scale with database servers, not tenants: each server is one alias whose connection is pointed
at the active tenant's database on demand (routers.backends).
"""

from typing import Any

from core.tenant_context import tenant_db_alias, tenant_ddl_alias

# Django's engines -> ours, which select the active tenant's database before every cursor.
TENANT_ENGINES = {
    "django.db.backends.mysql": "routers.backends.mysql",
    "django.db.backends.sqlite3": "routers.backends.sqlite3",
}

# With a connection pool (routers.backends.pool), the control database's engine.
POOLED_ENGINES = {"django.db.backends.mysql": "routers.backends.pooled_mysql"}

# utf8mb4 end to end, so nicknames with emoji survive (test databases too).
MYSQL_TEST_SETTINGS = {"CHARSET": "utf8mb4", "COLLATION": "utf8mb4_unicode_ci"}


def _with_pool(database: dict[str, Any], pool: dict[str, Any] | None) -> dict[str, Any]:
    """A MySQL alias with a pool: Django closes after every request (CONN_MAX_AGE 0), which returns to the pool."""
    if not pool or not pool.get("size") or "mysql" not in database["ENGINE"]:
        return database
    return {**database, "CONN_MAX_AGE": 0, "POOL": pool}


def control_database(
    parsed: dict[str, Any], *, conn_max_age: int, pool: dict[str, Any] | None = None
) -> dict[str, Any]:
    database = {**parsed, "CONN_MAX_AGE": conn_max_age}
    if database["ENGINE"] == "django.db.backends.mysql":
        database["TEST"] = MYSQL_TEST_SETTINGS
        if pool and pool.get("size"):
            database["ENGINE"] = POOLED_ENGINES[database["ENGINE"]]
    return _with_pool(database, pool)


def tenant_server_database(
    server: str, parsed: dict[str, Any], *, conn_max_age: int, pool: dict[str, Any] | None = None
) -> dict[str, Any]:
    engine = parsed["ENGINE"]
    if engine not in TENANT_ENGINES:
        raise ValueError(f"tenant database server {server!r}: unsupported engine {engine}")
    # NAME is empty for MySQL (the database is chosen per tenant) and a directory for SQLite.
    database = {**parsed, "ENGINE": TENANT_ENGINES[engine], "CONN_MAX_AGE": conn_max_age, "TENANT_SERVER": server}
    return _with_pool(database, pool)


def tenant_server_databases(
    servers: dict[str, tuple[dict[str, Any], dict[str, Any]]], *, conn_max_age: int, pool: dict[str, Any] | None = None
) -> dict[str, dict[str, Any]]:
    """{server: (runtime URL, DDL URL)} -> the runtime and DDL aliases of every server (only runtime is pooled)."""
    databases = {}
    for server, (runtime, ddl) in servers.items():
        databases[tenant_db_alias(server)] = tenant_server_database(
            server, runtime, conn_max_age=conn_max_age, pool=pool
        )
        # DDL connections are short-lived: opened by a command, closed when it is done.
        databases[tenant_ddl_alias(server)] = tenant_server_database(server, ddl, conn_max_age=0)
    return databases
