"""Idempotency keys (Stripe's and Formance's model).

A write that carries a key first *claims* it in a short transaction of its
own. The work then runs and, in the same transaction as its ledger effects,
stores the response. So:
  - same key, same request, completed  -> the stored response, replayed;
  - same key, different request        -> ``idempotency_key_reused``;
  - same key while the first still runs -> ``idempotency_request_in_flight``;
  - the work is refused or fails       -> the claim is released: nothing was
    written, so a retry runs afresh.
A claim still in flight after ``STALE_AFTER`` (left by a crashed process, or a
request stuck that long) may be taken over by a retry. Exactly once holds all
the same: a claim is owned by the instant it was taken (``claimed_at``), and
the work stores its response only while its claim is in flight *and still its
own* (:func:`complete`); a request whose claim was taken over cannot commit —
its transaction rolls back and it answers what the retry's outcome gives
(:func:`outcome`). The row lock of that conditional UPDATE orders it against a
takeover: whichever commits first wins, the other sees it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from .core import errors
from .core.db import Database, Tx
from .core.schema import idempotency_keys

STALE_AFTER = timedelta(seconds=60)
MAX_KEY_LENGTH = 255


@dataclass(frozen=True)
class Claim:
    id: int
    # The owner's token: the instant this claim was taken (a takeover takes a later one).
    claimed_at: datetime


class ClaimLost(Exception):
    """The claim was taken over by a retry (it had gone stale): this request's
    work must not commit."""

    def __init__(self, claim_: Claim) -> None:
        super().__init__(f"idempotency claim {claim_.id} was taken over")
        self.claim = claim_


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
# Only the claim's owner may complete it, and only once.
_COMPLETE = (
    "UPDATE idempotency_keys SET state = 'completed', response_status = ?, response_body = ?"
    " WHERE id = ? AND state = 'in_flight' AND claimed_at = ?"
)


def claim(
    db: Database, api_key_id: int, key: str, print_: str, stale_after: timedelta = STALE_AFTER
) -> Claim | Replay:
    return db.write(claim_in, api_key_id, key, print_, stale_after, datetime.now(UTC))


def claim_in(
    tx: Tx,
    api_key_id: int,
    key: str,
    print_: str,
    stale_after: timedelta = STALE_AFTER,
    now: datetime | None = None,
) -> Claim | Replay:
    """Claim ``key`` in this transaction (which must commit before the work starts).

    ``now`` is the claim's token: give the same instant to every attempt of one
    request, and an attempt re-run after a commit whose outcome was lost finds
    its own claim (the transaction is then safe to re-run, see Tx.exactly_once)."""
    ik = idempotency_keys
    if now is None:
        now = datetime.now(UTC)
    else:
        tx.exactly_once = True
    for _ in range(3):
        inserted = tx.driver_rows(
            _CLAIM, api_key_id, key, print_, tx.driver_value(ik.c.claimed_at, now)
        )
        if inserted:
            return Claim(inserted[0][0], now)
        row = tx.conn.execute(
            sa.select(ik).where(ik.c.api_key_id == api_key_id, ik.c.key == key).with_for_update()
        ).one_or_none()
        if row is not None:
            break
        # Released (its request refused) between the two statements: claim it afresh.
    else:
        raise _in_flight()
    if row.fingerprint != print_:
        raise errors.DomainError(
            errors.IDEMPOTENCY_KEY_REUSED,
            "this Idempotency-Key was first used with a different request",
        )
    if row.state == "completed":
        return Replay(row.response_status, row.response_body)
    if row.claimed_at == now:
        return Claim(row.id, now)  # this request's own, committed by an earlier attempt
    if now - row.claimed_at < stale_after:
        raise _in_flight()
    # A takeover re-checks what it saw: on PostgreSQL's READ COMMITTED an UPDATE
    # that waited for the owner's transaction evaluates its WHERE again on the
    # committed row, so it cannot win over a completion (the FOR UPDATE above
    # already orders the two; this keeps the statement right on its own).
    taken = tx.conn.execute(
        ik.update()
        .where(ik.c.id == row.id, ik.c.state == "in_flight", ik.c.claimed_at == row.claimed_at)
        .values(claimed_at=now)
    ).rowcount
    if taken != 1:
        raise _in_flight()
    return Claim(row.id, now)


def _in_flight() -> errors.DomainError:
    return errors.DomainError(
        errors.IDEMPOTENCY_IN_FLIGHT, "retry once the first request has finished"
    )


def complete(tx: Tx, claim_: Claim, status: int, body: str) -> None:
    """Store the response in the same transaction as the work it describes, if
    the claim is still this request's: else :class:`ClaimLost`, and the work's
    transaction must roll back. Re-running such a transaction is safe (its
    second run cannot complete the claim again), whatever became of the first."""
    ik = idempotency_keys
    changed = tx.driver_execute(
        _COMPLETE, status, body, claim_.id, tx.driver_value(ik.c.claimed_at, claim_.claimed_at)
    )
    if changed != 1:
        raise ClaimLost(claim_)
    tx.exactly_once = True


def ensure_ours(tx: Tx, claim_: Claim) -> None:
    """Before the work of a transaction that runs again (its first attempt's
    COMMIT may have been applied though its connection died): go on only while
    the claim is still in flight and this request's, else :class:`ClaimLost` —
    the answer is then the stored one (:func:`outcome`), not a refusal that the
    work, run twice, would give (the money has moved already)."""
    ik = idempotency_keys
    row = tx.conn.execute(
        sa.select(ik.c.state, ik.c.claimed_at).where(ik.c.id == claim_.id).with_for_update()
    ).one_or_none()
    if row is None or row.state != "in_flight" or row.claimed_at != claim_.claimed_at:
        raise ClaimLost(claim_)


def outcome(tx: Tx, claim_: Claim) -> Replay:
    """What a request whose claim was taken over answers: the stored response
    of the request that took it, or ``idempotency_request_in_flight``."""
    ik = idempotency_keys
    row = tx.conn.execute(
        sa.select(ik.c.state, ik.c.response_status, ik.c.response_body).where(ik.c.id == claim_.id)
    ).one_or_none()
    if row is None or row.state != "completed":
        raise errors.DomainError(
            errors.IDEMPOTENCY_IN_FLIGHT,
            "a retry with this Idempotency-Key took this request over; ask again for its outcome",
        )
    return Replay(row.response_status, row.response_body)


def release(db: Database, claim_: Claim) -> None:
    """Give the key back after a refused or failed write, if it is still ours."""

    def _release(tx: Tx) -> None:
        ik = idempotency_keys
        tx.conn.execute(
            ik.delete().where(
                ik.c.id == claim_.id,
                ik.c.state == "in_flight",
                ik.c.claimed_at == claim_.claimed_at,
            )
        )

    db.write(_release)
