"""A write of the sandbox as one command and one database transaction.

Whoever asks for a write — an HTTP request, the web console, the ``ecny``
command line, a scenario's replay through the API — describes it as a
:class:`Command` (who acts, what they ask, the Idempotency-Key if any, the
payload) and hands it with the use case to :func:`execute`, which runs one
transaction:

1. claim the Idempotency-Key, first (a concurrent request with the same key
   waits here for this transaction, then replays its answer:
   wallets/services/idempotency.py; a replay does none of what follows);
2. release the holds whose deadline the sandbox clock has passed and end the
   red-envelope campaigns past their validity (retail/deadlines.py), so the
   work sees their funds back, and validate the offline vouchers and complete
   the purse unloads that are due (wallets/retail/offline.py);
3. do the work (the use case), render its answer;
4. store the answer with the key, write the audit record;
5. commit.

A refused or failed write rolls back (the claim with it, so the key is free
again) and its refusal is recorded in a transaction of its own, with the due
holds' release. A replay is recorded in the replaying transaction.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from ..audit import checkpoints
from ..audit import log as audit_log
from ..core import errors
from ..core.db import Database, Tx, loggable
from ..core.principal import Principal
from ..retail import deadlines, offline
from . import idempotency

log = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True)
class Command:
    """A state-changing request, as any front end saw it.

    ``method`` and ``path`` name it in the audit log (``POST /v1/transfers``;
    ``CLI ecny keys create``); with ``payload`` they are the request an
    Idempotency-Key is bound to."""

    actor: Principal | None
    method: str
    path: str
    payload: Any = None
    idempotency_key: str | None = None
    request_id: str | None = None

    @property
    def call(self) -> audit_log.Call:
        return audit_log.Call(
            principal=self.actor,
            method=self.method,
            path=self.path,
            idempotency_key=self.idempotency_key,
            request_id=self.request_id,
            body=self.payload,
        )


@dataclass(frozen=True)
class Outcome:
    """A write's answer: its status and JSON document (as stored for replays),
    and what the use case returned — None for a replay, and for a request
    whose first attempt's COMMIT was applied though its connection died (it
    is answered from what that attempt stored)."""

    status: int
    body: str
    result: Any = None
    replayed: bool = False
    # The answer's headers of its own (a resource's ETag), stored with it: a
    # replay sends the first answer's.
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Policy:
    """The settings a write runs under."""

    # Signed checkpoints of the journal head, one per this many hours of
    # sandbox time (wallets/audit/checkpoints.py); 0: none.
    checkpoint_hours: int = 0
    signing_key_path: Path | None = None
    # A claim left in flight by an older version may be taken over after this.
    stale_after: timedelta = idempotency.STALE_AFTER


def execute(
    db: Database,
    command: Command,
    use_case: Callable[[Tx], T],
    *,
    status: int = 201,
    render: Callable[[Tx, T], Any] | None = None,
    resource: Callable[[T], str | None] | None = None,
    stored: Callable[[Any], Any] | None = None,
    headers: Callable[[Tx, T], dict[str, str]] | None = None,
    policy: Policy = Policy(),
) -> Outcome:
    """Run ``use_case`` for ``command`` in one transaction (module docstring).

    ``render(tx, result)`` gives the answer's JSON document (default: the
    result itself), stored for replays; ``resource(result)`` names what the
    write created or changed for the audit log (default: the document's
    ``id`` or ``code``); ``stored(document)`` is what a replay answers, when
    that must not be the whole answer (a new API key's secret is never
    stored); ``headers(tx, result)`` gives the answer's headers of its own
    (a resource's ETag, read after the work in its transaction), stored with
    it for replays. A refusal is raised as its :class:`DomainError`."""
    call = command.call
    key = command.idempotency_key
    key_id = command.actor.key_id if command.actor is not None else None
    claimed_at = datetime.now(UTC)  # one instant for every attempt of this request
    try:
        if key is not None:
            idempotency.check_key(key)
            if key_id is None:
                raise errors.DomainError(
                    errors.VALIDATION_FAILED,
                    "an Idempotency-Key is bound to an API key: this caller has none",
                )
            print_ = idempotency.fingerprint(command.method, command.path, command.payload)
        checkpoint_due: list[bool] = [False]

        def work(tx: Tx) -> Outcome:
            claim = None
            if key is not None and key_id is not None:
                # The key first: a retry waiting here for the first request's
                # transaction holds no other lock that request may need.
                found = idempotency.claim_in(
                    tx, key_id, key, print_, policy.stale_after, claimed_at
                )
                if isinstance(found, idempotency.Replay):
                    if found.own:
                        # This request's own first attempt committed (its
                        # connection died before the COMMIT's answer came):
                        # its answer, recorded then; not a replay.
                        return Outcome(found.status, found.body, headers=found.headers)
                    body = found.body
                    audit_log.record(
                        tx, call, found.status, replayed=True, resource=_resource_in(body)
                    )
                    return Outcome(found.status, body, replayed=True, headers=found.headers)
                claim = found
            deadlines.release_expired_if_due_in(tx)
            offline.settle_due_if_any_in(tx)
            result = use_case(tx)
            document = render(tx, result) if render is not None else result
            # A newline ends it, as Flask's own JSON answers; a replay sends it as stored.
            body = json.dumps(document, separators=(",", ":")) + "\n"
            own_headers = headers(tx, result) if headers is not None else {}
            if claim is not None:
                kept = (
                    body
                    if stored is None
                    else json.dumps(stored(document), separators=(",", ":")) + "\n"
                )
                idempotency.complete(tx, claim, status, kept, own_headers)
            named = resource(result) if resource is not None else _resource_of(document)
            audit_log.record(tx, call, status, resource=named)
            checkpoint_due[0] = (
                policy.signing_key_path is not None
                and bool(policy.checkpoint_hours)
                and checkpoints.is_due(tx, policy.checkpoint_hours)
            )
            return Outcome(status, body, result, headers=own_headers)

        outcome = db.write(work)
    except Exception as exc:
        record_failure(db, call, exc)
        raise
    # The scheduled checkpoint of the journal head, if this write is the first
    # of its period of sandbox time; it never fails the write.
    if checkpoint_due[0] and policy.signing_key_path is not None:
        checkpoints.take_if_due(db, policy.signing_key_path, policy.checkpoint_hours)
    return outcome


def record_failure(db: Database, call: audit_log.Call, exc: Exception) -> None:
    """Record a write refused (a :class:`DomainError`: its code and status) or
    failed (``internal_error``, 500)."""
    if isinstance(exc, errors.DomainError):
        record_refusal(db, call, errors.status_of(exc.code), exc.code)
    else:
        record_refusal(db, call, 500, "internal_error")


def record_refusal(db: Database, call: audit_log.Call, status: int, error_code: str | None) -> None:
    """Record a refused or failed write in a transaction of its own (which also
    does what the clock made due: holds, campaigns and offline work, as the
    write's own would have). A failure here must not hide the refusal itself:
    it is logged, not raised."""

    def record(tx: Tx) -> None:
        deadlines.release_expired_if_due_in(tx)
        offline.settle_due_if_any_in(tx)
        audit_log.record(tx, call, status, error_code=error_code)

    try:
        db.write(record)
    except Exception as exc:  # noqa: BLE001
        # Not log.exception: a database error's text may quote the request's values.
        log.error(
            "could not record %s %s in the audit log\n%s", call.method, call.path, loggable(exc)
        )


def read(db: Database, fn: Callable[[Tx], T]) -> T:
    """Run ``fn`` in a read transaction that sees what a write would: holds whose
    deadline the sandbox clock has passed are released first (as every write
    does), so that no read shows them pending. Their expiry is the clock's doing,
    not the reader's; it costs an index probe in the read's own transaction, and
    a write transaction only on the first read after a deadline."""
    due = object()
    while (found := db.read(lambda tx: due if deadlines.any_due(tx) else fn(tx))) is due:
        db.write(deadlines.release_expired)
    return found  # type: ignore[return-value]


def _resource_in(body: str) -> str | None:
    try:
        return _resource_of(json.loads(body))
    except ValueError:
        return None


def _resource_of(data: Any) -> str | None:
    """The id (or code) of what a write created or changed, from its answer."""
    if isinstance(data, dict):
        for name in ("id", "code"):
            value = data.get(name)
            if isinstance(value, str | int) and not isinstance(value, bool):
                return str(value)
    return None
