"""Managed ("controllable") anonymity (DOMAIN.md §1, docs/anonymity.md).

"Anonymity for small value, traceable for high value": the operator that
opened a wallet keeps what it knows of the holder (a class 4 wallet: its phone
number only); a read shows the holder id, name and birth date to that operator
only (for a pseudonymous class of the profile, the holder id alone), and the
phone number to nobody. The authorities reach an identity through a reveal:

    requested --approve (a key of another role)--> approved --read (the requester, once)--> read
              --reject (a key of another role)---> rejected
              --the sandbox clock passes expires_at--> expired (derived, never stored)

The central bank sees aggregates (wallet counts and amounts per operator and
class), never holders.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta

import sqlalchemy as sa

from ..core import errors, outbox
from ..core.db import Tx, inserted_id
from ..core.principal import ADMIN, AUDITOR, CENTRAL_BANK, OPERATOR, SUPERVISOR, Principal
from ..core.schema import (
    accounts,
    holder_identities,
    holds,
    identity_reveals,
    operators,
    wallets,
)
from ..ledger.accounts import ECNY, chip_asset
from ..rules.profile import AnonymityRules, active_profile
from . import wallet as wl
from .wallet import HolderIdentity, Wallet

REQUESTED, APPROVED, REJECTED, EXPIRED, READ = (
    "requested",
    "approved",
    "rejected",
    "expired",
    "read",
)
STATUSES = (REQUESTED, APPROVED, REJECTED, EXPIRED, READ)
# Who may ask for an identity, and decide on another's request.
REVEALERS = (CENTRAL_BANK, SUPERVISOR)


def rules(tx: Tx) -> AnonymityRules:
    return active_profile(tx).anonymity


# ---- what a read shows of the holder --------------------------------------------


def shown_to(tx: Tx, actor: Principal, w: Wallet) -> Wallet:
    """The wallet as ``actor`` may read it: with the holder's identity for its
    operator (the holder id alone in a pseudonymous class), without for anyone else."""
    return shown_all(tx, actor, [w])[0]


def shown_all(tx: Tx, actor: Principal, found: list[Wallet]) -> list[Wallet]:
    """:func:`shown_to` for a page of wallets, with one read of the names."""
    pseudonymous = rules(tx).pseudonymous_classes if actor.role == OPERATOR else ()
    own = [w for w in found if actor.role == OPERATOR and actor.operator_id == w.operator_id]
    named = [w.id for w in own if w.wallet_class not in pseudonymous]
    names = (
        dict(
            tx.conn.execute(
                sa.select(holder_identities.c.wallet_id, holder_identities.c.holder_name).where(
                    holder_identities.c.wallet_id.in_(named)
                )
            ).all()
        )
        if named
        else {}
    )
    mine = {w.id for w in own}

    def shown(w: Wallet) -> HolderIdentity | None:
        if w.id not in mine:
            return None
        if w.wallet_class in pseudonymous:
            return HolderIdentity(holder_id=w.holder_id)
        return HolderIdentity(w.holder_id, names.get(w.id), w.birth_date)

    return [replace(w, identity=shown(w)) for w in found]


def holder_refs(tx: Tx, holder_ids: set[str]) -> dict[str, str]:
    """The pseudonyms supervision records show instead of holder ids: a holder
    is "the holder of wallet N", N its first wallet, so that a supervisor links
    one holder's wallets (structuring, minimal play) without learning who it is."""
    if not holder_ids:
        return {}
    rows = tx.conn.execute(
        sa.select(wallets.c.holder_id, sa.func.min(wallets.c.id))
        .where(wallets.c.holder_id.in_(sorted(holder_ids)))
        .group_by(wallets.c.holder_id)
    )
    return {holder: f"holder-w{first}" for holder, first in rows}


def holder_ref(tx: Tx, holder_id: str) -> str:
    return holder_refs(tx, {holder_id})[holder_id]


# ---- identity reveals -------------------------------------------------------------


@dataclass(frozen=True)
class RevealedIdentity:
    """What the requester reads once: all the operator keeps of the holder."""

    wallet_class: int
    holder_id: str
    holder_name: str | None
    phone: str | None
    birth_date: date | None
    region: str


