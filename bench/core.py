"""Core posting on a SQLite file: the batch core (payments.post_payments in
batches through Database.write, every check on) and one transfer per
transaction, each against plain sqlite3 writing the same rows."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import sqlalchemy as sa

from wallets.core.db import SQLITE_PRAGMAS, Database
from wallets.core.principal import SYSTEM
from wallets.core.schema import ledger_head
from wallets.ledger.accounts import ECNY
from wallets.ledger.journal import PostedTransfer, entry_hash
from wallets.retail import payments

from .common import Result, Timer, log, ratio_target, scaled
from .world import CLOCK, World, build, copy_sqlite, payments_between, sqlite_path

BATCH = 1000


def _rows(world: World, url: str, reqs: list[payments.PaymentRequest]):
    """The rows the ledger writes for ``reqs``: transfers, journal entries (with
    their hash chain) and the balance changes, continuing the database's head."""
    db = Database(url)
    try:
        head = db.read(lambda tx: tx.conn.execute(sa.select(ledger_head)).one())
    finally:
        db.dispose()
    by_id = {w.id: w for w in world.wallets}
    posted_at = CLOCK.replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
    seq, prev, tid = head.last_seq, head.last_hash, head.last_transfer_id
    codes = {}
    per_transfer = []
    for r in reqs:
        a, b = by_id[r.from_wallet_id], by_id[r.to_wallet_id]
        legs = payments.wallet_to_wallet_legs(
            a.account_id, a.operator_id, b.account_id, b.operator_id, r.amount, world.op_accounts
        )
        tid += 1
        transfer = (
            tid,
            "payment",
            ECNY,
            r.amount,
            a.id,
            b.id,
            a.operator_id,
            b.operator_id,
            posted_at,
        )
        entries, balances = [], []
        for leg in legs:
            seq += 1
            h = entry_hash(
                seq,
                tid,
                codes.setdefault(leg.debit, f"A{leg.debit}"),
                codes.setdefault(leg.credit, f"A{leg.credit}"),
                ECNY,
                leg.amount,
                CLOCK,
                prev,
            )
            entries.append((seq, tid, leg.debit, leg.credit, ECNY, leg.amount, posted_at, prev, h))
            balances.append(("debits_posted", leg.amount, leg.debit))
            balances.append(("credits_posted", leg.amount, leg.credit))
            prev = h
        per_transfer.append((transfer, entries, balances))
    return per_transfer


