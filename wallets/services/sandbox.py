"""The sandbox clock as a use case: moving it makes what the new time brings
happen at once, in the same transaction."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from ..core import clock, errors, outbox
from ..core.db import Tx
from ..core.preconditions import IfMatch
from ..retail import deadlines, offline
from ..rules import active_profile
from ..tier1 import settlement

# Quick moves of the clock (the console's buttons): each to an instant the
# sandbox's rules define.
HOUR, GAMING_DAY, CUTOFF = "hour", "gaming_day", "cutoff"
QUICK_MOVES = (HOUR, GAMING_DAY, CUTOFF)


def set_clock(
    tx: Tx, now: datetime, fixed: bool, *, if_match: IfMatch | None = None
) -> clock.ClockState:
    """Set the sandbox time (``fixed``: stopped there; else running on from
    there); with ``if_match``, only while the clock is at one of its ETags."""
    return _move(tx, lambda: clock.set_clock(tx, now, fixed, if_match=if_match))


def advance_clock(tx: Tx, seconds: int) -> clock.ClockState:
    """Move the sandbox time forward by ``seconds``."""
    return _move(tx, lambda: clock.advance(tx, seconds))


def _move(tx: Tx, change) -> clock.ClockState:
    """Holds past their deadline are released (a conditional payment due by time
    is captured), red-envelope campaigns past their validity end, offline
    vouchers and purse unloads due are settled, settlement windows close at each
    daily cut-off passed."""
    before = tx.now()
    state = change()
    outbox.emit(tx, outbox.Event("clock.moved", clock_document(state)))
    deadlines.release_expired_if_due_in(tx)
    offline.settle_due_if_any_in(tx)
    settlement.close_due(tx, before, state.now)
    return state


def clock_document(state: clock.ClockState) -> dict:
    """The clock as ``GET /v1/sandbox/clock`` renders it."""
    return {
        "now": state.now,
        "local_now": state.now.astimezone(clock.SANDBOX_TZ),
        "fixed": state.fixed,
    }


def quick_moves(tx: Tx) -> dict[str, datetime | None]:
    """Where each quick move would take the clock: an hour on, the start of the
    next gaming day (the profile's casino cut-off; None without casino rules),
    the next settlement cut-off (None unless deferred net with a cut-off)."""
    now = tx.now()
    casino = active_profile(tx).casino
    gaming_day = None
    if casino is not None:
        today = clock.gaming_day_of(now, casino.gaming_day_cutoff)
        gaming_day = clock.gaming_day_bounds(today, casino.gaming_day_cutoff)[1]
    return {
        HOUR: now + timedelta(hours=1),
        GAMING_DAY: gaming_day,
        CUTOFF: settlement.next_cutoff(tx, now),
    }


def quick_move(tx: Tx, move: str) -> clock.ClockState:
    """Advance the clock to where the quick move ``move`` goes (:func:`quick_moves`)."""
    target = quick_moves(tx).get(move)
    if target is None:
        raise errors.DomainError(
            errors.VALIDATION_FAILED,
            f"no {move!r} move in this sandbox",
            errors={"move": [f"one of {', '.join(QUICK_MOVES)}, where the sandbox has it"]},
        )
    return advance_clock(tx, math.ceil((target - tx.now()).total_seconds()))
