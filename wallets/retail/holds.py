"""Two-phase payments: holds, captures, voids and expiry.

A hold moves the funds at once from the payer's wallet into its operator's
HOLDS escrow account (a posted, hash-chained entry), so they count against
the wallet's balance and outgoing limits from that moment. It then resolves
exactly once:
  capture (full or partial) -> escrow to the payee (across operators with the
                               tier-1 move); any rest back to the payer
  void                      -> escrow back to the payer
  expiry                    -> the same as a void, when the sandbox clock
                               passes the deadline

A conditional payment (docs/programmable.md) is a hold with a ``condition``:
  time          -> captured in full when the sandbox clock reaches its deadline
                   (released to the payer instead if the capture is refused
                   then: a frozen or closed payee, the payee's balance cap)
  confirmation  -> captured in full when the operator of its named third party's
                   wallet (``confirmer_wallet``) confirms it before the deadline;
                   expired at the deadline otherwise
Either party's operator cancels it before then with a void; a capture request
is refused (``hold_conditional``): its condition completes it. Each state
change is one transfer, as any hold's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa

from ..core import errors, outbox
from ..core.clock import local_date
from ..core.db import Tx, inserted_id
from ..core.principal import Principal
from ..core.schema import holds
from ..ledger.accounts import ECNY
from ..ledger.journal import PostedTransfer, list_transfers_of_hold
from ..ledger.money import format_amount
from ..ledger.posting import Leg, Posting, Refusal, TransferDraft
from . import wallet as wl
from .limits import class_limits
from .payments import (
    check_statuses,
    operator_accounts,
    require_mover,
    status_refusal,
    wallet_to_wallet_legs,
)

PENDING, CAPTURED, VOIDED, EXPIRED = "pending", "captured", "voided", "expired"
STATUSES = (PENDING, CAPTURED, VOIDED, EXPIRED)
TIME, CONFIRMATION = "time", "confirmation"
CONDITIONS = (TIME, CONFIRMATION)
DEFAULT_TIMEOUT = 3600
MAX_TIMEOUT = 30 * 86400


@dataclass(frozen=True)
class Hold:
    id: int
    from_wallet_id: int
    to_wallet_id: int
    amount: int
    captured: int
    status: str
    reference: str | None
    created_at: datetime
    expires_at: datetime
    resolved_at: datetime | None
    version: int
    transfers: list[PostedTransfer]
    condition: str | None = None
    confirmer_wallet_id: int | None = None


def _row(tx: Tx, hold_id: int, lock: bool = False) -> sa.Row | None:
    stmt = sa.select(holds).where(holds.c.id == hold_id)
    if lock:
        stmt = stmt.with_for_update()
    return tx.conn.execute(stmt).first()


def _reread(tx: Tx, hold_id: int) -> sa.Row:
    """A hold written in this transaction, read again."""
    row = _row(tx, hold_id)
    assert row is not None, f"hold {hold_id} was written in this transaction"
    return row


def _to_hold(tx: Tx, row: sa.Row) -> Hold:
    return Hold(
        id=row.id,
        from_wallet_id=row.wallet_id,
        to_wallet_id=row.payee_wallet_id,
        amount=row.amount,
        captured=row.captured,
        status=row.status,
        reference=row.reference,
        created_at=row.created_at,
        expires_at=row.expires_at,
        resolved_at=row.resolved_at,
        version=row.version,
        transfers=list_transfers_of_hold(tx, row.id),
        condition=row.condition,
        confirmer_wallet_id=row.confirmer_wallet_id,
    )


def _visible_row(tx: Tx, hold_id: int, actor: Principal, lock: bool = False) -> sa.Row:
    """A hold is the business of the payer's and the payee's operators."""
    # Without ``lock`` the mutant survives on SQLite, whose one writer's lock already
    # serialises writes; on PostgreSQL the row lock is what makes a hold resolve once.
    row = _row(tx, hold_id, lock)  # pragma: no mutate
    if row is not None:
        found = wl.find_many(tx, {row.wallet_id, row.payee_wallet_id})
        if any(actor.sees_wallets_of(w.operator_id) for w in found.values()):
            return row
    raise errors.DomainError(errors.HOLD_NOT_FOUND, f"no hold {hold_id}")


def get(tx: Tx, hold_id: int, actor: Principal) -> Hold:
    return _to_hold(tx, _visible_row(tx, hold_id, actor))


def list_for_wallet(
    tx: Tx, wallet_id: int, actor: Principal, status: str | None, after: int | None, limit: int
):
    wl.get(tx, wallet_id, actor)
    stmt = (
        sa.select(holds)
        .where(sa.or_(holds.c.wallet_id == wallet_id, holds.c.payee_wallet_id == wallet_id))
        .order_by(holds.c.id)
        .limit(limit)
    )
    if status:
        stmt = stmt.where(holds.c.status == status)
    if after is not None:
        stmt = stmt.where(holds.c.id > after)
    return [_to_hold(tx, r) for r in tx.conn.execute(stmt)]


def create(
    tx: Tx,
    actor: Principal,
    *,
    from_wallet_id: int,
    to_wallet_id: int,
    amount: int,
    timeout_seconds: int = DEFAULT_TIMEOUT,
    reference: str | None = None,
    condition: str | None = None,
    confirmer_wallet_id: int | None = None,
) -> Hold:
    require_mover(actor)
    if not 1 <= timeout_seconds <= MAX_TIMEOUT:
        raise errors.DomainError(
            errors.VALIDATION_FAILED,
            "timeout_seconds out of range",
            errors={"timeout_seconds": [f"must be between 1 and {MAX_TIMEOUT}"]},
        )
    payer = wl.get(tx, from_wallet_id, actor)
    payee = wl.find(tx, to_wallet_id)
    if payee is None:
        raise errors.DomainError(
            errors.WALLET_NOT_FOUND, f"no wallet {to_wallet_id}", field="to_wallet"
        )
    if payee.id == payer.id:
        raise errors.DomainError(errors.SAME_WALLET, "a wallet cannot pay itself")
    _check_condition(tx, condition, confirmer_wallet_id, payer.id, payee.id)
    escrow = operator_accounts(tx, {payer.operator_id})[payer.operator_id]["holds"]
    posting = Posting(tx, [payer.account_id, escrow], limits=class_limits([payer]))
    check_statuses(tx, (payer.id, "paying"), (payee.id, "receiving"))
    now = tx.now()
    inserted = tx.conn.execute(
        holds.insert().values(
            wallet_id=payer.id,
            payee_wallet_id=payee.id,
            amount=amount,
            status=PENDING,
            reference=reference,
            created_at=now,
            expires_at=now + timedelta(seconds=timeout_seconds),
            usage_day=local_date(now),
            condition=condition,
            confirmer_wallet_id=confirmer_wallet_id,
        )
    )
    hold_id = inserted_id(inserted)
    posting.post(
        TransferDraft(
            kind="hold",
            asset=ECNY,
            amount=amount,
            legs=[Leg(payer.account_id, escrow, amount, ECNY)],
            from_wallet_id=payer.id,
            to_wallet_id=payee.id,
            from_operator_id=payer.operator_id,
            to_operator_id=payee.operator_id,
            reference=reference,
            outgoing=amount,
            held_delta=amount,
            hold_id=hold_id,
        )
    )
    return _emitted(tx, "hold.created", _to_hold(tx, _reread(tx, hold_id)), payer, payee)


def _check_condition(
    tx: Tx, condition: str | None, confirmer_id: int | None, payer_id: int, payee_id: int
) -> None:
    """A confirmation names its third party's wallet (neither party); a plain
    hold or one due by time names none."""
    if condition is not None and condition not in CONDITIONS:
        raise errors.DomainError(
            errors.VALIDATION_FAILED,
            "condition: unknown",
            errors={"condition": [f"one of {', '.join(CONDITIONS)}"]},
        )
    if condition != CONFIRMATION:
        if confirmer_id is not None:
            raise errors.DomainError(
                errors.VALIDATION_FAILED,
                "confirmer_wallet: only a confirmation names one",
                errors={"confirmer_wallet": ["only with condition confirmation"]},
            )
        return
    if confirmer_id is None:
        raise errors.DomainError(
            errors.VALIDATION_FAILED,
            "confirmer_wallet: required",
            errors={"confirmer_wallet": ["required with condition confirmation"]},
        )
    if confirmer_id in (payer_id, payee_id):
        raise errors.DomainError(
            errors.VALIDATION_FAILED,
            "confirmer_wallet: a third party",
            errors={"confirmer_wallet": ["must be neither the payer nor the payee"]},
        )
    if wl.find(tx, confirmer_id) is None:
        raise errors.DomainError(
            errors.WALLET_NOT_FOUND, f"no wallet {confirmer_id}", field="confirmer_wallet"
        )


def _release_draft(
    row: sa.Row, payer: wl.Wallet, escrow: int, amount: int, kind: str
) -> TransferDraft:
    """Escrow back to the payer; the amount no longer counts against its day."""
    return TransferDraft(
        kind=kind,
        asset=ECNY,
        amount=amount,
        legs=[Leg(escrow, payer.account_id, amount, ECNY)],
        from_wallet_id=payer.id,
        to_wallet_id=payer.id,
        from_operator_id=payer.operator_id,
        to_operator_id=payer.operator_id,
        outgoing=-amount,
        usage_day=row.usage_day,
        held_delta=-amount,
        hold_id=row.id,
    )


def _resolve(tx: Tx, row: sa.Row, status: str, captured: int = 0) -> None:
    done = tx.conn.execute(
        holds.update()
        .where(holds.c.id == row.id, holds.c.status == PENDING)
        .values(status=status, captured=captured, resolved_at=tx.now(), version=holds.c.version + 1)
    )
    if done.rowcount != 1:  # pragma: no cover - the row lock makes this unreachable
        raise errors.DomainError(errors.HOLD_ALREADY_RESOLVED, f"hold {row.id} is resolved already")


def _require_pending(tx: Tx, row: sa.Row) -> None:
    if row.status == EXPIRED or (row.status == PENDING and row.expires_at <= tx.now()):
        # (A payment due by time is captured at its deadline, never refused so:
        # every transaction completes what is due before its work.)
        raise errors.DomainError(
            errors.HOLD_EXPIRED,
            f"hold {row.id} expired at {row.expires_at.isoformat()}",
            hold_id=row.id,
        )
    if row.status != PENDING:
        raise errors.DomainError(
            errors.HOLD_ALREADY_RESOLVED,
            f"hold {row.id} is {row.status} already",
            hold_id=row.id,
            current_status=row.status,
        )


def capture(tx: Tx, hold_id: int, actor: Principal, amount: int | None = None) -> Hold:
    require_mover(actor)
    row = _visible_row(tx, hold_id, actor, lock=True)
    _require_pending(tx, row)
    if row.condition is not None:
        raise errors.DomainError(
            errors.HOLD_CONDITIONAL,
            f"hold {row.id} completes when its {row.condition} condition is met",
            hold_id=row.id,
            condition=row.condition,
        )
    amount = row.amount if amount is None else amount
    if amount > row.amount:
        raise errors.DomainError(
            errors.CAPTURE_EXCEEDS_HOLD,
            f"hold {row.id} is for {row.amount} fen only",
            hold_id=row.id,
        )
    return _captured_or_raise(_capture_in_full(tx, row, amount))


def _captured_or_raise(result: Hold | Refusal) -> Hold:
    if isinstance(result, Refusal):
        raise result.error()
    return result


def _capture_in_full(tx: Tx, row: sa.Row, amount: int) -> Hold | Refusal:
    """Capture ``amount`` of a pending hold (the rest back to the payer); the
    refusal if the payer, the payee or the ledger says no (nothing written)."""
    found = wl.find_many(tx, {row.wallet_id, row.payee_wallet_id})
    payer, payee = found[row.wallet_id], found[row.payee_wallet_id]
    op_accounts = operator_accounts(tx, {payer.operator_id, payee.operator_id})
    escrow = op_accounts[payer.operator_id]["holds"]
    capture_draft = TransferDraft(
        kind="capture",
        asset=ECNY,
        amount=amount,
        legs=wallet_to_wallet_legs(
            escrow, payer.operator_id, payee.account_id, payee.operator_id, amount, op_accounts
        ),
        from_wallet_id=payer.id,
        to_wallet_id=payee.id,
        from_operator_id=payer.operator_id,
        to_operator_id=payee.operator_id,
        reference=row.reference,
        # Equivalent if left out: no later check of this posting reads the payer's
        # held total (a release that follows grows the payer by nothing).
        held_delta=-amount,  # pragma: no mutate
        hold_id=row.id,
        linked=amount < row.amount,
    )
    drafts = [capture_draft]
    if amount < row.amount:
        drafts.append(_release_draft(row, payer, escrow, row.amount - amount, "hold_release"))
    ids = [a for d in drafts for leg in d.legs for a in (leg.debit, leg.credit)]
    posting = Posting(tx, ids, limits=class_limits([payer, payee]))
    statuses = wl.current_statuses(tx, [payer.id, payee.id])
    refusal = status_refusal(payer.id, statuses[payer.id], "paying") or status_refusal(
        payee.id, statuses[payee.id], "receiving"
    )
    if refusal is not None:
        return refusal
    for d in drafts:
        posting.add(d)
    results = posting.commit()
    for r in results:
        if not isinstance(r, PostedTransfer):
            if r.code == errors.LINKED_TRANSFER_FAILED:
                continue
            return r
    _resolve(tx, row, CAPTURED, amount)
    return _emitted(tx, "hold.captured", _to_hold(tx, _reread(tx, row.id)), payer, payee)


def confirm(tx: Tx, hold_id: int, actor: Principal) -> Hold:
    """The named third party's operator confirms a conditional payment: it is
    captured in full."""
    require_mover(actor)
    row = _row(tx, hold_id, lock=True)
    if row is None or row.condition != CONFIRMATION:
        _visible_row(tx, hold_id, actor)  # not found, unless the parties' operator asks
        raise errors.DomainError(
            errors.HOLD_NOT_CONFIRMABLE,
            f"hold {hold_id} waits for no confirmation",
            hold_id=hold_id,
        )
    # The third party's business: its wallet's operator confirms.
    if not actor.sees_wallets_of(wl.existing(tx, row.confirmer_wallet_id).operator_id):
        raise errors.DomainError(errors.HOLD_NOT_FOUND, f"no hold {hold_id}")
    _require_pending(tx, row)
    result = _capture_in_full(tx, row, row.amount)
    if isinstance(result, Refusal):
        parties = wl.find_many(tx, {row.wallet_id, row.payee_wallet_id}).values()
        if not any(actor.sees_wallets_of(p.operator_id) for p in parties):
            # The confirmer's operator learns nothing of other operators' wallets.
            raise errors.DomainError(
                errors.HOLD_NOT_CONFIRMABLE,
                f"hold {hold_id} cannot be captured now: its parties' operators can say why",
                hold_id=hold_id,
            )
    return _captured_or_raise(result)


def void(tx: Tx, hold_id: int, actor: Principal) -> Hold:
    """Release the funds to the payer (even a frozen one: they are its own)."""
    require_mover(actor)
    row = _visible_row(tx, hold_id, actor, lock=True)
    _require_pending(tx, row)
    return _release(tx, row, VOIDED, "void")


def _release(tx: Tx, row: sa.Row, status: str, kind: str) -> Hold:
    found = wl.find_many(tx, {row.wallet_id, row.payee_wallet_id})
    payer, payee = found[row.wallet_id], found[row.payee_wallet_id]
    escrow = operator_accounts(tx, {payer.operator_id})[payer.operator_id]["holds"]
    posting = Posting(tx, [escrow, payer.account_id], limits=class_limits([payer]))
    posting.post(_release_draft(row, payer, escrow, row.amount, kind))
    _resolve(tx, row, status)
    return _emitted(tx, f"hold.{status}", _to_hold(tx, _reread(tx, row.id)), payer, payee)


def _emitted(tx: Tx, type_: str, h: Hold, payer: wl.Wallet, payee: wl.Wallet) -> Hold:
    """Emit the hold's event (the hold as the API renders it, without its
    transfers: each has its own ``transfer.posted``), the business of the
    payer's and the payee's operators."""
    outbox.emit(
        tx,
        outbox.Event(
            type_,
            {
                "id": h.id,
                "from_wallet": h.from_wallet_id,
                "to_wallet": h.to_wallet_id,
                "amount": format_amount(h.amount),
                "captured": format_amount(h.captured),
                "status": h.status,
                "reference": h.reference,
                "created_at": h.created_at,
                "expires_at": h.expires_at,
                "resolved_at": h.resolved_at,
                "condition": h.condition,
                "confirmer_wallet": h.confirmer_wallet_id,
            },
            operator_id=payer.operator_id,
            counter_operator_id=payee.operator_id,
        ),
    )
    return h


def release_expired(tx: Tx) -> int:
    """Expire every pending hold whose deadline the sandbox clock has passed."""
    due = tx.conn.execute(
        sa.select(holds)
        .where(holds.c.status == PENDING, holds.c.expires_at <= tx.now())
        .order_by(holds.c.id)
        .with_for_update()
    ).all()
    for row in due:
        # A payment due by time completes; if its capture is refused, it expires.
        if row.condition == TIME and isinstance(_capture_in_full(tx, row, row.amount), Hold):
            continue
        _release(tx, row, EXPIRED, "hold_expiry")
    return len(due)


def any_due(tx: Tx) -> bool:
    """Whether a pending hold's deadline has passed (an index probe)."""
    return bool(tx.rows(_ANY_DUE, now=tx.now()))


_ANY_DUE = (
    sa.select(holds.c.id)
    .where(holds.c.status == PENDING, holds.c.expires_at <= sa.bindparam("now"))
    .limit(1)
)


def release_expired_if_due_in(tx: Tx) -> None:
    """Expire the due holds in this (write) transaction, after a cheap check."""
    if any_due(tx):
        release_expired(tx)
