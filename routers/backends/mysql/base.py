"""MySQL backend for a tenant database server: one connection per server, pointed at the active tenant.

The raw driver connection remembers which database it has selected, together with the server's connection
id, so a silent reconnect (a new server session) is never trusted to still be on a tenant. The mark lives on
the raw connection, not on Django's wrapper, so it stays true when a pool hands the raw connection to
another wrapper. The check runs before every cursor, where no code path can skip it.

With a POOL in the alias's settings (routers.backends.pool), "new connection" means a checkout from the pool:
the mark is set only when a raw connection is really opened (open_raw_connection), never from the parameters
of a checkout, which may hand back a connection last pointed at another tenant.
"""

from typing import Any

from django.db.backends.mysql import base as mysql

from routers.backends.pool import PooledConnectionMixin
from routers.backends.tenant import TenantServerMixin, quote_database_name

# Attribute set on the raw driver connection: (server connection id, selected database).
SELECTED = "miniplex_selected"


class DatabaseWrapper(TenantServerMixin, PooledConnectionMixin, mysql.DatabaseWrapper):
    def get_connection_params(self) -> dict[str, Any]:
        params = super().get_connection_params()
        # A fresh connection opens straight on the active tenant's database: no extra round trip.
        params["database"] = self.active_tenant().db_name
        return params

    def open_raw_connection(self, conn_params: dict[str, Any]) -> Any:
        connection = super().open_raw_connection(conn_params)
        setattr(connection, SELECTED, (connection.thread_id(), conn_params["database"]))
        return connection

    def create_cursor(self, name: str | None = None) -> Any:
        self._select_tenant_database(self.active_tenant().db_name)
        return super().create_cursor(name)

    def _select_tenant_database(self, db_name: str) -> None:
        self.claim_transaction_for(db_name)
        wanted = (self.connection.thread_id(), db_name)
        if getattr(self.connection, SELECTED, None) != wanted:
            # COM_INIT_DB, the protocol's USE: no SQL text is built from the name.
            self.connection.select_db(db_name)
            setattr(self.connection, SELECTED, wanted)

    def tenant_database_size(self) -> int:
        """Bytes of data and indexes in the active tenant's database (as InnoDB reports them)."""
        with self.cursor() as cursor:
            cursor.execute(
                "SELECT COALESCE(SUM(DATA_LENGTH + INDEX_LENGTH), 0) FROM information_schema.TABLES "
                "WHERE TABLE_SCHEMA = DATABASE()"
            )
            return int(cursor.fetchone()[0])

    # --- DDL, used through the tenant_<server>_ddl alias by the tenant commands only ----------------------

    def server_connection(self) -> Any:
        """A new raw connection to the server with no database selected, for CREATE/DROP DATABASE."""
        params = PooledConnectionMixin.get_connection_params(self)
        params.pop("database", None)
        return self.Database.connect(**params)

    def create_tenant_database(self, db_name: str) -> None:
        sql = f"CREATE DATABASE IF NOT EXISTS {quote_database_name(db_name)} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci"  # noqa: S608,E501
        self._run_on_server(sql)

    def drop_tenant_database(self, db_name: str) -> None:
        self._run_on_server(f"DROP DATABASE IF EXISTS {quote_database_name(db_name)}")

    def _run_on_server(self, sql: str) -> None:
        connection = self.server_connection()
        try:
            connection.cursor().execute(sql)
        finally:
            connection.close()
