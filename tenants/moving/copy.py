"""Copying one tenant database between two MySQL/MariaDB servers, table by table, on connections of its own.

Every connection here is opened for the move and closed after it (never a pooled one), so the session
settings it makes (foreign key checks off on the target, a lock wait bound, a snapshot) die with it.

- `snapshot_copy`: every row as of one moment (START TRANSACTION WITH CONSISTENT SNAPSHOT), while the tenant
  keeps writing to the source.
- `chunks_sync`: compares the two copies chunk by chunk (rows of primary keys [n*CHUNK, (n+1)*CHUNK), a
  count and an XOR of row hashes on each side, as pt-table-checksum does) and copies again only the chunks
  that differ. Run while serving it catches up; run under the freeze it makes the copies equal.
- `freeze_prepare` / `freeze` / `unfreeze`: triggers on every table of a copy, made while it is served, that
  refuse any insert, update or delete once a flag is set, by anyone but the move's own connections: a write
  cannot land on a frozen copy, whichever process, cache or connection it comes from. Setting the flag waits
  for the transactions that wrote before it (see freeze_prepare), so once `freeze` returns, every write that
  will ever commit on the copy has committed.
- `tables_compare`: COUNT(*) and CHECKSUM TABLE per table on both sides, the verification that is printed.
"""

import re
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

from core.tenant_context import tenant_ddl_alias
from routers.backends.tenant import quote_database_name, tenant_server

CHUNK_ROWS = 1000  # primary key values per compared chunk
COPY_BATCH_ROWS = 5000  # rows per SELECT and per multi-row INSERT
FREEZE_TRIGGER_PREFIX = "mpx_move_freeze_"
FREEZE_TABLE = "miniplex_move_freeze"  # the flag the triggers read; in the frozen copy only, never copied
CHANGED_TABLE = "miniplex_move_changed"  # the chunks written since the triggers were armed; likewise
FREEZE_MESSAGE = "tenant_moving: this copy of the tenant database is frozen for a move"
# How long creating a trigger may wait for a transaction that wrote to its table (MySQL's default is a day).
FREEZE_LOCK_WAIT_SECONDS = 20
FREEZE_ATTEMPTS, DEADLOCK = 5, 1213
# The session variable of the move's own connections, the only ones a frozen copy lets write.
COPIER_VARIABLE = "@miniplex_move_copier"
_IDENTIFIER = re.compile(r"[A-Za-z0-9_$]{1,64}", re.ASCII)
_INTEGER_TYPES = {"tinyint", "smallint", "mediumint", "int", "bigint"}

Progress = Callable[[str], None]
T = TypeVar("T")


class CopyRefused(RuntimeError):
    """The database holds something this copier does not handle (an identifier it will not quote)."""


def quote(identifier: str) -> str:
    if not _IDENTIFIER.fullmatch(identifier):
        raise CopyRefused(f"unsafe identifier {identifier!r}")
    return f"`{identifier}`"


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[str, ...]
    # The integer primary key the chunks are cut by; None: compared and copied as a whole.
    chunk_key: str | None

    @property
    def column_list(self) -> str:
        return ", ".join(quote(column) for column in self.columns)

    @property
    def row_hash(self) -> str:
        """SQL of a row's CRC32 over every column (NULL told apart from the empty string)."""
        values = ", ".join(quote(column) for column in self.columns)
        nulls = ", ".join(f"ISNULL({quote(column)})" for column in self.columns)
        return f"CRC32(CONCAT_WS('|', {values}, CONCAT({nulls})))"


@contextmanager
def server_connection(server: str, *, autocommit: bool = True) -> Iterator[Any]:
    """A connection of its own to a server with the DDL credentials, closed afterwards."""
    connection = tenant_server(tenant_ddl_alias(server)).server_connection()  # type: ignore[attr-defined]
    try:
        connection.autocommit(autocommit)
        yield connection
    finally:
        connection.close()


