"""Engines, transactions and retries.

SQLite runs in WAL mode and every writer starts with ``BEGIN IMMEDIATE`` so
that writers queue instead of failing half-way. PostgreSQL runs at READ
COMMITTED with row locks taken in a fixed order (see wallets/ledger/posting.py); every write
transaction is retried on serialization failures and deadlocks, so the same
code can run on a distributed PostgreSQL-compatible engine.

A connection found dead (the server restarted, an administrator terminated
it) is not pinged for at checkout: the work that meets it runs again on a
fresh connection — a write whose transaction had not reached COMMIT, a read
once — or answers ``busy``. A write whose COMMIT itself was cut off may or
may not have been applied: it runs again only when it stores its own outcome
conditionally (an Idempotency-Key's completion, see :attr:`Tx.exactly_once`),
and answers ``busy`` saying the outcome is unknown otherwise.

No SQL parameter reaches an exception's text or a log (``hide_parameters``);
:func:`loggable` describes a failure without the values a driver's message
may quote (PostgreSQL's ``DETAIL: Key (...)=(...)``).
"""

from __future__ import annotations

import importlib.resources
import logging
import random
import time
import traceback
from collections import namedtuple
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import Connection, Engine

from . import errors, schema

T = TypeVar("T")

log = logging.getLogger(__name__)

RETRYABLE_SQLSTATES = {"40001", "40P01"}  # serialization_failure, deadlock_detected
MAX_ATTEMPTS = 12
# A dead connection is replaced by a fresh one; more than a few in a row means
# the server is away: answer busy rather than hold the request.
MAX_RECONNECTS = 3
OUTCOME_UNKNOWN = (
    "the database connection was lost while the write was committing: it may or may not"
    " have been applied. Look before retrying, or retry with the same Idempotency-Key,"
    " which is always safe"
)

# Every SQLite connection (the benchmarks' yardsticks use the same).
SQLITE_PRAGMAS = (
    "journal_mode=WAL",
    "synchronous=NORMAL",
    "foreign_keys=ON",
    "busy_timeout=60000",
)


def make_engine(url: str, **kwargs: Any) -> Engine:
    sa_url = sa.engine.make_url(url)
    if sa_url.get_backend_name() == "sqlite":
        database = sa_url.database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(
            sa_url,
            connect_args={"timeout": 60, "check_same_thread": False},
            hide_parameters=True,
            **kwargs,
        )
        _configure_sqlite(engine)
        return engine
    # No pre-ping round trip per checkout: a dead connection is met and
    # replaced by the retries of Database (module docstring).
    return sa.create_engine(sa_url, hide_parameters=True, pool_recycle=3600, **kwargs)


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):  # pragma: no cover - trivial
        # Let SQLAlchemy's "begin" event below decide how transactions start.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in SQLITE_PRAGMAS:
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn):
        mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {mode}")


def is_retryable(exc: BaseException) -> bool:
    if not isinstance(exc, sa.exc.DBAPIError):
        return False
    orig = exc.orig
    sqlstate = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    if sqlstate in RETRYABLE_SQLSTATES:
        return True
    # SQLite: a writer that could not get the lock within busy_timeout.
    return "database is locked" in str(orig) or "database is busy" in str(orig)


def is_disconnect(exc: BaseException) -> bool:
    """The connection died under the statement (SQLAlchemy invalidated it)."""
    return isinstance(exc, sa.exc.DBAPIError) and bool(exc.connection_invalidated)


def sqlstate(exc: BaseException) -> str | None:
    orig = getattr(exc, "orig", exc)
    return getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)


def loggable(exc: BaseException) -> str:
    """``exc`` as a traceback for the server log, without the data of the
    request: a database error is named by its class and SQLSTATE only (its
    message may quote values, as PostgreSQL's DETAIL lines do)."""
    chain: list[tuple[BaseException, str]] = []
    seen: set[int] = set()
    current: BaseException | None = exc
    link = ""
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        chain.append((current, link))
        if current.__cause__ is not None:
            current, link = current.__cause__, _CAUSE
        elif current.__context__ is not None and not current.__suppress_context__:
            current, link = current.__context__, _CONTEXT
        else:
            current = None
    parts = []
    for failure, link in reversed(chain):  # the innermost first, as Python prints them
        frames = "".join(traceback.format_tb(failure.__traceback__))
        parts.append(f"Traceback (most recent call last):\n{frames}{_summary(failure)}\n")
        if link:
            parts.append(link)
    return "".join(parts).rstrip()