@dataclass(frozen=True)
class Reveal:
    id: int
    wallet_id: int
    operator_code: str
    legal_basis: str
    case_reference: str
    stored_status: str
    requested_by_key_id: int | None
    requested_by_role: str
    requested_at: datetime
    expires_at: datetime
    decided_by_key_id: int | None
    decided_by_role: str | None
    decided_at: datetime | None
    reason: str | None
    read_at: datetime | None
    identity: RevealedIdentity | None = None  # in the requester's one read only

    def status(self, now: datetime) -> str:
        if self.stored_status == REQUESTED and now >= self.expires_at:
            return EXPIRED
        return self.stored_status


def document(r: Reveal, now: datetime) -> dict:
    """The reveal as the API's ``IdentityRevealOut`` renders it at ``now``."""
    return {
        "id": r.id,
        "wallet": r.wallet_id,
        "operator": r.operator_code,
        "legal_basis": r.legal_basis,
        "case_reference": r.case_reference,
        "status": r.status(now),
        "requested_by_role": r.requested_by_role,
        "requested_by_key": r.requested_by_key_id,
        "requested_at": r.requested_at,
        "expires_at": r.expires_at,
        "decided_by_role": r.decided_by_role,
        "decided_by_key": r.decided_by_key_id,
        "decided_at": r.decided_at,
        "reason": r.reason,
        "read_at": r.read_at,
        "identity": None if r.identity is None else r.identity.__dict__,
    }


def _select() -> sa.Select:
    ir = identity_reveals
    return (
        sa.select(ir, operators.c.code.label("operator_code"))
        .join(wallets, wallets.c.id == ir.c.wallet_id)
        .join(operators, operators.c.id == wallets.c.operator_id)
    )


def _from_row(r: sa.Row) -> Reveal:
    return Reveal(
        id=r.id,
        wallet_id=r.wallet_id,
        operator_code=r.operator_code,
        legal_basis=r.legal_basis,
        case_reference=r.case_reference,
        stored_status=r.status,
        requested_by_key_id=r.requested_by_key_id,
        requested_by_role=r.requested_by_role,
        requested_at=r.requested_at,
        expires_at=r.expires_at,
        decided_by_key_id=r.decided_by_key_id,
        decided_by_role=r.decided_by_role,
        decided_at=r.decided_at,
        reason=r.reason,
        read_at=r.read_at,
    )


def _target(tx: Tx, wallet_id: int, actor: Principal) -> Wallet:
    """The wallet a reveal is about, as the caller's scope allows: the central
    bank (and the admin, the auditor) any wallet; a supervisor the wallets that
    play at its casinos (wl.get's scope)."""
    if actor.role in (CENTRAL_BANK, ADMIN, AUDITOR):
        w = wl.find(tx, wallet_id)
        if w is None:
            raise errors.DomainError(errors.WALLET_NOT_FOUND, f"no wallet {wallet_id}")
        return w
    return wl.get(tx, wallet_id, actor)


def _supervised(actor: Principal) -> sa.ColumnElement[bool]:
    """The reveals of wallets a supervisor sees (those with chips of its casinos)."""
    assets = [chip_asset(ref) for ref in sorted(actor.casino_refs)]
    return sa.exists(
        sa.select(accounts.c.id).where(
            accounts.c.wallet_id == identity_reveals.c.wallet_id, accounts.c.asset.in_(assets)
        )
    )


def get(tx: Tx, reveal_id: int, actor: Principal) -> Reveal:
    row = tx.conn.execute(_select().where(identity_reveals.c.id == reveal_id)).first()
    missing = errors.DomainError(
        errors.IDENTITY_REVEAL_NOT_FOUND, f"no identity reveal {reveal_id}"
    )
    if row is None or actor.role not in (*REVEALERS, ADMIN, AUDITOR):
        raise missing
    r = _from_row(row)
    if actor.role == SUPERVISOR:
        try:
            _target(tx, r.wallet_id, actor)
        except errors.DomainError:
            raise missing from None
    return r


