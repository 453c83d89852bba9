"""The sandbox clock as a use case: moving it makes what the new time brings
happen at once, in the same transaction."""

from __future__ import annotations

from datetime import datetime

from ..core import clock
from ..core.db import Tx
from ..retail import holds
from ..tier1 import settlement


def set_clock(tx: Tx, now: datetime, fixed: bool) -> clock.ClockState:
    """Set the sandbox time (``fixed``: stopped there; else running on from there)."""
    return _move(tx, lambda: clock.set_clock(tx, now, fixed))


def advance_clock(tx: Tx, seconds: int) -> clock.ClockState:
    """Move the sandbox time forward by ``seconds``."""
    return _move(tx, lambda: clock.advance(tx, seconds))


def _move(tx: Tx, change) -> clock.ClockState:
    """Holds past their deadline are released, settlement windows close at each
    daily cut-off passed."""
    before = tx.now()
    state = change()
    holds.release_expired_if_due_in(tx)
    settlement.close_due(tx, before, state.now)
    return state
