"""Engines, transactions and retries.

SQLite runs in WAL mode and every writer starts with ``BEGIN IMMEDIATE`` so
that writers queue instead of failing half-way; the writers of one database
file queue in front of SQLite's lock (:class:`WriterQueue`), so that each
starts as soon as the one before it ends. PostgreSQL runs at READ
COMMITTED with row locks taken in a fixed order (see wallets/ledger/accounts.py); every write
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

import contextlib
import copy
import importlib.resources
import json
import logging
import os
import random
import threading
import time
import traceback
from collections import namedtuple
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: SQLite's busy handler alone
    fcntl = None  # type: ignore[assignment]

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import TypeDecorator

from . import errors, outbox, schema

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


# ---- Core statements compiled once, run at the driver ---------------------------
# On hot paths (a payment, a batch, the API-key lookup) SQLAlchemy's execution
# (events, parameter processing, result objects) costs several times the
# statement. There a Core statement is compiled once per dialect and its text
# run on the DBAPI cursor, values converted by the columns' own types.


class _Values(TypeDecorator):
    """A list of values as one parameter: an array on PostgreSQL, JSON text
    for SQLite's ``json_each``."""

    impl = sa.String
    cache_ok = True

    def __init__(self, item_type: sa.types.TypeEngine) -> None:
        super().__init__()
        self.item_type = item_type

    def load_dialect_impl(self, dialect: sa.Dialect) -> sa.types.TypeEngine:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(postgresql.ARRAY(self.item_type))
        return dialect.type_descriptor(sa.String())

    def process_bind_param(self, value: Any, dialect: sa.Dialect) -> Any:
        values = list(value)
        if dialect.name == "postgresql":
            return values
        if len(values) < 16 and all(type(v) is int for v in values):
            return f"[{','.join(map(str, values))}]"  # a payment's few ids: json's overhead
        return json.dumps(values)


class _AnyOf(FunctionElement[bool]):
    """``column`` equals one of a list parameter's values (:func:`any_of`)."""

    name = "any_of"
    type = sa.Boolean()
    inherit_cache = True
    _is_implicitly_boolean = True  # a condition as it is (no ``= 1`` on SQLite)


@compiles(_AnyOf, "postgresql")
def _any_of_postgresql(element: _AnyOf, compiler: Any, **kw: Any) -> str:
    column, values = element.clauses
    return compiler.process(column == sa.any_(values), **kw)


@compiles(_AnyOf)
def _any_of_sqlite(element: _AnyOf, compiler: Any, **kw: Any) -> str:
    column, values = element.clauses
    listed: sa.Select[Any] = sa.select(sa.literal_column("value")).select_from(
        sa.func.json_each(values)
    )
    return compiler.process(column.in_(listed), **kw)


def any_of(column: sa.ColumnElement, name: str) -> sa.ColumnElement[bool]:
    """``column`` is one of the values of the list parameter ``name``: one
    statement text whatever the list's length (``= ANY(array)`` on PostgreSQL,
    ``IN (SELECT value FROM json_each(...))`` on SQLite), where an IN list
    would be a new statement for every length."""
    return _AnyOf(column, sa.bindparam(name, type_=_Values(column.type)))


def period_index(column: sa.ColumnElement, instants: Sequence[datetime]) -> sa.ColumnElement:
    """The index of the first of ``instants`` (ascending) at or after ``column``'s
    time, NULL after the last: which period ``(instants[i-1], instants[i]]`` a row
    falls in, so that one GROUP BY counts or sums rows per period (charts of
    history, from the rows that hold it)."""
    return sa.case(*((column <= at, i) for i, at in enumerate(instants)), else_=sa.null())


class Upsert:
    """An INSERT ... ON CONFLICT, whose construct is the dialect's own:
    ``build(insert)`` gets sqlalchemy.dialects.sqlite's or .postgresql's
    ``insert`` and calls its ``on_conflict_do_*``; built once per dialect."""

    def __init__(self, build: Callable[[Callable[..., Any]], Any]) -> None:
        self._build = build
        self._built: dict[str, Any] = {}

    def of(self, dialect_name: str) -> Any:
        stmt = self._built.get(dialect_name)
        if stmt is None:
            insert = postgresql.insert if dialect_name == "postgresql" else sqlite.insert
            stmt = self._built[dialect_name] = self._build(insert)
        return stmt