_CAUSE = "\nThe above exception was the direct cause of the following exception:\n\n"
_CONTEXT = "\nDuring handling of the above exception, another exception occurred:\n\n"


def _summary(exc: BaseException) -> str:
    name = f"{type(exc).__module__}.{type(exc).__qualname__}"
    if isinstance(exc, sa.exc.StatementError):
        orig = exc.orig
        inner = f"{type(orig).__module__}.{type(orig).__qualname__}" if orig else "-"
        return f"{name}: {inner} (SQLSTATE {sqlstate(exc) or '-'})"
    if isinstance(exc, sa.exc.SQLAlchemyError) or _is_driver_error(exc):
        return f"{name} (SQLSTATE {sqlstate(exc) or '-'})"
    return f"{name}: {exc}"


def _is_driver_error(exc: BaseException) -> bool:
    return type(exc).__module__.split(".")[0] in ("psycopg", "psycopg2", "sqlite3")


class RowShape:
    """The columns of a hand-written SELECT: named tuples out, each value
    converted as its column's type converts it (dates of SQLite's text, UTC
    datetimes), for :meth:`Tx.typed_rows`."""

    def __init__(self, name: str, columns: Sequence[tuple[str, sa.types.TypeEngine]]) -> None:
        self.row: Any = namedtuple(name, [n for n, _ in columns])  # type: ignore[misc]
        self.columns = tuple(columns)
        self._processors: dict[str, tuple] = {}

    @classmethod
    def of(cls, table: sa.Table, *extra: tuple[str, sa.types.TypeEngine]) -> RowShape:
        return cls(f"{table.name}_row", [(c.name, c.type) for c in table.columns] + list(extra))

    def processors(self, dialect: sa.Dialect) -> tuple:
        found = self._processors.get(dialect.name)
        if found is None:
            found = self._processors[dialect.name] = tuple(
                t.dialect_impl(dialect).result_processor(dialect, None) for _, t in self.columns
            )
        return found


SANDBOX_ROW = RowShape.of(schema.sandbox)
_SANDBOX = f"SELECT {', '.join(c.name for c in schema.sandbox.columns)} FROM sandbox WHERE id = 1"