def target_prepare(connection: Any) -> None:
    """On the copy being written: rows go in in any order, whatever refers to what, and a frozen copy takes
    this session's writes (an abort copying back into the old copy). This session only: it is never pooled."""
    _execute(connection, "SET SESSION foreign_key_checks = 0")
    _execute(connection, f"SET {COPIER_VARIABLE} = 1")


def _rows(connection: Any, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return list(cursor.fetchall())


def _execute(connection: Any, sql: str, params: tuple[Any, ...] = ()) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def database_exists(connection: Any, db_name: str) -> bool:
    return bool(_rows(connection, "SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = %s", (db_name,)))


def tables_read(connection: Any, db_name: str) -> list[Table]:
    """The base tables of a database, with their columns and chunk key."""
    names = _rows(
        connection,
        "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s AND TABLE_TYPE = 'BASE TABLE' "
        "AND TABLE_NAME NOT IN (%s, %s) ORDER BY TABLE_NAME",
        (db_name, FREEZE_TABLE, CHANGED_TABLE),
    )
    return [_table_read(connection, db_name, name) for (name,) in names]


def _table_read(connection: Any, db_name: str, name: str) -> Table:
    columns = _rows(
        connection,
        "SELECT COLUMN_NAME, DATA_TYPE, COLUMN_KEY FROM information_schema.COLUMNS "
        "WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s AND IS_GENERATED = 'NEVER' ORDER BY ORDINAL_POSITION",
        (db_name, name),
    )
    primary = [(column, kind) for column, kind, key in columns if key == "PRI"]
    chunk_key = primary[0][0] if len(primary) == 1 and primary[0][1] in _INTEGER_TYPES else None
    quote(name)
    return Table(name=name, columns=tuple(quote(column).strip("`") for column, _, _ in columns), chunk_key=chunk_key)


def schema_create(source: Any, target: Any, db_name: str, tables: list[Table]) -> None:
    """The empty database and its tables on the target, as SHOW CREATE TABLE gives them on the source."""
    _execute(target, f"CREATE DATABASE {quote_database_name(db_name)} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
    target.select_db(db_name)
    for table in tables:
        ((_, create),) = _rows(source, f"SHOW CREATE TABLE {quote_database_name(db_name)}.{quote(table.name)}")
        _execute(target, create)


def _insert(target: Any, db_name: str, table: Table, rows: list[tuple[Any, ...]]) -> None:
    if not rows:
        return
    placeholders = ", ".join(["%s"] * len(table.columns))
    sql = (
        f"INSERT INTO {quote_database_name(db_name)}.{quote(table.name)} ({table.column_list}) VALUES ({placeholders})"  # noqa: S608,E501
    )
    with target.cursor() as cursor:
        cursor.executemany(sql, rows)


def _copy_rows(source: Any, target: Any, db_name: str, table: Table, where: str = "", params: tuple = ()) -> int:
    """Copies the rows of `table` matching `where` (the chunk key's order, in batches); how many."""
    qualified = f"{quote_database_name(db_name)}.{quote(table.name)}"
    if table.chunk_key is None:
        rows = _rows(source, f"SELECT {table.column_list} FROM {qualified} {where}", params)  # noqa: S608
        _insert(target, db_name, table, rows)
        return len(rows)
    key, key_index, copied, last = quote(table.chunk_key), table.columns.index(table.chunk_key), 0, None
    while True:
        after = f"{key} > %s" if last is not None else "1 = 1"
        condition = f"{where} AND {after}" if where else f"WHERE {after}"
        batch = _rows(
            source,
            f"SELECT {table.column_list} FROM {qualified} {condition} ORDER BY {key} LIMIT {COPY_BATCH_ROWS}",  # noqa: S608
            params + ((last,) if last is not None else ()),
        )
        _insert(target, db_name, table, batch)
        copied += len(batch)
        if len(batch) < COPY_BATCH_ROWS:
            return copied
        last = batch[-1][key_index]


def snapshot_copy(source: Any, target: Any, db_name: str, tables: list[Table], progress: Progress) -> int:
    """Every row of every table as of one moment, while the source keeps serving; the rows copied."""
    _execute(source, "SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ")
    _execute(source, "START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY")
    total = 0
    try:
        for table in tables:
            started = time.monotonic()
            copied = _copy_rows(source, target, db_name, table)
            total += copied
            progress(f"  {table.name}: {copied} rows ({time.monotonic() - started:.2f} s)")
    finally:
        _execute(source, "COMMIT")
    return total


def _chunk_sums(
    connection: Any, db_name: str, table: Table, only: set[int] | None = None
) -> dict[int, tuple[int, int]]:
    """chunk -> (rows, XOR of row hashes), of every chunk or of the chunks `only` (read by primary key ranges)."""
    qualified = f"{quote_database_name(db_name)}.{quote(table.name)}"
    if table.chunk_key is None:
        rows = _rows(connection, f"SELECT 0, COUNT(*), BIT_XOR({table.row_hash}) FROM {qualified}")  # noqa: S608
        return {0: (int(rows[0][1]), int(rows[0][2]))}
    key = quote(table.chunk_key)
    where = ""
    if only is not None:
        ranges = [f"({key} >= {int(c) * CHUNK_ROWS} AND {key} < {(int(c) + 1) * CHUNK_ROWS})" for c in sorted(only)]
        where = f"WHERE {' OR '.join(ranges)}"
    rows = _rows(
        connection,
        f"SELECT FLOOR({key} / {CHUNK_ROWS}) AS chunk, COUNT(*), BIT_XOR({table.row_hash}) FROM {qualified} "  # noqa: S608
        f"{where} GROUP BY chunk",
    )
    return {int(chunk_id): (int(count), int(xor)) for chunk_id, count, xor in rows}


def chunks_sync(
    source: Any, target: Any, db_name: str, tables: list[Table], changed: dict[int, set[int]] | None = None
) -> tuple[int, int]:
    """Copies again the chunks that differ between the copies; (chunks copied, rows copied).

    `changed` (table index -> chunks, from `changed_chunks`) limits the comparison to the chunks written since
    the triggers were armed; without it every chunk is compared.
    """
    chunks = rows = 0
    for index, table in enumerate(tables):
        only = None if changed is None else changed.get(index, set())
        if only is not None and not only:
            continue
        theirs, ours = _on_both(_chunk_sums, source, target, db_name, table, only)
        for chunk_id in sorted(set(theirs) | set(ours)):
            if theirs.get(chunk_id) != ours.get(chunk_id):
                rows += _chunk_copy(source, target, db_name, table, chunk_id)
                chunks += 1
    return chunks, rows


def _chunk_copy(source: Any, target: Any, db_name: str, table: Table, chunk_id: int) -> int:
    params: tuple[int, ...]
    qualified = f"{quote_database_name(db_name)}.{quote(table.name)}"
    where, params = "", ()
    if table.chunk_key is not None:
        where = f"WHERE {quote(table.chunk_key)} >= %s AND {quote(table.chunk_key)} < %s"
        params = (chunk_id * CHUNK_ROWS, (chunk_id + 1) * CHUNK_ROWS)
    _execute(target, "START TRANSACTION")
    try:
        _execute(target, f"DELETE FROM {qualified} {where}", params)  # noqa: S608
        copied = _copy_rows(source, target, db_name, table, where, params)
        target.commit()
    except BaseException:
        target.rollback()
        raise
    return copied


def auto_increments_copy(source: Any, target: Any, db_name: str) -> None:
    """The source's next AUTO_INCREMENT values, so that ids freed by deletes are not given out again."""
    for name, value in _rows(
        source,
        "SELECT TABLE_NAME, AUTO_INCREMENT FROM information_schema.TABLES "
        "WHERE TABLE_SCHEMA = %s AND AUTO_INCREMENT IS NOT NULL",
        (db_name,),
    ):
        _execute(target, f"ALTER TABLE {quote_database_name(db_name)}.{quote(name)} AUTO_INCREMENT = {int(value)}")


def freeze_prepare(connection: Any, db_name: str, tables: list[Table]) -> None:
    """While the tenant is served: the freeze's flag (not set) and the triggers that read it on every table.

    Each trigger reads the flag with a locking read (the latest committed value, not the writer's snapshot), so
    setting it (`freeze`) is one UPDATE: it waits for the transactions that wrote meanwhile (they hold a shared
    lock on the flag's row) and every write after it is refused. Until then each trigger notes the chunk it
    writes (`changed_chunks`), so the pass under the freeze compares only those. Creating the triggers is DDL
    that waits for each table's writers in flight, so it is done here, before the freeze, not during it.
    """
    connection.select_db(db_name)
    _execute(connection, f"SET SESSION lock_wait_timeout = {FREEZE_LOCK_WAIT_SECONDS}")
    flag, changed = quote(FREEZE_TABLE), quote(CHANGED_TABLE)
    _execute(connection, f"CREATE TABLE IF NOT EXISTS {flag} (id TINYINT PRIMARY KEY, frozen TINYINT NOT NULL)")
    _execute(connection, f"INSERT IGNORE INTO {flag} VALUES (1, 0)")  # noqa: S608
    columns = "tbl SMALLINT NOT NULL, chunk BIGINT NOT NULL, PRIMARY KEY (tbl, chunk)"
    _execute(connection, f"CREATE TABLE IF NOT EXISTS {changed} ({columns})")
    read_flag = f"SELECT frozen INTO frozen_now FROM {flag} WHERE id = 1 LOCK IN SHARE MODE"  # noqa: S608
    refuse = f"SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = '{FREEZE_MESSAGE}'"
    for index, table in enumerate(tables):
        for event, rows in (("INSERT", ("NEW",)), ("UPDATE", ("OLD", "NEW")), ("DELETE", ("OLD",))):
            if table.chunk_key is None:
                chunks = ["0"]
            else:
                chunks = [f"FLOOR({row}.{quote(table.chunk_key)} / {CHUNK_ROWS})" for row in rows]
            note = " ".join(f"INSERT IGNORE INTO {changed} VALUES ({index}, {chunk});" for chunk in chunks)  # noqa: S608
            body = (
                f"BEGIN DECLARE frozen_now TINYINT DEFAULT 0; IF {COPIER_VARIABLE} IS NULL THEN {read_flag}; "
                f"IF frozen_now = 1 THEN {refuse}; END IF; {note} END IF; END"
            )
            name = quote(f"{FREEZE_TRIGGER_PREFIX}{index}_{event[0].lower()}")
            on = f"{event} ON {quote(table.name)}"
            # AFTER: a BEFORE INSERT trigger sees 0 for an AUTO_INCREMENT id; an error here fails the statement
            # all the same, and InnoDB rolls its row back.
            _execute(connection, f"CREATE TRIGGER IF NOT EXISTS {name} AFTER {on} FOR EACH ROW {body}")


def changed_chunks(connection: Any, db_name: str) -> dict[int, set[int]]:
    """Table index -> the chunks written since the triggers were armed (complete once the copy is frozen)."""
    found: dict[int, set[int]] = {}
    sql = f"SELECT tbl, chunk FROM {quote_database_name(db_name)}.{quote(CHANGED_TABLE)}"  # noqa: S608
    for index, chunk in _rows(connection, sql):
        found.setdefault(int(index), set()).add(int(chunk))
    return found


def freeze(connection: Any, db_name: str) -> None:
    """From now on this copy refuses every write but the move's; returns once the writes in flight are done."""
    _execute(connection, f"SET SESSION innodb_lock_wait_timeout = {FREEZE_LOCK_WAIT_SECONDS}")
    sql = f"UPDATE {quote_database_name(db_name)}.{quote(FREEZE_TABLE)} SET frozen = 1 WHERE id = 1"  # noqa: S608
    for attempt in range(FREEZE_ATTEMPTS):
        try:
            _execute(connection, sql)
            return
        except connection.OperationalError as error:
            # A writer that locked a row, then waited for the flag behind us, while another that holds the flag
            # waits for its row: InnoDB breaks the cycle (1213) by rolling one back, maybe us. Try again.
            if error.args[0] != DEADLOCK or attempt == FREEZE_ATTEMPTS - 1:
                raise


def frozen_triggers(connection: Any, db_name: str) -> list[str]:
    rows = _rows(
        connection,
        "SELECT TRIGGER_NAME FROM information_schema.TRIGGERS WHERE TRIGGER_SCHEMA = %s AND TRIGGER_NAME LIKE %s",
        (db_name, FREEZE_TRIGGER_PREFIX.replace("_", "\\_") + "%"),
    )
    return [name for (name,) in rows]


def unfreeze(connection: Any, db_name: str) -> int:
    """Drops this copy's freeze triggers (and no other trigger) and its flag; how many triggers."""
    names = frozen_triggers(connection, db_name)
    for name in names:
        _execute(connection, f"DROP TRIGGER IF EXISTS {quote_database_name(db_name)}.{quote(name)}")
    if database_exists(connection, db_name):
        for table in (FREEZE_TABLE, CHANGED_TABLE):
            _execute(connection, f"DROP TABLE IF EXISTS {quote_database_name(db_name)}.{quote(table)}")
    return len(names)


@dataclass(frozen=True)
class TableCheck:
    table: str
    source_rows: int
    target_rows: int
    source_checksum: int | None
    target_checksum: int | None

    @property
    def equal(self) -> bool:
        return self.source_rows == self.target_rows and self.source_checksum == self.target_checksum


def tables_compare(source: Any, target: Any, db_name: str, tables: list[Table]) -> list[TableCheck]:
    """Row counts and CHECKSUM TABLE of each table on both copies."""
    theirs, ours = _on_both(_table_facts, source, target, db_name, tables)
    return [
        TableCheck(table.name, their[0], our[0], their[1], our[1])
        for table, their, our in zip(tables, theirs, ours, strict=True)
    ]


def _table_facts(connection: Any, db_name: str, tables: list[Table]) -> list[tuple[int, int | None]]:
    facts = []
    for table in tables:
        qualified = f"{quote_database_name(db_name)}.{quote(table.name)}"
        (count,) = _rows(connection, f"SELECT COUNT(*) FROM {qualified}")[0]  # noqa: S608
        checksum = _rows(connection, f"CHECKSUM TABLE {qualified}")[0][1]
        facts.append((int(count), checksum))
    return facts


def _on_both(read: Callable[..., T], source: Any, target: Any, *args: Any) -> tuple[T, T]:
    """`read` on both servers at once (each on its own connection): the freeze waits for the slower only."""
    with ThreadPoolExecutor(max_workers=2) as pool:
        theirs, ours = pool.submit(read, source, *args), pool.submit(read, target, *args)
        return theirs.result(), ours.result()


def table_recopy(source: Any, target: Any, db_name: str, table: Table) -> int:
    """The whole table again (when a chunk comparison missed a difference that CHECKSUM TABLE saw)."""
    _execute(target, f"DELETE FROM {quote_database_name(db_name)}.{quote(table.name)}")  # noqa: S608
    return _copy_rows(source, target, db_name, table)


def database_drop(connection: Any, db_name: str) -> None:
    _execute(connection, f"DROP DATABASE IF EXISTS {quote_database_name(db_name)}")