class Compiled:
    """One Core statement compiled for one dialect: its text, its parameters
    in the driver's order with their bind processors, and its result
    columns' processors."""

    __slots__ = (
        "sql",
        "names",
        "order",
        "binds",
        "row",
        "_given",
        "_convert",
        "_results",
        "_plans",
        "_known",
    )

    def __init__(self, stmt: Any, dialect: sa.Dialect) -> None:
        compiled = stmt.compile(dialect=_positional(dialect))
        if compiled.literal_execute_params or compiled.post_compile_params:
            raise ValueError("a statement run at the driver must keep one text (use any_of)")
        self.sql: str = compiled.string
        positions = list(compiled.positiontup or ())
        # Each parameter once, in the order of its first mark.
        self.names: tuple[str, ...] = tuple(dict.fromkeys(positions))
        index = {n: i for i, n in enumerate(self.names)}
        order = tuple(index[n] for n in positions)
        self.order = None if order == tuple(range(len(self.names))) else order
        # Each parameter's name and the statement's own value (or _REQUIRED).
        self._given = tuple(
            (n, _REQUIRED if compiled.binds[n].required else compiled.binds[n].effective_value)
            for n in self.names
        )
        processors = compiled._bind_processors
        self.binds = tuple(processors.get(n) for n in self.names)
        self._convert = tuple((i, p) for i, p in enumerate(self.binds) if p is not None)
        columns = compiled._result_columns
        self._results = tuple(
            (i, p)
            for i, p in enumerate(c.type._cached_result_processor(dialect, None) for c in columns)
            if p is not None
        )
        self.row = namedtuple("row", [c.keyname for c in columns], rename=True) if columns else None
        self._plans: dict[tuple[str, ...], tuple] = {}
        self._known = frozenset(self.names)

    def params(self, given: dict[str, Any]) -> list:
        """The driver's parameters of one execution, by name (the statement's
        own values where not given), converted."""
        if not given.keys() <= self._known:
            raise TypeError(
                f"no parameter(s) {sorted(given.keys() - self._known)} in the statement"
            )
        values = [given.get(n, own) for n, own in self._given]
        if _REQUIRED in values:
            missing = [n for n, v in zip(self.names, values, strict=True) if v is _REQUIRED]
            raise TypeError(f"missing parameter(s) {missing}")
        for i, process in self._convert:
            if values[i] is not None:
                values[i] = process(values[i])
        if self.order is not None:
            return [values[i] for i in self.order]
        return values

    def many(self, names: Sequence[str], rows: list[tuple]) -> list[tuple]:
        """The driver's parameters of an executemany: ``rows`` hold the values
        of ``names`` in that order. Converted by column, with each distinct
        value converted once (a batch's rows share their instants)."""
        names = tuple(names)
        plan = self._plans.get(names)
        if plan is None:
            if sorted(names) != sorted(self.names):
                raise ValueError(f"rows of {names} for the parameters {self.names}")
            at = {n: i for i, n in enumerate(names)}
            order = tuple(at[self.names[i]] for i in (self.order or range(len(self.names))))
            convert = tuple((at[self.names[i]], p) for i, p in self._convert)
            plan = self._plans[names] = (
                None if order == tuple(range(len(names))) else order,
                convert,
            )
        order, convert = plan
        if order is None and not convert:
            return rows
        columns = list(zip(*rows, strict=True))
        for i, process in convert:
            done: dict[Any, Any] = {None: None}
            for v in columns[i]:
                if v not in done:
                    done[v] = process(v)
            columns[i] = tuple(map(done.__getitem__, columns[i]))
        if order is not None:
            columns = [columns[i] for i in order]
        return list(zip(*columns, strict=True))

    def fetch(self, cursor: Any) -> list:
        """The cursor's rows as named tuples, values converted (by column)."""
        make = self.row._make  # type: ignore[union-attr]
        rows = cursor.fetchall()
        if not self._results or not rows:
            return list(map(make, rows))
        columns: list[Sequence[Any]] = list(zip(*rows, strict=True))
        for i, process in self._results:
            columns[i] = [None if v is None else process(v) for v in columns[i]]
        return list(map(make, zip(*columns, strict=True)))


_REQUIRED = object()
_COMPILED: dict[tuple[Any, str], Compiled] = {}
_POSITIONAL: dict[tuple, sa.Dialect] = {}