class Tx:
    """One unit of work: a connection inside a transaction, and the sandbox time
    read once at its start so that every row it writes carries the same instant."""

    def __init__(self, conn: Connection, db: Database) -> None:
        self.conn = conn
        self.db = db
        self._now: datetime | None = None
        self._sandbox: Any = None
        self._cursor: Any = None
        self.read_into_cache: dict[str, dict[Any, Any]] = {}
        # Set by work whose second run cannot apply it twice (it stores its own
        # outcome conditionally): then a COMMIT cut off by a lost connection is
        # retried, whatever became of it.
        self.exactly_once = False
        self.committing = False

    @property
    def dialect(self) -> str:
        return self.conn.dialect.name

    @property
    def sandbox(self) -> Any:
        if self._sandbox is None:
            (self._sandbox,) = self.typed_rows(SANDBOX_ROW, _SANDBOX)
        return self._sandbox

    def now(self) -> datetime:
        if self._now is None:
            row = self.sandbox
            if row.clock_fixed is not None:
                self._now = row.clock_fixed
            else:
                self._now = datetime.now(UTC) + timedelta(microseconds=row.clock_offset_us)
        return self._now

    def cached(self, kind: str, keys: Iterable[Any], load: Callable[[Tx, list], dict]) -> dict:
        """``{key: value}`` for ``keys`` of rows that never change once written,
        from the database's cache; ``load(tx, missing_keys)`` reads the others.
        What this transaction reads joins the cache only once it has committed:
        it may have read rows of its own that a rollback takes back."""
        cache = self.db.cache.get(kind, {})
        mine = self.read_into_cache.setdefault(kind, {})
        missing = [k for k in keys if k not in cache and k not in mine]
        if missing:
            mine.update(load(self, missing))
        return {k: cache[k] if k in cache else mine[k] for k in keys if k in cache or k in mine}

    def forget_clock(self) -> None:
        self._now = None
        self._sandbox = None

    # -- bulk writes on hot paths ------------------------------------------------
    # SQLAlchemy processes every parameter of every row of an executemany; for
    # the thousands of rows of a posting that is most of its time. These write
    # rows whose values are already what the driver takes (``driver_value``
    # converts the few that are not, once per batch) with the driver's own
    # executemany.

    def driver_value(self, column: sa.Column, value: Any) -> Any:
        """``value`` as the column's type hands it to the driver (a datetime of a
        UTCDateTime column becomes SQLite's text or a naive UTC datetime)."""
        dialect = self.conn.dialect
        key = (column, dialect.name)
        try:
            process = _BIND_PROCESSORS[key]
        except KeyError:
            process = _BIND_PROCESSORS[key] = column.type.dialect_impl(dialect).bind_processor(
                dialect
            )
        return process(value) if process is not None else value

    def _driver(self, sql: str, params: Any, many: bool = False) -> Any:
        """Run ``sql`` on this transaction's DBAPI cursor: SQLAlchemy's own
        execution (events, result objects) costs several times the statement on
        hot paths. The driver's errors are wrapped as SQLAlchemy wraps them, so
        retries and integrity checks see the same exceptions."""
        cursor = self._cursor
        if cursor is None:
            dbapi = self.conn.connection.dbapi_connection
            assert dbapi is not None, "a connection inside a transaction is checked out"
            cursor = self._cursor = dbapi.cursor()
        dialect = self.conn.dialect
        dbapi_error = dialect.loaded_dbapi.Error
        try:
            if many:
                cursor.executemany(sql, params)
            else:
                cursor.execute(sql, params)
        except dbapi_error as exc:
            gone = dialect.is_disconnect(exc, self.conn.connection.dbapi_connection, cursor)
            wrapped = sa.exc.DBAPIError.instance(
                sql,
                params,
                exc,
                dbapi_error,
                hide_parameters=True,
                dialect=dialect,
                connection_invalidated=gone,
            )
            if gone:
                # As SQLAlchemy does for its own statements: the pool must not
                # hand this connection out again.
                self._cursor = None
                self.conn.invalidate(wrapped)
            raise wrapped from exc
        return cursor

    def insert_rows(self, table: sa.Table, columns: Sequence[str], rows: list[tuple]) -> None:
        """INSERT ``rows`` (tuples in the order of ``columns``, driver values)."""
        if rows:
            self._driver(_insert_sql(self.conn.dialect, table, tuple(columns)), rows, many=True)

    def driver_rows(self, sql: str, *params: Any) -> list:
        """Rows of ``sql`` run at the driver, for reads on hot paths. Write ``?``
        for each parameter (the driver's own mark replaces it); a list parameter
        expands to one mark per value, as in ``WHERE id IN (?)``. Values in and
        out are the driver's (ints and strings: convert others with driver_value)."""
        return self._driver(*_expand(self.conn.dialect, sql, params)).fetchall()

    def typed_rows(self, shape: RowShape, sql: str, *params: Any) -> list:
        """Rows of :meth:`driver_rows` as ``shape``'s named tuples, values converted."""
        make = shape.row._make
        processors = shape.processors(self.conn.dialect)
        return [
            make([v if p is None else p(v) for p, v in zip(processors, row, strict=True)])
            for row in self.driver_rows(sql, *params)
        ]

    def driver_execute(self, sql: str, *params: Any) -> int:
        """Run a statement that returns no rows at the driver (``?`` marks, one
        per parameter); the number of rows it changed."""
        p = _placeholder(self.conn.dialect)
        return self._driver(sql if p == "?" else sql.replace("?", p), params).rowcount

    def driver_execute_many(self, sql: str, rows: list[tuple]) -> None:
        """executemany of ``sql`` (``?`` marks) at the driver, with driver values."""
        if rows:
            p = _placeholder(self.conn.dialect)
            self._driver(sql if p == "?" else sql.replace("?", p), rows, many=True)

    def update_rows(
        self, table: sa.Table, columns: Sequence[str], key: str, rows: list[tuple]
    ) -> None:
        """UPDATE ``table`` SET ``columns`` WHERE ``key``: each row is the new
        values in the order of ``columns``, then the key (driver values)."""
        if rows:
            self._driver(_update_sql(self.conn.dialect, table, tuple(columns), key), rows, True)


def _placeholder(dialect: sa.Dialect) -> str:
    return "?" if dialect.paramstyle == "qmark" else "%s"


