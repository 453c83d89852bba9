"""Which transfers a caller may see: all of them, but for an operator only
those that touch it (a transfer outside its scope does not exist for it)."""

from __future__ import annotations

from ..core import errors
from ..core.db import Tx
from ..core.principal import OPERATOR, Principal
from ..ledger import journal
from ..retail import wallet as wl


def visible(actor: Principal, pt: journal.PostedTransfer) -> bool:
    if actor.role != OPERATOR:
        return True
    return actor.operator_id in (pt.from_operator_id, pt.to_operator_id)


def get_transfer(tx: Tx, actor: Principal, transfer_id: int) -> journal.PostedTransfer:
    """One transfer the caller may see, else ``transfer_not_found``."""
    pt = journal.load_transfer(tx, transfer_id)
    if pt is None or not visible(actor, pt):
        raise errors.DomainError(errors.TRANSFER_NOT_FOUND, f"no transfer {transfer_id}")
    return pt


def list_transfers(
    tx: Tx, actor: Principal, *, wallet_id: int | None, after: int | None, limit: int
) -> list[journal.PostedTransfer]:
    """Transfers in posting order that the caller may see; ``wallet_id`` narrows
    to one wallet's (``wallet_not_found`` outside the caller's scope)."""
    if wallet_id is not None:
        wl.get(tx, wallet_id, actor)
    return journal.list_transfers(
        tx,
        wallet_id=wallet_id,
        operator_id=actor.operator_id if actor.role == OPERATOR else None,
        after=after,
        limit=limit,
    )
