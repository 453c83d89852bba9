"""The audit log: who changed what, when, with which outcome (SPEC.md §9).

One row per state-changing API call — accepted, refused or failed, replayed
or not. It never holds a secret (API keys are named by id) nor a request body:
at most a summary of the request's plain fields without personal data.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa

from ..core.db import Tx
from ..core.principal import Principal
from ..core.schema import audit_events

# Request fields that never reach the log: personal data of holders (a label
# often names one), and secrets (a buy-in's payment code is the holder's consent:
# whoever reads it could spend it).
PERSONAL_FIELDS = frozenset({"phone", "birth_date", "label", "holder_id", "holder_name"})
SECRET_FIELDS = frozenset({"payment_code"})
SUMMARY_MAX = 1000
OUTCOMES = ("succeeded", "refused", "failed")


@dataclass(frozen=True)
class Call:
    """A state-changing call as the HTTP layer saw it (no transport types here)."""

    principal: Principal | None
    method: str
    path: str
    idempotency_key: str | None
    request_id: str | None
    body: object = None


def outcome_of(status: int) -> str:
    if status < 400:
        return "succeeded"
    return "refused" if status < 500 else "failed"


def storable(text: str) -> str:
    """Text as every database stores it: a NUL (PostgreSQL refuses it in text)
    and a lone UTF-16 surrogate (no UTF-8 holds it) become U+FFFD, so that a
    call whose path holds ``%00`` is recorded like any other (docs/security.md)."""
    return _UNSTORABLE.sub("\ufffd", text)


_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def summary(body: object) -> str | None:
    """The request's top-level plain fields, without personal data, as JSON."""
    if not isinstance(body, dict):
        return None
    plain = {
        k: v
        for k, v in sorted(body.items())
        if k not in PERSONAL_FIELDS
        and k not in SECRET_FIELDS
        and (v is None or isinstance(v, str | int | float | bool))
    }
    if not plain:
        return None
    text = json.dumps(plain, ensure_ascii=False, separators=(",", ":"))
    # A refused body may hold text no database stores (a lone UTF-16 surrogate).
    text = text.encode("utf-8", "replace").decode("utf-8")
    return text if len(text) <= SUMMARY_MAX else text[: SUMMARY_MAX - 3] + "..."


def record(
    tx: Tx,
    call: Call,
    status: int,
    *,
    error_code: str | None = None,
    replayed: bool = False,
    resource: str | None = None,
) -> None:
    p = call.principal
    row = (
        tx.now(),
        datetime.now(UTC),
        p.key_id if p else None,
        p.role if p else None,
        p.operator_code if p else None,
        p.casino_ref if p else None,
        call.method[:8],
        storable(call.path)[:255],
        storable(call.idempotency_key)[:255] if call.idempotency_key else None,
        bool(replayed),
        status,
        outcome_of(status),
        error_code,
        storable(call.request_id) if call.request_id else None,
        storable(resource)[:64] if resource else None,
        summary(call.body),
    )
    tx.run_many(_INSERT, _COLUMNS, [row])


# The columns :func:`record` writes, in the order of its row: the table's own.
_COLUMNS = tuple(c.name for c in audit_events.columns if c.name != "id")
_INSERT = sa.insert(audit_events).values({c: sa.bindparam(c) for c in _COLUMNS})


@dataclass(frozen=True)
class EventFilters:
    method: str | None = None
    path_prefix: str | None = None
    key_id: int | None = None
    outcome: str | None = None
    status: int | None = None
    start: datetime | None = None  # at or after (sandbox time)
    end: datetime | None = None  # before


def list_events(
    tx: Tx, filters: EventFilters, *, after: int | None, limit: int
) -> Sequence[sa.Row]:
    ae = audit_events
    stmt = sa.select(ae).order_by(ae.c.id).limit(limit)
    if after is not None:
        stmt = stmt.where(ae.c.id > after)
    if filters.method:
        stmt = stmt.where(ae.c.method == filters.method.upper())
    if filters.path_prefix:
        escaped = filters.path_prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        stmt = stmt.where(ae.c.path.like(f"{escaped}%", escape="\\"))
    if filters.key_id is not None:
        stmt = stmt.where(ae.c.api_key_id == filters.key_id)
    if filters.outcome:
        stmt = stmt.where(ae.c.outcome == filters.outcome)
    if filters.status is not None:
        stmt = stmt.where(ae.c.status == filters.status)
    if filters.start is not None:
        stmt = stmt.where(ae.c.at >= filters.start)
    if filters.end is not None:
        stmt = stmt.where(ae.c.at < filters.end)
    return tx.conn.execute(stmt).all()