def _expand(dialect: sa.Dialect, sql: str, params: Sequence[Any]) -> tuple[str, tuple]:
    """``sql`` with the driver's parameter marks, a list parameter expanded."""
    p = _placeholder(dialect)
    parts = sql.split("?")
    if len(parts) != len(params) + 1:
        raise ValueError(f"{len(parts) - 1} parameter marks for {len(params)} parameters")
    text: list[str] = [parts[0]]
    flat: list[Any] = []
    for param, part in zip(params, parts[1:], strict=True):
        if isinstance(param, list | tuple):
            text.append(", ".join(p for _ in param) or "NULL")
            flat.extend(param)
        else:
            text.append(p)
            flat.append(param)
        text.append(part)
    return "".join(text), tuple(flat)


_SQL_CACHE: dict[tuple, str] = {}
_BIND_PROCESSORS: dict[tuple, Any] = {}


def _insert_sql(dialect: sa.Dialect, table: sa.Table, columns: tuple[str, ...]) -> str:
    key = ("insert", dialect.name, table.name, columns)
    sql = _SQL_CACHE.get(key)
    if sql is None:
        for c in columns:
            table.c[c]  # noqa: B018 - a KeyError names a column that does not exist
        p = _placeholder(dialect)
        sql = _SQL_CACHE[key] = (
            f"INSERT INTO {table.name} ({', '.join(columns)}) "
            f"VALUES ({', '.join(p for _ in columns)})"
        )
    return sql


def _update_sql(dialect: sa.Dialect, table: sa.Table, columns: tuple[str, ...], key: str) -> str:
    cache_key = ("update", dialect.name, table.name, columns, key)
    sql = _SQL_CACHE.get(cache_key)
    if sql is None:
        for c in (*columns, key):
            table.c[c]  # noqa: B018
        p = _placeholder(dialect)
        sql = _SQL_CACHE[cache_key] = (
            f"UPDATE {table.name} SET {', '.join(f'{c} = {p}' for c in columns)} WHERE {key} = {p}"
        )
    return sql