INSERT_TRANSFER = (
    "INSERT INTO transfers (id, kind, asset, amount, from_wallet_id, to_wallet_id,"
    " from_operator_id, to_operator_id, posted_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
INSERT_ENTRY = (
    "INSERT INTO journal_entries (seq, transfer_id, debit_account_id, credit_account_id,"
    " asset, amount, posted_at, prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
UPDATE_DEBITS = "UPDATE accounts SET debits_posted = debits_posted + ? WHERE id = ?"
UPDATE_CREDITS = "UPDATE accounts SET credits_posted = credits_posted + ? WHERE id = ?"
UPDATE_HEAD = (
    "UPDATE ledger_head SET last_seq = ?, last_hash = ?, last_transfer_id = ? WHERE id = 1"
)


def _connect(url: str) -> sqlite3.Connection:
    conn = sqlite3.connect(sqlite_path(url), isolation_level=None, timeout=60)
    # The sandbox's own connection settings: the yardstick differs only in the code.
    for pragma in SQLITE_PRAGMAS:
        conn.execute(f"PRAGMA {pragma}")
    return conn


def _execute_all(conn: sqlite3.Connection, per_transfer) -> None:
    transfers = [t for t, _, _ in per_transfer]
    entries = [e for _, es, _ in per_transfer for e in es]
    debits = [
        (amount, acc) for _, _, bs in per_transfer for col, amount, acc in bs if col[0] == "d"
    ]
    credits = [
        (amount, acc) for _, _, bs in per_transfer for col, amount, acc in bs if col[0] == "c"
    ]
    conn.executemany(INSERT_TRANSFER, transfers)
    conn.executemany(INSERT_ENTRY, entries)
    conn.executemany(UPDATE_DEBITS, debits)
    conn.executemany(UPDATE_CREDITS, credits)
    last = entries[-1]
    conn.execute(UPDATE_HEAD, (last[0], last[8], last[1]))


def yardstick_batch(world: World, url: str, reqs) -> float:
    """Transfers/s of plain sqlite3: executemany of the same rows in one transaction."""
    per_transfer = _rows(world, url, reqs)
    conn = _connect(url)
    try:
        with Timer() as t:
            conn.execute("BEGIN IMMEDIATE")
            _execute_all(conn, per_transfer)
            conn.execute("COMMIT")
    finally:
        conn.close()
    return len(reqs) / t.elapsed


def yardstick_single(world: World, url: str, reqs) -> float:
    """Transfers/s of plain sqlite3, one transaction (and commit) per transfer."""
    per_transfer = _rows(world, url, reqs)
    conn = _connect(url)
    try:
        with Timer() as t:
            for item in per_transfer:
                conn.execute("BEGIN IMMEDIATE")
                _execute_all(conn, [item])
                conn.execute("COMMIT")
    finally:
        conn.close()
    return len(reqs) / t.elapsed


def ours_batch(url: str, reqs, batch: int = BATCH) -> tuple[float, int]:
    db = Database(url)
    posted = 0
    try:
        with Timer() as t:
            for start in range(0, len(reqs), batch):
                results = db.write(payments.post_payments, reqs[start : start + batch], SYSTEM)
                posted += sum(isinstance(r, PostedTransfer) for r in results)
    finally:
        db.dispose()
    return posted / t.elapsed, posted


def ours_single(url: str, reqs) -> tuple[float, int]:
    db = Database(url)
    posted = 0
    try:
        with Timer() as t:
            for req in reqs:
                try:
                    db.write(payments.pay, req, SYSTEM)
                    posted += 1
                except Exception as exc:  # noqa: BLE001 - a refusal is counted, not fatal
                    if not hasattr(exc, "code"):
                        raise
    finally:
        db.dispose()
    return posted / t.elapsed, posted


def run(workdir: Path) -> list[Result]:
    wallets, n_batch, n_single = scaled(10_000, 100), scaled(200_000, 2000), scaled(3000, 300)
    log(f"core: building {wallets} wallets")
    world = build(f"sqlite:///{workdir / 'core.sqlite3'}", wallets)
    ours_url = world.url
    yard_url = copy_sqlite(world.url, workdir / "core-yardstick.sqlite3")
    reqs = payments_between(world, n_batch)
    log(f"core: {n_batch} payments in batches of {BATCH} (post_payments)")
    rate, posted = ours_batch(ours_url, reqs)
    log(f"core: batch {rate:,.0f}/s; yardstick (executemany, one transaction)")
    yard = yardstick_batch(world, yard_url, reqs)
    batch = ratio_target(
        Result(
            "core_batch_sqlite",
            rate,
            "transfers/s",
            yard,
            "sqlite3 executemany of the same rows, one transaction",
            notes=f"{n_batch} payments between {wallets} wallets of 3 operators, "
            f"batches of {BATCH}; {posted} posted",
            extra={"payments": n_batch, "wallets": wallets, "posted": posted},
        ),
        0.40,
    )
    singles = payments_between(world, n_single, seed=9)
    log(f"core: {n_single} payments, one transaction each (payments.pay)")
    rate1, posted1 = ours_single(ours_url, singles)
    log(f"core: single {rate1:,.0f}/s; yardstick (one commit per transfer)")
    yard1 = yardstick_single(world, yard_url, singles)
    single = ratio_target(
        Result(
            "core_single_sqlite",
            rate1,
            "transfers/s",
            yard1,
            "sqlite3, the same rows, one commit per transfer",
            notes=f"{n_single} payments, each its own Database.write; {posted1} posted",
            extra={"payments": n_single, "posted": posted1},
        ),
        0.30,
    )
    return [batch, single]
