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
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from ..core import errors
from ..core.db import Tx, Upsert
from ..core.schema import idempotency_keys

STALE_AFTER = timedelta(seconds=60)
# What an Idempotency-Key may be: 1-255 printable ASCII characters.
KEY_RE = re.compile(r"[\x21-\x7e]{1,255}")


@dataclass(frozen=True)
class Claim:
    id: int


@dataclass(frozen=True)
class Replay:
    status: int
    body: str
    # The stored answer is this very request's: an earlier attempt of it
    # committed, though its connection died before saying so (see claim_in).
    own: bool = False
    # The answer's headers of its own (a resource's ETag), as first sent.
    headers: dict[str, str] = field(default_factory=dict)


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


# A new key is claimed by one statement; a key seen before inserts nothing
# (and a key claimed by a transaction still open waits for it here).
_CLAIM = Upsert(
    lambda insert: (
        insert(idempotency_keys)
        .values(
            api_key_id=sa.bindparam("api_key_id"),
            key=sa.bindparam("key"),
            fingerprint=sa.bindparam("fingerprint"),
            state="in_flight",
            claimed_at=sa.bindparam("claimed_at"),
        )
        .on_conflict_do_nothing(index_elements=["api_key_id", "key"])
        .returning(idempotency_keys.c.id)
    )
)
_FIND = (
    sa.select(idempotency_keys)
    .where(
        idempotency_keys.c.api_key_id == sa.bindparam("api_key_id"),
        idempotency_keys.c.key == sa.bindparam("key"),
    )
    .with_for_update()
)
_TAKE_OVER = (
    idempotency_keys.update()
    .where(idempotency_keys.c.id == sa.bindparam("claim_id"))
    .values(claimed_at=sa.bindparam("now"))
)
_COMPLETE = (
    idempotency_keys.update()
    .where(idempotency_keys.c.id == sa.bindparam("claim_id"))
    .values(
        state="completed",
        response_status=sa.bindparam("status"),
        response_body=sa.bindparam("body"),
        response_headers=sa.bindparam("headers"),
    )
)


def claim_in(
    tx: Tx,
    api_key_id: int,
    key: str,
    print_: str,
    stale_after: timedelta = STALE_AFTER,
    now: datetime | None = None,
) -> Claim | Replay:
    """Claim ``key`` in the work's own transaction: a :class:`Claim` to
    :func:`complete` before it commits, or the stored answer to replay.

    A concurrent claim of the same key waits here until the transaction that
    holds it ends. Re-running a transaction whose COMMIT was cut off is safe:
    if that COMMIT was applied, the re-run finds the stored answer."""
    tx.exactly_once = True
    # The claim's instant is its owner's token: give every attempt of one
    # request the same ``now``, and an attempt that finds the key completed
    # with it knows the answer is its own, not a retry's (Replay.own).
    if now is None:
        now = datetime.now(UTC)
    inserted = tx.rows(_CLAIM, api_key_id=api_key_id, key=key, fingerprint=print_, claimed_at=now)
    if inserted:
        return Claim(inserted[0].id)
    (row,) = tx.rows(_FIND, api_key_id=api_key_id, key=key)
    if row.fingerprint != print_:
        raise errors.DomainError(
            errors.IDEMPOTENCY_KEY_REUSED,
            "this Idempotency-Key was first used with a different request",
        )
    if row.state == "completed":
        return Replay(
            row.response_status,
            row.response_body,
            own=row.claimed_at == now,
            headers=json.loads(row.response_headers) if row.response_headers else {},
        )
    # A claim committed in flight by an older version (module docstring).
    if now - row.claimed_at < stale_after:
        raise errors.DomainError(
            errors.IDEMPOTENCY_IN_FLIGHT, "retry once the first request has finished"
        )
    tx.run(_TAKE_OVER, claim_id=row.id, now=now)
    return Claim(row.id)


def complete(
    tx: Tx, claim_: Claim, status: int, body: str, headers: dict[str, str] | None = None
) -> None:
    """Store the response (its body and its headers of its own, if any) in the
    transaction of the work it describes."""
    tx.run(
        _COMPLETE,
        claim_id=claim_.id,
        status=status,
        body=body,
        headers=json.dumps(headers, sort_keys=True) if headers else None,
    )
