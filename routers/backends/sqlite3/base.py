"""SQLite backend for the embedded default: a tenant database is one file in the server's directory.

SQLite has no USE, so switching tenant closes the connection and opens the other tenant's file.
"""

from pathlib import Path
from typing import Any

from django.db.backends.sqlite3 import base as sqlite

from routers.backends.tenant import TenantServerMixin, TenantSwitchInTransaction, quote_database_name


class DatabaseWrapper(TenantServerMixin, sqlite.DatabaseWrapper):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._selected: str | None = None

    def tenant_database_path(self, db_name: str) -> Path:
        quote_database_name(db_name)  # the same allow-list as MySQL: the name becomes a file name
        return Path(self.settings_dict["NAME"]) / f"{db_name}.sqlite3"

    def get_connection_params(self) -> dict[str, Any]:
        params = super().get_connection_params()
        params["database"] = str(self.tenant_database_path(self.active_tenant().db_name))
        return params

    def get_new_connection(self, conn_params: dict[str, Any]) -> Any:
        connection = super().get_new_connection(conn_params)
        self._selected = Path(conn_params["database"]).stem
        return connection

    def _cursor(self, name: str | None = None) -> Any:
        db_name = self.active_tenant().db_name
        self.claim_transaction_for(db_name)
        if self.connection is not None and self._selected != db_name:
            # Another file means another connection, which would lose the transaction that is open.
            if self.in_atomic_block:
                raise TenantSwitchInTransaction(f"{self.alias}: a transaction is open on {self._selected}")
            self.close()
        # Django's BaseDatabaseWrapper._cursor, which django-stubs leaves out (it is private).
        return super()._cursor(name)  # type: ignore[misc]

    def is_in_memory_db(self) -> bool:
        return False

    def tenant_database_size(self) -> int:
        """Bytes of the active tenant's database file."""
        path = self.tenant_database_path(self.active_tenant().db_name)
        return path.stat().st_size if path.exists() else 0

    def create_tenant_database(self, db_name: str) -> None:
        # The file itself appears on first connect; the directory must exist.
        self.tenant_database_path(db_name).parent.mkdir(parents=True, exist_ok=True)

    def drop_tenant_database(self, db_name: str) -> None:
        self.tenant_database_path(db_name).unlink(missing_ok=True)