class Database:
    def __init__(self, url: str, **engine_kwargs: Any) -> None:
        self.url = url
        self.engine = make_engine(url, **engine_kwargs)
        # Rows that never change once written (operators' codes and accounts),
        # by kind then key, as committed transactions read them (Tx.cached).
        self.cache: dict[str, dict[Any, Any]] = {}

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    def write(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run ``fn(tx, *args, **kwargs)`` in a write transaction, retrying the
        whole function on serialization failures, deadlocks and lock time-outs,
        and on a fresh connection when its own died before COMMIT (module
        docstring); ``busy`` when the retries run out."""
        reconnects = 0
        for attempt in range(1, MAX_ATTEMPTS + 1):
            tx: Tx | None = None
            try:
                with self.engine.connect() as conn:
                    conn = conn.execution_options(sqlite_begin="IMMEDIATE")
                    tx = Tx(conn, self)
                    with conn.begin():
                        result = fn(tx, *args, **kwargs)
                        tx.committing = True
                    self._remember(tx)
                    return result
            except sa.exc.DBAPIError as exc:
                if is_disconnect(exc) or (tx is None and _cannot_connect(exc)):
                    if tx is not None and tx.committing and not tx.exactly_once:
                        log.warning("database connection lost during COMMIT; outcome unknown")
                        raise errors.DomainError(errors.BUSY, OUTCOME_UNKNOWN) from None
                    reconnects += 1
                    if reconnects > MAX_RECONNECTS:
                        raise _unavailable() from None
                    log.warning("database connection lost; the write runs again on a new one")
                    continue
                if not is_retryable(exc) or attempt == MAX_ATTEMPTS:
                    if is_retryable(exc):
                        raise errors.DomainError(errors.BUSY) from None
                    raise
                time.sleep(min(0.5, 0.002 * 2**attempt) * random.random())
        raise _unavailable()

    def read(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run ``fn(tx, ...)`` in a read-only transaction (a consistent snapshot on
        SQLite); once more on a fresh connection if its own was dead."""

        def run() -> T:
            with self.engine.connect() as conn:
                tx = Tx(conn, self)
                with conn.begin():
                    result = fn(tx, *args, **kwargs)
                self._remember(tx)
                return result

        return self._read_retrying(run)

    def _read_retrying(self, run: Callable[[], T]) -> T:
        """A read meets a dead connection: it runs once more (a read is safe to
        repeat), then answers busy."""
        for attempt in (1, 2):
            try:
                return run()
            except sa.exc.DBAPIError as exc:
                if not (is_disconnect(exc) or _cannot_connect(exc)):
                    raise
                if attempt == 2:
                    raise _unavailable() from None
                log.warning("database connection lost; the read runs again on a new one")
        raise AssertionError("unreachable")

    def _remember(self, tx: Tx) -> None:
        """Keep what a committed transaction read into the cache."""
        for kind, rows in tx.read_into_cache.items():
            if rows:
                self.cache.setdefault(kind, {}).update(rows)

    def peek(self, sql: str, *params: Any) -> Sequence[Any]:
        """The rows of one read-only statement (``?`` marks, as
        :meth:`Tx.driver_rows`), run on a pooled driver connection without a
        transaction of its own: one statement reads one consistent state anyway.
        For the reads every request makes first (its API key)."""
        return self._read_retrying(lambda: self._peek(sql, params))

    def _peek(self, sql: str, params: Sequence[Any]) -> Sequence[Any]:
        dialect = self.engine.dialect
        dbapi_error = dialect.loaded_dbapi.Error
        try:
            conn = self.engine.raw_connection()
        except dbapi_error as exc:  # the pool hands the driver's error on unwrapped
            raise sa.exc.DBAPIError.instance(
                None, None, exc, dbapi_error, hide_parameters=True, dialect=dialect
            ) from exc
        try:
            cursor = conn.cursor()
            text, flat = _expand(dialect, sql, params)
            try:
                cursor.execute(text, flat)
                return cursor.fetchall()
            except dbapi_error as exc:
                gone = dialect.is_disconnect(exc, conn.dbapi_connection, cursor)
                wrapped = sa.exc.DBAPIError.instance(
                    text,
                    flat,
                    exc,
                    dbapi_error,
                    hide_parameters=True,
                    dialect=dialect,
                    connection_invalidated=gone,
                )
                if gone:
                    conn.invalidate(wrapped)
                raise wrapped from exc
        finally:
            conn.close()  # back to the pool, which ends PostgreSQL's implicit transaction

    def snapshot(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run ``fn(tx, ...)`` read-only over one consistent snapshot, however many
        statements it runs (REPEATABLE READ on PostgreSQL; a SQLite read
        transaction in WAL mode is one already). For long reads such as exports.
        A dead connection answers busy (``fn`` may have written files by then)."""
        try:
            with self.engine.connect() as conn:
                if not self.is_sqlite:
                    conn = conn.execution_options(
                        isolation_level="REPEATABLE READ", postgresql_readonly=True
                    )
                with conn.begin():
                    return fn(Tx(conn, self), *args, **kwargs)
        except sa.exc.DBAPIError as exc:
            if is_disconnect(exc) or _cannot_connect(exc):
                raise _unavailable() from None
            raise

    def dispose(self) -> None:
        self.engine.dispose()


def _cannot_connect(exc: BaseException) -> bool:
    """No connection could be made (the server is down or refusing): nothing ran."""
    return isinstance(exc, sa.exc.OperationalError) and getattr(exc, "statement", None) is None


def _unavailable() -> errors.DomainError:
    return errors.DomainError(
        errors.BUSY,
        "the database is unreachable or keeps dropping connections; nothing was written",
    )


# ---- migrations -------------------------------------------------------------

# wallets/migrations: inside the package, so that an installed wheel carries them
# (setup.cfg's package_data); found through the package, wherever this module lives.
MIGRATIONS_DIR = Path(str(importlib.resources.files("wallets") / "migrations"))


def alembic_config(url: str):
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    # Passed as an attribute, not an option: URLs may hold '%' that configparser would mangle.
    cfg.attributes["database_url"] = url
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    from alembic import command

    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str) -> None:
    from alembic import command

    command.downgrade(alembic_config(url), revision)


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def head_revision(url: str) -> str | None:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config(url)).get_current_head()


def inserted_id(result: sa.CursorResult[Any]) -> int:
    """The primary key of the one row an INSERT of one row made. SQLAlchemy
    types ``inserted_primary_key`` as optional: it is None only for an INSERT
    that made no row, which a single-row ``insert().values(...)`` never is."""
    key = result.inserted_primary_key
    assert key is not None, "a single-row INSERT has a primary key"
    return int(key[0])
