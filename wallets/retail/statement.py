"""Wallet statements: opening balance, the entries of a period, closing balance.

Entries are the journal entries on the wallet's account, so a statement is
the ledger's own record. Funds put on hold leave the wallet's account for its
operator's escrow (an entry of kind `hold`) and come back on a void or an
expiry, so the entries add up from `opening.available` to `closing.available`;
`held` and `balance` (= available + held) at each end complete the picture.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from ..core.db import Tx
from ..core.principal import Principal
from ..core.schema import accounts, holds, journal_entries, transfers
from . import wallet as wl

MAX_ENTRIES = 1000


@dataclass(frozen=True)
class StatementEntry:
    seq: int
    transfer_id: int
    kind: str
    posted_at: datetime
    amount: int  # signed: credits positive, debits negative
    counterparty_account: str
    reference: str | None
    hold_id: int | None
    balance_after: int  # available, after this entry


@dataclass(frozen=True)
class Position:
    available: int
    held: int

    @property
    def balance(self) -> int:
        return self.available + self.held


@dataclass(frozen=True)
class Statement:
    wallet: wl.Wallet
    start: datetime | None
    end: datetime | None
    opening: Position
    closing: Position
    entries: list[StatementEntry]
    next_after: int | None


def _available_before(tx: Tx, account_id: int, when: datetime | None) -> int:
    if when is None:
        return 0
    je = journal_entries
    signed = sa.case((je.c.credit_account_id == account_id, je.c.amount), else_=-je.c.amount)
    return int(
        tx.conn.execute(
            sa.select(sa.func.coalesce(sa.func.sum(signed), 0)).where(
                sa.or_(je.c.debit_account_id == account_id, je.c.credit_account_id == account_id),
                je.c.posted_at < when,
            )
        ).scalar_one()
    )


def held_at(tx: Tx, wallet_id: int, when: datetime | None) -> int:
    """The wallet's holds open just before `when` (a period's exclusive end):
    made before it, not resolved before it. None: the holds open now."""
    h = holds
    if when is None:
        return int(
            tx.conn.execute(
                sa.select(sa.func.coalesce(sa.func.sum(h.c.amount), 0)).where(
                    h.c.wallet_id == wallet_id, h.c.status == "pending"
                )
            ).scalar_one()
        )
    return int(
        tx.conn.execute(
            sa.select(sa.func.coalesce(sa.func.sum(h.c.amount), 0)).where(
                h.c.wallet_id == wallet_id,
                h.c.created_at < when,
                sa.or_(h.c.resolved_at.is_(None), h.c.resolved_at >= when),
            )
        ).scalar_one()
    )


def statement(
    tx: Tx,
    wallet_id: int,
    actor: Principal,
    start: datetime | None,
    end: datetime | None,
    after: int | None = None,
    limit: int = MAX_ENTRIES,
) -> Statement:
    """Entries posted at or after `start` and before `end` (no bound when None)."""
    w = wl.get(tx, wallet_id, actor)
    acc = w.account_id
    je = journal_entries
    other = accounts.alias("other")
    is_credit = je.c.credit_account_id == acc
    in_period = [sa.or_(je.c.debit_account_id == acc, je.c.credit_account_id == acc)]
    if end is not None:
        in_period.append(je.c.posted_at < end)
    if start is not None:
        in_period.append(je.c.posted_at >= start)
    opening_available = _available_before(tx, acc, start)
    running = opening_available
    if after is not None:
        signed = sa.case((is_credit, je.c.amount), else_=-je.c.amount)
        running += int(
            tx.conn.execute(
                sa.select(sa.func.coalesce(sa.func.sum(signed), 0)).where(
                    *in_period, je.c.seq <= after
                )
            ).scalar_one()
        )
    stmt = (
        sa.select(
            je.c.seq,
            je.c.transfer_id,
            je.c.amount,
            je.c.posted_at,
            is_credit.label("is_credit"),
            other.c.code.label("counterparty"),
            transfers.c.kind,
            transfers.c.reference,
            transfers.c.hold_id,
        )
        .join(transfers, transfers.c.id == je.c.transfer_id)
        .join(
            other,
            other.c.id == sa.case((is_credit, je.c.debit_account_id), else_=je.c.credit_account_id),
        )
        .where(*in_period)
        .order_by(je.c.seq)
        .limit(limit + 1)
    )
    if after is not None:
        stmt = stmt.where(je.c.seq > after)
    rows = tx.conn.execute(stmt).all()
    more = len(rows) > limit
    entries = []
    for r in rows[:limit]:
        amount = r.amount if r.is_credit else -r.amount
        running += amount
        entries.append(
            StatementEntry(
                r.seq,
                r.transfer_id,
                r.kind,
                r.posted_at,
                amount,
                r.counterparty,
                r.reference,
                r.hold_id,
                running,
            )
        )
    closing = (
        Position(_available_before(tx, acc, end), held_at(tx, w.id, end))
        if end is not None
        else Position(w.available, w.held)
    )
    return Statement(
        wallet=w,
        start=start,
        end=end,
        opening=Position(opening_available, held_at(tx, w.id, start) if start is not None else 0),
        closing=closing,
        entries=entries,
        next_after=entries[-1].seq if more else None,
    )
