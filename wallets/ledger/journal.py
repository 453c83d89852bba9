"""The journal: transfers as posted, each one or more hash-chained entries.
Entries are immutable; an entry's hash covers its fields and the hash of the
entry before it (docs/audit.md gives the encoding, so that auditors can
recompute it)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from hashlib import sha256
from itertools import accumulate

import sqlalchemy as sa

from ..core.db import Tx, period_index
from ..core.schema import accounts, journal_entries, transfers

GENESIS_HASH = "0" * 64
# How posted_at enters an entry's hash (UTC, microseconds); exports print it so.
HASH_TIME_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


@dataclass(frozen=True)
class Entry:
    seq: int
    debit_account_id: int
    credit_account_id: int
    debit_account: str
    credit_account: str
    asset: str
    amount: int
    hash: str


@dataclass
class PostedTransfer:
    id: int
    kind: str
    asset: str
    amount: int
    from_wallet_id: int | None
    to_wallet_id: int | None
    from_operator_id: int | None
    to_operator_id: int | None
    reference: str | None
    posted_at: datetime
    entries: list[Entry] = field(default_factory=list)
    hold_id: int | None = None
    refund_of: int | None = None
    client_id: str | None = None


def entry_hash(
    seq: int,
    transfer_id: int,
    debit_code: str,
    credit_code: str,
    asset: str,
    amount: int,
    posted_at: datetime,
    prev_hash: str,
) -> str:
    """SHA-256 of an entry's canonical encoding, chained to the entry before it.

    The encoding is documented in docs/audit.md so that auditors can recompute it.
    """
    return entry_hash_text(
        seq,
        transfer_id,
        debit_code,
        credit_code,
        asset,
        amount,
        posted_at.strftime(HASH_TIME_FORMAT),
        prev_hash,
    )


def entry_hash_text(
    seq: int,
    transfer_id: int,
    debit_code: str,
    credit_code: str,
    asset: str,
    amount: int,
    posted_at: str,
    prev_hash: str,
) -> str:
    """:func:`entry_hash` with ``posted_at`` already as ``HASH_TIME_FORMAT`` text:
    a batch (or an export's row) formats its one instant once, not per entry."""
    return sha256(
        f"{seq}|{transfer_id}|{debit_code}|{credit_code}|{asset}|{amount}|{posted_at}|{prev_hash}".encode()
    ).hexdigest()


def load_transfer(tx: Tx, transfer_id: int) -> PostedTransfer | None:
    row = tx.conn.execute(sa.select(transfers).where(transfers.c.id == transfer_id)).first()
    if row is None:
        return None
    return _with_entries(tx, [row])[0]


def _with_entries(tx: Tx, rows: Sequence[sa.Row]) -> list[PostedTransfer]:
    if not rows:
        return []
    # The aliases' names are SQL text only (the columns are read by position and
    # label): any other distinct names give the same rows.
    debit = accounts.alias("debit")  # pragma: no mutate
    credit = accounts.alias("credit")  # pragma: no mutate
    je = journal_entries
    entry_rows = tx.conn.execute(
        sa.select(
            je.c.seq,
            je.c.transfer_id,
            je.c.debit_account_id,
            je.c.credit_account_id,
            debit.c.code.label("debit_code"),
            credit.c.code.label("credit_code"),
            je.c.asset,
            je.c.amount,
            je.c.hash,
        )
        .join(debit, debit.c.id == je.c.debit_account_id)
        .join(credit, credit.c.id == je.c.credit_account_id)
        .where(je.c.transfer_id.in_([r.id for r in rows]))
        # Without it SQLite returns the entries in seq order anyway (the mutant
        # survives there); PostgreSQL need not.
        .order_by(je.c.seq)  # pragma: no mutate
    ).all()
    by_transfer: dict[int, list[Entry]] = {}
    for e in entry_rows:
        by_transfer.setdefault(e.transfer_id, []).append(
            Entry(
                e.seq,
                e.debit_account_id,
                e.credit_account_id,
                e.debit_code,
                e.credit_code,
                e.asset,
                e.amount,
                e.hash,
            )
        )
    return [
        PostedTransfer(
            id=r.id,
            kind=r.kind,
            asset=r.asset,
            amount=r.amount,
            from_wallet_id=r.from_wallet_id,
            to_wallet_id=r.to_wallet_id,
            from_operator_id=r.from_operator_id,
            to_operator_id=r.to_operator_id,
            reference=r.reference,
            posted_at=r.posted_at,
            # Equivalent with another default: every transfer has an entry (the one
            # draft without legs, a batch's placeholder, is always refused).
            entries=by_transfer.get(r.id, []),  # pragma: no mutate
            hold_id=r.hold_id,
            refund_of=r.refund_of,
            client_id=r.client_id,
        )
        for r in rows
    ]


def list_transfers_of_hold(tx: Tx, hold_id: int) -> list[PostedTransfer]:
    stmt = sa.select(transfers).where(transfers.c.hold_id == hold_id)
    # Without the ORDER BY, SQLite returns the rows in id order anyway (the mutant
    # survives there); PostgreSQL need not.
    stmt = stmt.order_by(transfers.c.id)  # pragma: no mutate
    return _with_entries(tx, tx.conn.execute(stmt).all())


def list_transfers(
    tx: Tx,
    *,
    wallet_id: int | None = None,
    operator_id: int | None = None,
    after: int | None = None,
    limit: int,
) -> list[PostedTransfer]:
    t = transfers
    # Without the ORDER BY, SQLite returns the rows in id order anyway (the mutant
    # survives there); PostgreSQL need not.
    stmt = sa.select(t).order_by(t.c.id).limit(limit)  # pragma: no mutate
    if wallet_id is not None:
        stmt = stmt.where(sa.or_(t.c.from_wallet_id == wallet_id, t.c.to_wallet_id == wallet_id))
    if operator_id is not None:
        stmt = stmt.where(
            sa.or_(t.c.from_operator_id == operator_id, t.c.to_operator_id == operator_id)
        )
    if after is not None:
        stmt = stmt.where(t.c.id > after)
    return _with_entries(tx, tx.conn.execute(stmt).all())


# ---- history, from the journal ------------------------------------------------------


def balances_at(
    tx: Tx, account_ids: Sequence[int], instants: Sequence[datetime]
) -> dict[int, list[int]]:
    """Each account's balance (credits - debits) at each of ``instants``
    (ascending), summed from the journal in one statement: the entries are
    grouped by period and account, then added up period by period. Nothing
    is stored beside the journal: history is what the journal says."""
    je = journal_entries
    if not account_ids or not instants:
        return {a: [] for a in account_ids}
    period = period_index(je.c.posted_at, instants).label("period")
    ids = list(account_ids)
    sides = [
        sa.select(
            period, je.c.credit_account_id.label("account"), je.c.amount.label("amount")
        ).where(je.c.credit_account_id.in_(ids), je.c.posted_at <= instants[-1]),
        # Unlabelled: a UNION's columns are named by its first SELECT.
        sa.select(period, je.c.debit_account_id, -je.c.amount).where(
            je.c.debit_account_id.in_(ids), je.c.posted_at <= instants[-1]
        ),
    ]
    moves = sa.union_all(*sides).subquery()
    stmt = sa.select(moves.c.period, moves.c.account, sa.func.sum(moves.c.amount)).group_by(
        moves.c.period, moves.c.account
    )
    change = {a: [0] * len(instants) for a in account_ids}
    for i, account, amount in tx.conn.execute(stmt):
        change[account][i] = int(amount)  # one row per period and account
    return {account: list(accumulate(deltas)) for account, deltas in change.items()}


def chain_length_at(tx: Tx, instants: Sequence[datetime]) -> list[int]:
    """How many entries the hash chain held at each of ``instants`` (ascending)."""
    if not instants:
        return []
    je = journal_entries
    # Unlabelled: the rows are read by position (SQLAlchemy names the column anon_1).
    period = period_index(je.c.posted_at, instants)
    stmt = sa.select(period, sa.func.count()).where(je.c.posted_at <= instants[-1]).group_by(period)
    added = [0] * len(instants)
    for i, n in tx.conn.execute(stmt):
        added[i] = n  # one row per period
    return list(accumulate(added))


def first_posted_at(tx: Tx) -> datetime | None:
    """When the journal's first entry was posted (None: an empty journal)."""
    return tx.conn.execute(sa.select(sa.func.min(journal_entries.c.posted_at))).scalar()
