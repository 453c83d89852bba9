"""Idempotency keys (Stripe's and Formance's model).

A write that carries a key first *claims* it in a short transaction of its
own. The work then runs and, in the same transaction as its ledger effects,
stores the response. So:
  - same key, same request, completed  -> the stored response, replayed;
  - same key, different request        -> ``idempotency_key_reused``;
  - same key while the first still runs -> ``idempotency_request_in_flight``;
  - the work is refused or fails       -> the claim is released: nothing was
    written, so a retry runs afresh.
A claim left behind by a crashed process goes stale after ``STALE_AFTER`` and
can then be taken over: the crash rolled back its work, so nothing is doubled.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from . import errors
from .db import Database, Tx
from .schema import idempotency_keys

STALE_AFTER = timedelta(seconds=60)
MAX_KEY_LENGTH = 255


@dataclass(frozen=True)
class Claim:
    id: int


@dataclass(frozen=True)
class Replay:
    status: int
    body: str


def fingerprint(method: str, path: str, body: object) -> str:
    canonical = json.dumps([method, path, body], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


# A new key is claimed by one statement; a key seen before inserts nothing.
_CLAIM = (
    "INSERT INTO idempotency_keys (api_key_id, key, fingerprint, state, claimed_at)"
    " VALUES (?, ?, ?, 'in_flight', ?)"
    " ON CONFLICT (api_key_id, key) DO NOTHING RETURNING id"
)
_COMPLETE = (
    "UPDATE idempotency_keys SET state = 'completed', response_status = ?, response_body = ?"
    " WHERE id = ?"
)


def claim(
    db: Database, api_key_id: int, key: str, print_: str, stale_after: timedelta = STALE_AFTER
) -> Claim | Replay:
    return db.write(claim_in, api_key_id, key, print_, stale_after)


def claim_in(
    tx: Tx, api_key_id: int, key: str, print_: str, stale_after: timedelta = STALE_AFTER
) -> Claim | Replay:
    """Claim ``key`` in this transaction (which must commit before the work starts)."""
    ik = idempotency_keys
    now = datetime.now(UTC)
    inserted = tx.driver_rows(
        _CLAIM, api_key_id, key, print_, tx.driver_value(ik.c.claimed_at, now)
    )
    if inserted:
        return Claim(inserted[0][0])
    row = tx.conn.execute(
        sa.select(ik).where(ik.c.api_key_id == api_key_id, ik.c.key == key).with_for_update()
    ).one()
    if row.fingerprint != print_:
        raise errors.DomainError(
            errors.IDEMPOTENCY_KEY_REUSED,
            "this Idempotency-Key was first used with a different request",
        )
    if row.state == "completed":
        return Replay(row.response_status, row.response_body)
    if now - row.claimed_at < stale_after:
        raise errors.DomainError(
            errors.IDEMPOTENCY_IN_FLIGHT, "retry once the first request has finished"
        )
    tx.conn.execute(ik.update().where(ik.c.id == row.id).values(claimed_at=now))
    return Claim(row.id)


def complete(tx: Tx, claim_: Claim, status: int, body: str) -> None:
    """Store the response in the same transaction as the work it describes."""
    tx.driver_execute(_COMPLETE, status, body, claim_.id)


def release(db: Database, claim_: Claim) -> None:
    def _release(tx: Tx) -> None:
        tx.conn.execute(
            idempotency_keys.delete().where(
                idempotency_keys.c.id == claim_.id, idempotency_keys.c.state == "in_flight"
            )
        )

    db.write(_release)
