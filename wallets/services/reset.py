"""The sandbox reset (SPEC.md §10: the admin's "sandbox: clock, reset, keys"):
back to a freshly migrated database (template ``empty``) or to a fresh
``ecny seed demo`` (template ``demo``), in one transaction, keeping what
belongs to the testers rather than to the world (docs/api.md, "Resetting the
sandbox").

What is kept is named here (:data:`KEPT`); every other table of the schema
(wallets/core/schema.py) is wiped, in foreign-key order, so that a new table
is wiped unless it is named. The rows the migrations themselves insert are
then written again (:func:`_restore_migration_rows`; a test compares every
table with a freshly migrated database). Kept tables:

- ``api_keys``: keys of the roles not scoped to world objects (admin,
  central bank, auditor) stay valid; keys of operators and casinos are
  revoked (their objects are gone) and lose their operator (the audit log
  keeps its code);
- ``audit_events``: append-only, its history stays and records the reset;
- ``webhook_endpoints``: the endpoints of unscoped keys stay, their cursor
  back to the feed's start, so that they are sent the ``sandbox.reset``
  event; those scoped to an operator or a casino go with them;
- ``idempotency_keys``: only this request's own claim (its Idempotency-Key
  is honoured: a retry replays the reset's answer);
- ``sandbox``: the one row stays, every setting back to its default (clock,
  rule profile, settlement), its :data:`generation` one up.

Id sequences restart (PostgreSQL: TRUNCATE ... RESTART IDENTITY, and setval
past what stays; SQLite gives max(rowid) + 1 anyway), so that a replay after
a reset gives the same ids and digest as on a fresh database.

Concurrency: on PostgreSQL the reset first locks every table (ACCESS
EXCLUSIVE): a write that touched any of them commits before the reset can
start (and is wiped), a write that reaches a table after that waits for the
reset's COMMIT and reads the new world from its first statement on. A
deadlock between them is retried like any other (wallets/core/db.py). On
SQLite writers run one at a time anyway.

Per-process caches of immutable rows (``Database.cache``) are keyed by the
sandbox's generation (``Tx.cached``), which the reset raises: every process
drops its cache at its next transaction.

Made for today's one sandbox per server; issue 17's sandboxes of their own
will reset one tenant's rows with the same plan, narrowed by tenant.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from ..access import keys
from ..core import errors, outbox, schema
from ..core.config import Settings
from ..core.db import Tx
from ..core.principal import ADMIN, AUDITOR, CENTRAL_BANK
from ..ledger.journal import GENESIS_HASH
from ..seed import seed_demo_in

EMPTY, DEMO = "empty", "demo"
TEMPLATES = (EMPTY, DEMO)

# The roles whose keys are not scoped to an object of the world: they survive a reset.
UNSCOPED_ROLES = (ADMIN, CENTRAL_BANK, AUDITOR)

# Tables whose rows (some of them) survive a reset; every other table is wiped.
KEPT = ("sandbox", "api_keys", "audit_events", "webhook_endpoints", "idempotency_keys")

# Tables whose rows every migrated database has from the migrations themselves.
SEEDED_BY_MIGRATIONS = ("sandbox", "ledger_head", "event_head", "accounts")

# The sandbox row's columns a reset does not set back to their defaults.
SANDBOX_KEPT_COLUMNS = ("id", "generation")


@dataclass(frozen=True)
class Plan:
    """What a reset does to each table, derived from the schema."""

    # Wiped, children before their parents.
    wiped: tuple[sa.Table, ...]
    kept: tuple[sa.Table, ...]
    # (kept table, column) referring to a wiped table: set to NULL.
    dangling: tuple[tuple[sa.Table, sa.Column], ...] = field(default=())


def plan(metadata: sa.MetaData = schema.metadata) -> Plan:
    """The plan of a reset over ``metadata``'s tables. Refuses a kept table
    that refers to a wiped one through a column that cannot be NULL (its
    rows could not stay)."""
    missing = set(KEPT) - set(metadata.tables)
    if missing:
        raise ValueError(f"kept tables not in the schema: {sorted(missing)}")
    ordered = metadata.sorted_tables  # parents before children
    wiped = tuple(t for t in reversed(ordered) if t.name not in KEPT)
    kept = tuple(t for t in ordered if t.name in KEPT)
    wiped_names = {t.name for t in wiped}
    dangling = []
    for table in kept:
        for fk in sorted(table.foreign_keys, key=lambda f: f.parent.name):
            if fk.column.table.name in wiped_names:
                if not fk.parent.nullable:
                    raise ValueError(
                        f"{table.name}.{fk.parent.name} refers to the wiped table"
                        f" {fk.column.table.name} and cannot be NULL: its rows cannot stay"
                    )
                dangling.append((table, fk.parent))
    return Plan(wiped=wiped, kept=kept, dangling=tuple(dangling))


@dataclass(frozen=True)
class ResetResult:
    template: str
    generation: int
    # The keys the template made (demo: its operators' and casino's, and an
    # admin, central bank or auditor key only where none was left), shown once.
    keys: list[keys.NewKey]
    revoked_keys: int


def reset(tx: Tx, template: str, settings: Settings) -> ResetResult:
    """Reset the sandbox in ``tx`` (module docstring)."""
    if template not in TEMPLATES:
        raise errors.DomainError(
            errors.VALIDATION_FAILED,
            f"template: one of {', '.join(TEMPLATES)}",
            errors={"template": [f"one of {', '.join(TEMPLATES)}"]},
        )
    the_plan = plan()
    if tx.dialect == "postgresql":
        names = ", ".join(t.name for t in schema.metadata.sorted_tables)
        tx.conn.exec_driver_sql(f"LOCK TABLE {names} IN ACCESS EXCLUSIVE MODE")
    generation = tx.generation + 1
    now = tx.now()
    revoked = _keep_testers_rows(tx, the_plan, now)
    _wipe(tx, the_plan)
    _restart_ids(tx, the_plan)
    _restore_migration_rows(tx, generation)
    # What this transaction would have written of the old world (events of
    # holds the clock released before the work) went with it.
    tx.events.clear()
    outbox.emit(
        tx,
        outbox.Event(
            "sandbox.reset",
            {"template": template, "generation": generation, "at": tx.now()},
        ),
    )
    new_keys: list[keys.NewKey] = []
    if template == DEMO:
        new_keys = seed_demo_in(tx, settings, unscoped_roles=_roles_without_key(tx)).keys
    return ResetResult(template, generation, new_keys, revoked)


def _keep_testers_rows(tx: Tx, the_plan: Plan, now: Any) -> int:
    """The testers' rows before the wipe: scoped keys revoked, scoped webhook
    endpoints and their deliveries gone, references to the wiped world set
    to NULL. The number of keys revoked."""
    keys_t, endpoints = schema.api_keys, schema.webhook_endpoints
    scoped = keys_t.c.role.notin_(UNSCOPED_ROLES)
    revoked = tx.conn.execute(
        keys_t.update().where(scoped, keys_t.c.revoked_at.is_(None)).values(revoked_at=now)
    ).rowcount
    gone = sa.select(endpoints.c.id).where(endpoints.c.role.notin_(UNSCOPED_ROLES))
    tx.conn.execute(
        schema.webhook_deliveries.delete().where(schema.webhook_deliveries.c.endpoint_id.in_(gone))
    )
    tx.conn.execute(endpoints.delete().where(endpoints.c.role.notin_(UNSCOPED_ROLES)))
    # The feed restarts: the endpoints that stay start again from its beginning.
    tx.conn.execute(endpoints.update().values(cursor=0, lease_until=None))
    for table, column in the_plan.dangling:
        tx.conn.execute(table.update().where(column.is_not(None)).values({column.name: None}))
    # Claims other than this request's own (in flight: claims commit with their work).
    idem = schema.idempotency_keys
    tx.conn.execute(idem.delete().where(idem.c.state != "in_flight"))
    return int(revoked)


def _wipe(tx: Tx, the_plan: Plan) -> None:
    if tx.dialect == "postgresql":
        # TRUNCATE skips the append-only tables' row triggers, restarts their
        # ids; a table a kept one refers to cannot be truncated (its
        # references are NULL by now): deleted, children first.
        kept_names = {t.name for t in the_plan.kept}
        referred = {
            fk.column.table.name for t in the_plan.kept for fk in t.foreign_keys
        } - kept_names
        truncated = [t.name for t in the_plan.wiped if t.name not in referred]
        tx.conn.exec_driver_sql(f"TRUNCATE {', '.join(truncated)} RESTART IDENTITY")
        for table in the_plan.wiped:
            if table.name in referred:
                tx.conn.execute(table.delete())
        return
    # SQLite: the append-only tables' triggers refuse a DELETE: dropped for
    # it and made again as they were, in this same transaction.
    for table in the_plan.wiped:
        triggers = tx.conn.execute(
            sa.text("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = :t"),
            {"t": table.name},
        ).all()
        for name, _ in triggers:
            tx.conn.exec_driver_sql(f'DROP TRIGGER "{name}"')
        tx.conn.execute(table.delete())
        for _, sql in triggers:
            tx.conn.exec_driver_sql(sql)


def _restart_ids(tx: Tx, the_plan: Plan) -> None:
    """Ids start again after what stays (1 for a wiped table)."""
    if tx.dialect == "postgresql":
        for table in (*the_plan.wiped, *the_plan.kept):
            pk = list(table.primary_key.columns)
            if len(pk) != 1:
                continue
            column = pk[0].name
            tx.conn.execute(
                sa.text(
                    "SELECT setval(pg_get_serial_sequence(:t, :c),"
                    f" COALESCE((SELECT MAX({column}) FROM {table.name}), 0) + 1, false)"
                ),
                {"t": table.name, "c": column},
            )
        return
    # SQLite reuses max(rowid) + 1 unless a table is AUTOINCREMENT (none is
    # today): then its counter is in sqlite_sequence.
    has_sequence = tx.conn.execute(
        sa.text("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sqlite_sequence'")
    ).first()
    if has_sequence:
        for table in the_plan.wiped:
            tx.conn.execute(
                sa.text("DELETE FROM sqlite_sequence WHERE name = :t"), {"t": table.name}
            )


# The accounts the migrations create, in their order (0001's _seed_rows, then 0005).
MIGRATION_ACCOUNTS = (
    # code, asset, kind, may go negative
    ("CB:ISSUANCE", "ECNY", "cb_issuance", True),
    ("CB:RESERVE:FUNDING", "RESERVE", "cb_reserve_funding", True),
    ("CB:RESERVE:HELD", "RESERVE", "cb_reserve_held", False),
    ("CB:SETTLEMENT", "ECNY", "cb_settlement", False),
)


def _restore_migration_rows(tx: Tx, generation: int) -> None:
    """The rows of a freshly migrated database (wallets/migrations/versions):
    the sandbox's settings at their defaults, the journal's and the event
    feed's heads at their start, the central bank's accounts."""
    tx.conn.execute(
        schema.sandbox.update()
        .where(schema.sandbox.c.id == 1)
        .values(generation=generation, **_sandbox_defaults())
    )
    # What this transaction read of the sandbox (its clock) and into the
    # cache belonged to the world just wiped.
    tx.forget_reads()
    tx.conn.execute(
        schema.ledger_head.insert().values(
            id=1, last_seq=0, last_hash=GENESIS_HASH, last_transfer_id=0
        )
    )
    tx.conn.execute(schema.event_head.insert().values(id=1, last_id=0))
    at = tx.now()  # the clock at its default: wall time, as a migration's
    tx.conn.execute(
        schema.accounts.insert(),
        [
            {"code": code, "asset": asset, "kind": kind, "may_go_negative": neg, "created_at": at}
            for code, asset, kind, neg in MIGRATION_ACCOUNTS
        ],
    )


def _sandbox_defaults() -> dict[str, Any]:
    """Every setting of the sandbox row at its column's default (NULL without one)."""
    values: dict[str, Any] = {}
    for column in schema.sandbox.columns:
        if column.name in SANDBOX_KEPT_COLUMNS:
            continue
        default = column.server_default
        if default is None:
            values[column.name] = None
            continue
        text = str(default.arg)  # type: ignore[attr-defined]
        values[column.name] = int(text) if column.type.python_type is int else text
    return values


def _roles_without_key(tx: Tx) -> tuple[str, ...]:
    """The unscoped roles with no valid key left (the demo makes one of each of those)."""
    k = schema.api_keys
    have = set(
        tx.conn.execute(
            sa.select(k.c.role).where(k.c.revoked_at.is_(None), k.c.role.in_(UNSCOPED_ROLES))
        ).scalars()
    )
    return tuple(r for r in UNSCOPED_ROLES if r not in have)
