"""Accounts: what a posting locks and moves money between. An account holds
one asset; its balance is ``credits - debits`` (what a holder owns is
positive). Accounts are locked in id order, the one lock order everybody uses,
so that concurrent postings never deadlock on them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import sqlalchemy as sa

from ..core.db import Tx, any_of
from ..core.schema import accounts, operators

ECNY = "ECNY"
RESERVE = "RESERVE"
CHIP_PREFIX = "CHIP:"
# The kinds of account that may go below zero, the contra and source accounts
# (docs/ledger.md): the central bank's issuance and reserve funding, each
# operator's tier-2 settlement contra, each casino's chip issuance. Every other
# kind is created with ``may_go_negative`` false.
NEGATIVE_KINDS = frozenset({"cb_issuance", "cb_reserve_funding", "settlement", "chip_issuance"})
# The tier-2 accounts whose e-CNY makes up what is outstanding (invariant 3):
# vaults, wallets, hold escrows, red-envelope escrows and offline accounts.
HOLDING_KINDS = ("vault", "wallet", "holds", "envelopes", "offline", "offline_pending")


def chip_asset(casino_ref: str) -> str:
    """Each casino's chips are an asset of their own (SPEC.md §3)."""
    return f"{CHIP_PREFIX}{casino_ref}"


@dataclass
class Account:
    id: int
    code: str
    kind: str
    asset: str
    operator_id: int | None
    may_go_negative: bool
    debits_posted: int
    credits_posted: int
    dirty: bool = False

    @property
    def available(self) -> int:
        return self.credits_posted - self.debits_posted


# Compiled once, run at the driver (Tx.rows, Tx.run_many): a batch locks
# thousands of accounts. SQLite compiles FOR UPDATE away (its writers hold the
# database from BEGIN IMMEDIATE).
_LOCK_ACCOUNTS = (
    sa.select(
        accounts.c.id,
        accounts.c.code,
        accounts.c.kind,
        accounts.c.asset,
        accounts.c.operator_id,
        accounts.c.may_go_negative,
        accounts.c.debits_posted,
        accounts.c.credits_posted,
    )
    .where(any_of(accounts.c.id, "ids"))
    .order_by(accounts.c.id)
    .with_for_update()
)


def lock_accounts(tx: Tx, ids: Iterable[int]) -> dict[int, Account]:
    """Load and lock accounts in id order (the one lock order everybody uses)."""
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    return {
        acc_id: Account(acc_id, code, kind, asset, operator_id, bool(negative), debits, credits)
        for acc_id, code, kind, asset, operator_id, negative, debits, credits in tx.rows(
            _LOCK_ACCOUNTS, ids=wanted
        )
    }


def account_id_by_code(tx: Tx, code: str) -> int:
    return tx.conn.execute(sa.select(accounts.c.id).where(accounts.c.code == code)).scalar_one()


def operator_codes(tx: Tx, operator_ids: Iterable[int]) -> dict[int, str]:
    """The codes of some operators (a code never changes: cached)."""
    return tx.cached("operator_codes", sorted(set(operator_ids)), _load_codes)


def _load_codes(tx: Tx, operator_ids: list[int]) -> dict[int, str]:
    return dict(tx.rows(_CODES, ids=operator_ids))


_CODES = sa.select(operators.c.id, operators.c.code).where(any_of(operators.c.id, "ids"))