def compiled(stmt: Any, dialect: sa.Dialect) -> Compiled:
    """``stmt`` compiled for ``dialect``, once."""
    key = (stmt, dialect.name)
    found = _COMPILED.get(key)
    if found is None:
        core = stmt.of(dialect.name) if isinstance(stmt, Upsert) else stmt
        found = _COMPILED[key] = Compiled(core, dialect)
    return found


def _positional(dialect: sa.Dialect) -> sa.Dialect:
    """``dialect`` with positional marks (psycopg takes ``%s`` as well as
    ``%(name)s``): parameters go to the driver as tuples, executemany too."""
    if dialect.positional:
        return dialect
    key = (type(dialect), dialect.server_version_info)
    found = _POSITIONAL.get(key)
    if found is None:
        found = copy.copy(dialect)
        found.paramstyle = "format"
        found.positional = True
        _POSITIONAL[key] = found
    return found


def _wrap(
    exc: Exception, sql: str, params: Any, dialect: sa.Dialect, dbapi_conn: Any, cursor: Any
) -> sa.exc.DBAPIError:
    """The driver's error as SQLAlchemy wraps its own (retries and integrity
    checks see the same exceptions), parameters hidden; whether the
    connection died under it."""
    wrapped = sa.exc.DBAPIError.instance(
        sql,
        params,
        exc,
        dialect.loaded_dbapi.Error,
        hide_parameters=True,
        dialect=dialect,
        connection_invalidated=dialect.is_disconnect(exc, dbapi_conn, cursor),  # type: ignore[arg-type]  # the driver's error, of its DBAPI's Error
    )
    # ``exc`` is always a DBAPI error here (the callers catch only those), so
    # SQLAlchemy wraps it as a DBAPIError, never as a bare StatementError.
    assert isinstance(wrapped, sa.exc.DBAPIError)
    return wrapped


_SANDBOX = sa.select(schema.sandbox).where(schema.sandbox.c.id == 1)
_SANDBOX_LOCKED = _SANDBOX.with_for_update()


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
        # The events of the transaction, written just before its COMMIT (outbox.py).
        self.events: list[outbox.Event] = []

    @property
    def dialect(self) -> str:
        return self.conn.dialect.name

    @property
    def sandbox(self) -> Any:
        if self._sandbox is None:
            (self._sandbox,) = self.rows(_SANDBOX)
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
        it may have read rows of its own that a rollback takes back.

        Rows never change, but a reset of the sandbox gives their ids to other
        things (wallets/services/reset.py): the cache serves this transaction
        only if it was read under the sandbox's generation as this transaction
        sees it (its sandbox row, which every write reads anyway), in whichever
        process the reset ran."""
        generation, cached = self.db.cache_state
        cache = cached.get(kind, {}) if generation == self.generation else {}
        mine = self.read_into_cache.setdefault(kind, {})
        missing = [k for k in keys if k not in cache and k not in mine]
        if missing:
            mine.update(load(self, missing))
        return {k: cache[k] if k in cache else mine[k] for k in keys if k in cache or k in mine}

    def lock_sandbox(self) -> Any:
        """The sandbox's row, locked until the transaction ends (PostgreSQL; a
        SQLite writer holds the one write lock already), as it is now: what a
        write of its settings checks and changes. The transaction's instant
        stays the one it read first."""
        (self._sandbox,) = self.rows(_SANDBOX_LOCKED)
        return self._sandbox

    @property
    def generation(self) -> int:
        """The sandbox's reset generation, as this transaction sees it."""
        return int(self.sandbox.generation)

    def forget_clock(self) -> None:
        self._now = None
        self._sandbox = None

    def forget_reads(self) -> None:
        """Forget what this transaction read of the sandbox and into the cache:
        after a reset in it, those rows are gone (wallets/services/reset.py)."""
        self.forget_clock()
        self.read_into_cache = {}

    # -- Core statements on hot paths (compiled once, run at the driver) ----------

    def rows(self, stmt: Any, **params: Any) -> list:
        """The rows of ``stmt`` (a Core statement, or an :class:`Upsert`) as named
        tuples, values converted as its columns' types convert them."""
        c = compiled(stmt, self.conn.dialect)
        return c.fetch(self._driver(c.sql, c.params(params)))

    def run(self, stmt: Any, **params: Any) -> int:
        """Run ``stmt``, which returns no rows; the number of rows it changed."""
        c = compiled(stmt, self.conn.dialect)
        return self._driver(c.sql, c.params(params)).rowcount

    def run_many(self, stmt: Any, names: Sequence[str], rows: list[tuple]) -> None:
        """executemany of ``stmt``: each row holds the values of its parameters
        ``names``, in that order."""
        if rows:
            c = compiled(stmt, self.conn.dialect)
            self._driver(c.sql, c.many(names, rows), many=True)

    def _driver(self, sql: str, params: Any, many: bool = False) -> Any:
        """Run ``sql`` on this transaction's DBAPI cursor, the driver's errors
        wrapped as SQLAlchemy wraps them; a dead connection is invalidated, as
        SQLAlchemy does for its own statements."""
        cursor = self._cursor
        if cursor is None:
            dbapi = self.conn.connection.dbapi_connection
            assert dbapi is not None, "a connection inside a transaction is checked out"
            cursor = self._cursor = dbapi.cursor()
        dialect = self.conn.dialect
        try:
            if many:
                cursor.executemany(sql, params)
            else:
                cursor.execute(sql, params)
        except dialect.loaded_dbapi.Error as exc:
            wrapped = _wrap(
                exc, sql, params, dialect, self.conn.connection.dbapi_connection, cursor
            )
            if wrapped.connection_invalidated:
                # The pool must not hand this connection out again.
                self._cursor = None
                self.conn.invalidate(wrapped)
            raise wrapped from exc
        return cursor


