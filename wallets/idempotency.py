"""Idempotency keys (Stripe's and Formance's model).

A keyed write claims its key in its own transaction, the one that does the
work, stores the response and commits (wallets/services). So:
  - same key, same request, completed  -> the stored response, replayed;
  - same key, different request        -> ``idempotency_key_reused``;
  - same key while the first still runs -> the second *waits* for the first's
    transaction (PostgreSQL: the unique index's row; SQLite: the one writer's
    lock), then replays its answer — or, if the first was refused and rolled
    back, runs afresh;
  - the work is refused or fails       -> its transaction rolls back, the claim
    with it: nothing was written, so a retry runs afresh.
No claim is ever committed before its work, so none can go stale while its
work can still commit: exactly once needs no takeover. A claim row still
``in_flight`` can only have been left by an older version of the sandbox,
which committed claims first; a request finding one younger than the stale
window is told ``idempotency_request_in_flight``, an older one is taken over.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import Insert as PgInsert
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import Insert as SqliteInsert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from .core import errors
from .core.db import Tx
from .core.schema import idempotency_keys

STALE_AFTER = timedelta(seconds=60)
MAX_KEY_LENGTH = 255
# What an Idempotency-Key may be: 1-255 printable ASCII characters.
KEY_RE = re.compile(r"[\x21-\x7e]{1,255}")


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


def check_key(key: str) -> None:
    if not KEY_RE.fullmatch(key):
        raise errors.DomainError(
            errors.VALIDATION_FAILED,
            "Idempotency-Key must be 1-255 printable ASCII characters",
            errors={"Idempotency-Key": ["must be 1-255 printable ASCII characters"]},
        )


def claim_in(
    tx: Tx,
    api_key_id: int,
    key: str,
    print_: str,
    stale_after: timedelta = STALE_AFTER,
) -> Claim | Replay:
    """Claim ``key`` in the work's own transaction: a :class:`Claim` to
    :func:`complete` before it commits, or the stored answer to replay.

    A concurrent claim of the same key waits here until the transaction that
    holds it ends. Re-running a transaction whose COMMIT was cut off is safe:
    if that COMMIT was applied, the re-run finds the stored answer."""
    ik = idempotency_keys
    tx.exactly_once = True
    now = datetime.now(UTC)
    inserted = tx.conn.execute(
        _insert(tx)
        .values(
            api_key_id=api_key_id, key=key, fingerprint=print_, state="in_flight", claimed_at=now
        )
        .on_conflict_do_nothing(index_elements=[ik.c.api_key_id, ik.c.key])
        .returning(ik.c.id)
    ).scalar_one_or_none()
    if inserted is not None:
        return Claim(inserted)
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
    # A claim committed in flight by an older version (module docstring).
    if now - row.claimed_at < stale_after:
        raise errors.DomainError(
            errors.IDEMPOTENCY_IN_FLIGHT, "retry once the first request has finished"
        )
    tx.conn.execute(ik.update().where(ik.c.id == row.id).values(claimed_at=now))
    return Claim(row.id)


def _insert(tx: Tx) -> PgInsert | SqliteInsert:
    if tx.dialect == "postgresql":
        return pg_insert(idempotency_keys)
    return sqlite_insert(idempotency_keys)


def complete(tx: Tx, claim_: Claim, status: int, body: str) -> None:
    """Store the response in the transaction of the work it describes."""
    ik = idempotency_keys
    tx.conn.execute(
        ik.update()
        .where(ik.c.id == claim_.id)
        .values(state="completed", response_status=status, response_body=body)
    )
