"""The event feed: events in commit order, each seen by whom may see what it
is about (docs/events.md#who-sees-what).

- admin: every event; auditor: every event but API keys';
- every role: the sandbox clock's moves, the rule profile switched;
- central bank: transfers, settlement windows and settings, checkpoints, operators (created,
  their limits), and alerts tied to no casino;
- operator: the events of its wallets, holds and transfers (either side),
  its own creation and limits, the settlement settings;
- merchant and supervisor: the events of their casinos (cage operations'
  transfers, the taxes of a gaming-day close, alerts, gaming-day closes);
  supervisors also the exclusions of their casinos and of every casino.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from ..core import errors
from ..core.db import Tx
from ..core.outbox import ALL_OPERATORS, EVERYONE, SUPERVISORS_ONLY, TYPES
from ..core.principal import ADMIN, AUDITOR, CENTRAL_BANK, MERCHANT, OPERATOR, SUPERVISOR, Principal
from ..core.schema import events

__all__ = ["TYPES", "Event", "body", "check_types", "list_events", "visible_to"]


@dataclass(frozen=True)
class Event:
    id: int
    type: str
    timestamp: datetime  # sandbox time of the change
    data: dict[str, Any]


def visible_to(actor: Principal) -> sa.ColumnElement[bool]:
    """The condition on ``events`` of what ``actor`` may see."""
    e = events.c
    if actor.role in (ADMIN, AUDITOR):  # the auditor: read-only over everything
        return sa.true()
    return sa.or_(e.type.in_(EVERYONE), _scoped(actor))


def _scoped(actor: Principal) -> sa.ColumnElement[bool]:
    e = events.c
    if actor.role == CENTRAL_BANK:
        return e.central_bank.is_(True)
    if actor.role == OPERATOR and actor.operator_id is not None:
        return sa.or_(
            e.operator_id == actor.operator_id,
            e.counter_operator_id == actor.operator_id,
            e.type.in_(ALL_OPERATORS),
        )
    if actor.role == MERCHANT and actor.casino_refs:
        return sa.and_(e.casino_ref.in_(sorted(actor.casino_refs)), e.type.not_in(SUPERVISORS_ONLY))
    if actor.role == SUPERVISOR and actor.casino_refs:
        return sa.or_(
            e.casino_ref.in_(sorted(actor.casino_refs)),
            sa.and_(e.casino_ref.is_(None), e.type.in_(SUPERVISORS_ONLY)),
        )
    return sa.false()


def check_types(types: list[str] | None, field: str = "type") -> list[str] | None:
    """Event types named by a caller, each one of :data:`TYPES`."""
    if types is None:
        return None
    unknown = [t for t in types if t not in TYPES]
    if unknown or not types:
        raise errors.DomainError(
            errors.VALIDATION_FAILED,
            f"{field}: unknown event type(s) {', '.join(unknown)}"
            if unknown
            else f"{field}: empty",
            errors={field: [f"must be event types of docs/events.md: {', '.join(TYPES)}"]},
        )
    return list(dict.fromkeys(types))


def list_events(
    tx: Tx, actor: Principal, *, after: int | None, types: list[str] | None, limit: int
) -> list[Event]:
    """The events ``actor`` may see, oldest first, after the cursor."""
    stmt = sa.select(events).where(visible_to(actor)).order_by(events.c.id).limit(limit)
    if after is not None:
        stmt = stmt.where(events.c.id > after)
    if types:
        stmt = stmt.where(events.c.type.in_(types))
    return [Event(r.id, r.type, r.at, json.loads(r.data)) for r in tx.conn.execute(stmt).all()]


def body(event_id: int, type_: str, at: datetime, data: str) -> str:
    """An event as a webhook sends it: the Standard Webhooks payload
    (``type``, ``timestamp``, ``data``) with the event's ``id``; ``data`` is
    the stored JSON as it is, byte for byte."""
    return (
        f'{{"id":{event_id},"type":{json.dumps(type_)},'
        f'"timestamp":{json.dumps(at.isoformat())},"data":{data}}}'
    )
