"""What the sandbox clock ends: holds past their deadline (conditional
payments among them) and red-envelope campaigns past their validity. Every
write does it first, a read that finds one due has it done in a write of its
own, and a move of the clock does it at once (wallets/services)."""

from __future__ import annotations

from ..core.db import Tx
from . import campaigns, holds


def any_due(tx: Tx) -> bool:
    """Whether anything waits for its deadline (two index probes)."""
    return holds.any_due(tx) or campaigns.any_due(tx)


def release_expired(tx: Tx) -> None:
    holds.release_expired(tx)
    campaigns.end_expired(tx)


def release_expired_if_due_in(tx: Tx) -> None:
    """Do what is due in this (write) transaction, after a cheap check."""
    holds.release_expired_if_due_in(tx)
    if campaigns.any_due(tx):
        campaigns.end_expired(tx)
