"""The central bank's figures over time, from the journal: e-CNY outstanding,
each operator's reserve and e-CNY position at chosen instants.

No table keeps them: the journal is the source of truth, and one grouped
statement (:func:`wallets.ledger.journal.balances_at`) sums its entries into
the balances at each instant, so the history can never disagree with the
ledger and costs nothing to post."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from ..core.db import Tx
from ..core.principal import Principal
from ..ledger.accounts import account_id_by_code
from ..ledger.journal import balances_at
from . import operators as ops
from .issuance import CB_ISSUANCE


@dataclass(frozen=True)
class Tier1History:
    instants: list[datetime]
    outstanding: list[int]
    reserves: dict[str, list[int]]  # operator code -> reserve at each instant
    positions: dict[str, list[int]]  # operator code -> e-CNY position at each instant


def tier1_history(tx: Tx, actor: Principal, instants: Sequence[datetime]) -> Tier1History:
    """Balances at each of ``instants`` (ascending) of the operators ``actor`` sees."""
    operators = ops.list_(tx, actor, None, 1000)
    issuance = account_id_by_code(tx, CB_ISSUANCE)
    ids = [issuance]
    for op in operators:
        ids += [op.accounts["reserve"], op.accounts["position"]]
    balances = balances_at(tx, ids, instants)
    return Tier1History(
        instants=list(instants),
        # The issuance account is debited as e-CNY is issued: outstanding is its debit balance.
        outstanding=[-b for b in balances[issuance]],
        reserves={op.code: balances[op.accounts["reserve"]] for op in operators},
        positions={op.code: balances[op.accounts["position"]] for op in operators},
    )