def list_(
    tx: Tx,
    actor: Principal,
    *,
    wallet_id: int | None,
    after: int | None,
    limit: int,
) -> list[Reveal]:
    """Reveals by id: every one for the admin, the auditor and the central
    bank; a supervisor's, those of the wallets it sees."""
    stmt = _select().order_by(identity_reveals.c.id).limit(limit)
    if actor.role == SUPERVISOR:
        stmt = stmt.where(_supervised(actor))
    elif actor.role not in (ADMIN, AUDITOR, CENTRAL_BANK):
        return []
    if wallet_id is not None:
        stmt = stmt.where(identity_reveals.c.wallet_id == wallet_id)
    if after is not None:
        stmt = stmt.where(identity_reveals.c.id > after)
    return [_from_row(r) for r in tx.conn.execute(stmt)]


def request(
    tx: Tx, actor: Principal, wallet_id: int, *, legal_basis: str, case_reference: str
) -> Reveal:
    """A supervisor or the central bank asks for the identity behind a wallet,
    citing a legal basis of the profile's list and its case."""
    w = _target(tx, wallet_id, actor)
    anonymity = rules(tx)
    if legal_basis not in anonymity.legal_bases or anonymity.approval_hours is None:
        accepted = ", ".join(anonymity.legal_bases) or "none"
        raise errors.DomainError(
            errors.LEGAL_BASIS_NOT_ACCEPTED,
            f"legal_basis: the rule profile accepts {accepted}",
            errors={"legal_basis": [f"must be one of the profile's bases: {accepted}"]},
            accepted=list(anonymity.legal_bases),
        )
    now = tx.now()
    inserted = tx.conn.execute(
        identity_reveals.insert().values(
            wallet_id=w.id,
            legal_basis=legal_basis,
            case_reference=case_reference,
            status=REQUESTED,
            requested_by_key_id=actor.key_id,
            requested_by_role=actor.role,
            requested_at=now,
            expires_at=now + timedelta(hours=anonymity.approval_hours),
        )
    )
    return _emitted(tx, "identity_reveal.requested", get(tx, inserted_id(inserted), actor))


def decide(
    tx: Tx, reveal_id: int, actor: Principal, *, approve: bool, reason: str | None = None
) -> Reveal:
    """Approve or reject a requested reveal: four eyes, so a key of another role
    than the requester's, before the reveal expires."""
    r = get(tx, reveal_id, actor)
    if actor.role == r.requested_by_role or (
        actor.key_id is not None and actor.key_id == r.requested_by_key_id
    ):
        raise errors.DomainError(
            errors.FOUR_EYES_REQUIRED,
            f"identity reveal {r.id} was requested by the {r.requested_by_role} role: "
            "a key of another role decides it",
            requested_by_role=r.requested_by_role,
        )
    now = tx.now()
    ir = identity_reveals
    # One statement decides: of two racing decisions, the second finds it decided.
    done = tx.conn.execute(
        ir.update()
        .where(ir.c.id == r.id, ir.c.status == REQUESTED, ir.c.expires_at > now)
        .values(
            status=APPROVED if approve else REJECTED,
            decided_by_key_id=actor.key_id,
            decided_by_role=actor.role,
            decided_at=now,
            reason=reason,
        )
    ).rowcount
    if not done:
        _refuse(get(tx, r.id, actor), now, "approve" if approve else "reject")
    kind = "identity_reveal.approved" if approve else "identity_reveal.rejected"
    return _emitted(tx, kind, get(tx, r.id, actor))


def read(tx: Tx, reveal_id: int, actor: Principal) -> Reveal:
    """The requester reads the identity of an approved reveal, once."""
    r = get(tx, reveal_id, actor)
    if actor.key_id is None or actor.key_id != r.requested_by_key_id:
        raise errors.DomainError(
            errors.NOT_THE_REQUESTER,
            f"identity reveal {r.id} is read by the key that requested it only",
        )
    now = tx.now()
    ir = identity_reveals
    done = tx.conn.execute(
        ir.update().where(ir.c.id == r.id, ir.c.status == APPROVED).values(status=READ, read_at=now)
    ).rowcount
    if not done:
        _refuse(r, now, "read")
    w = wl.existing(tx, r.wallet_id)
    kept = tx.conn.execute(
        sa.select(holder_identities.c.phone, holder_identities.c.holder_name).where(
            holder_identities.c.wallet_id == w.id
        )
    ).first()
    identity = RevealedIdentity(
        wallet_class=w.wallet_class,
        holder_id=w.holder_id,
        holder_name=kept.holder_name if kept else None,
        phone=kept.phone if kept else None,
        birth_date=w.birth_date,
        region=w.region,
    )
    return replace(_emitted(tx, "identity_reveal.read", get(tx, r.id, actor)), identity=identity)


