"""The outbox: observable changes as events, written in the change's own
transaction (docs/events.md).

A use case calls :func:`emit` as it changes something a user can observe;
the events wait on the transaction (:attr:`Tx.events`) and
:func:`flush` writes them all with one executemany just before COMMIT
(``Database.write`` calls it), after taking their ids from ``event_head``.
That row is locked last, when every other lock of the transaction is held,
so event ids follow the order of the commits: a reader paging by id never
passes an event that commits later with a smaller id. A rolled-back write
leaves no event; a retried one writes its events once, from its last run.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from . import schema

if TYPE_CHECKING:
    from .db import Tx

# Every event type, in the order docs/events.md lists them.
TYPES = (
    "transfer.posted",
    "hold.created",
    "hold.captured",
    "hold.voided",
    "hold.expired",
    "envelope_campaign.created",
    "envelope.granted",
    "envelope_campaign.ended",
    "wallet.opened",
    "wallet.updated",
    "wallet.frozen",
    "wallet.unfrozen",
    "wallet.closed",
    "offline_purse.opened",
    "offline_purse.loaded",
    "offline_purse.frozen",
    "offline_purse.unload_requested",
    "offline_purse.unloaded",
    "alert.raised",
    "alert.acknowledged",
    "alert.escalated",
    "alert.dismissed",
    "settlement.window_closed",
    "gaming_day.closed",
    "casino.registered",
    "casino.updated",
    "promoter.registered",
    "promoter.updated",
    "credit_line.set",
    "payment_code.issued",
    "payment_code.used",
    "exclusion.added",
    "exclusion.revocation_requested",
    "identity_reveal.requested",
    "identity_reveal.approved",
    "identity_reveal.rejected",
    "identity_reveal.read",
    "api_key.created",
    "api_key.revoked",
    "operator.created",
    "operator.limits_set",
    "operator.net_debit_cap_set",
    "settlement.settings_updated",
    "rules.profile_switched",
    "audit.export_queued",
    "audit.export_succeeded",
    "audit.export_failed",
    "audit.checkpoint_taken",
    "clock.moved",
    "sandbox.reset",
)

# Types of the supervisors only among casino keys (not merchants), as the
# exclusion list; with no casino they are every supervisor's.
SUPERVISORS_ONLY = ("exclusion.added", "exclusion.revocation_requested")
# Types every role sees: the sandbox clock and the rule profile, as their GETs.
EVERYONE = ("clock.moved", "rules.profile_switched", "sandbox.reset")
# Types every operator sees besides the central bank: the settlement settings,
# as GET /v1/settlement/settings.
ALL_OPERATORS = ("settlement.settings_updated",)


@dataclass(frozen=True)
class Event:
    """One change, and who may see it: the operators it touches, the casino
    whose business it is, and whether the central bank sees it."""

    type: str
    data: dict[str, Any]
    operator_id: int | None = None
    counter_operator_id: int | None = None
    casino_ref: str | None = None
    central_bank: bool = False


def emit(tx: Tx, event: Event) -> None:
    """Write ``event`` with ``tx`` (at its COMMIT)."""
    assert event.type in TYPES, f"undocumented event type {event.type!r}"
    tx.events.append(event)


_ADVANCE_HEAD = (
    sa.update(schema.event_head)
    .where(schema.event_head.c.id == 1)
    .values(last_id=schema.event_head.c.last_id + sa.bindparam("count", type_=sa.BigInteger))
    .returning(schema.event_head.c.last_id)
)
COLUMNS = (
    "id",
    "type",
    "at",
    "operator_id",
    "counter_operator_id",
    "casino_ref",
    "central_bank",
    "data",
)
_INSERT = sa.insert(schema.events).values({c: sa.bindparam(c) for c in COLUMNS})


def flush(tx: Tx) -> None:
    """Write the transaction's events: one UPDATE of the head, one executemany."""
    pending = tx.events
    if not pending:
        return
    ((last,),) = tx.rows(_ADVANCE_HEAD, count=len(pending))
    first = last - len(pending) + 1
    at = tx.now()
    tx.run_many(
        _INSERT,
        COLUMNS,
        [
            (
                first + i,
                e.type,
                at,
                e.operator_id,
                e.counter_operator_id,
                e.casino_ref,
                e.central_bank,
                dumps(e.data),
            )
            for i, e in enumerate(pending)
        ],
    )
    pending.clear()


def dumps(data: Any) -> str:
    return json.dumps(data, separators=(",", ":"), default=_default)


def _default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON")