class WriterQueue:
    """The writers of one SQLite database file, in line.

    SQLite has one writer at a time. A writer whose ``BEGIN IMMEDIATE`` finds
    the lock taken sleeps in SQLite's busy handler — 1, 2, 5, 10 ms and on —
    and tries again, long after the lock was freed: with two server processes
    the writers spend more time asleep than writing. Here they queue instead:
    on a thread lock within the process (each waiter wakes as soon as the one
    before it is done) and an ``flock`` on a file beside the database across
    processes (gunicorn's workers; a waiter looks again every millisecond at
    most). One queue per file and process (:func:`writer_queue`). A write
    inside a write of the same thread passes through (SQLite's lock then
    decides, as before). Nobody waits past SQLite's own busy timeout: then
    ``busy``. SQLite's lock still guarantees one writer; a writer that does
    not queue here (a migration) only waits as before."""

    def __init__(self, database_path: str) -> None:
        self.path = f"{database_path}-writers.lock"
        self._reset()

    def _reset(self) -> None:
        self._lock = threading.Lock()
        self._mine = threading.local()
        self._fd: int | None = None

    @contextlib.contextmanager
    def turn(self) -> Iterator[None]:
        if getattr(self._mine, "depth", 0):
            self._mine.depth += 1
            try:
                yield
            finally:
                self._mine.depth -= 1
            return
        if not self._lock.acquire(timeout=WRITER_WAIT_SECONDS):
            raise errors.DomainError(errors.BUSY)
        try:
            fd = self._file()
            _flock_within(fd, WRITER_WAIT_SECONDS)
            self._mine.depth = 1
            try:
                yield
            finally:
                self._mine.depth = 0
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            self._lock.release()

    def _file(self) -> int:
        if self._fd is None:
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        return self._fd

    def after_fork(self) -> None:
        """In a forked child: a fresh lock (the parent's may have been held by
        another thread at the fork) and a descriptor of its own (an inherited
        one shares its flock with the parent's)."""
        if self._fd is not None:
            os.close(self._fd)
        self._reset()


# How long a writer waits for its turn: SQLite's own busy timeout (SQLITE_PRAGMAS).
WRITER_WAIT_SECONDS = 60
_QUEUES: dict[str, WriterQueue] = {}
_QUEUES_LOCK = threading.Lock()


def writer_queue(database_path: str) -> WriterQueue:
    """The one queue of a database file in this process."""
    path = os.path.realpath(database_path)
    with _QUEUES_LOCK:
        found = _QUEUES.get(path)
        if found is None:
            found = _QUEUES[path] = WriterQueue(path)
        return found


def _after_fork_in_child() -> None:
    global _QUEUES_LOCK
    _QUEUES_LOCK = threading.Lock()
    for queue in _QUEUES.values():
        queue.after_fork()