def _emitted(tx: Tx, type_: str, r: Reveal) -> Reveal:
    """The central bank's event (and the admin's and auditor's), never with an
    identity: not the operator's, which would learn of the case; not a
    supervisor's, whose scope is casinos while a wallet may play at several."""
    outbox.emit(tx, outbox.Event(type_, document(r, tx.now()), central_bank=True))
    return r


def _refuse(r: Reveal, now: datetime, action: str) -> None:
    status = r.status(now)
    if status == EXPIRED:
        raise errors.DomainError(
            errors.IDENTITY_REVEAL_EXPIRED,
            f"identity reveal {r.id} expired at {r.expires_at.isoformat()} unapproved",
            expires_at=r.expires_at.isoformat(),
        )
    raise errors.DomainError(
        errors.INVALID_IDENTITY_REVEAL_TRANSITION,
        f"cannot {action} a {status} identity reveal",
        current_status=status,
    )


# ---- aggregates without holders ---------------------------------------------------


@dataclass(frozen=True)
class Aggregate:
    operator_code: str
    wallet_class: int
    wallets: int
    available: int
    held: int

    @property
    def balance(self) -> int:
        return self.available + self.held


def aggregates(tx: Tx, actor: Principal) -> list[Aggregate]:
    """Wallet counts and amounts per operator and class, never a holder: every
    operator's for the central bank, the admin and the auditor; an operator its own."""
    if actor.role not in (CENTRAL_BANK, ADMIN, AUDITOR, OPERATOR):
        return []
    balance = sa.func.sum(accounts.c.credits_posted - accounts.c.debits_posted)
    counted = (
        sa.select(operators.c.code, wallets.c.wallet_class, sa.func.count(), balance)
        .join(operators, operators.c.id == wallets.c.operator_id)
        .join(accounts, sa.and_(accounts.c.wallet_id == wallets.c.id, accounts.c.asset == ECNY))
        .group_by(operators.c.code, wallets.c.wallet_class)
    )
    held = (
        sa.select(operators.c.code, wallets.c.wallet_class, sa.func.sum(holds.c.amount))
        .join(wallets, wallets.c.id == holds.c.wallet_id)
        .join(operators, operators.c.id == wallets.c.operator_id)
        .where(holds.c.status == "pending")
        .group_by(operators.c.code, wallets.c.wallet_class)
    )
    if actor.role == OPERATOR:
        counted = counted.where(wallets.c.operator_id == actor.operator_id)
        held = held.where(wallets.c.operator_id == actor.operator_id)
    holding = {(code, cls): int(amount) for code, cls, amount in tx.conn.execute(held)}
    return sorted(
        (
            Aggregate(code, cls, count, int(available or 0), holding.get((code, cls), 0))
            for code, cls, count, available in tx.conn.execute(counted)
        ),
        key=lambda a: (a.operator_code, a.wallet_class),
    )


def reveals_in(
    tx: Tx,
    *,
    operator_id: int | None = None,
    wallet_id: int | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
) -> list[Reveal]:
    """Every reveal requested in [start, end) of the operator's or the wallet's
    (an audit export's scope), by id."""
    stmt = _select().order_by(identity_reveals.c.id)
    if operator_id is not None:
        stmt = stmt.where(wallets.c.operator_id == operator_id)
    if wallet_id is not None:
        stmt = stmt.where(identity_reveals.c.wallet_id == wallet_id)
    if start is not None:
        stmt = stmt.where(identity_reveals.c.requested_at >= start)
    if end is not None:
        stmt = stmt.where(identity_reveals.c.requested_at < end)
    return [_from_row(r) for r in tx.conn.execute(stmt)]