if fcntl is not None:
    os.register_at_fork(after_in_child=_after_fork_in_child)


def _flock_within(fd: int, seconds: float) -> None:
    """``flock(LOCK_EX)``, or ``busy`` after ``seconds``."""
    deadline = time.monotonic() + seconds
    delay = 0.0001
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() > deadline:
                raise errors.DomainError(errors.BUSY) from None
            time.sleep(delay)
            delay = min(delay * 2, 0.001)


class Database:
    def __init__(self, url: str, **engine_kwargs: Any) -> None:
        self.url = url
        self.engine = make_engine(url, **engine_kwargs)
        database = self.engine.url.database
        self._writers: WriterQueue | None = (
            writer_queue(database)
            if self.is_sqlite and database and database != ":memory:" and fcntl is not None
            else None
        )
        # Rows that never change once written (operators' codes and accounts),
        # by kind then key, as committed transactions read them (Tx.cached),
        # with the sandbox's reset generation they were read under: one tuple,
        # replaced whole when the generation changes (threads share it).
        self.cache_state: tuple[int, dict[str, dict[Any, Any]]] = (-1, {})

    @property
    def cache(self) -> dict[str, dict[Any, Any]]:
        """The cached rows of the generation last seen (:meth:`Tx.cached`)."""
        return self.cache_state[1]

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
                with self._turn(), self.engine.connect() as conn:
                    conn = conn.execution_options(sqlite_begin="IMMEDIATE")
                    tx = Tx(conn, self)
                    with conn.begin():
                        result = fn(tx, *args, **kwargs)
                        outbox.flush(tx)
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

    def _turn(self) -> contextlib.AbstractContextManager[None]:
        return self._writers.turn() if self._writers is not None else contextlib.nullcontext()

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
        repeat), then answers busy. A read chosen as a deadlock's victim (one
        that waits for a table a reset of the sandbox has locked while holding
        another the reset wants: wallets/services/reset.py) runs again, as a
        write would, up to MAX_ATTEMPTS; then busy."""
        dead = 0
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                return run()
            except sa.exc.DBAPIError as exc:
                if is_retryable(exc) and not self.is_sqlite:
                    if attempt == MAX_ATTEMPTS:
                        raise errors.DomainError(errors.BUSY) from None
                    time.sleep(min(0.5, 0.002 * 2**attempt) * random.random())
                    continue
                if not (is_disconnect(exc) or _cannot_connect(exc)):
                    raise
                dead += 1
                if dead == 2:
                    raise _unavailable() from None
                log.warning("database connection lost; the read runs again on a new one")
        raise errors.DomainError(errors.BUSY)

    def _remember(self, tx: Tx) -> None:
        """Keep what a committed transaction read into the cache: into the
        cache of its generation; a newer generation replaces the cache, an
        older one (a snapshot from before a reset) adds nothing."""
        reads = {kind: rows for kind, rows in tx.read_into_cache.items() if rows}
        if not reads:
            return
        generation = tx.generation
        current, cache = self.cache_state
        if generation < current:
            return
        if generation > current:
            self.cache_state = (generation, reads)
            return
        for kind, rows in reads.items():
            cache.setdefault(kind, {}).update(rows)

    def peek(self, stmt: Any, **params: Any) -> list:
        """The rows of one read-only Core statement (as :meth:`Tx.rows`), run on
        a pooled driver connection without a transaction of its own: one
        statement reads one consistent state anyway. For the reads every
        request makes first (its API key)."""
        return self._read_retrying(lambda: self._peek(stmt, params))

    def _peek(self, stmt: Any, params: dict[str, Any]) -> list:
        dialect = self.engine.dialect
        dbapi_error = dialect.loaded_dbapi.Error
        try:
            conn = self.engine.raw_connection()
        except dbapi_error as exc:  # the pool hands the driver's error on unwrapped
            raise sa.exc.DBAPIError.instance(
                None, None, exc, dbapi_error, hide_parameters=True, dialect=dialect
            ) from exc
        try:
            c = compiled(stmt, dialect)
            values = c.params(params)
            cursor = conn.cursor()
            try:
                cursor.execute(c.sql, values)
                return c.fetch(cursor)
            except dbapi_error as exc:
                wrapped = _wrap(exc, c.sql, values, dialect, conn.dbapi_connection, cursor)
                if wrapped.connection_invalidated:
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
